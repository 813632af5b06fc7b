#include "core/tools/bench/op_profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/tools/bench/bench_util.h"
#include "core/util/status_macros.h"

namespace lact::bench {
namespace {

struct OpStats {
  int64_t calls = 0;
  double seconds = 0;
};

// What the observer records on the profiling thread (other threads see no recorder).
struct Recorder {
  torch::Device device = torch::kCPU;
  bool timing = false;  // time (and synchronise around) each top-level operator
  int depth = 0;        // operators open on this thread: 1 inside a top-level one
  int64_t count = 0;    // top-level operators seen
  Clock::time_point start;
  std::string key;
  std::map<std::string, OpStats> ops;  // by Key()
};
thread_local Recorder* t_recorder = nullptr;

// "aten::linear [16,160,768] [3072,768] BFloat16": the name, up to three tensor inputs' shapes,
// the first one's dtype.
std::string Key(const at::RecordFunction& fn) {
  std::vector<std::string> shapes;
  std::string dtype;
  for (const c10::IValue& v : fn.inputs()) {
    if (shapes.size() == 3) break;
    if (v.isTensor() && v.toTensor().defined()) {
      shapes.push_back(absl::StrCat("[", absl::StrJoin(v.toTensor().sizes(), ","), "]"));
      if (dtype.empty()) dtype = c10::toString(v.toTensor().scalar_type());
    } else if (v.isTensorList()) {
      shapes.push_back(absl::StrCat("list of ", v.toTensorList().size()));
    }
  }
  return absl::StrCat(fn.name(), " ", absl::StrJoin(shapes, " "), " ", dtype);
}

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
  Recorder* r = t_recorder;
  if (r == nullptr || r->depth++ > 0) return nullptr;
  ++r->count;
  if (r->timing) {
    r->key = Key(fn);
    Sync(r->device);
    r->start = Clock::now();
  }
  return nullptr;
}

void OnEnd(const at::RecordFunction&, at::ObserverContext*) {
  Recorder* r = t_recorder;
  if (r == nullptr || --r->depth > 0) return;
  if (r->timing) {
    Sync(r->device);
    OpStats& s = r->ops[r->key];
    ++s.calls;
    s.seconds += Seconds(Clock::now() - r->start);
  }
}

// Streams of the test signal, stream i started i/B of a step later than stream 0, so that their
// LaCT chunks fill in different steps as a server's streams do.
class StaggeredStreams {
 public:
  StaggeredStreams(const OnlineRecognizer& rec, int batch, bool use_lact, int steps)
      : rec_(rec), rate_(rec.model().sample_rate()) {
    const StreamingConfig& sc = rec.config();
    step_ = static_cast<int64_t>(sc.step_ms) * rate_ / 1000;
    const int64_t window =
        static_cast<int64_t>(sc.left_context_ms + sc.step_ms + sc.lookahead_ms) * rate_ / 1000;
    warm_steps_ = sc.left_context_ms / std::max(1, sc.step_ms) + 2;
    audio_ = TestAudio(window + step_ * (warm_steps_ + steps + 2), 5);
    StreamOptions options;
    options.enable_lact = use_lact;
    for (int i = 0; i < batch; ++i) {
      streams_.push_back(rec.CreateStream(options));
      fed_.push_back(0);
      Feed(i, window + step_ * i / batch);
    }
  }

  // Decodes until no stream is ready, then the warm-up steps: every window is full after it.
  absl::Status WarmUp() {
    LACT_RETURN_IF_ERROR(DecodeAllReady());
    for (int k = 0; k < warm_steps_; ++k) {
      FeedStep();
      LACT_RETURN_IF_ERROR(DecodeAllReady());
    }
    return absl::OkStatus();
  }

  // One step of audio to every stream, then one model step of every ready stream under
  // `recorder`; the seconds of the model step. The streams' CTC decoding follows, untimed.
  absl::StatusOr<double> Step(Recorder* recorder) {
    FeedStep();
    std::vector<OnlineStream*> ready = Ready();
    t_recorder = recorder;
    const auto start = Clock::now();
    absl::StatusOr<std::vector<PendingStep>> pending = rec_.RunModelStep(ready);
    Sync(rec_.model().device());
    const double seconds = Seconds(Clock::now() - start);
    t_recorder = nullptr;
    if (!pending.ok()) return pending.status();
    for (const PendingStep& p : *pending) rec_.FinishStep(p);
    return seconds;
  }

 private:
  void Feed(int i, int64_t n) {
    n = std::min<int64_t>(n, static_cast<int64_t>(audio_.size()) - fed_[i]);
    (void)streams_[i]->AcceptWaveform(rate_, audio_.data() + fed_[i], n);
    fed_[i] += n;
  }
  void FeedStep() {
    for (size_t i = 0; i < streams_.size(); ++i) Feed(static_cast<int>(i), step_);
  }
  std::vector<OnlineStream*> Ready() const {
    std::vector<OnlineStream*> ready;
    for (const auto& s : streams_)
      if (rec_.IsReady(*s)) ready.push_back(s.get());
    return ready;
  }
  absl::Status DecodeAllReady() {
    for (std::vector<OnlineStream*> r = Ready(); !r.empty(); r = Ready()) {
      if (absl::Status s = rec_.DecodeStreams(r); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  const OnlineRecognizer& rec_;
  const int rate_;
  int64_t step_ = 0;
  int warm_steps_ = 0;
  std::vector<float> audio_;
  std::vector<std::unique_ptr<OnlineStream>> streams_;
  std::vector<int64_t> fed_;  // samples given to each stream
};

// Operators per step and the step's seconds (median) at `batch`, with the observer counting only
// (no synchronisation: the step's own time, plus the observer's small cost per operator).
struct Counted {
  double ops_per_step = 0;
  double step_s = 0;
};

absl::StatusOr<Counted> CountSteps(const OnlineRecognizer& rec, int batch, bool use_lact,
                                   int steps) {
  StaggeredStreams streams(rec, batch, use_lact, steps);
  LACT_RETURN_IF_ERROR(streams.WarmUp());
  Recorder counter;
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<double> s = streams.Step(&counter);
    if (!s.ok()) return s.status();
    times.push_back(*s);
  }
  return Counted{static_cast<double>(counter.count) / steps, Percentile(times, 50)};
}

// The table: operator groups by total time per timed step, then what the step did besides them.
nlohmann::json ReportOps(const OnlineRecognizer& rec, const OpProfileOptions& o, const Counted& one,
                         const Counted& all, const Recorder& timed, double timed_step_s,
                         nlohmann::json out) {
  const StreamingConfig& sc = rec.config();
  std::vector<std::pair<std::string, OpStats>> rows(timed.ops.begin(), timed.ops.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  const double per_stream =
      o.batch > 1 ? (all.ops_per_step - one.ops_per_step) / (o.batch - 1) : 0.0;
  out["step_ms"] = sc.step_ms;
  out["window_ms"] = sc.left_context_ms + sc.step_ms + sc.lookahead_ms;
  out["step_s"] = all.step_s;
  out["timed_step_s"] = timed_step_s;
  out["ops_per_step"] = all.ops_per_step;
  out["ops_per_step_batch1"] = one.ops_per_step;
  out["ops_per_stream"] = per_stream;
  std::printf(
      "ops  %d streams, step %d ms, window %d ms, LaCT %s: a model step %.2f ms (%.2f ms with "
      "each operator timed), %.0f operators per step (1 stream: %.0f; %.1f more per stream)\n",
      o.batch, sc.step_ms, out["window_ms"].get<int>(), out["lact"].get<bool>() ? "on" : "off",
      1000 * all.step_s, 1000 * timed_step_s, all.ops_per_step, one.ops_per_step, per_stream);
  std::printf("ops    share  ms/step  calls/step  operator, inputs, dtype\n");
  double sum = 0;
  out["ops"] = nlohmann::json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [key, stats] = rows[i];
    const double s = stats.seconds / o.steps;
    sum += s;
    const double share = timed_step_s > 0 ? s / timed_step_s : 0.0;
    if (i < 100) {
      out["ops"].push_back({{"op", key},
                            {"s_per_step", s},
                            {"calls_per_step", static_cast<double>(stats.calls) / o.steps},
                            {"share", share}});
    }
    if (static_cast<int>(i) < o.max_rows) {
      std::printf("ops   %5.1f%% %8.3f %10.1f   %s\n", 100 * share, 1000 * s,
                  static_cast<double>(stats.calls) / o.steps, key.c_str());
    }
  }
  const double other = std::max(0.0, timed_step_s - sum);
  out["operators_s_per_step"] = sum;  // every group's, listed or not
  out["other_s_per_step"] = other;
  std::printf("ops   %5.1f%% %8.3f              between operators (host code, copies to the CPU)\n",
              timed_step_s > 0 ? 100 * other / timed_step_s : 0.0, 1000 * other);
  return out;
}

}  // namespace

nlohmann::json ProfileOps(const OnlineRecognizer& rec, const OpProfileOptions& o) {
  torch::InferenceMode guard;
  const bool lact = o.use_lact && rec.model().lact() != nullptr;
  const at::CallbackHandle handle =
      at::addThreadLocalCallback(at::RecordFunctionCallback(OnStart, OnEnd)
                                     .needsInputs(true)
                                     .scopes({at::RecordScope::FUNCTION}));
  nlohmann::json out = {{"batch", o.batch}, {"steps", o.steps}, {"lact", lact}};
  auto fail = [&](const absl::Status& s) {
    at::removeCallback(handle);
    std::fprintf(stderr, "lact_bench: --profile_ops: %s\n", std::string(s.message()).c_str());
    out["error"] = std::string(s.message());
    return out;
  };
  absl::StatusOr<Counted> one = CountSteps(rec, 1, o.use_lact, o.steps);
  if (!one.ok()) return fail(one.status());
  absl::StatusOr<Counted> all = CountSteps(rec, o.batch, o.use_lact, o.steps);
  if (!all.ok()) return fail(all.status());
  StaggeredStreams streams(rec, o.batch, o.use_lact, o.steps);
  if (absl::Status s = streams.WarmUp(); !s.ok()) return fail(s);
  Recorder timed;
  timed.device = rec.model().device();
  timed.timing = true;
  double timed_s = 0;
  for (int i = 0; i < o.steps; ++i) {
    absl::StatusOr<double> s = streams.Step(&timed);
    if (!s.ok()) return fail(s.status());
    timed_s += *s;
  }
  at::removeCallback(handle);
  return ReportOps(rec, o, *one, *all, timed, timed_s / o.steps, std::move(out));
}

}  // namespace lact::bench
