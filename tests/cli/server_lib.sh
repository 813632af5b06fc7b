# Sourced by the CLI tests that start lact_server (demo_model_test.sh, long_stream_test.sh): the
# paths from ctest's environment, a temporary folder removed at exit with the server killed,
# `fail`, and `start_server [ENV_CMD...] -- [FLAGS...]`.
set -euo pipefail
BIN=${LACT_BIN:?}
SRC=${LACT_SRC:?}
PY=/usr/bin/python3
tmp=$(mktemp -d)
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# start_server [PREFIX...] -- [FLAGS...]: lact_server on 127.0.0.1 (ports chosen by the server, no
# metrics port) with FLAGS, run through PREFIX (e.g. `env -u LACT_MODEL`); waits until it serves
# (its log is $tmp/server.log) and sets $port.
start_server() {
  local prefix=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do prefix+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  rm -f "$tmp/ready.json"
  "${prefix[@]}" "$BIN/server/lact_server" --host 127.0.0.1 --port 0 --metrics_port -1 \
    --ready_file "$tmp/ready.json" "$@" > "$tmp/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do [[ -s "$tmp/ready.json" ]] && break; sleep 0.1; done
  [[ -s "$tmp/ready.json" ]] || { cat "$tmp/server.log"; fail "server did not start"; }
  port=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$tmp/ready.json")
}
