// A fixed set of threads that run the CTC decoding of each batch's streams off the model worker
// (the server's --decode_threads), so the worker can start the next batch while the previous
// one decodes. Tasks start in the order they were submitted, up to `threads` at once; a task is
// one stream's OnlineRecognizer::FinishStep + StreamSession::EndDecode, and a stream has at most
// one task in flight (it is not queued again before its EndDecode), so each stream's results stay
// in order.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace lact::server {

class DecodePool {
 public:
  // `threads` >= 1.
  explicit DecodePool(int threads);
  ~DecodePool();  // runs every task already submitted, then joins the threads
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  void Submit(std::function<void()> task);
  // Returns once every task submitted before the call has finished.
  void Wait();
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;  // queued + running
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace lact::server
