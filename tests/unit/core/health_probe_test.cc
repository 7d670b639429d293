#include "core/health_probe.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/unit/core/health_origin.h"

namespace gourmet::core {
namespace {

using health_test::HealthOrigin;
using health_test::RefusingPort;
using health_test::TestLoop;
using std::chrono_literals::operator""ms;

class HealthProbeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    origin_.close();
    EXPECT_EQ(loop_.close(), 0) << "a handle was left open";
  }

  ProbeSpec specFor(const sockaddr_storage& address, std::string host = "") {
    ProbeSpec spec;
    spec.address = address;
    spec.request = healthCheckRequest(
        "/healthz", host.empty() ? formatSockaddr(address) : std::string_view(host));
    spec.timeout = 2000ms;
    return spec;
  }

  // Runs one probe to its report.
  ProbeResult probe(const ProbeSpec& spec) {
    std::optional<ProbeResult> result;
    HealthProbe::start(&loop_.loop, spec, [&](const ProbeResult& r) { result = r; });
    EXPECT_TRUE(loop_.runUntil([&] { return result.has_value(); }));
    return result.value_or(ProbeResult{ProbeOutcome::kInvalidResponse, -1, 0});
  }

  TestLoop loop_;
  HealthOrigin origin_{&loop_.loop};
};

TEST_F(HealthProbeTest, PassesOn200AndSendsTheCheckRequest) {
  ProbeResult result = probe(specFor(origin_.address));
  EXPECT_TRUE(result.passed()) << result.reason();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(origin_.last_request,
            "GET /healthz HTTP/1.1\r\nHost: " + origin_.addressText() +
                "\r\nUser-Agent: gourmet-health-check\r\nConnection: close\r\n\r\n");
}

TEST_F(HealthProbeTest, SendsTheConfiguredHost) {
  EXPECT_TRUE(probe(specFor(origin_.address, "web.internal")).passed());
  EXPECT_NE(origin_.last_request.find("\r\nHost: web.internal\r\n"), std::string::npos)
      << origin_.last_request;
}

TEST_F(HealthProbeTest, FailsOnAStatusOutsideTheExpectedRange) {
  origin_.status = 500;
  ProbeResult result = probe(specFor(origin_.address));
  EXPECT_EQ(result.outcome, ProbeOutcome::kStatus);
  EXPECT_EQ(result.reason(), "status 500");
}

TEST_F(HealthProbeTest, ExpectRangeIsInclusive) {
  ProbeSpec spec = specFor(origin_.address);
  spec.expect_min = 204;
  spec.expect_max = 204;
  origin_.script = {"HTTP/1.1 204 No Content\r\n\r\n", HealthOrigin::statusResponse(200),
                    HealthOrigin::statusResponse(205)};
  EXPECT_TRUE(probe(spec).passed());
  EXPECT_EQ(probe(spec).reason(), "status 200");
  EXPECT_EQ(probe(spec).reason(), "status 205");
}

TEST_F(HealthProbeTest, SkipsInterimResponses) {
  origin_.script = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"};
  ProbeResult result = probe(specFor(origin_.address));
  EXPECT_EQ(result.outcome, ProbeOutcome::kStatus);
  EXPECT_EQ(result.status, 503);
}

TEST_F(HealthProbeTest, ReportsAtTheHeadWithoutWaitingForTheBody) {
  // Close-delimited body that never ends: the head is enough.
  origin_.mode = HealthOrigin::Mode::kRespond;
  origin_.script = {"HTTP/1.1 200 OK\r\n\r\npartial body"};
  EXPECT_TRUE(probe(specFor(origin_.address)).passed());
}

TEST_F(HealthProbeTest, InvalidResponsesFail) {
  for (const char* bytes :
       {"garbage\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 101 Switching\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"}) {
    origin_.script = {bytes};
    ProbeResult result = probe(specFor(origin_.address));
    EXPECT_EQ(result.reason(), "invalid response") << bytes;
  }
}

TEST_F(HealthProbeTest, RefusedWhenNothingListens) {
  RefusingPort port;
  ProbeResult result = probe(specFor(port.address));
  EXPECT_EQ(result.outcome, ProbeOutcome::kConnectRefused);
  EXPECT_EQ(result.reason(), "connect refused");
}

TEST_F(HealthProbeTest, ResetWhenTheServerClosesBeforeTheHead) {
  origin_.mode = HealthOrigin::Mode::kClose;
  ProbeResult result = probe(specFor(origin_.address));
  EXPECT_EQ(result.reason(), "reset");
}

TEST_F(HealthProbeTest, TimesOutWhenTheServerNeverAnswers) {
  origin_.mode = HealthOrigin::Mode::kSilent;
  ProbeSpec spec = specFor(origin_.address);
  spec.timeout = 50ms;
  uv_update_time(&loop_.loop);
  const uint64_t started = uv_now(&loop_.loop);
  ProbeResult result = probe(spec);
  EXPECT_EQ(result.reason(), "timeout");
  EXPECT_GE(uv_now(&loop_.loop) - started, 50u);
  EXPECT_EQ(origin_.requests, 1);
  // The probe closed its connection: the origin sees the end.
  EXPECT_TRUE(loop_.runUntil([&] { return origin_.client_eofs == 1; }));
}

TEST_F(HealthProbeTest, CancelWhileConnectingReportsNothing) {
  bool reported = false;
  bool closed = false;
  HealthProbe* probe = HealthProbe::start(&loop_.loop, specFor(origin_.address),
                                          [&](const ProbeResult&) { reported = true; });
  probe->cancel([&] { closed = true; });
  EXPECT_TRUE(loop_.runUntil([&] { return closed; }));
  loop_.runFor(20ms);
  EXPECT_FALSE(reported);
}

TEST_F(HealthProbeTest, CancelWhileAwaitingTheHeadClosesTheConnection) {
  origin_.mode = HealthOrigin::Mode::kSilent;
  bool reported = false;
  bool closed = false;
  HealthProbe* probe = HealthProbe::start(&loop_.loop, specFor(origin_.address),
                                          [&](const ProbeResult&) { reported = true; });
  ASSERT_TRUE(loop_.runUntil([&] { return origin_.requests == 1; }));
  probe->cancel([&] { closed = true; });
  EXPECT_TRUE(loop_.runUntil([&] { return closed && origin_.client_eofs == 1; }));
  EXPECT_FALSE(reported);
}

TEST(ProbeResultTest, ReasonsAreShort) {
  EXPECT_EQ((ProbeResult{ProbeOutcome::kConnectFailed, 0, UV_ENETUNREACH}.reason()),
            "connect failed (ENETUNREACH)");
  EXPECT_EQ((ProbeResult{ProbeOutcome::kTimeout, 0, 0}.reason()), "timeout");
}

}  // namespace
}  // namespace gourmet::core
