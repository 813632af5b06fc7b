// Bearer-token authentication of the lact.asr.v1.StreamingAsr calls (--auth_tokens_file).
//
// The tokens file holds one SHA-256 digest per line, as 64 hex digits (what
// `printf %s "$TOKEN" | sha256sum` prints; anything after the digest on the line, such as
// sha256sum's " -", is ignored). '#' starts a comment; blank lines are skipped. The server never
// sees or stores the tokens themselves.
//
// A call is authenticated when it carries exactly one `authorization: Bearer <token>` metadata
// entry whose SHA-256 is in the file. The digest of the presented token is compared with every
// digest of the file in constant time (CRYPTO_memcmp, no early exit), so the timing says nothing
// about how close a guess was. The check runs at the start of each ASR handler, before admission
// and before any request message is read: an unauthenticated call never reaches the decoder or
// the model. The grpc.health.v1 and reflection services are not checked (Kubernetes probes).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lact::server {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 of `data` (OpenSSL libcrypto).
Sha256Digest Sha256(absl::string_view data);
// Lower-case hex of a digest (64 characters).
std::string DigestToHex(const Sha256Digest& digest);

class TokenAuthenticator {
 public:
  // Parses a tokens file's text. `source` (the file name) is named in errors, with the line.
  // An error for a malformed line, and for a file without any digest (which would lock every
  // client out: say so rather than start).
  static absl::StatusOr<TokenAuthenticator> Parse(absl::string_view text, absl::string_view source);
  // Reads and parses `path`; an error naming the file when it cannot be read.
  static absl::StatusOr<TokenAuthenticator> FromFile(const std::string& path);

  // OK when `authorization` (the metadata value) is "Bearer <token>" (scheme case-insensitive)
  // and SHA-256(token) is one of the digests; UNAUTHENTICATED otherwise.
  absl::Status CheckAuthorization(absl::string_view authorization) const;
  // OK when `metadata` (a call's client metadata) holds exactly one `authorization` entry and
  // CheckAuthorization accepts it; UNAUTHENTICATED otherwise.
  absl::Status CheckMetadata(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  // The same for a server call, as a gRPC status.
  grpc::Status Authenticate(const grpc::ServerContextBase& context) const;

  size_t size() const { return digests_.size(); }

 private:
  std::vector<Sha256Digest> digests_;
};

}  // namespace lact::server
