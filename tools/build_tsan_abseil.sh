#!/usr/bin/env bash
# Builds Debian's own Abseil (bookworm, 20220623.1 + Debian's patches: inline namespace, options,
# sonames) as shared libraries with -fsanitize=thread, into build-tsan-deps/lib, with the same
# sonames as /usr/lib/x86_64-linux-gnu/libabsl_*.so.20220623.
#
# Why: Debian's libabsl is not instrumented, and absl::Mutex lives in libabsl_synchronization.so,
# so ThreadSanitizer would not see our locks (nor gRPC's: gpr_mu is an absl::Mutex in gRPC 1.51)
# and would report false races. With LD_LIBRARY_PATH=build-tsan-deps/lib (the tsan test preset
# sets it) our code AND Debian's libgrpc load the instrumented copies. See docs/reliability.md,
# "Sanitizers".
#
# Usage: tools/build_tsan_abseil.sh [PREFIX]      (default PREFIX: <repo>/build-tsan-deps)
#   LACT_ABSL_SRC_DIR  a folder holding abseil_20220623.1.orig.tar.gz and
#                      abseil_20220623.1-*.debian.tar.xz (default: download them with
#                      `apt-get source --download-only abseil`, adding a deb-src entry if needed)
#   JOBS               parallel compile jobs (default 2)
#   LACT_ABSL_ALL=1    build every Abseil library, not only those gRPC and lact load (slower)
# Only the libraries that Debian's gRPC and our binaries load are built by default (with their
# dependencies), which is what LD_LIBRARY_PATH needs: any other one comes from /usr/lib.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${1:-$ROOT/build-tsan-deps}
JOBS=${JOBS:-2}
VER=20220623
SYSLIB=/usr/lib/x86_64-linux-gnu
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)
WORK=$PREFIX/work
mkdir -p "$WORK" "$PREFIX/lib"

# 1. The Debian source package.
SRC=${LACT_ABSL_SRC_DIR:-}
if [ -z "$SRC" ]; then
  SRC=$WORK/dl
  mkdir -p "$SRC"
  if ! ls "$SRC"/abseil_*.orig.tar.gz >/dev/null 2>&1; then
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
      echo "adding a deb-src entry: /etc/apt/sources.list.d/lact-deb-src.sources" >&2
      cat > /etc/apt/sources.list.d/lact-deb-src.sources <<'SRCS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRCS
      apt-get update
    fi
    (cd "$SRC" && apt-get source --download-only abseil)
  fi
fi
ORIG=$(ls "$SRC"/abseil_*.orig.tar.gz | head -1)
DEBTAR=$(ls "$SRC"/abseil_*.debian.tar.xz | head -1)
echo "source: $ORIG + $DEBTAR" >&2

# 2. Unpack and apply Debian's patches (debian/patches/series) in order; once per source (a
#    second run reuses the tree, so the build below is incremental).
STAMP="$WORK/src/.patched-$(basename "$DEBTAR")"
if [ ! -e "$STAMP" ]; then
  rm -rf "$WORK/src"
  mkdir -p "$WORK/src"
  tar -xzf "$ORIG" -C "$WORK/src"
  ABSL=$(ls -d "$WORK"/src/abseil-*/ | head -1)
  tar -xJf "$DEBTAR" -C "$ABSL"
  while read -r p; do
    case "$p" in ''|'#'*) continue;; esac
    patch -d "$ABSL" -p1 --quiet < "$ABSL/debian/patches/$p"
  done < "$ABSL/debian/patches/series"
  touch "$STAMP"
fi
ABSL=$(ls -d "$WORK"/src/abseil-*/ | head -1)
# The patched options.h must be the one the system headers were made from.
if ! cmp -s "$ABSL/absl/base/options.h" /usr/include/absl/base/options.h; then
  echo "error: patched absl/base/options.h differs from /usr/include/absl/base/options.h" >&2
  echo "       (is the installed libabsl-dev the same Debian revision as $DEBTAR?)" >&2
  exit 1
fi

# 3. Configure as Debian does for its shared build (C++17, shared), plus TSan.
cmake -S "$ABSL" -B "$WORK/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DCMAKE_INSTALL_PREFIX="$PREFIX"

# 4. Which libraries: everything that Debian's gRPC and the absl libraries we link load.
if [ "${LACT_ABSL_ALL:-0}" = 1 ]; then
  TARGETS=(all)
else
  SEEDS=()
  for l in "$SYSLIB"/libgrpc++.so.1.51 "$SYSLIB"/libgrpc++_reflection.so.1.51 "$SYSLIB"/libgrpc.so.29 \
           "$SYSLIB"/libabsl_{flags_parse,flags_usage,status,statusor,strings,str_format_internal,synchronization,time}.so.$VER; do
    [ -e "$l" ] && SEEDS+=("$l")
  done
  mapfile -t TARGETS < <(ldd "${SEEDS[@]}" | grep -o 'libabsl_[a-z0-9_]*\.so' | sort -u | sed 's/^libabsl_//; s/\.so$//')
  for s in "${SEEDS[@]}"; do
    b=$(basename "$s"); case "$b" in libabsl_*) b=${b#libabsl_}; TARGETS+=("${b%%.so*}");; esac
  done
  mapfile -t TARGETS < <(printf '%s\n' "${TARGETS[@]}" | sort -u)
fi
echo "building ${#TARGETS[@]} targets: ${TARGETS[*]}" >&2
cmake --build "$WORK/build" -j"$JOBS" --target "${TARGETS[@]}"

# 5. Install the shared libraries (same sonames as Debian's) into PREFIX/lib.
find "$WORK/build" -name "libabsl_*.so.$VER*" -exec cp -P {} "$PREFIX/lib/" \;
bad=0
for f in "$PREFIX"/lib/libabsl_*.so.$VER; do
  so=$(objdump -p "$f" | awk '/SONAME/ {print $2}')
  [ "$so" = "$(basename "$f")" ] || { echo "error: $f has SONAME $so" >&2; bad=1; }
  [ -e "$SYSLIB/$so" ] || echo "note: $so is not in $SYSLIB" >&2
  # (grep -c, not grep -q: -q would close the pipe early and pipefail would call that a failure)
  [ "$(nm -D "$f" | grep -c ' U __tsan_')" -gt 0 ] || { echo "error: $f is not TSan-instrumented" >&2; bad=1; }
done
[ $bad = 0 ] || exit 1
echo "installed $(ls "$PREFIX"/lib/libabsl_*.so.$VER | wc -l) instrumented libabsl_*.so.$VER into $PREFIX/lib" >&2
echo "use: LD_LIBRARY_PATH=$PREFIX/lib (ctest --preset tsan sets it)" >&2
