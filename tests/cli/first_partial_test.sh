#!/usr/bin/env bash
# Early partials through the server (--first_partial_ms): on the LibriSpeech sample with the demo
# model (do_normalize: the running normaliser sees the pieces fed), the transcripts are the same
# as with --first_partial_ms 0, whether the client sends faster than real time (the server feeds
# from a backlog) or in real time (audio arrives as it is fed); in real time the first interim
# result comes earlier than with --first_partial_ms 0 (which waits for step + lookahead of audio,
# 1.28 s, plus the step's compute: compared run against run, so a slower CPU does not decide).
source "$(dirname "$0")/server_lib.sh"
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
run() {  # NAME FIRST_PARTIAL_MS [client flags...]
  local name=$1 fp=$2; shift 2
  start_server -- --model "$SRC/models/demo" --threads 1 --warmup_seconds 0 --first_partial_ms "$fp"
  "$BIN/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$SAMPLE" --split . \
    --num_parallel_requests 4 --interim_results --lact auto --output_dir "$tmp/$name" "$@" \
    > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; fail "client $name"; }
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
run off 0
run early 200
run realtime 200 --simulate_realtime
run realtime_off 0 --simulate_realtime
"$PY" - "$tmp" <<'PY' || fail "early partials changed the transcripts or came no earlier"
import csv, json, sys
tmp = sys.argv[1]
def hyps(name):
    return {r["id"]: r["hypothesis"] for r in csv.DictReader(open(f"{tmp}/{name}/results.csv"))}
off, early, rt = hyps("off"), hyps("early"), hyps("realtime")
assert len(off) == 4 and any(off.values()), off
assert early == off, (early, off)
assert rt == off, (rt, off)
def first(name):
    return sorted(float(r["first_interim_ms"]) for r in csv.DictReader(open(f"{tmp}/{name}/results.csv")))
early_first, off_first = first("realtime"), first("realtime_off")
median = lambda v: v[len(v) // 2]
assert off_first and median(off_first) >= 1280, off_first  # step + lookahead of audio at least
assert median(early_first) < median(off_first) - 300, (early_first, off_first)
print(f"ok   transcripts equal over 3 runs; real-time first interim {early_first} ms, "
      f"without early partials {off_first} ms")
PY
echo "first_partial_test: OK"
