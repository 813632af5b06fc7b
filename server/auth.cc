#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/flag_file.h"
#include "server/status_mapping.h"

namespace lact::server {

namespace {

constexpr absl::string_view kBearer = "bearer ";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseHexDigest(absl::string_view hex, Sha256Digest* out) {
  if (hex.size() != 2 * out->size()) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

Sha256Digest Sha256(absl::string_view data) {
  Sha256Digest digest{};
  unsigned int length = 0;
  // EVP_Digest is one-shot and thread-safe; it cannot fail for SHA-256 short of memory exhaustion.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    digest.fill(0);
  }
  return digest;
}

std::string DigestToHex(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::Parse(absl::string_view text,
                                                             absl::string_view source) {
  TokenAuthenticator auth;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos)
      line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    // The first field is the digest; `sha256sum` output ("<hex>  -") is accepted as it is.
    const absl::string_view field = line.substr(0, line.find_first_of(" \t"));
    Sha256Digest digest;
    if (!ParseHexDigest(field, &digest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth_tokens_file ", source, " line ", line_number,
                       ": expected a SHA-256 digest (64 hex digits, e.g. from `printf %s "
                       "\"$TOKEN\" | sha256sum`), got ",
                       field.size(), " characters"));
    }
    auth.digests_.push_back(digest);
  }
  if (auth.digests_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth_tokens_file ", source, " holds no token digest: every call would be refused"));
  }
  return auth;
}

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::FromFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFlagFile("--auth_tokens_file", path);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

absl::Status TokenAuthenticator::CheckAuthorization(absl::string_view authorization) const {
  if (authorization.size() <= kBearer.size() ||
      !absl::EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return absl::UnauthenticatedError("the authorization metadata must be 'Bearer <token>'");
  }
  const absl::string_view token = absl::StripAsciiWhitespace(authorization.substr(kBearer.size()));
  const Sha256Digest presented = Sha256(token);
  // Every digest is compared, whatever matched before: the time taken does not depend on which
  // (or whether any) entry matches, nor on how many leading bytes agree.
  int matches = 0;
  for (const Sha256Digest& d : digests_) {
    matches |= CRYPTO_memcmp(presented.data(), d.data(), d.size()) == 0;
  }
  if (matches == 0 || token.empty()) return absl::UnauthenticatedError("invalid token");
  return absl::OkStatus();
}

absl::Status TokenAuthenticator::CheckMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  const auto range = metadata.equal_range("authorization");
  const auto count = std::distance(range.first, range.second);
  if (count == 0) {
    return absl::UnauthenticatedError(
        "missing credentials: this server requires 'authorization: Bearer <token>' metadata");
  }
  if (count > 1) return absl::UnauthenticatedError("more than one authorization metadata entry");
  const grpc::string_ref value = range.first->second;
  return CheckAuthorization(absl::string_view(value.data(), value.size()));
}

grpc::Status TokenAuthenticator::Authenticate(const grpc::ServerContextBase& context) const {
  return ToGrpcStatus(CheckMetadata(context.client_metadata()));
}

}  // namespace lact::server
