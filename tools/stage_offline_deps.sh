#!/usr/bin/env bash
# Stages the Debian libraries that core/ and lact_bench need (abseil, nlohmann-json, libsndfile
# and its codecs, soxr, pkgconf) into one relocatable folder, for a GPU host that has a compiler,
# CMake and a CUDA PyTorch but no Debian packages and no network (docs/gpu.md, "Offline host").
#
#   tools/stage_offline_deps.sh OUT_DIR      # on a Debian 12 machine with apt access
#   tools/stage_offline_deps.sh --for-training OUT_DIR
#   tools/stage_offline_deps.sh --for-server OUT_DIR        # (the two options combine)
#
# --for-training adds what tools/gpu_train.sh needs beyond that: OpenSSL's libcrypto (lact_train's
# state cache hashes with it), and what tools/make_synthetic_corpus.py runs, since gpu_train.sh
# generates its corpus on the GPU host: espeak-ng with its data, sox, flac, their libraries and
# the Jane Austen text (r-cran-janeaustenr), as OUT_DIR/corpus-tools/{bin,janeaustenr}. libsox
# finds its format plugins only under /usr/lib/x86_64-linux-gnu/sox, so corpus-tools/bin/sox is a
# wrapper that writes FLAC through the staged flac encoder instead. Adds ~18 MB (espeak-ng-data
# pruned to English, OpenSSL's static libraries dropped): 43 packages, ~33 MB in all.
#
# --for-server adds what lact_server and lact_eval_client need (tools/gpu_server_bench.sh): gRPC,
# protobuf with protoc and grpc_cpp_plugin, re2, c-ares, OpenSSL, zlib, prometheus-cpp,
# libmicrohttpd, Opus/Ogg/libopusenc; static libraries dropped (everything links dynamically).
# libmicrohttpd's GnuTLS and its libraries are taken from the host (every Ubuntu/Debian base has
# them: apt uses GnuTLS); the script names each library the staged ones would take from the host.
#
# OUT_DIR/usr then holds include/, lib/x86_64-linux-gnu/ (with cmake/ and pkgconfig/) and bin/pkgconf.
# The .pc files are rewritten to be relative to their own folder (${pcfiledir}), so the folder
# works wherever it is copied. The libraries need glibc >= 2.36 (Debian 12; Ubuntu 24.04 has 2.39).
set -euo pipefail
CORPUS_TOOLS=0; SERVER=0
while [ $# -gt 1 ]; do
  case "$1" in
    --for-training) CORPUS_TOOLS=1; shift ;;
    --for-server) SERVER=1; shift ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -eq 1 ] && exit 0 || exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
PACKAGES=(libabsl-dev libabsl20220623 nlohmann-json3-dev
          libsndfile1 libsndfile1-dev libflac12 libmp3lame0 libmpg123-0 libogg0 libopus0
          libvorbis0a libvorbisenc2 libsoxr0 libsoxr-dev libgomp1 pkgconf-bin libpkgconf3)
# espeak-ng links libpcaudio (ALSA, PulseAudio: X11, D-Bus) although --stdout plays nothing; the
# libraries of an Ubuntu/Debian base image (libsystemd0, libgcrypt20, zstd, lz4, lzma, zlib, bz2,
# libcap2) are left out, and so is libmagic's 8 MB database (sox detects no file types here).
[ $CORPUS_TOOLS -eq 1 ] && PACKAGES+=(libssl-dev libssl3 espeak-ng libespeak-ng1 espeak-ng-data libpcaudio0 libsonic0
          libasound2 libpulse0 libasyncns0 libdbus-1-3 libx11-6 libx11-xcb1 libxcb1 libxau6
          libxdmcp6 libbsd0 libmd0 sox libsox3 libltdl7 libmagic1 libgsm1 libpng16-16
          flac r-cran-janeaustenr)
[ $SERVER -eq 1 ] && PACKAGES+=(libgrpc++-dev libgrpc-dev libgrpc++1.51 libgrpc29 libprotobuf-dev libprotobuf32
          libprotobuf-lite32 libprotoc32 protobuf-compiler protobuf-compiler-grpc libre2-9 libre2-dev
          libc-ares2 libc-ares-dev zlib1g-dev prometheus-cpp-dev libprometheus-cpp-core1.0
          libprometheus-cpp-pull1.0 libprometheus-cpp-push1.0 libmicrohttpd12 libmicrohttpd-dev
          libopus-dev libogg-dev libopusenc0 libopusenc-dev
          libcivetweb-dev libcivetweb1 civetweb libcurl4-openssl-dev libcurl4)
[ $SERVER -eq 1 ] && [ $CORPUS_TOOLS -eq 0 ] && PACKAGES+=(libssl-dev libssl3)
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
       -e 's|^libdir=/usr/lib/x86_64-linux-gnu$|libdir=${pcfiledir}/..|' \
       -e 's|^includedir=/usr/include$|includedir=${pcfiledir}/../../../include|' \
       -e '/^Requires.private:/d' -e '/^Libs.private:/d' "$pc"/*.pc
# Headers in the multiarch include folder (OpenSSL's configuration, curl's), which a compiler
# searches only under /usr: next to the others instead.
MA=$OUT/usr/include/x86_64-linux-gnu
if [ -d "$MA" ]; then
  for d in "$MA"/*; do mkdir -p "$OUT/usr/include/$(basename "$d")" && mv "$d"/* "$OUT/usr/include/$(basename "$d")/"; done
  rm -rf "$MA"
fi
LIB=$OUT/usr/lib/x86_64-linux-gnu
rm -f "$LIB/libcrypto.a" "$LIB/libssl.a"  # 11 MB; linked dynamically
if [ $SERVER -eq 1 ]; then
  find "$LIB" -maxdepth 1 -name '*.a' -delete  # ~40 MB of gRPC/protobuf/re2; linked dynamically
  for f in "$OUT/usr/bin/protoc" "$OUT/usr/bin/grpc_cpp_plugin" "$LIB/libgrpc++.so.1.51" "$LIB/libmicrohttpd.so.12"; do
    LD_LIBRARY_PATH=$LIB ldd "$f" | grep -v "$OUT" |
      grep -vE "linux-vdso|ld-linux|lib(c|m|pthread|dl|rt|stdc\+\+|gcc_s)\.so" |
      sed "s|^|stage_offline_deps: $(basename "$f") uses the host's |" >&2 || true
  done
fi
if [ $CORPUS_TOOLS -eq 1 ]; then
  CT=$OUT/corpus-tools
  mkdir -p "$CT/bin"
  # One library folder (libdbus-1-3 installs into /lib), plus PulseAudio's private one.
  if [ -d "$OUT/lib/x86_64-linux-gnu" ]; then mv "$OUT/lib/x86_64-linux-gnu"/* "$LIB/" && rm -rf "$OUT/lib"; fi
  mv "$OUT/usr/lib/R/site-library/janeaustenr/data" "$CT/janeaustenr" && rm -rf "$OUT/usr/lib/R"
  # English only: the other languages' dictionaries are most of espeak-ng-data's 13 MB.
  find "$OUT/usr/lib/x86_64-linux-gnu/espeak-ng-data" -maxdepth 1 -name '*_dict' ! -name 'en_dict' -delete
  ln -sf ../../usr/bin/espeak-ng "$CT/bin/espeak-ng"
  ln -sf ../../usr/bin/flac "$CT/bin/flac"
  cat > "$CT/bin/sox" <<'SOX'
#!/usr/bin/env bash
# The staged sox. Its FLAC writer is a plugin that libsox looks for only in
# /usr/lib/x86_64-linux-gnu/sox: a .flac output goes through sox as WAV, then the staged flac.
here=$(cd "$(dirname "$0")" && pwd); sox=$here/../../usr/bin/sox
args=("$@"); n=${#args[@]}
if [ "$n" -ge 1 ] && [[ ${args[n-1]} == *.flac ]]; then
  out=${args[n-1]}; unset 'args[n-1]'
  [ "$n" -ge 3 ] && [ "${args[n-3]}" = "-C" ] && unset 'args[n-2]' 'args[n-3]'
  "$sox" "${args[@]}" -t wav - | "$here/flac" --silent --ignore-chunk-sizes -5 -f -o "$out" -
  st=("${PIPESTATUS[@]}"); [ "${st[0]}" -ne 0 ] && exit "${st[0]}"; exit "${st[1]}"
fi
exec "$sox" "$@"
SOX
  chmod +x "$CT/bin/sox"
  # Libraries the staged tools would still take from this machine (expected: glibc's only).
  for bin in espeak-ng sox flac; do
    LD_LIBRARY_PATH=$LIB:$LIB/pulseaudio ldd "$OUT/usr/bin/$bin" | grep -v "$OUT" |
      grep -vE "linux-vdso|ld-linux|lib(c|m|pthread|dl|rt)\.so|lib(systemd|gcrypt|gpg-error|zstd|lz4|lzma|z|bz2|cap)\.so" |
      sed "s|^|stage_offline_deps: $bin uses the host's |" >&2 || true
  done
fi
echo "stage_offline_deps: ${#PACKAGES[@]} packages in $OUT ($(du -sh "$OUT" | cut -f1))"
