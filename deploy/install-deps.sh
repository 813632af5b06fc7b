#!/usr/bin/env bash
# Installs every build, test and runtime dependency of lact-asr from Debian 12 packages.
# Idempotent: safe to run again. Used by the README's set-up step, .ci/run and the Dockerfile.
#
#   deploy/install-deps.sh            # build + test dependencies (default)
#   deploy/install-deps.sh --runtime  # only the shared libraries the binaries need at run time
set -euo pipefail

mode=build
case "${1:-}" in
  --runtime) mode=runtime ;;
  ""|--build) mode=build ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "install-deps.sh: unknown option '$1' (use --build or --runtime)" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

runtime_pkgs=(
  libtorch1.13 libopenblas0-pthread      # LibTorch; OpenBLAS: the reference BLAS is 10x slower
  libgrpc++1.51 libprotobuf32 libabsl20220623
  libprometheus-cpp-pull1.0
  libopus0 libogg0 libopusenc0 libsndfile1 libsoxr0
  libmicrohttpd12                        # the metrics port (/metrics, /healthz)
  libssl3                                # libcrypto: bearer-token SHA-256, TLS file checks
  ca-certificates
)
build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-pthread
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  prometheus-cpp-dev
  libopus-dev libopusenc-dev libogg-dev libsndfile1-dev libsoxr-dev
  libmicrohttpd-dev
  libssl-dev openssl                     # libcrypto (server/auth, TLS checks); openssl: test certificates
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev               # libFuzzer + ASan/UBSan (tests/fuzz/run_fuzzers.sh)
  clang-format                           # the code style (.clang-format, tools.format_check)
  # test tools: independent reference implementations, Prometheus, YAML lint, report rendering
  python3 python3-numpy python3-torch python3-torchaudio
  python3-grpcio                         # the Python client example in docs/clients.md
  prometheus yamllint chromium sox espeak-ng
  r-cran-janeaustenr                     # public-domain text for the synthetic corpus (tools/)
)

if [ "$mode" = runtime ]; then pkgs=("${runtime_pkgs[@]}"); else pkgs=("${build_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#pkgs[@]} packages already installed"
else
  echo "install-deps.sh: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Make sure LibTorch picks the threaded OpenBLAS over the reference BLAS.
if [ "$mode" = build ] || [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread ]; then
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  for alt in "libblas.so.3-$arch" "liblapack.so.3-$arch"; do
    lib=/usr/lib/$arch/openblas-pthread/${alt%%-*}
    if [ -e "$lib" ]; then $SUDO update-alternatives --set "$alt" "$lib" >/dev/null 2>&1 || true; fi
  done
fi
echo "install-deps.sh: done ($mode)"
