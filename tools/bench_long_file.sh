#!/usr/bin/env bash
# Long files through lact_transcribe (issue 24, acceptance 4; docs/benchmarks.md "Long files
# offline"): one long-form chapter of synthetic speech (tools/make_synthetic_corpus.py
# --long_form, one speaker, drifting perturbations) joined into a single WAV of about MINUTES
# minutes, transcribed offline (the default path: past --max_offline_seconds it runs through the
# streaming window, read a block at a time) and with --streaming, both with the model's default
# decoder, and offline with --decoder greedy; prints peak RSS, wall time and WER/CER of each
# against the chapter's transcripts, and writes them to OUT/summary.txt.
#
#   tools/bench_long_file.sh BUILD_DIR MODEL_DIR OUT_DIR [MINUTES]     (default 20)
set -euo pipefail
if [ $# -lt 3 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && [ "$1" != "--help" ] && [ "$1" != "-h" ] && exit 2 || exit 0
fi
BUILD=$1; MODEL=$2; OUT=$3; MINUTES=${4:-20}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
corpus="$OUT/corpus"
if [ ! -d "$corpus/test" ]; then
  echo "bench_long_file: making a ${MINUTES}-minute long-form chapter (espeak-ng) in $corpus" >&2
  /usr/bin/python3 "$SRC/tools/make_synthetic_corpus.py" --out "$corpus" --long_form --chapters test=1 \
    --chapter_minutes "$(/usr/bin/python3 -c "print($MINUTES * 1.15)")" --speakers test=1 --seed 77 --quiet >&2
fi
chapter=$(find "$corpus/test" -name '*.trans.txt' | head -n 1)
dir=$(dirname "$chapter")
# The utterances in order, joined; the reference is their transcripts in the same order.
mapfile -t utts < <(cut -d' ' -f1 "$chapter")
files=(); for u in "${utts[@]}"; do files+=("$dir/$u.flac"); done
sox "${files[@]}" -r 16000 -c 1 -b 16 "$OUT/long.wav"
cut -d' ' -f2- "$chapter" | tr '\n' ' ' > "$OUT/reference.txt"
seconds=$(soxi -D "$OUT/long.wav")
echo "bench_long_file: $OUT/long.wav: ${#utts[@]} utterances, $seconds s" >&2

# run NAME ARGS...: transcribes long.wav; prints "NAME peak_rss_mb wall_s WER CER".
run() {
  local name=$1; shift
  echo "bench_long_file: $name ..." >&2
  /usr/bin/python3 - "$name" "$OUT" "$BUILD/core/lact_transcribe" --model "$MODEL" "$@" "$OUT/long.wav" <<'PY'
import resource, subprocess, sys, time
name, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.time()
res = subprocess.run(cmd, capture_output=True, text=True)
wall = time.time() - t0
if res.returncode != 0:
    sys.exit(f"{name}: exit {res.returncode}: {res.stderr.strip()}")
hyp = res.stdout.split("\t", 1)[1].strip()
open(f"{out}/{name}.txt", "w").write(hyp + "\n")
ref = open(f"{out}/reference.txt").read().split()

def dist(a, b):
    """Levenshtein distance, bit-parallel (Myers 1999 / Hyyro 2003): fast on 10^4-10^5 symbols."""
    m = len(a)
    if m == 0:
        return len(b)
    full, top = (1 << m) - 1, 1 << (m - 1)
    peq = {}
    for i, c in enumerate(a):
        peq[c] = peq.get(c, 0) | (1 << i)
    pv, mv, score = full, 0, m
    for c in b:
        eq = peq.get(c, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & full) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score

h = hyp.split()
wer = 100.0 * dist(ref, h) / len(ref)
cer = 100.0 * dist(list(" ".join(ref)), list(" ".join(h))) / len(" ".join(ref))
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{name}\t{rss:.0f}\t{wall:.1f}\t{wer:.2f}\t{cer:.2f}")
PY
}
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(basename "$MODEL") ${seconds}s $(nproc) cores"
  printf 'path\tpeak_rss_mb\twall_s\tWER\tCER\n'
  run offline
  run streaming --streaming
  run offline-greedy --decoder greedy
} | tee "$OUT/summary.txt"
