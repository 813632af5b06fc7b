// The gRPC listener's credentials: plaintext, TLS (--tls_cert + --tls_key) or mutual TLS
// (+ --tls_client_ca: every client must present a certificate signed by one of those CAs).
//
// The PEM files are read and checked with OpenSSL before the server starts, so a wrong file is
// one clear startup error naming the flag and the file (not a listener that fails to start, or
// handshakes that fail later): the certificate file must hold at least one certificate, the key
// file an unencrypted private key that matches the first certificate, and the client CA file at
// least one certificate.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"

namespace lact::server {

struct TlsFiles {
  std::string cert;       // PEM: the server certificate (then its intermediates, if any)
  std::string key;        // PEM: the certificate's private key (unencrypted)
  std::string client_ca;  // PEM: CAs that sign client certificates; set: mutual TLS

  bool enabled() const { return !cert.empty(); }
  bool mutual() const { return !client_ca.empty(); }
};

// InsecureServerCredentials when `files` is empty; SslServerCredentials otherwise.
// InvalidArgument naming the flag and the file when a file is unreadable or wrong.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> LoadServerCredentials(
    const TlsFiles& files);

}  // namespace lact::server
