#!/usr/bin/env bash
# Accuracy of the reduced encoder precisions against float32 (issue 22, docs/benchmarks.md
# "Precision on the CPU"), for each DTYPE:
#   logits   lact_transcribe --dump-logits (offline) on the first LIMIT files of the split, in
#            float32 and in DTYPE: the largest relative logit error (max |a - b| / max |a| per
#            file, the worst file) and the argmax agreement over all frames;
#   fixtures the same against the torchaudio float64 references of tests/fixtures/*/expected
#            (tiny random models: a check that every layer runs, not an accuracy figure);
#   WER      lact_server --dtype DTYPE and lact_eval_client over the whole split (one stream per
#            utterance, the server's default window and decoder), beside the float32 run.
#
#   tools/precision_parity.sh BUILD_DIR MODEL_DIR CORPUS_DIR SPLIT OUT_DIR DTYPE [DTYPE...]
#   Env: LIMIT (files for the logit comparison, default 40), THREADS (default 2).
#
# Writes OUT_DIR/parity.md (a table) and OUT_DIR/parity.json.
set -euo pipefail
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 6 ] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd); MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5; shift 5
LIMIT=${LIMIT:-40}; THREADS=${THREADS:-2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$CORPUS/$SPLIT" ] || { echo "precision_parity: no split '$CORPUS/$SPLIT'" >&2; exit 2; }
mkdir -p "$OUT/logits"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true' EXIT

dump() {  # MODEL DTYPE AUDIO OUT.npy
  "$BUILD/core/lact_transcribe" --model "$1" --dtype "$2" --threads "$THREADS" --lact off \
    --dump-logits "$4" "$3" > /dev/null 2> "$OUT/logits/last.err" ||
    { cat "$OUT/logits/last.err" >&2; exit 1; }
}
wer() {  # DTYPE -> OUT/wer-DTYPE/summary.json
  local d=$1 ready="$OUT/ready-$1"
  rm -f "$ready"
  "$BUILD/server/lact_server" --model "$MODEL" --dtype "$d" --host 127.0.0.1 --port 0 \
    --metrics_port -1 --threads "$THREADS" --warmup_seconds 0 --ready_file "$ready" \
    > "$OUT/server-$d.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { cat "$OUT/server-$d.log" >&2; exit 1; }
  local port
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$ready")
  "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" --librispeech "$CORPUS" \
    --split "$SPLIT" --lact auto --progress=false --num_parallel_requests 2 \
    --output_dir "$OUT/wer-$d" > "$OUT/wer-$d.log" 2>&1 || { cat "$OUT/wer-$d.log" >&2; exit 1; }
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

mapfile -t files < <(find "$CORPUS/$SPLIT" -name '*.flac' | sort | head -n "$LIMIT")
fixtures=()
for f in "$SRC"/tests/fixtures/*/expected/logits.npy; do fixtures+=("$(dirname "$(dirname "$f")")"); done
for d in float32 "$@"; do
  echo "[precision_parity] $d: logits on ${#files[@]} files, ${#fixtures[@]} fixtures, WER" >&2
  for i in "${!files[@]}"; do dump "$MODEL" "$d" "${files[$i]}" "$OUT/logits/$d-$i.npy"; done
  for fx in "${fixtures[@]}"; do
    dump "$fx" "$d" "$fx/expected/input.wav" "$OUT/logits/$d-fixture-$(basename "$fx").npy"
  done
  wer "$d"
done

/usr/bin/python3 - "$OUT" "${#files[@]}" "$SRC" float32 "$@" <<'PY'
import glob, json, os, sys
import numpy as np
out, n, src, dtypes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def compare(pairs):
    worst, agree, frames = 0.0, 0, 0
    for ref, got in pairs:
        a, b = np.load(ref).astype(np.float64), np.load(got).astype(np.float64)
        worst = max(worst, float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30)))
        agree += int((a.argmax(-1) == b.argmax(-1)).sum())
        frames += a.shape[0]
    return {"max_rel_logit_error": worst, "argmax_agreement": agree / max(frames, 1),
            "frames": frames}

rows = []
for d in dtypes:
    summary = json.load(open(f"{out}/wer-{d}/summary.json"))["settings"][0]
    fx = sorted(glob.glob(f"{src}/tests/fixtures/*/expected/logits.npy"))
    names = [os.path.basename(os.path.dirname(os.path.dirname(f))) for f in fx]
    rows.append({
        "dtype": d,
        "vs_float32": compare([(f"{out}/logits/float32-{i}.npy", f"{out}/logits/{d}-{i}.npy")
                               for i in range(n)]),
        "vs_torchaudio_fixtures": compare([(f, f"{out}/logits/{d}-fixture-{m}.npy")
                                           for f, m in zip(fx, names)]),
        "wer": summary["wer"], "cer": summary["cer"],
        "utterances": summary.get("utterances", summary.get("items")),
    })
json.dump(rows, open(f"{out}/parity.json", "w"), indent=1)
base = rows[0]
with open(f"{out}/parity.md", "w") as f:
    f.write("| dtype | max rel. logit error vs float32 | argmax agreement vs float32 | "
            "max rel. error vs torchaudio fixtures | fixture argmax agreement | WER % | CER % | "
            "WER change (points) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        v, t = r["vs_float32"], r["vs_torchaudio_fixtures"]
        f.write(f"| {r['dtype']} | {v['max_rel_logit_error']:.2e} | "
                f"{100 * v['argmax_agreement']:.2f}% ({v['frames']} frames) | "
                f"{t['max_rel_logit_error']:.2e} | {100 * t['argmax_agreement']:.2f}% | "
                f"{100 * r['wer']:.2f} | {100 * r['cer']:.2f} | "
                f"{100 * (r['wer'] - base['wer']):+.2f} |\n")
print(open(f"{out}/parity.md").read())
PY
