// ServerSet's view of the shared health words: refresh() on an epoch
// change, drained versus unhealthy, and Envoy's panic mode.

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "balancers/server_set.h"

namespace gourmet::balancers {
namespace {

struct Words {
  explicit Words(size_t n) : health(n) {}
  std::vector<Candidate> candidates() {
    std::vector<Candidate> out;
    for (size_t i = 0; i < health.size(); ++i) {
      out.push_back({.id = static_cast<uint32_t>(i), .weight = 1, .health = &health[i]});
    }
    return out;
  }
  std::vector<std::atomic<uint32_t>> health;
};

TEST(ServerSetHealth, RefreshReadsTheWordsOnlyWhenTheEpochMoved) {
  Words words(3);
  auto candidates = words.candidates();
  ServerSet set(candidates, {}, nullptr, false, 0);
  EXPECT_TRUE(set.eligible(1));
  words.health[1] = 1;  // unhealthy
  EXPECT_FALSE(set.refresh(0, 10)) << "epoch 0 is the one a new set has seen";
  EXPECT_TRUE(set.eligible(1));
  EXPECT_TRUE(set.refresh(1, 10));
  EXPECT_FALSE(set.eligible(1));
  EXPECT_EQ(set.healthyCount(), 2u);
  words.health[1] = 0;
  EXPECT_FALSE(set.refresh(1, 20)) << "same epoch: the word is not read again";
  EXPECT_FALSE(set.eligible(1));
  EXPECT_TRUE(set.refresh(2, 20));
  EXPECT_TRUE(set.eligible(1));
}

TEST(ServerSetHealth, AReturningServerRampsUnderSlowStart) {
  Words words(2);
  auto candidates = words.candidates();
  ServerSet set(candidates, {.window = std::chrono::milliseconds(1000)}, nullptr, false, 0);
  words.health[0] = 1;
  set.refresh(1, 100);
  words.health[0] = 0;
  set.refresh(2, 1000);
  EXPECT_LT(set.effectiveWeight(0, 1100), 0.5);
  EXPECT_EQ(set.effectiveWeight(0, 2000), 1.0);
  EXPECT_EQ(set.effectiveWeight(1, 1100), 1.0);
}

TEST(ServerSetHealth, PanicBelowTheThresholdMakesEveryServerNotDrainedEligible) {
  Words words(4);
  auto candidates = words.candidates();
  ServerSet set(candidates, {}, nullptr, false, 0);
  set.setPanicThreshold(50);
  words.health[0] = words.health[1] = 1;  // 2 of 4 healthy: 50%, not below
  set.refresh(1, 0);
  EXPECT_FALSE(set.panicking());
  EXPECT_FALSE(set.eligible(0));
  words.health[2] = 1;  // 1 of 4: below 50%
  const uint64_t generation = set.generation();
  set.refresh(2, 0);
  EXPECT_TRUE(set.panicking());
  EXPECT_GT(set.generation(), generation) << "balancers must recompute";
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(set.eligible(i)) << i;
  // Drained servers stay out even in panic, and do not count.
  words.health[0] = kHealthWordDrained;
  set.refresh(3, 0);
  EXPECT_FALSE(set.eligible(0));
  EXPECT_TRUE(set.eligible(1));
  EXPECT_TRUE(set.panicking()) << "1 healthy of 3 not drained";
}

TEST(ServerSetHealth, NoHealthyServerIsNoPanicButNothingEligible) {
  Words words(2);
  auto candidates = words.candidates();
  ServerSet set(candidates, {}, nullptr, false, 0);
  set.setPanicThreshold(50);
  words.health[0] = words.health[1] = 1;
  set.refresh(1, 0);
  EXPECT_FALSE(set.panicking());
  EXPECT_FALSE(set.anyEligible());
}

TEST(ServerSetHealth, ThresholdZeroNeverPanics) {
  Words words(3);
  auto candidates = words.candidates();
  ServerSet set(candidates, {}, nullptr, false, 0);
  set.setPanicThreshold(0);
  words.health[0] = words.health[1] = 1;
  set.refresh(1, 0);
  EXPECT_FALSE(set.panicking());
  EXPECT_FALSE(set.eligible(0));
  EXPECT_TRUE(set.eligible(2));
}

}  // namespace
}  // namespace gourmet::balancers
