#include "train/encoder_state_cache.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/audio/audio_io.h"
#include "core/util/status_macros.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "LACTSTATES1";
// The base model's files the states depend on (vocab.json does not change them).
constexpr const char* kModelFiles[] = {"config.json", "model.safetensors",
                                       "preprocessor_config.json"};

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    absl::StrAppend(&hex, absl::Hex(digest[i], absl::kZeroPad2));
  return hex;
}

absl::StatusOr<std::string> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const char* DtypeName(torch::ScalarType t) { return t == torch::kHalf ? "float16" : "float32"; }

}  // namespace

absl::Status StateCacheOptions::Validate() const {
  if (dir.empty()) return absl::InvalidArgumentError("state cache: no directory");
  if (dtype != torch::kHalf && dtype != torch::kFloat) {
    return absl::InvalidArgumentError("state cache: the storage dtype must be float16 or float32");
  }
  return window.Validate();
}

absl::StatusOr<torch::Tensor> StreamingEncoderStates(const OnlineRecognizer& recognizer,
                                                     const std::vector<float>& samples) {
  StreamOptions options;
  options.enable_lact = false;  // the frames LaCT would be fed, not its output
  options.capture = true;
  std::unique_ptr<OnlineStream> stream = recognizer.CreateStream(options);
  const int rate = recognizer.model().sample_rate();
  const size_t piece = static_cast<size_t>(rate) * recognizer.config().step_ms / 1000;
  for (size_t at = 0; at < samples.size(); at += piece) {
    LACT_RETURN_IF_ERROR(
        stream->AcceptWaveform(rate, samples.data() + at, std::min(piece, samples.size() - at)));
    while (recognizer.IsReady(*stream))
      LACT_RETURN_IF_ERROR(recognizer.DecodeStreams({stream.get()}));
  }
  stream->InputFinished();
  while (!stream->is_final()) LACT_RETURN_IF_ERROR(recognizer.DecodeStreams({stream.get()}));
  return stream->captured_hidden();  // [T, D]
}

absl::StatusOr<std::unique_ptr<EncoderStateCache>> EncoderStateCache::Open(
    const StateCacheOptions& options, const std::string& model_dir) {
  LACT_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("state cache: cannot create ", options.dir, ": ", ec.message()));
  }
  std::unique_ptr<EncoderStateCache> cache(new EncoderStateCache());
  cache->options_ = options;
  std::vector<std::string> digests;
  for (const char* name : kModelFiles) {
    const std::string path = (fs::path(model_dir) / name).string();
    if (!fs::exists(path)) {
      digests.push_back(absl::StrCat(name, "=absent"));
      continue;
    }
    LACT_ASSIGN_OR_RETURN(std::string digest, cache->FileDigest(path));
    digests.push_back(absl::StrCat(name, "=", digest));
  }
  cache->model_digest_ = Sha256Hex(absl::StrJoin(digests, ","));
  AsrModelOptions model_options;
  model_options.load_lact = false;
  LACT_ASSIGN_OR_RETURN(std::shared_ptr<const AsrModel> model,
                        AsrModel::Load(model_dir, model_options));
  LACT_ASSIGN_OR_RETURN(cache->recognizer_, OnlineRecognizer::Create(model, options.window));
  return cache;
}

absl::StatusOr<std::string> EncoderStateCache::FileDigest(const std::string& path) {
  std::error_code ec;
  const int64_t size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", ec.message()));
  const int64_t mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  FileStamp& stamp = file_digests_[path];
  if (stamp.size == size && stamp.mtime_ns == mtime && !stamp.digest.empty()) return stamp.digest;
  LACT_ASSIGN_OR_RETURN(std::string bytes, ReadBytes(path));
  stamp = {size, mtime, Sha256Hex(bytes)};
  return stamp.digest;
}

absl::StatusOr<std::string> EncoderStateCache::Key(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    LACT_ASSIGN_OR_RETURN(std::string digest, FileDigest(p));
    files.push_back(digest);
  }
  const StreamingConfig& w = options_.window;
  return absl::StrCat("model=", model_digest_, ";audio=", absl::StrJoin(files, "+"),
                      ";window=", w.step_ms, "/", w.left_context_ms, "/", w.lookahead_ms,
                      ";dtype=", DtypeName(options_.dtype));
}

std::string EncoderStateCache::EntryPath(const std::string& key) const {
  return (fs::path(options_.dir) / (Sha256Hex(key) + ".states")).string();
}

absl::StatusOr<torch::Tensor> EncoderStateCache::Read(const std::string& key) const {
  std::ifstream in(EntryPath(key), std::ios::binary);
  if (!in) return absl::NotFoundError("no entry");
  std::string magic, stored_key, dtype;
  int64_t frames = -1, width = -1;
  std::getline(in, magic);
  std::getline(in, stored_key);
  in >> dtype >> frames >> width;
  in.get();  // the newline
  if (!in || magic != kMagic || stored_key != key || dtype != DtypeName(options_.dtype) ||
      frames < 0 || width <= 0) {
    return absl::NotFoundError("damaged entry");
  }
  torch::Tensor stored =
      torch::empty({frames, width}, torch::TensorOptions().dtype(options_.dtype));
  const std::streamsize bytes = static_cast<std::streamsize>(stored.nbytes());
  in.read(static_cast<char*>(stored.data_ptr()), bytes);
  if (in.gcount() != bytes || in.peek() != std::char_traits<char>::eof()) {
    return absl::NotFoundError("damaged entry");
  }
  return stored.to(torch::kFloat);
}

absl::Status EncoderStateCache::Write(const std::string& key, const torch::Tensor& states) {
  const torch::Tensor stored = states.to(torch::kCPU).to(options_.dtype).contiguous();
  const std::string path = EntryPath(key);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kMagic << "\n"
        << key << "\n"
        << DtypeName(options_.dtype) << " " << stored.size(0) << " " << stored.size(1) << "\n";
    out.write(static_cast<const char*>(stored.data_ptr()),
              static_cast<std::streamsize>(stored.nbytes()));
    if (!out) return absl::InternalError(absl::StrCat("state cache: cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(
        absl::StrCat("state cache: cannot rename ", tmp, ": ", ec.message()));
  bytes_written_ += static_cast<int64_t>(fs::file_size(path, ec));
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> EncoderStateCache::Get(const std::vector<std::string>& paths) {
  LACT_ASSIGN_OR_RETURN(std::string key, Key(paths));
  if (absl::StatusOr<torch::Tensor> cached = Read(key); cached.ok()) {
    ++hits_;
    return cached;
  }
  ++misses_;
  const int rate = recognizer_->model().sample_rate();
  std::vector<float> samples;
  for (const std::string& p : paths) {
    LACT_ASSIGN_OR_RETURN(std::vector<float> part, ReadAudioFile(p, rate));
    samples.insert(samples.end(), part.begin(), part.end());
  }
  LACT_ASSIGN_OR_RETURN(torch::Tensor states, StreamingEncoderStates(*recognizer_, samples));
  LACT_RETURN_IF_ERROR(Write(key, states));
  // What a later Get reads back (float16 storage rounds), so a miss and a hit train alike.
  return states.to(options_.dtype).to(torch::kFloat);
}

}  // namespace lact::train
