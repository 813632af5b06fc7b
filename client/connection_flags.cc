#include "client/connection_flags.h"

#include <fstream>
#include <sstream>
#include <string>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

// The flags (hand layout: the help text starts on the flag's line).
// clang-format off
ABSL_FLAG(bool, use_ssl, false, "Connect with TLS (system root certificates unless --ssl_root_cert)");
ABSL_FLAG(std::string, ssl_root_cert, "", "PEM root certificates that sign the server's certificate "
          "(implies --use_ssl)");
ABSL_FLAG(std::string, ssl_cert, "", "PEM client certificate, for a server with mutual TLS "
          "(lact_server --tls_client_ca); needs --ssl_key, implies --use_ssl");
ABSL_FLAG(std::string, ssl_key, "", "PEM private key of --ssl_cert");
ABSL_FLAG(std::string, ssl_target_name, "", "Name the server certificate must carry when it is not "
          "the host connected to (e.g. 127.0.0.1 with a certificate for asr.example.com)");
// clang-format on

namespace lact::eval {

absl::StatusOr<ClientConnection> ClientConnectionFromFlags() {
  ClientConnection c;
  c.credentials = grpc::InsecureChannelCredentials();
  const std::string root = absl::GetFlag(FLAGS_ssl_root_cert);
  const std::string cert = absl::GetFlag(FLAGS_ssl_cert), key = absl::GetFlag(FLAGS_ssl_key);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--ssl_cert and --ssl_key go together (mutual TLS)");
  }
  c.tls = absl::GetFlag(FLAGS_use_ssl) || !root.empty() || !cert.empty();
  if (!c.tls) return c;
  grpc::SslCredentialsOptions ssl;
  for (const auto& [flag, path, out] : {std::tuple<const char*, const std::string&, std::string*>{
                                            "--ssl_root_cert", root, &ssl.pem_root_certs},
                                        {"--ssl_cert", cert, &ssl.pem_cert_chain},
                                        {"--ssl_key", key, &ssl.pem_private_key}}) {
    if (path.empty()) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    if (in) text << in.rdbuf();
    if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": cannot read it"));
    *out = text.str();
  }
  c.credentials = grpc::SslCredentials(ssl);
  if (!absl::GetFlag(FLAGS_ssl_target_name).empty()) {
    c.args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_ssl_target_name));
  }
  return c;
}

}  // namespace lact::eval
