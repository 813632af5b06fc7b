#!/usr/bin/env bash
# Decoding cost alone (no model run): `lact_transcribe --from-logits` over CTC logits dumped once,
# CPU time (user + system, 1 thread),
# per decoder setting: greedy, the LM beam search closed (the decoder before phrase boosting) and
# open (the default), with the boost list of tools/data/boost/terms.txt (24 phrases) and with a
# list of 1000 phrases, and the same without a language model. Milliseconds of one core per
# second of audio, the model and LM load (the same command on one file) subtracted; every file
# decoded 5 times per run so decoding outweighs the load; best of REPEATS runs each. docs/benchmarks.md, "Phrase boosting: decoding cost".
#
#   tools/bench_decode.sh BUILD_DIR OUT_DIR [MODEL_DIR] [REPEATS]
# Speech: espeak-ng, the 96 sentences of tools/data/boost/. Env LACT_BASELINE_TRANSCRIBE: another
# lact_transcribe binary (e.g. one built at an earlier commit) timed on the same logits as
# "baseline binary". Writes OUT_DIR/bench_decode.json and prints a table.
set -euo pipefail
BUILD=${1:?usage: tools/bench_decode.sh BUILD_DIR OUT_DIR [MODEL_DIR] [REPEATS]}
OUT=${2:?usage: tools/bench_decode.sh BUILD_DIR OUT_DIR [MODEL_DIR] [REPEATS]}
SRC=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${3:-$SRC/models/demo}
REPEATS=${4:-3}
T=$BUILD/core/lact_transcribe
PY=/usr/bin/python3
mkdir -p "$OUT/audio" "$OUT/logits"

# Speech and its logits (once).
i=0
grep -hv '^#' "$SRC/tools/data/boost/term_sentences.txt" "$SRC/tools/data/boost/plain_sentences.txt" |
  while read -r line; do
    [[ -z "$line" ]] && continue
    name=$(printf 's%03d' "$i"); i=$((i + 1))
    [[ -s "$OUT/logits/$name.npy" ]] && continue
    espeak-ng -v en-us -s 150 -w "$OUT/audio/$name.wav" "$line"
    "$T" --model "$MODEL" --decoder greedy --dump-logits "$OUT/logits/$name.npy" \
      "$OUT/audio/$name.wav" > /dev/null
  done
echo "logits: $(ls "$OUT/logits" | wc -l) files" >&2

# 1000 phrases: the 24 terms and 976 words of the lexicon, boosted at 5 (awk counts: `head`
# would end the pipe early, a failure under pipefail once the lexicon is large).
grep -v '^#' "$SRC/tools/data/boost/terms.txt" > "$OUT/terms.txt"
cp "$OUT/terms.txt" "$OUT/phrases1000.txt"
awk '/\\1-grams:/{f=1;next} /\\2-grams:/{f=0} f && NF>=2 && $2 ~ /^[A-Z]+$/ {print $2}' \
  "$MODEL/language_model/lm.arpa" | awk 'NR % 13 == 0 && n++ < 976' | sed 's/$/:5/' \
  >> "$OUT/phrases1000.txt"
NOLM=$OUT/model_no_lm
mkdir -p "$NOLM"
for f in "$MODEL"/*; do
  [[ "$(basename "$f")" == language_model || -e "$NOLM/$(basename "$f")" ]] || ln -s "$f" "$NOLM/"
done

# seconds BIN MODEL FLAGS... : the best wall time of REPEATS runs over all logits, and over one.
time_run() {
  local bin=$1 model=$2; shift 2
  "$PY" - "$REPEATS" "$bin" "$model" "$OUT/logits" "$@" <<'PY'
import glob, resource, subprocess, sys
repeats, binary, model, logits = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
flags = sys.argv[5:]
files = sorted(glob.glob(logits + "/*.npy"))
def best(inputs):
    """The least CPU time (user + system) of `repeats` runs: steadier than wall time here."""
    out = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([binary, "--model", model, "--threads", "1", "--from-logits"] + flags + inputs,
                       check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(out)
print("%.4f %.4f" % (best(files * 5), best(files[:1])))  # every file 5 times: decoding >> load
PY
}

frames=$("$PY" -c 'import glob,numpy as n,sys; print(sum(n.load(f,mmap_mode="r").shape[0] for f in glob.glob(sys.argv[1]+"/*.npy")))' "$OUT/logits")
first=$("$PY" -c 'import glob,numpy as n,sys; print(n.load(sorted(glob.glob(sys.argv[1]+"/*.npy"))[0],mmap_mode="r").shape[0])' "$OUT/logits")
rows=()
run() {  # NAME BIN MODEL FLAGS...
  local name=$1; shift
  read -r all one < <(time_run "$@")
  rows+=("$name|$all|$one")
  echo "$name: all $all s, one file $one s" >&2
}
if [[ -n "${LACT_BASELINE_TRANSCRIBE:-}" ]]; then
  run "baseline binary: LM beam" "$LACT_BASELINE_TRANSCRIBE" "$MODEL"
fi
run "greedy" "$T" "$MODEL" --decoder greedy
run "LM beam, closed vocabulary" "$T" "$MODEL" --unk_penalty inf
run "LM beam (default: open)" "$T" "$MODEL"
run "LM beam + 24 boosts" "$T" "$MODEL" --boost_file "$OUT/terms.txt"
run "LM beam + 1000 boosts" "$T" "$MODEL" --boost_file "$OUT/phrases1000.txt"
run "no LM, beam" "$T" "$NOLM" --decoder beam
run "no LM, beam + 24 boosts" "$T" "$NOLM" --decoder beam --boost_file "$OUT/terms.txt"

printf '%s\n' "${rows[@]}" | "$PY" -c '
import json, sys
frames, first, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
audio_s = (5 * frames - first) * 0.02  # every file decoded 5 times, less the one-file run
rows = []
print("| setting | CPU, all (s) | CPU, one file (s) | decode, CPU ms per audio s |")
print("|---|---|---|---|")
for line in sys.stdin:
    name, total, one = line.strip().split("|")
    ms = (float(total) - float(one)) / audio_s * 1000
    rows.append({"setting": name, "total_s": float(total), "one_file_s": float(one),
                 "ms_per_audio_s": ms})
    print("| %s | %.2f | %.2f | %.2f |" % (name, float(total), float(one), ms))
json.dump({"frames": frames, "audio_s": frames * 0.02, "rows": rows}, open(out, "w"), indent=1)
' "$frames" "$first" "$OUT/bench_decode.json"
