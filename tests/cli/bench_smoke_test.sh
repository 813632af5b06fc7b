#!/usr/bin/env bash
# lact_bench smoke run (the CI-sized version of docs/benchmarks.md): a random tiny model, offline
# batches 1 and 2, two simulated real-time streams, LaCT on and off, the step profile
# (--profile_steps); checks the JSON it writes.
set -euo pipefail
BIN=${LACT_BIN:?}/core/lact_bench
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$BIN" --random tiny --threads 1 --batch-sizes 1,2 --audio-seconds 2 --repeats 1 \
  --streams 2 --stream-seconds 2 --step-ms 320 --left-context-ms 640 --lookahead-ms 160 \
  --profile_steps 3 --profile_ops 2 --profile_batch 3 --json "$tmp/out.json" > "$tmp/stdout" 2> "$tmp/stderr"
cat "$tmp/stdout"
/usr/bin/python3 - "$tmp/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
off = r["offline"]; st = r["streaming"]
assert sorted((o["batch"], o["lact"]) for o in off) == [(1, False), (1, True), (2, False), (2, True)], off
for o in off:
    assert o["rtfx"] > 0 and o["wall_s"] > 0 and abs(o["rtfx"] * o["wall_s"] - o["audio_s"]) < 1e-6 * o["audio_s"] + 1e-9, o
    assert (o["lact_s"] > 1e-4) if o["lact"] else (o["lact_s"] < 1e-3), o
assert len(st) == 2 and {s["lact"] for s in st} == {True, False}, st
for s in st:
    assert s["streams"] == 2 and s["steps"] >= 2 * 4, s   # 2 s of audio in 0.32 s steps: >= 4 steps each
    assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"], s
    assert 1 <= s["mean_batch"] <= s["max_batch_seen"] <= 2, s
    # (d) on the CPU: resident set size, read before the streams exist, after all started, at peak
    assert s["memory_kind"] == "cpu_rss", s
    assert s["memory_before_bytes"] > 10 * 2**20, s  # LibTorch alone is more: the reading works
    assert s["memory_before_bytes"] <= s["memory_peak_bytes"], s
    assert s["memory_steady_bytes"] <= s["memory_peak_bytes"], s
    assert s["memory_peak_per_stream_bytes"] >= s["memory_per_stream_bytes"], s
# tiny LaCT state: L=2, H=4, m=d=8: 2*4*6*8*8*4 bytes
assert r["lact_state_bytes_per_stream"] == 2 * 4 * 6 * 8 * 8 * 4, r["lact_state_bytes_per_stream"]
# The step profile: one row per LaCT mode, the documented parts (lact only when on), each >= 0,
# "other" the real step minus the rest, so the parts add up to the step.
prof = r["step_profile"]
assert sorted(p["lact"] for p in prof) == [False, True], prof
for p in prof:
    names = ["normalise", "conv", "transformer"] + (["lact"] if p["lact"] else []) + \
        ["lm_head", "decode", "other"]
    assert sorted(p["parts_s"]) == sorted(names), p
    assert all(v >= 0 for v in p["parts_s"].values()), p
    # transformer = the whole encoder minus conv (medians): on a busy machine and the tiny model
    # it can round to 0, never below.
    assert p["parts_s"]["conv"] > 0, p
    assert p["step_s"] > 0 and sum(p["parts_s"].values()) >= p["step_s"] * (1 - 1e-9), p
    assert p["window_ms"] == 320 + 640 + 160 and p["step_ms"] == 320, p
    assert abs(p["cost_per_audio_s"] - p["step_s"] / 0.32) < 1e-9, p
# The operator profile (--profile_ops): per LaCT mode, a 3-stream step's operators by time. The
# first convolution takes the 3 windows of 1,120 ms (17,920 samples + the 80 beyond the last
# frame's hop that its receptive field needs); LaCT adds operators per step and per stream.
ops = {o["lact"]: o for o in r["op_profile"]}
assert sorted(ops) == [False, True], r["op_profile"]
for o in ops.values():
    assert o["batch"] == 3 and o["steps"] == 2 and "error" not in o, o
    assert o["window_ms"] == 320 + 640 + 160 and o["step_ms"] == 320, o
    names = [row["op"] for row in o["ops"]]
    # float32: one call for the batch; bfloat16 (--dtype auto on a CPU with native bf16): the
    # first layer's GroupNorm folded into per-window weights, one [1,1,18000] call per window.
    first = [n for n in names if n.startswith("aten::conv1d [") and ",1,18000] [32,1,10]" in n]
    assert first and all(n.startswith("aten::conv1d [3,1,18000]") or
                         (n.startswith("aten::conv1d [1,1,18000]") and n.endswith(" BFloat16"))
                         for n in first), names
    assert all(row["s_per_step"] >= 0 and 0 <= row["share"] <= 1 for row in o["ops"]), o
    assert o["ops"] == sorted(o["ops"], key=lambda row: -row["s_per_step"]), o
    # The JSON lists the 100 slowest groups; operators + the time between them = the timed step.
    assert sum(row["s_per_step"] for row in o["ops"]) <= o["operators_s_per_step"] * (1 + 1e-9), o
    assert o["operators_s_per_step"] + o["other_s_per_step"] >= o["timed_step_s"] * (1 - 1e-9), o
    assert o["step_s"] > 0 and o["ops_per_step"] > o["ops_per_step_batch1"] > 0, o
    # a + b * streams: b (the model thread's dispatches per stream) stays a few dozen; the
    # encoder's per-stream cost is its batch dimension, not more operators.
    assert 0 < o["ops_per_stream"] < 60, o
assert ops[True]["ops_per_step_batch1"] > ops[False]["ops_per_step_batch1"] + 50, ops
print("ok   lact_bench JSON:", len(off), "offline rows,", len(st), "streaming rows,", len(prof),
      "profiles")
PY
# float32 linear layers on the CPU go through oneDNN with --onednn_linear (core/model/
# dense_linear.h), through torch::linear without: the operators of a real model step say which ran.
for onednn in true false; do
  "$BIN" --onednn_linear=$onednn --random tiny --dtype float32 --threads 1 --batch-sizes "" \
    --streams 0 --lact on --profile_ops 1 --profile_batch 2 --json "$tmp/ops$onednn.json" \
    > /dev/null 2>&1
  /usr/bin/python3 - "$tmp/ops$onednn.json" "$onednn" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["onednn_linear"] == (sys.argv[2] == "true"), r["onednn_linear"]
names = [row["op"] for row in r["op_profile"][0]["ops"]]
dnn = [n for n in names if n.startswith("aten::mkldnn_linear ")]
blas = [n for n in names if n.startswith("aten::linear ")]
if sys.argv[2] == "true":
    assert dnn and not blas, names  # every float32 linear: q/k/v/out, feed-forward, LaCT, lm_head
else:
    assert blas and not dnn, names
print("ok   float32 linear layers through", "oneDNN (--onednn_linear)" if dnn else "torch::linear")
PY
done
"$BIN" --batch-sizes 0 > /dev/null 2>&1 && { echo "FAIL: bad --batch-sizes accepted"; exit 1; }
"$BIN" --help > "$tmp/help" 2>&1 || true
grep -q -- "--streams" "$tmp/help" || { echo "FAIL: --help"; exit 1; }
echo "ok   bad flags and --help"
