#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/ (small valid inputs
and edge cases; libFuzzer mutates from these, ctest -L fuzz replays them on every run).

    /usr/bin/python3 tests/fuzz/make_seed_corpus.py        # rewrites the generated seeds

Deterministic (fixed audio, no randomness). Needs numpy, torchaudio (FLAC) and libopus.so.0 (raw
and Ogg Opus packets, through ctypes). Regression inputs for bugs the fuzzers found are named
regress-*; they are written here too, so that rerunning the script keeps them.
"""
import ctypes
import ctypes.util
import io
import json
import os
import shutil
import struct
import tempfile
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def tone(n, rate, freq=440.0, amp=0.5):
    t = np.arange(n) / rate
    return (amp * np.sin(2 * np.pi * freq * t) + 0.1 * np.sin(2 * np.pi * 3 * freq * t)).astype(np.float32)


# ---------------------------------------------------------------- safetensors
def safetensors(entries, metadata=None, header_override=None, pad=True, data_override=None):
    """entries: list of (name, dtype, shape, bytes)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blob = b""
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    text = text.encode()
    if pad:
        text += b" " * (-len(text) % 8)
    if data_override is not None:
        blob = data_override
    return struct.pack("<Q", len(text)) + text + blob


def make_safetensors():
    t = "fuzz_safetensors"
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    b = np.array([1.5, -2.0, 0.0, 3.25], dtype=np.float32)
    out(t, "valid_f32", safetensors([("a.weight", "F32", [2, 3], a.tobytes()),
                                     ("b.bias", "F32", [4], b.tobytes())], {"format": "pt"}))
    bf16 = (b.view(np.uint32) >> 16).astype(np.uint16)
    out(t, "valid_f16_bf16_f64", safetensors([
        ("h", "F16", [4], b.astype(np.float16).tobytes()),
        ("bf", "BF16", [2, 2], bf16.tobytes()),
        ("d", "F64", [2], np.array([1e-3, -7.0]).tobytes())]))
    out(t, "scalar_and_empty", safetensors([("s", "F32", [], np.float32(2.5).tobytes()),
                                            ("e", "F32", [0, 3], b"")]))
    out(t, "metadata_only", safetensors([], {"format": "pt", "note": "no tensors"}))
    out(t, "empty_object", safetensors([]))
    out(t, "unpadded_header", safetensors([("x", "F32", [1], b"\0\0\x80?")], pad=False))
    # Errors the reader must name.
    out(t, "err_short", b"\x08\0\0\0\0\0\0")
    out(t, "err_header_len_too_big", struct.pack("<Q", 1 << 40) + b"{}")
    out(t, "err_not_object", safetensors([], header_override="[1,2,3]"))
    out(t, "err_bad_json", safetensors([], header_override='{"a": {"dtype": "F32", '))
    out(t, "err_dtype_i64", safetensors([("i", "I64", [1], b"\1" + b"\0" * 7)]))
    out(t, "err_truncated_data", safetensors([("a", "F32", [2, 3], a.tobytes())], data_override=a.tobytes()[:10]))
    out(t, "err_offsets_reversed", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', data_override=b"\0" * 4))
    out(t, "err_span_mismatch", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}', data_override=b"\0" * 4))
    out(t, "err_shape_overflow", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}'))
    out(t, "err_negative_dim", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}'))
    out(t, "err_missing_fields", safetensors([], header_override='{"a":{"dtype":"F32"}}'))


# ---------------------------------------------------------------- configs
BASE = {
    "architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2",
    "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": False, "feat_extract_norm": "group", "feat_extract_activation": "gelu",
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "hidden_act": "gelu", "layer_norm_eps": 1e-5, "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16, "do_stable_layer_norm": False, "vocab_size": 32,
    "pad_token_id": 0, "add_adapter": False,
}


def make_configs():
    t = "fuzz_model_config"
    out(t, "config_base", json.dumps(BASE, indent=2))
    large = dict(BASE, conv_bias=True, feat_extract_norm="layer", hidden_size=1024, num_hidden_layers=24,
                 num_attention_heads=16, intermediate_size=4096, do_stable_layer_norm=True)
    out(t, "config_large_lv60", json.dumps(large))
    small = dict(BASE, conv_dim=[64, 64], conv_kernel=[400, 1], conv_stride=[160, 1], hidden_size=96,
                 num_hidden_layers=2, num_attention_heads=4, intermediate_size=192,
                 num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, hidden_act="gelu_new")
    out(t, "config_small", json.dumps(small))
    out(t, "preprocessor", json.dumps({"do_normalize": True, "feature_size": 1, "padding_side": "right",
                                       "padding_value": 0.0, "return_attention_mask": False,
                                       "sampling_rate": 16000}))
    out(t, "lact_default", json.dumps({
        "num_lact_layers": 2, "hidden_size": 768, "num_lact_heads": 4, "inter_multi": 1.0,
        "chunk_size": 512, "lr_scale": 0.01, "base_lr": 1.0, "use_momentum": True, "momentum": 0.9,
        "use_muon": False, "weight_norm": True, "rms_norm_eps": 1e-6, "layer_norm_eps": 1e-5, "seed": 0}, indent=2))
    out(t, "lact_float_ints", '{"num_lact_layers": 1.0, "hidden_size": 96.0, "num_lact_heads": 4, '
                              '"chunk_size": 512.0, "inter_multi": 2.5, "use_muon": true}')
    out(t, "empty_object", "{}")
    out(t, "nulls", '{"hidden_size": null, "sampling_rate": null, "chunk_size": null}')
    out(t, "err_wrong_types", '{"hidden_size": "768", "conv_dim": 5, "sampling_rate": [16000], '
                              '"num_lact_layers": 1.5, "use_momentum": 1}')
    out(t, "err_not_object", "[1, 2, 3]")
    out(t, "err_truncated", '{"conv_dim": [512, 512')
    out(t, "err_adapter", json.dumps(dict(BASE, add_adapter=True)))
    out(t, "err_values", '{"conv_dim": [], "pad_token_id": 99, "sampling_rate": 50, '
                         '"num_lact_heads": 0, "momentum": 1.0, "layer_norm_eps": -1}')
    out(t, "big_numbers", '{"hidden_size": 9223372036854775807, "sampling_rate": 4294967296, '
                          '"chunk_size": 1e300, "lr_scale": 1e308, "seed": -9223372036854775808}')


# ---------------------------------------------------------------- vocab.json
def make_vocab():
    t = "fuzz_vocab"
    tokens = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ETAONIHSRDLUMWCFGYPBVK'XJQZ")
    out(t, "base_960h", json.dumps({tok: i for i, tok in enumerate(tokens)}))
    out(t, "no_specials", json.dumps({"<pad>": 0, "a": 1, "b": 2, " ": 3}))
    out(t, "pad_not_first", json.dumps({"a": 0, "<pad>": 1, "|": 2}))
    out(t, "unicode", json.dumps({"<pad>": 0, "é": 1, "日本": 2, "\u0000": 3, "|": 4}, ensure_ascii=False))
    out(t, "err_gap", json.dumps({"<pad>": 0, "a": 2}))
    out(t, "err_duplicate_id", '{"<pad>": 0, "a": 1, "b": 1}')
    out(t, "err_negative", '{"<pad>": 0, "a": -1}')
    out(t, "err_float_id", '{"<pad>": 0, "a": 1.5}')
    out(t, "err_no_pad", '{"a": 0, "b": 1}')
    out(t, "err_empty", "{}")
    out(t, "err_not_object", '["<pad>", "a"]')
    out(t, "err_huge_id", '{"<pad>": 0, "a": 18446744073709551615}')


# ---------------------------------------------------------------- audio files
def wav_bytes(samples, rate, channels=1, width=2):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        x = np.clip(samples, -1, 1)
        if width == 1:
            data = (x * 127 + 128).astype(np.uint8).tobytes()
        elif width == 2:
            data = (x * 32767).astype("<i2").tobytes()
        elif width == 3:
            v = (x * 8388607).astype("<i4")
            data = b"".join(int(s).to_bytes(4, "little", signed=True)[:3] for s in v)
        else:
            data = (x * 2147483647).astype("<i4").tobytes()
        w.writeframes(data)
    return buf.getvalue()


def float_wav_bytes(samples, rate, channels=1):
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def make_audio_files():
    t = "fuzz_audio_file"
    x = tone(800, 16000)
    out(t, "pcm16_mono_16k.wav", wav_bytes(x, 16000))
    st = np.stack([tone(400, 8000), tone(400, 8000, 300)], axis=1).reshape(-1)
    out(t, "pcm8_stereo_8k.wav", wav_bytes(st, 8000, channels=2, width=1))
    out(t, "pcm24_mono_22k.wav", wav_bytes(tone(300, 22050), 22050, width=3))
    out(t, "pcm32_mono_48k.wav", wav_bytes(tone(480, 48000), 48000, width=4))
    out(t, "float_mono_44k.wav", float_wav_bytes(tone(441, 44100), 44100))
    out(t, "float_3ch_16k.wav", float_wav_bytes(np.repeat(tone(100, 16000), 3), 16000, channels=3))
    out(t, "err_header_only.wav", wav_bytes(np.zeros(0, np.float32), 16000))
    out(t, "err_truncated.wav", wav_bytes(x, 16000)[:30])
    out(t, "err_not_audio.txt", b"this is not audio\n")
    odd = bytearray(wav_bytes(tone(64, 16000), 16000))
    struct.pack_into("<I", odd, 24, 1)      # sample rate 1 Hz
    out(t, "rate_1hz.wav", bytes(odd))
    try:
        import torch
        import torchaudio
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "a.flac")
            torchaudio.save(p, torch.from_numpy(tone(1600, 16000)).unsqueeze(0), 16000,
                            format="flac", bits_per_sample=16)
            with open(p, "rb") as f:
                out(t, "flac_mono_16k.flac", f.read())
            p = os.path.join(d, "b.flac")
            torchaudio.save(p, torch.from_numpy(np.stack([tone(400, 8000), tone(400, 8000, 200)])), 8000,
                            format="flac", bits_per_sample=16)
            with open(p, "rb") as f:
                data = f.read()
            out(t, "flac_stereo_8k.flac", data)
            out(t, "err_flac_truncated.flac", data[: len(data) // 2])
    except Exception as e:  # FLAC seeds are optional
        print("make_seed_corpus.py: no FLAC seeds (%s)" % e)
    try:
        y = tone(1600, 16000)
        out(t, "ogg_opus_16k_mono.opus", ogg_opus(Opus().encode(y, 16000), 16000, 1, len(y)))
    except OSError as e:
        print("make_seed_corpus.py: no Ogg Opus file seed (%s)" % e)


# ---------------------------------------------------------------- server audio input
ENC = {"UNSPECIFIED": 0, "LINEAR16": 1, "FLOAT32": 2, "OGG_OPUS": 3, "OPUS": 4}
RATE_INDEX = {0: 0, 8000: 1, 12000: 2, 16000: 3, 24000: 4, 48000: 5, 44100: 6, 22050: 7, 192000: 8}


def decoder_input(enc, rate, channels, messages, preferred_index=0):
    b = bytes([ENC[enc], RATE_INDEX[rate], channels & 0xff, preferred_index])
    for m in messages:
        assert len(m) < 255, len(m)
        b += bytes([len(m)]) + m
    return b


def chunks(data, n):
    return [data[i:i + n] for i in range(0, len(data), n)]


class Opus:
    def __init__(self):
        name = ctypes.util.find_library("opus") or "libopus.so.0"
        self.lib = ctypes.CDLL(name)
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        self.lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int,
                                                 ctypes.POINTER(ctypes.c_int)]
        self.lib.opus_encode_float.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int,
                                               ctypes.c_char_p, ctypes.c_int32]
        self.lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]

    def encode(self, samples, rate, channels=1, frame_ms=20):
        err = ctypes.c_int()
        enc = self.lib.opus_encoder_create(rate, channels, 2048, ctypes.byref(err))  # VOIP
        assert err.value == 0
        frame = rate * frame_ms // 1000
        packets = []
        x = samples.astype(np.float32)
        for i in range(0, len(x) // channels - frame + 1, frame):
            pcm = np.ascontiguousarray(x[i * channels:(i + frame) * channels])
            buf = ctypes.create_string_buffer(1500)
            n = self.lib.opus_encode_float(enc, pcm.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), frame, buf, 240)
            assert n > 0
            packets.append(buf.raw[:n])
        self.lib.opus_encoder_destroy(enc)
        return packets


def ogg_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet, granule, serial, seq, flags):
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    hdr = b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, serial, seq, 0, len(lacing)) + bytes(lacing)
    page = bytearray(hdr + packet)
    struct.pack_into("<I", page, 22, ogg_crc(page))
    return bytes(page)


def ogg_opus(packets, rate, channels, n_samples, pre_skip=312, gain=0):
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, rate, gain, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"lact" + struct.pack("<I", 0)
    serial = 0x1ac7
    pages = [ogg_page(head, 0, serial, 0, 0x02), ogg_page(tags, 0, serial, 1, 0)]
    per48 = 48000 // rate
    granule = pre_skip
    frame = len(packets) and n_samples // len(packets)
    for i, p in enumerate(packets):
        last = i == len(packets) - 1
        granule += frame * per48
        g = pre_skip + n_samples * per48 if last else granule
        pages.append(ogg_page(p, g, serial, 2 + i, 0x04 if last else 0))
    return b"".join(pages)


def make_decoder():
    t = "fuzz_audio_decoder"
    x = tone(320, 16000)
    pcm16 = (x * 32767).astype("<i2").tobytes()
    out(t, "linear16_16k_mono", decoder_input("LINEAR16", 16000, 1, chunks(pcm16, 97)))
    out(t, "linear16_8k_default_channels", decoder_input("LINEAR16", 8000, 0, chunks(pcm16[:200], 200)))
    st = np.stack([x[:160], -x[:160]], axis=1).reshape(-1).astype("<f4").tobytes()
    out(t, "float32_48k_stereo", decoder_input("FLOAT32", 48000, 2, chunks(st, 250)))
    out(t, "err_linear16_odd_tail", decoder_input("LINEAR16", 16000, 1, [pcm16[:101]]))
    out(t, "err_float32_nan", decoder_input("FLOAT32", 16000, 1, [np.array([0.5, np.nan], "<f4").tobytes()]))
    out(t, "err_unspecified", decoder_input("UNSPECIFIED", 16000, 1, [pcm16[:10]]))
    out(t, "err_opus_44k", decoder_input("OPUS", 44100, 1, [b"\x00"]))
    out(t, "err_channels_3", bytes([ENC["LINEAR16"], RATE_INDEX[16000], 3, 0]) + b"\x02\x00\x00")
    try:
        opus = Opus()
    except OSError as e:
        print("make_seed_corpus.py: no Opus seeds (%s)" % e)
        return
    y = tone(1600, 16000)  # 0.1 s
    packets = opus.encode(y, 16000)
    out(t, "opus_16k_mono", decoder_input("OPUS", 16000, 1, packets, preferred_index=0))
    out(t, "opus_16k_mono_out48k", decoder_input("OPUS", 16000, 0, packets[:2], preferred_index=1))
    ys = np.stack([tone(960, 48000), tone(960, 48000, 200)], axis=1).reshape(-1)
    packets_st = opus.encode(ys, 48000, channels=2)
    out(t, "opus_48k_stereo", decoder_input("OPUS", 48000, 2, packets_st, preferred_index=0))
    out(t, "err_opus_garbage_packet", decoder_input("OPUS", 16000, 1, [b"", packets[0], b"\xff\xff\xff"]))
    ogg = ogg_opus(packets, 16000, 1, len(y))
    out(t, "ogg_opus_16k_mono", decoder_input("OGG_OPUS", 0, 0, chunks(ogg, 200)))
    out(t, "ogg_opus_16k_mono_repair_crc", decoder_input("OGG_OPUS", 16000, 1, chunks(ogg, 254), preferred_index=0x80))
    out(t, "ogg_opus_split_small", decoder_input("OGG_OPUS", 16000, 1, chunks(ogg[:600], 7)))
    ogg_st = ogg_opus(packets_st, 48000, 2, len(ys) // 2, gain=256)
    out(t, "ogg_opus_48k_stereo_gain", decoder_input("OGG_OPUS", 48000, 2, chunks(ogg_st, 254), preferred_index=1))
    out(t, "err_ogg_channel_mismatch", decoder_input("OGG_OPUS", 0, 2, chunks(ogg[:400], 200)))
    out(t, "err_ogg_headers_only", decoder_input("OGG_OPUS", 0, 0, chunks(ogg[:ogg.index(b"OggS", 60)], 100)))
    out(t, "err_not_ogg", decoder_input("OGG_OPUS", 0, 0, [b"RIFF\x00\x00\x00\x00WAVEfmt "]))


# ---------------------------------------------------------------- StreamingRecognize request sequence
# Layout: tests/fuzz/fuzz_stream_requests.cc. Byte 0: settings; then operations.
SR_ENC = {"UNSPECIFIED": 0, "LINEAR16": 1, "FLOAT32": 2, "OGG_OPUS": 3, "OPUS": 4,
          "UNKNOWN_5": 5, "MINUS_1": 6, "HUGE": 7}
SR_MODEL_RATE = {16000: 0, 48000: 1, 8000: 2, 44100: 3}
SR_MAX_SECONDS = {1: 0, 0.25: 1, 600: 2, 0.02: 3}


def sr_input(ops, model_rate=16000, max_seconds=600, factory_fails=False, cancel=False, repair_crcs=False):
    head = SR_MODEL_RATE[model_rate] | SR_MAX_SECONDS[max_seconds] << 2
    head |= (0x10 if factory_fails else 0) | (0x20 if cancel else 0) | (0x80 if repair_crcs else 0)
    return bytes([head]) + b"".join(ops)


def sr_config(enc, rate, channels, no_config=False, interim=False, words=False, lact=None):
    flags = (1 if no_config else 0) | (2 if interim else 0) | (4 if words else 0)
    if lact is not None:
        flags |= 8 | (16 if lact else 0)
    return bytes([0, SR_ENC[enc], RATE_INDEX[rate], channels & 0xff, flags])


def sr_audio(data, rest=False):
    """One audio_content message; rest=True: the rest of the input (any length, must be last)."""
    if rest:
        return b"\x01\xff" + data
    assert len(data) < 255, len(data)
    return bytes([1, len(data)]) + data


def sr_audio_chunks(data, n=200):
    return [sr_audio(c) for c in chunks(data, n)]


def sr_raw(message):
    assert len(message) < 255
    return bytes([2, len(message)]) + message


SR_EMPTY = b"\x03"
SR_HALF_CLOSE = b"\x04"


def pb_varint(v):
    v &= (1 << 64) - 1
    b = b""
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            b += bytes([byte | 0x80])
        else:
            return b + bytes([byte])


def pb_field(number, wire_type, payload):
    key = pb_varint(number << 3 | wire_type)
    return key + (pb_varint(payload) if wire_type == 0 else pb_varint(len(payload)) + payload)


def pb_streaming_config(encoding, rate, channels, interim=False, lact=None):
    """A serialized StreamingRecognizeRequest carrying streaming_config (hand-encoded, no protobuf module)."""
    rc = pb_field(1, 0, encoding) + pb_field(2, 0, rate) + pb_field(3, 0, channels)
    if lact is not None:
        rc += pb_field(4, 0, 1 if lact else 0)
    sc = pb_field(1, 2, rc) + (pb_field(2, 0, 1) if interim else b"")
    return pb_field(1, 2, sc)


def pb_audio(data):
    return pb_field(2, 2, data)


def ogg_multi_packet_page(packets, granule, serial, seq, flags=0):
    """One Ogg page holding several small (< 255 bytes) packets."""
    assert len(packets) <= 255 and all(len(p) < 255 for p in packets)
    lacing = bytes(len(p) for p in packets)
    hdr = b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, serial, seq, 0, len(lacing)) + lacing
    page = bytearray(hdr + b"".join(packets))
    struct.pack_into("<I", page, 22, ogg_crc(page))
    return bytes(page)


def ogg_opus_bomb(pages):
    """OpusHead + OpusTags, then `pages` pages of 255 two-byte Opus packets (TOC 0x1b: SILK 60 ms,
    code 3; count byte 2: two empty 60 ms frames, decoded as 120 ms of concealment): about 620
    samples at 16 kHz per input byte, 489,600 per 792-byte page."""
    serial = 0x1ac7
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 0, 16000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"lact" + struct.pack("<I", 0)
    out_pages = [ogg_page(head, 0, serial, 0, 0x02), ogg_page(tags, 0, serial, 1, 0)]
    for i in range(pages):
        out_pages.append(ogg_multi_packet_page([b"\x1b\x02"] * 255, (i + 1) * 255 * 5760, serial, 2 + i))
    return out_pages


def make_stream_requests():
    t = "fuzz_stream_requests"
    x = tone(1600, 16000)  # 0.1 s
    pcm16 = (x * 32767).astype("<i2").tobytes()
    out(t, "linear16_16k_mono", sr_input([sr_config("LINEAR16", 16000, 1)] + sr_audio_chunks(pcm16, 97)))
    st8 = np.stack([tone(800, 8000), tone(800, 8000, 200)], axis=1).reshape(-1)
    out(t, "linear16_8k_stereo_interim_words_lact_off", sr_input(
        [sr_config("LINEAR16", 8000, 2, interim=True, words=True, lact=False)] +
        sr_audio_chunks((st8 * 32767).astype("<i2").tobytes(), 250)))
    stf = np.stack([x[:480], -x[:480]], axis=1).reshape(-1).astype("<f4").tobytes()
    out(t, "float32_48k_stereo_model48k", sr_input([sr_config("FLOAT32", 48000, 2, lact=True)] +
                                                   sr_audio_chunks(stf, 250), model_rate=48000))
    out(t, "raw_protos_linear16", sr_input([sr_raw(pb_streaming_config(1, 16000, 1, interim=True))] +
                                           [sr_raw(pb_audio(c)) for c in chunks(pcm16[:600], 200)]))
    out(t, "empty_audio_messages", sr_input([sr_config("LINEAR16", 16000, 0), sr_audio(b""),
                                             sr_audio(pcm16[:64]), sr_audio(b"")]))
    out(t, "cancel_mid_stream", sr_input([sr_config("LINEAR16", 16000, 1), sr_audio(pcm16[:200])], cancel=True))
    out(t, "explicit_half_close", sr_input([sr_config("LINEAR16", 16000, 1), sr_audio(pcm16[:100]), SR_HALF_CLOSE]))
    # Sequence errors.
    out(t, "err_no_messages", sr_input([]))
    out(t, "err_audio_first", sr_input([sr_audio(pcm16[:100]), sr_config("LINEAR16", 16000, 1)]))
    out(t, "err_empty_first", sr_input([SR_EMPTY, sr_config("LINEAR16", 16000, 1)]))
    out(t, "err_config_without_config", sr_input([sr_config("LINEAR16", 16000, 1, no_config=True)]))
    out(t, "err_second_config", sr_input([sr_config("LINEAR16", 16000, 1), sr_audio(pcm16[:100]),
                                          sr_config("OPUS", 16000, 1)]))
    out(t, "err_empty_after_config", sr_input([sr_config("LINEAR16", 16000, 1), SR_EMPTY]))
    out(t, "err_audio_after_half_close", sr_input([sr_config("LINEAR16", 16000, 1), SR_HALF_CLOSE,
                                                   sr_audio(pcm16[:100]), SR_HALF_CLOSE]))
    out(t, "err_factory_fails", sr_input([sr_config("LINEAR16", 16000, 1), sr_audio(pcm16[:100])],
                                         factory_fails=True))
    # Config errors.
    out(t, "err_unspecified", sr_input([sr_config("UNSPECIFIED", 16000, 1)]))
    out(t, "err_unknown_encoding_5", sr_input([sr_config("UNKNOWN_5", 16000, 1)]))
    out(t, "err_encoding_minus_1", sr_input([sr_config("MINUS_1", 16000, 1)]))
    out(t, "err_raw_encoding_huge", sr_input([sr_raw(pb_streaming_config(1 << 31, 16000, 1))]))
    out(t, "err_raw_negative_rate", sr_input([sr_raw(pb_streaming_config(1, -16000, 1))]))
    out(t, "err_opus_44k", sr_input([sr_config("OPUS", 44100, 1)]))
    out(t, "err_channels_3", sr_input([sr_config("LINEAR16", 16000, 3)]))
    out(t, "err_linear16_rate_0", sr_input([sr_config("LINEAR16", 0, 1)]))
    # Audio errors and the duration limit.
    out(t, "err_linear16_odd_tail", sr_input([sr_config("LINEAR16", 16000, 1), sr_audio(pcm16[:101])]))
    out(t, "err_float32_nan", sr_input([sr_config("FLOAT32", 16000, 1),
                                        sr_audio(np.array([0.5, np.nan], "<f4").tobytes())]))
    out(t, "err_over_limit_linear16", sr_input([sr_config("LINEAR16", 16000, 1)] + sr_audio_chunks(pcm16, 200),
                                               max_seconds=0.02))
    out(t, "err_over_limit_float32_one_message", sr_input(
        [sr_config("FLOAT32", 8000, 1), sr_audio(x[:200].astype("<f4").tobytes(), rest=True)], max_seconds=0.02))
    try:
        opus = Opus()
    except OSError as e:
        print("make_seed_corpus.py: no Opus request seeds (%s)" % e)
        return
    packets = opus.encode(x, 16000)
    out(t, "opus_16k_mono", sr_input([sr_config("OPUS", 16000, 1)] + [sr_audio(p) for p in packets]))
    ys = np.stack([tone(960, 48000), tone(960, 48000, 200)], axis=1).reshape(-1)
    packets_st = opus.encode(ys, 48000, channels=2)
    out(t, "opus_48k_stereo_model8k", sr_input([sr_config("OPUS", 48000, 2)] + [sr_audio(p) for p in packets_st],
                                               model_rate=8000))
    out(t, "err_opus_garbage_packet", sr_input([sr_config("OPUS", 16000, 1), sr_audio(packets[0]),
                                                sr_audio(b"\xff\xff\xff")]))
    ogg = ogg_opus(packets, 16000, 1, len(x))
    out(t, "ogg_opus_16k_mono", sr_input([sr_config("OGG_OPUS", 0, 0)] + sr_audio_chunks(ogg, 200)))
    out(t, "ogg_opus_16k_mono_repair_crc", sr_input([sr_config("OGG_OPUS", 16000, 1)] + sr_audio_chunks(ogg, 254),
                                                    repair_crcs=True))
    out(t, "ogg_opus_model44k", sr_input([sr_config("OGG_OPUS", 0, 1)] + sr_audio_chunks(ogg, 254),
                                         model_rate=44100))
    out(t, "err_ogg_over_limit", sr_input([sr_config("OGG_OPUS", 0, 0)] + sr_audio_chunks(ogg, 254),
                                          max_seconds=0.02))
    out(t, "ogg_headers_only_no_audio", sr_input([sr_config("OGG_OPUS", 0, 0)] +
                                            sr_audio_chunks(ogg[:ogg.index(b"OggS", 60)], 100)))
    out(t, "err_ogg_channel_mismatch", sr_input([sr_config("OGG_OPUS", 0, 2)] + sr_audio_chunks(ogg[:400], 200)))
    out(t, "err_not_ogg", sr_input([sr_config("OGG_OPUS", 0, 0), sr_audio(b"RIFF\x00\x00\x00\x00WAVEfmt ")]))


# ---------------------------------------------------------------- regressions
def make_regressions():
    """Inputs that crashed or hit undefined behaviour before their fix (docs/reliability.md)."""
    t = "fuzz_safetensors"
    # A 0 among the dims let 2^64-1 / 2^63 through the overflow check; torch::empty threw.
    out(t, "regress-zero-dim-then-2p64-1", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}'))
    out(t, "regress-zero-dim-then-2p63", safetensors([], header_override=
        '{"a":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}}'))
    t = "fuzz_model_config"
    # nlohmann get<int64_t>/get<int>() of an out-of-range float: undefined behaviour.
    out(t, "regress-float-1e300-for-int", '{"hidden_size": 1e300}')
    out(t, "regress-sampling-rate-1e20", '{"sampling_rate": 1e20}')
    out(t, "regress-conv-dim-float-list", '{"conv_dim": [1e300, 2.5], "conv_kernel": [1, 1], "conv_stride": [1, 1]}')
    # A 20000-deep array where an integer belongs: the error message's dump() overflowed the stack
    # (Wav2Vec2Config and LactConfig both read "hidden_size").
    n = 20000
    out(t, "regress-deep-nesting-hidden-size", '{"hidden_size": ' + "[" * n + "]" * n + "}")
    out("fuzz_vocab", "regress-deep-nesting-id", '{"<pad>": 0, "x": ' + "[" * n + "]" * n + "}")
    # An Ogg Opus end-of-stream page with granule position 2^62: signed overflow scaling it.
    try:
        opus = Opus()
    except OSError:
        opus = None
    if opus is not None:
        y = tone(960, 16000)
        packets = opus.encode(y, 16000)
        # All pages as usual, but the final end-of-stream page says granule 2^62.
        pages = ogg_opus(packets, 16000, 1, len(y))
        cut = pages.rindex(b"OggS")
        bad = pages[:cut] + ogg_page(packets[-1], 1 << 62, 0x1ac7, pages.count(b"OggS") - 1, 0x04)
        out("fuzz_audio_decoder", "regress-ogg-eos-granule-2p62",
            decoder_input("OGG_OPUS", 0, 0, chunks(bad, 200), preferred_index=0x80))
        # One 3.2 KB audio_content message of Ogg pages full of 2-byte, 120 ms Opus packets: it
        # decoded to 2 million samples (125 s) before the session checked the 1 s limit; a 4 MB
        # message would have been ~10 GB.
        bomb = ogg_opus_bomb(4)
        out("fuzz_stream_requests", "regress-ogg-opus-bomb-one-message", sr_input(
            [sr_config("OGG_OPUS", 0, 1)] + sr_audio_chunks(b"".join(bomb[:2]), 200) +
            [sr_audio(b"".join(bomb[2:]), rest=True)], max_seconds=1))
    # A FLAC file whose STREAMINFO claims 2^33 samples: ReadAudioFile reserved 32 GiB (bad_alloc).
    flac = os.path.join(CORPUS, "fuzz_audio_file", "flac_mono_16k.flac")
    if os.path.exists(flac):
        d = bytearray(open(flac, "rb").read())
        d[21] = (d[21] & 0xF0) | 0x2  # total samples: bits 35..32 = 0b0010, low 32 bits 0
        d[22:26] = b"\0\0\0\0"
        out("fuzz_audio_file", "regress-flac-claims-2p33-samples.flac", bytes(d))
    # conv strides whose product overflows int64 in SamplesPerFrame / ReceptiveField.
    out(t, "regress-stride-product-overflow",
        '{"conv_dim":[1,1,1],"conv_kernel":[1,1,1],"conv_stride":[4294967296,4294967296,4]}')


def main():
    for target in ("fuzz_safetensors", "fuzz_model_config", "fuzz_vocab", "fuzz_audio_file", "fuzz_audio_decoder",
                   "fuzz_stream_requests"):
        d = os.path.join(CORPUS, target)
        if os.path.isdir(d):  # keep regress-* (fuzzer findings), rewrite the rest
            for name in os.listdir(d):
                if not name.startswith("regress-"):
                    os.remove(os.path.join(d, name))
    make_safetensors()
    make_configs()
    make_vocab()
    make_audio_files()
    make_decoder()
    make_stream_requests()
    make_regressions()
    total = 0
    for root, _, files in os.walk(CORPUS):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print("make_seed_corpus.py: %s (%d bytes)" % (CORPUS, total))


if __name__ == "__main__":
    main()
