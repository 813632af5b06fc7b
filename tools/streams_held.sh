#!/usr/bin/env bash
# The most real-time streams lact_server holds (issue 22, docs/benchmarks.md), in the manner of
# Riva's published method: for each N, a fresh lact_server, and lact_eval_client streaming a
# corpus split at real-time pace with N streams open at once (as one utterance ends the next
# starts), ROUNDS x N utterances in all. N is held when both:
#   - the p95 interim latency is at most INTERIM_MS (default: one step, STEP_MS), and
#   - every stream's final result comes within 2 steps of its audio's end (final latency).
# The answer is the largest N held, with every N's row.
#
#   tools/streams_held.sh BUILD_DIR MODEL_DIR CORPUS SPLIT OUT_DIR N [N...] [-- SERVER_FLAGS...]
#   CORPUS: a LibriSpeech-layout folder (SPLIT names the split), or a manifest file of
#        'path<TAB>reference' lines (SPLIT is then ignored; name a file more than once to repeat it).
#   Env: STEP_MS (the server's step, default 960 = its default; pass --step_ms among the server
#        flags when you change it), INTERIM_MS (the p95 interim bound, default STEP_MS; issue 23's
#        GPU sweep uses 250), ROUNDS (default 3), THREADS (server --threads, default: all).
#
# Per N, also the server process's cost while the client runs (issue 23): its peak threads, CPU
# seconds (user + system, /proc/PID/stat), context switches per stream (voluntary + involuntary:
# the rusage at its exit less its threads' counts when the client starts, so threads that end
# during the run count too), the model thread's idle share (lact_model_idle_seconds_total), the
# mean streams per model step and encoder calls per model step (lact_batch_size,
# lact_encoder_calls: one call per distinct window length in a step, or one when padded), the
# share of the encoder's frames that were padding (lact_encoder_frames_total; --window_batching),
# the device memory reserved and the server's peak host memory (its ru_maxrss: peak RSS, MiB).
# And the client's own cost (lact_eval_client on the same host, which takes cores from the
# server): its CPU seconds (user + system, reaped) and peak threads (two per open stream: a
# sender and a reader, as in Riva's client).
# Writes OUT_DIR/held.md (a table), OUT_DIR/held.csv and each run's eval output.
set -euo pipefail
usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 6 ] || { usage >&2; exit 2; }
BUILD=$(cd "$1" && pwd); MODEL=$2; CORPUS=$3; SPLIT=$4; OUT=$5; shift 5
counts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "streams_held: bad stream count '$1'" >&2; exit 2; }
  counts+=("$1"); shift
done
[ "${1:-}" = "--" ] && shift
STEP_MS=${STEP_MS:-960}; INTERIM_MS=${INTERIM_MS:-$STEP_MS}; ROUNDS=${ROUNDS:-3}; THREADS=${THREADS:-0}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3  # the standard library only (GPU hosts: any python3)
source_flags=(--librispeech "$CORPUS" --split "$SPLIT")
[ -f "$CORPUS" ] && source_flags=(--manifest "$CORPUS")
mkdir -p "$OUT"
server_pid=""; wrapper_pid=""; sampler_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null; true' EXIT
echo "streams,held,interim_p50_ms,interim_p95_ms,final_p95_ms,final_max_ms,failures,wall_s,threads_peak,cpu_s,ctx_switches_per_stream,model_idle_share,streams_per_step,encoder_calls_per_step,padding_share,device_reserved_mib,host_rss_peak_mib,client_cpu_s,client_threads_peak" > "$OUT/held.csv"
# snapshot PORT PID: lact_model_idle_seconds_total, lact_device_memory_reserved_bytes, the
# process's CPU seconds and its live threads' context switches, and the time, as JSON.
snapshot() {
  "$PY" - "$1" "$2" <<'PY'
import glob, json, os, sys, time, urllib.request
stat = open(f"/proc/{sys.argv[2]}/stat").read().rsplit(")", 1)[1].split()
cpu_s = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads
switches = 0
for status in glob.glob(f"/proc/{sys.argv[2]}/task/*/status"):
    try:
        switches += sum(int(l.split()[1]) for l in open(status) if "ctxt_switches" in l)
    except OSError:  # a thread that ended meanwhile
        pass
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
values = {}
for line in text.splitlines():
    if line and not line.startswith("#"):
        name = line.split("{")[0].split(" ")[0]
        values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        values[line.rsplit(" ", 1)[0]] = float(line.rsplit(" ", 1)[1])  # with its labels
print(json.dumps({"t": time.monotonic(), "idle_s": values.get("lact_model_idle_seconds_total", 0.0),
                  "steps": values.get("lact_batch_size_count", 0.0),
                  "stream_steps": values.get("lact_batch_size_sum", 0.0),
                  "encoder_calls": values.get("lact_encoder_calls_sum", 0.0),
                  "padding_frames": values.get('lact_encoder_frames_total{kind="padding"}', 0.0),
                  "encoder_frames": values.get("lact_encoder_frames_total", 0.0),
                  "reserved": values.get("lact_device_memory_reserved_bytes", 0.0),
                  "cpu_s": cpu_s, "switches": switches}))
PY
}
for n in "${counts[@]}"; do
  ready="$OUT/n$n.ready"; rm -f "$ready" "$OUT/n$n.rusage.json"
  # The server runs under a small wrapper that writes its rusage (all threads, reaped) at exit.
  "$PY" -c 'import json, os, subprocess, sys
p = subprocess.Popen(sys.argv[2:]); _, status, ru = os.wait4(p.pid, 0)
json.dump({"ctx_switches": ru.ru_nvcsw + ru.ru_nivcsw, "maxrss_kib": ru.ru_maxrss},
          open(sys.argv[1], "w"))' "$OUT/n$n.rusage.json" \
    "$BUILD/server/lact_server" --model "$MODEL" --host 127.0.0.1 --port 0 --metrics_port 0 \
    --metrics_host 127.0.0.1 --threads "$THREADS" --max_streams $((n + 8)) --max_streams_per_peer 0 \
    --ready_file "$ready" "$@" > "$OUT/n$n.server.log" 2>&1 &
  wrapper_pid=$!
  for _ in $(seq 1 1200); do [ -s "$ready" ] && break; sleep 0.1; done
  [ -s "$ready" ] || { kill "$wrapper_pid"; cat "$OUT/n$n.server.log" >&2; exit 1; }
  read -r port mport server_pid < <("$PY" -c 'import json,sys; r = json.load(open(sys.argv[1])); print(r["port"], r["metrics_port"], r["pid"])' "$ready")
  while kill -0 "$server_pid" 2> /dev/null; do
    awk '/^Threads:/ {print $2}' "/proc/$server_pid/status" 2> /dev/null; sleep 0.2
  done > "$OUT/n$n.threads" &
  sampler_pid=$!
  echo "[streams_held] $n streams" >&2
  snapshot "$mport" "$server_pid" > "$OUT/n$n.metrics0.json"
  # The client runs under a wrapper that samples its threads and writes its rusage at exit.
  "$PY" -c 'import json, resource, subprocess, sys, time
p = subprocess.Popen(sys.argv[2:]); peak = 0
while p.poll() is None:
    try:
        peak = max(peak, int(next(l for l in open(f"/proc/{p.pid}/status") if l.startswith("Threads:")).split()[1]))
    except (OSError, StopIteration):
        pass
    time.sleep(0.2)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"cpu_s": ru.ru_utime + ru.ru_stime, "threads_peak": peak}, open(sys.argv[1], "w"))
sys.exit(p.returncode)' "$OUT/n$n.client.json" \
    "$BUILD/client/lact_eval_client" --server "127.0.0.1:$port" "${source_flags[@]}" \
    --lact auto --progress=false --simulate_realtime --interim_results \
    --num_parallel_requests "$n" --limit $((n * ROUNDS)) --output_dir "$OUT/n$n" \
    > "$OUT/n$n.log" 2>&1 || { cat "$OUT/n$n.log" >&2; exit 1; }
  snapshot "$mport" "$server_pid" > "$OUT/n$n.metrics1.json"
  kill "$server_pid" 2> /dev/null || { tail -5 "$OUT/n$n.server.log" >&2; echo "[streams_held] the server exited during the run" >&2; exit 1; }
  wait "$wrapper_pid" 2>/dev/null || true; server_pid=""
  kill "$sampler_pid" 2> /dev/null || true; wait "$sampler_pid" 2> /dev/null || true; sampler_pid=""
  "$PY" - "$OUT/n$n" "$n" "$STEP_MS" "$INTERIM_MS" >> "$OUT/held.csv" <<'PY'
import csv, json, sys
out, n, step, bound = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = json.load(open(f"{out}/summary.json"))["settings"][0]
finals = sorted(float(r["final_latency_ms"]) for r in csv.DictReader(open(f"{out}/results.csv"))
                if r["final_latency_ms"] not in ("", "nan"))
interim = s["latency_ms"]["interim"]
p95 = lambda v: v[min(len(v) - 1, int(0.95 * len(v)))] if v else float("nan")
held = (s["failures"] == 0 and finals and interim["p95"] <= bound and finals[-1] <= 2 * step)
ru = json.load(open(f"{out}.rusage.json"))
client = json.load(open(f"{out}.client.json"))
m0, m1 = (json.load(open(f"{out}.metrics{i}.json")) for i in (0, 1))
threads = [int(t) for t in open(f"{out}.threads").read().split()] or [0]
# The idle counter credits an idle period when it ends, so one begun before the first snapshot
# counts whole: at most 1.
idle = min(1.0, (m1["idle_s"] - m0["idle_s"]) / max(m1["t"] - m0["t"], 1e-9))
steps = max(m1["steps"] - m0["steps"], 1e-9)
per_step = lambda key: round((m1[key] - m0[key]) / steps, 2)
padding = round((m1["padding_frames"] - m0["padding_frames"]) /
                max(m1["encoder_frames"] - m0["encoder_frames"], 1e-9), 3)
print(",".join(str(x) for x in (n, "yes" if held else "no", round(interim["p50"]),
      round(interim["p95"]), round(p95(finals)), round(finals[-1]) if finals else "nan",
      s["failures"], round(s["wall_s"], 1), max(threads), round(m1["cpu_s"] - m0["cpu_s"], 1),
      round((ru["ctx_switches"] - m0["switches"]) / n), round(idle, 3),
      per_step("stream_steps"), per_step("encoder_calls"), padding,
      round(m1["reserved"] / 2**20), round(ru["maxrss_kib"] / 1024),
      round(client["cpu_s"], 1), client["threads_peak"])))
PY
done
"$PY" - "$OUT/held.csv" "$INTERIM_MS" > "$OUT/held.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"| streams | held (interim p95 <= {sys.argv[2]} ms, final <= 2 steps) | interim p50 / p95 ms | "
      "final p95 / max ms | failures | wall s | server threads (peak) | server CPU s | "
      "context switches / stream | model idle | streams / step | encoder calls / step | "
      "padding share | device MiB reserved | host RSS peak MiB | client CPU s | "
      "client threads (peak) |")
print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['streams']} | {r['held']} | {r['interim_p50_ms']} / {r['interim_p95_ms']} | "
          f"{r['final_p95_ms']} / {r['final_max_ms']} | {r['failures']} | {r['wall_s']} | "
          f"{r['threads_peak']} | {r['cpu_s']} | {r['ctx_switches_per_stream']} | "
          f"{100 * float(r['model_idle_share']):.0f}% | {r['streams_per_step']} | "
          f"{r['encoder_calls_per_step']} | {100 * float(r['padding_share']):.1f}% | "
          f"{r['device_reserved_mib']} | "
          f"{r['host_rss_peak_mib']} | {r['client_cpu_s']} | {r['client_threads_peak']} |")
held = [int(r["streams"]) for r in rows if r["held"] == "yes"]
print(f"\nMost streams held: {max(held) if held else 0}")
PY
cat "$OUT/held.md"
