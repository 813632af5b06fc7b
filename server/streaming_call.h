// One StreamingRecognize call, in named steps:
//   reader (the RPC thread): 1. the config message -> 3. audio messages -> half-close / cancel
//                            (each message and the half-close: StreamRequestHandler)
//   writer (its own thread): 2. waits for new results -> interim responses -> the final response
//   4. the reader waits for the writer (cancelling one that is stuck), then the call ends with
//      the reader's error, else the writer's status.
#pragma once

#include <memory>
#include <optional>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "lact/asr/v1/asr.grpc.pb.h"
#include "server/call_registry.h"
#include "server/service_context.h"
#include "server/stream_request_handler.h"

namespace lact::server {

struct SessionMessage;

class StreamingCall {
 public:
  using Stream = grpc::ServerReaderWriter<lact::asr::v1::StreamingRecognizeResponse,
                                          lact::asr::v1::StreamingRecognizeRequest>;
  // `call` is admitted; Run finishes it in the registry.
  StreamingCall(const ServiceContext& service, std::shared_ptr<Call> call,
                grpc::ServerContext* context, Stream* stream);

  // Runs the call to its end; the status to send.
  grpc::Status Run();

 private:
  // Reads the next message; the watchdog stops the call if the client sends none for
  // --stream_idle_timeout_s.
  bool Read(lact::asr::v1::StreamingRecognizeRequest* request);
  // Step 1: the config message starts the session. nullopt to go on, else the call's status.
  std::optional<grpc::Status> ReadConfig();
  void LogStart() const;
  // Step 2, on the writer thread.
  void WriterLoop();
  // Sends the response for `m` (a result or a speech event); false when the client stopped
  // reading.
  bool WriteMessage(const SessionMessage& m);
  // Step 3: audio until the half-close; the reader's status.
  absl::Status ReadAudio();
  // Step 4.
  void AwaitWriter();

  const ServiceContext& service_;
  std::shared_ptr<Call> call_;
  grpc::ServerContext* context_;
  Stream* stream_;
  CallGuard guard_;
  StreamRequestHandler handler_;
  std::shared_ptr<StreamSession> session_;  // started by the config message
  bool interim_ = false;
  bool word_times_ = false;
  bool word_confidence_ = false;
  absl::Status writer_status_;  // written by the writer before writer_done_
  absl::Notification writer_done_;
};

}  // namespace lact::server
