#include "train/encoder_state_cache.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/audio/audio_io.h"
#include "core/util/status_macros.h"

namespace lact::train {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "LACTSTATES1";
constexpr char kWindowsMagic[] = "LACTWINDOWS1";
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

// Feeds `samples` as `lact_transcribe --streaming` feeds a file: pieces of step_ms, decoding while
// ready, then the end of input, decoding until final.
absl::Status FeedAsAFile(const OnlineRecognizer& recognizer, OnlineStream& stream,
                         const std::vector<float>& samples) {
  const int rate = recognizer.model().sample_rate();
  const size_t piece = static_cast<size_t>(rate) * recognizer.config().step_ms / 1000;
  for (size_t at = 0; at < samples.size(); at += piece) {
    LACT_RETURN_IF_ERROR(
        stream.AcceptWaveform(rate, samples.data() + at, std::min(piece, samples.size() - at)));
    while (recognizer.IsReady(stream)) LACT_RETURN_IF_ERROR(recognizer.DecodeStreams({&stream}));
  }
  stream.InputFinished();
  while (!stream.is_final()) LACT_RETURN_IF_ERROR(recognizer.DecodeStreams({&stream}));
  return absl::OkStatus();
}

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
  LACT_RETURN_IF_ERROR(FeedAsAFile(recognizer, *stream, samples));
  return stream->captured_hidden();  // [T, D]
}

absl::StatusOr<WindowStates> StreamingWindowStates(const OnlineRecognizer& recognizer,
                                                   const std::vector<float>& samples,
                                                   int64_t layer) {
  StreamOptions options;
  options.enable_lact = false;
  options.capture_windows = true;
  std::unique_ptr<OnlineStream> stream = recognizer.CreateStream(options);
  LACT_RETURN_IF_ERROR(FeedAsAFile(recognizer, *stream, samples));
  const std::vector<CapturedWindow>& windows = stream->captured_windows();
  // One encoder call per distinct window length (all but the first and last few share one).
  std::map<int64_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < windows.size(); ++i) by_length[windows[i].samples.size(0)].push_back(i);
  std::vector<torch::Tensor> states(windows.size());
  for (const auto& [length, members] : by_length) {
    std::vector<torch::Tensor> batch;
    for (size_t i : members) batch.push_back(windows[i].samples);
    const torch::Tensor below =
        recognizer.model().encoder().EncodeBelow(torch::stack(batch), layer);  // [B, W, D]
    for (size_t j = 0; j < members.size(); ++j)
      states[members[j]] = below[static_cast<int64_t>(j)].to(torch::kCPU);
  }
  WindowStates out;
  out.windows = torch::empty({static_cast<int64_t>(windows.size()), 3}, torch::kLong);
  auto index = out.windows.accessor<int64_t, 2>();
  for (size_t i = 0; i < windows.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i);
    index[r][0] = states[i].size(0);
    index[r][1] = windows[i].commit_begin;
    index[r][2] = windows[i].commit_end;
  }
  const int64_t D = recognizer.model().encoder().config().hidden_size;
  out.states = states.empty() ? torch::zeros({0, D}) : torch::cat(states, 0);  // [sum W_i, D]
  return out;
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
                      ";plan=", OnlineRecognizer::kWindowPlanVersion,
                      ";dtype=", DtypeName(options_.dtype));
}

std::string EncoderStateCache::EntryPath(const std::string& key) const {
  return (fs::path(options_.dir) / (Sha256Hex(key) + ".states")).string();
}

absl::StatusOr<EncoderStateCache::Entry> EncoderStateCache::Read(const std::string& key,
                                                                 bool windows) const {
  std::ifstream in(EntryPath(key), std::ios::binary);
  if (!in) return absl::NotFoundError("no entry");
  std::string magic, stored_key, dtype;
  int64_t frames = -1, width = -1, n_windows = 0;
  std::getline(in, magic);
  std::getline(in, stored_key);
  in >> dtype >> frames >> width;
  if (windows) in >> n_windows;
  in.get();  // the newline
  if (!in || magic != (windows ? kWindowsMagic : kMagic) || stored_key != key ||
      dtype != DtypeName(options_.dtype) || frames < 0 || width <= 0 || n_windows < 0) {
    return absl::NotFoundError("damaged entry");
  }
  Entry entry;
  entry.index = torch::empty({n_windows, 3}, torch::kLong);
  torch::Tensor stored =
      torch::empty({frames, width}, torch::TensorOptions().dtype(options_.dtype));
  for (torch::Tensor* t : {&entry.index, &stored}) {
    const std::streamsize bytes = static_cast<std::streamsize>(t->nbytes());
    in.read(static_cast<char*>(t->data_ptr()), bytes);
    if (in.gcount() != bytes) return absl::NotFoundError("damaged entry");
  }
  if (in.peek() != std::char_traits<char>::eof()) return absl::NotFoundError("damaged entry");
  if (windows) {
    // Each window's rows lie inside the states, and its committed rows inside the window.
    const auto w = entry.index.accessor<int64_t, 2>();
    int64_t rows = 0;
    for (int64_t i = 0; i < n_windows; ++i) {
      if (w[i][0] <= 0 || w[i][1] < 0 || w[i][1] > w[i][2] || w[i][2] > w[i][0])
        return absl::NotFoundError("damaged entry");
      rows += w[i][0];
    }
    if (rows != frames) return absl::NotFoundError("damaged entry");
  }
  entry.states = stored.to(torch::kFloat);
  return entry;
}

absl::Status EncoderStateCache::Write(const std::string& key, const torch::Tensor& states,
                                      const torch::Tensor& index) {
  const torch::Tensor stored = states.to(torch::kCPU).to(options_.dtype).contiguous();
  const std::string path = EntryPath(key);
  // Per process: two runs filling the same entry (the study's parallel jobs) never share a file.
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << (index.defined() ? kWindowsMagic : kMagic) << "\n"
        << key << "\n"
        << DtypeName(options_.dtype) << " " << stored.size(0) << " " << stored.size(1);
    if (index.defined()) out << " " << index.size(0);
    out << "\n";
    if (index.defined()) {
      const torch::Tensor rows = index.to(torch::kLong).contiguous();
      out.write(static_cast<const char*>(rows.data_ptr()),
                static_cast<std::streamsize>(rows.nbytes()));
    }
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

absl::StatusOr<std::vector<float>> EncoderStateCache::ReadSamples(
    const std::vector<std::string>& paths) const {
  const int rate = recognizer_->model().sample_rate();
  std::vector<float> samples;
  for (const std::string& p : paths) {
    LACT_ASSIGN_OR_RETURN(std::vector<float> part, ReadAudioFile(p, rate));
    samples.insert(samples.end(), part.begin(), part.end());
  }
  return samples;
}

absl::StatusOr<torch::Tensor> EncoderStateCache::Get(const std::vector<std::string>& paths) {
  LACT_ASSIGN_OR_RETURN(std::string key, Key(paths));
  if (absl::StatusOr<Entry> cached = Read(key, /*windows=*/false); cached.ok()) {
    ++hits_;
    return cached->states;
  }
  ++misses_;
  LACT_ASSIGN_OR_RETURN(std::vector<float> samples, ReadSamples(paths));
  LACT_ASSIGN_OR_RETURN(torch::Tensor states, StreamingEncoderStates(*recognizer_, samples));
  LACT_RETURN_IF_ERROR(Write(key, states, torch::Tensor()));
  // What a later Get reads back (float16 storage rounds), so a miss and a hit train alike.
  return states.to(options_.dtype).to(torch::kFloat);
}

absl::StatusOr<WindowStates> EncoderStateCache::GetWindows(const std::vector<std::string>& paths,
                                                           int64_t layer) {
  const int64_t layers = recognizer_->model().encoder().config().num_hidden_layers;
  if (layer < 0 || layer >= layers) {
    return absl::InvalidArgumentError(
        absl::StrCat("state cache: layer ", layer, " outside [0, ", layers, ")"));
  }
  LACT_ASSIGN_OR_RETURN(std::string key, Key(paths));
  absl::StrAppend(&key, ";windows_below_layer=", layer);
  if (absl::StatusOr<Entry> cached = Read(key, /*windows=*/true); cached.ok()) {
    ++hits_;
    return WindowStates{cached->states, cached->index};
  }
  ++misses_;
  LACT_ASSIGN_OR_RETURN(std::vector<float> samples, ReadSamples(paths));
  LACT_ASSIGN_OR_RETURN(WindowStates w, StreamingWindowStates(*recognizer_, samples, layer));
  LACT_RETURN_IF_ERROR(Write(key, w.states, w.windows));
  return WindowStates{w.states.to(options_.dtype).to(torch::kFloat), w.windows};
}

}  // namespace lact::train
