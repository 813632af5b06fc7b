#!/usr/bin/env bash
# The most real-time streams lact_server holds (issue 22, docs/benchmarks.md), in the manner of
# Riva's published method: for each N, a fresh lact_server, and lact_eval_client streaming a
# corpus split at real-time pace with N streams open at once (as one utterance ends the next
# starts), ROUNDS x N utterances in all. N is held when both:
#   - the p95 interim latency is at most one step (STEP_MS), and
#   - every stream's final result comes within 2 steps of its audio's end (final latency).
# The answer is the largest N held, with every N's row.
#
#   tools/streams_held.sh BUILD_DIR MODEL_DIR CORPUS_DIR SPLIT OUT_DIR N [N...] [-- SERVER_FLAGS...]
#   Env: STEP_MS (the server's step, default 960 = its default; pass --step_ms among the server
#        flags when you change it), ROUNDS (default 3), THREADS (server --threads, default: all).
#
# Writes OUT_DIR/held.md (a table), OUT_DIR/held.csv and each run's eval output.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 6 ] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd); MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5; shift 5
counts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "streams_held: bad stream count '$1'" >&2; exit 2; }
  counts+=("$1"); shift
done
[ "${1:-}" = "--" ] && shift
STEP_MS=${STEP_MS:-960}; ROUNDS=${ROUNDS:-3}; THREADS=${THREADS:-0}
mkdir -p "$OUT"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true' EXIT
echo "streams,held,interim_p50_ms,interim_p95_ms,final_p95_ms,final_max_ms,failures,wall_s" > "$OUT/held.csv"
for n in "${counts[@]}"; do
  ready="$OUT/n$n.ready"; rm -f "$ready"
  "$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port -1 \
    --threads "$THREADS" --max_streams $((n + 8)) --max_streams_per_peer 0 --ready_file "$ready" "$@" \
    > "$OUT/n$n.server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 1200); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { cat "$OUT/n$n.server.log" >&2; exit 1; }
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$ready")
  echo "[streams_held] $n streams" >&2
  "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$CORPUS" \
    --split "$SPLIT" --lact auto --progress=false --simulate_realtime --interim_results \
    --num_parallel_requests "$n" --limit $((n * ROUNDS)) --output_dir "$OUT/n$n" \
    > "$OUT/n$n.log" 2>&1 || { cat "$OUT/n$n.log" >&2; exit 1; }
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  /usr/bin/python3 - "$OUT/n$n" "$n" "$STEP_MS" >> "$OUT/held.csv" <<'PY'
import csv, json, sys
out, n, step = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = json.load(open(f"{out}/summary.json"))["settings"][0]
finals = sorted(float(r["final_latency_ms"]) for r in csv.DictReader(open(f"{out}/results.csv"))
                if r["final_latency_ms"] not in ("", "nan"))
interim = s["latency_ms"]["interim"]
p95 = lambda v: v[min(len(v) - 1, int(0.95 * len(v)))] if v else float("nan")
held = (s["failures"] == 0 and finals and interim["p95"] <= step and finals[-1] <= 2 * step)
print(",".join(str(x) for x in (n, "yes" if held else "no", round(interim["p50"]),
      round(interim["p95"]), round(p95(finals)), round(finals[-1]) if finals else "nan",
      s["failures"], round(s["wall_s"], 1))))
PY
done
/usr/bin/python3 - "$OUT/held.csv" "$STEP_MS" > "$OUT/held.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"| streams | held (interim p95 <= {sys.argv[2]} ms, final <= 2 steps) | interim p50 / p95 ms | "
      "final p95 / max ms | failures | wall s |")
print("|---:|---|---|---|---:|---:|")
for r in rows:
    print(f"| {r['streams']} | {r['held']} | {r['interim_p50_ms']} / {r['interim_p95_ms']} | "
          f"{r['final_p95_ms']} / {r['final_max_ms']} | {r['failures']} | {r['wall_s']} |")
held = [int(r["streams"]) for r in rows if r["held"] == "yes"]
print(f"\nMost streams held: {max(held) if held else 0}")
PY
cat "$OUT/held.md"
