// How a call on gRPC's callback API (server/streaming_call, server/unary_call) runs its Step():
// on whichever thread has news (a gRPC reaction, the session's listener, an abort), never on two
// at once and never waiting for one another. The first thread in runs the step once per Kick,
// its own and every one that came meanwhile; the others only count theirs and return.
#pragma once

#include <atomic>

namespace lact::server {

class SerialSteps {
 public:
  template <typename Step>
  void Kick(Step&& step) {
    if (kicks_.fetch_add(1, std::memory_order_acq_rel) > 0) return;
    do {
      step();
    } while (kicks_.fetch_sub(1, std::memory_order_acq_rel) > 1);
  }

 private:
  std::atomic<int> kicks_{0};
};

}  // namespace lact::server
