#!/usr/bin/env bash
# Function and file size limits of the product code (issue 18, acceptance 3), with Debian's
# clang-tidy: readability-function-size with LineThreshold 90 (lines of a function body) over
# every .cc of core/, server/, client/ and train/, compiled as the build compiles them
# (build/compile_commands.json: configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON, which the
# project's CMakeLists sets). The 450-line file limit and the one-definition-per-flag rule are
# checked in every test run by tests/tools/layout_check.py; this script is slower (clang-tidy
# parses LibTorch's headers for each file: about 20-40 s a file on 2 cores).
#
#   tools/check_function_size.sh [BUILD_DIR] [FILE...]     # exit 1 when a function is too long
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
command -v clang-tidy > /dev/null || { echo "clang-tidy not installed (apt-get install clang-tidy)"; exit 77; }
[ -f "$BUILD/compile_commands.json" ] || { echo "no $BUILD/compile_commands.json (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)"; exit 2; }
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(git ls-files 'core/*.cc' 'server/*.cc' 'client/*.cc' 'train/*.cc')
out=$(mktemp); trap 'rm -f "$out"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -I{} clang-tidy -p "$BUILD" --quiet \
  --checks='-*,readability-function-size' \
  --config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 90}]}' {} \
  2>/dev/null | grep -E "warning: function .* exceeds recommended size" >> "$out"
sort -u "$out"
n=$(sort -u "$out" | wc -l)
echo "$n function(s) over 90 lines in ${#files[@]} file(s)"
[ "$n" -eq 0 ]
