#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in BUILD_DIR and runs each for SECONDS
# with its seed corpus. Usage:
#
#   tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]     # e.g. build-fuzz 120
#
# BUILD_DIR is configured here when it is not a clang build with -DLACT_BUILD_FUZZERS=ON yet
# (core and fuzz targets only: -DLACT_BUILD_SERVER=OFF; the Opus targets need only libopus and
# libogg, fuzz_stream_requests protobuf too, not gRPC). Inputs libFuzzer finds go to
# BUILD_DIR/fuzz-corpus/<target> (the committed seeds in tests/fuzz/corpus/<target> are read,
# never written); a crash, leak, timeout or sanitizer report is saved as
# BUILD_DIR/fuzz-artifacts/<target>/crash-* (etc.) and makes the script fail.
# The last line of each run (executions, cov, ft) is summarised at the end. Runs under nice -n 19.
# Exit codes: 0 all clean, 1 a target failed, 2 usage, 77 clang or libFuzzer not installed.
set -uo pipefail

if [ $# -lt 2 ]; then sed -n '2,14p' "$0" >&2; exit 2; fi
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
all_targets=(fuzz_safetensors fuzz_model_config fuzz_vocab fuzz_audio_file fuzz_audio_decoder fuzz_stream_requests)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

cxx=$(command -v clang++ || true)
if [ -z "$cxx" ]; then echo "run_fuzzers.sh: clang++ not installed (apt-get install clang)" >&2; exit 77; fi
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "run_fuzzers.sh: libFuzzer not installed (apt-get install libclang-rt-14-dev)" >&2; exit 77
fi

if ! grep -q '^LACT_BUILD_FUZZERS:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  nice -n 15 cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" -DLACT_BUILD_FUZZERS=ON -DLACT_BUILD_SERVER=OFF \
    >"$build.configure.log" 2>&1 \
    || { echo "run_fuzzers.sh: configure failed, see $build.configure.log" >&2; tail -20 "$build.configure.log" >&2; exit 1; }
fi
jobs=$(nproc 2>/dev/null || echo 2)
nice -n 15 cmake --build "$build" -j"$jobs" --target "${targets[@]}" || exit 1

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  case $t in fuzz_model_config|fuzz_vocab|fuzz_safetensors) dict=(-dict="$src/tests/fuzz/json.dict") ;; esac
  log="$build/fuzz-$t.log"
  echo "== $t: ${seconds}s (log $log)"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is a memory blow-up;
  # -max_len: 8 KiB is plenty for every format here, and it truncates the 40 KiB deep-nesting
  # regression seeds, which would otherwise take most of the time (they are replayed whole by ctest).
  nice -n 19 "$build/tests/fuzz/$t" "$corpus" "$src/tests/fuzz/corpus/$t" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  if [ $rc -ne 0 ]; then
    status=1
    summary+=("$t: FAILED (exit $rc), see $log and $artifacts/")
    grep -E 'ERROR|SUMMARY|check failed|runtime error' "$log" | head -5 >&2
  else
    summary+=("$t: ${execs:-?} execs; ${done_line:-no DONE line}")
  fi
done
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
