# syntax=docker/dockerfile:1
#
# lact-asr images. Two final targets:
#
#   docker build -t lact-asr:cpu .                              # CPU (default target: runtime)
#   docker build --target runtime-cuda -t lact-asr:cuda .       # NVIDIA GPU (CUDA LibTorch)
#
# The build stage runs deploy/install-deps.sh, the same script CI (.ci/run) and the README's
# set-up step run, then the same CMake configure as CI. The runtime stages hold only the binaries,
# the runtime libraries (deploy/install-deps.sh --runtime) and models/ (the committed demo model and
# any model downloaded there; or mount a model folder under /models at run time).
#
# Configuration (see docs/server.md for every flag):
#   - flags:       docker run lact-asr:cpu --max_batch=16 --max_streams=32
#   - environment: LACT_MODEL (model folder; default /models/demo, the demo model committed under
#                  models/demo; build arg LACT_MODEL picks another folder of models/, e.g.
#                  --build-arg LACT_MODEL=/models/wav2vec2-base-960h) and FLAGS_<flag> for the flags
#                  listed in --tryfromenv below (abseil's standard mechanism), e.g.
#                  docker run -e FLAGS_max_batch=16 -e FLAGS_drain_seconds=20 lact-asr:cpu
#     Flags given on the command line win over FLAGS_* variables. Change the metrics port with
#     FLAGS_metrics_port (not --metrics_port): the HEALTHCHECK probes ${FLAGS_metrics_port}.
#   - TLS / tokens: mount the files read-only and set FLAGS_tls_cert, FLAGS_tls_key
#     [FLAGS_tls_client_ca] and/or FLAGS_auth_tokens_file (or the same flags after the image name);
#     the HEALTHCHECK keeps working (it asks the plain-HTTP /healthz, not the gRPC port).
# Ports: 50051 gRPC (lact.asr.v1.StreamingAsr, grpc.health.v1, reflection), 9400 /metrics and
# /healthz (plain HTTP).
#
# HEALTHCHECK: `lact_health_probe --http_address` GETs /healthz on the metrics listener (200 SERVING
# once the model is loaded, 503 NOT_SERVING while draining: the gRPC health service's state), so it
# works whether or not the gRPC port requires (mutual) TLS. It needs that listener on (not
# --metrics_port=-1) and reachable on 127.0.0.1 inside the container (--metrics_host unset,
# 0.0.0.0 or 127.0.0.1); otherwise override it (docker run --health-cmd / --no-healthcheck).

ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# CPU build: Debian's LibTorch 1.13, gRPC 1.51, prometheus-cpp 1.0 (deploy/install-deps.sh).
FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN bash deploy/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
ARG LACT_TARGETS="lact_server lact_health_probe lact_eval_client lact_stream lact_transcribe lact_bench"
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target ${LACT_TARGETS} \
 && mkdir -p /out/bin /out/models \
 && cp build/server/lact_server build/client/lact_health_probe build/client/lact_eval_client \
       build/client/lact_stream build/core/lact_transcribe build/core/lact_bench /out/bin/ \
 && if [ -d models ]; then cp -a models/. /out/models/; fi

# ---------------------------------------------------------------------------------------------
# What the CPU and GPU images share: the runtime libraries, the unprivileged user, the server's
# flags from the environment, the health check and the entrypoint. The two runtime stages below
# add their binaries (and the GPU one its CUDA libraries) on top.
FROM ${DEBIAN_IMAGE} AS runtime-base
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && groupadd --system --gid 10001 lact \
 && useradd --system --uid 10001 --gid lact --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin lact
# LACT_MODEL is read by lact_server when --model is not given. The FLAGS_* defaults below are the
# server's own defaults, spelled out so that `docker run -e FLAGS_port=...` is discoverable.
ARG LACT_MODEL=/models/demo
ENV LACT_MODEL=${LACT_MODEL} \
    FLAGS_host=0.0.0.0 \
    FLAGS_port=50051 \
    FLAGS_metrics_port=9400 \
    FLAGS_drain_seconds=30
USER 10001:10001
WORKDIR /tmp
EXPOSE 50051 9400
# GET /healthz on the metrics port (see the top of this file): TLS on the gRPC port does not matter.
# The start period covers loading a base-sized model on a CPU or warming up a GPU.
HEALTHCHECK --interval=10s --timeout=5s --start-period=180s --retries=3 \
  CMD lact_health_probe --http_address=127.0.0.1:${FLAGS_metrics_port:-9400} --timeout_ms=3000 || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["lact_server", "--tryfromenv=device,dtype,lact,threads,onednn_linear,fused_attention,host,port,metrics_host,metrics_port,tls_cert,tls_key,tls_client_ca,auth_tokens_file,reflection,max_batch,max_queue_delay_ms,decode_threads,max_streams,max_stream_seconds,max_message_bytes,stream_window_bytes,drain_seconds,recognize_step_ms,recognize_context_ms,recognize_max_batch,write_stall_timeout_s,stream_idle_timeout_s,max_streams_per_peer,max_speech_context_phrases,max_speech_context_phrase_chars,max_speech_context_boost,warmup_seconds,step_ms,left_context_ms,lookahead_ms,first_partial_ms,window_batching,feed_ms,decoder,beam_size,lm_weight,word_score,unk_penalty,token_threshold,calibrate_confidence,endpointing,endpointing_start_history_ms,endpointing_start_threshold,endpointing_stop_history_ms,endpointing_stop_threshold,endpointing_stop_history_eou_ms,endpointing_stop_threshold_eou,max_utterance_seconds"]
CMD []

# ---------------------------------------------------------------------------------------------
# CPU runtime (the default target).
FROM runtime-base AS runtime
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/models/ /models/

# ---------------------------------------------------------------------------------------------
# GPU build: the same Debian 12 base and install script, plus NVIDIA's CUDA toolkit for Debian 12
# and a CUDA LibTorch from the PyTorch wheel (CXX11 ABI from torch 2.7 on, which Debian's gRPC and
# abseil need). See docs/gpu.md for the versions and the host requirements.
FROM ${DEBIAN_IMAGE} AS build-cuda
ARG CUDA_PKG_VERSION=12-6
ARG TORCH_VERSION=2.7.1
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ARG TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0"
WORKDIR /src
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN bash deploy/install-deps.sh \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates wget python3-venv \
 && wget -q https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
 && dpkg -i cuda-keyring_1.1-1_all.deb && rm cuda-keyring_1.1-1_all.deb \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends cuda-toolkit-${CUDA_PKG_VERSION} \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/torch-venv \
 && /opt/torch-venv/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"
ENV PATH=/usr/local/cuda/bin:${PATH} \
    TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST}
COPY . .
ARG LACT_TARGETS="lact_server lact_health_probe lact_eval_client lact_stream lact_transcribe lact_bench"
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLACT_USE_CUDA=ON \
      -DCMAKE_PREFIX_PATH="$(/opt/torch-venv/bin/python -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')" \
 && cmake --build build -j"$(nproc)" --target ${LACT_TARGETS} \
 && mkdir -p /out/bin /out/models \
 && cp build/server/lact_server build/client/lact_health_probe build/client/lact_eval_client \
       build/client/lact_stream build/core/lact_transcribe build/core/lact_bench /out/bin/ \
 && if [ -d models ]; then cp -a models/. /out/models/; fi

# ---------------------------------------------------------------------------------------------
# GPU runtime: needs the NVIDIA driver on the host and the NVIDIA container toolkit
# (docker run --gpus all ..., or nvidia.com/gpu on Kubernetes).
FROM runtime-base AS runtime-cuda
ARG PYTHON_SITE=/opt/torch-venv/lib/python3.11/site-packages
# The binaries' RUNPATH points at the wheel's torch/lib; torch's libraries find the nvidia-* wheels
# (cuBLAS, cuDNN, ...) relative to themselves, so both keep their build-stage paths.
COPY --from=build-cuda ${PYTHON_SITE}/torch/lib ${PYTHON_SITE}/torch/lib
COPY --from=build-cuda ${PYTHON_SITE}/nvidia ${PYTHON_SITE}/nvidia
COPY --from=build-cuda /out/bin/ /usr/local/bin/
COPY --from=build-cuda /out/models/ /models/
ENV LD_LIBRARY_PATH=${PYTHON_SITE}/nvidia/cuda_runtime/lib \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    FLAGS_device=cuda

# `docker build .` without --target builds the last stage: keep the CPU runtime the default.
FROM runtime AS default
