#!/usr/bin/env bash
# Offline throughput through gRPC (docs/benchmarks.md, "Offline through gRPC"): for each SETTING
# a fresh lact_server with that setting's flags, and lact_eval_client --offline sending every
# item of a corpus as one Recognize call, PARALLEL at a time, as fast as the server answers.
# Per setting: WER/CER, RTFX (audio seconds per wall second), call latency p50/p95, and the
# server's CPU seconds per audio second (user + system from /proc, all threads: it does not
# depend on how busy the machine is, wall times do).
#
#   tools/recognize_rtfx.sh BUILD_DIR MODEL_DIR CORPUS SPLIT OUT_DIR PARALLEL SETTING... \
#                           [-- SERVER_FLAG...]
#     CORPUS    a LibriSpeech folder (with SPLIT), or a manifest file ('path<TAB>reference'
#               lines; SPLIT is then ignored, write .)
#     SETTING   NAME=FLAGS: a name for the row and the lact_server flags that make it, e.g.
#               long=--recognize_step_ms=20000 stream=--recognize_step_ms=0 (FLAGS split on ',')
#     SERVER_FLAG  flags every setting's server gets (--device, --dtype, --threads ...)
#   Env: CLIENT_FLAGS (more lact_eval_client flags, default "--lact on"; e.g. "--long_form"),
#        LIMIT (items, 0: all).
#
# Writes OUT_DIR/rtfx.md (a table) and OUT_DIR/rtfx.csv; each run's eval output under OUT_DIR.
set -euo pipefail
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 7 ] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd); MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5; PARALLEL=$6; shift 6
settings=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [[ "$1" == *=* ]] || { echo "recognize_rtfx: bad setting '$1' (NAME=FLAGS)" >&2; exit 2; }
  settings+=("$1"); shift
done
[ "${1:-}" = "--" ] && shift
[ ${#settings[@]} -gt 0 ] || { usage >&2; exit 2; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3  # the standard library only
read -r -a client_flags <<< "${CLIENT_FLAGS:---lact on}"
source_flags=(--librispeech "$CORPUS" --split "$SPLIT")
[ -f "$CORPUS" ] && source_flags=(--manifest "$CORPUS")
mkdir -p "$OUT"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true' EXIT
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) / hz}' "/proc/$1/stat"; }
echo "setting,flags,wer,cer,rtfx,call_p50_ms,call_p95_ms,server_cpu_per_audio_s,audio_s,failures" > "$OUT/rtfx.csv"
for s in "${settings[@]}"; do
  name=${s%%=*}; IFS=',' read -r -a flags <<< "${s#*=}"
  ready="$OUT/$name.ready"; rm -f "$ready"
  "$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port -1 \
    --ready_file "$ready" "$@" "${flags[@]}" > "$OUT/$name.server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 1200); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { cat "$OUT/$name.server.log" >&2; exit 1; }
  port=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$ready")
  echo "[recognize_rtfx] $name: ${s#*=}" >&2
  cpu0=$(cpu_s "$server_pid")
  "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" "${source_flags[@]}" --offline \
    --progress=false --num_parallel_requests "$PARALLEL" --limit "${LIMIT:-0}" \
    --output_dir "$OUT/$name" "${client_flags[@]}" > "$OUT/$name.log" 2>&1 || { cat "$OUT/$name.log" >&2; exit 1; }
  cpu1=$(cpu_s "$server_pid")
  kill "$server_pid"; wait "$server_pid" 2> /dev/null || true; server_pid=""
  "$PY" - "$OUT/$name/summary.json" "$name" "${s#*=}" "$cpu0" "$cpu1" >> "$OUT/rtfx.csv" <<'PY'
import csv, json, sys
summary, name, flags = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
cpu = float(sys.argv[5]) - float(sys.argv[4])
settings = summary["settings"]
audio = sum(st["audio_s"] for st in settings)
out = csv.writer(sys.stdout, lineterminator="\n")
for st in settings:  # one row per LaCT setting the client ran (--lact both: two)
    call = st["latency_ms"]["final"]
    label = name if len(settings) == 1 else f"{name} (LaCT {st['lact']})"
    out.writerow([label, flags, f"{st['wer']:.4f}", f"{st['cer']:.4f}", f"{st['rtfx']:.2f}",
                  f"{call['p50']:.0f}", f"{call['p95']:.0f}", f"{cpu / audio:.4f}",
                  f"{st['audio_s']:.1f}", st["failures"]])
PY
done
"$PY" - "$OUT/rtfx.csv" > "$OUT/rtfx.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| setting | server flags | WER % | CER % | RTFX | call p50 / p95 ms | server CPU s per audio s |")
print("|---|---|---:|---:|---:|---|---:|")
for r in rows:
    print(f"| {r['setting']} | `{r['flags']}` | {100 * float(r['wer']):.2f} | {100 * float(r['cer']):.2f} | "
          f"{float(r['rtfx']):.1f} | {r['call_p50_ms']} / {r['call_p95_ms']} | {r['server_cpu_per_audio_s']} |")
PY
cat "$OUT/rtfx.md"
