#include "balancers/random_stream.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

TEST(RandomStream, SameSeedAndStreamRepeat) {
  RandomStream a(42, 3);
  RandomStream b(42, 3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
}

TEST(RandomStream, StreamsAndSeedsDiffer) {
  RandomStream base(42, 0);
  RandomStream other_stream(42, 1);
  RandomStream other_seed(43, 0);
  RandomStream swapped(43, 1);
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = base.next();
    same += x == other_stream.next();
    same += x == other_seed.next();
    same += x == swapped.next();
  }
  EXPECT_EQ(same, 0);
}

TEST(RandomStream, BelowIsUniformWithinItsBound) {
  // 100k draws into 10 buckets; df 9, so a fair stream exceeds the bound
  // once in a thousand seeds, and this seed is fixed.
  RandomStream random(7, 0);
  std::vector<size_t> counts(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t value = random.below(10);
    ASSERT_LT(value, 10u);
    ++counts[value];
  }
  EXPECT_LT(chiSquare(counts, std::vector<double>(10, 1.0)), kChiSquare999[9]);
  EXPECT_EQ(random.below(1), 0u);
}

TEST(RandomStream, UnitIsInTheHalfOpenInterval) {
  RandomStream random(1, 1);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    const double value = random.unit();
    ASSERT_GE(value, 0.0);
    ASSERT_LT(value, 1.0);
    sum += value;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

}  // namespace
}  // namespace gourmet::balancers
