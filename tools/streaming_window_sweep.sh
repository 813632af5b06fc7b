#!/usr/bin/env bash
# How far streaming windows move the encoder output away from offline decoding, and what they
# cost: for each (step, left context, lookahead), lact_transcribe --streaming --dump-hidden vs
# the offline --dump-hidden on the same file, and the wall time of each.
#   tools/streaming_window_sweep.sh MODEL_DIR AUDIO [BUILD_DIR]
set -euo pipefail
MODEL=$1; AUDIO=$2; BUILD=${3:-build}
T=$BUILD/core/lact_transcribe
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
s0=$(date +%s.%N)
"$T" --model "$MODEL" --lact off --threads "${THREADS:-2}" --dump-hidden "$tmp/off_h.npy" --dump-logits "$tmp/off_l.npy" "$AUDIO" > /dev/null
s1=$(date +%s.%N)
offline=$(echo "$s1 - $s0" | bc)
echo "offline: ${offline}s"
printf '%-8s %-8s %-10s %-14s %-12s %-10s %-8s\n' step_ms left_ms lookahead_ms rel_hidden_err argmax_agree wall_s vs_offline
for cfg in ${CONFIGS:-"640 2560 640" "640 1280 320" "640 5120 1280" "320 2560 640" "1280 2560 640" "640 2560 0"}; do
  set -- $cfg
  s0=$(date +%s.%N)
  "$T" --model "$MODEL" --lact off --threads "${THREADS:-2}" --streaming --step-ms "$1" --left-context-ms "$2" --lookahead-ms "$3" \
    --dump-hidden "$tmp/h.npy" --dump-logits "$tmp/l.npy" "$AUDIO" > /dev/null
  s1=$(date +%s.%N)
  wall=$(echo "$s1 - $s0" | bc)
  /usr/bin/python3 - "$tmp" "$1" "$2" "$3" "$wall" "$offline" <<'PY'
import sys, numpy as np
d, step, left, la, wall, off = sys.argv[1:]
h0, h = np.load(d + "/off_h.npy"), np.load(d + "/h.npy")
l0, l = np.load(d + "/off_l.npy"), np.load(d + "/l.npy")
rel = np.abs(h - h0).mean() / np.abs(h0).mean()
agree = (l.argmax(-1) == l0.argmax(-1)).mean()
print(f"{step:<8} {left:<8} {la:<10} {rel:<14.4f} {agree:<12.4f} {float(wall):<10.2f} {float(wall)/float(off):<8.2f}")
PY
done
