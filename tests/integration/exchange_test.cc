// What one exchange reports and replays: a rejected request's access log
// line and latency are its own (not the previous request's on the same
// connection, nor the host's uptime), and after a pooled connection fails
// only idempotent requests are sent again (RFC 9110 section 9.2.2).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

std::string exchangeConfig(const std::string& origin, const std::string& access_log) {
  return fmt::format(R"yaml(server:
  address: 127.0.0.1
  port: 0
  workers: 1
  access_log: "{log}"
  locations:
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    connect_timeout: 1s
    response_timeout: 2s
    servers:
      - path: "{origin}"
)yaml",
                     fmt::arg("log", access_log), fmt::arg("origin", origin));
}

class ExchangeTest : public ProxyTest {
 protected:
  void startWith(Handler handler) {
    log_path_ = (dir_.path() / "access.log").string();
    const std::string path = log_path_;
    ASSERT_NO_FATAL_FAILURE(start(std::move(handler), [path](const std::string& origin) {
      return exchangeConfig(origin, path);
    }));
  }

  std::vector<std::string> logLines() const {
    std::ifstream in(log_path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Until the access log has `n` lines (the writer thread batches).
  std::vector<std::string> waitForLogLines(size_t n) const {
    std::vector<std::string> lines;
    eventually([&] { return (lines = logLines()).size() >= n; }, 5s);
    return lines;
  }

  // worker 0's p50 in milliseconds, from SIGUSR2.
  std::optional<double> p50Ms() {
    const size_t before = gourmet_->stderrLines("worker 0: open ").size();
    gourmet_->signal(SIGUSR2);
    if (!gourmet_->waitForStderrLines("worker 0: open ", before + 1, 5s)) return std::nullopt;
    const std::string line = gourmet_->stderrLines("worker 0: open ").at(before);
    const size_t at = line.find(", p50 ");
    if (at == std::string::npos) return std::nullopt;
    return std::strtod(line.c_str() + at + 6, nullptr);
  }

  TempDir dir_;
  std::string log_path_;
};

// A malformed request after a good one on the same connection: its line
// names neither the earlier request's target nor its start time.
TEST_F(ExchangeTest, RejectedRequestLogsItsOwnLine) {
  ASSERT_NO_FATAL_FAILURE(startWith(echoTarget));
  RawClient client(port(), 5s);
  ASSERT_TRUE(client.send(getRequest("/first-request")));
  const auto first = client.readFinalResponse();
  ASSERT_TRUE(first && first->status == 200) << client.error();
  // A client that comes back much later (the behaviour under test): a line
  // timed from the first request would show this gap.
  std::this_thread::sleep_for(700ms);
  ASSERT_TRUE(client.send("GET /second HTTP/1.1\r\nHost: test.local\r\nBad Header\r\n\r\n"));
  const auto rejected = client.readFinalResponse();
  ASSERT_TRUE(rejected) << client.error();
  EXPECT_EQ(rejected->status, 400);

  const auto lines = waitForLogLines(2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"GET /first-request HTTP/1.1\" 200"), std::string::npos) << lines[0];
  const std::string& line = lines[1];
  EXPECT_NE(line.find("\" 400 "), std::string::npos) << line;
  EXPECT_EQ(line.find("/first-request"), std::string::npos) << "another request's target: " << line;
  EXPECT_NE(line.find(" bad_request"), std::string::npos) << line;
  // "... 400 BYTES "-" DURATION_MS REASON": the duration is this request's.
  double duration_ms = -1;
  const size_t quote = line.rfind("\" ");
  ASSERT_NE(quote, std::string::npos) << line;
  ASSERT_EQ(std::sscanf(line.c_str() + quote + 2, "%lf", &duration_ms), 1) << line;
  EXPECT_LT(duration_ms, 500) << "timed from the earlier request: " << line;
}

// The first request a fresh gourmet sees is malformed: the latency it
// records is the request's, not the time since the host booted.
TEST_F(ExchangeTest, RejectedRequestLatencyIsItsOwn) {
  ASSERT_NO_FATAL_FAILURE(startWith(echoTarget));
  const auto r = send(
      "GET / HTTP/1.1\r\nHost: test.local\r\nContent-Length: 1\r\n"
      "Content-Length: 2\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const auto lines = waitForLogLines(1);
  ASSERT_EQ(lines.size(), 1u);
  const auto p50 = p50Ms();
  ASSERT_TRUE(p50) << gourmet_->stderrText();
  EXPECT_LT(*p50, 1000.0) << gourmet_->stderrText();
}

// The origin keeps the first connection alive after /warm, then reads the
// next request on it and closes without a word: what a server that timed
// out an idle keep-alive connection does while gourmet reuses it.
Reply dropSecondRequest(const Request& request) {
  Reply reply = echoTarget(request);
  if (request.connection_id == 1 && request.index_on_connection == 1) {
    reply.close_without_response = true;
  }
  return reply;
}

TEST_F(ExchangeTest, PostIsNotReplayedAfterPooledConnectionFails) {
  ASSERT_NO_FATAL_FAILURE(startWith(dropSecondRequest));
  ASSERT_TRUE(send(getRequest("/warm")));
  // An empty POST: no body byte was sent, and still it must not be repeated.
  const auto r = send(buildRequest("POST", "/submit", {{"Host", "test.local"}}, ""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->text().find("upstream_reset"), std::string::npos) << r->text();
  size_t posts = 0;
  for (const Request& q : origin_->requests()) posts += q.method == "POST";
  EXPECT_EQ(posts, 1u) << "a POST was sent twice";
}

TEST_F(ExchangeTest, PostWithBodyIsNotReplayedEither) {
  ASSERT_NO_FATAL_FAILURE(startWith(dropSecondRequest));
  ASSERT_TRUE(send(getRequest("/warm")));
  const auto r = send(buildRequest("PATCH", "/item", {{"Host", "test.local"}}, "a=1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(origin_->requestCount(), 2u);
}

TEST_F(ExchangeTest, GetIsReplayedOnceOnFreshConnection) {
  ASSERT_NO_FATAL_FAILURE(startWith(dropSecondRequest));
  ASSERT_TRUE(send(getRequest("/warm")));
  const auto r = send(getRequest("/again"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->text(), "/again");
  const auto requests = origin_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].target, "/again");
  EXPECT_EQ(requests[2].connection_id, 2) << "replayed on a fresh connection";
}

}  // namespace
}  // namespace gourmet::testing
