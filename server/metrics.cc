#include "server/metrics.h"

#include "absl/strings/str_cat.h"
#include "core/model/device_memory.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"
#include "server/metrics_http_server.h"

namespace lact::server {

// What a scrape collects: refreshes the device memory gauges, then returns the registry's
// metrics.
class ServerMetrics::ScrapeHook final : public prometheus::Collectable {
 public:
  explicit ScrapeHook(ServerMetrics* metrics) : metrics_(metrics) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    metrics_->RefreshDeviceMemory();
    return metrics_->registry_->Collect();
  }

 private:
  ServerMetrics* metrics_;
};

namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10};
}

}  // namespace

ServerMetrics::ServerMetrics(const std::string& device)
    : device_(device), registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels dev{{"device", device_}};
  auto gauge = [&](const char* name, const char* help, const prometheus::Labels& labels) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add(labels);
  };
  auto histogram = [&](const char* name, const char* help,
                       const prometheus::Histogram::BucketBoundaries& buckets) {
    return &prometheus::BuildHistogram()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({}, buckets);
  };
  memory_allocated_ = gauge("lact_device_memory_allocated_bytes",
                            "Memory in use on the model's device (CUDA: caching allocator "
                            "allocated; CPU: process resident set)",
                            dev);
  memory_reserved_ = gauge("lact_device_memory_reserved_bytes",
                           "Memory reserved on the model's device (CUDA: caching allocator "
                           "reserved; CPU: process resident set)",
                           dev);
  memory_total_ = gauge("lact_device_memory_total_bytes",
                        "Total memory of the model's device (CPU: machine or cgroup limit)", dev);
  fast_weight_state_bytes_ = gauge("lact_fast_weight_state_bytes",
                                   "Bytes of LaCT fast-weight state held by open streams", dev);
  active_streams_ = gauge("lact_active_streams", "Open recognition streams", {});
  ready_queue_length_ = gauge("lact_ready_queue_length", "Ready streams waiting to be batched", {});
  pending_audio_seconds_ =
      gauge("lact_pending_audio_seconds",
            "Audio received from clients and not yet given to the model, all streams (each "
            "stream's is bounded: a stream is not read further while 10 s of its audio wait)",
            {});
  streams_total_ = &prometheus::BuildCounter()
                        .Name("lact_streams_total")
                        .Help("Finished streams by gRPC status code")
                        .Register(*registry_);
  audio_seconds_ = &prometheus::BuildCounter()
                        .Name("lact_audio_seconds_total")
                        .Help("Seconds of audio decoded by the model")
                        .Register(*registry_)
                        .Add({});
  batch_size_ = histogram("lact_batch_size", "Streams per batched model call",
                          {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128});
  model_step_seconds_ =
      histogram("lact_model_step_seconds",
                "Time of one batched model step (encoder, LaCT, lm_head)", LatencyBuckets());
  recognize_step_seconds_ = histogram(
      "lact_recognize_step_seconds",
      "Time of one batched model step of Recognize's long windows (--recognize_step_ms; also "
      "counted in lact_model_step_seconds: the streams' steps are the difference)",
      LatencyBuckets());
  encoder_calls_ =
      histogram("lact_encoder_calls",
                "Encoder calls per model step: one per distinct window length among its streams (a "
                "stream's early partials and first steps are shorter than the steady length), or "
                "one with --window_batching padded",
                {1, 2, 3, 4, 6, 8, 12, 16});
  auto& encoder_frames = prometheus::BuildCounter()
                             .Name("lact_encoder_frames_total")
                             .Help(
                                 "Encoder output frames computed: kind=window (the streams' "
                                 "windows) or kind=padding (padded rows beyond their window)")
                             .Register(*registry_);
  encoder_window_frames_ = &encoder_frames.Add({{"kind", "window"}});
  encoder_padding_frames_ = &encoder_frames.Add({{"kind", "padding"}});
  decode_seconds_ = histogram(
      "lact_decode_seconds", "CTC decoding (greedy or beam search) of one stream's step",
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  model_idle_seconds_ = &prometheus::BuildCounter()
                             .Name("lact_model_idle_seconds_total")
                             .Help("Time the model worker waited for ready streams between batches")
                             .Register(*registry_)
                             .Add({});
  queue_wait_seconds_ =
      histogram("lact_queue_wait_seconds", "Time a ready stream waits before its batch starts",
                LatencyBuckets());
  interim_latency_seconds_ =
      histogram("lact_interim_latency_seconds",
                "Newest audio of a result received -> interim result sent", LatencyBuckets());
  final_latency_seconds_ =
      histogram("lact_final_latency_seconds",
                "Client half-close (the input's end) or the newest audio of an "
                "endpointed utterance received -> its final result sent",
                LatencyBuckets());
  // Make the usual codes visible (at 0) before the first stream ends.
  for (const char* code : {"OK", "CANCELLED", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}) {
    streams_total_->Add({{"code", code}});
  }
  hook_ = std::make_shared<ScrapeHook>(this);
  RefreshDeviceMemory();
}

ServerMetrics::~ServerMetrics() { http_.reset(); }

absl::StatusOr<int> ServerMetrics::StartHttpServer(const std::string& host, int port) {
  auto http = MetricsHttpServer::Start(
      host, port, [this] { return Render(); }, [this] { return serving_.load(); });
  if (!http.ok()) return http.status();
  http_ = std::move(*http);
  return http_->port();
}

std::string ServerMetrics::Render() {
  return prometheus::TextSerializer().Serialize(hook_->Collect());
}

void ServerMetrics::CountStream(const std::string& code) {
  streams_total_->Add({{"code", code}}).Increment();
}

void ServerMetrics::RefreshDeviceMemory() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  const DeviceMemory m = QueryDeviceMemory(device_);
  memory_allocated_->Set(static_cast<double>(m.allocated_bytes));
  memory_reserved_->Set(static_cast<double>(m.reserved_bytes));
  memory_total_->Set(static_cast<double>(m.total_bytes));
}

const char* StatusCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) return kNames[code];
  return "UNKNOWN";
}

}  // namespace lact::server
