#!/usr/bin/env bash
# Early partials through the server (--first_partial_ms): on the LibriSpeech sample with the demo
# model (do_normalize: the running normaliser sees the pieces fed), the transcripts are the same
# as with --first_partial_ms 0, whether the client sends faster than real time (the server feeds
# from a backlog) or in real time (audio arrives as it is fed); in real time the first interim
# result comes earlier than with --first_partial_ms 0 (which waits for step + lookahead of audio,
# 1.28 s, plus the step's compute: compared run against run, so a slower CPU does not decide).
# An early partial is skipped while the next piece is already waiting (server/stream_session.cc):
# fed from a backlog, the streams make far fewer of them (stream-steps on /metrics) than in real
# time, where each 200 ms of audio gets one.
source "$(dirname "$0")/server_lib.sh"
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
run() {  # NAME FIRST_PARTIAL_MS [client flags...]
  local name=$1 fp=$2; shift 2
  start_server -- --model "$SRC/models/demo" --threads 1 --warmup_seconds 0 --first_partial_ms "$fp" \
    --metrics_host 127.0.0.1 --metrics_port 0
  "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
    --num_parallel_requests 4 --interim_results --lact auto --output_dir "$tmp/$name" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; fail "client $name"; }
  # Stream-steps: lact_batch_size_sum, the streams of every model step.
  "$PY" -c 'import json, sys, urllib.request
m = json.load(open(sys.argv[1]))["metrics_port"]
text = urllib.request.urlopen(f"http://127.0.0.1:{m}/metrics", timeout=10).read().decode()
print(next(l.split()[1] for l in text.splitlines() if l.startswith("lact_batch_size_sum")))' \
    "$tmp/ready.json" > "$tmp/$name.steps" || fail "metrics $name"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
run off 0
run early 200
run realtime 200 --simulate_realtime
run realtime_off 0 --simulate_realtime
"$PY" - "$tmp" <<'PY' || fail "early partials changed the transcripts or came no earlier"
import csv, json, sys
tmp = sys.argv[1]
def hyps(name):
    return {r["id"]: r["hypothesis"] for r in csv.DictReader(open(f"{tmp}/{name}/results.csv"))}
off, early, rt = hyps("off"), hyps("early"), hyps("realtime")
assert len(off) == 4 and any(off.values()), off
assert early == off, (early, off)
assert rt == off, (rt, off)
def first(name):
    return sorted(float(r["first_interim_ms"]) for r in csv.DictReader(open(f"{tmp}/{name}/results.csv")))
early_first, off_first = first("realtime"), first("realtime_off")
median = lambda v: v[len(v) // 2]
assert off_first and median(off_first) >= 1280, off_first  # step + lookahead of audio at least
assert median(early_first) < median(off_first) - 300, (early_first, off_first)
steps = {n: float(open(f"{tmp}/{n}.steps").read()) for n in ("off", "early", "realtime", "realtime_off")}
backlog_partials = steps["early"] - steps["off"]
realtime_partials = steps["realtime"] - steps["realtime_off"]
assert realtime_partials >= 8, steps  # 4 streams, several partials each before their first step
assert backlog_partials <= realtime_partials / 2, steps
print(f"ok   transcripts equal over 3 runs; real-time first interim {early_first} ms, "
      f"without early partials {off_first} ms; early partials (stream-steps beyond the run "
      f"without them): backlog {backlog_partials:.0f}, real time {realtime_partials:.0f}")
PY
echo "first_partial_test: OK"
