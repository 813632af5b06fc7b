#!/usr/bin/env bash
# lact_eval_client --word_confidence --max_alternatives (issue 21) against lact_server with the
# demo model (LM beam search) on the LibriSpeech sample: summary.json has the word-confidence
# calibration (every hypothesis word binned, ECE in [0, 1] and equal to the bins' weighted
# gaps), an oracle WER no higher than the WER, the same transcripts as without the options, and
# a bad --max_alternatives is a usage error. --fit_confidence: refused without --word_confidence
# and while the server maps confidences (models/demo ships a map); against raw values it writes
# the server's decoder's section, keeps the other one, lowers the fitted words' ECE, and leaves a
# file it cannot parse untouched. --boost_file sends its phrases as speech_contexts.
source "$(dirname "$0")/server_lib.sh"
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
start_server -- --model "$SRC/models/demo" --threads 1 --warmup_seconds 0
client() {  # NAME [flags...]
  local name=$1; shift
  "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
    --num_parallel_requests 2 --lact off --output_dir "$tmp/$name" "$@" > "$tmp/$name.log" 2>&1 \
    || { cat "$tmp/$name.log"; fail "client $name"; }
}
client plain
client confidence --word_confidence --max_alternatives 4
grep -q "Word confidence: ECE" "$tmp/confidence.log" || { cat "$tmp/confidence.log"; fail "no ECE line"; }
grep -q "Oracle WER" "$tmp/confidence.log" || fail "no oracle WER line"
"$PY" - "$tmp" <<'PY' || fail "summary"
import csv, json, sys
tmp = sys.argv[1]
hyps = lambda n: {r["id"]: r["hypothesis"] for r in csv.DictReader(open(f"{tmp}/{n}/results.csv"))}
assert hyps("plain") == hyps("confidence"), "the options changed the transcripts"
s = json.load(open(f"{tmp}/confidence/summary.json"))["settings"][0]
c = s["word_confidence"]
words = sum(len(h.split()) for h in hyps("confidence").values())
assert c["words"] == words and c["skipped_streams"] == 0, (c["words"], words)
assert sum(b["count"] for b in c["bins"]) == words
assert 0 <= c["ece"] <= 1
ece = sum(b["count"] / words * abs(b["accuracy"] - b["mean_confidence"]) for b in c["bins"])
assert abs(ece - c["ece"]) < 1e-9, (ece, c["ece"])
assert 0 <= s["oracle_wer"] <= s["wer"], (s["oracle_wer"], s["wer"])
plain = json.load(open(f"{tmp}/plain/summary.json"))["settings"][0]
assert "word_confidence" not in plain and plain["oracle_wer"] == plain["wer"]
print(f"ok   ECE {c['ece']:.3f} over {words} words; WER {s['wer']:.3f}, oracle {s['oracle_wer']:.3f}")
PY
if "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
     --max_alternatives 11 --output_dir "$tmp/bad" > "$tmp/bad.log" 2>&1; then
  fail "--max_alternatives 11 accepted"
fi
grep -q "max_alternatives" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no message"; }
run_fit() {  # NAME [flags...]: the client's exit status in $rc
  local name=$1; shift
  rc=0
  "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
    --num_parallel_requests 2 --lact off --output_dir "$tmp/$name" "$@" > "$tmp/$name.log" 2>&1 \
    || rc=$?
}
run_fit refused --word_confidence --fit_confidence "$tmp/c.json"
{ [ "$rc" = 2 ] && grep -q "calibrate_confidence=false" "$tmp/refused.log"; } \
  || { cat "$tmp/refused.log"; fail "fit against a server that maps confidences: rc $rc"; }
[ ! -e "$tmp/c.json" ] || fail "a refused fit wrote its file"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
start_server -- --model "$SRC/models/demo" --threads 1 --warmup_seconds 0 --calibrate_confidence=false
run_fit unasked --fit_confidence "$tmp/c.json"
{ [ "$rc" = 2 ] && grep -q "needs --word_confidence" "$tmp/unasked.log"; } \
  || { cat "$tmp/unasked.log"; fail "--fit_confidence without --word_confidence: rc $rc"; }
echo '{"greedy": {"word": {"a": 1.5, "b": 0.25}}}' > "$tmp/c.json"
run_fit fit --word_confidence --fit_confidence "$tmp/c.json"
[ "$rc" = 0 ] || { cat "$tmp/fit.log"; fail "fit: rc $rc"; }
"$PY" - "$tmp" <<'PY' || { cat "$tmp/fit.log"; fail "fitted file"; }
import json, re, sys
tmp = sys.argv[1]
c = json.load(open(f"{tmp}/c.json"))
assert c["greedy"] == {"word": {"a": 1.5, "b": 0.25}}, c  # the other decoder's section is kept
a, b = c["beam"]["word"]["a"], c["beam"]["word"]["b"]
assert 0 < a <= 100 and -100 <= b <= 100, c
log = open(f"{tmp}/fit.log").read()
m = re.search(r"server's beam decoder: a ([-0-9.]+), b ([-0-9.]+) \((\d+) words\); ECE on them "
              r"([0-9.]+) -> ([0-9.]+)", log)
assert m, log
assert abs(float(m[1]) - a) < 1e-4 and abs(float(m[2]) - b) < 1e-4, (m[0], c)
assert float(m[5]) < float(m[4]), m[0]  # the fit lowers the calibration error on its words
print(f"ok   fitted beam map a {a:.3f} b {b:.3f}: ECE {m[4]} -> {m[5]} on {m[3]} words")
PY
# tools/reliability_svg.py draws each run's non-empty bins (docs/language_model.md).
"$PY" "$SRC/tools/reliability_svg.py" --run "raw=$tmp/fit/summary.json" \
  --run "again=$tmp/confidence/summary.json" --out "$tmp/rel.svg" 2> "$tmp/rel.log" \
  || { cat "$tmp/rel.log"; fail "reliability_svg"; }
"$PY" - "$tmp" <<'PY' || fail "reliability diagram"
import json, sys, xml.etree.ElementTree as ET
tmp = sys.argv[1]
ns = "{http://www.w3.org/2000/svg}"
lines = ET.parse(f"{tmp}/rel.svg").getroot().findall(f"{ns}polyline")
for line, run in zip(lines, ["fit", "confidence"]):
    bins = json.load(open(f"{tmp}/{run}/summary.json"))["settings"][0]["word_confidence"]["bins"]
    assert len(line.get("points").split()) == sum(b["count"] > 0 for b in bins), run
assert len(lines) == 2
PY
echo "not json" > "$tmp/bad.json"
run_fit badfile --word_confidence --fit_confidence "$tmp/bad.json"
[ "$rc" = 2 ] || { cat "$tmp/badfile.log"; fail "an unparsable file: rc $rc"; }
[ "$(cat "$tmp/bad.json")" = "not json" ] || fail "an unparsable file was overwritten"
# --boost_file (issue 21): the phrases reach the server as speech_contexts (a strong negative boost
# on THE removes most of its occurrences); a file it cannot read is a usage error.
printf '# avoid it\nthe:-30\n' > "$tmp/boost.txt"
client boosted --boost_file "$tmp/boost.txt"
"$PY" - "$tmp" <<'PY' || fail "--boost_file"
import csv, sys
tmp = sys.argv[1]
the = lambda n: sum(r["hypothesis"].split().count("THE") for r in csv.DictReader(open(f"{tmp}/{n}/results.csv")))
assert the("plain") >= 3 and the("boosted") < the("plain") / 2, (the("plain"), the("boosted"))
print(f"ok   THE {the('plain')} times plain, {the('boosted')} with the:-30")
PY
"$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
  --boost_file "$tmp/none.txt" --output_dir "$tmp/none" > "$tmp/none.log" 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "boost_file" "$tmp/none.log" || { cat "$tmp/none.log"; fail "missing --boost_file: rc $rc"; }
echo "eval_confidence_test: OK"
