#!/usr/bin/env bash
# Issue 23's end-to-end measurement on one GPU in one command (docs/gpu.md, "The whole server"):
# builds lact_server, lact_eval_client and lact_bench against the CUDA PyTorch of this host, then
#   1. streams through gRPC (tools/streams_held.sh): lact_server on a random wav2vec2-base model
#      with a 2-layer LaCT stack and models/demo's LM (LM beam search), LaCT on, step 640 ms, driven
#      by lact_eval_client --simulate_realtime with each count of parallel streams. Held = p95
#      interim latency <= 250 ms and every final within 2 steps of its audio's end. Per count also
#      the server's peak threads, CPU, context switches per stream, model-thread idle share and
#      reserved GPU memory; nvidia-smi samples GPU use and memory through the sweep;
#   1b. offline through gRPC (tools/recognize_rtfx.sh): 512 manifest items as Recognize calls,
#      256 at a time, LaCT on, in the long Recognize windows (64 clips to a model call) and in the
#      streaming window (--recognize_step_ms=0): RTFX, call latency, server CPU per audio second;
#   2. offline RTFX of the same model by batch size in float16 and bfloat16, LaCT on and off
#      (lact_bench --lact both);
#   3. a profile of one streaming step by part (lact_bench --profile_steps), the operators of a
#      step of 64 streams by time (each synchronised) and the operators dispatched per stream
#      (--profile_ops), and where Nsight Systems is installed, the CUDA kernels of an offline
#      batch by total time (nsys);
#   4. the first precision's offline sweep again with cuDNN's convolution algorithms timed per
#      shape (lact_bench --cudnn_benchmark) instead of its heuristic's choice.
# Before 1: the fused attention kernel checked against the explicit ops on the device in the first
# precision (lact_bench --check_attention, a padded batch through the encoder); after 3: offline
# batch sizes 64 and 256 again with --nofused_attention (LaCT off), the fused kernel's A/B.
# Random weights time the same work as trained ones; the random model's CTC head is drawn
# "speech-like" (lact_bench --random_posteriors, the default: few tokens near the best, often the
# blank), so the LM beam search does the work of speech, not of uniform noise (4-8x more).
#
#   tools/gpu_server_bench.sh OUT_DIR [--deps DIR|FILE.tar.xz] [--streams "250 500 1000 1500"]
#                             [--seconds S] [--server-flags "..."] [--quick] [--build-only]
#                             [--budget-s S]
#
#   --deps          tools/stage_offline_deps.sh --for-server output (a folder, or it packed with
#                   `tar -cJf deps.tar.xz -C PARENT FOLDER`: ~11 MB instead of ~48 MB)
#   --streams       the stream counts, ascending (default "250 500 1000 1500")
#   --seconds S     audio per stream (default 12; 8 generated files, repeated)
#   --server-flags  more lact_server flags (default: --max_batch 512)
#   --quick         counts "250 1000", batch sizes 1,64,256, one precision
#   --build-only    build and stop (a device call of its own: a later call with SKIP_BUILD=1 finds
#                   the build folder again on the same warm machine)
#   --budget-s S    the measurement's wall-clock budget (default 540): each stage's timeout is cut
#                   so the whole run ends within it (one device call may run 600 s)
# Env: TORCH_PYTHON (python with CUDA torch, default python3), BUILD_DIR (default
# build-cuda-server), JOBS, SKIP_BUILD, LACT_COMMIT (the commit measured, for the summary).
# A dry run on a CPU machine (tiny model, 1 and 2 streams, 4 s):
#   SKIP_BUILD=1 BUILD_DIR=build DEVICE=cpu tools/gpu_server_bench.sh OUT
# OUT gets at most 8 files: summary.md, held.csv, offline_float16.json, offline_bfloat16.json,
# offline_float16_cudnn_benchmark.json, profile.txt, host.txt and logs.tar.gz (build, server and
# client logs, GPU samples, the attention check and the A/B's JSON).
set -uo pipefail
usage() { sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
OUT=$1; shift
DEPS=""; COUNTS="250 500 1000 1500"; SECONDS_PER=12; SERVER_FLAGS="--max_batch 512"; QUICK=0
BUILD_ONLY=0; BUDGET=540
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) DEPS=$(realpath "$2") || exit 2; shift 2 ;;
    --streams) COUNTS=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --server-flags) SERVER_FLAGS=$2; shift 2 ;;
    --quick) QUICK=1; COUNTS="250 1000"; shift ;;
    --build-only) BUILD_ONLY=1; shift ;;
    --budget-s) BUDGET=$2; shift 2 ;;
    *) echo "gpu_server_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
bad() { echo "gpu_server_bench: $*" >&2; exit 2; }
for n in $COUNTS; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || bad "bad stream count '$n' in --streams"; done
[ -n "${COUNTS// /}" ] || bad "--streams names no count"
[[ "$SECONDS_PER" =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "${SECONDS_PER//[.0]/}" != "" ] || bad "bad --seconds '$SECONDS_PER'"
[[ "$BUDGET" =~ ^[1-9][0-9]*$ ]] || bad "bad --budget-s '$BUDGET' (whole seconds)"
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=${TORCH_PYTHON:-python3}
BUILD=${BUILD_DIR:-build-cuda-server}
DEVICE=${DEVICE:-cuda}
COMMIT=${LACT_COMMIT:-$(git -C "$SRC" rev-parse --short HEAD 2> /dev/null || echo unknown)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d); LOGS=$WORK/logs; mkdir -p "$LOGS"
trap 'tar -czf "$OUT/logs.tar.gz" -C "$WORK" logs 2> /dev/null; rm -rf "$WORK"' EXIT
SUMMARY=$OUT/summary.md
echo "# lact-asr end-to-end GPU measurement (commit $COMMIT, $(date -u +%F))" > "$SUMMARY"
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$SUMMARY"; }
# limit CAP RESERVE: a stage's timeout, at most CAP s and leaving RESERVE s of the budget for later.
limit() { local left=$(( BUDGET - ($(date +%s) - t0) - $2 )); [ "$left" -lt "$1" ] || left=$1; echo $(( left > 5 ? left : 5 )); }
if [ -n "$DEPS" ] && [ -f "$DEPS" ]; then  # a packed folder
  mkdir -p "$WORK/deps" && tar -xJf "$DEPS" -C "$WORK/deps" || { stamp "cannot unpack $DEPS"; exit 1; }
  DEPS=$(find "$WORK/deps" -mindepth 1 -maxdepth 1 -type d | head -1)
fi

{
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
} > "$OUT/host.txt" 2>&1

source "$SRC/tools/gpu_build_lib.sh"
CUDA=1; [ "$DEVICE" = cpu ] && CUDA=0
[ -n "${SKIP_BUILD:-}" ] && stamp "SKIP_BUILD: using $BUILD as it is" || stamp "configure + build"
# A target that fails to compile does not stop the others (ninja -k 0): whatever built is measured.
if ! gpu_build "$SRC" "$BUILD" "$LOGS/build.log" $CUDA ON lact_server lact_eval_client lact_bench \
    > "$LOGS/build_errors.txt"; then
  stamp "BUILD FAILED for some targets (logs.tar.gz: logs/build.log); its first errors:"
  { echo '```'; head -8 "$LOGS/build_errors.txt"; echo '```'; } >> "$SUMMARY"
fi
[ -d "$BUILD" ] || { stamp "no build folder $BUILD"; exit 1; }
BUILD=$(cd "$BUILD" && pwd)
[ -x "$BUILD/core/lact_bench" ] || { stamp "no $BUILD/core/lact_bench: nothing to measure"; exit 1; }
SERVED=1
for b in server/lact_server client/lact_eval_client; do
  [ -x "$BUILD/$b" ] || { SERVED=0; stamp "no $BUILD/$b (gRPC, protobuf or prometheus-cpp missing? --deps): no stream sweep"; }
done
stamp "built"
[ $BUILD_ONLY -eq 1 ] && exit 0

# The model: random base-sized weights + 2 LaCT layers (tiny for the CPU dry run), the demo LM.
SIZE=base; [ "$DEVICE" = cpu ] && SIZE=tiny && COUNTS="1 2" && SECONDS_PER=4
MODEL=$WORK/model
"$BUILD/core/lact_bench" --random $SIZE --lact_layers 2 --save_random_model "$MODEL" > "$LOGS/model.log" 2>&1 \
  || { stamp "cannot write the random model"; exit 1; }
cp -r "$SRC/models/demo/language_model" "$MODEL/"
BATCHES=1,16,64,128,256; DTYPES="float16 bfloat16"
[ $QUICK -eq 1 ] && BATCHES=1,64,256 && DTYPES=float16
[ "$DEVICE" = cpu ] && BATCHES=1,2 && DTYPES=float32
# 0. Fused attention vs the explicit ops on this device (a wrong mask or scale shows here).
stamp "attention check, ${DTYPES%% *}"
timeout "$(limit 40 300)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype "${DTYPES%% *}" \
  --lact off --batch_sizes "" --streams 0 --check_attention > "$LOGS/attention_check.txt" 2>&1
rc=$?
{ echo '```'; grep -E "^(attention|device)" "$LOGS/attention_check.txt"; echo '```'; } >> "$SUMMARY"
# A fused kernel that disagrees (exit 1) must not serve the sweep: the rest runs the explicit ops.
ATTENTION=""
if [ $rc -eq 1 ]; then
  ATTENTION=--nofused_attention; SERVER_FLAGS="$SERVER_FLAGS $ATTENTION"
  stamp "ATTENTION CHECK FAILED: everything below runs with --nofused_attention (logs/attention_check.txt)"
elif [ $rc -ne 0 ]; then
  stamp "attention check exited $rc (logs/attention_check.txt)"
fi
# The audio: 8 files of tones with a wandering pitch in noise, a manifest naming them in turn.
max=0; for n in $COUNTS; do [ "$n" -gt "$max" ] && max=$n; done
"$PY" - "$WORK" "$SECONDS_PER" "$max" <<'PY' || { stamp "cannot write the audio"; exit 1; }
import math, random, struct, sys, wave
work, seconds, lines = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rate = 16000
for k in range(8):
    rnd = random.Random(k)
    x = [0.3 * math.sin(2 * math.pi * (120 + 20 * k + 80 * math.sin(i / rate * (1 + k / 4))) * i / rate)
         + rnd.gauss(0, 0.05) for i in range(int(seconds * rate))]
    with wave.open(f"{work}/a{k}.wav", "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, v)) * 32767)) for v in x))
with open(f"{work}/manifest.tsv", "w") as f:
    for i in range(lines):
        f.write(f"{work}/a{i % 8}.wav\tTONES IN NOISE\n")
PY

# 1. Streams through gRPC.
stamp "streams through gRPC: $COUNTS (step 640 ms, LaCT on, LM beam search, $SECONDS_PER s each)"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used \
  --format=csv,noheader -lms 500 > "$LOGS/gpu_samples.csv" 2>&1 &
smi=$!
# shellcheck disable=SC2086
[ $SERVED -eq 1 ] && { STEP_MS=640 INTERIM_MS=250 ROUNDS=1 timeout "$(limit 360 150)" "$SRC/tools/streams_held.sh" \
  "$BUILD" "$MODEL" "$WORK/manifest.tsv" . "$LOGS/held" $COUNTS -- --device "$DEVICE" --step_ms 640 --lact on \
  $SERVER_FLAGS > "$LOGS/held.log" 2>&1 || stamp "streams_held exited $? (logs/held.log)"; }
# Without a server build: the model-only loop at the same counts (lact_bench --streams: the
# scheduler's policy and the real recognizer, no gRPC, no LM), so the run still says something.
if [ $SERVED -eq 0 ]; then
  for n in $COUNTS; do
    stamp "no server: lact_bench --streams $n (model only)"
    timeout "$(limit 60 150)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype "${DTYPES%% *}" \
      --lact on --batch_sizes "" --streams "$n" --stream_seconds "$SECONDS_PER" --step_ms 640 --max_batch 512 \
      $ATTENTION > "$LOGS/model_streams_$n.txt" 2>&1 || stamp "lact_bench exited $? (logs/model_streams_$n.txt)"
    { echo '```'; grep -E "^(stream |memory)" "$LOGS/model_streams_$n.txt"; echo '```'; } >> "$SUMMARY"
  done
fi
kill "$smi" 2> /dev/null
cp "$LOGS/held/held.csv" "$OUT/held.csv" 2> /dev/null
{ echo; echo "## Streams through gRPC"; echo; cat "$LOGS/held/held.md" 2> /dev/null; echo; } >> "$SUMMARY"
# 1b. Offline through gRPC: Recognize calls in the long windows and in the streaming window.
if [ $SERVED -eq 1 ]; then
  RPAR=256; RBATCH=64; [ "$DEVICE" = cpu ] && RPAR=2 && RBATCH=2
  stamp "Recognize through gRPC: $((RPAR * 2)) calls, $RPAR at a time, long windows (batch $RBATCH) vs streaming window"
  # shellcheck disable=SC2086
  CLIENT_FLAGS="--lact on" LIMIT=$((RPAR * 2)) timeout "$(limit 90 150)" "$SRC/tools/recognize_rtfx.sh" \
    "$BUILD" "$MODEL" "$WORK/manifest.tsv" . "$LOGS/recognize" $RPAR long=--recognize_max_batch=$RBATCH \
    stream=--recognize_step_ms=0 -- --device "$DEVICE" --max_streams $((RPAR + 8)) $SERVER_FLAGS \
    > "$LOGS/recognize.log" 2>&1 || stamp "recognize_rtfx exited $? (logs/recognize.log)"
  { echo "## Recognize through gRPC"; echo; cat "$LOGS/recognize/rtfx.md" 2> /dev/null; echo; } >> "$SUMMARY"
fi

# 2. Offline RTFX, LaCT on and off; 3. the streaming step by part.
for dt in $DTYPES; do
  stamp "offline RTFX $dt, batch sizes $BATCHES, LaCT off and on"
  timeout "$(limit 120 50)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype $dt --lact both \
    --batch_sizes $BATCHES --audio_seconds 10 --repeats 3 --streams 0 $ATTENTION --json "$OUT/offline_$dt.json" \
    > "$LOGS/offline_$dt.txt" 2>&1 || stamp "lact_bench exited $? (logs/offline_$dt.txt)"
  { echo '```'; grep -E "^(device|offline|LaCT|memory)" "$LOGS/offline_$dt.txt"; echo '```'; } >> "$SUMMARY"
done
PROFILE_BATCH=64; [ "$DEVICE" = cpu ] && PROFILE_BATCH=3
stamp "profile of a streaming step, and of its operators at $PROFILE_BATCH streams"
timeout "$(limit 90 5)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype "${DTYPES%% *}" \
  --lact on --batch_sizes "" --streams 0 --step_ms 640 --profile_steps 20 $ATTENTION \
  --profile_ops 3 --profile_batch $PROFILE_BATCH > "$OUT/profile.txt" 2>&1 || stamp "profile exited $?"
{ echo '```'; grep '^profile' "$OUT/profile.txt"; grep '^ops' "$OUT/profile.txt" | head -22; echo '```'; } >> "$SUMMARY"
# The fused attention kernel's A/B: the same sweep with the explicit ops (LaCT off: the encoder).
dt=${DTYPES%% *}
AB_BATCHES=64,256; [ "$DEVICE" = cpu ] && AB_BATCHES=1,2
stamp "offline RTFX $dt with --nofused_attention, LaCT off, batch sizes $AB_BATCHES"
timeout "$(limit 60 10)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype $dt --lact off \
  --batch_sizes $AB_BATCHES --audio_seconds 10 --repeats 3 --streams 0 --nofused_attention \
  --json "$LOGS/offline_${dt}_explicit_attention.json" > "$LOGS/offline_${dt}_explicit.txt" 2>&1 \
  || stamp "lact_bench exited $? (logs/offline_${dt}_explicit.txt)"
{ echo '```'; grep -E "^(offline|device)" "$LOGS/offline_${dt}_explicit.txt"; echo '```'; } >> "$SUMMARY"
# Where Nsight Systems is installed: the GPU kernels of an offline batch of 64, by total time.
if command -v nsys > /dev/null && [ "$DEVICE" != cpu ]; then
  stamp "nsys: kernels of an offline batch of 64"
  { echo; echo "== nsys: CUDA kernels, offline batch 64, ${DTYPES%% *}, LaCT on"; } >> "$OUT/profile.txt"
  timeout "$(limit 90 5)" nsys profile -o "$WORK/nsys" --force-overwrite true --stats=false \
    "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype "${DTYPES%% *}" --lact on \
    --batch_sizes 64 --audio_seconds 10 --repeats 2 --streams 0 $ATTENTION > "$LOGS/nsys.log" 2>&1 &&
    nsys stats --report cuda_gpu_kern_sum --format csv "$WORK/nsys.nsys-rep" 2>> "$LOGS/nsys.log" |
    head -40 >> "$OUT/profile.txt" || stamp "nsys exited $? (logs/nsys.log)"
fi
# 4. cuDNN's algorithms timed per shape (the offline warm-up of each batch size absorbs the search).
dt=${DTYPES%% *}
stamp "offline RTFX $dt with --cudnn_benchmark"
timeout "$(limit 90 0)" "$BUILD/core/lact_bench" --model "$MODEL" --device "$DEVICE" --dtype $dt --lact both \
  --batch_sizes $BATCHES --audio_seconds 10 --repeats 3 --streams 0 --cudnn_benchmark $ATTENTION \
  --json "$OUT/offline_${dt}_cudnn_benchmark.json" > "$LOGS/offline_${dt}_cudnn.txt" 2>&1 \
  || stamp "lact_bench exited $? (logs/offline_${dt}_cudnn.txt)"
{ echo '```'; grep -E "^(offline|device)" "$LOGS/offline_${dt}_cudnn.txt"; echo '```'; } >> "$SUMMARY"
stamp "done"
