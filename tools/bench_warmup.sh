#!/usr/bin/env bash
# First pass vs second pass through a fresh lact_server (issue 22, "warm from the first stream";
# docs/benchmarks.md): for each setting of --warmup_seconds (0 = no warm-up, then the default),
# REPEATS fresh servers; on each, lact_eval_client streams the LibriSpeech sample (repeated to
# >= 30 s of audio; env PARALLEL streams at a time, default 8 as the client's) twice with
# --lact both, and the run times of the two passes and of each pass's two settings are printed.
#   tools/bench_warmup.sh BUILD_DIR MODEL_DIR [REPEATS] [extra lact_server flags...]
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
BUILD=$1; MODEL=$2; REPEATS=${3:-3}; shift 2; [ $# -gt 0 ] && shift
PARALLEL=${PARALLEL:-8}
S=${LACT_SAMPLE:-$(dirname "$0")/../../shared/data/librispeech-sample/LibriSpeech/test-clean}
tmp=$(mktemp -d); srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
files=("$S"/*/*/*.flac)
for i in $(seq 0 7); do  # 8 utterances: the sample twice (42 s)
  f=${files[$((i % ${#files[@]}))]}; id=$(basename "$f" .flac)
  printf '%s\t%s\n' "$(realpath "$f")" "$(grep -h "^$id " "$(dirname "$f")"/*.trans.txt | cut -d' ' -f2-)"
done > "$tmp/manifest.tsv"
echo "| --warmup_seconds | repeat | warm-up (s) | pass 1 off (s) | pass 1 on (s) | pass 2 off (s) | pass 2 on (s) | pass 1 / pass 2 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for warm in 0 10; do
  for r in $(seq 1 "$REPEATS"); do
    rm -f "$tmp/ready.json"
    "$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port -1 \
      --ready_file "$tmp/ready.json" --warmup_seconds "$warm" "$@" > "$tmp/server.log" 2>&1 &
    srv=$!
    for _ in $(seq 1 600); do [ -s "$tmp/ready.json" ] && break; sleep 0.1; done
    [ -s "$tmp/ready.json" ] || { cat "$tmp/server.log"; exit 1; }
    port=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['port'])" "$tmp/ready.json")
    for pass in 1 2; do
      "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --manifest "$tmp/manifest.tsv" \
        --num_parallel_requests "$PARALLEL" --lact both > "$tmp/pass$pass.log" 2>&1 \
        || { tail -5 "$tmp/pass$pass.log"; exit 1; }
    done
    kill $srv; wait $srv 2>/dev/null || true; srv=""
    /usr/bin/python3 - "$tmp" "$warm" "$r" <<'PY'
import re, sys
tmp, warm, r = sys.argv[1:]
def times(p):  # run time of each setting, in run order (off, then on)
    return [float(x) for x in re.findall(r"Run time: ([0-9.]+) s", open(f"{tmp}/pass{p}.log").read())]
(o1, n1), (o2, n2) = times(1), times(2)
m = re.search(r"warm-up: batch sizes .* in ([0-9.]+) s", open(f"{tmp}/server.log").read())
w = m.group(1) if m else "off"
print(f"| {warm} | {r} | {w} | {o1:.2f} | {n1:.2f} | {o2:.2f} | {n2:.2f} | {(o1 + n1) / (o2 + n2):.2f} |")
PY
  done
done
