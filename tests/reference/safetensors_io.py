"""Minimal, dependency-free safetensors writer and reader (NumPy only).

Format (https://github.com/huggingface/safetensors):
  8 bytes   little-endian uint64 N = header length
  N bytes   UTF-8 JSON header:
              {"<name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
               "__metadata__": {"format": "pt"}}
            padded with spaces to a multiple of 8
  rest      raw little-endian tensor data; offsets are relative to the start of this block.

Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
NumPy has no bfloat16: BF16 tensors are written from float arrays by round-to-nearest-even
(the same rounding as torch's float32 -> bfloat16 cast) and read back as float32.
"""

import json
import struct

import numpy as np

_NP_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_ITEMSIZE = {"BF16": 2, **{k: v.itemsize for k, v in _NP_DTYPES.items()}}


def float_to_bf16_bits(a):
    """float array -> uint16 bfloat16 bit patterns, round to nearest even (NaN kept NaN)."""
    f = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    bits = f.view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    out = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():
        out[nan] = 0x7FC0
    return out


def bf16_bits_to_float(bits):
    """uint16 bfloat16 bit patterns -> float32."""
    b = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return b.view(np.float32)


def round_to_bf16(a):
    """Round a float array to the nearest bfloat16 value, returned as float32."""
    return bf16_bits_to_float(float_to_bf16_bits(a)).reshape(np.shape(a))


def round_to_f16(a):
    """Round a float array to the nearest float16 value, returned as float32."""
    return np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float32)


def _encode(arr, dtype):
    arr = np.asarray(arr)
    if dtype == "BF16":
        if arr.dtype == np.uint16:  # already bit patterns
            raw = arr.astype("<u2")
        else:
            raw = float_to_bf16_bits(arr).astype("<u2")
    else:
        raw = arr.astype(_NP_DTYPES[dtype])
    return np.ascontiguousarray(raw).tobytes()


def _default_dtype(arr):
    arr = np.asarray(arr)
    for name, dt in _NP_DTYPES.items():
        if arr.dtype == dt or arr.dtype == dt.newbyteorder("="):
            return name
    raise ValueError(f"no safetensors dtype for numpy dtype {arr.dtype}")


def save_file(tensors, path, dtype=None, dtypes=None, metadata=None):
    """Write `tensors` (dict name -> array-like) to `path`.

    dtype:  if given, every tensor is stored in this safetensors dtype ("F32", "BF16", ...).
    dtypes: optional per-name override dict.
    Otherwise the dtype follows the NumPy array's dtype.
    Tensors are laid out in sorted name order, contiguously.
    """
    meta = {"format": "pt"}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        dt = (dtypes or {}).get(name) or dtype or _default_dtype(arr)
        blob = _encode(arr, dt)
        assert len(blob) == arr.size * _ITEMSIZE[dt]
        header[name] = {"dtype": dt, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = meta
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def load_file(path, with_dtypes=False):
    """Read a safetensors file -> dict name -> np.ndarray.

    F16 and BF16 are converted to float32; other dtypes keep their NumPy type.
    with_dtypes=True also returns a dict name -> stored dtype string.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds file size")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out, kinds = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= b <= e <= len(body)) or e - b != count * _ITEMSIZE[dt]:
            raise ValueError(f"{path}: bad data_offsets for {name}")
        raw = body[b:e]
        if dt == "BF16":
            arr = bf16_bits_to_float(np.frombuffer(raw, dtype="<u2"))
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_NP_DTYPES[dt]).copy()
        out[name] = arr.reshape(shape)
        kinds[name] = dt
    return (out, kinds) if with_dtypes else out
