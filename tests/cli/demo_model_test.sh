#!/usr/bin/env bash
# The bundled demo model (models/demo), as a new user meets it, on held-out espeak-ng speech: the
# test split of the generator command in models/demo/MODEL_CARD.md (sentences and voice settings
# never used in training, sentences not in the language model's text):
#   - lact_transcribe with no --model (the default is models/demo, decoded by default with its
#     language_model/: lexicon beam search + 3-gram) transcribes every utterance offline, and
#     lact_server with no --model, streamed through lact_eval_client at the server's default
#     window and decoder settings, answers every stream;
#   - issue 8's acceptance 1: offline WER is at most MAX_OFFLINE_WER and streaming WER is within
#     2 points of offline (CER too);
#   - the language model earns its place: greedy decoding (--decoder greedy) of the same audio
#     has a higher WER.
# Rates are recomputed here with tests/client/score_reference.py (an independent scorer).
MAX_OFFLINE_WER=${MAX_OFFLINE_WER:-15}  # issue 8: <= 15%; MODEL_CARD.md: 14.13% (stage 8 + LM)
source "$(dirname "$0")/server_lib.sh"
[[ -s "$SRC/models/demo/model.safetensors" ]] || fail "models/demo is missing"
[[ -x "$BIN/server/lact_server" && -x "$BIN/client/lact_eval_client" ]] || { echo "SKIP: no server build"; exit 77; }

"$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$tmp/synth" --splits test --hours test=0.25 \
  --speakers test=20 --jobs 2 --quiet 2> "$tmp/corpus.log" || { cat "$tmp/corpus.log"; fail "corpus"; }

# Offline: every test utterance, whole, through the default model.
find "$tmp/synth/test" -name '*.flac' | sort > "$tmp/files"
env -u LACT_MODEL "$BIN/core/lact_transcribe" $(cat "$tmp/files") > "$tmp/offline.tsv" 2> "$tmp/offline.log" \
  || { cat "$tmp/offline.log"; fail "lact_transcribe"; }
env -u LACT_MODEL "$BIN/core/lact_transcribe" --decoder greedy $(cat "$tmp/files") > "$tmp/greedy.tsv" \
  2> "$tmp/greedy.log" || { cat "$tmp/greedy.log"; fail "lact_transcribe --decoder greedy"; }

# Streaming: the server on its defaults (no --model, default window), the eval client replaying
# the split as a LibriSpeech folder.
start_server env -u LACT_MODEL --
"$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$tmp/synth" --split test \
  --lact off --num_parallel_requests 4 --progress=false --output_dir "$tmp/eval" > "$tmp/eval.log" 2>&1 \
  || { cat "$tmp/eval.log"; fail "lact_eval_client"; }

"$PY" - "$SRC/tests/client" "$tmp/synth/test" "$tmp/offline.tsv" "$tmp/eval/results.csv" "$MAX_OFFLINE_WER" \
  "$tmp/greedy.tsv" <<'PY'
import csv, glob, os, sys
sys.path.insert(0, sys.argv[1])
import score_reference as sr
refs = {}
for t in glob.glob(os.path.join(sys.argv[2], "*", "*", "*.trans.txt")):
    for line in open(t):
        uid, text = line.rstrip("\n").split(" ", 1)
        refs[uid] = text
def corpus(pairs, unit):
    errors = total = 0
    for ref, hyp in pairs:
        c = sr.counts(ref, hyp)[unit]
        errors += c["S"] + c["D"] + c["I"]
        total += c["N"]
    return 100.0 * errors / total
def read_tsv(path):
    pairs = []
    for line in open(path):
        p, _, hyp = line.rstrip("\n").partition("\t")
        pairs.append((refs[os.path.basename(p).rsplit(".", 1)[0]], hyp))
    assert len(pairs) == len(refs), (path, len(pairs), len(refs))
    return pairs
offline, greedy = read_tsv(sys.argv[3]), read_tsv(sys.argv[6])
rows = list(csv.DictReader(open(sys.argv[4])))
stream = [(refs[r["id"]], r["hypothesis"]) for r in rows]
assert len(stream) == len(refs), (len(stream), len(refs))
w_off, w_str, w_gr = corpus(offline, "words"), corpus(stream, "words"), corpus(greedy, "words")
c_off, c_str, c_gr = corpus(offline, "chars"), corpus(stream, "chars"), corpus(greedy, "chars")
print(f"demo model on {len(refs)} held-out utterances: offline WER {w_off:.2f}% CER {c_off:.2f}%, "
      f"streaming WER {w_str:.2f}% CER {c_str:.2f}% (LM beam search); "
      f"offline greedy WER {w_gr:.2f}% CER {c_gr:.2f}%")
bound = float(sys.argv[5])
assert w_off <= bound, f"offline WER {w_off:.2f}% > {bound}%"
assert abs(w_str - w_off) <= 2.0, f"streaming WER {w_str:.2f}% is not within 2 points of offline {w_off:.2f}%"
assert abs(c_str - c_off) <= 2.0, f"streaming CER {c_str:.2f}% is not within 2 points of offline {c_off:.2f}%"
assert w_off < w_gr, f"the LM does not help: beam WER {w_off:.2f}% >= greedy {w_gr:.2f}%"
print(f"ok   demo model: offline WER <= {bound}%, streaming within 2 points of offline, LM beats greedy")
PY

# A sanitizer build of the server (ctest --preset asan/tsan) reports into its log and, under
# TSan, keeps going: such a report fails the test as one in lact_transcribe would.
if grep -qE 'WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|: runtime error: ' "$tmp/server.log"; then
  grep -m1 -A40 -E 'WARNING: ThreadSanitizer|ERROR: (Address|Leak)Sanitizer|: runtime error: ' "$tmp/server.log"
  fail "sanitizer report in the server log"
fi
