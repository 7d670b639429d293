#include "core/worker_stats.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <iterator>

namespace gourmet::core {

size_t LatencyHistogram::bucketOf(uint64_t micros) {
  constexpr uint64_t kLinear = uint64_t{1} << kSubBits;
  if (micros < kLinear) return static_cast<size_t>(micros);
  int exponent = std::bit_width(micros) - 1 - kSubBits;  // shift that leaves kSubBits+1 bits
  if (exponent > kMaxExponent - kSubBits) return kBuckets - 1;
  const uint64_t mantissa = micros >> exponent;  // in [kLinear, 2 * kLinear)
  return static_cast<size_t>((exponent + 1) << kSubBits) + static_cast<size_t>(mantissa - kLinear);
}

uint64_t LatencyHistogram::lowestOf(size_t bucket) {
  constexpr uint64_t kLinear = uint64_t{1} << kSubBits;
  if (bucket < kLinear) return bucket;
  const int exponent = static_cast<int>(bucket >> kSubBits) - 1;
  return (kLinear + (bucket & (kLinear - 1))) << exponent;
}

uint64_t LatencyHistogram::highestOf(size_t bucket) {
  if (bucket + 1 >= kBuckets) return UINT64_MAX;
  return lowestOf(bucket + 1) - 1;
}

uint64_t LatencyHistogram::count() const {
  uint64_t total = 0;
  for (const StatCounter& bucket : buckets_) total += bucket.get();
  return total;
}

uint64_t LatencyHistogram::percentile(double fraction) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  // The smallest value with at least ceil(fraction * total) values at or below it.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(fraction * total)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].get();
    if (seen >= rank) {
      if (i + 1 >= kBuckets) return lowestOf(i);
      return lowestOf(i) + (highestOf(i) - lowestOf(i)) / 2;
    }
  }
  return lowestOf(kBuckets - 1);
}

std::string describeWorkerStats(uint32_t index, const WorkerStats& stats, uint64_t open,
                                uint64_t busy) {
  const auto ms = [&](double fraction) { return stats.latency.percentile(fraction) / 1000.0; };
  std::string line = fmt::format(
      "worker {}: open {}, busy {}, connections {} ({} in, {} out), requests {}, p50 {:.2f} ms, "
      "p99 {:.2f} ms, p99.9 {:.2f} ms",
      index, open, busy, stats.connections.get(), stats.handed_in.get(), stats.handed_out.get(),
      stats.requests.get(), ms(0.5), ms(0.99), ms(0.999));
  const uint64_t retries = stats.retries.get(), over_budget = stats.retries_budget_exhausted.get();
  const uint64_t overflow = stats.upstream_overflow.get(), panic = stats.panic_picks.get();
  if (retries + over_budget + overflow + panic != 0) {
    fmt::format_to(std::back_inserter(line),
                   ", retries {} ({} over budget), overflow {}, panic picks {}", retries,
                   over_budget, overflow, panic);
  }
  return line;
}

}  // namespace gourmet::core
