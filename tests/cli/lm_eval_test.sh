#!/usr/bin/env bash
# The demo model's general-English LM (issue 21) and tools/lm_eval.py, its measurement:
#  - models/demo stays under 40 MB in all, and its LM knows at least 50,000 words;
#  - the everyday sentence sets: at least 100 test sentences, a separate dev set, none shared;
#  - lm_eval.py on the first test sentences (espeak-ng speech made here), offline and streaming:
#    a greedy row and an LM row each, the LM's WER below greedy's;
#  - --tune on a two-point grid: both points decoded, the best first; a bad --grid is refused.
source "${LACT_SRC:?}/tests/cli/server_lib.sh"
M=$SRC/models/demo
size=$(du -sb "$M" | cut -f1)
echo "models/demo: $size bytes"
(( size < 40 * 1000 * 1000 )) || fail "models/demo is $size bytes (limit 40 MB)"
words=$(grep -m1 '^ngram 1=' "$M/language_model/lm.arpa" | cut -d= -f2)
(( words >= 50000 )) || fail "the demo LM has $words words (want >= 50,000)"

"$PY" - "$SRC/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from lm_eval import read_set
test, dev = read_set("test"), read_set("dev")
assert len(test) >= 100 and len(dev) >= 50, (len(test), len(dev))
assert len(set(test)) == len(test) and not set(test) & set(dev), "duplicate or shared sentences"
PY

"$PY" "$SRC/tools/lm_eval.py" --build "$BIN" --out "$tmp/eval" --model "demo=$M" --set test --limit 8 \
  > "$tmp/eval.log" 2>&1 || { cat "$tmp/eval.log"; fail "lm_eval.py"; }
cat "$tmp/eval/summary.md"
"$PY" - "$tmp/eval/results.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
rate = {(r["setting"], r["mode"]): r["wer"] for r in runs}
assert set(rate) == {(s, m) for s in ("greedy", "beam, LM demo") for m in ("offline", "streaming")}, rate
for m in ("offline", "streaming"):
    assert rate[("beam, LM demo", m)] < rate[("greedy", m)], rate
assert all(len(r["transcripts"]) == 8 for r in runs)
PY

"$PY" "$SRC/tools/lm_eval.py" --build "$BIN" --out "$tmp/tune" --model "demo=$M" --set dev --limit 4 \
  --tune --grid "alpha=0.5,1.0;beta=1;unk_score_offset=-17" > "$tmp/tune.log" 2>&1 \
  || { cat "$tmp/tune.log"; fail "lm_eval.py --tune"; }
"$PY" - "$tmp/tune/tune.json" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert sorted(r["alpha"] for r in runs) == [0.5, 1.0], runs
assert runs[0]["wer"] <= runs[1]["wer"], runs
PY
if "$PY" "$SRC/tools/lm_eval.py" --out "$tmp/bad" --tune --grid "gamma=1" 2> "$tmp/bad.log"; then
  fail "--grid gamma=1 accepted"
fi
grep -q "unknown key 'gamma'" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "--grid error message"; }
echo "ok   lm_eval: demo LM size and vocabulary, everyday sets, greedy vs LM, --tune"
