// Cached encoder states for LaCT training (issue 20). In `lact_train --mode lact` the base model
// is frozen, so the frames the server feeds the LaCT stack for an example (the committed frames of
// the streaming window, as OnlineRecognizer produces them: not whole-utterance offline states,
// which LaCT never sees in service) are computed once and kept on disk; a LaCT step then runs only
// the stack, lm_head and the CTC loss.
//
// An entry is found by a key over everything its states depend on: the base model's files
// (config.json, model.safetensors, preprocessor_config.json, by content), the example's audio
// files (by content, in order), the streaming window, the version of the recognizer's window rule
// (OnlineRecognizer::kWindowPlanVersion) and the storage dtype. A changed model, file, window or
// rule is another key, so nothing stale is ever served; the key text is also stored in the entry
// and compared on read.
//
//   DIR/<sha256 of the key>.states   "LACTSTATES1\n", the key text and "\n", a line "<dtype> T D",
//                                    then T*D values (float32 or float16, little-endian)
//   window entries (GetWindows)      "LACTWINDOWS1\n", the key text (+ the layer), "<dtype> T D N",
//                                    N*3 int64 (WindowStates::windows), then T*D values
//
// A damaged entry (short, wrong header, other key) is recomputed and rewritten, never an error.
// Entries are written to a temporary name and renamed, so a crash leaves no half entry behind.
// Not thread-safe: one trainer thread uses it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "core/streaming/asr_model.h"
#include "core/streaming/online_recognizer.h"
#include "core/streaming/streaming_config.h"

namespace lact::train {

struct StateCacheOptions {
  std::string dir;                         // created if missing
  StreamingConfig window;                  // the server's window (its defaults: --step_ms ...)
  torch::ScalarType dtype = torch::kHalf;  // storage: kHalf (half the disk) or kFloat

  absl::Status Validate() const;
};

// The committed frames [T, D] (float32, CPU) that the streaming recognizer feeds LaCT for
// `samples` (mono, the model's rate), fed as `lact_transcribe --streaming` feeds a file: pieces of
// step_ms, decoding while ready, then the end of input. LaCT itself is not run.
absl::StatusOr<torch::Tensor> StreamingEncoderStates(const OnlineRecognizer& recognizer,
                                                     const std::vector<float>& samples);

// What training the top encoder layers needs (lact_train --train_top_layers): for each streaming
// step that committed frames, in order, the input of layer `layer` over the step's whole window
// (left context, step, lookahead: those layers attend over it) and which of its rows it committed.
struct WindowStates {
  torch::Tensor states;   // [sum_i W_i, D] float32, CPU: window i's W_i rows, then window i+1's
  torch::Tensor windows;  // [N, 3] int64: W_i, commit_begin_i, commit_end_i (rows of window i)
};

// The window states of `samples`, fed as StreamingEncoderStates feeds them; the layers from
// `layer` on, run on each window, give (at the committed rows) StreamingEncoderStates' frames.
absl::StatusOr<WindowStates> StreamingWindowStates(const OnlineRecognizer& recognizer,
                                                   const std::vector<float>& samples,
                                                   int64_t layer);

class EncoderStateCache {
 public:
  // `model_dir`: the frozen base model (loaded here without LaCT, for computing missing entries).
  static absl::StatusOr<std::unique_ptr<EncoderStateCache>> Open(const StateCacheOptions& options,
                                                                 const std::string& model_dir);

  // The states [T, D] (float32, CPU) of the audio files `paths` joined in order: from the cache,
  // or computed with the streaming recognizer and stored.
  absl::StatusOr<torch::Tensor> Get(const std::vector<std::string>& paths);

  // The window states below layer `layer` (0 <= layer < num_hidden_layers) of the audio files
  // `paths` joined in order, from the cache or computed and stored (their key adds the layer).
  absl::StatusOr<WindowStates> GetWindows(const std::vector<std::string>& paths, int64_t layer);

  // The key text of `paths` (the model digest, the files' digests, the window, the dtype).
  absl::StatusOr<std::string> Key(const std::vector<std::string>& paths);

  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  int64_t bytes_written() const { return bytes_written_; }
  const AsrModel& model() const { return recognizer_->model(); }

 private:
  EncoderStateCache() = default;
  // SHA-256 hex of a file's bytes, remembered by (path, size, modification time).
  absl::StatusOr<std::string> FileDigest(const std::string& path);
  std::string EntryPath(const std::string& key) const;
  struct Entry {
    torch::Tensor states;  // [T, D] float32
    torch::Tensor index;   // [N, 3] int64 (window entries; [0, 3] otherwise)
  };
  // The entry when it is whole, of the kind asked for and holds `key`; NotFound otherwise.
  absl::StatusOr<Entry> Read(const std::string& key, bool windows) const;
  // A window entry when `index` is defined.
  absl::Status Write(const std::string& key, const torch::Tensor& states,
                     const torch::Tensor& index);
  // The audio files joined, at the model's rate.
  absl::StatusOr<std::vector<float>> ReadSamples(const std::vector<std::string>& paths) const;

  StateCacheOptions options_;
  std::unique_ptr<OnlineRecognizer> recognizer_;
  std::string model_digest_;
  struct FileStamp {
    int64_t size = -1;
    int64_t mtime_ns = 0;
    std::string digest;
  };
  std::map<std::string, FileStamp> file_digests_;
  int64_t hits_ = 0, misses_ = 0, bytes_written_ = 0;
};

}  // namespace lact::train
