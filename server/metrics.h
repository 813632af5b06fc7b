// The Prometheus metrics of lact_server (a prometheus-cpp registry, served on /metrics by
// metrics_http_server.h).
//
// clang-format off
//   lact_device_memory_allocated_bytes{device}   gauge     see device_memory.h (read at scrape time)
//   lact_device_memory_reserved_bytes{device}    gauge
//   lact_device_memory_total_bytes{device}       gauge
//   lact_fast_weight_state_bytes{device}         gauge     LaCT fast weights held by open streams
//   lact_active_streams                          gauge     open streams (StreamingRecognize + Recognize)
//   lact_ready_queue_length                      gauge     ready streams waiting for the model
//   lact_pending_audio_seconds                   gauge     audio received, not yet given to the model
//   lact_streams_total{code}                     counter   finished streams by gRPC status code
//   lact_audio_seconds_total                     counter   audio decoded (committed)
//   lact_batch_size                              histogram streams per model call
//   lact_model_step_seconds                      histogram time of one batched model step (RunModelStep)
//   lact_recognize_step_seconds                  histogram the model steps of Recognize's long windows
//                                                          (a subset of lact_model_step_seconds)
//   lact_encoder_calls                           histogram encoder calls per model step (one per window length,
//                                                          or one with --window_batching padded)
//   lact_encoder_frames_total{kind}              counter   encoder output frames computed: kind="window"
//                                                          (the windows') or "padding" (padded rows' rest)
//   lact_decode_seconds                          histogram one stream's CTC decoding of a step (FinishStep)
//   lact_model_idle_seconds_total                counter   model worker waiting for ready streams
//   lact_queue_wait_seconds                      histogram ready -> taken into a batch
//   lact_interim_latency_seconds                 histogram newest audio in a result received -> interim sent
//   lact_final_latency_seconds                   histogram half-close (or an endpointed utterance's
//                                                          newest audio received) -> final sent
// clang-format on
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace lact::server {

class MetricsHttpServer;

class ServerMetrics {
 public:
  // `device`: the label of the device metrics ("cpu", "cuda:0").
  explicit ServerMetrics(const std::string& device);
  ~ServerMetrics();

  // Serves GET /metrics and /healthz on host:port (port 0: a free port). Returns the bound port.
  absl::StatusOr<int> StartHttpServer(const std::string& host, int port);

  // What /healthz answers: SERVING (200) once the model is loaded, NOT_SERVING (503) before that
  // and while draining; kept equal to the gRPC health service's status by lact_server.
  void SetServing(bool serving) { serving_.store(serving); }

  // The Prometheus text exposition of every metric (what /metrics returns).
  std::string Render();

  prometheus::Gauge& active_streams() { return *active_streams_; }
  prometheus::Gauge& ready_queue_length() { return *ready_queue_length_; }
  prometheus::Gauge& pending_audio_seconds() { return *pending_audio_seconds_; }
  prometheus::Gauge& fast_weight_state_bytes() { return *fast_weight_state_bytes_; }
  prometheus::Counter& audio_seconds() { return *audio_seconds_; }
  prometheus::Histogram& batch_size() { return *batch_size_; }
  prometheus::Histogram& model_step_seconds() { return *model_step_seconds_; }
  prometheus::Histogram& recognize_step_seconds() { return *recognize_step_seconds_; }
  prometheus::Histogram& encoder_calls() { return *encoder_calls_; }
  prometheus::Counter& encoder_window_frames() { return *encoder_window_frames_; }
  prometheus::Counter& encoder_padding_frames() { return *encoder_padding_frames_; }
  prometheus::Histogram& decode_seconds() { return *decode_seconds_; }
  prometheus::Counter& model_idle_seconds() { return *model_idle_seconds_; }
  prometheus::Histogram& queue_wait_seconds() { return *queue_wait_seconds_; }
  prometheus::Histogram& interim_latency_seconds() { return *interim_latency_seconds_; }
  prometheus::Histogram& final_latency_seconds() { return *final_latency_seconds_; }
  // `code`: a gRPC status code name, e.g. "OK", "INVALID_ARGUMENT".
  void CountStream(const std::string& code);

  // Re-reads the device memory gauges (done before every scrape).
  void RefreshDeviceMemory();

 private:
  class ScrapeHook;

  std::string device_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapeHook> hook_;
  std::unique_ptr<MetricsHttpServer> http_;
  std::mutex refresh_mu_;
  std::atomic<bool> serving_{false};

  prometheus::Gauge* memory_allocated_;
  prometheus::Gauge* memory_reserved_;
  prometheus::Gauge* memory_total_;
  prometheus::Gauge* fast_weight_state_bytes_;
  prometheus::Gauge* active_streams_;
  prometheus::Gauge* ready_queue_length_;
  prometheus::Gauge* pending_audio_seconds_;
  prometheus::Family<prometheus::Counter>* streams_total_;
  prometheus::Counter* audio_seconds_;
  prometheus::Histogram* batch_size_;
  prometheus::Histogram* model_step_seconds_;
  prometheus::Histogram* recognize_step_seconds_;
  prometheus::Histogram* encoder_calls_;
  prometheus::Counter* encoder_window_frames_;
  prometheus::Counter* encoder_padding_frames_;
  prometheus::Histogram* decode_seconds_;
  prometheus::Counter* model_idle_seconds_;
  prometheus::Histogram* queue_wait_seconds_;
  prometheus::Histogram* interim_latency_seconds_;
  prometheus::Histogram* final_latency_seconds_;
};

// The gRPC status code name of a numeric code (grpc::StatusCode / absl::StatusCode share them).
const char* StatusCodeName(int code);

}  // namespace lact::server
