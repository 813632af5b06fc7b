#!/usr/bin/env bash
# Bad input to lact_transcribe gives one clear line on stderr and a non-zero exit, never a crash:
# missing folder, missing or corrupt model.safetensors, wrong tensor shape, unreadable or empty
# audio, bad flags.
set -uo pipefail
BIN=${LACT_BIN:?}/core/lact_transcribe
FIX=${LACT_SRC:?}/tests/fixtures
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
WAV=$FIX/tiny_group/expected/input.wav
fail=0

# expect_error NAME PATTERN ARGS...: exit status 1 or 2, exactly one stderr line matching PATTERN.
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$BIN" "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$? lines
  lines=$(wc -l < "$tmp/err")
  if { [ $rc -ne 1 ] && [ $rc -ne 2 ]; } || [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" "$tmp/err"; then
    echo "FAIL $name: rc=$rc, $lines stderr lines:"; sed 's/^/    /' "$tmp/err"; fail=1
  else
    echo "ok   $name: $(cat "$tmp/err")"
  fi
}

model() {  # a copy of the tiny model to break
  rm -rf "$tmp/m"; mkdir -p "$tmp/m"; cp "$FIX/tiny_group"/*.json "$FIX/tiny_group/model.safetensors" "$tmp/m/"
}

expect_error "missing folder" "does not exist" --model "$tmp/nope" "$WAV"
model; rm "$tmp/m/model.safetensors"
expect_error "missing model.safetensors" "model.safetensors" --model "$tmp/m" "$WAV"
model; head -c 1000 "$FIX/tiny_group/model.safetensors" > "$tmp/m/model.safetensors"
expect_error "truncated model.safetensors" "model.safetensors" --model "$tmp/m" "$WAV"
model; printf 'garbage that is not a safetensors file at all' > "$tmp/m/model.safetensors"
expect_error "corrupt model.safetensors" "not a valid safetensors" --model "$tmp/m" "$WAV"
model; sed -i 's/"hidden_size": 32/"hidden_size": 64/' "$tmp/m/config.json"
expect_error "wrong tensor shape" "has shape" --model "$tmp/m" "$WAV"
model; sed -i 's/"intermediate_size": 64/"intermediate_size": 48/' "$tmp/m/config.json"
expect_error "wrong tensor shape (names the key)" "intermediate_dense" --model "$tmp/m" "$WAV"
model; printf '{not json' > "$tmp/m/config.json"
expect_error "corrupt config.json" "config.json" --model "$tmp/m" "$WAV"
model; printf '{"<pad>": 0}' > "$tmp/m/vocab.json"
expect_error "vocab size mismatch" "vocab" --model "$tmp/m" "$WAV"
expect_error "missing audio file" "nope.wav" --model "$FIX/tiny_group" "$tmp/nope.wav"
printf 'this is not audio' > "$tmp/bad.wav"
expect_error "unreadable audio" "bad.wav" --model "$FIX/tiny_group" "$tmp/bad.wav"
sox -n -r 16000 -c 1 -b 16 "$tmp/empty.wav" trim 0 0 2>/dev/null
expect_error "empty audio" "empty" --model "$FIX/tiny_group" "$tmp/empty.wav"
sox -n -r 16000 -c 1 -b 16 "$tmp/short.wav" trim 0 0.01 2>/dev/null
expect_error "too short audio" "too short" --model "$FIX/tiny_group" "$tmp/short.wav"
expect_error "bad --lact" "--lact" --model "$FIX/tiny_group" --lact maybe "$WAV"
expect_error "bad --device" "device" --model "$FIX/tiny_group" --device tpu "$WAV"
expect_error "no audio" "no audio" --model "$FIX/tiny_group"
# Decoding (docs/language_model.md): bad settings, a missing or broken language model, logits input.
expect_error "bad --decoder" "decoder must be auto, greedy or beam" --model "$FIX/tiny_group" --decoder viterbi "$WAV"
expect_error "bad --beam_size" "beam_size" --model "$FIX/tiny_group" --beam-size 0 "$WAV"
# Phrase boosting (--boost, --boost_file): bad items, characters the model cannot spell, a greedy
# decoder, a missing list file, a bad --unk_penalty.
expect_error "boost without phrase" "--boost: an empty phrase" --model "$FIX/tiny_group" --boost ":3" "$WAV"
expect_error "boost not a number" "--boost: 'cat:lots'" --model "$FIX/tiny_group" --boost "cat:lots" "$WAV"
expect_error "boost not finite" "finite number" --model "$FIX/tiny_group" --boost "cat:inf" "$WAV"
expect_error "boost unspellable" "cannot spell" --model "$FIX/tiny_group" --boost "$(printf 'caf\303\251:3')" "$WAV"
expect_error "boost with greedy" "--boost needs the beam search" --model "$FIX/tiny_group" --decoder greedy --boost "cat:3" "$WAV"
expect_error "boost_file missing" "--boost_file: $tmp/none.txt: cannot read" --model "$FIX/tiny_group" --boost_file "$tmp/none.txt" "$WAV"
printf 'cat:2\n# a comment\n\ndog:x\n' > "$tmp/boost.txt"
expect_error "boost_file bad line" "boost.txt:4: 'dog:x'" --model "$FIX/tiny_group" --boost_file "$tmp/boost.txt" "$WAV"
expect_error "negative unk_penalty" "unk_penalty -1 must be >= 0" --model "$FIX/tiny_group" --decoder beam --unk_penalty -1 "$WAV"
model; mkdir "$tmp/m/language_model"
expect_error "empty language_model/" "exactly one \*.arpa" --model "$tmp/m" "$WAV"
printf '\\data\\\nngram 1=2\n\\1-grams:\n-1 A\n' > "$tmp/m/language_model/lm.arpa"
expect_error "truncated ARPA" "lm.arpa: no \\\\end" --model "$tmp/m" "$WAV"
expect_error "logits of the wrong width" "logits must be float \[frames" --model "$FIX/tiny_group" \
  --from-logits "$FIX/npy/f4_2x3.npy"
expect_error "--from-logits with --streaming" "cannot be combined" --model "$FIX/tiny_group" \
  --from-logits --streaming "$FIX/npy/f4_2x3.npy"

# Files that lie or were cut short (issue 24): a truncated FLAC that declares its length, a
# header claiming 1 Hz (2 KB of samples would be half an hour), and a long input with --dump-*.
sox -n -r 16000 -c 1 -b 16 "$tmp/whole.flac" synth 3 pinknoise vol 0.3 2>/dev/null
head -c $(( $(stat -c %s "$tmp/whole.flac") / 2 )) "$tmp/whole.flac" > "$tmp/half.flac"
expect_error "truncated FLAC" "is truncated: its FLAC header declares 48000 samples" --model "$FIX/tiny_group" "$tmp/half.flac"
expect_error "truncated FLAC, --streaming" "is truncated" --model "$FIX/tiny_group" --streaming "$tmp/half.flac"
librispeech=$(find "${LACT_SRC}/../shared/data/librispeech-sample" -name "*.flac" 2>/dev/null | sort | head -n 1)
if [ -n "$librispeech" ]; then
  head -c $(( $(stat -c %s "$librispeech") / 2 )) "$librispeech" > "$tmp/librispeech-half.flac"
  expect_error "truncated LibriSpeech FLAC" "is truncated" --model "$FIX/tiny_group" "$tmp/librispeech-half.flac"
fi
/usr/bin/python3 - "$tmp/one-hz.wav" <<'PY'
import sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(1); w.writeframes(b"\x01\x00" * 1000)
PY
expect_error "1 Hz header" "says 1 Hz, outside" --model "$FIX/tiny_group" "$tmp/one-hz.wav"
sox -n -r 16000 -c 1 -b 16 "$tmp/long.wav" synth 61 pinknoise vol 0.3 2>/dev/null
expect_error "--dump-logits of a long input" "at most --max_offline_seconds (60 s); this one is 61 s" \
  --model "$FIX/tiny_group" --dump-logits "$tmp/long.npy" "$tmp/long.wav"
[ ! -e "$tmp/long.npy" ] && echo "ok   no dump written" || { echo "FAIL a dump was written"; fail=1; }
expect_error "bad --max_offline_seconds" "max_offline_seconds must be > 0" --model "$FIX/tiny_group" \
  --max-offline-seconds 0 "$WAV"

# One bad file among good ones: the good ones are still transcribed, exit status 1.
"$BIN" --model "$FIX/tiny_group" "$WAV" "$tmp/bad.wav" "$WAV" > "$tmp/out" 2> "$tmp/err"; rc=$?
if [ $rc -ne 1 ] || [ "$(wc -l < "$tmp/out")" -ne 2 ]; then
  echo "FAIL mixed good and bad files: rc=$rc"; cat "$tmp/out" "$tmp/err"; fail=1
else echo "ok   mixed good and bad files"; fi

# Any sample rate and channel count: a 44.1 kHz stereo copy transcribes (resampled, mixed down).
sox "$WAV" -r 44100 -c 2 "$tmp/stereo44.flac" 2>/dev/null
if "$BIN" --model "$FIX/tiny_group" "$tmp/stereo44.flac" > "$tmp/out" 2>/dev/null && [ -s "$tmp/out" ]; then
  echo "ok   44.1 kHz stereo FLAC"
else echo "FAIL 44.1 kHz stereo FLAC"; fail=1; fi

"$BIN" --help > "$tmp/help" 2>&1
grep -q -- "--model" "$tmp/help" && grep -q -- "dump_logits" "$tmp/help" && echo "ok   --help" || { echo "FAIL --help"; fail=1; }
exit $fail
