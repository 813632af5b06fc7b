#!/usr/bin/env bash
# The CPU benchmark of docs/benchmarks.md, in one run on one machine:
# lact_bench on a random wav2vec2-base-sized model (+2 LaCT layers) and torchaudio's
# wav2vec2_base on the same input length with the same thread count.
#   tools/bench_cpu.sh [BUILD_DIR] [THREADS]
set -euo pipefail
BUILD=${1:-build}
THREADS=${2:-$(nproc)}
OUT=${OUT:-bench-results}
mkdir -p "$OUT"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$(dirname "$0")/bench_torchaudio.py" --seconds 10 --threads "$THREADS"
"$BUILD/core/lact_bench" --random base --threads "$THREADS" --audio-seconds 10 --batch-sizes 1,2,4 \
  --streams "${STREAMS:-1}" --stream-seconds 20 --json "$OUT/lact_bench_cpu_base.json"
/usr/bin/python3 "$(dirname "$0")/bench_torchaudio.py" --seconds 10 --threads "$THREADS"
