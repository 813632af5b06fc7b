#!/usr/bin/env bash
# Server benchmark of docs/benchmarks.md: lact_server on a model folder, lact_eval_client sending
# N concurrent real-time streams (the LibriSpeech sample, repeated), then the interim/final
# latency percentiles from summary.json and the batch-size histogram from /metrics.
#   tools/bench_server.sh BUILD_DIR MODEL_DIR N [extra lact_server flags...]
set -euo pipefail
BUILD=$1; MODEL=$2; N=$3; shift 3
S=${LACT_SAMPLE:-$(dirname "$0")/../../shared/data/librispeech-sample/LibriSpeech/test-clean}
tmp=$(mktemp -d); trap 'kill $srv 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
# N streams: the sample's utterances, repeated (a manifest may name a file more than once).
files=("$S"/*/*/*.flac)
for ((i = 0; i < N; i++)); do
  f=${files[$((i % ${#files[@]}))]}; id=$(basename "$f" .flac)
  printf '%s\t%s\n' "$(realpath "$f")" "$(grep -h "^$id " "$(dirname "$f")"/*.trans.txt | cut -d' ' -f2-)"
done > "$tmp/manifest.tsv"
"$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port 0 \
  --ready_file "$tmp/ready.json" --max_streams $((N + 8)) "$@" > "$tmp/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 300); do [ -s "$tmp/ready.json" ] && break; sleep 0.1; done
port=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['port'])" "$tmp/ready.json")
mport=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['metrics_port'])" "$tmp/ready.json")
"$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --manifest "$tmp/manifest.tsv" \
  --num_parallel_requests "$N" --simulate_realtime --interim_results --lact on \
  --output_dir "$tmp/out" > "$tmp/client.log" 2>&1 || { echo "client failed:"; tail -5 "$tmp/client.log"; }
curl -s "127.0.0.1:$mport/metrics" > "$tmp/metrics.txt"
/usr/bin/python3 - "$tmp/out/summary.json" "$tmp/metrics.txt" "$N" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1])); m = open(sys.argv[2]).read(); n = sys.argv[3]
def find(d, key):
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key: return v
            r = find(v, key)
            if r is not None: return r
    if isinstance(d, list):
        for v in d:
            r = find(v, key)
            if r is not None: return r
print(f"streams={n}")
lat = find(s, "latency_ms") or {}
for k in ("interim", "final", "first_interim"):
    v = lat.get(k) or {}
    print(f"  {k} latency ms: " + ", ".join(f"{q}={v[q]:.0f}" for q in ("p50", "p90", "p95", "p99") if v.get(q) is not None)
          + f" (n={v.get('count')})")
for k in ("rtfx", "failed_streams"):
    v = find(s, k)
    if v is not None: print(f"  {k}: {json.dumps(v)}")
buckets = re.findall(r'lact_batch_size_bucket\{le="([^"]+)"\} (\d+)', m)
count = re.search(r'lact_batch_size_count (\d+)', m); total = re.search(r'lact_batch_size_sum (\S+)', m)
prev = 0
dist = []
for le, c in buckets:
    c = int(c); dist.append(f"<={le}: {c - prev}"); prev = c
print("  batch size histogram (model calls):", ", ".join(dist))
if count and total and int(count.group(1)):
    print(f"  mean batch size: {float(total.group(1)) / int(count.group(1)):.2f} over {count.group(1)} calls")
step = re.search(r'lact_model_step_seconds_sum (\S+)', m); stepc = re.search(r'lact_model_step_seconds_count (\d+)', m)
if step and stepc and int(stepc.group(1)):
    print(f"  mean model step: {1000 * float(step.group(1)) / int(stepc.group(1)):.1f} ms")
PY
