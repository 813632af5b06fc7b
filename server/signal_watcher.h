// SIGTERM / SIGINT as a count the main thread waits on (the drain's trigger).
//
// main() blocks both before any thread exists, so every thread it or a library starts inherits
// the blocked mask and the signals stay pending for the process; a watcher thread reads them from
// a signalfd and turns them into a count. None of those threads runs a handler for them, which
// matters under ThreadSanitizer: it defers a handler until its thread enters an intercepted
// blocking call, and threads parked in absl's raw futex wait (or in read()) never do, so a
// handler-based drain never started. Threads started before main() do not have the signals
// blocked (OpenBLAS starts its pool from a library constructor), and the kernel delivers a signal
// to such a thread when there is one: for those, a handler writes the signal number to a pipe
// that the watcher polls as well.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lact::server {

class SignalWatcher {
 public:
  // Call first thing in main(), before any thread is started.
  static void BlockInThisThread();

  // Starts the watcher thread (detached: it lives as long as the process). When the signals
  // cannot be watched, logs a warning and unblocks them (they then end the process undrained).
  void Start();
  // Waits for the n-th signal, at most until `deadline`; returns true when it came.
  bool WaitFor(int n, absl::Time deadline);
  int last_signal();

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  int last_signal_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lact::server
