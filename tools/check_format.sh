#!/usr/bin/env bash
# The code style (issue 18): every .cc/.h that git tracks is as clang-format (.clang-format at the
# root) would write it. Exit 1 with the files that differ; 77 when clang-format is missing.
#   tools/check_format.sh            # check
#   clang-format -i $(git ls-files '*.cc' '*.h')   # fix
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format > /dev/null || { echo "clang-format not installed (apt-get install clang-format)"; exit 77; }
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else
  mapfile -t files < <(find core server client train tests -name '*.cc' -o -name '*.h')
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
for f in "${bad[@]}"; do echo "not formatted: $f (clang-format -i $f)"; done
echo "${#bad[@]} of ${#files[@]} files differ from .clang-format"
[ ${#bad[@]} -eq 0 ]
