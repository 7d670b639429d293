#include "core/upstream_pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gourmet::core {
namespace {

using std::chrono_literals::operator""ms;

constexpr std::string_view kRequest = "GET /ping HTTP/1.1\r\nHost: origin\r\n\r\n";
constexpr std::string_view kOkResponse = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
constexpr Millis kLong = 60'000ms;  // never reached by a passing test

// Records what the connection reports, as a ClientConnection would.
class FakeExchange final : public UpstreamConnection::Exchange {
 public:
  bool onUpstreamHead(UpstreamConnection& conn) override {
    ++heads;
    status = conn.status();
    return false;
  }
  void onUpstreamBody(std::string_view data) override { body.append(data); }
  void onUpstreamComplete(UpstreamConnection&) override { ++completions; }
  void onUpstreamError(UpstreamConnection&, UpstreamError e) override { error = e; }
  void onUpstreamDrained() override {}
  void onUpstreamReadEnd() override {}

  int heads = 0;
  int status = 0;
  std::string body;
  int completions = 0;
  std::optional<UpstreamError> error;
};

// The origin's side of one accepted connection, served from the same loop.
struct Peer {
  uv_tcp_t tcp{};
  char buffer[4096];
  std::string received;
  bool eof = false;
  bool closed = false;
};

class UpstreamPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    loop_ready_ = true;
    uv_timer_init(&loop_, &deadline_);
    deadline_.data = this;
    uv_tcp_init(&loop_, &listener_);
    listener_.data = this;
    sockaddr_in any{};
    ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &any), 0);
    ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&any), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, &onConnection), 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    ASSERT_EQ(uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len), 0);
    pool_ = std::make_unique<UpstreamPool>(
        &loop_, buffers_, std::make_shared<UpstreamServer>(1, formatSockaddr(bound), bound));
  }

  void TearDown() override {
    if (!loop_ready_) return;
    pool_.reset();  // closes what is idle; each test closes what it holds
    for (auto& peer : peers_) closePeer(*peer);
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle was left open";
  }

  // Exchanges live as long as the fixture, so a test that fails half-way
  // leaves no connection pointing at a destroyed one while TearDown drains.
  FakeExchange& newExchange() { return *exchanges_.emplace_back(std::make_unique<FakeExchange>()); }

  // Runs the loop until `done()` holds or `limit` passes on the loop clock.
  bool runUntil(const std::function<bool()>& done, Millis limit = 5'000ms) {
    timed_out_ = false;
    uv_timer_start(
        &deadline_,
        [](uv_timer_t* timer) { static_cast<UpstreamPoolTest*>(timer->data)->timed_out_ = true; },
        static_cast<uint64_t>(limit.count()), 0);
    while (!done() && !timed_out_) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&deadline_);
    return done();
  }

  // A new connection carrying one request, with its origin side accepted.
  UpstreamConnection* connectAndSend(FakeExchange& exchange, Peer** peer) {
    size_t before = peers_.size();
    UpstreamConnection* conn = pool_->connect(5'000ms);
    conn->attach(&exchange, 5'000ms);
    conn->send(kRequest);
    conn->flush();  // no-op until connected; the connect callback flushes
    bool accepted = runUntil([&] {
      return peers_.size() == before + 1 && peers_.back()->received.size() >= kRequest.size();
    });
    EXPECT_TRUE(accepted) << "the origin never received the request";
    *peer = accepted ? peers_.back().get() : nullptr;
    return conn;
  }

  // Answers the request `peer` holds and waits until `exchange` completes.
  bool respond(Peer& peer, FakeExchange& exchange, std::string_view response) {
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(response.data()), static_cast<unsigned>(response.size()));
    int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&peer.tcp), &buf, 1);
    EXPECT_EQ(written, static_cast<int>(response.size()));
    int before = exchange.completions;
    return runUntil([&] { return exchange.completions > before || exchange.error; });
  }

  // One whole exchange on a fresh connection, detached and ready for release().
  UpstreamConnection* completedConnection(Peer** peer, std::string_view response = kOkResponse) {
    FakeExchange& exchange = newExchange();
    UpstreamConnection* conn = connectAndSend(exchange, peer);
    if (*peer == nullptr) return conn;
    EXPECT_TRUE(respond(**peer, exchange, response));
    EXPECT_EQ(exchange.completions, 1);
    EXPECT_EQ(exchange.error, std::nullopt);
    conn->detach();
    return conn;
  }

  void closePeer(Peer& peer) {
    if (peer.closed) return;
    peer.closed = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&peer.tcp), nullptr);
  }

  static void onConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<UpstreamPoolTest*>(server->data);
    ASSERT_EQ(status, 0);
    auto peer = std::make_unique<Peer>();
    uv_tcp_init(&self->loop_, &peer->tcp);
    peer->tcp.data = peer.get();
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&peer->tcp)) != 0) {
      peer->closed = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&peer->tcp), nullptr);
    } else {
      uv_read_start(reinterpret_cast<uv_stream_t*>(&peer->tcp), &onPeerAlloc, &onPeerRead);
    }
    self->peers_.push_back(std::move(peer));
  }

  static void onPeerAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* peer = static_cast<Peer*>(handle->data);
    *buf = uv_buf_init(peer->buffer, sizeof peer->buffer);
  }

  static void onPeerRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* peer = static_cast<Peer*>(stream->data);
    if (nread > 0) {
      peer->received.append(buf->base, static_cast<size_t>(nread));
    } else if (nread < 0) {
      peer->eof = true;  // EOF or reset: either way the proxy let go
      uv_read_stop(stream);
    }
  }

  uv_loop_t loop_{};
  bool loop_ready_ = false;
  uv_timer_t deadline_{};
  bool timed_out_ = false;
  uv_tcp_t listener_{};
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<std::unique_ptr<FakeExchange>> exchanges_;
  ReadBufferPool buffers_;
  std::unique_ptr<UpstreamPool> pool_;
};

TEST_F(UpstreamPoolTest, ConnectCarriesAnExchange) {
  FakeExchange& exchange = newExchange();
  Peer* peer = nullptr;
  UpstreamConnection* conn = connectAndSend(exchange, &peer);
  ASSERT_NE(peer, nullptr);
  EXPECT_TRUE(conn->connected());
  EXPECT_EQ(peer->received, kRequest);
  EXPECT_EQ(pool_->idleCount(), 0u);

  ASSERT_TRUE(respond(*peer, exchange, kOkResponse));
  EXPECT_EQ(exchange.error, std::nullopt);
  EXPECT_EQ(exchange.heads, 1);
  EXPECT_EQ(exchange.status, 200);
  EXPECT_EQ(exchange.body, "hello");
  EXPECT_EQ(exchange.completions, 1);
  EXPECT_TRUE(conn->reusable());
  EXPECT_EQ(conn->requestsServed(), 1u);
  EXPECT_EQ(conn->keepAliveHint(), std::nullopt);

  conn->close();
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, ReusableReleaseKeepsItIdleAndTakeIdleHandsItBack) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(&peer);
  ASSERT_NE(peer, nullptr);

  pool_->release(conn, true, kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 1u);
  EXPECT_EQ(pool_->takeIdle(), conn);
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_EQ(pool_->takeIdle(), nullptr);

  // The same socket carries the next request.
  FakeExchange& second = newExchange();
  conn->attach(&second, 5'000ms);
  conn->send(kRequest);
  conn->flush();
  ASSERT_TRUE(runUntil([&] { return peer->received.size() == 2 * kRequest.size(); }));
  ASSERT_TRUE(respond(*peer, second, kOkResponse));
  EXPECT_EQ(second.body, "hello");
  EXPECT_EQ(conn->requestsServed(), 2u);
  EXPECT_EQ(peers_.size(), 1u);
  EXPECT_FALSE(peer->eof);

  conn->close();
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, IdleConnectionsAreReusedLastInFirstOut) {
  Peer* peer_a = nullptr;
  Peer* peer_b = nullptr;
  UpstreamConnection* a = completedConnection(&peer_a);
  UpstreamConnection* b = completedConnection(&peer_b);
  ASSERT_NE(peer_a, nullptr);
  ASSERT_NE(peer_b, nullptr);
  ASSERT_NE(a, b);

  pool_->release(a, true, kLong, 8);
  pool_->release(b, true, kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 2u);
  EXPECT_EQ(pool_->takeIdle(), b);
  EXPECT_EQ(pool_->takeIdle(), a);
  EXPECT_EQ(pool_->takeIdle(), nullptr);

  a->close();
  b->close();
  EXPECT_TRUE(runUntil([&] { return peer_a->eof && peer_b->eof; }));
}

TEST_F(UpstreamPoolTest, NotReusableReleaseCloses) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(&peer);
  ASSERT_NE(peer, nullptr);
  pool_->release(conn, false, kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_EQ(pool_->takeIdle(), nullptr);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, ConnectionCloseResponseIsNotReusable) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(
      &peer, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_NE(peer, nullptr);
  EXPECT_FALSE(conn->reusable());
  pool_->release(conn, conn->reusable(), kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, MaxIdleBoundsThePool) {
  Peer* peers[3] = {};
  UpstreamConnection* conns[3] = {};
  for (int i = 0; i < 3; ++i) {
    conns[i] = completedConnection(&peers[i]);
    ASSERT_NE(peers[i], nullptr);
  }
  for (UpstreamConnection* conn : conns) pool_->release(conn, true, kLong, 2);
  EXPECT_EQ(pool_->idleCount(), 2u);
  EXPECT_TRUE(runUntil([&] { return peers[2]->eof; }));
  EXPECT_FALSE(peers[0]->eof);
  EXPECT_FALSE(peers[1]->eof);
  EXPECT_EQ(pool_->takeIdle(), conns[1]);
  EXPECT_EQ(pool_->takeIdle(), conns[0]);
  conns[0]->close();
  conns[1]->close();
}

TEST_F(UpstreamPoolTest, MaxIdleZeroKeepsNothing) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(&peer);
  ASSERT_NE(peer, nullptr);
  pool_->release(conn, true, kLong, 0);
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, IdleConnectionExpiresAfterKeepaliveTimeout) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(&peer);
  ASSERT_NE(peer, nullptr);
  uint64_t start = uv_now(&loop_);  // the base the idle timer is armed from
  pool_->release(conn, true, 100ms, 8);
  EXPECT_EQ(pool_->idleCount(), 1u);
  ASSERT_TRUE(runUntil([&] { return pool_->idleCount() == 0; }));
  EXPECT_GE(uv_now(&loop_) - start, 100u);
  EXPECT_EQ(pool_->takeIdle(), nullptr);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, KeepAliveHintShortensTheIdleTimeout) {
  // timeout=1 (second) leaves a margin: idle for half of it, not 60 s.
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(
      &peer, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1, max=100\r\nContent-Length: 0\r\n\r\n");
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(conn->keepAliveHint(), Millis(1'000));
  uint64_t start = uv_now(&loop_);
  pool_->release(conn, true, kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 1u);
  ASSERT_TRUE(runUntil([&] { return pool_->idleCount() == 0; }, 10'000ms));
  EXPECT_GE(uv_now(&loop_) - start, 500u);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, LongerKeepAliveHintDoesNotLengthenTheIdleTimeout) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(
      &peer, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=30\r\nContent-Length: 0\r\n\r\n");
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(conn->keepAliveHint(), Millis(30'000));
  uint64_t start = uv_now(&loop_);
  pool_->release(conn, true, 100ms, 8);
  ASSERT_TRUE(runUntil([&] { return pool_->idleCount() == 0; }, 10'000ms));
  EXPECT_GE(uv_now(&loop_) - start, 100u);
}

TEST_F(UpstreamPoolTest, KeepAliveHintOfZeroClosesAtOnce) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(
      &peer, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=0\r\nContent-Length: 0\r\n\r\n");
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(conn->keepAliveHint(), Millis(0));
  pool_->release(conn, true, kLong, 8);
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, ServerClosingAnIdleConnectionRemovesItPromptly) {
  Peer* peer_a = nullptr;
  Peer* peer_b = nullptr;
  UpstreamConnection* a = completedConnection(&peer_a);
  UpstreamConnection* b = completedConnection(&peer_b);
  ASSERT_NE(peer_a, nullptr);
  ASSERT_NE(peer_b, nullptr);
  pool_->release(a, true, kLong, 8);
  pool_->release(b, true, kLong, 8);
  ASSERT_EQ(pool_->idleCount(), 2u);

  closePeer(*peer_b);  // the origin's own keep-alive timeout, say
  ASSERT_TRUE(runUntil([&] { return pool_->idleCount() == 1; }));
  EXPECT_EQ(pool_->takeIdle(), a);  // b is gone, a is untouched
  EXPECT_EQ(pool_->takeIdle(), nullptr);
  a->close();
}

TEST_F(UpstreamPoolTest, UnsolicitedBytesOnAnIdleConnectionDropIt) {
  Peer* peer = nullptr;
  UpstreamConnection* conn = completedConnection(&peer);
  ASSERT_NE(peer, nullptr);
  pool_->release(conn, true, kLong, 8);
  ASSERT_EQ(pool_->idleCount(), 1u);

  std::string garbage = "HTTP/1.1 408 Request Timeout\r\n\r\n";
  uv_buf_t buf = uv_buf_init(garbage.data(), static_cast<unsigned>(garbage.size()));
  ASSERT_EQ(uv_try_write(reinterpret_cast<uv_stream_t*>(&peer->tcp), &buf, 1),
            static_cast<int>(garbage.size()));
  ASSERT_TRUE(runUntil([&] { return pool_->idleCount() == 0; }));
  EXPECT_TRUE(runUntil([&] { return peer->eof; }));
}

TEST_F(UpstreamPoolTest, CloseAllClosesEveryIdleConnection) {
  Peer* peer_a = nullptr;
  Peer* peer_b = nullptr;
  UpstreamConnection* a = completedConnection(&peer_a);
  UpstreamConnection* b = completedConnection(&peer_b);
  ASSERT_NE(peer_a, nullptr);
  ASSERT_NE(peer_b, nullptr);
  pool_->release(a, true, kLong, 8);
  pool_->release(b, true, kLong, 8);
  pool_->closeAll();
  EXPECT_EQ(pool_->idleCount(), 0u);
  EXPECT_EQ(pool_->takeIdle(), nullptr);
  EXPECT_TRUE(runUntil([&] { return peer_a->eof && peer_b->eof; }));
}

TEST_F(UpstreamPoolTest, RefusedConnectIsReported) {
  // A socket bound but not listening: the kernel refuses connections to it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len), 0);

  UpstreamPool refusing(&loop_, buffers_,
                        std::make_shared<UpstreamServer>(2, formatSockaddr(bound), bound));
  FakeExchange& exchange = newExchange();
  UpstreamConnection* conn = refusing.connect(5'000ms);
  conn->attach(&exchange, 5'000ms);
  conn->send(kRequest);
  bool failed = runUntil([&] { return exchange.error.has_value(); });
  if (!failed) conn->close();  // it closes itself when it reports an error
  EXPECT_TRUE(failed);
  EXPECT_EQ(exchange.error, UpstreamError::kConnectRefused);
  EXPECT_EQ(exchange.completions, 0);
  EXPECT_EQ(refusing.idleCount(), 0u);
  ::close(fd);
}

}  // namespace
}  // namespace gourmet::core
