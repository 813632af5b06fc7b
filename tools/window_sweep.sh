#!/usr/bin/env bash
# The streaming-window sweep on a trained model (issue 22, docs/benchmarks.md "Streaming window on
# the demo model"): for each STEP/LEFT/LOOKAHEAD (ms) lact_server runs with that window and the
# model's default decoder, and lact_eval_client streams a corpus split through it twice:
#   utterances  each utterance its own stream, real-time pace (interim/final latency, time to
#               the first interim);
#   long-form   each chapter's utterances joined into one stream, as fast as the server takes
#               them (WER/CER of minutes-long streams, and the cost below).
# Cost per audio second: the server's CPU time (user + system, /proc) during the long-form run
# divided by the audio streamed; it does not depend on how busy the machine is, wall times do.
#
#   tools/window_sweep.sh BUILD_DIR MODEL_DIR CORPUS_DIR SPLIT OUT_DIR WINDOW [WINDOW...]
#     WINDOW: STEP/LEFT/LOOKAHEAD in ms, e.g. 640/2560/640
#   Env: THREADS (server --threads, default 1), PARALLEL (real-time streams, default 4),
#        LIMIT (utterances of the real-time run, default 60).
#
# Writes OUT_DIR/sweep.md (a table) and OUT_DIR/sweep.csv; each run's eval output under OUT_DIR.
set -euo pipefail
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 6 ] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd); MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5; shift 5
THREADS=${THREADS:-1}; PARALLEL=${PARALLEL:-4}; LIMIT=${LIMIT:-60}
mkdir -p "$OUT"
for w in "$@"; do
  [[ "$w" =~ ^[0-9]+/[0-9]+/[0-9]+$ ]] || { echo "window_sweep: bad window '$w' (STEP/LEFT/LOOKAHEAD)" >&2; exit 2; }
done
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true' EXIT
cpu_s() {  # PID: user + system CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
echo "step_ms,left_ms,lookahead_ms,wer,cer,longform_wer,longform_cer,cpu_s_per_audio_s,interim_p50_ms,interim_p95_ms,final_p50_ms,first_interim_p50_ms" > "$OUT/sweep.csv"
for w in "$@"; do
  IFS=/ read -r step left look <<< "$w"
  name="w$step-$left-$look"
  rm -f "$OUT/$name.ready"
  "$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port -1 \
    --threads "$THREADS" --step_ms "$step" --left_context_ms "$left" --lookahead_ms "$look" \
    --ready_file "$OUT/$name.ready" > "$OUT/$name.server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do [ -s "$OUT/$name.ready" ] && break; sleep 0.1; done
  [ -s "$OUT/$name.ready" ] || { cat "$OUT/$name.server.log" >&2; exit 1; }
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$OUT/$name.ready")
  client() {  # RUN [flags...]
    local run=$1; shift
    "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$CORPUS" \
      --split "$SPLIT" --lact auto --progress=false --output_dir "$OUT/$name-$run" "$@" \
      > "$OUT/$name-$run.log" 2>&1 || { cat "$OUT/$name-$run.log" >&2; exit 1; }
  }
  echo "[window_sweep] $w: real-time utterances" >&2
  client rt --simulate_realtime --num_parallel_requests "$PARALLEL" --limit "$LIMIT"
  echo "[window_sweep] $w: long-form" >&2
  c0=$(cpu_s "$server_pid")
  client long --long_form --num_parallel_requests 1
  c1=$(cpu_s "$server_pid")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  /usr/bin/python3 - "$OUT" "$name" "$step" "$left" "$look" "$c0" "$c1" >> "$OUT/sweep.csv" <<'PY'
import json, sys
out, name, step, left, look, c0, c1 = sys.argv[1:]
rt = json.load(open(f"{out}/{name}-rt/summary.json"))["settings"][0]
lf = json.load(open(f"{out}/{name}-long/summary.json"))["settings"][0]
cost = (float(c1) - float(c0)) / lf["audio_s"]
lat = rt["latency_ms"]
print(",".join(str(v) for v in (step, left, look, rt["wer"], rt["cer"], lf["wer"], lf["cer"],
      round(cost, 4), lat["interim"]["p50"], lat["interim"]["p95"], lat["final"]["p50"],
      lat["first_interim"]["p50"])))
PY
done
/usr/bin/python3 - "$OUT/sweep.csv" > "$OUT/sweep.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| step / left / lookahead (ms) | WER % (utt.) | long-form WER % | long-form CER % | "
      "CPU s per audio s | interim p50 / p95 ms | final p50 ms | first interim p50 ms |")
print("|---|---:|---:|---:|---:|---|---:|---:|")
for r in rows:
    print(f"| {r['step_ms']} / {r['left_ms']} / {r['lookahead_ms']} | {100 * float(r['wer']):.2f} | "
          f"{100 * float(r['longform_wer']):.2f} | {100 * float(r['longform_cer']):.2f} | "
          f"{float(r['cpu_s_per_audio_s']):.3f} | {float(r['interim_p50_ms']):.0f} / "
          f"{float(r['interim_p95_ms']):.0f} | {float(r['final_p50_ms']):.0f} | "
          f"{float(r['first_interim_p50_ms']):.0f} |")
PY
cat "$OUT/sweep.md"
