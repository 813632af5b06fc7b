#!/usr/bin/env bash
# The LaCT experiment of docs/lact_results.md: long-form streams (one speaker for minutes, drifting
# perturbations; tools/make_synthetic_corpus.py --long_form) through lact_server at its default
# streaming settings, scored by lact_eval_client --long_form, for three settings of one model
# folder that holds a trained LaCT stack:
#   baseline   LaCT off (the frozen model alone)                      --lact off
#   lact       LaCT on: adapter + test-time training across chunks    --lact on
#   no-ttt     LaCT on with chunk_size larger than any stream: the trained adapter with its
#              initial fast weights, never updated (separates "an extra layer" from "adaptation")
#   tools/lact_longform_eval.sh BUILD_DIR MODEL_DIR CORPUS_DIR SPLIT OUT_DIR
set -euo pipefail
BUILD=$1; MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5
mkdir -p "$OUT"
tmp=$(mktemp -d); srv=""
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

run() {  # run NAME MODEL_DIR LACT(on|off|both)
  local name=$1 model=$2 lact=$3
  rm -f "$tmp/ready.json"
  "$BUILD/server/lact_server" --model "$model" --host 127.0.0.1 --port 0 --metrics_port -1 \
    --ready_file "$tmp/ready.json" --max_stream_seconds 3600 > "$OUT/$name.server.log" 2>&1 &
  srv=$!
  for _ in $(seq 1 300); do [ -s "$tmp/ready.json" ] && break; sleep 0.1; done
  local port
  port=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['port'])" "$tmp/ready.json")
  "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$CORPUS" --split "$SPLIT" \
    --long_form --lact "$lact" --num_parallel_requests 2 --progress=false \
    --output_dir "$OUT/$name" > "$OUT/$name.client.log" 2>&1
  kill $srv; wait $srv 2>/dev/null || true; srv=""
}

run main "$MODEL" both
# The same weights with updates disabled: a copy of the folder whose chunk never fills.
mkdir -p "$tmp/nottt"
for f in "$MODEL"/*; do ln -s "$(realpath "$f")" "$tmp/nottt/"; done
rm "$tmp/nottt/lact_config.json"
/usr/bin/python3 - "$MODEL/lact_config.json" "$tmp/nottt/lact_config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["chunk_size"] = 1 << 30
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
run no-ttt "$tmp/nottt" on

/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = []
for name, lact, label in (("main", "off", "baseline (LaCT off)"), ("no-ttt", "on", "LaCT adapter, no updates"),
                          ("main", "on", "LaCT on (test-time training)")):
    s = json.load(open(f"{out}/{name}/summary.json"))
    v = [x for x in s["settings"] if x["lact"] == lact][0]
    rows.append((label, v["utterances"], v["audio_s"], 100 * v["wer"], 100 * v["cer"]))
print("| setting | streams | audio (s) | WER % | CER % |")
print("|---|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]:.0f} | {r[3]:.2f} | {r[4]:.2f} |")
PY
