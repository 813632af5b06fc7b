#!/usr/bin/env bash
# The demo model's general-English language model (issue 21), one command:
#   apt-get install wordnet-base fortunes        # the sources (not needed by the tests)
#   bash tools/build_demo_lm.sh [OUT_DIR]        # default: models/demo/language_model
# writes OUT_DIR/lm.arpa (a pruned word 3-gram) and OUT_DIR/attrs.json (alpha, beta and
# unk_score_offset chosen on the dev sentences: tools/lm_eval.py --tune, docs/language_model.md).
#
# Text (tools/prepare_lm_text.py): WordNet 3.0's glosses and usage examples and fortune-mod's
# collections (everyday English of many authors), plus the synthetic corpus's training sentences
# (Austen, counted twice: the demo's own held-out test speaks them), upper case, letters and the
# apostrophe. Kept out: every dev and test sentence of the synthetic corpus, the everyday
# sentences of tools/data/everyday/ and the boosting sentences of tools/data/boost/.
# Model (tools/build_ngram_lm.py): interpolated modified Kneser-Ney, bigrams seen once and
# trigrams seen fewer than 3 times pruned (the Austen sentences' count twice). Deterministic: the
# same packages give the same file. About 40 s and 0.7 GB of memory (measured).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/models/demo/language_model}
PY=${PYTHON:-/usr/bin/python3}
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n 2,15p "$0" | sed 's/^# \{0,1\}//'; exit 0; }
for f in /usr/share/wordnet/data.noun /usr/share/games/fortunes/fortunes; do
  [[ -e $f ]] || { echo "build_demo_lm.sh: $f missing: apt-get install wordnet-base fortunes" >&2; exit 1; }
done
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "[1/4] the synthetic corpus's sentences (training text; dev and test to keep out)" >&2
"$PY" "$SRC/tools/make_synthetic_corpus.py" --text_out "$work/austen_train.txt"
"$PY" "$SRC/tools/make_synthetic_corpus.py" --text_out "$work/heldout.txt" --splits dev,test
exclude=(--exclude "$work/heldout.txt")
for f in "$SRC"/tools/data/everyday/*.txt "$SRC"/tools/data/boost/*_sentences.txt; do
  exclude+=(--exclude "$f")
done
echo "[2/4] normalised text: WordNet + fortunes, and the training sentences" >&2
"$PY" "$SRC/tools/prepare_lm_text.py" --out "$work/general.txt" --sources wordnet,fortunes "${exclude[@]}"
"$PY" "$SRC/tools/prepare_lm_text.py" --out "$work/austen.txt" --sources text \
  --text "$work/austen_train.txt" "${exclude[@]}"
echo "[3/4] 3-gram (pruned)" >&2
"$PY" "$SRC/tools/build_ngram_lm.py" --order 3 --prune 2:2,3:3 --out "$OUT/lm.arpa" \
  --text "$work/general.txt" --text "$work/austen.txt" --text "$work/austen.txt"
echo "[4/4] attrs.json" >&2
printf '{\n  "alpha": %s,\n  "beta": %s,\n  "unk_score_offset": %s\n}\n' \
  "${LM_ALPHA:-1.0}" "${LM_BETA:-1.0}" "${LM_UNK_SCORE_OFFSET:--17.0}" > "$OUT/attrs.json"
ls -l "$OUT/lm.arpa" "$OUT/attrs.json" >&2
