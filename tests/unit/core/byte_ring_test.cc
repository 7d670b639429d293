#include "core/byte_ring.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace gourmet::core {
namespace {

std::string contents(const ByteRing& ring) {
  const auto spans = ring.readable();
  return std::string(spans[0]) + std::string(spans[1]);
}

TEST(ByteRing, RoundsTheCapacityUpToAPowerOfTwo) {
  EXPECT_EQ(ByteRing(1).capacity(), 16u);
  EXPECT_EQ(ByteRing(32).capacity(), 32u);
  EXPECT_EQ(ByteRing(33).capacity(), 64u);
}

TEST(ByteRing, RefusesARecordThatDoesNotFitWhole) {
  ByteRing ring(16);
  EXPECT_TRUE(ring.push("0123456789", "\n"));  // 11
  EXPECT_FALSE(ring.push("abcdef"));           // 6 > 5 left: nothing written
  EXPECT_TRUE(ring.push("abcd", "\n"));        // 5: exactly full
  EXPECT_EQ(ring.used(), 16u);
  EXPECT_EQ(contents(ring), "0123456789\nabcd\n");
}

TEST(ByteRing, WrapsAroundTheEndInTwoSpans) {
  ByteRing ring(16);
  ASSERT_TRUE(ring.push("0123456789ab"));
  ring.consume(12);
  ASSERT_TRUE(ring.push("wrapped", "!"));  // 4 bytes at the end, 4 at the start
  const auto spans = ring.readable();
  EXPECT_EQ(spans[0], "wrap");
  EXPECT_EQ(spans[1], "ped!");
  ring.consume(8);
  EXPECT_EQ(ring.used(), 0u);
  EXPECT_EQ(contents(ring), "");
}

TEST(ByteRing, OneProducerOneConsumerSeeEveryRecordInOrder) {
  ByteRing ring(64);
  constexpr int kRecords = 100'000;
  std::thread producer([&] {
    for (int i = 0; i < kRecords;) {
      const std::string record = std::to_string(i) + "\n";
      if (ring.push(record)) ++i;
    }
  });
  std::string received, pending;
  int next = 0;
  while (next < kRecords) {
    const auto spans = ring.readable();
    pending += std::string(spans[0]) + std::string(spans[1]);
    ring.consume(spans[0].size() + spans[1].size());
    for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
      ASSERT_EQ(pending.substr(0, end), std::to_string(next));
      ++next;
      pending.erase(0, end + 1);
    }
  }
  producer.join();
  EXPECT_EQ(pending, "");
}

}  // namespace
}  // namespace gourmet::core
