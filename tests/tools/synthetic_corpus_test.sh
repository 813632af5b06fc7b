#!/usr/bin/env bash
# tools/make_synthetic_corpus.py end to end on a tiny corpus (6 utterances per split) and a tiny
# long-form test set: LibriSpeech layout, 16 kHz mono 16-bit FLAC that soxi reads, transcripts in
# the wav2vec2 vocabulary, sentences disjoint across splits, test voices disjoint from train, and
# the same seed giving the same files. Exit 77 (skipped) when espeak-ng, sox, numpy or the text
# package r-cran-janeaustenr is missing.
set -uo pipefail
SRC=${LACT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
GEN=$SRC/tools/make_synthetic_corpus.py
PY=/usr/bin/python3
for tool in espeak-ng sox soxi; do
  command -v $tool > /dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x $PY ] && $PY -c 'import numpy' 2> /dev/null || { echo "SKIP: $PY with numpy not found"; exit 77; }
[ -e /usr/lib/R/site-library/janeaustenr/data/Rdata.rdb ] ||
  { echo "SKIP: r-cran-janeaustenr not installed (the text source)"; exit 77; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # check NAME COMMAND...: runs COMMAND, prints ok/FAIL
  local name=$1; shift
  if "$@" > "$tmp/check.out" 2>&1; then echo "ok   $name"; else
    echo "FAIL $name"; sed 's/^/    /' "$tmp/check.out" | head -20; fail=1; fi
}
gen() {  # gen LOG ARGS...
  local log=$1; shift
  if ! $PY "$GEN" --jobs 2 "$@" 2> "$tmp/$log.log"; then
    echo "FAIL generator $*"; sed 's/^/    /' "$tmp/$log.log" | tail -20; exit 1
  fi
}

start=$(date +%s)
gen a --out "$tmp/a" --num_utterances 6 --speakers 3 --seed 7
gen b --out "$tmp/b" --num_utterances 6 --speakers 3 --seed 7
gen lf --out "$tmp/lf" --long_form --chapters 1 --chapter_minutes 0.3 --seed 3
echo "generated 3 corpora in $(( $(date +%s) - start )) s"

# All transcript lines of a split, without ids.
sentences() { cat "$1"/*/*/*.trans.txt | cut -d' ' -f2- | sort -u; }

layout() {  # layout CORPUS SPLIT COUNT
  local dir=$1/$2 n=$3 rc=0
  local flacs; flacs=$(cd "$dir" && find . -type f -name '*.flac' | sort)
  [ "$(echo "$flacs" | grep -c .)" -eq "$n" ] || { echo "$dir: want $n FLAC files, have:"; echo "$flacs"; return 1; }
  # Nothing but <speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac and <speaker>-<chapter>.trans.txt.
  local other; other=$(cd "$dir" && find . -type f | grep -Ev '^\./([0-9]+)/([0-9]+)/\1-\2(-[0-9]{4,}\.flac|\.trans\.txt)$')
  [ -z "$other" ] || { echo "$dir: unexpected files: $other"; rc=1; }
  local lines; lines=$(cat "$dir"/*/*/*.trans.txt | wc -l)
  [ "$lines" -eq "$n" ] || { echo "$dir: $lines transcript lines, want $n"; rc=1; }
  # Every transcript line names a FLAC file of its chapter folder, and the other way round.
  local t id spk ch
  for t in "$dir"/*/*/*.trans.txt; do
    while read -r id _; do
      spk=${id%%-*}; ch=${id#*-}; ch=${ch%%-*}
      [ "$t" = "$dir/$spk/$ch/$spk-$ch.trans.txt" ] || { echo "$id listed in $t"; rc=1; }
      [ -f "$(dirname "$t")/$id.flac" ] || { echo "no audio for $id"; rc=1; }
    done < "$t"
  done
  local f
  for f in $flacs; do
    id=$(basename "$f" .flac)
    grep -q "^$id " "$dir/$(dirname "$f")/${id%-*}.trans.txt" || { echo "no transcript for $f"; rc=1; }
  done
  return $rc
}

audio() {  # audio DIR: every FLAC is 16 kHz, mono, 16-bit, FLAC, 0.5..40 s
  local f rc=0
  while read -r f; do
    local got; got="$(soxi -t "$f") $(soxi -r "$f") $(soxi -c "$f") $(soxi -b "$f")"
    [ "$got" = "flac 16000 1 16" ] || { echo "$f: type/rate/channels/bits = $got"; rc=1; }
    awk -v d="$(soxi -D "$f")" 'BEGIN { exit !(d >= 0.5 && d <= 40) }' || { echo "$f: $(soxi -D "$f") s"; rc=1; }
  done < <(find "$1" -name '*.flac')
  return $rc
}

vocabulary() {  # vocabulary CORPUS: transcripts are A-Z, apostrophe, single spaces
  local bad; bad=$(cat "$1"/*/*/*/*.trans.txt | cut -d' ' -f2- | grep -Ev "^[A-Z']+( [A-Z']+)*$")
  [ -z "$bad" ] || { echo "outside the vocabulary:"; echo "$bad"; return 1; }
}

disjoint() {  # disjoint FILE1 FILE2: no common line
  local common; common=$(comm -12 "$1" "$2")
  [ -z "$common" ] || { echo "common to $1 and $2:"; echo "$common"; return 1; }
}

for split in train dev test; do
  check "layout $split" layout "$tmp/a" $split 6
  sentences "$tmp/a/$split" > "$tmp/sent.$split"
  cut -f2 "$tmp/a/$split.speakers.tsv" | tail -n +2 | sort -u > "$tmp/voices.$split"
  ls "$tmp/a/$split" | sort > "$tmp/ids.$split"
done
check "layout long-form test" layout "$tmp/lf" test "$(cat "$tmp/lf"/test/*/*/*.trans.txt | wc -l)"
check "long-form chapter has several utterances" \
  test "$(cat "$tmp/lf"/test/*/*/*.trans.txt | wc -l)" -ge 3
check "16 kHz mono 16-bit FLAC" audio "$tmp/a"
check "16 kHz mono 16-bit FLAC (long form)" audio "$tmp/lf"
check "transcripts in the vocabulary" vocabulary "$tmp/a"
check "long-form transcripts in the vocabulary" vocabulary "$tmp/lf"
check "sentences train/dev disjoint" disjoint "$tmp/sent.train" "$tmp/sent.dev"
check "sentences train/test disjoint" disjoint "$tmp/sent.train" "$tmp/sent.test"
check "sentences dev/test disjoint" disjoint "$tmp/sent.dev" "$tmp/sent.test"
sentences "$tmp/lf/test" > "$tmp/sent.lf"
check "long-form sentences disjoint from train" disjoint "$tmp/sent.train" "$tmp/sent.lf"
check "test speaker ids disjoint from train" disjoint "$tmp/ids.train" "$tmp/ids.test"
check "test voices (accent+variant) disjoint from train" disjoint "$tmp/voices.train" "$tmp/voices.test"
cut -f2 "$tmp/lf/test.speakers.tsv" | tail -n +2 | sort -u > "$tmp/voices.lf"
check "long-form voices disjoint from train" disjoint "$tmp/voices.train" "$tmp/voices.lf"
check "3 speakers per split" test "$(wc -l < "$tmp/ids.train")" -eq 3

listing() { (cd "$1" && find . -type f -name '*.flac' | sort && cat $(find . -name '*.trans.txt' | sort)); }
check "same seed: same file list and transcripts" diff <(listing "$tmp/a") <(listing "$tmp/b")
audio_sums() { (cd "$1" && find . -name '*.flac' | sort | xargs md5sum); }
check "same seed: same audio" diff <(audio_sums "$tmp/a") <(audio_sums "$tmp/b")
check "refuses to overwrite" bash -c "! $PY '$GEN' --out '$tmp/a' --num_utterances 1 --quiet 2> '$tmp/ow.err' && grep -q overwrite '$tmp/ow.err'"

echo "took $(( $(date +%s) - start )) s"
[ $fail -eq 0 ] && echo "synthetic corpus: all checks passed"
exit $fail
