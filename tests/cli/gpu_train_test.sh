#!/usr/bin/env bash
# tools/gpu_train.sh's CPU dry run (issue 20): the same script a GPU host runs, with --device cpu
# and a budget of seconds. Mode lact generates its corpus and trains until --max_minutes stops it:
# exit 0, train_log.tsv has steps, summary.txt a step time and the final dev CER, every file of
# OUT is at most 16 MiB, and the trained folder decodes in lact_transcribe with its LaCT stack.
# Mode encoder with a small PART_SIZE: the big files are split, listed with sha256, and
# `--join` restores a model that loads. `--device cuda` without CUDA fails cleanly (lact_train:
# exit 2 and a message naming CUDA; the script: exit 1), and so does --dtype bfloat16 on the CPU.
set -euo pipefail
B=${LACT_BIN:?}
S=${LACT_SRC:?}
TRAIN=$B/train/lact_train
TRANSCRIBE=$B/core/lact_transcribe
export TORCH_PYTHON=/usr/bin/python3 SKIP_BUILD=1 BUILD_DIR=$B
for tool in espeak-ng sox; do
  command -v $tool > /dev/null || { echo "skip: $tool not installed (the corpus generator needs it)"; exit 77; }
done
[ -x "$TRAIN" ] && [ -x "$TRANSCRIBE" ] || { echo "FAIL: $TRAIN or $TRANSCRIBE not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# every_file_at_most DIR BYTES
every_file_at_most() {
  local big; big=$(find "$1" -type f -size +"$2"c)
  [ -z "$big" ] || fail "files over $2 bytes in $1: $big"
}

# 1. Mode lact, the generator's corpus, a 6 s budget.
start=$(date +%s)
"$S/tools/gpu_train.sh" "$tmp/lact" --device cpu --minutes 0.1 > "$tmp/lact.out" 2>&1 \
  || { cat "$tmp/lact.out"; tail -20 "$tmp/lact/train.log" 2>/dev/null; fail "dry run (mode lact)"; }
echo "ok   mode lact dry run in $(( $(date +%s) - start )) s"
grep -q "max_minutes reached" "$tmp/lact/train.log" || fail "the time budget did not stop training"
steps=$(grep -c $'\ttrain_loss\t' "$tmp/lact/train_log.tsv")
[ "$steps" -ge 1 ] || fail "train_log.tsv has no training row"  # the budget ends after a step
grep -qE "^step time: [0-9.]+ ms/step" "$tmp/lact/summary.txt" || fail "no step time: $(cat "$tmp/lact/summary.txt")"
grep -qE "^final dev at step [0-9]+: CER [0-9.]+%" "$tmp/lact/summary.txt" || fail "no final dev CER"
grep -q "^dev without LaCT: CER" "$tmp/lact/summary.txt" || fail "no baseline dev line"
every_file_at_most "$tmp/lact" 16777216
for f in lact.safetensors lact_config.json model.safetensors language_model/lm.arpa \
         checkpoint/optimizer.pt checkpoint/trainer_state.json; do
  [ -s "$tmp/lact/model/$f" ] || fail "model/$f missing"
done
echo "ok   $steps logged steps, $(grep '^step time' "$tmp/lact/summary.txt" | cut -d' ' -f3-4), files <= 16 MiB"

# A corpus of our own for the next runs (and an utterance to decode).
/usr/bin/python3 "$S/tools/make_synthetic_corpus.py" --out "$tmp/corpus" --splits train,dev \
  --num_utterances train=12,dev=4 --speakers train=3,dev=2 --max_words 6 --jobs 2 --quiet 2> "$tmp/corpus.log" \
  || { cat "$tmp/corpus.log"; fail "corpus"; }
utt=$(find "$tmp/corpus/dev" -name '*.flac' | sort | head -1)
"$TRANSCRIBE" --model "$tmp/lact/model" --lact on "$utt" > /dev/null 2> "$tmp/tl.log" \
  || { cat "$tmp/tl.log"; fail "lact_transcribe --lact on the trained folder"; }
grep -qi "untrained" "$tmp/tl.log" && fail "the trained LaCT stack was not loaded"
echo "ok   the trained folder decodes with its LaCT stack"

# 2. Mode encoder with 4 MB parts: model.safetensors (16 MB) and optimizer.pt are split.
PART_SIZE=4000000 "$S/tools/gpu_train.sh" "$tmp/enc" --device cpu --minutes 0.02 --mode encoder \
  --corpus "$tmp/corpus" > "$tmp/enc.out" 2>&1 || { cat "$tmp/enc.out"; fail "dry run (mode encoder)"; }
every_file_at_most "$tmp/enc" 4000000
[ ! -e "$tmp/enc/model/model.safetensors" ] && [ -e "$tmp/enc/model/model.safetensors.part-000" ] \
  || fail "model.safetensors was not split"
grep -q " model/checkpoint/optimizer.pt$" "$tmp/enc/parts.sha256" || fail "parts.sha256: $(cat "$tmp/enc/parts.sha256")"
"$S/tools/gpu_train.sh" --join "$tmp/enc" > /dev/null || fail "--join"
[ -s "$tmp/enc/model/model.safetensors" ] && [ ! -e "$tmp/enc/parts.sha256" ] || fail "--join left no model"
"$TRANSCRIBE" --model "$tmp/enc/model" "$utt" > /dev/null 2> "$tmp/te.log" \
  || { cat "$tmp/te.log"; fail "lact_transcribe on the joined encoder model"; }
echo "ok   mode encoder: files split into 4 MB parts, --join restores a model that loads"
# A damaged part is caught.
PART_SIZE=4000000 "$S/tools/gpu_train.sh" "$tmp/enc" --device cpu --minutes 0.01 --mode encoder \
  --corpus "$tmp/corpus" > /dev/null 2>&1 || fail "second encoder run"
printf 'x' >> "$tmp/enc/model/model.safetensors.part-000"
if "$S/tools/gpu_train.sh" --join "$tmp/enc" > "$tmp/join.out" 2>&1; then fail "--join accepted a damaged part"; fi
grep -q "sha256" "$tmp/join.out" || fail "--join: $(cat "$tmp/join.out")"
echo "ok   --join refuses a damaged part"

# 3. CUDA asked for on a machine without it: clean errors, no crash.
set +e
"$TRAIN" --config "$S/train/configs/demo.json" --data "$tmp/corpus" --out "$tmp/x" --device cuda \
  > "$tmp/cuda.out" 2>&1
rc=$?
set -e
if grep -q "no CUDA device" "$tmp/cuda.out"; then
  [ $rc -eq 2 ] || fail "lact_train --device cuda: rc $rc (want 2): $(cat "$tmp/cuda.out")"
  grep -q -- "--device" "$tmp/cuda.out" || fail "the message does not name --device"
  set +e
  "$S/tools/gpu_train.sh" "$tmp/cuda" --device cuda --minutes 0.01 --corpus "$tmp/corpus" > "$tmp/cuda2.out" 2>&1
  rc2=$?
  set -e
  [ $rc2 -eq 1 ] && grep -q "TRAINING FAILED" "$tmp/cuda2.out" && grep -q "CUDA" "$tmp/cuda/train.log" \
    || fail "gpu_train.sh --device cuda: rc $rc2: $(tail -3 "$tmp/cuda2.out")"
  echo "ok   --device cuda without CUDA: lact_train exits 2 naming CUDA, the script exits 1"
else
  echo "skip --device cuda check: this LibTorch has CUDA (rc $rc)"
fi
set +e
"$TRAIN" --config "$S/train/configs/demo.json" --data "$tmp/corpus" --out "$tmp/x" --dtype bfloat16 \
  > "$tmp/bf16.out" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "needs a CUDA --device" "$tmp/bf16.out" || fail "--dtype bfloat16 on the CPU: rc $rc $(cat "$tmp/bf16.out")"
echo "ok   --dtype bfloat16 on the CPU is refused"
