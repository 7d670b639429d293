#include "core/handoff_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace gourmet::core {
namespace {

AcceptedConnection withFd(int fd) {
  AcceptedConnection connection;
  connection.fd = fd;
  connection.peer.v4.sin_family = AF_INET;
  connection.peer.v4.sin_port = static_cast<in_port_t>(fd);
  return connection;
}

TEST(HandoffQueue, PopsInPushOrderWithTheAddress) {
  HandoffQueue queue;
  AcceptedConnection out;
  EXPECT_FALSE(queue.pop(out));
  ASSERT_TRUE(queue.push(withFd(7)));
  ASSERT_TRUE(queue.push(withFd(8)));
  EXPECT_EQ(queue.size(), 2u);
  ASSERT_TRUE(queue.pop(out));
  EXPECT_EQ(out.fd, 7);
  EXPECT_EQ(out.peer.v4.sin_port, 7);
  ASSERT_TRUE(queue.pop(out));
  EXPECT_EQ(out.fd, 8);
  EXPECT_FALSE(queue.pop(out));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(HandoffQueue, SaysFullInsteadOfWaitingAndTakesMoreOnceDrained) {
  HandoffQueue queue;
  for (size_t i = 0; i < HandoffQueue::kCapacity; ++i) {
    ASSERT_TRUE(queue.push(withFd(static_cast<int>(i))));
  }
  EXPECT_FALSE(queue.push(withFd(-2)));
  EXPECT_EQ(queue.size(), HandoffQueue::kCapacity);
  AcceptedConnection out;
  ASSERT_TRUE(queue.pop(out));
  EXPECT_EQ(out.fd, 0);
  EXPECT_TRUE(queue.push(withFd(1000)));  // the freed cell, one lap later
  for (size_t i = 1; i < HandoffQueue::kCapacity; ++i) {
    ASSERT_TRUE(queue.pop(out));
    EXPECT_EQ(out.fd, static_cast<int>(i));
  }
  ASSERT_TRUE(queue.pop(out));
  EXPECT_EQ(out.fd, 1000);
}

// Several producers race one consumer through many laps of the ring: every
// value arrives exactly once, and each producer's values in its order.
TEST(HandoffQueue, ManyProducersLoseAndDuplicateNothing) {
  constexpr int kProducers = 4;
  constexpr int kEach = 50'000;
  HandoffQueue queue;
  std::atomic<int> ready{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      ready.fetch_add(1);
      while (ready.load() < kProducers) {
      }
      for (int i = 0; i < kEach; ++i) {
        while (!queue.push(withFd(p * kEach + i))) std::this_thread::yield();
      }
    });
  }
  std::vector<int> last(kProducers, -1);
  std::vector<bool> seen(kProducers * kEach, false);
  int received = 0;
  AcceptedConnection out;
  while (received < kProducers * kEach) {
    if (!queue.pop(out)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_GE(out.fd, 0);
    ASSERT_LT(out.fd, kProducers * kEach);
    ASSERT_FALSE(seen[out.fd]) << "twice: " << out.fd;
    seen[out.fd] = true;
    const int producer = out.fd / kEach;
    ASSERT_GT(out.fd, last[producer]) << "out of order for producer " << producer;
    last[producer] = out.fd;
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_FALSE(queue.pop(out));
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
}

}  // namespace
}  // namespace gourmet::core
