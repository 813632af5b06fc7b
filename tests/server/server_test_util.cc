#include "tests/server/server_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <ogg/ogg.h>
#include <opus/opus.h>
#include <opus/opusenc.h>
#include <poll.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/sanitizer_report.h"

namespace lact::server::testing {

namespace fs = std::filesystem;

std::vector<std::string> Window::ServerFlags() const {
  return {absl::StrCat("--step_ms=", step_ms), absl::StrCat("--left_context_ms=", left_context_ms),
          absl::StrCat("--lookahead_ms=", lookahead_ms)};
}

std::vector<std::string> Window::TranscribeFlags() const {
  return {"--streaming", absl::StrCat("--step-ms=", step_ms),
          absl::StrCat("--left-context-ms=", left_context_ms),
          absl::StrCat("--lookahead-ms=", lookahead_ms)};
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return std::string(buf.data());
}

std::string MakeLactModelDir() {
  const std::string dir = MakeTempDir("lact_server_model_");
  const fs::path fixtures = LACT_TEST_FIXTURES;
  for (const char* f :
       {"config.json", "model.safetensors", "vocab.json", "preprocessor_config.json"}) {
    fs::copy_file(fixtures / "tiny_group" / f, fs::path(dir) / f);
  }
  for (const char* f : {"lact_config.json", "lact.safetensors"}) {
    fs::copy_file(fixtures / "lact_momentum" / f, fs::path(dir) / f);
  }
  return dir;
}

std::vector<float> SyntheticAudio(double seconds, int rate, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  const size_t n = static_cast<size_t>(seconds * rate);
  std::vector<float> out(n);
  // Syllable-like bursts: a gliding harmonic tone under an envelope, plus a little noise.
  double f0 = 120 + 80 * uni(rng), phase = 0;
  const size_t syllable = static_cast<size_t>(0.18 * rate);
  for (size_t i = 0; i < n; ++i) {
    if (i % syllable == 0) f0 = 100 + 150 * uni(rng);
    const double t_in = static_cast<double>(i % syllable) / syllable;
    const double env = std::sin(M_PI * t_in) * (0.3 + 0.5 * ((i / syllable) % 3 == 2 ? 0.1 : 1.0));
    phase += 2 * M_PI * (f0 * (1 + 0.2 * t_in)) / rate;
    double x = 0;
    for (int h = 1; h <= 5; ++h) x += std::sin(h * phase) / h;
    x = 0.35 * env * x + 0.02 * (uni(rng) - 0.5);
    const double q = std::round(std::clamp(x, -0.99, 0.99) * 32768.0);
    out[i] = static_cast<float>(q / 32768.0);
  }
  return out;
}

std::string ToLinear16(const std::vector<float>& samples) {
  std::string out(samples.size() * 2, '\0');
  for (size_t i = 0; i < samples.size(); ++i) {
    const long v = std::lround(std::clamp(samples[i] * 32768.0f, -32768.0f, 32767.0f));
    const uint16_t u = static_cast<uint16_t>(static_cast<int16_t>(v));
    out[2 * i] = static_cast<char>(u & 0xff);
    out[2 * i + 1] = static_cast<char>(u >> 8);
  }
  return out;
}

std::string ToFloat32(const std::vector<float>& samples) {
  std::string out(samples.size() * 4, '\0');
  for (size_t i = 0; i < samples.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &samples[i], 4);
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

std::vector<std::string> EncodeOpusPackets(const std::vector<float>& samples, int rate,
                                           int frame_ms) {
  int error = 0;
  OpusEncoder* enc = opus_encoder_create(rate, 1, OPUS_APPLICATION_VOIP, &error);
  if (enc == nullptr) throw std::runtime_error("opus_encoder_create failed");
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
  const int frame = rate * frame_ms / 1000;
  std::vector<std::string> packets;
  std::vector<float> buf(frame);
  std::vector<unsigned char> out(4000);
  for (size_t at = 0; at < samples.size(); at += frame) {
    std::fill(buf.begin(), buf.end(), 0.0f);
    std::copy(samples.begin() + at, samples.begin() + std::min(samples.size(), at + frame),
              buf.begin());
    const int n =
        opus_encode_float(enc, buf.data(), frame, out.data(), static_cast<opus_int32>(out.size()));
    if (n < 0) throw std::runtime_error("opus_encode_float failed");
    packets.emplace_back(reinterpret_cast<const char*>(out.data()), n);
  }
  opus_encoder_destroy(enc);
  return packets;
}

std::vector<float> DecodeOpusPackets(const std::vector<std::string>& packets, int rate) {
  int error = 0;
  OpusDecoder* dec = opus_decoder_create(rate, 1, &error);
  if (dec == nullptr) throw std::runtime_error("opus_decoder_create failed");
  std::vector<float> out, pcm(rate * 120 / 1000);
  for (const std::string& p : packets) {
    const int n = opus_decode_float(dec, reinterpret_cast<const unsigned char*>(p.data()),
                                    static_cast<opus_int32>(p.size()), pcm.data(),
                                    static_cast<int>(pcm.size()), 0);
    if (n < 0) throw std::runtime_error("opus_decode_float failed");
    out.insert(out.end(), pcm.begin(), pcm.begin() + n);
  }
  opus_decoder_destroy(dec);
  return out;
}

std::string EncodeOggOpus(const std::vector<float>& samples, int rate) {
  std::string bytes;
  OpusEncCallbacks callbacks;
  callbacks.write = [](void* user, const unsigned char* ptr, opus_int32 len) -> int {
    static_cast<std::string*>(user)->append(reinterpret_cast<const char*>(ptr), len);
    return 0;
  };
  callbacks.close = [](void*) -> int { return 0; };
  OggOpusComments* comments = ope_comments_create();
  int error = 0;
  OggOpusEnc* enc = ope_encoder_create_callbacks(&callbacks, &bytes, comments, rate, 1, 0, &error);
  if (enc == nullptr)
    throw std::runtime_error(absl::StrCat("ope_encoder_create_callbacks: ", error));
  ope_encoder_ctl(enc, OPE_SET_SERIALNO(1234));
  ope_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
  ope_encoder_write_float(enc, samples.data(), static_cast<int>(samples.size()));
  ope_encoder_drain(enc);
  ope_encoder_destroy(enc);
  ope_comments_destroy(comments);
  return bytes;
}

std::string OggWriter::Page(const std::vector<uint8_t>& lacing, const std::string& body, bool bos,
                            bool continued, int64_t granule) {
  std::string header(27 + lacing.size(), '\0');
  std::memcpy(header.data(), "OggS", 4);
  header[5] = static_cast<char>((continued ? 1 : 0) | (bos ? 2 : 0));
  for (int i = 0; i < 8; ++i)
    header[6 + i] = static_cast<char>((static_cast<uint64_t>(granule) >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) header[14 + i] = static_cast<char>((kSerial >> (8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) header[18 + i] = static_cast<char>((sequence_ >> (8 * i)) & 0xff);
  header[26] = static_cast<char>(lacing.size());
  for (size_t i = 0; i < lacing.size(); ++i) header[27 + i] = static_cast<char>(lacing[i]);
  ++sequence_;
  std::string body_copy = body;
  ogg_page page;
  page.header = reinterpret_cast<unsigned char*>(header.data());
  page.header_len = static_cast<long>(header.size());
  page.body = reinterpret_cast<unsigned char*>(body_copy.data());
  page.body_len = static_cast<long>(body_copy.size());
  ogg_page_checksum_set(&page);
  return header + body_copy;
}

std::string OggWriter::PacketPage(const std::string& packet, bool bos) {
  std::vector<uint8_t> lacing(packet.size() / 255, 255);
  lacing.push_back(static_cast<uint8_t>(packet.size() % 255));
  return Page(lacing, packet, bos, false, 0);
}

std::string OggWriter::HeadPage() {
  return PacketPage(std::string("OpusHead\x01\x01\x38\x01\x80\x3e\x00\x00\x00\x00\x00", 19), true);
}

std::string OggWriter::TagsPage() {
  return PacketPage(std::string("OpusTags\x04\x00\x00\x00test\x00\x00\x00\x00", 20), false);
}

std::string OggWriter::Headers() {
  std::string pages = HeadPage();  // in this order: pages are numbered as they are made
  return pages + TagsPage();
}

std::string OggWriter::EndlessPacketPage(const std::string& prefix) {
  std::string body(255 * 255, 'x');
  const bool first = !packet_open_;
  if (first) body.replace(0, prefix.size(), prefix);
  packet_open_ = true;
  return Page(std::vector<uint8_t>(255, 255), body, false, !first, -1);
}

std::string OggWriter::ConcealmentPage() {
  std::string body;
  for (int i = 0; i < 255; ++i) body += std::string("\x1b\x02", 2);
  granule_ += 255 * 5760;
  return Page(std::vector<uint8_t>(255, 2), body, false, false, granule_);
}

std::vector<std::string> SplitBytes(const std::string& bytes, size_t size) {
  std::vector<std::string> out;
  for (size_t at = 0; at < bytes.size(); at += size) out.push_back(bytes.substr(at, size));
  return out;
}

void WriteFloatWav(const std::string& path, const std::vector<float>& samples, int rate) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (f == nullptr) throw std::runtime_error("sf_open " + path);
  sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_close(f);
}

namespace {

// Runs argv, capturing stdout; returns {exit code, stdout}.
std::pair<int, std::string> RunCapture(const std::vector<std::string>& argv) {
  const std::string out_path = MakeTempDir("lact_run_") + "/out";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out_path)};
}

}  // namespace

std::map<std::string, std::string> ReferenceTranscripts(const std::string& model_dir,
                                                        const std::vector<std::string>& files,
                                                        const Window& window) {
  std::vector<std::string> argv = {LACT_TRANSCRIBE_BIN, "--model=" + model_dir, "--lact=on",
                                   "--threads=1", "--dtype=float32"};
  for (const auto& f : window.TranscribeFlags()) argv.push_back(f);
  for (const auto& f : files) argv.push_back(f);
  auto [code, out] = RunCapture(argv);
  if (code != 0) throw std::runtime_error(absl::StrCat("lact_transcribe exited ", code));
  std::map<std::string, std::string> result;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    result[parts[0]] = parts.size() > 1 ? parts[1] : "";
  }
  return result;
}

int64_t RssBytes(pid_t pid) {
  std::ifstream f(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream in(line.substr(6));
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ServerProcess::ServerProcess(const std::string& model_dir, const Window& window,
                             const std::vector<std::string>& extra_flags) {
  dir_ = MakeTempDir("lact_server_run_");
  log_path_ = dir_ + "/server.log";
  const std::string ready = dir_ + "/ready.json";
  std::vector<std::string> argv = {LACT_SERVER_BIN, "--model=" + model_dir, "--host=127.0.0.1",
                                   "--port=0",      "--metrics_port=0",     "--ready_file=" + ready,
                                   "--threads=1",   "--lact=true",          "--dtype=float32"};
  for (const auto& f : window.ServerFlags()) argv.push_back(f);
  for (const auto& f : extra_flags) argv.push_back(f);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) startup_exit_code_ = WEXITSTATUS(status);
      return;
    }
    const std::string text = ReadFile(ready);
    if (!text.empty()) {
      // {"port":N,"metrics_port":M,"pid":P}
      std::sscanf(text.c_str(), "{\"port\":%d,\"metrics_port\":%d", &port_, &metrics_port_);
      return;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (const std::string report = lact::testing::SanitizerReport(log()); !report.empty()) {
    ADD_FAILURE() << "sanitizer report in the server log " << log_path_ << ":\n" << report;
  }
}

std::shared_ptr<grpc::Channel> ServerProcess::channel() const {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<pb::StreamingAsr::Stub> ServerProcess::stub() const {
  return pb::StreamingAsr::NewStub(channel());
}

void ServerProcess::Signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

int ServerProcess::WaitExit(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return -1;
}

std::string ServerProcess::log() const { return ReadFile(log_path_); }

pb::RecognitionConfig MakeConfig(pb::AudioEncoding encoding, int rate, int channels) {
  pb::RecognitionConfig c;
  c.set_encoding(encoding);
  c.set_sample_rate_hertz(rate);
  c.set_audio_channel_count(channels);
  c.set_enable_lact(true);
  return c;
}

std::vector<pb::StreamingRecognizeRequest> ConfigThenAudio(const pb::RecognitionConfig& config,
                                                           bool interim,
                                                           const std::vector<std::string>& chunks) {
  std::vector<pb::StreamingRecognizeRequest> out(1);
  *out[0].mutable_streaming_config()->mutable_config() = config;
  out[0].mutable_streaming_config()->set_interim_results(interim);
  for (const auto& c : chunks) {
    out.emplace_back();
    out.back().set_audio_content(c);
  }
  return out;
}

StreamResult RunStream(pb::StreamingAsr::Stub* stub, const StreamSpec& spec) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::ToInt64Milliseconds(spec.deadline)));
  for (const auto& [key, value] : spec.metadata) context.AddMetadata(key, value);
  auto stream = stub->StreamingRecognize(&context);
  StreamResult result;
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  std::thread reader([&] {
    pb::StreamingRecognizeResponse response;
    while (stream->Read(&response)) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& r : response.results()) {
        if (r.is_final()) {
          result.got_final = true;
          ++result.finals;
          const std::string text =
              r.alternatives_size() > 0 ? r.alternatives(0).transcript() : std::string();
          result.final_transcripts.push_back(text);
          if (!text.empty()) {
            if (!result.final_transcript.empty()) result.final_transcript += ' ';
            result.final_transcript += text;
          }
          if (r.alternatives_size() > 0) {
            result.final_words.insert(result.final_words.end(), r.alternatives(0).words().begin(),
                                      r.alternatives(0).words().end());
          }
        } else if (!closed) {
          ++result.interims_before_close;
        }
      }
      result.responses.push_back(response);
      cv.notify_all();
    }
  });
  bool all_written = true;
  for (size_t i = 0; i < spec.messages.size(); ++i) {
    if (spec.before_write) spec.before_write(i);
    if (!stream->Write(spec.messages[i])) {
      all_written = false;
      break;
    }
    if (spec.interval > absl::ZeroDuration()) absl::SleepFor(spec.interval);
  }
  if (all_written && spec.wait_for_interim) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return result.interims_before_close > 0; });
  }
  if (spec.cancel) {
    absl::SleepFor(spec.cancel_after);
    context.TryCancel();
  } else if (!spec.hold_open) {
    {
      std::lock_guard<std::mutex> lock(mu);
      closed = true;
    }
    stream->WritesDone();
  }
  reader.join();
  result.status = stream->Finish();
  return result;
}

std::string HttpGet(int port, const std::string& path) {
  const std::string out_path = MakeTempDir("lact_http_") + "/body";
  const std::string cmd =
      absl::StrCat("curl -s -m 10 -o ", out_path, " 'http://127.0.0.1:", port, path, "'");
  if (std::system(cmd.c_str()) != 0) return "";
  return ReadFile(out_path);
}

namespace {

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads from fd until `done(buffer)` or the deadline; false on timeout, EOF or error first.
bool ReadUntil(int fd, absl::Time deadline, std::string* buffer,
               const std::function<bool(const std::string&)>& done) {
  char chunk[4096];
  while (!done(*buffer)) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(ms)) <= 0) continue;
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return done(*buffer);
    buffer->append(chunk, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

RawHttpReply RawHttpRequest(int port, const std::string& request, absl::Duration timeout) {
  RawHttpReply reply;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  const int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string buffer;
  size_t body_start = std::string::npos;
  size_t length = 0;
  const bool whole = ReadUntil(fd, deadline, &buffer, [&](const std::string& b) {
    if (body_start == std::string::npos) {
      const size_t end = b.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      body_start = end + 4;
      const std::string head = absl::AsciiStrToLower(b.substr(0, end));
      const size_t at = head.find("content-length:");
      if (at == std::string::npos) return true;
      length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
    }
    return b.size() >= body_start + length;
  });
  close(fd);
  reply.elapsed = absl::Now() - start;
  if (!whole || body_start == std::string::npos || buffer.compare(0, 9, "HTTP/1.1 ") != 0)
    return reply;
  reply.ok = true;
  reply.status = std::atoi(buffer.c_str() + 9);
  reply.body = buffer.substr(body_start, length);
  return reply;
}

RawHttpReply RawHttpGet(int port, const std::string& path, absl::Duration timeout) {
  return RawHttpRequest(
      port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

SlowHttpClient::SlowHttpClient(int port, bool trickle)
    : fd_(ConnectLoopback(port)), trickle_(trickle) {}

SlowHttpClient::~SlowHttpClient() {
  if (fd_ >= 0) close(fd_);
}

bool SlowHttpClient::TrickleByte() {
  if (fd_ < 0 || !trickle_) return false;
  // A request head that never ends: the request line, then one endless header line.
  static const std::string kHead = "GET /healthz HTTP/1.1\r\nX-Slow: ";
  const char c = sent_ < kHead.size() ? kHead[sent_] : 'a';
  ++sent_;
  return send(fd_, &c, 1, MSG_NOSIGNAL) == 1;
}

bool SlowHttpClient::Send(const std::string& bytes) {
  if (fd_ < 0) return false;
  return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

bool SlowHttpClient::ClosedByServer(absl::Duration wait) {
  if (fd_ < 0) return true;
  const absl::Time deadline = absl::Now() + wait;
  char chunk[4096];
  while (absl::Now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const int r = poll(
        &p, 1,
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()))));
    if (r <= 0) continue;
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return true;  // EOF or reset
    received_ += n;
  }
  return false;
}

SlowConnectionCrowd::SlowConnectionCrowd(int port, int trickling, int silent,
                                         absl::Duration period) {
  for (int i = 0; i < trickling; ++i)
    trickling_.push_back(std::make_unique<SlowHttpClient>(port, true));
  for (int i = 0; i < silent; ++i) silent_.push_back(std::make_unique<SlowHttpClient>(port, false));
  thread_ = std::thread([this, period] {
    while (!stop_.load()) {
      for (auto& c : trickling_) c->TrickleByte();
      absl::SleepFor(period);
    }
  });
}

SlowConnectionCrowd::~SlowConnectionCrowd() {
  stop_.store(true);
  thread_.join();
}

bool SlowConnectionCrowd::all_connected() const {
  for (const auto* group : {&trickling_, &silent_}) {
    for (const auto& c : *group) {
      if (!c->connected()) return false;
    }
  }
  return true;
}

double WaitForMetric(int port, const std::string& series, double value, absl::Duration timeout) {
  double last = -1;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    last = MetricValue(HttpGet(port, "/metrics"), series).value_or(-1);
    if (last == value) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return last;
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n', absl::SkipEmpty())) {
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ') {
      double v = 0;
      std::string value(line.substr(series.size() + 1));
      const size_t space = value.find(' ');  // a timestamp may follow
      if (space != std::string::npos) value.resize(space);
      if (absl::SimpleAtod(value, &v)) return v;
    }
  }
  return std::nullopt;
}

int RunHealthProbe(const std::string& address, const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {LACT_HEALTH_PROBE_BIN, "--address=" + address,
                                   "--timeout_ms=3000"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto [code, out] = RunCapture(argv);
  return code;
}

}  // namespace lact::server::testing
