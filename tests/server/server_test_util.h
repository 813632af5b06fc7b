// Helpers shared by the lact_server tests: a model folder, synthetic audio and its encodings
// (PCM, raw Opus, Ogg Opus), reference transcripts from `lact_transcribe --streaming`, a
// lact_server child process on loopback ports, a streaming client, and /metrics parsing.
//
// Paths come from compile definitions set in tests/server/CMakeLists.txt: LACT_SERVER_BIN,
// LACT_TRANSCRIBE_BIN, LACT_HEALTH_PROBE_BIN, LACT_TEST_FIXTURES.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "lact/asr/v1/asr.grpc.pb.h"

namespace lact::server::testing {

namespace pb = lact::asr::v1;

// The streaming window every server test uses, given to lact_server and lact_transcribe alike.
struct Window {
  int step_ms = 320;
  int left_context_ms = 960;
  int lookahead_ms = 320;
  std::vector<std::string> ServerFlags() const;
  std::vector<std::string> TranscribeFlags() const;
};

// A fresh temporary directory (removed by the caller if it wants; tests leave it to the OS).
std::string MakeTempDir(const std::string& prefix);
// A LaCT model folder: tests/fixtures/tiny_group + lact_momentum's LaCT config and weights.
std::string MakeLactModelDir();

// Deterministic speech-like audio ([seconds * rate], values k / 32768 so 16-bit PCM is exact).
std::vector<float> SyntheticAudio(double seconds, int rate, uint32_t seed);

// Encodings of mono audio.
std::string ToLinear16(const std::vector<float>& samples);  // little-endian int16
std::string ToFloat32(const std::vector<float>& samples);   // little-endian float
std::vector<std::string> EncodeOpusPackets(const std::vector<float>& samples, int rate,
                                           int frame_ms = 20);
std::vector<float> DecodeOpusPackets(const std::vector<std::string>& packets, int rate);
std::string EncodeOggOpus(const std::vector<float>& samples, int rate);
// Ogg pages built by hand (libogg's ogg_stream cannot write a packet that never ends), one
// logical stream, pages numbered in the order they are made.
class OggWriter {
 public:
  // One page: `lacing` values, `body` bytes; `continued`: its first packet began earlier.
  std::string Page(const std::vector<uint8_t>& lacing, const std::string& body, bool bos,
                   bool continued, int64_t granule);
  // A complete packet (< 255 * 255 bytes) alone on a page.
  std::string PacketPage(const std::string& packet, bool bos);
  // OpusHead: version 1, mono, pre-skip 312, input rate 16 kHz, gain 0, mapping family 0.
  std::string HeadPage();
  // OpusTags: vendor "test", no comments.
  std::string TagsPage();
  std::string Headers();  // HeadPage() then TagsPage()
  // A full page (255 segments of 255 bytes) of a packet that goes on: its first page starts
  // with `prefix`, the rest are continuations.
  std::string EndlessPacketPage(const std::string& prefix);
  // 255 Opus packets of 2 bytes: TOC config 3 (SILK NB 60 ms), code 3, then a count byte of two
  // CBR frames, both empty: each packet decodes to 120 ms of packet-loss concealment.
  std::string ConcealmentPage();

 private:
  static constexpr uint32_t kSerial = 0x1a2b3c4d;
  uint32_t sequence_ = 0;
  bool packet_open_ = false;
  int64_t granule_ = 0;
};

// Splits bytes into pieces of `size` bytes (the last may be shorter).
std::vector<std::string> SplitBytes(const std::string& bytes, size_t size);

// Writes a mono 32-bit float WAV (exact round trip through libsndfile).
void WriteFloatWav(const std::string& path, const std::vector<float>& samples, int rate);
// Runs `lact_transcribe --streaming` with `window` on `files`; returns path -> transcript. In
// float32, like ServerProcess and ServerConfig's default (the precision the tests compare in).
std::map<std::string, std::string> ReferenceTranscripts(const std::string& model_dir,
                                                        const std::vector<std::string>& files,
                                                        const Window& window);

// The process's resident set (VmRSS), bytes; 0 when unreadable.
int64_t RssBytes(pid_t pid);

// A loopback TCP port that was free a moment ago.
int FreePort();

// lact_server as a child process on 127.0.0.1 with ports chosen by the server (--port=0).
class ServerProcess {
 public:
  // Starts the server with `model_dir`, `window` and `extra_flags` (--dtype=float32 unless they
  // say otherwise); waits until it serves.
  ServerProcess(const std::string& model_dir, const Window& window,
                const std::vector<std::string>& extra_flags = {});
  ~ServerProcess();  // SIGKILL if still running

  bool ok() const { return pid_ > 0 && port_ > 0; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  std::shared_ptr<grpc::Channel> channel() const;
  std::unique_ptr<pb::StreamingAsr::Stub> stub() const;

  // When the process ended before it served (a startup error): its exit code; else -1.
  int startup_exit_code() const { return startup_exit_code_; }

  void Signal(int sig) const;
  // Waits for the process to exit; its exit code, or -1 on timeout / abnormal end.
  int WaitExit(absl::Duration timeout);
  std::string log() const;  // its stderr so far

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  int startup_exit_code_ = -1;
  std::string dir_;
  std::string log_path_;
};

// A streaming call as the tests drive it.
struct StreamSpec {
  std::vector<pb::StreamingRecognizeRequest> messages;  // sent in order
  absl::Duration interval = absl::Milliseconds(5);      // between messages
  // After the last message: wait (up to 30 s) for an interim result before half-closing.
  bool wait_for_interim = false;
  // Instead of half-closing: cancel the call after the last message (after `cancel_after`).
  bool cancel = false;
  absl::Duration cancel_after = absl::ZeroDuration();
  absl::Duration deadline = absl::Seconds(60);
  // Don't half-close: leave the call open until the server ends it (or the deadline).
  bool hold_open = false;
  // Called before message i is written (e.g. to hold a stream open until other work is done).
  std::function<void(size_t)> before_write;
  // Metadata of the call (e.g. {"authorization", "Bearer ..."}).
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct StreamResult {
  grpc::Status status;
  std::vector<pb::StreamingRecognizeResponse> responses;
  int interims_before_close = 0;  // interim responses received before the half-close
  bool got_final = false;
  // Every final of the stream (one per utterance with endpointing), joined in order with single
  // spaces (empty finals add nothing), and all their words.
  std::string final_transcript;
  std::vector<pb::WordInfo> final_words;
  int finals = 0;
  std::vector<std::string> final_transcripts;  // each final's own transcript
};

// First message with `config`, then one message per audio chunk.
std::vector<pb::StreamingRecognizeRequest> ConfigThenAudio(const pb::RecognitionConfig& config,
                                                           bool interim,
                                                           const std::vector<std::string>& chunks);
pb::RecognitionConfig MakeConfig(pb::AudioEncoding encoding, int rate, int channels = 1);

StreamResult RunStream(pb::StreamingAsr::Stub* stub, const StreamSpec& spec);

// A one-shot signal that streams wait on (e.g. in StreamSpec::before_write) until the test has
// checked something. So that a failed ASSERT never leaves a stream waiting (and the destructor of
// its std::async future blocking), open it from an absl::Cleanup declared after those futures.
class Gate {
 public:
  Gate() : waiter_(promise_.get_future().share()) {}
  ~Gate() { Open(); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void Open() {
    if (!open_.exchange(true)) promise_.set_value();
  }
  // Copyable; wait() on it blocks until Open().
  std::shared_future<void> waiter() const { return waiter_; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> waiter_;
  std::atomic<bool> open_{false};
};

// GET http://127.0.0.1:port/path with curl; the body ("" on failure).
std::string HttpGet(int port, const std::string& path);
// Plain-socket HTTP on 127.0.0.1:port, for the metrics listener's attack tests.
struct RawHttpReply {
  bool ok = false;  // a whole response (status line, headers, Content-Length body) arrived
  int status = 0;   // e.g. 200
  std::string body;
  absl::Duration elapsed;  // connect -> the whole response
};
// Sends `request` on a new connection and reads one response, for at most `timeout`.
RawHttpReply RawHttpRequest(int port, const std::string& request, absl::Duration timeout);
// GET `path` (HTTP/1.1, Connection: close).
RawHttpReply RawHttpGet(int port, const std::string& path, absl::Duration timeout);
// A connection that never completes its request: `trickle` sends the head of a request one
// byte at a time (TrickleByte) the way a slowloris client does; otherwise it sends nothing.
class SlowHttpClient {
 public:
  SlowHttpClient(int port, bool trickle);
  ~SlowHttpClient();
  bool connected() const { return fd_ >= 0; }
  // Sends the next byte (a trickling client); false once the server has closed the connection.
  bool TrickleByte();
  // Sends `bytes` as they are; false on error.
  bool Send(const std::string& bytes);
  // True when the server has closed the connection (reads end of file or an error) within `wait`.
  // What arrived before is read and counted in received().
  bool ClosedByServer(absl::Duration wait);
  int64_t received() const { return received_; }

 private:
  int fd_ = -1;
  bool trickle_ = false;
  size_t sent_ = 0;
  int64_t received_ = 0;
};

// A crowd of hostile HTTP peers on 127.0.0.1:port until destroyed: `trickling` connections that
// each send a byte of an endless request head every `period`, and `silent` ones that send nothing.
class SlowConnectionCrowd {
 public:
  SlowConnectionCrowd(int port, int trickling, int silent,
                      absl::Duration period = absl::Milliseconds(300));
  ~SlowConnectionCrowd();
  bool all_connected() const;

 private:
  std::vector<std::unique_ptr<SlowHttpClient>> trickling_, silent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The value of the sample `series` (e.g. `lact_streams_total{code="OK"}`) in a Prometheus text
// exposition; nullopt when absent.
std::optional<double> MetricValue(const std::string& exposition, const std::string& series);

// Polls the server's /metrics on `port` until `series` == value (or `timeout` passes); the last
// value seen (-1 when absent).
double WaitForMetric(int port, const std::string& series, double value,
                     absl::Duration timeout = absl::Seconds(5));

// Runs lact_health_probe against `address` (plus `extra_flags`, e.g. TLS); its exit code.
int RunHealthProbe(const std::string& address, const std::vector<std::string>& extra_flags = {});

std::string ReadFile(const std::string& path);

}  // namespace lact::server::testing
