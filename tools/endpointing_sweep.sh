#!/usr/bin/env bash
# How the endpointing defaults were chosen (docs/server.md, "Endpointing"): long-form chapters of
# the demo model's espeak-ng speech (tools/make_synthetic_corpus.py --long_form), each joined into
# one file; the pauses >= 600 ms counted from the audio (10 ms frames within 6 dB of the local
# noise floor, the 10th percentile of the surrounding 10 s: the rule of
# tests/server/server_endpointing_test.cc); then `lact_transcribe --segments` at each stop window
# (--endpointing_stop_history_ms), counting utterances (target: pauses + 1) and scoring the joined
# text against the chapter's transcripts, next to --endpointing off.
#
#   tools/endpointing_sweep.sh [BUILD_DIR] [CHAPTERS] [STOP_HISTORIES_MS...]
#   tools/endpointing_sweep.sh build 3 500 800 1200
set -euo pipefail
BUILD=${1:-build}
CHAPTERS=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
STOPS=("${@:-500 800 1200}")
read -r -a STOPS <<< "${STOPS[*]}"
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "[sweep] making $CHAPTERS chapters of 4 minutes" >&2
"$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$tmp/synth" --long_form --chapters "$CHAPTERS" \
  --chapter_minutes 4 --jobs 2 --quiet 2> "$tmp/corpus.log"
printf "chapter\tseconds\tpauses\tsetting\tutterances\twer\n"
for chapter in $(find "$tmp/synth/test" -mindepth 2 -maxdepth 2 -type d | sort); do
  name=$(basename "$chapter")
  sox $(find "$chapter" -name '*.flac' | sort) "$tmp/$name.wav"
  cat "$chapter"/*.trans.txt | sort | cut -d' ' -f2- | tr '\n' ' ' > "$tmp/$name.ref"
  runs=("off:--endpointing=off --streaming")
  for stop in "${STOPS[@]}"; do runs+=("stop_${stop}ms:--segments --endpointing_stop_history_ms=$stop"); done
  for run in "${runs[@]}"; do
    echo "[sweep] $name ${run%%:*}" >&2
    # shellcheck disable=SC2086
    "$BUILD/core/lact_transcribe" --model "$SRC/models/demo" ${run#*:} "$tmp/$name.wav" > "$tmp/out.txt"
    "$PY" - "$tmp/$name.wav" "$tmp/$name.ref" "$tmp/out.txt" "${run%%:*}" "$name" "$SRC/tests/client" <<'PY'
import subprocess, sys
import numpy as np
wav, ref, out, setting, name, scorer = sys.argv[1:7]
sys.path.insert(0, scorer)
import score_reference as sr
raw = subprocess.run(["sox", wav, "-t", "raw", "-e", "float", "-b", "32", "-c", "1", "-r", "16000", "-"],
                     capture_output=True, check=True).stdout
x = np.frombuffer(raw, dtype=np.float32).astype(np.float64)
hop = 160
frames = x[: len(x) // hop * hop].reshape(-1, hop)
db = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-10)
half = 500
quiet = np.array([db[i] < np.sort(db[max(0, i - half): i + half])[len(db[max(0, i - half): i + half]) // 10] + 6
                  for i in range(len(db))])
pauses, run, seen = 0, 0, False
for q in quiet:
    if q:
        run += 1
        continue
    if seen and run * 10 >= 600:
        pauses += 1
    seen, run = True, 0
lines = [l.rstrip("\n").split("\t") for l in open(out) if l.strip()]
if setting == "off":
    hyp, utterances = lines[0][1] if len(lines[0]) > 1 else "", 1
else:
    hyp, utterances = " ".join(l[3] for l in lines), len(lines)
c = sr.counts(open(ref).read().strip(), hyp)["words"]
wer = 100.0 * (c["S"] + c["D"] + c["I"]) / c["N"]
print(f"{name}\t{len(x) / 16000:.1f}\t{pauses}\t{setting}\t{utterances}\t{wer:.2f}")
PY
  done
done
