// server/decode_pool: every submitted task runs (also when the pool is destroyed with tasks
// queued), Wait returns only after them, tasks start in submission order, and up to `threads`
// run at once.
#include "server/decode_pool.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace lact::server {
namespace {

TEST(DecodePoolTest, WaitReturnsAfterEverySubmittedTask) {
  DecodePool pool(3);
  EXPECT_EQ(pool.threads(), 3);
  std::atomic<int> done{0};
  for (int i = 0; i < 40; ++i) {
    pool.Submit([&done] {
      absl::SleepFor(absl::Milliseconds(1));
      ++done;
    });
  }
  pool.Wait();
  EXPECT_EQ(done.load(), 40);
  pool.Wait();  // nothing pending: returns at once
  EXPECT_EQ(done.load(), 40);
}

TEST(DecodePoolTest, DestroyingThePoolRunsTheQueuedTasks) {
  std::atomic<int> done{0};
  {
    DecodePool pool(1);
    for (int i = 0; i < 20; ++i) {
      pool.Submit([&done] {
        absl::SleepFor(absl::Milliseconds(2));
        ++done;
      });
    }
  }  // most are still queued here
  EXPECT_EQ(done.load(), 20);
}

TEST(DecodePoolTest, OneThreadRunsTasksInSubmissionOrder) {
  DecodePool pool(1);
  absl::Mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 30; ++i) {
    pool.Submit([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
  }
  pool.Wait();
  ASSERT_EQ(order.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(order[i], i);
}

TEST(DecodePoolTest, RunsAsManyTasksAtOnceAsItHasThreads) {
  // Each task waits until `threads` tasks are running together: this only finishes when the
  // pool runs them concurrently (a pool running fewer at once times out instead of hanging).
  for (int threads : {1, 2, 4}) {
    DecodePool pool(threads);
    absl::Mutex mu;
    int running = 0, most = 0;
    std::atomic<int> timed_out{0};
    for (int i = 0; i < threads * 3; ++i) {
      pool.Submit([&] {
        absl::MutexLock lock(&mu);
        ++running;
        most = std::max(most, running);
        auto all_in = [&] { return most >= threads; };
        if (!mu.AwaitWithTimeout(absl::Condition(&all_in), absl::Seconds(20))) ++timed_out;
        --running;
      });
    }
    pool.Wait();
    EXPECT_EQ(timed_out.load(), 0) << threads << " threads";
    EXPECT_EQ(most, threads) << "never more tasks at once than threads";
  }
}

}  // namespace
}  // namespace lact::server
