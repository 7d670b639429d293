// Clients that do not read: a pipelined flood that never reads its
// responses, a Connection: close download nobody takes, a keep-alive
// response whose tail waits for a paused reader, and a reader that pauses
// longer than the upstream's response_timeout. gourmet's memory stays
// bounded, a client that takes nothing is closed after client_send_timeout,
// and a slow reader is never blamed on the upstream.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

Reply generated(uint64_t size) {
  Reply r;
  r.chunk_size = 64 * 1024;
  r.generated_body = size;
  return r;
}

// One worker, so the counters and pools seen are the proxy's.
std::string slowClientConfig(const std::string& origin, std::string_view server_extra,
                             std::string_view upstream_extra = "") {
  return fmt::format(R"yaml(server:
  address: 127.0.0.1
  port: 0
  workers: 1
{server_extra}  locations:
    - path: "^/known"
      upstream: backend
upstreams:
  backend:
    connect_timeout: 1s
{upstream_extra}    servers:
      - path: "{origin}"
)yaml",
                     fmt::arg("server_extra", server_extra),
                     fmt::arg("upstream_extra", upstream_extra), fmt::arg("origin", origin));
}

// Writes as much of `bytes` as the socket takes until it has taken nothing
// for `quiet` (the peer stopped reading) or all is sent. Returns the count.
size_t sendUntilStalled(int fd, std::string_view bytes, Millis quiet) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;  // stalled
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  return sent;
}

class SlowClientTest : public ProxyTest {
 protected:
  // worker 0's "open N" from SIGUSR2 (one worker).
  std::optional<unsigned> openConnections() {
    const size_t before = gourmet_->stderrLines("worker 0: open ").size();
    gourmet_->signal(SIGUSR2);
    if (!gourmet_->waitForStderrLines("worker 0: open ", before + 1, 5s)) return std::nullopt;
    const std::string line = gourmet_->stderrLines("worker 0: open ").at(before);
    unsigned open = 0;
    if (std::sscanf(line.c_str() + line.find("worker 0: open "), "worker 0: open %u", &open) != 1) {
      return std::nullopt;
    }
    return open;
  }
};

// 50,000 pipelined requests answered by gourmet itself (404) from a client
// that never reads: gourmet stops reading once the responses pile up, so its
// memory stays flat; when the client finally reads, every answer is there.
TEST_F(SlowClientTest, PipelinedFloodThatNeverReadsKeepsMemoryBounded) {
  ASSERT_NO_FATAL_FAILURE(
      start(echoTarget, [](const std::string& origin) { return slowClientConfig(origin, ""); }));
  constexpr size_t kRequests = 50'000;
  std::string flood;
  for (size_t i = 0; i < kRequests; ++i) flood += getRequest(fmt::format("/nothing/{}", i));
  ASSERT_TRUE(send(getRequest("/warm")));  // the worker's spares and buffers exist
  const auto baseline = gourmet_->statusKib("VmRSS");
  ASSERT_TRUE(baseline);

  RawClient client(port(), 10s);
  const size_t sent = sendUntilStalled(client.fd(), flood, 500ms);
  // gourmet works through what the kernel took: wait until its peak RSS has
  // not moved for a while.
  std::optional<long> peak = gourmet_->peakRssKib();
  ASSERT_TRUE(peak);
  for (auto quiet_since = Clock::now(), deadline = quiet_since + 20s;
       Clock::now() - quiet_since < 700ms && Clock::now() < deadline;) {
    std::this_thread::sleep_for(50ms);
    const auto now = gourmet_->peakRssKib();
    ASSERT_TRUE(now);
    if (*now != *peak) quiet_since = Clock::now();
    peak = now;
  }
  // 50,000 pages of ~300 bytes would be ~15 MiB; the bound is a few queues.
  EXPECT_LT(*peak - *baseline, 6 * 1024)
      << "RSS grew from " << *baseline << " KiB to a peak of " << *peak << " KiB with " << sent
      << " of " << flood.size() << " bytes sent";

  // Now the client reads: the rest goes in as room is made, and every
  // request is answered, in order.
  std::thread writer([&] {
    std::string_view rest(flood);
    rest.remove_prefix(sent);
    client.send(rest);
  });
  size_t answered = 0;
  for (; answered < kRequests; ++answered) {
    const auto r = client.readFinalResponse();
    if (!r || r->status != 404) break;
  }
  writer.join();
  EXPECT_EQ(answered, kRequests) << client.error();
  std::cerr << "flood: " << sent << " of " << flood.size() << " bytes taken before reading; RSS "
            << *baseline << " KiB, peak " << *peak << " KiB\n";
}

// A Connection: close download the client never reads: once nothing has
// moved for client_send_timeout the connection goes, and the upstream
// connection with it (not pooled mid-body).
TEST_F(SlowClientTest, NeverReadingCloseClientIsCutAfterSendTimeout) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) { return generated(64ull << 20); },
                                [](const std::string& origin) {
                                  return slowClientConfig(origin, "  client_send_timeout: 1s\n");
                                }));
  RawClient client(port(), 10s);
  ASSERT_TRUE(client.send(
      buildRequest("GET", "/known/big", {{"Host", "test.local"}, {"Connection", "close"}})));
  ASSERT_TRUE(origin_->waitForSendingToStall(300ms, 20s)) << "the origin never stalled";
  EXPECT_TRUE(eventually([&] { return openConnections() == 0u; }, 10s))
      << "the never-reading client is still connected";
  // The stalled upstream connection was closed, not pooled.
  const auto r = send(getRequest("/known/small"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(origin_->connectionsAccepted(), 2u);
  EXPECT_EQ(gourmet_->stderrText().find("upstream_"), std::string::npos)
      << "a client's timeout must not be logged as the upstream's: " << gourmet_->stderrText();
}

// The tail of a keep-alive response waits for a reader paused longer than
// client_idle_timeout: the idle timer does not run while gourmet still holds
// bytes of the response. The client's small receive buffer keeps what it
// can of the response in gourmet's queue rather than in the kernel's.
TEST_F(SlowClientTest, KeepAliveTailWaitsForPausedReaderPastIdleTimeout) {
  constexpr uint64_t kSize = 192 << 10;  // below the high watermark: the upstream completes
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) { return generated(kSize); },
                                [](const std::string& origin) {
                                  return slowClientConfig(
                                      origin,
                                      "  client_idle_timeout: 300ms\n  client_send_timeout: 10s\n");
                                }));
  RawClient client(port(), 10s);
  const int small = 16384;
  ASSERT_EQ(::setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  ASSERT_TRUE(client.send(getRequest("/known/tail")));
  ASSERT_TRUE(origin_->waitForRequests(1, 5s));
  ASSERT_TRUE(origin_->waitForSendingToStall(200ms, 10s));
  ASSERT_EQ(origin_->bodyBytesSent(), kSize) << "the origin could not finish: no tail to test";
  // The reader pauses for several idle timeouts (the behaviour under test,
  // not a synchronisation) while the response's tail waits in gourmet.
  std::this_thread::sleep_for(1200ms);
  BodyDigest body;
  const auto head = client.readHeadAndPartOfBody(0, body);
  ASSERT_TRUE(head) << client.error();
  ASSERT_TRUE(client.readRestOfBody(*head, 0, body)) << client.error();
  EXPECT_EQ(body.size(), kSize);
  EXPECT_EQ(body.hash(), patternDigest(kSize).hash());
  // (Whether the kernel's buffers took the whole response before the pause
  // depends on its autotuning; when they did, the idle timer rightly ran.)
}

// A reader that pauses for 6 s behind a 3 s response_timeout gets the whole
// body: while gourmet holds the upstream back for the client, the upstream's
// silence is not measured, and nothing is blamed on it.
TEST_F(SlowClientTest, ReaderPauseLongerThanResponseTimeoutGetsWholeBody) {
  constexpr uint64_t kSize = 32ull << 20;
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) { return generated(kSize); },
                                [](const std::string& origin) {
                                  return slowClientConfig(origin, "", "    response_timeout: 3s\n");
                                }));
  RawClient client(port(), 20s);
  ASSERT_TRUE(client.send(getRequest("/known/video")));
  BodyDigest body;
  constexpr uint64_t kFirst = 1 << 20;
  const auto head = client.readHeadAndPartOfBody(kFirst, body);
  ASSERT_TRUE(head) << client.error();
  ASSERT_TRUE(origin_->waitForSendingToStall(300ms, 10s));
  std::this_thread::sleep_for(6s);  // the video player's pause under test
  ASSERT_TRUE(client.readRestOfBody(*head, kFirst, body)) << client.error();
  EXPECT_EQ(body.size(), kSize);
  EXPECT_EQ(body.hash(), patternDigest(kSize).hash());
  EXPECT_EQ(gourmet_->stderrText().find("upstream_response_timeout"), std::string::npos)
      << gourmet_->stderrText();
}

// A client that reads a download slowly says nothing about the server that
// sent it: after a 1.5 s reader pause on one of two equal servers, `ewma`
// still sends that server its share. (Timed from the pick to the end of the
// response, the pause looked like a 1.5 s response and steered every
// request to the other server.)
TEST(SlowReaderBalancingTest, SlowReaderDoesNotMakeItsServerLookSlow) {
  constexpr uint64_t kBig = 32ull << 20;
  auto handler = [](const Request& request) {
    return request.target == "/big" ? generated(kBig) : echoTarget(request);
  };
  TestOrigin a(handler), b(handler);
  GourmetProcess gourmet(fmt::format(R"yaml(server:
  address: 127.0.0.1
  port: 0
  workers: 1
  locations:
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    balancer: ewma
    servers:
      - path: "{}"
      - path: "{}"
)yaml",
                                     a.address(), b.address()));
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(roundTrip(gourmet.port(), getRequest("/warm")));

  RawClient client(gourmet.port(), 20s);
  ASSERT_TRUE(client.send(getRequest("/big")));
  BodyDigest body;
  const auto head = client.readHeadAndPartOfBody(1 << 20, body);
  ASSERT_TRUE(head) << client.error();
  TestOrigin& sender = a.requestCount() > 0 && a.requests().back().target == "/big" ? a : b;
  TestOrigin& other = &sender == &a ? b : a;
  ASSERT_TRUE(sender.waitForSendingToStall(300ms, 10s));
  std::this_thread::sleep_for(1500ms);  // the slow reader under test
  ASSERT_TRUE(client.readRestOfBody(*head, 1 << 20, body)) << client.error();
  ASSERT_EQ(body.size(), kBig);

  const size_t before = sender.requestCount();
  for (int i = 0; i < 10; ++i) {
    const auto r = roundTrip(gourmet.port(), getRequest("/after"));
    ASSERT_TRUE(r && r->status == 200);
  }
  EXPECT_GE(sender.requestCount() - before, 1u)
      << "all 10 went to " << other.address() << ": the slow reader was blamed on "
      << sender.address();
}

}  // namespace
}  // namespace gourmet::testing
