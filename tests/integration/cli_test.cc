// The command line as an operator uses it: version, help, config checks with
// errors that point at file:line:column, and flags that override the file.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <regex>
#include <sstream>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

// Lines of a multi-line string, without the final empty one.
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Block-style config whose line and column numbers the error tests rely on.
// `server_line` is spliced in as line 11 (the first server's second key).
std::string configWithServerKey(const std::string& server_line) {
  return "server:\n"                        // 1
         "  address: 127.0.0.1\n"           // 2
         "  port: 0\n"                      // 3
         "  locations:\n"                   // 4
         "    - path: \"^/\"\n"             // 5
         "      upstream: backend\n"        // 6
         "upstreams:\n"                     // 7
         "  backend:\n"                     // 8
         "    servers:\n"                   // 9
         "      - path: \"127.0.0.1:9\"\n"  // 10
         "        " +
         server_line + "\n";  // 11
}

struct ErrorLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// Parses "FILE:LINE:COLUMN: message"; nullopt when stderr is not one such line.
std::optional<ErrorLocation> parseErrorLine(const std::string& err) {
  const auto all = lines(err);
  if (all.size() != 1) return std::nullopt;
  static const std::regex kPrefix(R"(^(.+):([0-9]+):([0-9]+): .+$)");
  std::smatch m;
  if (!std::regex_match(all[0], m, kPrefix)) return std::nullopt;
  return ErrorLocation{m[1], std::stoi(m[2]), std::stoi(m[3])};
}

class CliTest : public ::testing::Test {
 protected:
  ProcessResult check(const std::string& yaml) {
    config_ = dir_.write("config.yaml", yaml).string();
    return runGourmet({"--check", "-c", config_});
  }

  TempDir dir_;
  std::string config_;
};

TEST_F(CliTest, VersionPrintsNameAndExitsZero) {
  const auto r = runGourmet({"--version"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gourmet"), std::string::npos) << "stdout: " << r.out;
}

TEST_F(CliTest, HelpExitsZero) {
  const auto r = runGourmet({"--help"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty() && r.err.empty()) << "--help printed nothing";
}

TEST_F(CliTest, CheckAcceptsGoodConfigWithOneLineSummary) {
  const auto r = check(singleOriginConfig("127.0.0.1:9"));
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 1u) << "stdout: " << r.out;
  EXPECT_FALSE(out[0].empty());
}

TEST_F(CliTest, UnknownKeyIsReportedAtItsPosition) {
  const auto r = check(configWithServerKey("weigth: 1"));
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2);
  const auto loc = parseErrorLine(r.err);
  ASSERT_TRUE(loc) << "stderr is not one 'FILE:LINE:COLUMN: ' line: " << r.err;
  EXPECT_EQ(loc->file, config_);
  EXPECT_EQ(loc->line, 11);
  EXPECT_EQ(loc->column, 9) << "column of the key 'weigth'";
  EXPECT_NE(r.err.find("weigth"), std::string::npos) << r.err;
}

TEST_F(CliTest, LocationNamingUnknownUpstreamIsReported) {
  std::string yaml = singleOriginConfig("127.0.0.1:9");
  const std::string from = "upstream: backend";
  yaml.replace(yaml.find(from), from.size(), "upstream: nowhere");
  const auto r = check(yaml);
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2);
  const auto loc = parseErrorLine(r.err);
  ASSERT_TRUE(loc) << "stderr is not one 'FILE:LINE:COLUMN: ' line: " << r.err;
  EXPECT_EQ(loc->file, config_);
  // ConfigSpec::yaml() puts the first location's upstream on line 7.
  EXPECT_EQ(loc->line, 7) << yaml;
  EXPECT_TRUE(loc->column == 7 || loc->column == 17) << "column " << loc->column;
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(CliTest, InvalidRegexIsReported) {
  std::string yaml = singleOriginConfig("127.0.0.1:9");
  const std::string from = "path: \"^/\"";
  yaml.replace(yaml.find(from), from.size(), "path: \"^/(unclosed\"");
  const auto r = check(yaml);
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2);
  const auto loc = parseErrorLine(r.err);
  ASSERT_TRUE(loc) << "stderr is not one 'FILE:LINE:COLUMN: ' line: " << r.err;
  EXPECT_EQ(loc->file, config_);
  EXPECT_EQ(loc->line, 6) << yaml;
  EXPECT_TRUE(loc->column == 7 || loc->column == 13) << "column " << loc->column;
}

TEST_F(CliTest, MissingConfigFileExitsTwo) {
  const auto missing = (dir_.path() / "does-not-exist.yaml").string();
  const auto r = runGourmet({"--check", "-c", missing});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does-not-exist.yaml"), std::string::npos) << r.err;

  const auto serve = runGourmet({"-c", missing});
  ASSERT_TRUE(serve.exited) << serve.err;
  EXPECT_EQ(serve.exit_code, 2);
}

TEST_F(CliTest, ServingWithBadConfigExitsTwo) {
  config_ = dir_.write("bad.yaml", configWithServerKey("weigth: 1")).string();
  const auto r = runGourmet({"-c", config_});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(parseErrorLine(r.err)) << r.err;
}

TEST(CliWorkers, WorkersFlagOverridesConfig) {
  TestOrigin origin;
  // The config says 2; one listener per worker makes the count observable.
  GourmetProcess gourmet(singleOriginConfig(origin.address()), {"--workers", "3"});
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  EXPECT_TRUE(eventually([&] { return countListeningSockets(gourmet.port()) == 3; }))
      << "listening sockets: " << countListeningSockets(gourmet.port());
  // And the proxy still serves.
  std::string error;
  const auto r = roundTrip(gourmet.port(), getRequest("/w"), &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status, 200);
}

TEST(CliWorkers, ConfigWorkerCountIsUsedWithoutFlag) {
  TestOrigin origin;
  GourmetProcess gourmet(singleOriginConfig(origin.address()));
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  EXPECT_TRUE(eventually([&] { return countListeningSockets(gourmet.port()) == 2; }))
      << "listening sockets: " << countListeningSockets(gourmet.port());
}

TEST(CliSignals, SigtermExitsZero) {
  TestOrigin origin;
  GourmetProcess gourmet(singleOriginConfig(origin.address()));
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  gourmet.signal(SIGTERM);
  const auto status = gourmet.waitForExit(5s);
  ASSERT_TRUE(status) << "still running 5 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

TEST(CliSignals, SigtermLetsInFlightRequestFinish) {
  // --help promises that SIGTERM drains: a request already at the origin
  // still gets its response before the process exits.
  TestOrigin origin([](const Request& req) {
    Reply r = echoTarget(req);
    r.delay = 300ms;  // keeps the request in flight while the signal lands
    return r;
  });
  GourmetProcess gourmet(singleOriginConfig(origin.address()));
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  RawClient client(gourmet.port());
  ASSERT_TRUE(client.send(getRequest("/slow")));
  ASSERT_TRUE(origin.waitForRequests(1, 5s));
  gourmet.signal(SIGTERM);
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->text(), "/slow");
  EXPECT_TRUE(gourmet.waitForExit(5s)) << "still running 5 s after SIGTERM";
}

}  // namespace
}  // namespace gourmet::testing
