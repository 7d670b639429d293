// A worker's own listening socket: its duplicate is close-on-exec, and a
// worker that cannot watch its socket of the set (out of descriptors) says
// so and shuts that socket down, so the kernel stops queueing a share of
// the port's connections where nobody accepts them.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "core/snapshot.h"
#include "core/worker.h"

namespace gourmet::core {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const Snapshot> snapshotFor(std::shared_ptr<const ListenerSet> listeners,
                                            ServerRegistry& registry) {
  Config config;
  LocationConfig location;
  location.pattern = "^/";
  location.upstream = "a";
  config.server.locations.push_back(location);
  UpstreamConfig upstream;
  upstream.name = "a";
  config.upstreams.push_back(upstream);
  ServerLists lists;
  lists["a"] = {};
  auto built = buildSnapshot(config, lists, {std::move(listeners), nullptr}, registry, 1);
  EXPECT_TRUE(built) << built.error().message;
  return built ? *built : nullptr;
}

// The result of connecting to 127.0.0.1:port: 0, or the errno.
int connectError(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

TEST(WorkerListen, ItsDuplicateOfTheListenerIsCloseOnExec) {
  auto listeners = ListenerSet::open("127.0.0.1", 0, 1);
  ASSERT_TRUE(listeners) << listeners.error().message;
  ServerRegistry registry;
  SnapshotPublisher publisher;
  publisher.publish(snapshotFor(*listeners, registry));
  Worker worker(0, publisher, nullptr);
  ASSERT_TRUE(worker.start());
  // The worker's descriptor is the other one naming the same socket.
  struct stat original {};
  ASSERT_EQ(::fstat((*listeners)->fd(0), &original), 0);
  int duplicates = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    struct stat st {};
    if (fd == (*listeners)->fd(0) || ::fstat(fd, &st) != 0 || st.st_ino != original.st_ino ||
        st.st_dev != original.st_dev) {
      continue;
    }
    ++duplicates;
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "descriptor " << fd << " leaks into exec";
  }
  EXPECT_EQ(duplicates, 1);
  worker.stop(true, 1s);
  worker.join();
}

TEST(WorkerListen, AWorkerThatCannotListenShutsItsSocketDown) {
  auto listeners = ListenerSet::open("127.0.0.1", 0, 1);
  ASSERT_TRUE(listeners) << listeners.error().message;
  const uint16_t port = (*listeners)->port();
  ASSERT_EQ(connectError(port), 0) << "the set's socket should listen before any worker";
  ServerRegistry registry;
  SnapshotPublisher publisher;
  publisher.publish(snapshotFor(*listeners, registry));
  Worker worker(0, publisher, nullptr);

  // Every descriptor below the limit in use: the worker's dup gets EMFILE.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  const bool listening = worker.start();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_FALSE(listening);
  // The socket the set still holds no longer takes connections: refused,
  // not completed into a queue nobody reads.
  EXPECT_EQ(connectError(port), ECONNREFUSED);
  worker.stop(false, 1s);
  worker.join();
}

}  // namespace
}  // namespace gourmet::core
