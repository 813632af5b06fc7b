#!/usr/bin/env bash
# Issue 7's GPU measurement in one command (docs/gpu.md): builds core + lact_bench +
# lact_transcribe against the CUDA PyTorch of this host, checks CUDA against CPU on the same
# inputs, then runs lact_bench. Everything lands in OUT_DIR (logs, JSON, summary.txt).
#
#   tools/gpu_bench.sh OUT_DIR [--deps DIR] [--audio FILE] [--lact-stack DIR] [--quick]
#
#   --deps DIR        a folder made by tools/stage_offline_deps.sh (hosts without Debian packages)
#   --audio FILE      a WAV/FLAC for the CUDA-vs-CPU check (default: a generated 10 s signal)
#   --lact-stack DIR  lact_config.json + lact.safetensors trained for models/demo: adds the check
#                     of a trained LaCT stack (offline and streaming) on --audio
#   --quick           smaller measurement (fewer batch sizes and streams)
#   --no-check        skip the CUDA-vs-CPU check
#   --streams-only "S:STEP_MS ..."  only the smoke run and these streaming runs (LaCT on and off;
#                     S streams at a STEP_MS step), e.g. --streams-only "500:640 1000:1280"
# Env: TORCH_PYTHON (a python whose torch has CUDA; default python3), BUILD_DIR (default
# build-cuda), JOBS (default nproc). A dry run of the script on a CPU machine:
#   SKIP_BUILD=1 BUILD_DIR=build DEVICE=cpu tools/gpu_bench.sh OUT --quick
#
# The check (exit 1 when it fails): CUDA float32 logits within 1e-2 of the CPU's (max|diff| /
# max|ref|; cuDNN convolutions use TF32 by default) with >= 99.5% of frames' argmax equal;
# float16 within 5e-2 with >= 99%.
set -uo pipefail
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
OUT=$1; shift
DEPS=""; AUDIO=""; STACK=""; QUICK=0; CHECK=1; ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) DEPS=$(cd "$2" && pwd); shift 2 ;;
    --audio) AUDIO=$(realpath "$2"); shift 2 ;;
    --lact-stack) STACK=$(cd "$2" && pwd); shift 2 ;;
    --quick) QUICK=1; shift ;;
    --no-check) CHECK=0; shift ;;
    --streams-only) ONLY=$2; shift 2 ;;
    *) echo "gpu_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=${TORCH_PYTHON:-python3}
BUILD=${BUILD_DIR:-build-cuda}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
t0=$(date +%s)
stamp() { say "[$(( $(date +%s) - t0 )) s] $*"; }

# --- the host -------------------------------------------------------------------------------
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$PY" -c 'import torch,sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version()); print("device", torch.cuda.get_device_name(0))'
  g++ --version | head -1; cmake --version | head -1; nvcc --version | tail -1
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
} > "$OUT/host.txt" 2>&1
cat "$OUT/host.txt" >> "$SUMMARY"

# --- build ----------------------------------------------------------------------------------
source "$SRC/tools/gpu_build_lib.sh"
stamp "configure + build"
CUDA=1; [ "$DEVICE" = cpu ] && CUDA=0
[ -n "${SKIP_BUILD:-}" ] && stamp "SKIP_BUILD: using $BUILD as it is"
if ! gpu_build "$SRC" "$BUILD" "$OUT/build.log" $CUDA OFF lact_bench lact_transcribe; then
  stamp "BUILD FAILED (build.log)"
  exit 1
fi
BENCH=$BUILD/core/lact_bench
TRANSCRIBE=$BUILD/core/lact_transcribe
stamp "built"

# --- the GPU's matrix throughput (the floor's denominator) -----------------------------------
[ "$DEVICE" = cpu ] || "$PY" - > "$OUT/gemm.txt" 2>&1 <<'PY'
import torch, time
for dt in (torch.float16, torch.bfloat16, torch.float32):
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
    for _ in range(3): a @ b
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(10): a @ b
    torch.cuda.synchronize(); s = (time.perf_counter() - t) / 10
    print(f"gemm {str(dt):15s} {n}^3: {2 * n**3 / s / 1e12:.0f} TFLOP/s (tf32 matmul {torch.backends.cuda.matmul.allow_tf32})")
PY
[ -f "$OUT/gemm.txt" ] && cat "$OUT/gemm.txt" >> "$SUMMARY"

# --- CUDA vs CPU on the same inputs ---------------------------------------------------------
fail=0
"$BENCH" --random base --save_random_model "$WORK/base" > /dev/null 2>&1 || { stamp "cannot write the random model"; exit 1; }
if [ -z "$AUDIO" ]; then
  AUDIO=$WORK/signal.wav
  "$PY" - "$AUDIO" <<'PY'
import math, random, struct, sys, wave
random.seed(3); rate = 16000
x = [0.3 * math.sin(2 * math.pi * (150 + 80 * math.sin(i / rate)) * i / rate) + random.gauss(0, 0.05)
     for i in range(10 * rate)]
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, v)) * 32767)) for v in x))
PY
fi
check() {  # check NAME MODEL DTYPE TOL MIN_AGREEMENT [lact_transcribe flags...]
  local name=$1 model=$2 dtype=$3 tol=$4 agree=$5; shift 5
  [ -f "$WORK/$name.cpu.npy" ] || "$TRANSCRIBE" --model "$model" --device cpu "$@" \
      --dump-logits "$WORK/$name.cpu.npy" "$AUDIO" > "$OUT/$name.cpu.txt" 2>&1
  if ! "$TRANSCRIBE" --model "$model" --device "$DEVICE" --dtype "$dtype" "$@" \
      --dump-logits "$WORK/$name.$dtype.npy" "$AUDIO" > "$OUT/$name.$dtype.txt" 2>&1; then
    say "FAIL $name $dtype: lact_transcribe failed: $(tail -1 "$OUT/$name.$dtype.txt")"; fail=1; return
  fi
  local same="different transcript"
  cmp -s <(cut -f2- "$OUT/$name.cpu.txt") <(cut -f2- "$OUT/$name.$dtype.txt") && same="same transcript"
  if out=$("$PY" "$SRC/tests/cli/compare_npy.py" "$WORK/$name.cpu.npy" "$WORK/$name.$dtype.npy" \
        --tol "$tol" --argmax --min-agreement "$agree" --label "$name $DEVICE $dtype vs cpu"); then
    say "$out; $same"
  else
    say "$out; $same"; fail=1
  fi
}
HALF=float16; [ "$DEVICE" = cpu ] && HALF=""  # the dry run: LibTorch's CPU kernels lack float16
[ $CHECK -eq 1 ] && stamp "CUDA vs CPU"
[ $CHECK -eq 1 ] && check base "$WORK/base" float32 1e-2 0.995 --lact on
[ $CHECK -eq 1 ] && [ -n "$HALF" ] && check base "$WORK/base" $HALF 5e-2 0.99 --lact on
if [ $CHECK -eq 1 ] && [ -n "$STACK" ]; then
  mkdir -p "$WORK/demo_lact"
  cp "$SRC"/models/demo/*.json "$SRC"/models/demo/*.safetensors "$WORK/demo_lact/"
  cp "$STACK/lact_config.json" "$STACK/lact.safetensors" "$WORK/demo_lact/"
  check demo_lact "$WORK/demo_lact" float32 1e-2 0.995 --lact on
  [ -n "$HALF" ] && check demo_lact "$WORK/demo_lact" $HALF 5e-2 0.99 --lact on
  check demo_lact_streaming "$WORK/demo_lact" float32 1e-2 0.995 --lact on --streaming
fi
if [ $CHECK -eq 1 ]; then
  [ $fail -eq 0 ] && stamp "CUDA matches CPU" || stamp "CUDA DOES NOT MATCH CPU (see above)"
fi

# --- the measurement ------------------------------------------------------------------------
# The random base-sized model (+ 2 LaCT layers) written above; tiny for the CPU dry run.
MODEL=$WORK/base
if [ "$DEVICE" = cpu ]; then
  BATCHES=1; STREAMS=2; SWEEP=""; MODEL=$WORK/tiny
  "$BENCH" --random tiny --save_random_model "$MODEL" > /dev/null 2>&1
elif [ $QUICK -eq 1 ]; then
  BATCHES=1,16,64; STREAMS=200; SWEEP=""
else
  BATCHES=1,8,32,64,128,256; STREAMS=1000; SWEEP="1500 2000"
fi
# A first short run: a crash here is reported with its stack (and under cuda-gdb where present).
smoke=(--random tiny --device "$DEVICE" --batch-sizes 1,4 --audio-seconds 2 --repeats 1 --streams 4 --stream-seconds 3)
stamp "lact_bench smoke: ${smoke[*]}"
if ! timeout 120 "$BENCH" "${smoke[@]}" > "$OUT/smoke.txt" 2>&1; then
  tail -40 "$OUT/smoke.txt" | tee -a "$SUMMARY"
  if command -v cuda-gdb > /dev/null; then
    # After a call through a null pointer the caller's return address is at the stack top.
    timeout 180 cuda-gdb -batch -ex run -ex bt -ex 'x/6gx $sp' -ex 'info symbol *(void**)$sp' \
      -ex 'info symbol *(void**)($sp+8)' -ex 'info symbol *(void**)($sp+16)' -ex "info threads" --args "$BENCH" "${smoke[@]}" > "$OUT/smoke_gdb.txt" 2>&1
    grep -A40 "signal SIGSEGV\|Program received" "$OUT/smoke_gdb.txt" | head -60 | tee -a "$SUMMARY"
  fi
fi
run_bench() {  # run_bench NAME TIMEOUT_S flags...
  local name=$1 limit=$2; shift 2
  stamp "lact_bench $name: $*"
  timeout "$limit" "$BENCH" --model "$MODEL" --device "$DEVICE" "$@" --json "$OUT/$name.json" \
    > "$OUT/$name.txt" 2>&1 || say "lact_bench $name exited $? (see $name.txt)"
  grep -E "^(offline|stream|memory|LaCT state)" "$OUT/$name.txt" >> "$SUMMARY"
}
if [ -n "$ONLY" ]; then
  for entry in $ONLY; do
    run_bench "fp16_s${entry%%:*}_step${entry##*:}" 150 --dtype "${HALF:-float32}" --batch-sizes "" \
      --streams "${entry%%:*}" --step_ms "${entry##*:}" --stream-seconds 20 --max-batch 512
  done
  rm -rf "$WORK"; stamp "done"; exit $fail
fi
run_bench fp16 240 --dtype "${HALF:-float32}" --batch-sizes "$BATCHES" --audio-seconds 10 --repeats 5 \
  --streams "$STREAMS" --stream-seconds 20 --max-batch 256
BF16=bfloat16; [ -z "$HALF" ] && BF16=float32
run_bench bf16_offline 90 --dtype "$BF16" --batch-sizes "$BATCHES" --audio-seconds 10 --repeats 5 --streams 0
run_bench fp32_offline 90 --dtype float32 --batch-sizes 1,32,128 --audio-seconds 10 --repeats 3 --streams 0
for s in $SWEEP; do
  run_bench "fp16_streams$s" 120 --dtype float16 --lact on --batch-sizes "" --streams "$s" \
    --stream-seconds 20 --max-batch 512
done
rm -rf "$WORK"
stamp "done"
exit $fail
