#!/usr/bin/env bash
# lact_transcribe on long files (issue 24, acceptance 4, the CI-sized check): an input longer than
# --max_offline_seconds is decoded through the streaming window, read a block at a time, so peak
# memory does not grow with the file (offline decoding grew with its square: 1.5 GB at 120 s of
# the demo model, OOM at 10 minutes), and the transcript is exactly --streaming's. The 20-minute
# demo-model figure is in docs/benchmarks.md ("Long files offline"; tools/bench_long_file.sh).
set -uo pipefail
BIN=${LACT_BIN:?}/core/lact_transcribe
FIX=${LACT_SRC:?}/tests/fixtures
MODEL=$FIX/tiny_group
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

# Speech-like noise: 2 and 8 minutes, and a FLAC copy of the longer one.
sox -n -r 16000 -c 1 -b 16 "$tmp/2min.wav" synth 120 pinknoise vol 0.3 tremolo 3 90 2>/dev/null
sox -n -r 16000 -c 1 -b 16 "$tmp/8min.wav" synth 480 pinknoise vol 0.3 tremolo 3 90 2>/dev/null
sox "$tmp/8min.wav" "$tmp/8min.flac"

# peak_rss_mb ARGS...: runs lact_transcribe, prints "<peak RSS MB>" to stdout, its output to $tmp/out.
peak_rss_mb() {
  /usr/bin/python3 - "$BIN" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[-1] + ".out", "w") as out:
    rc = subprocess.call(sys.argv[1:], stdout=out, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, rc)
PY
}

read -r rss2 rc2 < <(peak_rss_mb --model "$MODEL" "$tmp/2min.wav")
read -r rss8 rc8 < <(peak_rss_mb --model "$MODEL" "$tmp/8min.wav")
read -r rssf rcf < <(peak_rss_mb --model "$MODEL" "$tmp/8min.flac")
echo "peak RSS: 2 min ${rss2} MB, 8 min ${rss8} MB, 8 min FLAC ${rssf} MB (rc $rc2 $rc8 $rcf)"
if [ "$rc2" -ne 0 ] || [ "$rc8" -ne 0 ] || [ "$rcf" -ne 0 ]; then echo "FAIL a run failed"; fail=1; fi
# Flat: four times the audio may add the audio's own buffers, not a quadratic attention matrix
# (8 min offline with this model would need ~24,000^2 floats per head and layer: gigabytes).
if [ $(( rss8 - rss2 )) -gt 40 ] || [ $(( rssf - rss2 )) -gt 40 ]; then
  echo "FAIL memory grows with the file: ${rss2} -> ${rss8} / ${rssf} MB"; fail=1
else echo "ok   flat memory"; fi

# The transcript is --streaming's, word for word.
"$BIN" --model "$MODEL" --streaming "$tmp/8min.wav" > "$tmp/streaming.out" 2>/dev/null
if cmp -s "$tmp/8min.wav.out" "$tmp/streaming.out"; then echo "ok   long offline = --streaming"
else echo "FAIL long offline differs from --streaming"; diff "$tmp/8min.wav.out" "$tmp/streaming.out" | head -5; fail=1; fi

# Within the bound nothing changes: offline as before (a 60 s input with --max_offline_seconds 60
# decodes offline; the same input with a lower bound through the streaming window).
sox "$tmp/2min.wav" "$tmp/50s.wav" trim 0 50
"$BIN" --model "$MODEL" "$tmp/50s.wav" > "$tmp/offline50.out" 2>/dev/null
"$BIN" --model "$MODEL" --max-offline-seconds 10 "$tmp/50s.wav" > "$tmp/bounded50.out" 2>/dev/null
"$BIN" --model "$MODEL" --streaming "$tmp/50s.wav" > "$tmp/streaming50.out" 2>/dev/null
if cmp -s "$tmp/bounded50.out" "$tmp/streaming50.out" && [ -s "$tmp/offline50.out" ]; then
  echo "ok   --max_offline_seconds picks the path"
else echo "FAIL --max_offline_seconds"; fail=1; fi
exit $fail
