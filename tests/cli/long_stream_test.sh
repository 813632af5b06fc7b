#!/usr/bin/env bash
# Long streams from the command line (issue 19, acceptance 5), with the demo model on a long-form
# chapter of espeak-ng speech made here by tools/make_synthetic_corpus.py (files joined by sox):
#   - lact_transcribe --format srt: a strict SubRip parse (numbering, time lines, text, blank
#     lines) with monotonic, non-overlapping times inside the audio; --format vtt on a piece of
#     it (a strict WebVTT parse); --format json (segments and words in order, inside each other);
#     --segments: one line per SubRip entry, the same texts and times; --segments_dir writes the
#     document standard output gets;
#   - lact_stream against lact_server (defaults) on the file, and on the same audio as raw PCM
#     through standard input: one line per final, the same lines as lact_transcribe --segments
#     (the server's transcript is a function of the audio: docs/server.md, "Determinism");
#   - lact_eval_client --long_form on the chapter: one final per utterance (as many as lact_stream
#     printed), their latencies, the largest response and the report's utterance timeline; with
#     --endpointing off one final and far larger responses;
#   - lact_stream's usage errors (exit 2) and an unreachable server (exit 1).
source "$(dirname "$0")/server_lib.sh"
[[ -x "$BIN/server/lact_server" && -x "$BIN/client/lact_stream" ]] || { echo "SKIP: no server build"; exit 77; }

"$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$tmp/synth" --long_form --chapters 1 \
  --chapter_minutes 2 --jobs 2 --quiet 2> "$tmp/corpus.log" || { cat "$tmp/corpus.log"; fail "corpus"; }
sox $(find "$tmp/synth" -name '*.flac' | sort) "$tmp/chapter.wav"
sox "$tmp/chapter.wav" "$tmp/piece.wav" trim 0 30
duration=$(soxi -D "$tmp/chapter.wav")
echo "chapter: $duration s"

# float32 on both sides: the server's transcript equals lact_transcribe's bit for bit there; in
# bfloat16 (--dtype auto on a CPU with native bf16) their encoder calls may round differently and
# flip a near-tie in the beam (docs/server.md, "Determinism").
T="$BIN/core/lact_transcribe --model $SRC/models/demo --dtype float32"
$T --format srt "$tmp/chapter.wav" > "$tmp/chapter.srt"
$T --format vtt "$tmp/piece.wav" > "$tmp/piece.vtt"
$T --format json "$tmp/chapter.wav" > "$tmp/chapter.json"
$T --segments "$tmp/chapter.wav" > "$tmp/segments.tsv"
$T --format vtt --segments_dir "$tmp/subs" "$tmp/piece.wav"
cmp "$tmp/subs/piece.vtt" "$tmp/piece.vtt" || fail "--segments_dir wrote another document than standard output"

"$PY" - "$tmp" "$duration" <<'PY'
import json, re, sys
tmp, duration = sys.argv[1], float(sys.argv[2])

def seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

def parse_cues(text, sep, header):
    """Strict parse: [header] then blocks of (SRT: index) time line, one text line, blank line."""
    lines = text.split("\n")
    if header:
        assert lines[0] == header and lines[1] == "", lines[:2]
        lines = lines[2:]
    time = re.compile(r"^(\d\d):(\d\d):(\d\d)" + re.escape(sep) + r"(\d{3}) --> (\d\d):(\d\d):(\d\d)"
                      + re.escape(sep) + r"(\d{3})$")
    cues, i = [], 0
    while i < len(lines) and lines[i] != "":
        if not header:
            assert lines[i] == str(len(cues) + 1), (i, lines[i])
            i += 1
        m = time.match(lines[i])
        assert m, ("bad time line", lines[i])
        start, end = seconds(*m.groups()[:4]), seconds(*m.groups()[4:])
        text = lines[i + 1]
        assert text and text == text.strip() and "-->" not in text, text
        assert lines[i + 2] == "", ("no blank line after a cue", lines[i + 2])
        cues.append((start, end, text))
        i += 3
    assert all(l == "" for l in lines[i:]), "text after the last cue"
    assert cues, "no cues"
    last_end = 0
    for start, end, _ in cues:
        assert last_end <= start < end <= duration + 0.01, (last_end, start, end, duration)
        last_end = end
    return cues

srt = parse_cues(open(f"{tmp}/chapter.srt").read(), ",", None)
vtt = parse_cues(open(f"{tmp}/piece.vtt").read(), ".", "WEBVTT")
doc = json.load(open(f"{tmp}/chapter.json"))
segs = doc["segments"]
assert len(segs) == len(srt), (len(segs), len(srt))
assert doc["text"] == " ".join(s["text"] for s in segs)
for s, (start, end, text) in zip(segs, srt):
    assert s["text"] == text and abs(s["start"] - start) < 0.002 and abs(s["end"] - end) < 0.002
    assert " ".join(w["word"] for w in s["words"]) == s["text"]
    for w in s["words"]:
        assert s["start"] - 1e-6 <= w["start"] < w["end"] <= s["end"] + 1e-6, (w, s["start"], s["end"])
tsv = [l.split("\t") for l in open(f"{tmp}/segments.tsv").read().splitlines()]
assert len(tsv) == len(srt), (len(tsv), len(srt))
for (path, start, end, text), cue in zip(tsv, srt):
    assert text == cue[2] and abs(float(start) - cue[0]) < 0.002, (start, end, text, cue)
assert len(srt) >= 10, f"only {len(srt)} utterances in a {duration:.0f} s chapter"
print(f"ok   lact_transcribe: {len(srt)} SubRip cues, {len(vtt)} WebVTT cues, JSON and --segments agree")
PY

start_server -- --model "$SRC/models/demo" --dtype float32

S="$BIN/client/lact_stream --server 127.0.0.1:$port --realtime=false"
$S "$tmp/chapter.wav" > "$tmp/stream_file.txt"
sox "$tmp/chapter.wav" -t raw -r 16000 -e signed -b 16 -c 1 - | $S - > "$tmp/stream_stdin.txt"
awk -F'\t' '{printf "[%7.3f - %7.3f] %s\n", $2, $3, $4}' "$tmp/segments.tsv" > "$tmp/expected.txt"
diff "$tmp/expected.txt" "$tmp/stream_file.txt" > "$tmp/diff_file.txt" \
  || { head -20 "$tmp/diff_file.txt"; fail "lact_stream FILE differs from lact_transcribe --segments"; }
diff "$tmp/expected.txt" "$tmp/stream_stdin.txt" > "$tmp/diff_stdin.txt" \
  || { head -20 "$tmp/diff_stdin.txt"; fail "lact_stream - (PCM on stdin) differs"; }
echo "ok   lact_stream: $(wc -l < "$tmp/stream_file.txt") finals, one line each, from a file and from stdin"

# docs/clients.md's Python client, run as the document gives it (when python3-grpcio is there).
if "$PY" -c 'import grpc, google.protobuf' 2> /dev/null; then
  mkdir -p "$tmp/py"
  "$PY" - "$SRC/docs/clients.md" "$tmp/py/stream_file.py" <<'PY'
import re, sys
blocks = re.findall(r"```python\n(.*?)```", open(sys.argv[1]).read(), re.S)
assert len(blocks) == 1, f"{len(blocks)} python blocks in docs/clients.md"
open(sys.argv[2], "w").write(blocks[0])
PY
  protoc -I "$SRC/proto" --python_out="$tmp/py" "$SRC/proto/lact/asr/v1/asr.proto"
  (cd "$tmp/py" && "$PY" stream_file.py "127.0.0.1:$port" "$tmp/chapter.wav" --fast) \
    > "$tmp/python.txt" 2> "$tmp/python.err" || { cat "$tmp/python.err"; fail "docs/clients.md Python client"; }
  sed 's/^\[[^]]*\] //' "$tmp/python.txt" > "$tmp/python_text.txt"
  sed 's/^\[[^]]*\] //' "$tmp/stream_file.txt" | diff - "$tmp/python_text.txt" > /dev/null \
    || fail "the Python client's transcripts differ from lact_stream's"
  echo "ok   docs/clients.md Python client: $(wc -l < "$tmp/python.txt") finals, the same transcripts"
else
  echo "skip the Python client (no python3-grpcio: deploy/install-deps.sh installs it)"
fi

# lact_eval_client on the chapter as one long-form stream: a final per utterance (joined for the
# score), their latencies and the largest response; --endpointing off: one final, larger
# responses (every interim repeats the whole chapter so far).
E="$BIN/client/lact_eval_client --server 127.0.0.1:$port --librispeech $tmp/synth --split test \
   --long_form --lact off --progress=false"
$E --output_dir "$tmp/eval_on" > "$tmp/eval_on.log" 2>&1 || { cat "$tmp/eval_on.log"; fail "eval --endpointing (server default)"; }
$E --endpointing off --output_dir "$tmp/eval_off" > "$tmp/eval_off.log" 2>&1 \
  || { cat "$tmp/eval_off.log"; fail "eval --endpointing off"; }
"$PY" - "$tmp" "$(wc -l < "$tmp/stream_file.txt")" <<'PY'
import csv, json, sys
tmp, lines = sys.argv[1], int(sys.argv[2])
on = list(csv.DictReader(open(f"{tmp}/eval_on/results.csv")))
off = list(csv.DictReader(open(f"{tmp}/eval_off/results.csv")))
assert len(on) == len(off) == 1, (len(on), len(off))
assert int(on[0]["finals"]) == lines, (on[0]["finals"], lines)  # as many as lact_stream printed
assert int(off[0]["finals"]) == 1, off[0]["finals"]
big_on, big_off = int(on[0]["largest_response_bytes"]), int(off[0]["largest_response_bytes"])
assert big_on <= 4096 and big_on * 4 < big_off, (big_on, big_off)
s_on, s_off = (json.load(open(f"{tmp}/{d}/summary.json")) for d in ("eval_on", "eval_off"))
assert s_on["run"]["endpointing"] == "server" and s_off["run"]["endpointing"] == "off"
assert s_on["settings"][0]["latency_ms"]["final"]["count"] == lines
assert s_on["settings"][0]["finals_per_stream"] == lines
html = open(f"{tmp}/eval_on/report.html").read()
assert 'id="chart-timeline"' in html, "no utterance timeline in the report"
print(f"ok   lact_eval_client --long_form: {lines} finals (off: 1), largest response {big_on} B (off: {big_off} B), "
      f"final latency p50 {s_on['settings'][0]['latency_ms']['final']['p50']:.0f} ms")
PY

code=0; $S > /dev/null 2> "$tmp/err.txt" || code=$?
[[ $code == 2 ]] || fail "lact_stream without input: exit $code, want 2"
code=0; $S --message_ms 5 - < /dev/null > /dev/null 2>&1 || code=$?
[[ $code == 2 ]] || fail "lact_stream --message_ms 5: exit $code, want 2"
code=0
"$BIN/client/lact_stream" --server 127.0.0.1:1 --connect_timeout_s 1 "$tmp/piece.wav" \
  > /dev/null 2> "$tmp/err.txt" || code=$?
[[ $code == 1 ]] && grep -q unreachable "$tmp/err.txt" || fail "unreachable server: exit $code, $(cat "$tmp/err.txt")"
echo "ok   lact_stream usage errors"
