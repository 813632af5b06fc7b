#!/usr/bin/env bash
# The LaCT study's decoder (lact_study_eval, train/study_eval.h) against the streaming path users
# run: on a generated long-form chapter and a LaCT stack with random non-zero weights (so LaCT
# changes the words), the words and times it decodes from cached encoder states equal those of
# lact_transcribe --format json on the chapter's audio, for every setting of the study: LaCT on
# (stream and utterance scope), off, without updates, LM beam search and greedy, and a jointly
# trained model decoded from its frozen model's cached windows (--frozen_model). Then the study
# report (tools/lact_study_report.py) over those runs agrees with lact_study_eval's own scores.
# The study decodes float32 encoder states (its cache), so lact_transcribe runs --dtype float32.
set -euo pipefail
EVAL=${LACT_BIN:?}/train/lact_study_eval
TRANSCRIBE=${LACT_BIN:?}/core/lact_transcribe
SRC=${LACT_SRC:?}
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v espeak-ng > /dev/null && command -v sox > /dev/null || { echo "SKIP: espeak-ng/sox"; exit 77; }

"$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$tmp/data" --long_form --splits test \
  --chapters test=2 --speakers test=2 --chapter_minutes 0.6 --seed 7 --jobs 2 --quiet \
  2> "$tmp/corpus.log" || { cat "$tmp/corpus.log"; fail "corpus"; }

# The demo model with a random LaCT stack (chunk 64 frames: ~30 updates per chapter), and the same
# stack with a chunk longer than any stream (never updated), as lact_transcribe must be given it.
mkdir -p "$tmp/model" "$tmp/frozen"
for f in config.json model.safetensors vocab.json preprocessor_config.json language_model; do
  ln -s "$SRC/models/demo/$f" "$tmp/model/$f"; ln -s "$SRC/models/demo/$f" "$tmp/frozen/$f"
done
"$PY" - "$SRC/tests/reference" "$tmp" <<'PY'
import json, sys, numpy as np
sys.path.insert(0, sys.argv[1])
import lact_reference as ref, safetensors_io
out = sys.argv[2]
cfg = dict(ref.DEFAULTS, hidden_size=256, num_lact_heads=4, chunk_size=64, lr_scale=0.1)
rng = np.random.default_rng(3)
t = {}
for name, shape in ref.param_shapes(cfg).items():
    if name.endswith("norm.weight"): v = 1 + 0.1 * rng.standard_normal(shape)
    elif name.endswith("bias"): v = 0.1 * rng.standard_normal(shape)
    elif "o_proj" in name: v = 0.05 * rng.standard_normal(shape)
    else: v = rng.standard_normal(shape) / np.sqrt(shape[-1])
    t[name] = v.astype(np.float32)
for d, chunk in (("model", 64), ("frozen", 1 << 30)):
    json.dump(dict(cfg, chunk_size=chunk), open(f"{out}/{d}/lact_config.json", "w"))
    safetensors_io.save_file(t, f"{out}/{d}/lact.safetensors")
PY

chapter=$(ls "$tmp/data/test" | head -1)/$(ls "$tmp/data/test/$(ls "$tmp/data/test" | head -1)" | head -1)
id=$(echo "$chapter" | tr / -)
sox $(ls "$tmp/data/test/$chapter"/*.flac | sort) "$tmp/chapter.wav"

# SETTING: lact_study_eval flags | lact_transcribe flags (model folder first).
settings=(
  "on|--lact on|model --lact on"
  "utterance|--lact on --lact_scope utterance|model --lact on --lact_scope utterance"
  "off|--lact off|model --lact off"
  "no-ttt|--lact on --lact_updates=false|frozen --lact on"
  "greedy|--lact on --decoder greedy|model --lact on --decoder greedy"
)
for s in "${settings[@]}"; do
  IFS='|' read -r name eval_flags tr_flags <<< "$s"
  # shellcheck disable=SC2086
  "$EVAL" --model "$tmp/model" --corpus "$tmp/data" --chapters test --state_cache "$tmp/cache" \
    --threads 1 $eval_flags --words_out "$tmp/$name.tsv" 2> "$tmp/$name.log" \
    || { cat "$tmp/$name.log"; fail "lact_study_eval $name"; }
  read -r tr_model tr_rest <<< "$tr_flags"
  # shellcheck disable=SC2086
  "$TRANSCRIBE" --model "$tmp/$tr_model" $tr_rest --dtype float32 --format json --threads 1 "$tmp/chapter.wav" \
    > "$tmp/$name.json" 2> "$tmp/$name.tr.log" || { cat "$tmp/$name.tr.log"; fail "lact_transcribe $name"; }
done
# Joint training's folders (lact_train --train_top_layers 2): the demo with its top two layers
# changed, and the random stack. Decoded from the frozen demo's cached windows below them
# (--frozen_model), the words must still be lact_transcribe's on the folder; claiming fewer
# trained layers than differ is refused.
mkdir -p "$tmp/joint"
for f in config.json vocab.json preprocessor_config.json language_model; do ln -s "$SRC/models/demo/$f" "$tmp/joint/$f"; done
cp "$tmp/model/lact_config.json" "$tmp/model/lact.safetensors" "$tmp/joint/"
"$PY" - "$SRC/tests/reference" "$SRC/models/demo/model.safetensors" "$tmp/joint/model.safetensors" <<'PY'
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import safetensors_io
t = safetensors_io.load_file(sys.argv[2])
rng = np.random.default_rng(5)
for name, v in t.items():
    if name.startswith(("wav2vec2.encoder.layers.2.", "wav2vec2.encoder.layers.3.")) and v.ndim == 2:
        t[name] = (v + 0.2 * v.std() * rng.standard_normal(v.shape)).astype(np.float32)
safetensors_io.save_file(t, sys.argv[3])
PY
"$EVAL" --model "$tmp/joint" --frozen_model "$SRC/models/demo" --trained_top_layers 2 \
  --corpus "$tmp/data" --chapters test --state_cache "$tmp/cache" --threads 1 --lact on \
  --words_out "$tmp/joint.tsv" 2> "$tmp/joint.log" || { cat "$tmp/joint.log"; fail "lact_study_eval joint"; }
"$TRANSCRIBE" --model "$tmp/joint" --lact on --dtype float32 --format json --threads 1 "$tmp/chapter.wav" \
  > "$tmp/joint.json" 2> "$tmp/joint.tr.log" || { cat "$tmp/joint.tr.log"; fail "lact_transcribe joint"; }
if "$EVAL" --model "$tmp/joint" --frozen_model "$SRC/models/demo" --trained_top_layers 1 \
     --corpus "$tmp/data" --state_cache "$tmp/cache" --words_out "$tmp/x.tsv" 2> "$tmp/bad.log"; then
  fail "a model with two changed layers accepted as --trained_top_layers 1"; fi
grep -q "wav2vec2.encoder.layers.2.* differs" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "top layers message"; }

grep -q "2 hits, 0 misses" "$tmp/off.log" || { cat "$tmp/off.log"; fail "the second run did not use the cache"; }
grep -q "0 hits, 2 misses" "$tmp/on.log" || { cat "$tmp/on.log"; fail "the first run should fill the cache"; }

"$PY" - "$tmp" "$id" <<'PY' || fail "lact_study_eval differs from lact_transcribe"
import json, sys
tmp, chapter = sys.argv[1], sys.argv[2]
def transcribe(name):
    d = json.load(open(f"{tmp}/{name}.json"))
    return [(w["word"], round(w["start"], 3), round(w["end"], 3)) for s in d["segments"] for w in s["words"]]
def study(name):
    lines = open(f"{tmp}/{name}.tsv").read().splitlines()
    assert lines[0] == "chapter\tstart_s\tend_s\tword", lines[0]
    rows = [l.split("\t") for l in lines[1:]]
    return [(w, float(a), float(b)) for c, a, b, w in rows if c == chapter]
words = {}
for name in ("on", "utterance", "off", "no-ttt", "greedy", "joint"):
    a, b = transcribe(name), study(name)
    assert len(a) > 50, (name, len(a))
    assert a == b, (name, len(a), len(b), next((x, y) for x, y in zip(a + [None], b + [None]) if x != y))
    words[name] = a
# Every setting decodes differently: each control changes what LaCT does.
names = list(words)
for i in range(len(names)):
    for j in range(i + 1, len(names)):
        assert words[names[i]] != words[names[j]], (names[i], names[j])
print("parity: 6 settings x", len(words["on"]), "words")
PY

# Bad settings are refused with the flag named.
if "$EVAL" --model "$tmp/model" --corpus "$tmp/data" --state_cache "$tmp/cache" --words_out "$tmp/x.tsv" \
     --lact_scope chapter 2> "$tmp/bad.log"; then fail "--lact_scope chapter accepted"; fi
grep -q -- "--lact_scope must be stream or utterance" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "scope message"; }
if "$EVAL" --model "$tmp/model" --corpus "$tmp/data" --words_out "$tmp/x.tsv" 2> "$tmp/bad.log"; then
  fail "no --state_cache accepted"; fi
grep -q -- "--state_cache" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "state_cache message"; }

# The report over the runs: its corpus WER per run (its own scorer) equals lact_study_eval's.
"$PY" "$SRC/tools/lact_study_report.py" --corpus "$tmp/data" --split test --baseline off \
  --run off="$tmp/off.tsv" --run on="$tmp/on.tsv" --run no-ttt="$tmp/no-ttt.tsv" \
  --bootstrap 2000 --out "$tmp/report" > "$tmp/report.md" 2> "$tmp/report.log" \
  || { cat "$tmp/report.log"; fail "lact_study_report"; }
"$PY" - "$tmp" <<'PY' || fail "the report disagrees with lact_study_eval"
import csv, re, sys
tmp = sys.argv[1]
rows = {r["setting"]: r for r in csv.DictReader(open(f"{tmp}/report/study.csv"))}
for name in ("off", "on", "no-ttt"):
    m = re.search(r"WER ([0-9.]+)%, CER ([0-9.]+)%", open(f"{tmp}/{name}.log").read())
    wer, cer = float(m.group(1)), float(m.group(2))
    assert abs(100 * float(rows[name]["wer"]) - wer) < 0.006, (name, rows[name]["wer"], wer)
    assert abs(100 * float(rows[name]["cer"]) - cer) < 0.006, (name, rows[name]["cer"], cer)
assert float(rows["off"]["d_cer"]) == 0.0
print("report: WER/CER agree for 3 runs")
PY
echo "lact_study_test: OK"
