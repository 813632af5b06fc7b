#!/usr/bin/env bash
# tools/gpu_server_bench.sh's CPU dry run (issue 23): the script a GPU host runs, with DEVICE=cpu
# and this build. It streams through lact_server (1 and 2 streams, the LM beam search, LaCT on)
# and writes at most 8 files of at most 16 MiB (what a device run brings back whole): held.csv
# with a row per count, the server's cost columns filled, Recognize's RTFX through gRPC in both
# windows, the offline sweep with LaCT on and off (twice: cuDNN benchmark off, on),
# the step profile, the attention check and the explicit-attention A/B, the summary naming the
# commit. A partial build (lact_bench alone) still measures, with the model-only stream loop. Bad arguments and values are refused with
# exit 2 before anything runs.
source "$(dirname "$0")/server_lib.sh"  # BIN, SRC, $tmp (removed at exit), fail
GSB=$SRC/tools/gpu_server_bench.sh
"$GSB" --help | grep -q "interim latency <= 250 ms" || fail "--help"
# The help is the whole header comment, and no line of code.
"$GSB" --help | tail -1 | grep -q "the attention check and the A/B's JSON).$" || fail "--help: its last line"
if "$GSB" "$tmp/bad" --frobnicate > "$tmp/bad.log" 2>&1; then fail "an unknown argument was accepted"; fi
grep -q "unknown argument '--frobnicate'" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no message"; }
# Bad values are refused before anything is built or started (exit 2, the value named).
for bad in "--streams 250,x" "--seconds 0" "--budget-s 1.5"; do
  set +e; "$GSB" "$tmp/bad2" $bad > "$tmp/bad2.log" 2>&1; rc=$?; set -e
  [ $rc -eq 2 ] && grep -q "bad" "$tmp/bad2.log" || { cat "$tmp/bad2.log"; fail "$bad: exit $rc"; }
  [ ! -e "$tmp/bad2" ] || fail "$bad: OUT was created"
done

SKIP_BUILD=1 BUILD_DIR=$BIN DEVICE=cpu TORCH_PYTHON=$PY LACT_COMMIT=abc1234 "$GSB" "$tmp/out" \
  > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "dry run"; }
n=$(find "$tmp/out" -type f | wc -l)
[ "$n" -le 8 ] || fail "$n files in OUT (at most 8 come back from a device run)"
[ -z "$(find "$tmp/out" -type f -size +16777216c)" ] || fail "a file over 16 MiB"
$PY - "$tmp/out" <<'PY' || { cat "$tmp/out/summary.md"; fail "results"; }
import csv, json, sys, tarfile
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/held.csv")))
assert [r["streams"] for r in rows] == ["1", "2"], rows
for r in rows:
    assert r["failures"] == "0" and r["held"] in ("yes", "no"), r
    assert float(r["interim_p95_ms"]) > 0 and int(r["threads_peak"]) > 1, r
    assert float(r["cpu_s"]) > 0 and 0 <= float(r["model_idle_share"]) <= 1, r
for name, cudnn in (("offline_float32", False), ("offline_float32_cudnn_benchmark", True)):
    run = json.load(open(f"{out}/{name}.json"))
    assert run["cudnn_benchmark"] is cudnn, (name, run["cudnn_benchmark"])
    offline = run["offline"]
    assert {o["lact"] for o in offline} == {True, False}, offline
    assert {o["batch"] for o in offline} == {1, 2}, offline
    assert all(o["audio_s"] > 0 and o["encoder_s"] > 0 for o in offline), offline
profile = open(f"{out}/profile.txt").read()
for part in ("conv", "transformer", "lact", "decode"):
    assert f"profile    {part}" in profile, profile
# The operator table of a 3-stream step: the first convolution over 3 windows of 3,200 ms.
assert "ops  3 streams, step 640 ms, window 3200 ms, LaCT on" in profile, profile
assert "aten::conv1d [3,1,51280]" in profile, profile
summary = open(f"{out}/summary.md").read()
assert "commit abc1234" in summary and "Most streams held: " in summary, summary
assert "interim p95 <= 250 ms" in summary, summary
# Recognize through gRPC, in the long windows and in the streaming window, every call answered.
assert "## Recognize through gRPC" in summary, summary
for setting in ("| long |", "| stream |"):
    row = next(l for l in summary.splitlines() if l.startswith(setting))
    assert float(row.split("|")[5]) > 0, row  # RTFX
names = tarfile.open(f"{out}/logs.tar.gz").getnames()
assert "logs/held/n2.server.log" in names and "logs/held.log" in names, names
# The attention check ran first (LibTorch 1.13 has no fused kernel: nothing to compare), and the
# A/B's explicit-attention sweep is in the logs, the encoder alone (LaCT off).
assert "attention check: LibTorch" in summary, summary
logs = tarfile.open(f"{out}/logs.tar.gz")
ab = json.load(logs.extractfile("logs/offline_float32_explicit_attention.json"))
assert ab["fused_attention"] is False, ab["fused_attention"]
assert {(o["batch"], o["lact"]) for o in ab["offline"]} == {(1, False), (2, False)}, ab["offline"]
server_log = logs.extractfile("logs/held/n2.server.log").read().decode()
assert "attention: explicit" in server_log, server_log[:2000]
print("ok  ", [(r["streams"], r["held"], r["interim_p95_ms"]) for r in rows])
PY

# A build where only lact_bench compiled (gpu_build keeps going past a failed target): no stream
# sweep through gRPC, the model-only loop at the same counts instead, the rest measured, exit 0.
mkdir -p "$tmp/partial/core"
ln -s "$BIN/core/lact_bench" "$tmp/partial/core/lact_bench"
SKIP_BUILD=1 BUILD_DIR=$tmp/partial DEVICE=cpu TORCH_PYTHON=$PY "$GSB" "$tmp/out2" > "$tmp/run2.log" 2>&1 \
  || { cat "$tmp/run2.log"; fail "partial build: the run failed"; }
grep -q "no .*server/lact_server .*no stream sweep" "$tmp/out2/summary.md" || fail "partial: no note of the missing server"
grep -q "^stream   lact=on  streams=2 " "$tmp/out2/summary.md" || { cat "$tmp/out2/summary.md"; fail "partial: no model-only streams"; }
[ ! -e "$tmp/out2/held.csv" ] || fail "partial: a held.csv without a server"
[ -s "$tmp/out2/offline_float32.json" ] || fail "partial: no offline sweep"
echo "gpu_server_bench_test: OK"
