// Dynamic batching of ready streams, in the manner of Triton's sequence batcher: a stream whose
// recognizer IsReady joins a FIFO queue; one model worker per device takes up to max_batch
// ready streams, waiting at most max_queue_delay after the oldest became ready for the batch to
// fill, and runs them through one OnlineRecognizer::DecodeStreams call. Each stream then gets its
// result (StreamSession::EndDecode), which re-queues it when it is ready again. No RPC thread
// ever runs the model; per-stream state (LaCT fast weights included) stays with the stream.
//
// Decoding off the model worker (decode_threads > 0): the worker runs a batch's model step
// (OnlineRecognizer::RunModelStep) and hands each stream's CTC decoding and result
// (FinishStep + EndDecode) to a DecodePool, then starts the next batch while those run. A stream
// is queued again only from its own EndDecode, so its steps stay in order and its results are
// those of decoding on the worker (decode_threads 0).
//
// Two lanes (lact_server's Recognize): SchedulerOptions::offline, a second recognizer on the
// same model with long windows, whose streams are batched apart from the scheduler's own (a model
// call runs one recognizer's windows), at most offline_max_batch to a call. The worker takes the
// batch of the lane whose oldest ready stream has waited longest, so neither lane starves the
// other: a ready stream waits at most for the batches of streams that were ready before it.
//
// Out of memory: a batch whose model step runs out of device (or host) memory fails its own
// streams with RESOURCE_EXHAUSTED and the worker goes on with the next batch; other streams are
// not affected. The batch is not retried in smaller pieces: DecodeStreams is not transactional
// (LaCT's fast weights advance before lm_head runs), so a stream whose step failed half-way has
// no consistent state to resume from.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lact {
class OnlineRecognizer;
struct PendingStep;
}  // namespace lact

namespace lact::server {

class DecodePool;
class ServerMetrics;
class StreamSession;

struct SchedulerOptions {
  int max_batch = 8;
  absl::Duration max_queue_delay = absl::Milliseconds(5);
  // Threads decoding the streams of finished model steps; 0: the model worker decodes them.
  int decode_threads = 0;
  // The second lane's recognizer (shares the model; outlives the scheduler); null: one lane.
  // Sessions of any other recognizer than these two must not be enqueued.
  const OnlineRecognizer* offline = nullptr;
  int offline_max_batch = 1;  // streams of `offline` per model call
  // Fault injection for tests only (no flag sets it): called on the model worker right before
  // each DecodeStreams with the batch's index (0, 1, ...) and its sessions' ids. Whatever it
  // throws is handled exactly as if DecodeStreams had thrown it (e.g. a c10::OutOfMemoryError
  // to simulate a device out-of-memory in that batch).
  std::function<void(int64_t batch_index, const std::vector<uint64_t>& session_ids)> before_decode;
};

class Scheduler {
 public:
  // `recognizer` and `metrics` (may be null) outlive the scheduler.
  Scheduler(const OnlineRecognizer& recognizer, const SchedulerOptions& options,
            ServerMetrics* metrics);
  ~Scheduler();  // Stop()s
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  // Ends the worker after the batch it is running and waits for the decoding of the steps it
  // ran; streams still queued are left undecoded (their RPCs are aborted by the service before
  // this).
  void Stop();

  // A ready stream (called by the session with its own lock held).
  void Enqueue(std::shared_ptr<StreamSession> session, absl::Time ready_since);
  // Takes a stream out of the queue (cancelled); false when it was not queued.
  bool Remove(const StreamSession* session);

  // Batches run so far (for tests and logs).
  int64_t batches_run() const { return batches_.load(); }
  // Batches whose model step failed because memory ran out (their streams ended with
  // RESOURCE_EXHAUSTED; the worker went on with the next batch).
  int64_t out_of_memory_batches() const { return oom_batches_.load(); }

 private:
  struct Entry {
    std::shared_ptr<StreamSession> session;
    absl::Time ready_since;
  };
  // Lanes: 0 the scheduler's recognizer, 1 options_.offline.
  static constexpr int kLanes = 2;
  const OnlineRecognizer& RecognizerOf(int lane) const {
    return lane == 0 ? recognizer_ : *options_.offline;
  }
  size_t MaxBatchOf(int lane) const;
  void CountQueuedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WorkerLoop();
  // Takes the next batch, all of one lane (waits for ready streams); false when stopping.
  bool TakeBatch(std::vector<Entry>* batch, int* lane);
  // Runs one batch of `lane`: its model step, then each stream's decoding (here or on the pool).
  void RunBatch(const std::vector<Entry>& batch, int lane);
  // One stream's decoding of a finished model step, and its EndDecode.
  void FinishStream(const OnlineRecognizer& recognizer,
                    const std::shared_ptr<StreamSession>& session, const PendingStep& step);

  const OnlineRecognizer& recognizer_;
  const SchedulerOptions options_;
  ServerMetrics* const metrics_;

  mutable absl::Mutex mu_;
  std::deque<Entry> queues_[kLanes] ABSL_GUARDED_BY(mu_);  // ready streams, oldest first
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Written by the worker only (after each batch); read by any thread.
  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> oom_batches_{0};
  std::unique_ptr<DecodePool> pool_;  // null: decode_threads 0
  std::thread worker_;
};

}  // namespace lact::server
