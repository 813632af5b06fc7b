#!/usr/bin/env bash
# Stages the Debian libraries that core/ and lact_bench need (abseil, nlohmann-json, libsndfile
# and its codecs, soxr, pkgconf) into one relocatable folder, for a GPU host that has a compiler,
# CMake and a CUDA PyTorch but no Debian packages and no network (docs/gpu.md, "Offline host").
#
#   tools/stage_offline_deps.sh OUT_DIR      # on a Debian 12 machine with apt access
#
# OUT_DIR/usr then holds include/, lib/x86_64-linux-gnu/ (with cmake/ and pkgconfig/) and bin/pkgconf.
# The .pc files are rewritten to be relative to their own folder (${pcfiledir}), so the folder
# works wherever it is copied. The libraries need glibc >= 2.36 (Debian 12; Ubuntu 24.04 has 2.39).
set -euo pipefail
if [ $# -ne 1 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -eq 1 ] && exit 0 || exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
PACKAGES=(libabsl-dev libabsl20220623 nlohmann-json3-dev
          libsndfile1 libsndfile1-dev libflac12 libmp3lame0 libmpg123-0 libogg0 libopus0
          libvorbis0a libvorbisenc2 libsoxr0 libsoxr-dev libgomp1 pkgconf-bin libpkgconf3)
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download "${PACKAGES[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true)
n=$(ls "$debs"/*.deb 2>/dev/null | wc -l)
if [ "$n" -ne "${#PACKAGES[@]}" ]; then
  echo "stage_offline_deps: downloaded $n of ${#PACKAGES[@]} packages (run apt-get update?)" >&2
  exit 1
fi
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$OUT"; done
rm -rf "$OUT/usr/share/doc" "$OUT/usr/share/man" "$OUT/usr/share/lintian"
# Relocatable pkg-config files: prefix relative to the .pc file, private requirements dropped
# (everything is linked dynamically; the codec libraries are found through the shared libraries).
pc=$OUT/usr/lib/x86_64-linux-gnu/pkgconfig
sed -i -e 's|^prefix=/usr$|prefix=${pcfiledir}/../../..|' \
       -e 's|-L/usr/lib/x86_64-linux-gnu|-L${pcfiledir}/..|' -e 's|-I/usr/include|-I${pcfiledir}/../../../include|' \
       -e '/^Requires.private:/d' -e '/^Libs.private:/d' "$pc"/*.pc
echo "stage_offline_deps: ${#PACKAGES[@]} packages in $OUT ($(du -sh "$OUT" | cut -f1))"
