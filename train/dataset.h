// Training data for lact_train: a LibriSpeech-layout split or a manifest (core/corpus/librispeech's
// corpus listing), turned into examples (one utterance, or for LaCT training several consecutive
// utterances of one speaker joined into one long input), batched by length and read ahead by
// worker threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/corpus/librispeech.h"
#include "core/decoding/vocab.h"

namespace lact::train {

struct DatasetOptions {
  eval::CorpusOptions corpus;         // librispeech_dir + split, or manifest
  int utterances_per_example = 1;     // >1: consecutive utterances of one speaker per example
  double max_example_seconds = 20.0;  // longer examples are skipped (counted in the log)
  double batch_seconds = 64.0;        // audio (padded) per batch
  int sample_rate = 16000;
  bool do_normalize = true;  // zero mean, unit variance per example (preprocessor)
  // false: batches carry no audio (waveform [B, 0], lengths 0), only targets and the files'
  // paths; for training from cached encoder states, which reads no audio per step.
  bool read_audio = true;

  absl::Status Validate() const;
};

struct Example {
  std::vector<std::string> audio_paths;
  std::string reference;  // transcript, words separated by single spaces
  double seconds = 0;     // from the file headers
};

struct Batch {
  torch::Tensor waveform;        // [B, S] float32, zero padded
  torch::Tensor lengths;         // [B] int64 samples
  torch::Tensor targets;         // [sum L] int64 token ids, concatenated
  torch::Tensor target_lengths;  // [B] int64
  std::vector<std::string> references;
  std::vector<std::vector<std::string>> audio_paths;  // [B] each example's files, in order
  double audio_seconds = 0;                           // of the examples (from the file headers)
};

// `batch` with its tensors on `device` (the same batch on the CPU).
Batch ToDevice(Batch batch, torch::Device device);

// The target ids of `text` under `vocab`: characters that are tokens map to themselves
// (upper-cased), spaces to the word delimiter; anything else is dropped. Words joined by one
// delimiter, none at either end.
std::vector<int64_t> EncodeTranscript(const std::string& text, const Vocab& vocab);

class Dataset {
 public:
  // Lists the corpus and probes every file's duration (with `threads` threads).
  static absl::StatusOr<Dataset> Load(const DatasetOptions& options, int threads);

  int64_t num_examples() const { return static_cast<int64_t>(examples_.size()); }
  double total_seconds() const;
  int64_t skipped() const { return skipped_; }
  const std::vector<Example>& examples() const { return examples_; }

  // The batches of one epoch: examples sorted by length, cut into batches of at most
  // batch_seconds padded audio, in an order shuffled by (seed, epoch). Deterministic.
  // `shortest_first`: the batches in order of length instead (SortaGrad, DeepSpeech 2: a first
  // epoch from short to long utterances gets CTC out of its all-blank phase sooner).
  std::vector<std::vector<int64_t>> EpochBatches(uint64_t seed, int64_t epoch,
                                                 bool shortest_first = false) const;
  // Batches in corpus order without shuffling (evaluation).
  std::vector<std::vector<int64_t>> OrderedBatches() const;
  // Reads and collates one batch.
  absl::StatusOr<Batch> ReadBatch(const std::vector<int64_t>& indices, const Vocab& vocab) const;

  const DatasetOptions& options() const { return options_; }

 private:
  DatasetOptions options_;
  std::vector<Example> examples_;
  int64_t skipped_ = 0;
};

// Reads the batches of a list ahead of their use on `threads` worker threads (at most
// 2 * threads batches in memory). Next() returns them in list order.
class BatchPrefetcher {
 public:
  BatchPrefetcher(const Dataset& dataset, const Vocab& vocab,
                  std::vector<std::vector<int64_t>> batches, int threads);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  bool Done() const { return next_ >= batches_.size(); }
  absl::StatusOr<Batch> Next();

 private:
  void Work();

  const Dataset& dataset_;
  const Vocab& vocab_;
  std::vector<std::vector<int64_t>> batches_;
  size_t next_ = 0;     // the next batch Next() returns
  size_t claimed_ = 0;  // the next batch a worker reads
  size_t window_;       // read-ahead limit
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, absl::StatusOr<Batch>> ready_;
  std::vector<std::thread> workers_;
};

}  // namespace lact::train
