#!/usr/bin/env bash
# Every binary answers --help with its usage, and rejects what it cannot use with one line on
# stderr and a non-zero exit before doing any work: an unknown flag, and a stray positional
# argument where it takes none (a value given twice or a forgotten `--` used to be ignored by
# lact_train and lact_bench). Dashed and underscored flag spellings are the same flag.
set -uo pipefail
B=${LACT_BIN:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0 checked=0

# check NAME WANT_RC PATTERN CMD...: exit status WANT_RC ("nonzero": any but 0) and PATTERN in
# stdout+stderr.
check() {
  local name=$1 want=$2 pattern=$3; shift 3
  timeout 60 "$@" > "$tmp/out" 2>&1 < /dev/null
  local rc=$?
  if { [ "$want" = nonzero ] && [ $rc -eq 0 ]; } || { [ "$want" != nonzero ] && [ $rc -ne "$want" ]; } \
     || ! grep -q -- "$pattern" "$tmp/out"; then
    echo "FAIL $name: rc=$rc (want $want), output:"; head -5 "$tmp/out" | sed 's/^/    /'; fail=1
  else
    echo "ok   $name"
  fi
}

# Tools without positional arguments, and a word of their usage text.
for entry in server/lact_server:lact_server server/lact_health_probe:SERVING \
             train/lact_train:lact_train core/lact_bench:lact_bench \
             client/lact_eval_client:lact_eval_client; do
  bin=$B/${entry%%:*} word=${entry#*:} name=$(basename "${entry%%:*}")
  [ -x "$bin" ] || { echo "skip $name (not built)"; continue; }
  checked=$((checked + 1))
  check "$name --help" nonzero "$word" "$bin" --help
  check "$name stray argument" 2 "$name: unexpected argument 'stray' (flags only" "$bin" stray
  check "$name unknown flag" nonzero "no_such_flag" "$bin" --no-such-flag=1
done

# lact_transcribe takes files: its flags parse in both spellings, and the files are what is left.
T=$B/core/lact_transcribe
if [ -x "$T" ]; then
  checked=$((checked + 1))
  check "lact_transcribe --help" nonzero "Transcribes audio files" "$T" --help
  check "lact_transcribe dashed flag" 2 "--dump-\* needs exactly one" \
    "$T" --dump-logits "$tmp/x.npy" "$tmp/a.wav" "$tmp/b.wav"
  check "lact_transcribe underscored flag" 2 "--dump-\* needs exactly one" \
    "$T" --dump_logits "$tmp/x.npy" "$tmp/a.wav" "$tmp/b.wav"
  check "lact_transcribe no files" 2 "no audio files" "$T"
fi

[ $checked -gt 0 ] || { echo "no binaries built"; exit 77; }
exit $fail
