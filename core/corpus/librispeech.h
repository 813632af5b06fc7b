// The evaluation corpus: LibriSpeech folders and `path<TAB>reference` manifests, listed as
// items to stream (audio is read later, by whoever streams the item).
//
// LibriSpeech layout: <split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac next to
// <speaker>-<chapter>.trans.txt, whose lines are "<utterance id> <TRANSCRIPT>". Speakers and
// chapters are listed in numeric order, utterances in the transcript file's order.
//
// Manifest: one "path<TAB>reference" per line; empty lines and lines starting with '#' are
// skipped; a relative path is relative to the manifest's folder. An item's id is the file name
// without extension; when that has the LibriSpeech form "<speaker>-<chapter>-<utt>", speaker
// and chapter are taken from it (so --long_form can group manifest items too).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact::eval {

// One stream's worth of audio and its reference transcript.
struct CorpusItem {
  std::string id;       // utterance id; "<speaker>-<chapter>" for a long-form item
  std::string speaker;  // "" when unknown (manifest entries without a LibriSpeech id)
  std::string chapter;  // "" when unknown
  std::vector<std::string> audio_paths;  // one file, or a chapter's files in order (long form)
  std::string reference;                 // as written in the transcript; long form: joined by ' '
};

struct CorpusOptions {
  // The folder holding <split>/ (e.g. .../LibriSpeech), its parent (holding LibriSpeech/<split>),
  // or the split folder itself. Exactly one of librispeech_dir and manifest is set.
  std::string librispeech_dir;
  std::string split = "test-clean";
  std::string manifest;  // a "path<TAB>reference" file
  // Join each chapter's utterances (same speaker and chapter, in order) into one item.
  bool long_form = false;
  // Keep only the first `limit` items (after long-form grouping); 0 keeps all.
  int limit = 0;

  absl::Status Validate() const;
};

// The items `options` describes. Errors: InvalidArgument (bad options, malformed transcript or
// manifest line, naming file and line), NotFound (missing folder, split, audio file, or an empty
// corpus).
absl::StatusOr<std::vector<CorpusItem>> LoadCorpus(const CorpusOptions& options);

// The split folder for `dir` and `split` (see CorpusOptions::librispeech_dir).
absl::StatusOr<std::string> ResolveSplitDir(const std::string& dir, const std::string& split);

// Every utterance under a split folder, one item each.
absl::StatusOr<std::vector<CorpusItem>> ReadLibriSpeechSplit(const std::string& split_dir);

// Every line of a manifest, one item each.
absl::StatusOr<std::vector<CorpusItem>> ReadManifest(const std::string& path);

// Joins consecutive items with the same non-empty speaker and chapter into one item (id
// "<speaker>-<chapter>", audio paths and references concatenated in order). Items without a
// speaker/chapter stay as they are.
std::vector<CorpusItem> GroupLongForm(const std::vector<CorpusItem>& items);

}  // namespace lact::eval
