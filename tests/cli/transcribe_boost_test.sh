#!/usr/bin/env bash
# Phrase boosting, open vocabulary and the beam search without an LM through lact_transcribe
# (issue 21), with the demo model on espeak-ng speech made here:
#  - a name outside the lexicon ("FENWICK") comes out only with --boost, offline, --streaming and
#    --from-logits alike; a negative boost removes a word the plain decode has;
#  - without language_model/ (a copy of the folder): --decoder beam is the lexicon-free beam
#    search, --boost gives it the name, the default (greedy) with --boost too (on request);
#  - --unk_penalty: closed (inf) never spells a word outside the lexicon, a tiny penalty does;
#  - tools/boost_eval.py on the first sentences of its sets: term recall rises with the boosts
#    and the plain sentences' WER does not move.
source "${LACT_SRC:?}/tests/cli/server_lib.sh"
T=$BIN/core/lact_transcribe
M=$SRC/models/demo
espeak-ng -v en-us -s 150 -w "$tmp/s.wav" "mister fenwick sold the old house by the river"
has() { [[ " $1 " == *" $2 "* ]]; }
text() { "$T" --model "$1" "${@:2}" | cut -f2; }

plain=$(text "$M" "$tmp/s.wav")
echo "plain:    $plain"
has "$plain" FENWICK && fail "FENWICK without a boost: $plain"
has "$plain" HOUSE || fail "the plain decode should have HOUSE: $plain"
for mode in "" --streaming; do
  got=$(text "$M" $mode --boost "fenwick:10" "$tmp/s.wav")
  echo "boost $mode: $got"
  has "$got" FENWICK || fail "--boost $mode: no FENWICK in '$got'"
done
printf 'fenwick:10\n' > "$tmp/list.txt"
got=$(text "$M" --boost_file "$tmp/list.txt" "$tmp/s.wav")
has "$got" FENWICK || fail "--boost_file: no FENWICK in '$got'"
avoided=$(text "$M" --boost "house:-30" "$tmp/s.wav")
echo "house:-30 $avoided"
has "$avoided" HOUSE && fail "a negative boost kept HOUSE: $avoided"
"$T" --model "$M" --decoder greedy --dump-logits "$tmp/l.npy" "$tmp/s.wav" > /dev/null
got=$(text "$M" --from-logits --boost "fenwick:10" "$tmp/l.npy")
has "$got" FENWICK || fail "--from-logits --boost: no FENWICK in '$got'"

# Without language_model/.
mkdir "$tmp/nolm"
for f in "$M"/*; do [[ "$(basename "$f")" == language_model ]] || ln -s "$f" "$tmp/nolm/"; done
greedy=$(text "$tmp/nolm" "$tmp/s.wav")
beam=$(text "$tmp/nolm" --decoder beam "$tmp/s.wav")
echo "no LM:    greedy '$greedy', beam '$beam'"
[[ -n "$beam" ]] || fail "no transcript from the lexicon-free beam search"
for flags in "--decoder beam" ""; do
  got=$(text "$tmp/nolm" $flags --boost "fenwick:10" "$tmp/s.wav")
  echo "no LM, boost ($flags): $got"
  has "$got" FENWICK || fail "no LM, --boost $flags: no FENWICK in '$got'"
done

# Open vocabulary: with a penalty near zero words outside the lexicon appear; closed, never.
lexicon=$(awk '/\\1-grams:/{f=1;next} /\\2-grams:/{f=0} f && NF>=2 {print $2}' "$M/language_model/lm.arpa")
outside() { for w in $1; do grep -qxF "$w" <<< "$lexicon" || echo "$w"; done; }
closed=$(text "$M" --unk_penalty inf "$tmp/s.wav")
[[ -z "$(outside "$closed")" ]] || fail "closed vocabulary gave words outside the lexicon: $closed"
open=$(text "$M" --unk_penalty 0.1 "$tmp/s.wav")
echo "open 0.1: $open"
[[ -n "$(outside "$open")" ]] || fail "--unk_penalty 0.1 spelled nothing outside the lexicon: $open"

# The measurement tool, on the first sentences of each set.
"$PY" "$SRC/tools/boost_eval.py" --build "$BIN" --model "$M" --out "$tmp/eval" --limit 6 > "$tmp/eval.log"
cat "$tmp/eval.log"
"$PY" - "$tmp/eval/results.json" <<'PY' || fail "boost_eval.py results"
import json, sys
runs = {r["setting"]: r for r in json.load(open(sys.argv[1]))["runs"]}
for base, boosted in (("beam (LM)", "beam (LM) + boost"), ("beam (no LM)", "beam (no LM) + boost")):
    b, x = runs[base], runs[boosted]
    assert x["terms"]["term_recall"] > b["terms"]["term_recall"], (base, b["terms"], x["terms"])
    assert abs(x["plain"]["wer"] - b["plain"]["wer"]) < 5.0, (base, b["plain"], x["plain"])
print("ok: recall rises, plain WER holds")
PY
echo "PASS"
