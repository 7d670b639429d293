#include "core/worker_stats.h"

#include <gtest/gtest.h>

namespace gourmet::core {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueWithoutGaps) {
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    ASSERT_EQ(LatencyHistogram::highestOf(b) + 1, LatencyHistogram::lowestOf(b + 1)) << b;
    ASSERT_EQ(LatencyHistogram::bucketOf(LatencyHistogram::lowestOf(b)), b);
    ASSERT_EQ(LatencyHistogram::bucketOf(LatencyHistogram::highestOf(b)), b);
  }
  EXPECT_EQ(LatencyHistogram::bucketOf(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, BucketsAreNarrowerThanSevenPercent) {
  for (size_t b = 16; b + 1 < LatencyHistogram::kBuckets; ++b) {
    const double low = static_cast<double>(LatencyHistogram::lowestOf(b));
    const double width = static_cast<double>(LatencyHistogram::highestOf(b)) - low + 1;
    ASSERT_LE(width / low, 1.0 / 16 + 1e-9) << b;
  }
}

TEST(LatencyHistogram, PercentilesOfAKnownSpread) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.percentile(0.99), 0u);
  // 1..1000 µs once each, and one 50 ms outlier.
  for (uint64_t us = 1; us <= 1000; ++us) histogram.record(us);
  histogram.record(50'000);
  EXPECT_EQ(histogram.count(), 1001u);
  EXPECT_NEAR(static_cast<double>(histogram.percentile(0.5)), 501, 501 * 0.035);
  EXPECT_NEAR(static_cast<double>(histogram.percentile(0.99)), 991, 991 * 0.035);
  EXPECT_NEAR(static_cast<double>(histogram.percentile(1.0)), 50'000, 50'000 * 0.035);
  EXPECT_EQ(histogram.percentile(0.0001), 1u);
}

TEST(WorkerStats, DescribesItselfOnOneLine) {
  WorkerStats stats;
  stats.connections.add(3);
  stats.handed_in.add();
  stats.handed_out.add(2);
  stats.requests.add(10);
  for (int i = 0; i < 10; ++i) stats.latency.record(2000);
  EXPECT_EQ(describeWorkerStats(1, stats, 2, 1),
            "worker 1: open 2, busy 1, connections 3 (1 in, 2 out), requests 10, p50 2.02 ms, "
            "p99 2.02 ms, p99.9 2.02 ms");
}

}  // namespace
}  // namespace gourmet::core
