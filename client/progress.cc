#include "client/progress.h"

#include <unistd.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lact::eval {

std::string FormatDuration(double seconds) {
  const int64_t s = std::isfinite(seconds) && seconds > 0 ? static_cast<int64_t>(seconds + 0.5) : 0;
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string FormatProgress(const ProgressSnapshot& p) {
  std::string line =
      absl::StrCat("[eval] ", p.done, "/", p.total, " streams (", p.failed, " failed)");
  if (!p.by_lact.empty()) {
    line += " | WER";
    for (const auto& [lact, score] : p.by_lact) {
      absl::StrAppend(&line, " ", lact, " ", absl::StrFormat("%.2f%%", 100 * score.wer()));
    }
  }
  absl::StrAppend(&line, " | elapsed ", FormatDuration(p.elapsed_s));
  if (p.done > 0 && p.done < p.total) {
    const double eta =
        p.elapsed_s / static_cast<double>(p.done) * static_cast<double>(p.total - p.done);
    absl::StrAppend(&line, " | ETA ", FormatDuration(eta));
  }
  return line;
}

ProgressReporter::ProgressReporter(FILE* out, int64_t total, double min_interval_s)
    : out_(out), tty_(out != nullptr && isatty(fileno(out))), min_interval_s_(min_interval_s) {
  snapshot_.total = total;
}

void ProgressReporter::StreamDone(const std::string& lact, const UtteranceScore* score,
                                  double elapsed_s) {
  absl::MutexLock lock(&mu_);
  ++snapshot_.done;
  if (score == nullptr) {
    ++snapshot_.failed;
  } else {
    snapshot_.by_lact[lact].Add(*score);
  }
  snapshot_.elapsed_s = elapsed_s;
  if (out_ == nullptr) return;
  const bool last = snapshot_.done >= snapshot_.total;
  if (!tty_ && !last && elapsed_s - last_print_s_ < min_interval_s_) return;
  last_print_s_ = elapsed_s;
  const std::string line = FormatProgress(snapshot_);
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressReporter::Finish() {
  absl::MutexLock lock(&mu_);
  if (out_ != nullptr && tty_) {
    std::fprintf(out_, "\n");
    std::fflush(out_);
  }
}

}  // namespace lact::eval
