#include "train/dataset.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/audio/audio_io.h"
#include "core/model/waveform_normalizer.h"
#include "core/util/status_macros.h"

namespace lact::train {

absl::Status DatasetOptions::Validate() const {
  LACT_RETURN_IF_ERROR(corpus.Validate());
  if (utterances_per_example < 1) {
    return absl::InvalidArgumentError("utterances per example must be >= 1");
  }
  if (!(max_example_seconds > 0))
    return absl::InvalidArgumentError("max example seconds must be > 0");
  if (!(batch_seconds >= max_example_seconds)) {
    return absl::InvalidArgumentError(absl::StrCat("batch seconds (", batch_seconds,
                                                   ") must be >= the longest example (",
                                                   max_example_seconds, ")"));
  }
  if (sample_rate <= 0) return absl::InvalidArgumentError("sample rate must be > 0");
  return absl::OkStatus();
}

Batch ToDevice(Batch batch, torch::Device device) {
  if (device.is_cpu()) return batch;
  for (torch::Tensor* t : {&batch.waveform, &batch.lengths, &batch.targets, &batch.target_lengths})
    *t = t->to(device);
  return batch;
}

std::vector<int64_t> EncodeTranscript(const std::string& text, const Vocab& vocab) {
  std::vector<int64_t> ids;
  bool pending_space = false;
  for (char ch : text) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      pending_space = !ids.empty();
      continue;
    }
    const int64_t id =
        vocab.id(std::string(1, static_cast<char>(std::toupper(static_cast<unsigned char>(ch)))));
    if (id < 0 || vocab.kind(id) != Vocab::Kind::kText) continue;
    if (pending_space && vocab.word_delimiter_id() >= 0) ids.push_back(vocab.word_delimiter_id());
    pending_space = false;
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<Dataset> Dataset::Load(const DatasetOptions& options, int threads) {
  LACT_RETURN_IF_ERROR(options.Validate());
  LACT_ASSIGN_OR_RETURN(std::vector<eval::CorpusItem> items, eval::LoadCorpus(options.corpus));
  // Durations from the headers, in parallel.
  std::vector<double> seconds(items.size(), 0.0);
  std::vector<absl::Status> errors(items.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < items.size(); i = next++) {
        for (const std::string& path : items[i].audio_paths) {
          absl::StatusOr<AudioInfo> info = ProbeAudioFile(path);
          if (!info.ok()) {
            errors[i] = info.status();
            break;
          }
          seconds[i] += static_cast<double>(info->frames) / info->sample_rate;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  for (const absl::Status& s : errors) LACT_RETURN_IF_ERROR(s);

  Dataset d;
  d.options_ = options;
  // Group consecutive utterances of one speaker (LaCT training) or keep them one by one.
  const size_t group = static_cast<size_t>(options.utterances_per_example);
  for (size_t i = 0; i < items.size();) {
    Example e;
    size_t j = i;
    std::vector<std::string> refs;
    while (j < items.size() && j - i < group &&
           (j == i || (!items[i].speaker.empty() && items[j].speaker == items[i].speaker))) {
      e.audio_paths.insert(e.audio_paths.end(), items[j].audio_paths.begin(),
                           items[j].audio_paths.end());
      refs.push_back(items[j].reference);
      e.seconds += seconds[j];
      ++j;
    }
    e.reference = absl::StrJoin(refs, " ");
    i = j;
    if (e.seconds > options.max_example_seconds) {
      ++d.skipped_;
      continue;
    }
    d.examples_.push_back(std::move(e));
  }
  if (d.examples_.empty()) {
    return absl::NotFoundError(absl::StrCat("no examples of at most ", options.max_example_seconds,
                                            " s in the corpus (", items.size(), " utterances)"));
  }
  return d;
}

double Dataset::total_seconds() const {
  double s = 0;
  for (const Example& e : examples_) s += e.seconds;
  return s;
}

namespace {

std::vector<std::vector<int64_t>> CutBatches(const std::vector<Example>& examples,
                                             std::vector<int64_t> order, double batch_seconds) {
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> cur;
  double longest = 0;
  for (int64_t i : order) {
    const double len = std::max(longest, examples[i].seconds);
    if (!cur.empty() && len * static_cast<double>(cur.size() + 1) > batch_seconds) {
      batches.push_back(std::move(cur));
      cur.clear();
      longest = 0;
    }
    cur.push_back(i);
    longest = std::max(longest, examples[i].seconds);
  }
  if (!cur.empty()) batches.push_back(std::move(cur));
  return batches;
}

}  // namespace

std::vector<std::vector<int64_t>> Dataset::EpochBatches(uint64_t seed, int64_t epoch,
                                                        bool shortest_first) const {
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(examples_.size());
  std::iota(order.begin(), order.end(), 0);
  // Shuffle, then sort by length in a stable way: equal lengths keep the shuffled order, so the
  // batches differ between epochs while each one holds examples of similar length.
  std::shuffle(order.begin(), order.end(), rng);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return static_cast<int64_t>(examples_[a].seconds * 4) <
           static_cast<int64_t>(examples_[b].seconds * 4);
  });
  std::vector<std::vector<int64_t>> batches = CutBatches(examples_, order, options_.batch_seconds);
  if (!shortest_first) std::shuffle(batches.begin(), batches.end(), rng);
  return batches;
}

std::vector<std::vector<int64_t>> Dataset::OrderedBatches() const {
  std::vector<int64_t> order(examples_.size());
  std::iota(order.begin(), order.end(), 0);
  return CutBatches(examples_, order, options_.batch_seconds);
}

absl::StatusOr<Batch> Dataset::ReadBatch(const std::vector<int64_t>& indices,
                                         const Vocab& vocab) const {
  std::vector<std::vector<float>> waves;
  int64_t longest = 0;
  Batch b;
  std::vector<int64_t> targets, target_lengths, lengths;
  for (int64_t i : indices) {
    const Example& e = examples_[static_cast<size_t>(i)];
    std::vector<float> wave;
    for (size_t p = 0; options_.read_audio && p < e.audio_paths.size(); ++p) {
      LACT_ASSIGN_OR_RETURN(std::vector<float> part,
                            ReadAudioFile(e.audio_paths[p], options_.sample_rate));
      wave.insert(wave.end(), part.begin(), part.end());
    }
    if (options_.do_normalize) NormalizeWaveform(wave);
    std::vector<int64_t> ids = EncodeTranscript(e.reference, vocab);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(wave.size()));
    lengths.push_back(static_cast<int64_t>(wave.size()));
    target_lengths.push_back(static_cast<int64_t>(ids.size()));
    targets.insert(targets.end(), ids.begin(), ids.end());
    b.references.push_back(e.reference);
    b.audio_paths.push_back(e.audio_paths);
    b.audio_seconds += e.seconds;
    waves.push_back(std::move(wave));
  }
  b.waveform = torch::zeros({static_cast<int64_t>(waves.size()), longest});  // [B, S]
  for (size_t r = 0; r < waves.size(); ++r) {
    std::copy(waves[r].begin(), waves[r].end(), b.waveform[r].data_ptr<float>());
  }
  b.lengths = torch::tensor(lengths, torch::kLong);
  b.targets = torch::tensor(targets, torch::kLong);
  b.target_lengths = torch::tensor(target_lengths, torch::kLong);
  return b;
}

BatchPrefetcher::BatchPrefetcher(const Dataset& dataset, const Vocab& vocab,
                                 std::vector<std::vector<int64_t>> batches, int threads)
    : dataset_(dataset),
      vocab_(vocab),
      batches_(std::move(batches)),
      window_(static_cast<size_t>(2 * std::max(1, threads))) {
  for (int t = 0; t < std::max(1, threads); ++t) workers_.emplace_back([this] { Work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void BatchPrefetcher::Work() {
  while (true) {
    size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock,
               [&] { return stop_ || claimed_ >= batches_.size() || claimed_ < next_ + window_; });
      if (stop_ || claimed_ >= batches_.size()) return;
      index = claimed_++;
    }
    absl::StatusOr<Batch> batch = dataset_.ReadBatch(batches_[index], vocab_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(index, std::move(batch));
    }
    cv_.notify_all();
  }
}

absl::StatusOr<Batch> BatchPrefetcher::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_ >= batches_.size()) return absl::OutOfRangeError("no more batches");
  cv_.wait(lock, [&] { return ready_.count(next_) > 0; });
  absl::StatusOr<Batch> batch = std::move(ready_.at(next_));
  ready_.erase(next_);
  ++next_;
  lock.unlock();
  cv_.notify_all();
  return batch;
}

}  // namespace lact::train
