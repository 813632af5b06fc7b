#!/usr/bin/env bash
# tools/window_sweep.sh (issue 22) end to end on the demo model and the LibriSpeech sample with two
# windows: one CSV row and one table row per window, rates in [0, 1+], a positive CPU cost per
# audio second that is higher for the window that re-encodes more audio per step, latencies
# measured; a malformed window is a usage error before any server starts. tools/first_interim_onset.py
# on the real-time run: every stream with an interim counted, the speech onset found inside the
# audio, and the latency from the onset no more than the latency from the start.
source "$(dirname "$0")/server_lib.sh"  # BIN, SRC, $tmp (removed at exit), fail
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
if "$SRC/tools/window_sweep.sh" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/bad" 640-2560-640 \
     > "$tmp/bad.log" 2>&1; then
  fail "a malformed window was accepted"
fi
grep -q "bad window" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no message"; }
LIMIT=2 PARALLEL=2 "$SRC/tools/window_sweep.sh" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/out" \
  640/2560/640 1280/640/320 > "$tmp/sweep.log" 2>&1 || { cat "$tmp/sweep.log"; fail "sweep"; }
/usr/bin/python3 - "$tmp/out" <<'PY' || { cat "$tmp/sweep.log"; fail "results"; }
import csv, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/sweep.csv")))
assert [(r["step_ms"], r["left_ms"], r["lookahead_ms"]) for r in rows] == \
    [("640", "2560", "640"), ("1280", "640", "320")], rows
for r in rows:
    for k in ("wer", "cer", "longform_wer", "longform_cer"):
        assert 0 <= float(r[k]) <= 2, (k, r)
    assert float(r["cpu_s_per_audio_s"]) > 0, r
    assert float(r["interim_p50_ms"]) > 0 and float(r["first_interim_p50_ms"]) > 0, r
# 3840 ms encoded per 640 ms step vs 2240 ms per 1280 ms: ~3.4x the encoder work per audio second.
assert float(rows[0]["cpu_s_per_audio_s"]) > float(rows[1]["cpu_s_per_audio_s"]), rows
table = open(f"{out}/sweep.md").read().splitlines()
assert len(table) == 4 and table[2].startswith("| 640 / 2560 / 640 |"), table
print("ok   two windows swept:", [r["cpu_s_per_audio_s"] for r in rows])
PY
/usr/bin/python3 "$SRC/tools/first_interim_onset.py" --results "$tmp/out/w640-2560-640-rt/results.csv" \
  --corpus "$SAMPLE" --split . > "$tmp/onset.log" 2>&1 || { cat "$tmp/onset.log"; fail "onset"; }
/usr/bin/python3 - "$tmp" <<'PY' || { cat "$tmp/onset.log"; fail "onset report"; }
import csv, re, sys
tmp = sys.argv[1]
log = open(f"{tmp}/onset.log").read()
rows = [r for r in csv.DictReader(open(f"{tmp}/out/w640-2560-640-rt/results.csv"))
        if float(r["first_interim_ms"]) >= 0]
assert f"streams with an interim result: {len(rows)}" in log, log
nums = {k: (float(a), float(b)) for k, a, b in
        re.findall(r"(start|onset \(estimated\)|speech onset)\s+p50\s+(-?\d+) ms\s+p90\s+(-?\d+) ms", log)}
assert set(nums) == {"start", "onset (estimated)", "speech onset"}, log
assert 0 <= nums["onset (estimated)"][0] < 2000, log
assert nums["speech onset"][0] <= nums["start"][0], log
print("ok   first interim from the onset:", nums["speech onset"])
PY
echo "window_sweep_test: OK"
