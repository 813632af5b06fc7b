#!/usr/bin/env bash
# tools/lact_study.sh end to end with --quick (2+2+2 one-minute chapters, 4 steps, one seed), then
# what makes the multi-hour study resumable across sessions (issue 20): a second invocation
# trains and decodes nothing again; a decoded setting whose words file is gone (a run killed before
# its rename) is decoded again and nothing else is; a corpus whose generation was cut off
# (corpus.part, no corpus/) is generated again, and the finished training runs are kept. The
# report names the setting chosen on dev with its test row.
# ~1.5 minutes on 2 cores.
set -euo pipefail
B=${LACT_BIN:?}
S=${LACT_SRC:?}
for tool in espeak-ng sox; do
  command -v $tool > /dev/null || { echo "skip: $tool not installed"; exit 77; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
W=$tmp/study
study() { "$S/tools/lact_study.sh" "$B" "$W" --quick --seeds 1 > "$tmp/$1.log" 2>&1 || { tail -20 "$tmp/$1.log"; fail "$1"; }; }
# "path mtime" of the trained models (train-*/, not the symlink folders remade each time) and of
# the decoded words files
stamps() { find "$W/runs" \( -path '*/train-*/model.safetensors' -o -name '*.tsv' \) -printf '%p %T@\n' | sort; }

study first
[ -s "$W/report/study.md" ] || fail "no report"
grep -q "^Lowest dev CER: \*\*lact-main\*\* (.*On test: CER [0-9.]*%, difference to the baseline" \
  "$W/report/study.md" || { cat "$W/report/study.md"; fail "no dev choice reported on test"; }
ls "$W"/runs/*.part 2> /dev/null && fail "a .part file was left"
stamps > "$tmp/s1"
[ "$(grep -c '\.tsv ' "$tmp/s1")" -ge 6 ] || { cat "$tmp/s1"; fail "too few decoded settings"; }

study second
stamps > "$tmp/s2"
cmp -s "$tmp/s1" "$tmp/s2" || { diff "$tmp/s1" "$tmp/s2"; fail "the second invocation redid work"; }

rm "$W/runs/lact-main-s1.tsv"
study third
stamps > "$tmp/s3"
grep -q "lact-main-s1.tsv " "$tmp/s3" || fail "the removed setting was not decoded again"
diff <(grep -v "lact-main-s1.tsv " "$tmp/s1") <(grep -v "lact-main-s1.tsv " "$tmp/s3") ||
  fail "other settings were redone"

mv "$W/corpus" "$W/corpus.part"
study fourth
[ -s "$W/corpus/test.info.json" ] && [ ! -e "$W/corpus.part" ] || fail "the corpus was not regenerated"
diff <(grep model.safetensors "$tmp/s3") <(stamps | grep model.safetensors) ||
  fail "finished training runs were redone"
grep -q "corpus --splits" "$tmp/fourth.log" || fail "no corpus step in the fourth invocation"
echo "lact_study_resume_test: OK"
