#!/usr/bin/env bash
# Issue 20's GPU training run in one command (docs/training.md, "GPU training"): builds
# lact_train + lact_transcribe against the CUDA PyTorch of this host, generates a synthetic corpus
# here, trains for --minutes on the GPU, evaluates dev and writes everything into OUT_DIR
# (summary.txt, train_log.tsv, train.log, the trained model folder in model/). Meant for a host
# with no network and at most 64 MiB of files sent to it, done in under 10 minutes.
#
#   tools/gpu_train.sh OUT_DIR [--deps DIR] [--device cuda|cuda:N|cpu] [--minutes M]
#                      [--mode lact|encoder] [--dtype float32|bfloat16|float16]
#                      [--utterances N] [--corpus DIR]
#   tools/gpu_train.sh --join OUT_DIR       # after the transfer: rejoin split files, check sha256
#
#   --deps DIR      a folder made by `tools/stage_offline_deps.sh --for-training DIR`: the
#                   libraries to build with, and espeak-ng, sox, flac and the Jane Austen text to
#                   generate the corpus with (the host has none of them)
#   --device        default cuda; cpu is the dry run (tests/cli/gpu_train_test.sh)
#   --minutes M     training wall time (default 3); lact_train --max_minutes stops, evaluates dev
#                   and saves
#   --mode          lact (default): models/demo frozen, train/configs/demo_lact.json trained on
#                   8-utterance examples; encoder: train/configs/demo.json from scratch
#   --dtype         the encoder's autocast on CUDA (default bfloat16; float32 on the CPU)
#   --utterances N  training utterances to generate (default 1200; the dry run 16)
#   --corpus DIR    use this LibriSpeech-layout corpus (train/, dev/) instead of generating one
# Env: TORCH_PYTHON (a python whose torch has CUDA; default python3), BUILD_DIR (default
# build-cuda), JOBS (default nproc), SKIP_BUILD=1 (use BUILD_DIR as it is), PART_SIZE (bytes,
# default 16 MiB). A dry run on a CPU machine:
#   SKIP_BUILD=1 BUILD_DIR=build tools/gpu_train.sh /tmp/dry --device cpu --minutes 0.1
#
# Data: generated on the host, because a corpus large enough for minutes of GPU training does not
# fit the 64 MiB sent (about 17 kB per second of this 16 kHz FLAC: 1200 utterances are ~150 MB),
# while the tools do (espeak-ng with its English data, sox, flac, their libraries: ~7 MB staged).
# The dry run runs the same generator with this machine's tools (or the staged ones with --deps).
# Results: every file over PART_SIZE in OUT_DIR (in mode encoder: checkpoint/optimizer.pt,
# 32 MB) is split into NAME.part-000, -001, ... and listed with its sha256 in
# OUT_DIR/parts.sha256; `tools/gpu_train.sh --join OUT_DIR` puts them back and checks them.
set -uo pipefail
usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac

join_parts() {  # join_parts OUT_DIR: NAME.part-* -> NAME, checked against parts.sha256
  local out=$1 sum name
  [ -f "$out/parts.sha256" ] || { echo "gpu_train: $out has no parts.sha256 (nothing was split)"; return 0; }
  while read -r sum name; do cat "$out/$name".part-* > "$out/$name" || return 1; done < "$out/parts.sha256"
  if ! (cd "$out" && sha256sum --quiet -c parts.sha256); then
    echo "gpu_train: sha256 mismatch: parts damaged or missing (the parts are kept)" >&2; return 1
  fi
  while read -r sum name; do rm -f "$out/$name".part-*; done < "$out/parts.sha256"
  rm "$out/parts.sha256"
  echo "gpu_train: joined and checked the split files of $out"
}
if [ "$1" = "--join" ]; then
  [ $# -eq 2 ] || { usage; exit 2; }
  join_parts "$2"; exit $?
fi

OUT=$1; shift
DEPS=""; DEVICE=cuda; MINUTES=3; MODE=lact; DTYPE=""; UTTS=""; CORPUS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) DEPS=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --dtype) DTYPE=$2; shift 2 ;;
    --utterances) UTTS=$2; shift 2 ;;
    --corpus) CORPUS=$(cd "$2" && pwd) || exit 2; shift 2 ;;
    *) echo "gpu_train: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$MODE" in lact|encoder) ;; *) echo "gpu_train: --mode must be lact or encoder" >&2; exit 2 ;; esac
CPU=0; [ "$DEVICE" = cpu ] && CPU=1
[ -n "$DTYPE" ] || { DTYPE=bfloat16; [ $CPU -eq 1 ] && DTYPE=float32; }
[ -n "$UTTS" ] || { UTTS=1200; [ $CPU -eq 1 ] && UTTS=16; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=${TORCH_PYTHON:-python3}
BUILD=${BUILD_DIR:-build-cuda}
PART=${PART_SIZE:-16777216}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2
rm -rf "$OUT/model" "$OUT/parts.sha256"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
t0=$(date +%s)
stamp() { say "[$(( $(date +%s) - t0 )) s] $*"; }

# --- the host -------------------------------------------------------------------------------
{
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1
  echo "cpu: $(nproc) cores"
} > "$OUT/host.txt" 2>&1
cat "$OUT/host.txt" >> "$SUMMARY"

# --- build (tools/gpu_build_lib.sh, as tools/gpu_bench.sh) -------------------------------------
source "$SRC/tools/gpu_build_lib.sh"
[ -n "${SKIP_BUILD:-}" ] && stamp "SKIP_BUILD: using $BUILD as it is" || stamp "configure + build"
gpu_build "$SRC" "$BUILD" "$OUT/build.log" $(( 1 - CPU )) OFF lact_train lact_transcribe \
  || { stamp "BUILD FAILED (build.log)"; exit 1; }
TRAIN=$BUILD/train/lact_train
TRANSCRIBE=$BUILD/core/lact_transcribe
[ -x "$TRAIN" ] && [ -x "$TRANSCRIBE" ] || { stamp "no $TRAIN or $TRANSCRIBE"; exit 1; }
stamp "built"

# --- data -----------------------------------------------------------------------------------
if [ -z "$CORPUS" ]; then
  CORPUS=$WORK/corpus
  GEN=()
  if [ -n "$DEPS" ] && [ -d "$DEPS/corpus-tools" ]; then  # staged: espeak-ng, sox, flac, text
    CT=$DEPS/corpus-tools
    export PATH=$CT/bin:$PATH ESPEAK_DATA_PATH=$DEPLIB LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$DEPLIB/pulseaudio
    GEN=(--janeaustenr_dir "$CT/janeaustenr")
  fi
  if ! command -v espeak-ng > /dev/null || ! command -v sox > /dev/null; then
    stamp "no espeak-ng or sox here: pass --deps from tools/stage_offline_deps.sh --for-training, or --corpus"
    exit 1
  fi
  DEV=$(( UTTS / 20 > 4 ? UTTS / 20 : 4 ))
  stamp "corpus: $UTTS train + $DEV dev utterances ($(command -v espeak-ng), $(command -v sox))"
  if ! "$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$CORPUS" --splits train,dev \
      --num_utterances "train=$UTTS,dev=$DEV" --speakers "train=$(( UTTS / 8 > 2 ? UTTS / 8 : 2 )),dev=2" \
      --jobs "${JOBS:-$(nproc)}" --quiet "${GEN[@]}" > "$OUT/corpus.log" 2>&1; then
    tail -20 "$OUT/corpus.log"; stamp "CORPUS FAILED (corpus.log)"; exit 1
  fi
fi
stamp "corpus ready: $(du -sh "$CORPUS" | cut -f1)"

# --- train ----------------------------------------------------------------------------------
MODEL=$OUT/model
ARGS=(--data "$CORPUS" --device "$DEVICE" --dtype "$DTYPE" --max_minutes "$MINUTES"
      --max_steps 100000 --eval_every 0 --checkpoint_every 0 --log_every 20 --seed 0
      --loader_threads 4 --dev_limit 40 --out "$MODEL")
if [ "$MODE" = lact ]; then
  ARGS+=(--mode lact --base_model "$SRC/models/demo" --lact_config "$SRC/train/configs/demo_lact.json"
         --utterances_per_example 8 --max_seconds 120 --batch_seconds 240 --warmup_steps 50 --lr 1e-3)
else
  ARGS+=(--config "$SRC/train/configs/demo.json" --sortagrad --batch_seconds 320 --warmup_steps 300
         --lr 1.5e-3 --dropout 0.1)
fi
if [ $CPU -eq 1 ]; then  # the dry run: small batches, frequent log lines, one thread
  ARGS+=(--threads 1 --log_every 1 --warmup_steps 2 --batch_seconds 30 --max_seconds 30
         --utterances_per_example 2)
  [ "$MODE" = encoder ] && ARGS+=(--batch_seconds 10 --max_seconds 10 --utterances_per_example 1)
fi
stamp "lact_train ${ARGS[*]}"
if ! "$TRAIN" "${ARGS[@]}" 2> "$OUT/train.log"; then
  tail -20 "$OUT/train.log"; stamp "TRAINING FAILED (train.log)"; exit 1
fi
cp "$MODEL/train_log.tsv" "$OUT/train_log.tsv"
stamp "trained"

# --- summary --------------------------------------------------------------------------------
grep -E "^(model:|train:|dev:|dev without LaCT|dev at step|wrote )" "$OUT/train.log" >> "$SUMMARY"
"$PY" - "$OUT/train_log.tsv" "$DEVICE" "$DTYPE" "$MODE" >> "$SUMMARY" <<'PY'
import sys
path, device, dtype, mode = sys.argv[1:5]
rows = [l.rstrip("\n").split("\t") for l in open(path)]
train = [(int(r[0]), float(r[4])) for r in rows if len(r) >= 5 and r[1] == "train_loss"]
dev = [r for r in rows if len(r) >= 5 and r[1] == "dev"]
if len(train) >= 3:  # the first logged interval holds the start-up (CUDA context, allocator)
    (s0, t0), (s1, t1) = train[1], train[-1]
    print(f"step time: {1e3 * (t1 - t0) / max(1, s1 - s0):.1f} ms/step over steps {s0}-{s1} "
          f"({mode}, {device}, encoder {dtype}); first {train[0][0]} steps {train[0][1]:.1f} s")
elif train:
    s, t = train[-1]
    print(f"step time: {1e3 * t / max(1, s):.1f} ms/step over steps 1-{s} (start-up included; "
          f"{mode}, {device}, encoder {dtype})")
else:
    print("step time: no training rows")
if dev:
    step, _, loss, cer, wer = dev[-1][:5]
    print(f"final dev at step {step}: CER {100 * float(cer):.2f}% WER {100 * float(wer):.2f}% loss {float(loss):.4f}")
PY

# --- files of at most PART_SIZE -------------------------------------------------------------
(cd "$OUT" && find . -type f -size +"${PART}"c | sed 's|^\./||' | sort) > "$WORK/big"
while read -r name; do
  [ -n "$name" ] || continue
  (cd "$OUT" && sha256sum "$name") >> "$OUT/parts.sha256"
  split -b "$PART" -d -a 3 "$OUT/$name" "$OUT/$name.part-" && rm "$OUT/$name"
  say "split $name into $(ls "$OUT/$name".part-* | wc -l) parts (tools/gpu_train.sh --join OUT restores it)"
done < "$WORK/big"
stamp "done: $(du -sh "$OUT" | cut -f1) in $OUT, largest file $(find "$OUT" -type f -printf '%s\n' | sort -n | tail -1) bytes"
