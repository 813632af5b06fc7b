#!/usr/bin/env bash
# The CPU benchmark of docs/benchmarks.md, in one run on one machine:
# lact_bench on a random wav2vec2-base-sized model (+2 LaCT layers), in float32 and in the default
# --dtype (auto: bfloat16 where the CPU has native bf16), and torchaudio's wav2vec2_base (float32)
# on the same input length with the same thread count, before and after, plus once with the
# malloc settings lact's binaries apply to themselves (core/util/malloc_tuning.h), so the
# comparison shows what the allocator alone is worth.
#   tools/bench_cpu.sh [BUILD_DIR] [THREADS]
set -euo pipefail
BUILD=${1:-build}
THREADS=${2:-$(nproc)}
OUT=${OUT:-bench-results}
mkdir -p "$OUT"
TA="/usr/bin/python3 $(dirname "$0")/bench_torchaudio.py --seconds 10 --threads $THREADS"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
$TA
echo "# torchaudio with lact's malloc settings:"
GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824 $TA
for dtype in float32 auto; do
  "$BUILD/core/lact_bench" --random base --threads "$THREADS" --audio-seconds 10 \
    --batch-sizes 1,2,4 --dtype "$dtype" --streams "${STREAMS:-1}" --stream-seconds 20 \
    --json "$OUT/lact_bench_cpu_base_$dtype.json"
done
$TA
