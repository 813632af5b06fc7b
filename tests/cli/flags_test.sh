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
for entry in server/lact_server:lact_server client/lact_health_probe:SERVING \
             train/lact_train:lact_train core/lact_bench:lact_bench \
             client/lact_eval_client:lact_eval_client train/lact_study_eval:lact_study_eval; do
  bin=$B/${entry%%:*} word=${entry#*:} name=$(basename "${entry%%:*}")
  [ -x "$bin" ] || { echo "skip $name (not built)"; continue; }
  checked=$((checked + 1))
  check "$name --help" nonzero "$word" "$bin" --help
  check "$name stray argument" 2 "$name: unexpected argument 'stray' (flags only" "$bin" stray
  check "$name unknown flag" nonzero "no_such_flag" "$bin" --no-such-flag=1
done

# --help lists every flag a binary takes, its shared flag groups' included (abseil shows only the
# flags of files named like the program unless told otherwise), and no group it does not take.
# help_lists yes|no BIN FLAG...: each --FLAG is (yes) or is not (no) in BIN's --help.
help_lists() {
  local want=$1 bin=$2; shift 2
  [ -x "$B/$bin" ] || return 0
  "$B/$bin" --help > "$tmp/help" 2>&1
  for f in "$@"; do
    local listed=no
    grep -q -- "--$f " "$tmp/help" && listed=yes
    [ "$listed" = "$want" ] || { echo "FAIL $(basename "$bin") --help: --$f listed=$listed, want $want"; fail=1; }
  done
}
has_flags() { help_lists yes "$@"; }
lacks_flags() { help_lists no "$@"; }
has_flags server/lact_server model device dtype lact threads onednn_linear fused_attention step_ms left_context_ms lookahead_ms \
  max_batch decoder beam_size lm_weight word_score token_threshold port max_streams endpointing \
  endpointing_stop_history_ms max_utterance_seconds warmup_seconds first_partial_ms window_batching decode_threads \
  calibrate_confidence unk_penalty max_speech_context_phrases max_speech_context_phrase_chars \
  max_speech_context_boost recognize_step_ms recognize_context_ms recognize_max_batch
has_flags core/lact_transcribe model device dtype lact threads onednn_linear fused_attention step_ms decoder beam_size streaming max_alternatives \
  segments format segments_dir endpointing max_utterance_seconds lact_scope calibrate_confidence \
  unk_penalty boost boost_file
has_flags core/lact_bench model device dtype lact threads onednn_linear step_ms max_batch window_batching streams profile_steps \
  random_posteriors profile_ops profile_batch cudnn_benchmark fused_attention check_attention
has_flags train/lact_train threads mode device dtype max_minutes state_cache train_top_layers top_layers_lr_scale
lacks_flags train/lact_train onednn_linear  # training keeps torch::linear: the flag would do nothing
lacks_flags train/lact_train model lact step_ms decoder lact_scope
# lact_study_eval decodes as lact_server does: the server's window, decoder and endpointing flags.
has_flags train/lact_study_eval model lact lact_scope lact_updates step_ms decoder beam_size \
  endpointing state_cache corpus chapters max_chapters words_out unk_penalty
lacks_flags server/lact_server lact_scope lact_updates
lacks_flags core/lact_bench lact_scope
has_flags client/lact_eval_client lact offline use_ssl ssl_root_cert ssl_cert ssl_key ssl_target_name auth_token word_confidence max_alternatives \
  fit_confidence boost boost_file
lacks_flags client/lact_eval_client model threads decoder
has_flags client/lact_health_probe use_ssl ssl_root_cert ssl_cert ssl_key ssl_target_name address
lacks_flags client/lact_health_probe lact model server auth_token
has_flags client/lact_stream server use_ssl ssl_root_cert auth_token auth_token_file lact realtime \
  pcm_rate events
lacks_flags client/lact_stream model threads decoder librispeech

# --lact: one vocabulary; a value a binary does not take is refused with the values it does.
if [ -x "$B/server/lact_server" ]; then
  check "lact_server --lact both" 2 "lact must be auto, on, off here" "$B/server/lact_server" --lact both --port 0
  check "lact_server --lact maybe" nonzero "must be auto, on, off or both" "$B/server/lact_server" --lact=maybe
  # The old boolean spellings still parse, with their old meaning (the config line is logged
  # before the missing model fails the start).
  for spelling in "--nolact:lact=off" "--lact=false:lact=off" "--lact:lact=on" "--lact=true:lact=on" \
                  "--lact=auto:lact=on"; do
    check "lact_server ${spelling%%:*}" 1 "${spelling#*:} " "$B/server/lact_server" "${spelling%%:*}" \
      --model "$tmp/no_model" --port 0 --metrics_port -1
  done
fi
if [ -x "$B/core/lact_bench" ]; then
  check "lact_bench --lact auto" 2 "lact must be on, off, both here" "$B/core/lact_bench" --lact auto
  check "lact_bench --random_posteriors" 2 "random_posteriors must be speechlike or uniform" \
    "$B/core/lact_bench" --random_posteriors peaky --save_random_model "$tmp/random"
  check "lact_bench --profile_batch 0" 2 "profile_batch must be in \\[1, 4096\\], got 0" \
    "$B/core/lact_bench" --profile_batch 0 --profile_ops 1
fi

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
  check "lact_transcribe --lact both" 2 "lact must be auto, on, off here" "$T" --lact both "$tmp/a.wav"
fi

# lact_stream takes files (or '-'): the same usage rules.
if [ -x "$B/client/lact_stream" ]; then
  checked=$((checked + 1))
  check "lact_stream --help" nonzero "Streams audio to lact_server" "$B/client/lact_stream" --help
  check "lact_stream no input" 2 "no input" "$B/client/lact_stream"
  check "lact_stream unknown flag" nonzero "no_such_flag" "$B/client/lact_stream" --no-such-flag=1
  check "lact_stream --lact both" 2 "lact must be auto, on, off here" "$B/client/lact_stream" --lact both -
fi
if [ -x "$T" ]; then
  check "lact_transcribe --format xml" 2 "format must be text, srt, vtt or json" "$T" --format xml "$tmp/a.wav"
  check "lact_transcribe --format srt two files" 2 "give --segments_dir" "$T" --format srt "$tmp/a.wav" "$tmp/b.wav"
  check "lact_transcribe --segments --format json" 2 "cannot be combined" "$T" --segments --format json "$tmp/a.wav"
  check "lact_transcribe --endpointing maybe" 2 "endpointing must be on or off" "$T" --endpointing maybe "$tmp/a.wav"
  check "lact_transcribe --max_utterance_seconds 0.5" 2 "max_utterance_seconds" "$T" --segments --max_utterance_seconds 0.5 "$tmp/a.wav"
fi
if [ -x "$B/server/lact_server" ]; then
  check "lact_server --endpointing_stop_threshold 2" 2 "stop_threshold" "$B/server/lact_server" \
    --endpointing_stop_threshold 2 --port 0 --metrics_port -1
fi

[ $checked -gt 0 ] || { echo "no binaries built"; exit 77; }
exit $fail
