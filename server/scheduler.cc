#include "server/scheduler.h"

#include <algorithm>
#include <cassert>
#include <exception>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/model/model_errors.h"
#include "core/streaming/online_recognizer.h"
#include "server/decode_pool.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/stream_session.h"

namespace lact::server {
namespace {

// The status of every stream of a batch whose model step ran out of memory.
absl::Status OutOfMemoryStatus(size_t batch_size, absl::string_view what) {
  return OutOfMemoryError(absl::StrCat(
      "out of memory: the model step of this stream's batch (", batch_size,
      " streams) ran out of memory and the stream cannot continue; other streams are not affected, "
      "retry later (",
      FirstLine(what), ")"));
}

}  // namespace

Scheduler::Scheduler(const OnlineRecognizer& recognizer, const SchedulerOptions& options,
                     ServerMetrics* metrics)
    : recognizer_(recognizer), options_(options), metrics_(metrics) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  absl::MutexLock lock(&mu_);
  if (worker_.joinable()) return;
  stop_ = false;
  if (options_.decode_threads > 0 && pool_ == nullptr) {
    pool_ = std::make_unique<DecodePool>(options_.decode_threads);
  }
  worker_ = std::thread([this] { WorkerLoop(); });
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (worker_.joinable()) worker_.join();
  if (pool_ != nullptr) pool_->Wait();  // the decoding of steps already run (may queue streams)
  std::deque<Entry> dropped[kLanes];    // released outside the lock (sessions lock themselves)
  {
    absl::MutexLock lock(&mu_);
    for (int lane = 0; lane < kLanes; ++lane) dropped[lane].swap(queues_[lane]);
  }
  if (metrics_ != nullptr) metrics_->ready_queue_length().Set(0);
}

void Scheduler::Enqueue(std::shared_ptr<StreamSession> session, absl::Time ready_since) {
  const int lane = &session->recognizer() == &recognizer_ ? 0 : 1;
  assert(lane == 0 || &session->recognizer() == options_.offline);
  absl::MutexLock lock(&mu_);
  queues_[lane].push_back(Entry{std::move(session), ready_since});
  CountQueuedLocked();
}

bool Scheduler::Remove(const StreamSession* session) {
  absl::MutexLock lock(&mu_);
  for (std::deque<Entry>& queue : queues_) {
    auto it = std::find_if(queue.begin(), queue.end(),
                           [session](const Entry& e) { return e.session.get() == session; });
    if (it == queue.end()) continue;
    queue.erase(it);
    CountQueuedLocked();
    return true;
  }
  return false;
}

void Scheduler::CountQueuedLocked() {
  if (metrics_ == nullptr) return;
  metrics_->ready_queue_length().Set(static_cast<double>(queues_[0].size() + queues_[1].size()));
}

size_t Scheduler::MaxBatchOf(int lane) const {
  return static_cast<size_t>(
      std::max(1, lane == 0 ? options_.max_batch : options_.offline_max_batch));
}

void Scheduler::WorkerLoop() {
  std::vector<Entry> batch;
  int lane = 0;
  while (TakeBatch(&batch, &lane)) RunBatch(batch, lane);
}

bool Scheduler::TakeBatch(std::vector<Entry>* batch, int* lane) {
  const absl::Time idle_since = absl::Now();
  batch->clear();
  {
    absl::MutexLock lock(&mu_);
    auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || !queues_[0].empty() || !queues_[1].empty();
    };
    mu_.Await(absl::Condition(&has_work));
    if (stop_) return false;
    // The lane whose oldest ready stream has waited longest.
    *lane = queues_[0].empty() || (!queues_[1].empty() &&
                                   queues_[1].front().ready_since < queues_[0].front().ready_since)
                ? 1
                : 0;
    std::deque<Entry>& queue = queues_[*lane];
    const size_t max_batch = MaxBatchOf(*lane);
    // Wait for the batch to fill, at most max_queue_delay after the oldest became ready.
    const absl::Time deadline = queue.front().ready_since + options_.max_queue_delay;
    auto full = [this, &queue, max_batch]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stop_ || queue.size() >= max_batch;
    };
    mu_.AwaitWithDeadline(absl::Condition(&full), deadline);
    if (stop_) return false;
    const size_t n = std::min(max_batch, queue.size());
    batch->assign(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
    CountQueuedLocked();
  }
  if (metrics_ != nullptr) {
    metrics_->model_idle_seconds().Increment(absl::ToDoubleSeconds(absl::Now() - idle_since));
  }
  return true;
}

void Scheduler::RunBatch(const std::vector<Entry>& batch, int lane) {
  const OnlineRecognizer& recognizer = RecognizerOf(lane);
  const absl::Time start = absl::Now();
  std::vector<OnlineStream*> streams;
  std::vector<std::shared_ptr<StreamSession>> sessions;
  std::vector<uint64_t> ids;
  for (const Entry& e : batch) {
    OnlineStream* stream = e.session->BeginDecode();
    if (stream == nullptr) continue;  // aborted meanwhile (or every queued stream was removed)
    if (metrics_ != nullptr) {
      metrics_->queue_wait_seconds().Observe(absl::ToDoubleSeconds(start - e.ready_since));
    }
    streams.push_back(stream);
    sessions.push_back(e.session);
    ids.push_back(e.session->id());
  }
  if (streams.empty()) return;
  absl::StatusOr<std::vector<PendingStep>> pending;
  EncoderStepStats encoder;
  try {
    if (options_.before_decode) options_.before_decode(batches_.load(), ids);
    // Reports its model calls' failures as a status.
    pending = recognizer.RunModelStep(streams, &encoder);
  } catch (...) {  // keep the worker (and the server) alive whatever was thrown
    pending = ModelCallStatus(std::current_exception(), "model step failed");
  }
  absl::Status status = pending.status();
  const bool out_of_memory = IsOutOfMemory(status);
  if (out_of_memory) status = OutOfMemoryStatus(streams.size(), status.message());
  if (!status.ok()) {
    Log("model step failed for a batch of ", streams.size(), " (streams ", absl::StrJoin(ids, ","),
        "): ", status.ToString(), out_of_memory ? "; those streams end, the server goes on" : "");
  }
  if (metrics_ != nullptr) {
    metrics_->batch_size().Observe(static_cast<double>(streams.size()));
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    metrics_->model_step_seconds().Observe(seconds);
    if (lane == 1) metrics_->recognize_step_seconds().Observe(seconds);
    if (status.ok()) {
      metrics_->encoder_calls().Observe(encoder.calls);
      metrics_->encoder_window_frames().Increment(static_cast<double>(encoder.window_frames));
      metrics_->encoder_padding_frames().Increment(static_cast<double>(encoder.padding_frames));
    }
  }
  if (out_of_memory) ++oom_batches_;
  ++batches_;
  if (!status.ok()) {
    for (const auto& s : sessions) s->EndDecode(status);
    return;
  }
  // Each stream's decoding; a stream the step skipped (not ready after all) ends its decode now.
  std::vector<const PendingStep*> step_of(streams.size(), nullptr);
  for (const PendingStep& p : *pending) {
    step_of[std::find(streams.begin(), streams.end(), p.stream) - streams.begin()] = &p;
  }
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (step_of[i] == nullptr) {
      sessions[i]->EndDecode(absl::OkStatus());
    } else if (pool_ != nullptr) {
      pool_->Submit([this, &recognizer, session = sessions[i], step = *step_of[i]] {
        FinishStream(recognizer, session, step);
      });
    } else {
      FinishStream(recognizer, sessions[i], *step_of[i]);
    }
  }
}

void Scheduler::FinishStream(const OnlineRecognizer& recognizer,
                             const std::shared_ptr<StreamSession>& session,
                             const PendingStep& step) {
  const absl::Time start = absl::Now();
  absl::Status status;
  try {
    recognizer.FinishStep(step);
  } catch (...) {  // e.g. out of memory in the beam search: this stream ends, the others go on
    status = ModelCallStatus(std::current_exception(), "decoding failed");
    Log("decoding failed for stream ", session->id(), ": ", status.ToString());
  }
  if (metrics_ != nullptr) {
    metrics_->decode_seconds().Observe(absl::ToDoubleSeconds(absl::Now() - start));
  }
  session->EndDecode(status);
}

}  // namespace lact::server
