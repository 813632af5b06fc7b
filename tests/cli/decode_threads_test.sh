#!/usr/bin/env bash
# Decoding off the model worker (--decode_threads, issue 22): with the demo model and its LM
# (beam search), the server decoding on 4 threads gives byte-identical results to the server
# decoding on its model worker (--decode_threads 0): the eval client's transcripts and final
# counts over 4 concurrent LibriSpeech streams, per utterance and joined per chapter (--long_form:
# several endpointed finals per stream), and lact_stream's timed finals of a chapter. /metrics
# has one decode per stream step and the model worker's idle time; bad values are refused.
source "$(dirname "$0")/server_lib.sh"
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
sox $(find "$SAMPLE/1089/134686" -name '*.flac' | sort) "$tmp/chapter.wav"
run() {  # NAME DECODE_THREADS
  local name=$1 threads=$2
  start_server -- --model "$SRC/models/demo" --threads 1 --warmup_seconds 0 \
    --decode_threads "$threads" --metrics_port 0
  grep -q "decode_threads=$threads " "$tmp/server.log" || { cat "$tmp/server.log"; fail "config line"; }
  for mode in utterances long_form; do
    local extra=(); [ "$mode" = long_form ] && extra=(--long_form)
    "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
      --num_parallel_requests 4 --interim_results --output_dir "$tmp/$name-$mode" "${extra[@]}" \
      > "$tmp/$name-$mode.log" 2>&1 || { cat "$tmp/$name-$mode.log"; fail "client $name $mode"; }
  done
  "$BIN/client/lact_stream" --server "127.0.0.1:$port" --realtime=false --interim=false \
    "$tmp/chapter.wav" > "$tmp/$name-stream.txt" 2> "$tmp/$name-stream.log" \
    || { cat "$tmp/$name-stream.log"; fail "lact_stream $name"; }
  metrics_port=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics_port"])' "$tmp/ready.json")
  curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$tmp/$name-metrics.txt" || fail "metrics $name"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
run worker 0
run pool 4
cmp "$tmp/worker-stream.txt" "$tmp/pool-stream.txt" || fail "lact_stream's finals differ with --decode_threads 4"
[ "$(grep -c . "$tmp/pool-stream.txt")" -ge 2 ] || { cat "$tmp/pool-stream.txt"; fail "expected several finals"; }
"$PY" - "$tmp" <<'PY' || fail "results differ with --decode_threads 4"
import csv, re, sys
tmp = sys.argv[1]
def rows(name):
    return {r["id"]: (r["hypothesis"], r["finals"]) for r in csv.DictReader(open(f"{tmp}/{name}/results.csv"))}
for mode, n in (("utterances", 4), ("long_form", 2)):
    worker, pool = rows(f"worker-{mode}"), rows(f"pool-{mode}")
    assert len(worker) == n and all(h for h, _ in worker.values()), worker
    assert pool == worker, (mode, pool, worker)
assert any(int(f) > 1 for _, f in rows("pool-long_form").values()), "no stream had several finals"
for name in ("worker", "pool"):
    m = open(f"{tmp}/{name}-metrics.txt").read()
    value = lambda key: float(re.search(rf"^{key} (\S+)$", m, re.M).group(1))
    decodes, batches = value("lact_decode_seconds_count"), value("lact_batch_size_count")
    assert value("lact_batch_size_sum") >= decodes >= batches > 0, (name, decodes, batches)
    assert value("lact_model_idle_seconds_total") > 0, name
print("ok   transcripts, final counts and timed finals equal with --decode_threads 0 and 4")
PY
for bad in -2 65 x; do
  if "$BIN/server/lact_server" --model "$SRC/models/demo" --decode_threads "$bad" --port 0 \
       > "$tmp/bad.log" 2>&1; then fail "--decode_threads $bad accepted"; fi
  grep -q "decode_threads" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no message for $bad"; }
done
echo "decode_threads_test: OK"
