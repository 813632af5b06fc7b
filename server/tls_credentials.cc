#include "server/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <grpcpp/security/server_credentials.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/flag_file.h"

namespace lact::server {

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// OpenSSL's error queue as text (and cleared), for the end of an error message.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "" : absl::StrCat(" (", out, ")");
}

absl::StatusOr<std::string> ReadPemFile(const char* flag, const std::string& path) {
  absl::StatusOr<std::string> data = ReadFlagFile(flag, path);
  if (!data.ok()) return data.status();
  if (data->empty())
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": the file is empty"));
  return data;
}

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates of a PEM text, first one returned (nullptr when there is none). `count` gets
// how many were read.
X509Ptr ReadCertificates(const std::string& pem, int* count) {
  *count = 0;
  BioPtr bio = MemBio(pem);
  X509Ptr first;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (*count == 0)
      first.reset(cert);
    else
      X509_free(cert);
    ++*count;
  }
  ERR_clear_error();  // the loop ends with a "no start line" error: expected
  return first;
}

// No passphrase prompt on the terminal for an encrypted key: fail instead.
int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> LoadServerCredentials(
    const TlsFiles& files) {
  if (!files.enabled()) {
    if (!files.key.empty() || files.mutual()) {
      return absl::InvalidArgumentError("--tls_key and --tls_client_ca need --tls_cert");
    }
    return grpc::InsecureServerCredentials();
  }
  if (files.key.empty()) return absl::InvalidArgumentError("--tls_cert needs --tls_key");
  ERR_clear_error();

  auto cert_pem = ReadPemFile("--tls_cert", files.cert);
  if (!cert_pem.ok()) return cert_pem.status();
  int certs = 0;
  X509Ptr cert = ReadCertificates(*cert_pem, &certs);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert ", files.cert,
                     ": no PEM certificate in it (expected '-----BEGIN CERTIFICATE-----')"));
  }

  auto key_pem = ReadPemFile("--tls_key", files.key);
  if (!key_pem.ok()) return key_pem.status();
  PkeyPtr key;
  {
    BioPtr bio = MemBio(*key_pem);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_key ", files.key, ": no unencrypted PEM private key in it", OpenSslErrors()));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--tls_key ", files.key,
                                                   " does not match the certificate of --tls_cert ",
                                                   files.cert, OpenSslErrors()));
  }

  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (files.mutual()) {
    auto ca_pem = ReadPemFile("--tls_client_ca", files.client_ca);
    if (!ca_pem.ok()) return ca_pem.status();
    int cas = 0;
    if (ReadCertificates(*ca_pem, &cas) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_client_ca ", files.client_ca, ": no PEM certificate in it"));
    }
    options.pem_root_certs = *ca_pem;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  options.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  ERR_clear_error();
  return grpc::SslServerCredentials(options);
}

}  // namespace lact::server
