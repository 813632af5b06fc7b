// server/auth: the tokens-file parser, SHA-256, and the bearer-token check. Expected digests come
// from the `sha256sum` command line (the recipe docs/server.md gives), not from the code under
// test.
#include "server/auth.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lact::server {
namespace {

// `printf %s TEXT | sha256sum`, its first field ("" on failure).
std::string Sha256sum(const std::string& text) {
  // The test strings hold no single quotes.
  FILE* p = popen(absl::StrCat("printf %s '", text, "' | sha256sum").c_str(), "r");
  if (p == nullptr) return "";
  char buf[256] = {0};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  std::string out(buf, n);
  return out.substr(0, out.find(' '));
}

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

TEST(AuthTest, Sha256MatchesSha256sum) {
  for (const std::string text : {"", "abc", "a token with spaces", "tok-\xc3\xa9-utf8"}) {
    const std::string expected = Sha256sum(text);
    ASSERT_EQ(expected.size(), 64u) << "sha256sum is needed";
    EXPECT_EQ(DigestToHex(Sha256(text)), expected) << text;
  }
}

TEST(AuthTest, ParsesDigestsCommentsBlankLinesAndSha256sumOutput) {
  const std::string a = Sha256sum("alpha"), b = Sha256sum("beta"), c = Sha256sum("gamma");
  const std::string text =
      absl::StrCat("# accepted tokens\n\n", a, "\n   ", b, "  -   # sha256sum output, indented\r\n",
                   absl::AsciiStrToUpper(c), "\t# upper case\n# ", Sha256sum("delta"), "\n");
  auto auth = TokenAuthenticator::Parse(text, "tokens.txt");
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->size(), 3u);
  for (const char* token : {"alpha", "beta", "gamma"}) {
    EXPECT_TRUE(auth->CheckAuthorization(absl::StrCat("Bearer ", token)).ok()) << token;
  }
  // Commented out.
  EXPECT_EQ(auth->CheckAuthorization("Bearer delta").code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, MalformedFilesNameTheFileAndLine) {
  struct Case {
    std::string text;
    std::string message_part;
  };
  const std::string good = Sha256sum("alpha");
  for (const Case& c : std::vector<Case>{
           {absl::StrCat(good, "\nnot-a-digest\n"), "tokens.txt line 2: expected a SHA-256 digest"},
           {absl::StrCat(good.substr(1), "\n"), "tokens.txt line 1"},                 // 63 digits
           {absl::StrCat(good, "0\n"), "tokens.txt line 1"},                          // 65 digits
           {absl::StrCat("\n\n", std::string(63, '0'), "g\n"), "tokens.txt line 3"},  // not hex
           {"alpha\n", "tokens.txt line 1"},                                          // a raw token
           {"", "holds no token digest"},
           {"# nothing\n\n  \n", "holds no token digest"},
       }) {
    auto auth = TokenAuthenticator::Parse(c.text, "tokens.txt");
    ASSERT_FALSE(auth.ok()) << c.text;
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(auth.status().message(), c.message_part)) << auth.status();
    // A raw token must not be echoed back into a log.
    EXPECT_FALSE(absl::StrContains(auth.status().message(), "alpha")) << auth.status();
  }
}

TEST(AuthTest, FromFileReadsAndNamesAMissingFile) {
  auto missing = TokenAuthenticator::FromFile("/nonexistent/lact/tokens.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(
      absl::StrContains(missing.status().message(), "/nonexistent/lact/tokens.txt: cannot read it"))
      << missing.status();
  char path[] = "/tmp/lact_auth_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string line = Sha256sum("s3cret") + "  -\n";
  ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  close(fd);
  auto auth = TokenAuthenticator::FromFile(path);
  std::remove(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(auth->CheckAuthorization("Bearer s3cret").ok());
}

TEST(AuthTest, AuthorizationValues) {
  auto auth = TokenAuthenticator::Parse(Sha256sum("s3cret") + "\n", "t");
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE(auth->CheckAuthorization("Bearer s3cret").ok());
  EXPECT_TRUE(auth->CheckAuthorization("bearer s3cret").ok());    // the scheme is case-insensitive
  EXPECT_TRUE(auth->CheckAuthorization("BEARER  s3cret ").ok());  // surrounding spaces
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer  ", "Bearer S3cret", "Bearer s3cre",
                          "Bearer s3crett", "Basic s3cret", "s3cret", "Bearers3cret"}) {
    const absl::Status s = auth->CheckAuthorization(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << "'" << bad << "'";
    EXPECT_FALSE(absl::StrContains(s.message(), "s3cret")) << s;
  }
}

TEST(AuthTest, MetadataNeedsExactlyOneAuthorizationEntry) {
  auto auth = TokenAuthenticator::Parse(Sha256sum("s3cret") + "\n", "t");
  ASSERT_TRUE(auth.ok());
  const std::string good = "Bearer s3cret", bad = "Bearer nope", key = "authorization",
                    other = "x-other";
  Metadata none;
  none.emplace(other, good);
  EXPECT_EQ(auth->CheckMetadata(none).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(auth->CheckMetadata(none).message(), "missing credentials"));
  Metadata one;
  one.emplace(key, good);
  EXPECT_TRUE(auth->CheckMetadata(one).ok());
  Metadata wrong;
  wrong.emplace(key, bad);
  EXPECT_EQ(auth->CheckMetadata(wrong).code(), absl::StatusCode::kUnauthenticated);
  Metadata two;
  two.emplace(key, good);
  two.emplace(key, bad);
  EXPECT_EQ(auth->CheckMetadata(two).code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, ManyDigestsAnyMatches) {
  std::string text;
  for (int i = 0; i < 50; ++i)
    absl::StrAppend(&text, DigestToHex(Sha256(absl::StrCat("token-", i))), "\n");
  auto auth = TokenAuthenticator::Parse(text, "t");
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->size(), 50u);
  EXPECT_TRUE(auth->CheckAuthorization("Bearer token-0").ok());
  EXPECT_TRUE(auth->CheckAuthorization("Bearer token-49").ok());
  EXPECT_FALSE(auth->CheckAuthorization("Bearer token-50").ok());
}

}  // namespace
}  // namespace lact::server
