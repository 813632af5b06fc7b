#!/usr/bin/env bash
# lact_train end to end on a tiny corpus (espeak-ng, tools/make_synthetic_corpus.py) and a tiny
# config: the loss goes down, the model folder loads and decodes in lact_transcribe, a run
# stopped and resumed gives byte-identical weights to an uninterrupted one (determinism + exact
# resume), LaCT mode trains a stack the tools load, and bad input gives clear errors.
set -euo pipefail
TRAIN=${LACT_BIN:?}/train/lact_train
TRANSCRIBE=${LACT_BIN:?}/core/lact_transcribe
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$PY" "${LACT_SRC:?}/tools/make_synthetic_corpus.py" --out "$tmp/corpus" --splits train,dev \
  --num_utterances train=12,dev=4 --speakers train=3,dev=2 --max_words 6 --jobs 2 --quiet 2> "$tmp/corpus.log" || { cat "$tmp/corpus.log"; fail "corpus"; }

cat > "$tmp/tiny.json" <<'JSON'
{"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2",
 "conv_dim": [16, 32, 32, 32], "conv_kernel": [10, 8, 4, 4], "conv_stride": [5, 4, 4, 4],
 "conv_bias": true, "feat_extract_norm": "layer", "hidden_size": 32, "num_hidden_layers": 2,
 "num_attention_heads": 2, "intermediate_size": 64, "num_conv_pos_embeddings": 16,
 "num_conv_pos_embedding_groups": 4, "do_stable_layer_norm": true, "vocab_size": 32}
JSON
common=(--config "$tmp/tiny.json" --data "$tmp/corpus" --max_steps 40 --warmup_steps 5 --lr 3e-3
        --dropout 0 --batch_seconds 20 --log_every 5 --eval_every 20 --checkpoint_every 0
        --seed 3 --threads 1 --loader_threads 2)

# 1. A full run: the loss goes down, dev CER is reported, the folder is complete.
"$TRAIN" "${common[@]}" --out "$tmp/a" 2> "$tmp/a.log" || { cat "$tmp/a.log"; fail "training run"; }
grep -q "dev at step 40: CER" "$tmp/a.log" || fail "no dev CER line"
for f in config.json model.safetensors vocab.json preprocessor_config.json train_log.tsv checkpoint/optimizer.pt; do
  [[ -s "$tmp/a/$f" ]] || fail "missing $f"
done
"$PY" - "$tmp/a/train_log.tsv" <<'PY'
import sys
rows = [l.split("\t") for l in open(sys.argv[1]) if "\ttrain_loss\t" in l]
losses = [float(r[2]) for r in rows]
assert len(losses) == 8, losses
assert losses[-1] < 0.8 * losses[0], f"loss did not go down: {losses}"
print(f"ok   loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)*5} steps")
PY

# 2. The trained folder loads and decodes in the inference tools.
utt=$(find "$tmp/corpus/train" -name '*.flac' | sort | head -1)
"$TRANSCRIBE" --model "$tmp/a" "$utt" > "$tmp/hyp.txt" 2> "$tmp/tr.log" || { cat "$tmp/tr.log"; fail "lact_transcribe on the trained model"; }
echo "ok   lact_transcribe decodes with the trained model: $(head -c 80 "$tmp/hyp.txt")"

# 3. Stop at step 20 and resume: byte-identical to the uninterrupted run.
"$TRAIN" "${common[@]}" --out "$tmp/b" --stop_at_step 20 2> "$tmp/b1.log" || { cat "$tmp/b1.log"; fail "stopped run"; }
grep -q "stopped at step 20" "$tmp/b1.log" || fail "no stop message"
[[ ! -e "$tmp/b/model.safetensors" ]] || fail "a stopped run must not write the final model"
"$TRAIN" "${common[@]}" --out "$tmp/b" --resume 2> "$tmp/b2.log" || { cat "$tmp/b2.log"; fail "resumed run"; }
grep -q "resumed from .* at step 20" "$tmp/b2.log" || fail "did not resume"
cmp "$tmp/a/model.safetensors" "$tmp/b/model.safetensors" || fail "resumed run differs from the uninterrupted one"
echo "ok   stop at 20 + resume == uninterrupted run (byte-identical weights)"

# 4. LaCT mode on the trained model: only lact_config.json + lact.safetensors are new.
cat > "$tmp/lact.json" <<'JSON'
{"num_lact_layers": 1, "hidden_size": 32, "num_lact_heads": 2, "chunk_size": 16}
JSON
"$TRAIN" --mode lact --base_model "$tmp/a" --lact_config "$tmp/lact.json" --data "$tmp/corpus" \
  --utterances_per_example 3 --max_steps 6 --warmup_steps 2 --lr 1e-2 --batch_seconds 40 \
  --max_seconds 40 --log_every 2 --eval_every 0 --threads 1 --out "$tmp/l" 2> "$tmp/l.log" \
  || { cat "$tmp/l.log"; fail "lact mode"; }
grep -q "dev without LaCT: CER" "$tmp/l.log" || fail "no baseline line in lact mode"
cmp "$tmp/a/model.safetensors" "$tmp/l/model.safetensors" || fail "lact mode changed the encoder"
[[ -s "$tmp/l/lact.safetensors" && -s "$tmp/l/lact_config.json" ]] || fail "no LaCT files"
"$TRANSCRIBE" --model "$tmp/l" --lact on "$utt" > /dev/null 2> "$tmp/tl.log" || { cat "$tmp/tl.log"; fail "lact_transcribe --lact on"; }
grep -qi "untrained" "$tmp/tl.log" && fail "the trained LaCT stack was not loaded"
echo "ok   lact mode trains a stack lact_transcribe loads"

# 5. Bad input.
set +e
"$TRAIN" --out "$tmp/x" > /dev/null 2> "$tmp/e1"; rc1=$?
"$TRAIN" --config "$tmp/tiny.json" --data "$tmp/nonexistent" --out "$tmp/x" > /dev/null 2> "$tmp/e2"; rc2=$?
"$TRAIN" --mode nope --config "$tmp/tiny.json" --data "$tmp/corpus" --out "$tmp/x" > /dev/null 2> "$tmp/e3"; rc3=$?
set -e
[[ $rc1 == 2 ]] && grep -q -- "--data" "$tmp/e1" || fail "missing --data: rc $rc1 $(cat "$tmp/e1")"
[[ $rc2 == 1 ]] && grep -q "nonexistent" "$tmp/e2" || fail "missing corpus: rc $rc2 $(cat "$tmp/e2")"
[[ $rc3 == 2 ]] && grep -q "encoder, lact or top_layers" "$tmp/e3" || fail "bad mode: rc $rc3"
"$TRAIN" --help > "$tmp/help" 2>&1 || true
grep -q -- "--utterances_per_example" "$tmp/help" || fail "--help: $(head -5 "$tmp/help")"
echo "ok   bad input and --help"
