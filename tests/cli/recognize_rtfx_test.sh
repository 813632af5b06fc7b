#!/usr/bin/env bash
# tools/recognize_rtfx.sh end to end on the demo model and the LibriSpeech sample: a CSV and a
# table row per setting (here Recognize's long windows and the streaming window), WER/CER, RTFX,
# call latency and the server's CPU per audio second measured, every call answered; the long
# windows cost the server less CPU per audio second than the streaming window (~3x fewer encoder
# frames). A setting without NAME=FLAGS is a usage error before any server starts.
source "$(dirname "$0")/server_lib.sh"  # BIN, SRC, $tmp (removed at exit), fail
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
RR=$SRC/tools/recognize_rtfx.sh
"$RR" --help | grep -q "lact_eval_client --offline" || fail "--help"
# The help is the whole header comment, and no line of code.
"$RR" --help | tail -1 | grep -q "each run's eval output under OUT_DIR.$" || fail "--help: its last line"
set +e; "$RR" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/bad" 2 nonsense > "$tmp/bad.log" 2>&1; rc=$?; set -e
[ $rc -eq 2 ] && grep -q "bad setting 'nonsense'" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "bad setting: exit $rc"; }
[ ! -e "$tmp/bad" ] || fail "bad setting: OUT was created"
CLIENT_FLAGS="--lact off" "$RR" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/out" 2 \
  long=--recognize_step_ms=20000,--recognize_max_batch=2 stream=--recognize_step_ms=0 \
  -- --warmup_seconds 0 --threads 1 > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "run"; }
/usr/bin/python3 - "$tmp/out" <<'PY' || { cat "$tmp/run.log"; fail "results"; }
import csv, json, sys
out = sys.argv[1]
rows = {r["setting"]: r for r in csv.DictReader(open(f"{out}/rtfx.csv"))}
assert sorted(rows) == ["long", "stream"], rows
for r in rows.values():
    assert r["failures"] == "0", r
    assert 0 <= float(r["wer"]) <= 1.5 and 0 <= float(r["cer"]) <= 1.5, r
    assert float(r["rtfx"]) > 0 and 0 < float(r["call_p50_ms"]) <= float(r["call_p95_ms"]), r
    assert abs(float(r["audio_s"]) - 21.2) < 0.2, r  # the four sample files
assert rows["long"]["flags"] == "--recognize_step_ms=20000,--recognize_max_batch=2", rows["long"]
cost = {k: float(r["server_cpu_per_audio_s"]) for k, r in rows.items()}
# The client recorded the window that decoded the calls (GetRecognitionConfig).
windows = {k: json.load(open(f"{out}/{k}/summary.json"))["run"]["window"] for k in rows}
assert windows == {"long": "20000/1920/1920", "stream": "960/1920/640"}, windows
assert 0 < cost["long"] < cost["stream"], cost
table = open(f"{out}/rtfx.md").read()
assert table.count("\n| long |") + table.count("\n| stream |") == 2, table
print("ok  ", cost)
PY
grep -q "Recognize: clips decoded in steps of 20000 ms" "$tmp/out/long.server.log" || fail "long: server log"
grep -q "Recognize: clips decoded with the streaming window" "$tmp/out/stream.server.log" || fail "stream: server log"
echo "recognize_rtfx_test: OK"
