// A real Worker on a real loop and real sockets, driven from the test
// thread: proves the RCU properties that the integration suite can only
// infer — a superseded snapshot lives exactly as long as the requests that
// pinned it, and per-worker state survives a reload that did not touch it.

#include "core/worker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/snapshot.h"

namespace gourmet::core {
namespace {

using namespace std::chrono_literals;

template <class Predicate>
bool waitFor(Predicate predicate, std::chrono::milliseconds deadline = 5s) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::yield();
  }
  return predicate();
}

int listenLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

int connectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Reads one response with a Content-Length body; returns its body.
std::string readResponse(int fd) {
  std::string data;
  char buf[4096];
  for (;;) {
    size_t head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t at = data.find("Content-Length: ");
      size_t length = at == std::string::npos ? 0 : std::stoul(data.substr(at + 16));
      if (data.size() >= head_end + 4 + length) return data.substr(head_end + 4, length);
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return "<closed>";
    data.append(buf, static_cast<size_t>(n));
  }
}

// An origin that answers each request with its name, optionally holding
// every answer until release() — a request "in flight" for as long as the
// test wants.
class Origin {
 public:
  Origin(std::string name, bool hold) : name_(std::move(name)), hold_(hold) {
    fd_ = listenLoopback(port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~Origin() {
    release();
    ::shutdown(client_.load(), SHUT_RDWR);  // the proxy may keep it pooled
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    if (client_.load() >= 0) ::close(client_.load());
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  void serve() {
    int client = ::accept(fd_, nullptr, nullptr);
    if (client < 0) return;
    client_.store(client);
    std::string data;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      size_t end;
      while ((end = data.find("\r\n\r\n")) != std::string::npos) {
        data.erase(0, end + 4);
        std::unique_lock lock(mutex_);
        ++requests_;
        if (hold_) cv_.wait(lock, [this] { return released_; });
        lock.unlock();
        std::string response =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(name_.size()) + "\r\n\r\n" +
            name_;
        ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      }
    }
  }

  std::string name_;
  bool hold_;
  int fd_ = -1;
  std::atomic<int> client_{-1};
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int requests_ = 0;
  bool released_ = false;
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listeners = ListenerSet::open("127.0.0.1", 0, 1);
    ASSERT_TRUE(listeners) << listeners.error().message;
    listeners_ = *listeners;
  }

  void TearDown() override {
    worker_->stop(true, 1s);
    worker_->join();
    worker_.reset();
  }

  // One location per entry of `extra_locations` + "^/" -> upstream "a".
  std::shared_ptr<const Snapshot> snapshot(std::vector<uint16_t> ports, uint64_t version,
                                           int extra_locations = 0) {
    Config config;
    // Named fields, not designated initialisers: g++ 12 -O3 misreports those
    // as uninitialised under -Werror.
    auto location = [](std::string pattern) {
      LocationConfig config;
      config.pattern = std::move(pattern);
      config.upstream = "a";
      return config;
    };
    for (int i = 0; i < extra_locations; ++i) {
      config.server.locations.push_back(location("^/extra" + std::to_string(i)));
    }
    config.server.locations.push_back(location("^/"));
    UpstreamConfig upstream;
    upstream.name = "a";
    ServerLists lists;
    for (uint16_t port : ports) {
      ResolvedServer server;
      server.address = "127.0.0.1:" + std::to_string(port);
      auto& in = reinterpret_cast<sockaddr_in&>(server.sockaddr);
      in.sin_family = AF_INET;
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      in.sin_port = htons(port);
      lists["a"].push_back(server);
    }
    config.upstreams.push_back(upstream);
    auto built = buildSnapshot(config, lists, {listeners_, nullptr}, registry_, version);
    EXPECT_TRUE(built) << built.error().message;
    return *built;
  }

  void startWorker(std::shared_ptr<const Snapshot> first) {
    publisher_.publish(std::move(first));
    worker_ = std::make_unique<Worker>(0, publisher_, nullptr);
    worker_->start();
  }

  // What the main thread's loop does when a worker hands a snapshot back.
  void dropReleased() { publisher_.dropReleased(); }

  std::string get(int fd, const std::string& path) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    return readResponse(fd);
  }

  ServerRegistry registry_;
  SnapshotPublisher publisher_;
  std::shared_ptr<const ListenerSet> listeners_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, SupersededSnapshotLivesUntilItsLastRequestEnds) {
  Origin origin("held", /*hold=*/true);
  auto first = snapshot({origin.port()}, 1);
  std::weak_ptr<const Snapshot> first_weak = first;
  startWorker(std::move(first));

  int client = connectLoopback(listeners_->port());
  std::string request = "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n";
  ::send(client, request.data(), request.size(), MSG_NOSIGNAL);
  ASSERT_TRUE(waitFor([&] { return origin.requests() == 1; }));

  publisher_.publish(snapshot({origin.port()}, 2));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_FALSE(first_weak.expired()) << "the request in flight must pin version 1";

  origin.release();
  EXPECT_EQ(readResponse(client), "held");
  EXPECT_TRUE(waitFor([&] { return dropReleased(), first_weak.expired(); }))
      << "version 1 outlived its request";
  ::close(client);
}

TEST_F(WorkerTest, IdleSnapshotIsFreedAtOnceOnReload) {
  Origin origin("o", false);
  auto first = snapshot({origin.port()}, 1);
  std::weak_ptr<const Snapshot> first_weak = first;
  startWorker(std::move(first));
  publisher_.publish(snapshot({origin.port()}, 2));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_TRUE(waitFor([&] { return dropReleased(), first_weak.expired(); }));
}

TEST_F(WorkerTest, LastReferenceToASupersededSnapshotIsDroppedOnTheMainThread) {
  // The test thread plays the main thread. The snapshot's deleter records
  // the thread that ran ~Snapshot.
  Origin origin("held", /*hold=*/true);
  std::mutex mutex;
  std::optional<std::thread::id> destroyed_on;
  const size_t live_before = liveSnapshots();
  std::shared_ptr<const Snapshot> first;
  {
    std::shared_ptr<const Snapshot> built = snapshot({origin.port()}, 1);
    const Snapshot* raw = built.get();
    first =
        std::shared_ptr<const Snapshot>(raw, [&, keep = std::move(built)](const Snapshot*) mutable {
          std::lock_guard lock(mutex);
          destroyed_on = std::this_thread::get_id();
          keep.reset();
        });
  }
  std::weak_ptr<const Snapshot> first_weak = first;
  startWorker(std::move(first));

  int client = connectLoopback(listeners_->port());
  std::string request = "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n";
  ::send(client, request.data(), request.size(), MSG_NOSIGNAL);
  ASSERT_TRUE(waitFor([&] { return origin.requests() == 1; }));
  publisher_.publish(snapshot({origin.port()}, 2));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_EQ(publisher_.releasedPending(), 0u) << "the request in flight still pins version 1";

  origin.release();
  EXPECT_EQ(readResponse(client), "held");
  // The worker is done with version 1 and handed its reference back: the
  // snapshot lives on until this thread drops it.
  ASSERT_TRUE(waitFor([&] { return publisher_.releasedPending() == 1; }));
  EXPECT_FALSE(first_weak.expired());
  EXPECT_EQ(liveSnapshots(), live_before + 2);
  EXPECT_EQ(publisher_.dropReleased(), 1u);
  EXPECT_TRUE(first_weak.expired());
  EXPECT_EQ(liveSnapshots(), live_before + 1);
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(destroyed_on, std::this_thread::get_id());
  }
  ::close(client);
}

TEST_F(WorkerTest, RoundRobinPositionSurvivesReloadOfOtherParts) {
  Origin a("a", false), b("b", false);
  startWorker(snapshot({a.port(), b.port()}, 1));
  int client = connectLoopback(listeners_->port());
  EXPECT_EQ(get(client, "/"), "a");
  // Same cluster, one more location: the balancer must carry over.
  publisher_.publish(snapshot({a.port(), b.port()}, 2, /*extra_locations=*/1));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_EQ(get(client, "/"), "b");
  EXPECT_EQ(get(client, "/"), "a");
  ::close(client);
}

TEST_F(WorkerTest, ChangedClusterGetsAFreshBalancer) {
  Origin a("a", false), b("b", false), c("c", false);
  startWorker(snapshot({a.port(), b.port()}, 1));
  int client = connectLoopback(listeners_->port());
  EXPECT_EQ(get(client, "/"), "a");
  publisher_.publish(snapshot({c.port(), b.port()}, 2));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_EQ(get(client, "/"), "c");
  ::close(client);
}

TEST_F(WorkerTest, ReloadKeepingTheLocationsCompilesNoRegex) {
  Origin a("a", false), b("b", false);
  startWorker(snapshot({a.port()}, 1, /*extra_locations=*/50));
  EXPECT_EQ(worker_->compiledPatterns(), 51u);
  // Only the servers change: every regex is carried over.
  publisher_.publish(snapshot({b.port()}, 2, /*extra_locations=*/50));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 2; }));
  EXPECT_EQ(worker_->compiledPatterns(), 51u);
  int client = connectLoopback(listeners_->port());
  EXPECT_EQ(get(client, "/"), "b");
  // One location more: that one is compiled, the rest kept.
  publisher_.publish(snapshot({b.port()}, 3, /*extra_locations=*/51));
  ASSERT_TRUE(waitFor([&] { return worker_->version() == 3; }));
  EXPECT_EQ(worker_->compiledPatterns(), 52u);
  EXPECT_EQ(get(client, "/"), "b");
  ::close(client);
}

}  // namespace
}  // namespace gourmet::core
