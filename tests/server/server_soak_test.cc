// Soak and fault test of lact_server on loopback (issue 9): LACT_SOAK_STREAMS client workers
// (default 8) run for LACT_SOAK_SECONDS (default 60), each drawing, from a seeded random
// generator (LACT_SOAK_SEED, default 1), one behaviour after another:
//
//   healthy     LINEAR16 or FLOAT32, random message sizes and pacing, interim results on or
//               off: OK and a final transcript equal to that of the same audio recognised alone
//               by the same server before the soak (and to `lact_transcribe --streaming`);
//   cancel      part of the audio, then the client cancels: CANCELLED;
//   disconnect  a child process (this binary, --soak_child) streams audio and is SIGKILLed
//               mid-stream, after its first interim result (the kernel closes its sockets, no
//               gRPC goodbye);
//   slow reader sends all its audio (interim results and word times on), half-closes and reads
//               nothing for kSlowReaderStall: the server must end the call by itself within
//               kSlowReaderEndBound of the half-close, with OK (every response fitted in the
//               HTTP/2 flow-control window: what it buffers is bounded by that window),
//               CANCELLED "the client stopped reading" (its writer was blocked) or
//               RESOURCE_EXHAUSTED "the client did not read its responses" (the write-stall
//               watchdog); the client then reads what is there: with OK, the right final
//               transcript;
//   oversize    a message over --max_message_bytes, after some audio: RESOURCE_EXHAUSTED;
//   burst       --max_streams + 2 calls at once, admitted ones held open until the server has
//               refused at least one (RESOURCE_EXHAUSTED naming --max_streams); the admitted
//               ones then finish healthy; right after, a new healthy stream is served.
//
// At the end: no failure of any kind, each behaviour seen, the server alive and SERVING,
// lact_active_streams and lact_fast_weight_state_bytes back to 0, no INTERNAL status, and the
// server's resident memory (VmRSS) at the end at most LACT_SOAK_RSS_GROWTH_MB (default 64) above
// its value after the warm-up (the first LACT_SOAK_WARMUP_SECONDS, default a third of the run,
// at most 120 s, of the same mix). docs/reliability.md ("Soak and fault tests") has the figures.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "tests/server/server_test_util.h"

namespace lact::server::testing {
namespace {

constexpr int kMaxMessageBytes = 65536;
constexpr int kMaxStreamSeconds = 60;
constexpr int kSlowReaderRate =
    8000;  // slow readers alone use FLOAT32 at 8 kHz (found in the log by it)
constexpr absl::Duration kSlowReaderStall = absl::Seconds(25);
constexpr absl::Duration kSlowReaderEndBound =
    absl::Seconds(150);  // generous: decoding on a loaded machine
constexpr absl::Duration kCallDeadline = absl::Seconds(180);

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : fallback;
}

// VmRSS of a process in KiB (-1 when unreadable).
int64_t RssKiB(pid_t pid) {
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      int64_t kib = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits.push_back(c);
      }
      if (absl::SimpleAtoi(digits, &kib)) return kib;
    }
  }
  return -1;
}

enum Behaviour { kHealthy, kCancel, kDisconnect, kSlowReader, kOversize, kBurst, kNumBehaviours };
const char* const kNames[] = {"healthy",     "cancel",   "disconnect",
                              "slow_reader", "oversize", "burst"};

struct Clip {
  std::vector<float> samples;  // at `rate`
  int rate = 16000;
  std::string reference;  // recognised alone by the server, before the soak
};

class Soak {
 public:
  Soak(ServerProcess* server, std::vector<Clip> clips, Clip slow_clip, int max_streams,
       uint32_t seed)
      : server_(server),
        clips_(std::move(clips)),
        slow_clip_(std::move(slow_clip)),
        slow_long_clip_{SyntheticAudio(kMaxStreamSeconds + 10, kSlowReaderRate, 78),
                        kSlowReaderRate, ""},
        max_streams_(max_streams),
        seed_(seed) {}

  // Runs `workers` workers until `until`; worker i starts with behaviour i % kNumBehaviours.
  void Run(int workers, absl::Time until) {
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) {
      threads.emplace_back([this, i, until] {
        std::mt19937 rng(seed_ * 7919u + static_cast<uint32_t>(i) +
                         1000u * static_cast<uint32_t>(round_));
        bool first = true;
        while (absl::Now() < until) {
          Behaviour b = first ? static_cast<Behaviour>((i + round_) % kNumBehaviours) : Draw(rng);
          first = false;
          RunOne(b, rng);
        }
      });
    }
    for (auto& t : threads) t.join();
    ++round_;
  }

  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::map<std::string, int64_t> counts() const {
    absl::MutexLock lock(&mu_);
    return counts_;
  }

 private:
  static Behaviour Draw(std::mt19937& rng) {
    // healthy 45%, cancel 15%, disconnect 10%, slow reader 8%, oversize 12%, burst 10%.
    const int r = std::uniform_int_distribution<int>(0, 99)(rng);
    if (r < 45) return kHealthy;
    if (r < 60) return kCancel;
    if (r < 70) return kDisconnect;
    if (r < 78) return kSlowReader;
    if (r < 90) return kOversize;
    return kBurst;
  }

  void Fail(const std::string& what) {
    absl::MutexLock lock(&mu_);
    if (failures_.size() < 50) failures_.push_back(what);
    ++counts_["failures"];
  }
  void Count(const std::string& what, int64_t n = 1) {
    absl::MutexLock lock(&mu_);
    counts_[what] += n;
  }

  bool IsRefusal(const grpc::Status& s) const {
    return s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
           s.error_message().find("max_streams") != std::string::npos;
  }
  // A refusal is expected only while a burst holds the server full (or just after it): a call
  // takes a token when it starts; a refusal is allowed when a burst was running at that time or
  // began or ended since.
  int64_t BurstToken() const {
    absl::MutexLock lock(&mu_);
    return bursting_ ? -1 : burst_events_;
  }
  bool RefusalAllowed(int64_t token) const {
    absl::MutexLock lock(&mu_);
    return token < 0 || bursting_ || burst_events_ != token || absl::Now() < burst_grace_until_;
  }

  // Config + the clip's audio in random pieces (LINEAR16 or FLOAT32: the same samples).
  std::vector<pb::StreamingRecognizeRequest> Messages(const Clip& clip, std::mt19937& rng,
                                                      bool interim, pb::AudioEncoding encoding,
                                                      bool word_times,
                                                      absl::Duration* interval) const {
    pb::RecognitionConfig config = MakeConfig(encoding, clip.rate);
    config.set_enable_word_time_offsets(word_times);
    const std::string bytes =
        encoding == pb::FLOAT32 ? ToFloat32(clip.samples) : ToLinear16(clip.samples);
    const size_t bytes_per_sample = encoding == pb::FLOAT32 ? 4 : 2;
    std::vector<std::string> chunks;
    for (size_t at = 0; at < bytes.size();) {
      // 20..300 ms of audio per message (any byte count: a message may end mid-sample).
      const size_t samples =
          static_cast<size_t>(clip.rate) * std::uniform_int_distribution<int>(20, 300)(rng) / 1000;
      const size_t n = std::min(bytes.size() - at, samples * bytes_per_sample + (rng() % 2));
      chunks.push_back(bytes.substr(at, n));
      at += n;
    }
    // About 2 to 6 times real time.
    const double audio_s = static_cast<double>(clip.samples.size()) / clip.rate;
    *interval = absl::Seconds(audio_s / static_cast<double>(chunks.size()) /
                              std::uniform_real_distribution<double>(2.0, 6.0)(rng));
    return ConfigThenAudio(config, interim, chunks);
  }

  // A healthy stream of a random clip; false (after recording why) on a failure.
  bool Healthy(std::mt19937& rng, const char* label, bool refusal_ok = true) {
    const Clip& clip = clips_[rng() % clips_.size()];
    auto stub = server_->stub();
    StreamSpec spec;
    spec.messages = Messages(clip, rng, rng() % 2 == 0, rng() % 2 == 0 ? pb::LINEAR16 : pb::FLOAT32,
                             false, &spec.interval);
    spec.deadline = kCallDeadline;
    const int64_t token = BurstToken();
    const StreamResult r = RunStream(stub.get(), spec);
    if (refusal_ok && IsRefusal(r.status) && RefusalAllowed(token)) {
      Count("refused_during_burst");
      return true;
    }
    if (!r.status.ok() || !r.got_final || r.final_transcript != clip.reference) {
      Fail(absl::StrCat(label, ": status ", r.status.error_code(), " '", r.status.error_message(),
                        "' final=", r.got_final, " transcript '", r.final_transcript,
                        "' expected '", clip.reference, "'"));
      return false;
    }
    Count(label);
    return true;
  }

  void RunOne(Behaviour b, std::mt19937& rng) {
    switch (b) {
      case kHealthy: Healthy(rng, "healthy_ok"); break;
      case kCancel: Cancel(rng); break;
      case kDisconnect: Disconnect(rng); break;
      case kSlowReader:
        // A slow reader refused because a burst held --max_streams is tried again (up to 3
        // times), so that a short soak on a slow build (TSan) still runs one to its end.
        for (int attempt = 0; attempt < 3; ++attempt) {
          bool refused = false;
          SlowReader(rng, &refused);
          if (!refused) break;
        }
        break;
      case kOversize: Oversize(rng); break;
      case kBurst: Burst(rng); break;
      default: break;
    }
  }

  void Cancel(std::mt19937& rng) {
    const Clip& clip = clips_[rng() % clips_.size()];
    auto stub = server_->stub();
    StreamSpec spec;
    spec.messages = Messages(clip, rng, true, pb::LINEAR16, false, &spec.interval);
    // Stop after a random share of the audio (at least the config and one message).
    spec.messages.resize(2 + rng() % (spec.messages.size() - 1));
    spec.cancel = true;
    spec.cancel_after = absl::Milliseconds(std::uniform_int_distribution<int>(0, 400)(rng));
    spec.deadline = kCallDeadline;
    RunExpectingCode(stub.get(), spec, grpc::StatusCode::CANCELLED, "cancel", "cancel_cancelled");
  }

  // Runs `spec`; the call must end with `code` (counted as `counter`) unless it was refused
  // during a burst. `what` names the behaviour in a failure.
  void RunExpectingCode(pb::StreamingAsr::Stub* stub, const StreamSpec& spec, grpc::StatusCode code,
                        const char* what, const char* counter) {
    const int64_t token = BurstToken();
    const StreamResult r = RunStream(stub, spec);
    if (IsRefusal(r.status) && RefusalAllowed(token)) return Count("refused_during_burst");
    if (r.status.error_code() != code) {
      return Fail(absl::StrCat(what, ": status ", r.status.error_code(), " '",
                               r.status.error_message(), "'"));
    }
    Count(counter);
  }

  void Disconnect(std::mt19937& rng) {
    int fds[2];
    if (pipe(fds) != 0) return Fail("disconnect: pipe failed");
    const std::string address = server_->address();
    const std::string seed = std::to_string(rng());
    const int64_t token = BurstToken();
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      const int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      close(fds[0]);
      execl("/proc/self/exe", "server_soak_test", "--soak_child", address.c_str(), seed.c_str(),
            nullptr);
      _exit(127);
    }
    close(fds[1]);
    // The child says "ready" once the server has answered its call (admitted, being decoded).
    pollfd p{fds[0], POLLIN, 0};
    char buf[16] = {0};
    const bool ready =
        poll(&p, 1, 60000) == 1 && read(fds[0], buf, sizeof buf) > 0 && buf[0] == 'r';
    close(fds[0]);
    if (ready) absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 800)(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Exit code 4: the server refused the child's call (--max_streams).
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4 && RefusalAllowed(token))
      return Count("refused_during_burst");
    if (!ready)
      return Fail(
          absl::StrCat("disconnect: the child never became ready (wait status ", status, ")"));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      // It ended by itself: the server refused or ended its call early.
      return Fail(
          absl::StrCat("disconnect: the child exited before the kill (wait status ", status, ")"));
    }
    Count("disconnect_killed");
  }

  // Sets *refused when the call was refused during a burst (counted as refused_during_burst).
  void SlowReader(std::mt19937& rng, bool* refused) {
    std::unique_lock<std::mutex> one_at_a_time(slow_mu_, std::try_to_lock);
    if (!one_at_a_time.owns_lock()) return void(Healthy(rng, "healthy_ok"));
    // Three kinds: gRPC's default HTTP/2 window; a small window (1 KiB, no BDP probing), so that
    // the server's writes block soon; a small window and audio past --max_stream_seconds without
    // a half-close (the server's reader ends the stream with OUT_OF_RANGE while its writer is
    // blocked).
    const int mode = static_cast<int>(rng() % 3);
    const bool small_window = mode > 0;
    const bool past_limit = mode == 2;
    const std::string kind = mode == 0   ? "slow_reader_default_window_"
                             : mode == 1 ? "slow_reader_small_window_"
                                         : "slow_reader_past_max_seconds_";
    grpc::ChannelArguments args;
    if (small_window) {
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
      args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    }
    args.SetMaxSendMessageSize(64 << 20);
    auto stub = pb::StreamingAsr::NewStub(
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    absl::Duration interval;
    const auto messages = Messages(past_limit ? slow_long_clip_ : slow_clip_, rng, true,
                                   pb::FLOAT32, true, &interval);
    const size_t log_mark = server_->log().size();
    const int64_t token = BurstToken();
    auto stream = stub->StreamingRecognize(&context);
    bool written = true;
    for (const auto& m : messages) {
      if (!(written = stream->Write(m))) break;
      absl::SleepFor(interval);
    }
    if (written && !past_limit) stream->WritesDone();
    const absl::Time closed = absl::Now();  // the client's last write
    // The server's own record of the call: its id from the start line (only slow readers stream
    // FLOAT32 at 8 kHz, one at a time), then its end line, without reading a single response.
    std::string id, end_code, end_message;
    absl::Time ended = absl::InfiniteFuture();
    while (absl::Now() < closed + kSlowReaderEndBound + absl::Seconds(5)) {
      const std::string log = server_->log().substr(log_mark);
      for (absl::string_view line : absl::StrSplit(log, '\n')) {
        if (id.empty()) {
          // "... stream 12 start: StreamingRecognize peer=... FLOAT32/8000Hz/1ch ..."
          const size_t at = line.find("stream ");
          const size_t start = line.find(" start: StreamingRecognize ");
          if (at != absl::string_view::npos && start != absl::string_view::npos &&
              line.find("FLOAT32/8000Hz") != absl::string_view::npos) {
            id = std::string(line.substr(at + 7, start - at - 7));
          }
        } else {
          // "... stream 12 end: status=CANCELLED (the client stopped reading) audio=..."
          const std::string prefix = absl::StrCat("stream ", id, " end: status=");
          const size_t at = line.find(prefix);
          if (at == absl::string_view::npos) continue;
          absl::string_view rest = line.substr(at + prefix.size());
          end_code = std::string(rest.substr(0, rest.find(' ')));
          const size_t open = rest.find(" (");
          const size_t close = rest.rfind(") audio=");
          if (open != absl::string_view::npos && close != absl::string_view::npos && close > open) {
            end_message = std::string(rest.substr(open + 2, close - open - 2));
          }
          ended = absl::Now();
          break;
        }
      }
      if (!end_code.empty()) break;
      if (id.empty() && absl::Now() > closed + absl::Seconds(15))
        break;  // refused, or never started
      absl::SleepFor(absl::Milliseconds(250));
    }
    // Stay unread for the whole stall (a server that waits for the client would be caught here).
    absl::SleepFor(closed + kSlowReaderStall - absl::Now());
    pb::StreamingRecognizeResponse response;
    std::string final_transcript;
    bool got_final = false;
    int64_t response_bytes = 0;
    while (stream->Read(&response)) {
      response_bytes += static_cast<int64_t>(response.ByteSizeLong());
      for (const auto& r : response.results()) {
        if (r.is_final() && r.alternatives_size() > 0) {
          got_final = true;
          final_transcript = r.alternatives(0).transcript();
        }
      }
    }
    const grpc::Status status = stream->Finish();
    if (IsRefusal(status) && RefusalAllowed(token)) {
      *refused = true;
      return Count("refused_during_burst");
    }
    if (id.empty() || end_code.empty()) {
      return Fail(absl::StrCat("slow reader: the server did not end the call within ",
                               absl::FormatDuration(kSlowReaderEndBound),
                               " of the half-close (id '", id, "'); client status ",
                               status.error_code(), " '", status.error_message(), "'"));
    }
    {
      absl::MutexLock lock(&mu_);
      const int64_t ms = absl::ToInt64Milliseconds(ended - closed);
      counts_[kind + "end_ms_max"] = std::max(counts_[kind + "end_ms_max"], ms);
      counts_[kind + "response_bytes_max"] =
          std::max(counts_[kind + "response_bytes_max"], response_bytes);
    }
    // The write-stall watchdog (--write_stall_timeout_s, default 30 s) may stop a call whose
    // writer stayed blocked that long before any other end (the client sees the reset).
    if (end_code == "RESOURCE_EXHAUSTED" &&
        end_message.find("did not read its responses") != std::string::npos &&
        status.error_code() == grpc::StatusCode::CANCELLED) {
      return Count(kind + "write_stall_by_server");
    }
    if (past_limit) {
      // The client cannot receive the OUT_OF_RANGE through its full window: it sees the reset.
      if (end_code == "OUT_OF_RANGE" && end_message.find("maximum duration") != std::string::npos &&
          (status.error_code() == grpc::StatusCode::CANCELLED ||
           status.error_code() == grpc::StatusCode::OUT_OF_RANGE)) {
        return Count(kind + "out_of_range_by_server");
      }
    } else if (end_code == "OK") {
      if (!status.ok() || !got_final || final_transcript != slow_clip_.reference) {
        return Fail(absl::StrCat("slow reader: server OK but client status ", status.error_code(),
                                 " '", status.error_message(), "' transcript '", final_transcript,
                                 "' expected '", slow_clip_.reference, "'"));
      }
      return Count(kind + "ok");
    }
    if (!past_limit && end_code == "CANCELLED" &&
        end_message.find("stopped reading") != std::string::npos &&
        status.error_code() == grpc::StatusCode::CANCELLED) {
      return Count(kind + "cancelled_by_server");
    }
    Fail(absl::StrCat("slow reader: server ended with ", end_code, " (", end_message,
                      "), client status ", status.error_code(), " '", status.error_message(), "'"));
  }

  void Oversize(std::mt19937& rng) {
    const Clip& clip = clips_[rng() % clips_.size()];
    auto stub = server_->stub();
    StreamSpec spec;
    spec.messages = Messages(clip, rng, true, pb::LINEAR16, false, &spec.interval);
    spec.messages.resize(1 + rng() % spec.messages.size());  // some audio first (maybe none)
    pb::StreamingRecognizeRequest big;
    big.set_audio_content(std::string(kMaxMessageBytes + 1 + rng() % 100000, '\0'));
    spec.messages.push_back(big);
    spec.deadline = kCallDeadline;
    RunExpectingCode(stub.get(), spec, grpc::StatusCode::RESOURCE_EXHAUSTED, "oversize",
                     "oversize_resource_exhausted");
  }

  void Burst(std::mt19937& rng) {
    std::unique_lock<std::mutex> one_at_a_time(burst_mu_, std::try_to_lock);
    if (!one_at_a_time.owns_lock()) return void(Healthy(rng, "healthy_ok"));
    {
      absl::MutexLock lock(&mu_);
      bursting_ = true;
      ++burst_events_;
    }
    const int n = max_streams_ + 2;
    std::mutex m;
    std::condition_variable cv;
    int refused = 0;
    std::vector<std::thread> calls;
    std::vector<uint32_t> seeds;
    for (int i = 0; i < n; ++i) seeds.push_back(rng());
    for (int i = 0; i < n; ++i) {
      calls.emplace_back([&, i] {
        std::mt19937 r(seeds[static_cast<size_t>(i)]);
        const Clip& clip = clips_[r() % clips_.size()];
        absl::Duration interval;
        const auto messages = Messages(clip, r, false, pb::LINEAR16, false, &interval);
        auto stub = server_->stub();
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(180));
        auto stream = stub->StreamingRecognize(&context);
        std::string transcript;
        bool ended = false;  // the server ended the call (a refusal ends it before any response)
        std::thread reader([&] {
          pb::StreamingRecognizeResponse response;
          while (stream->Read(&response)) {
            for (const auto& res : response.results()) {
              if (res.is_final() && res.alternatives_size() > 0)
                transcript = res.alternatives(0).transcript();
            }
          }
          std::lock_guard<std::mutex> lock(m);
          ended = true;
          cv.notify_all();
        });
        bool ok = stream->Write(messages[0]);
        {
          // Admitted calls stay open (config only) until the server has refused one of the burst.
          std::unique_lock<std::mutex> lock(m);
          cv.wait_for(lock, std::chrono::seconds(60), [&] { return refused > 0 || ended; });
          ok = ok && !ended;
        }
        for (size_t k = 1; ok && k < messages.size(); ++k) {
          ok = stream->Write(messages[k]);
          absl::SleepFor(interval);
        }
        if (ok) stream->WritesDone();
        reader.join();
        const grpc::Status status = stream->Finish();
        if (IsRefusal(status)) {
          std::lock_guard<std::mutex> lock(m);
          ++refused;
          cv.notify_all();
          return;
        }
        if (!status.ok() || transcript != clip.reference) {
          Fail(absl::StrCat("burst: admitted call status ", status.error_code(), " '",
                            status.error_message(), "' transcript '", transcript, "' expected '",
                            clip.reference, "'"));
        }
      });
    }
    for (auto& t : calls) t.join();
    {
      absl::MutexLock lock(&mu_);
      bursting_ = false;
      ++burst_events_;
      burst_grace_until_ = absl::Now() + absl::Seconds(2);
    }
    if (refused == 0) return Fail(absl::StrCat("burst: ", n, " calls at once, none refused"));
    Count("burst_refused", refused);
    Count("burst_admitted", n - refused);
    Count("bursts");
    // Served again right after (still holding the burst lock: no other burst meanwhile; the
    // other workers hold at most 2 * (workers - 1) calls, fewer than --max_streams: a refusal now
    // is a failure).
    Healthy(rng, "healthy_after_burst_ok", /*refusal_ok=*/false);
  }

  ServerProcess* server_;
  const std::vector<Clip> clips_;
  const Clip slow_clip_;
  const Clip slow_long_clip_;  // longer than --max_stream_seconds
  const int max_streams_;
  const uint32_t seed_;
  int round_ = 0;
  std::mutex slow_mu_, burst_mu_;
  mutable absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  bool bursting_ ABSL_GUARDED_BY(mu_) = false;
  int64_t burst_events_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time burst_grace_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Polls /metrics until `series` == value or `timeout`; the last value seen (-1: absent).
double AwaitMetric(int port, const std::string& series, double value, absl::Duration timeout) {
  double last = -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    last = MetricValue(HttpGet(port, "/metrics"), series).value_or(-1);
    if (last == value || absl::Now() >= deadline) return last;
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// A stream alone on the server: its final transcript ("" and a test failure otherwise).
std::string RecogniseAlone(ServerProcess& server, const Clip& clip, pb::AudioEncoding encoding) {
  auto stub = server.stub();
  StreamSpec spec;
  spec.messages = ConfigThenAudio(
      MakeConfig(encoding, clip.rate), false,
      SplitBytes(encoding == pb::FLOAT32 ? ToFloat32(clip.samples) : ToLinear16(clip.samples),
                 8000));
  spec.interval = absl::ZeroDuration();
  spec.deadline = absl::Seconds(120);
  const StreamResult r = RunStream(stub.get(), spec);
  EXPECT_TRUE(r.status.ok() && r.got_final) << r.status.error_message();
  return r.final_transcript;
}

TEST(ServerSoakTest, ManyStreamsWithFaultsForMinutes) {
  const int seconds = EnvInt("LACT_SOAK_SECONDS", 60);
  const int streams = EnvInt("LACT_SOAK_STREAMS", 8);
  const uint32_t seed = static_cast<uint32_t>(EnvInt("LACT_SOAK_SEED", 1));
  const int warmup = EnvInt("LACT_SOAK_WARMUP_SECONDS", std::min(120, seconds / 3));
  const int rss_bound_mb = EnvInt("LACT_SOAK_RSS_GROWTH_MB", 64);
  // Outside a burst the workers hold at most 2 calls each on the server (their current one and
  // the previous one, if the server has not yet seen its cancel or disconnect): fewer than
  // --max_streams, so a refusal outside a burst is a failure.
  const int max_streams = 2 * streams + 2;
  std::printf("soak: %d s (warm-up %d s), %d client workers, seed %u, --max_streams=%d\n", seconds,
              warmup, streams, seed, max_streams);

  const std::string model = MakeLactModelDir();
  ServerProcess server(model, Window{},
                       {absl::StrCat("--max_streams=", max_streams),
                        absl::StrCat("--max_message_bytes=", kMaxMessageBytes),
                        absl::StrCat("--max_stream_seconds=", kMaxStreamSeconds)});
  ASSERT_TRUE(server.ok()) << server.log();

  // The clips, each recognised alone first (and checked against lact_transcribe --streaming).
  std::vector<Clip> clips;
  const std::string work = MakeTempDir("lact_soak_");
  std::vector<std::string> wavs;
  for (int i = 0; i < 6; ++i) {
    Clip c;
    c.samples = SyntheticAudio(1.0 + 0.8 * i, 16000, 500 + static_cast<uint32_t>(i));
    c.reference = RecogniseAlone(server, c, pb::LINEAR16);
    EXPECT_EQ(RecogniseAlone(server, c, pb::FLOAT32), c.reference) << "clip " << i;
    wavs.push_back(absl::StrCat(work, "/clip", i, ".wav"));
    WriteFloatWav(wavs.back(), c.samples, 16000);
    clips.push_back(std::move(c));
  }
  const auto transcribed = ReferenceTranscripts(model, wavs, Window{});
  int non_empty = 0;
  for (size_t i = 0; i < clips.size(); ++i) {
    EXPECT_EQ(clips[i].reference, transcribed.at(wavs[i])) << "clip " << i;
    non_empty += !clips[i].reference.empty();
  }
  EXPECT_GT(non_empty, 0);
  Clip slow;
  slow.rate = kSlowReaderRate;
  slow.samples = SyntheticAudio(30.0, kSlowReaderRate, 77);
  slow.reference = RecogniseAlone(server, slow, pb::FLOAT32);
  ASSERT_FALSE(HasFailure());

  Soak soak(&server, clips, slow, max_streams, seed);
  const absl::Time start = absl::Now();
  // VmRSS every tenth of the run, for the record (the bound is checked below).
  std::vector<std::pair<int, int64_t>> rss_series;
  absl::Notification soak_done;
  std::thread sampler([&] {
    const absl::Duration every = absl::Seconds(std::max(5, seconds / 10));
    while (!soak_done.WaitForNotificationWithTimeout(every)) {
      rss_series.emplace_back(static_cast<int>(absl::ToInt64Seconds(absl::Now() - start)),
                              RssKiB(server.pid()));
    }
  });
  soak.Run(streams, start + absl::Seconds(warmup));
  ASSERT_EQ(AwaitMetric(server.metrics_port(), "lact_active_streams", 0, absl::Seconds(90)), 0);
  const int64_t rss_warm = RssKiB(server.pid());
  soak.Run(streams, start + absl::Seconds(seconds));
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  soak_done.Notify();
  sampler.join();

  // The server survived, and every stream's state is gone.
  int wait_status = 0;
  ASSERT_EQ(waitpid(server.pid(), &wait_status, WNOHANG), 0)
      << "the server died: " << server.log().substr(0, 4000);
  EXPECT_EQ(AwaitMetric(server.metrics_port(), "lact_active_streams", 0, absl::Seconds(90)), 0);
  EXPECT_EQ(AwaitMetric(server.metrics_port(), "lact_fast_weight_state_bytes{device=\"cpu\"}", 0,
                        absl::Seconds(30)),
            0);
  const int64_t rss_end = RssKiB(server.pid());
  EXPECT_EQ(RunHealthProbe(server.address()), 0);
  // Served as before.
  EXPECT_EQ(RecogniseAlone(server, clips[3], pb::LINEAR16), clips[3].reference);
  const std::string metrics = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_EQ(MetricValue(metrics, "lact_streams_total{code=\"INTERNAL\"}").value_or(0), 0);
  EXPECT_EQ(server.log().find("internal error"), std::string::npos);

  const auto counts = soak.counts();
  std::printf(
      "soak: ran %.0f s; server VmRSS %.1f MiB after the warm-up, %.1f MiB at the end (growth "
      "%+.1f MiB, bound %d MiB)\n",
      elapsed, rss_warm / 1024.0, rss_end / 1024.0, (rss_end - rss_warm) / 1024.0, rss_bound_mb);
  std::string series;
  for (const auto& [t, kib] : rss_series)
    absl::StrAppendFormat(&series, " %ds:%.1f", t, kib / 1024.0);
  std::printf("soak: server VmRSS (MiB) during the run:%s\n", series.c_str());
  for (const auto& [name, n] : counts)
    std::printf("soak: %-32s %lld\n", name.c_str(), static_cast<long long>(n));
  for (const char* code : {"OK", "CANCELLED", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "INTERNAL",
                           "UNAVAILABLE", "OUT_OF_RANGE", "INVALID_ARGUMENT"}) {
    std::printf(
        "soak: server lact_streams_total{code=\"%s\"} %.0f\n", code,
        MetricValue(metrics, absl::StrCat("lact_streams_total{code=\"", code, "\"}")).value_or(0));
  }
  std::fflush(stdout);

  for (const std::string& f : soak.failures()) ADD_FAILURE() << f;
  EXPECT_EQ(counts.count("failures"), 0u);
  for (const char* what : {"healthy_ok", "cancel_cancelled", "disconnect_killed",
                           "oversize_resource_exhausted", "bursts", "healthy_after_burst_ok"}) {
    EXPECT_GT(counts.count(what) ? counts.at(what) : 0, 0) << what;
  }
  int64_t slow_readers = 0;
  for (const auto& [name, n] : counts) {
    if (name.rfind("slow_reader_", 0) == 0 &&
        (absl::EndsWith(name, "_ok") || absl::EndsWith(name, "_by_server"))) {
      slow_readers += n;
    }
  }
  EXPECT_GT(slow_readers, 0) << "no slow reader ran";
  ASSERT_GT(rss_warm, 0);
  ASSERT_GT(rss_end, 0);
  EXPECT_LE(rss_end - rss_warm, int64_t{rss_bound_mb} * 1024) << "resident memory grew too much";
}

// --soak_child ADDRESS SEED: one stream that sends audio until the process is killed; prints
// "ready" on stdout once the server has sent its first response (the call was admitted and is
// being decoded). Exit code 4: the server refused the call (--max_streams).
int RunChild(const std::string& address, uint32_t seed) {
  grpc::ChannelArguments args;
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  auto stub = pb::StreamingAsr::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kMaxStreamSeconds));
  auto stream = stub->StreamingRecognize(&context);
  const std::vector<float> audio = SyntheticAudio(kMaxStreamSeconds - 5, 16000, seed);
  const auto messages =
      ConfigThenAudio(MakeConfig(pb::LINEAR16, 16000), true, SplitBytes(ToLinear16(audio), 3200));
  std::atomic<bool> ended{false};
  std::thread reader([&] {
    pb::StreamingRecognizeResponse r;
    bool first = true;
    while (stream->Read(&r)) {
      if (first) {
        first = false;
        const char ready[] = "ready\n";
        if (write(1, ready, sizeof ready - 1) < 0) break;
      }
    }
    ended = true;
  });
  for (size_t i = 0; i < messages.size() && !ended; ++i) {
    if (!stream->Write(messages[i])) break;
    absl::SleepFor(absl::Milliseconds(50));  // 100 ms of audio per 50 ms
  }
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
      status.error_message().find("max_streams") != std::string::npos) {
    return 4;
  }
  return 3;  // it should have been killed long before
}

}  // namespace
}  // namespace lact::server::testing

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "--soak_child") == 0) {
    return lact::server::testing::RunChild(
        argv[2], static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)));
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
