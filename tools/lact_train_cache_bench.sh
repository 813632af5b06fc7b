#!/usr/bin/env bash
# LaCT training step time with and without the encoder state cache (issue 20, acceptance 1), on
# the same data and machine: a small synthetic corpus (tools/make_synthetic_corpus.py), the demo
# model frozen (models/demo) with train/configs/demo_lact.json, examples of 8 utterances of one
# speaker. Runs lact_train --mode lact three times for STEPS steps each: without the cache (the
# encoder runs offline on every step), with a cold cache (the first epoch computes the streaming
# states), and with the now warm cache. Prints each step's throughput (audio seconds per wall
# second, lact_train's own log) and the cache's size per audio hour.
#
#   tools/lact_train_cache_bench.sh [BUILD_DIR] [STEPS]
#   Env: THREADS (LibTorch threads per run, default 1: on 2 cores one thread is faster for both
#   runs), MODEL=base (a random wav2vec2-base-sized model, 12 layers x 768, written by
#   lact_bench --random base, with the spec's default LaCT config: hidden 768, chunk 512) instead
#   of the demo model.
set -euo pipefail
BUILD=${1:-build}
STEPS=${2:-6}
THREADS=${THREADS:-1}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BASE=$SRC/models/demo
LACT_CONFIG=(--lact_config "$SRC/train/configs/demo_lact.json")
if [ "${MODEL:-demo}" = base ]; then
  "$BUILD/core/lact_bench" --random base --save_random_model "$tmp/base" > /dev/null 2>&1
  cp "$SRC/models/demo/vocab.json" "$tmp/base/vocab.json"  # the same 32 characters
  rm -f "$tmp/base/lact_config.json" "$tmp/base/lact.safetensors"
  BASE=$tmp/base; LACT_CONFIG=()
fi

echo "[bench] corpus" >&2
"$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$tmp/data" --splits train --hours train=0.05 \
  --speakers train=3 --jobs 2 --quiet 2> "$tmp/corpus.log"
train() {  # NAME [FLAGS...]
  local name=$1; shift
  echo "[bench] $name" >&2
  "$BUILD/train/lact_train" --mode lact --base_model "$BASE" "${LACT_CONFIG[@]}" --data "$tmp/data" --train_split train \
    --dev_split "" --utterances_per_example 8 --max_seconds 60 --batch_seconds 60 \
    --max_steps "$STEPS" --warmup_steps 1 --log_every 1 --eval_every 0 --checkpoint_every 0 \
    --seed 1 --threads "$THREADS" --out "$tmp/out_$name" "$@" 2> "$tmp/$name.log" \
    || { cat "$tmp/$name.log" >&2; exit 1; }
}
train offline
train cold --state_cache "$tmp/cache"
train warm --state_cache "$tmp/cache"
"$PY" - "$tmp" "$STEPS" <<'PY'
import glob, os, re, subprocess, sys
tmp, steps = sys.argv[1], int(sys.argv[2])
def speeds(name):
    return [float(m.group(1)) for m in re.finditer(r"\| (\S+) audio-s/s \|", open(f"{tmp}/{name}.log").read())]
def step_ms(name):  # per step (--log_every 1): exact, where audio-s/s is rounded
    return [float(m.group(1)) for m in re.finditer(r"\| (\S+) ms/step \|", open(f"{tmp}/{name}.log").read())]
rows = {n: speeds(n) for n in ("offline", "cold", "warm")}
ms = {n: step_ms(n) for n in ("offline", "cold", "warm")}
for n, v in rows.items():
    print(f"{n:8s} audio-s/s per step: " + " ".join(f"{x:.1f}" for x in v))
    print(f"{n:8s} ms per step:        " + " ".join(f"{x:.0f}" for x in ms[n]))
mean = lambda v: sum(v) / len(v)
print(f"mean step throughput: offline {mean(rows['offline']):.1f}, cold cache {mean(rows['cold']):.1f}, "
      f"warm cache {mean(rows['warm']):.1f} audio-s/s")
print(f"mean step time: offline {mean(ms['offline']):.0f} ms, cold cache {mean(ms['cold']):.0f} ms, warm cache "
      f"{mean(ms['warm']):.0f} ms: the warm-cache step is {mean(ms['offline']) / mean(ms['warm']):.1f}x faster "
      f"than the uncached one (same batches)")
audio_s = 0.0
for f in glob.glob(f"{tmp}/data/train/*/*/*.flac"):
    audio_s += float(subprocess.run(["soxi", "-D", f], capture_output=True, text=True).stdout)
size = sum(os.path.getsize(p) for p in glob.glob(f"{tmp}/cache/*.states"))
print(f"cache: {size / 1e6:.1f} MB for {audio_s:.0f} s of audio = {size / 1e9 / (audio_s / 3600):.2f} GB per audio hour "
      f"(float16)")
print(open(f"{tmp}/warm.log").read().strip().splitlines()[-1])
PY
