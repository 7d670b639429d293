// Hostile clients, part 2: clients that are well-formed but too big, too
// slow or too many. Limits and timeouts from server.limits and the client
// timeouts (see hostile_fixture.h for the small values used here).

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/hostile_fixture.h"

namespace gourmet::testing {
namespace {

std::string targetOfLength(size_t n) { return "/" + std::string(n - 1, 't'); }

std::string postHead(std::string_view target, uint64_t content_length,
                     std::string_view extra = {}) {
  return fmt::format("POST {} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n{}\r\n", target,
                     content_length, extra);
}

// ---- Sizes of the head ----

TEST_F(HostileTest, TargetAtTheLimitIsForwarded) {
  const std::string target = targetOfLength(kTestMaxTarget);
  const auto r = send(getRequest(target));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().target, target);
}

TEST_F(HostileTest, TargetOverTheLimitIs414) {
  ASSERT_NO_FATAL_FAILURE(expectRejected(getRequest(targetOfLength(kTestMaxTarget + 1)), {414}));
  expectOriginUntouched();
}

TEST_F(HostileTest, HeaderBytesOverTheLimitAre431) {
  // "Host" + "a" + "X-Big" + value: one byte over.
  const std::string value(kTestMaxHeaderBytes - 4 - 1 - 5 + 1, 'v');
  ASSERT_NO_FATAL_FAILURE(
      expectRejected(buildRequest("GET", "/", {{"Host", "a"}, {"X-Big", value}}), {431}));
  expectOriginUntouched();
}

TEST_F(HostileTest, HeaderBytesAtTheLimitAreForwarded) {
  const std::string value(kTestMaxHeaderBytes - 4 - 1 - 5, 'v');
  const auto r = send(buildRequest("GET", "/h", {{"Host", "a"}, {"X-Big", value}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().header("x-big"), value);
}

TEST_F(HostileTest, HeaderCountOverTheLimitIs431) {
  HeaderList headers = {{"Host", "a"}};
  while (headers.size() < kTestMaxHeaders) headers.push_back({"X-N", "1"});
  const auto ok = send(buildRequest("GET", "/n", headers));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << "exactly max_headers is fine";
  headers.push_back({"X-N", "1"});
  ASSERT_NO_FATAL_FAILURE(expectRejected(buildRequest("GET", "/", headers), {431}));
  ASSERT_EQ(origin_->requestCount(), 1u);
  EXPECT_EQ(onlyRequest().target, "/n");
}

// ---- Body size ----

TEST_F(HostileTest, ContentLengthOverTheLimitIs413BeforeTheBody) {
  // The body is never sent: the answer must come from the head alone.
  ASSERT_NO_FATAL_FAILURE(expectRejected(postHead("/", kTestMaxBody + 1), {413}));
  expectOriginUntouched();
}

TEST_F(HostileTest, ContentLengthOverTheLimitIs413WithoutContinue) {
  RawClient client(port());
  ASSERT_TRUE(client.send(postHead("/", kTestMaxBody + 1, "Expect: 100-continue\r\n")));
  const auto r = client.readResponse();  // interim responses included
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 413) << "no 100 Continue for a body that will be refused";
  EXPECT_TRUE(client.waitForClose()) << client.error();
  expectOriginUntouched();
}

TEST_F(HostileTest, LocationMaxBodySizeOverridesTheServers) {
  const auto big = send(postHead("/big/up", kTestMaxBigBody) + std::string(kTestMaxBigBody, 'b'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 200) << "^/big/ allows " << kTestMaxBigBody << " bytes";
  ASSERT_EQ(origin_->requestCount(), 1u);
  EXPECT_EQ(onlyRequest().body.size(), kTestMaxBigBody);

  ASSERT_NO_FATAL_FAILURE(expectRejected(postHead("/big/up", kTestMaxBigBody + 1), {413}));
  ASSERT_NO_FATAL_FAILURE(expectRejected(postHead("/up", kTestMaxBody + 1), {413}));
  EXPECT_EQ(origin_->requestCount(), 1u);
}

TEST_F(HostileTest, ChunkedBodyGrowingOverTheLimitNeverReachesTheOriginWhole) {
  RawClient client(port());
  ASSERT_TRUE(client.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // In pieces, as a streaming client would; the proxy may hang up mid-way.
  const std::string chunk = "100\r\n" + std::string(0x100, 'c') + "\r\n";
  for (size_t sent = 0; sent <= kTestMaxBody && client.send(chunk); sent += 0x100) {
  }
  client.send("0\r\n\r\n");  // may fail: the proxy may have closed already
  // 413, or closed without an answer; closed in either case.
  if (const auto r = client.readFinalResponse()) {
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_TRUE(client.waitForClose()) << client.error();
  excuseCutBodies();
}

// Once a request has been answered without reading its body, the rest of
// the stream is not trusted: the connection closes, and what the client put
// in that body is never read as a request.
TEST_F(HostileTest, UnreadBodyClosesTheConnection) {
  ASSERT_NO_FATAL_FAILURE(expectRejected(
      postHead("/", kTestMaxBody + 100) + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", {413}));
  expectOriginUntouched();
}

// ---- Slow clients ----

// A head trickled slower than client_header_timeout: 408, then closed.
TEST_F(HostileTest, SlowlorisHeadIs408AndClosed) {
  RawClient client(port());
  const std::string head = "GET /slow HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n";
  const auto began = Clock::now();
  bool cut = false;
  for (size_t i = 0; i < head.size() && !cut; ++i) {
    if (!client.send(head.substr(i, 1))) cut = true;
    // The behaviour under test: a client slower than the timeout in total,
    // though never idle for long.
    std::this_thread::sleep_for(50ms);
    if (Clock::now() - began > 3 * kTestClientTimeout) break;
  }
  const auto r = client.readFinalResponse();
  const auto elapsed = Clock::now() - began;
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(client.waitForClose()) << client.error();
  EXPECT_GE(elapsed, kTestClientTimeout - 50ms);
  EXPECT_LT(elapsed, 4 * kTestClientTimeout);
  expectOriginUntouched();
}

// Connections share the worker's spare request state: one lent again after
// serving another client must still time its head out.
TEST_F(HostileTest, SlowHeadOnASecondClientIsStill408) {
  {
    RawClient first(port());
    ASSERT_TRUE(first.send(getRequest("/first")));
    const auto r = first.readFinalResponse();
    ASSERT_TRUE(r) << first.error();
    EXPECT_EQ(r->status, 200);
  }
  // The behaviour under test: time passing between two clients, so that
  // whatever the first left armed would be due before the second's deadline.
  std::this_thread::sleep_for(kTestClientTimeout);
  RawClient second(port());
  const auto began = Clock::now();
  ASSERT_TRUE(second.send("GET /slow HTTP/1.1\r\nHost: a\r\n"));
  const auto r = second.readFinalResponse();
  ASSERT_TRUE(r) << second.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(Clock::now() - began, 4 * kTestClientTimeout);
}

// A kept-alive connection with nothing more to say is closed after
// client_idle_timeout, silently: no request is pending, so no 408.
TEST_F(HostileTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  RawClient client(port());
  ASSERT_TRUE(client.send(getRequest("/once")));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  const auto answered = Clock::now();
  EXPECT_TRUE(client.waitForClose(4 * kTestIdleTimeout)) << client.error();
  const auto idle = Clock::now() - answered;
  EXPECT_GE(idle, kTestIdleTimeout - 100ms) << "closed before its idle timeout";
  EXPECT_LT(idle, 3 * kTestIdleTimeout);
}

// A body that stops arriving: 408 after client_body_timeout.
TEST_F(HostileTest, StalledBodyIs408) {
  RawClient client(port());
  const auto began = Clock::now();
  ASSERT_TRUE(client.send(postHead("/up", 10) + "abc"));
  const auto r = client.readFinalResponse();
  const auto elapsed = Clock::now() - began;
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(client.waitForClose()) << client.error();
  EXPECT_GE(elapsed, kTestClientTimeout - 50ms);
  EXPECT_LT(elapsed, 4 * kTestClientTimeout);
  excuseCutBodies();
}

// client_body_timeout is idle time between reads, not a total.
TEST_F(HostileTest, SlowButSteadyBodyIsForwarded) {
  RawClient client(port());
  const std::string body = "0123456";
  ASSERT_TRUE(client.send(postHead("/up", body.size())));
  for (char c : body) {
    std::this_thread::sleep_for(kTestClientTimeout / 3);  // the slow client under test
    ASSERT_TRUE(client.send(std::string(1, c))) << client.error();
  }
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().body.text(), body);
}

// ---- Too many clients ----

TEST_F(HostileTest, ConnectionsOverMaxConnectionsAreClosedAtAccept) {
  // Each of these is accepted and served, and stays open (keep-alive).
  std::vector<std::unique_ptr<RawClient>> held;
  for (size_t i = 0; i < kTestMaxConnections; ++i) {
    held.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(held.back()->send(getRequest("/held"))) << held.back()->error();
    const auto r = held.back()->readFinalResponse();
    ASSERT_TRUE(r) << "connection " << i << ": " << held.back()->error();
    EXPECT_EQ(r->status, 200);
  }
  {
    RawClient extra(port());  // the kernel completes the handshake; the proxy hangs up
    ASSERT_TRUE(extra.connected());
    extra.send(getRequest("/extra"));  // may fail: closed already
    EXPECT_TRUE(extra.waitForClose()) << extra.error();
  }
  EXPECT_TRUE(gourmet_->waitForStderr("max_connections 4 reached", 2s)) << "counted and logged";

  held.pop_back();  // one leaves: room for one more
  EXPECT_TRUE(eventually([&] {
    auto r = roundTrip(port(), getRequest("/again"));
    return r && r->status == 200;
  })) << "a slot freed by a closed connection is usable again";
  const auto requests = origin_->requests();
  for (const Request& q : requests) EXPECT_NE(q.target, "/extra");
}

// The RLIMIT_NOFILE soft limit under which `pid` can open exactly one more
// descriptor (the lowest free number is what open and accept take).
rlim_t limitForOneMore(pid_t pid) {
  std::set<long> used;
  for (const auto& entry : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
    used.insert(std::stol(entry.path().filename().string()));
  }
  long free_below = 0;
  for (long limit = 1;; ++limit) {
    if (!used.contains(limit - 1)) ++free_below;
    if (free_below == 1) return static_cast<rlim_t>(limit);
  }
}

// Out of descriptors: the worker pauses accepting instead of spinning on a
// listener that stays readable, the kernel's backlog keeps the connection,
// and it is served once descriptors are back. (libuv's own accept would
// have reset it.)
TEST_F(HostileTest, OutOfDescriptorsPausesAcceptingAndLosesNoConnection) {
  const pid_t pid = gourmet_->pid();
  rlimit normal{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &normal), 0);
  rlimit tight = normal;
  tight.rlim_cur = limitForOneMore(pid);
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0);

  RawClient first(port());   // takes the last descriptor
  RawClient second(port());  // left in the backlog: EMFILE
  ASSERT_TRUE(first.connected() && second.connected());
  const bool paused = gourmet_->waitForStderr("pausing accepts", 5s);
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &normal, nullptr), 0);
  ASSERT_TRUE(paused) << gourmet_->describe();
  EXPECT_TRUE(gourmet_->waitForStderr("accepting again after", 5s));

  for (RawClient* client : {&first, &second}) {
    ASSERT_TRUE(client->send(getRequest("/after-emfile"))) << client->error();
    const auto r = client->readFinalResponse();
    ASSERT_TRUE(r) << client->error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->text(), "/after-emfile");
  }
}

}  // namespace
}  // namespace gourmet::testing
