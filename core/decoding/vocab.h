// The token table of a Wav2Vec2 CTC model: Hugging Face's vocab.json
// ({"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, ...}).
//
// Roles, as in transformers' Wav2Vec2CTCTokenizer:
//   blank      the pad token ("<pad>"): the CTC blank;
//   delimiter  the word delimiter ("|"): a space between words;
//   special    "<s>", "</s>", "<unk>" (where present): never part of a transcript;
//   text       everything else: characters (or pieces) appended to the current word.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lact {

struct VocabOptions {
  std::string pad_token = "<pad>";         // the CTC blank, looked up by name...
  int64_t pad_token_id = -1;               // ...unless this is >= 0 (config.json's pad_token_id)
  std::string word_delimiter_token = "|";  // optional in the vocabulary
  std::string unk_token = "<unk>";         // optional
  std::string bos_token = "<s>";           // optional
  std::string eos_token = "</s>";          // optional

  absl::Status Validate() const;  // names non-empty and distinct
};

class Vocab {
 public:
  enum class Kind : uint8_t { kBlank, kDelimiter, kSpecial, kText };

  // Reads vocab.json. Errors (naming the file): NotFound when missing; InvalidArgument for bad
  // JSON, a non-object, non-integer or negative ids, two tokens with one id, ids that do not
  // cover 0..N-1 (a gap), an empty vocabulary, or no blank (pad token absent / id out of range).
  static absl::StatusOr<Vocab> FromJsonFile(const std::string& path,
                                            const VocabOptions& options = {});
  // Same from the JSON text; `source` names it in error messages.
  static absl::StatusOr<Vocab> FromJsonString(const std::string& json,
                                              const VocabOptions& options = {},
                                              const std::string& source = "<string>");
  // From tokens in id order (tokens[i] has id i); for tests and tools.
  static absl::StatusOr<Vocab> FromTokens(std::vector<std::string> tokens,
                                          const VocabOptions& options = {});

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  // Token text of `id`; requires 0 <= id < size().
  const std::string& token(int64_t id) const { return tokens_[static_cast<size_t>(id)]; }
  Kind kind(int64_t id) const { return kinds_[static_cast<size_t>(id)]; }
  // Id of `token`, or -1.
  int64_t id(const std::string& token) const;

  int64_t blank_id() const { return blank_id_; }
  int64_t word_delimiter_id() const { return delimiter_id_; }  // -1 when absent
  int64_t unk_id() const { return unk_id_; }                   // -1 when absent
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  Vocab() = default;

  std::vector<std::string> tokens_;  // [V], by id
  std::vector<Kind> kinds_;          // [V]
  std::unordered_map<std::string, int64_t> ids_;
  int64_t blank_id_ = -1;
  int64_t delimiter_id_ = -1;
  int64_t unk_id_ = -1;
};

}  // namespace lact
