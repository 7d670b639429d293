// Logging never blocks a worker and never floods: lines about an upstream
// that refuses every connection are rate-limited with a count, and a stderr
// nobody reads costs dropped (and later counted) lines, not a stalled proxy.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

// "1,204" -> 1204.
uint64_t parseGrouped(std::string_view digits) {
  uint64_t value = 0;
  for (const char c : digits) {
    if (c >= '0' && c <= '9') value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

class LoggingTest : public ProxyTest {
 protected:
  void TearDown() override {
    if (gourmet_) gourmet_->releaseStderr();  // a failed test must not wait out the hold
    ProxyTest::TearDown();
  }
};

TEST_F(LoggingTest, ARefusingUpstreamGivesAFewCountedLinesNotOnePerRequest) {
  constexpr int kRequests = 2000;
  RefusingPort refusing;
  ConfigSpec spec;
  // Every request must reach the refusing port: no ejection.
  spec.upstreams = {UpstreamSpec{.servers = {{refusing.address(), 1}},
                                 .extra = "outlier_detection: {consecutive_failures: 0}\n"}};
  ASSERT_NO_FATAL_FAILURE(startGourmet(spec.yaml()));

  auto client = std::make_unique<RawClient>(port());
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(client->send(getRequest("/x"))) << client->error();
    const auto response = client->readFinalResponse();
    ASSERT_TRUE(response) << "request " << i << ": " << client->error();
    ASSERT_EQ(response->status, 502);
    if (response->header("connection").value_or("") == "close") {
      client = std::make_unique<RawClient>(port());
    }
  }

  // Each worker writes the first line of a second and counts the rest; the
  // summary comes once that second is over. Every request is accounted for:
  // written lines plus the counts of the summaries (which include the line
  // written first).
  const std::string line_needle =
      fmt::format("] upstream backend {}: upstream_connect_refused (GET /x)", refusing.address());
  const std::string summary_needle =
      fmt::format("] upstream_connect_refused for backend/{}: ", refusing.address());
  uint64_t accounted = 0;
  const bool all_accounted = eventually(
      [&] {
        const auto lines = gourmet_->stderrLines(line_needle);
        const auto summaries = gourmet_->stderrLines(summary_needle);
        uint64_t counted = 0;
        for (const std::string& summary : summaries) {
          const size_t at = summary.find(summary_needle) + summary_needle.size();
          counted += parseGrouped(summary.substr(at, summary.find(' ', at) - at));
        }
        accounted = lines.size() + counted - summaries.size();
        return accounted >= kRequests;
      },
      10s);
  EXPECT_TRUE(all_accounted) << accounted << " of " << kRequests << " accounted for";
  EXPECT_EQ(accounted, uint64_t{kRequests});
  const auto lines = gourmet_->stderrLines("upstream_connect_refused");
  EXPECT_LT(lines.size(), 40u) << "one line per request is a flood, not a log";
  EXPECT_FALSE(gourmet_->stderrLines(" times in the last second").empty());

  // And it goes on serving.
  const auto after = send(getRequest("/x"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 502);
}

TEST_F(LoggingTest, AStderrNobodyReadsDoesNotStallTheWorkers) {
  // --log-level debug: every malformed request logs a line (~90 bytes), so
  // 5,000 of them are far more than the 64 KiB pipe holds. Nobody reads the
  // pipe meanwhile: a worker that wrote stderr itself would block in
  // write(2) after some 700 requests and every later one would time out.
  constexpr int kRequests = 5000;
  ASSERT_NO_FATAL_FAILURE(start(echoTarget, singleOriginConfig, {"--log-level", "debug"}));
  gourmet_->holdStderr(60s);
  for (int i = 0; i < kRequests; ++i) {
    RawClient client(port(), 2s);
    ASSERT_TRUE(client.send("NOT-HTTP\r\n\r\n")) << "request " << i << ": " << client.error();
    const auto response = client.readFinalResponse();
    ASSERT_TRUE(response) << "request " << i << " got no answer in 2 s: " << client.error();
    ASSERT_EQ(response->status, 400);
  }
  const auto served = send(getRequest("/still-serving"));
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);

  // Once the pipe is read again, the lines that did not fit are counted.
  gourmet_->releaseStderr();
  EXPECT_TRUE(gourmet_->waitForStderr("log lines dropped: stderr was not keeping up", 10s))
      << gourmet_->describe();
}

}  // namespace
}  // namespace gourmet::testing
