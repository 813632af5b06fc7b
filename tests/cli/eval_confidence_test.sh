#!/usr/bin/env bash
# lact_eval_client --word_confidence --max_alternatives (issue 21) against lact_server with the
# demo model (LM beam search) on the LibriSpeech sample: summary.json has the word-confidence
# calibration (every hypothesis word binned, ECE in [0, 1] and equal to the bins' weighted
# gaps), an oracle WER no higher than the WER, the same transcripts as without the options, and
# a bad --max_alternatives is a usage error.
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
echo "eval_confidence_test: OK"
