# Sourced (not run) by tools/gpu_bench.sh, tools/gpu_train.sh and tools/gpu_server_bench.sh: the
# build of lact-asr against the PyTorch of a GPU host (docs/gpu.md, "The build by hand").
#
#   gpu_build SRC BUILD LOG CUDA SERVER TARGET...
#     CUDA    1: a CUDA LibTorch (-DLACT_USE_CUDA=ON); 0: the CPU dry run of the scripts
#     SERVER  ON: also lact_server and the gRPC clients (needs gRPC, protobuf, prometheus-cpp:
#             Debian's packages or `tools/stage_offline_deps.sh --for-server`); OFF: core only
#   Reads PY (a python whose torch is built against), DEPS (a folder made by
#   tools/stage_offline_deps.sh, or empty), SKIP_BUILD (set: use BUILD as it is), JOBS.
#   Exports LD_LIBRARY_PATH (torch's libraries, then the staged ones) for the built binaries.
#   Returns 1 when the configure or the build fails, with the log's first compiler errors and last
#   40 lines on stdout. The build keeps going past a failed target (make -k / ninja -k 0), so the
#   targets that compile are there for the caller to use.

gpu_build() {
  local src=$1 build=$2 log=$3 cuda=$4 server=$5; shift 5
  local torch_prefix torch_lib prefix deplib=""
  # One interpreter start (importing a CUDA torch takes seconds): its CMake prefix and lib folder.
  { read -r torch_prefix && read -r torch_lib; } < <("$PY" -c 'import torch, os
print(torch.utils.cmake_prefix_path); print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || return 1
  [ -n "$torch_prefix" ] || return 1
  export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  [ -n "$DEPS" ] && deplib=$DEPS/usr/lib/x86_64-linux-gnu && export LD_LIBRARY_PATH=$deplib:$LD_LIBRARY_PATH
  [ -n "${SKIP_BUILD:-}" ] && return 0
  local args=(-DCMAKE_BUILD_TYPE=Release "-DLACT_BUILD_SERVER=$server" -DLACT_BUILD_TESTS=OFF
              # Keep libtorch_cuda linked although no symbol of it is named (Ubuntu's --as-needed).
              "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--no-as-needed")
  [ "$cuda" = 1 ] && args+=(-DLACT_USE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native)
  prefix=$torch_prefix
  if [ -n "$DEPS" ]; then
    prefix="$torch_prefix;$DEPS/usr"
    export PKG_CONFIG_LIBDIR=$deplib/pkgconfig
    args+=("-DPKG_CONFIG_EXECUTABLE=$DEPS/usr/bin/pkgconf"
           "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--no-as-needed -Wl,-rpath-link,$deplib")
    # protoc and grpc_cpp_plugin of the staged folder (--for-server) run during the build.
    [ -x "$DEPS/usr/bin/protoc" ] && args+=("-DProtobuf_PROTOC_EXECUTABLE=$DEPS/usr/bin/protoc")
  fi
  local keep_going=(-k)
  command -v ninja > /dev/null && args+=(-G Ninja) && keep_going=(-k 0)
  # CMake 4 refuses policy versions below 3.5, which the Debian abseil/json target files name.
  export CMAKE_POLICY_VERSION_MINIMUM=3.5
  # Skip LibTorch's GPU-architecture probe (we compile no CUDA code): name this host's GPU.
  if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ] && command -v nvidia-smi > /dev/null; then
    TORCH_CUDA_ARCH_LIST=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1) && export TORCH_CUDA_ARCH_LIST
  fi
  if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
  fi
  echo "gpu_build: torch at $torch_prefix, targets $*" > "$log"
  if ! { cmake -S "$src" -B "$build" "-DCMAKE_PREFIX_PATH=$prefix" "${args[@]}" &&
         cmake --build "$build" -j"${JOBS:-$(nproc)}" --target "$@" -- "${keep_going[@]}"; } >> "$log" 2>&1; then
    grep -m 8 -E "error:|Error " "$log"
    tail -40 "$log"
    return 1
  fi
}
