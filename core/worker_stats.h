#pragma once

// What a worker counts about itself: connections, requests and how long
// requests took. Only the owning worker writes (a relaxed load and store,
// no read-modify-write, so the request path pays no locked instruction);
// any thread may read, which is how SIGUSR2 and the exit line report on
// every worker, and how operators see whether connections are spread evenly.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace gourmet::core {

class StatCounter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Log-linear buckets over microseconds: 16 per power of two, so a
// percentile is known to within about 3% from 16 µs up to days.
class LatencyHistogram {
 public:
  void record(uint64_t micros) { buckets_[bucketOf(micros)].add(); }
  uint64_t count() const;
  // The value below which `fraction` (0-1) of the recorded ones fall, in
  // microseconds (the middle of its bucket); 0 when nothing was recorded.
  uint64_t percentile(double fraction) const;

  static constexpr int kSubBits = 4;
  static constexpr int kMaxExponent = 40;  // 2^40 µs is 12 days: later ones share the top
  static constexpr size_t kBuckets = (kMaxExponent - kSubBits + 2) << kSubBits;
  static size_t bucketOf(uint64_t micros);
  static uint64_t lowestOf(size_t bucket);
  static uint64_t highestOf(size_t bucket);

 private:
  std::array<StatCounter, kBuckets> buckets_{};
};

struct WorkerStats {
  StatCounter connections;   // started here: accepted here or handed in
  StatCounter handed_in;     // of those, accepted by another worker
  StatCounter handed_out;    // accepted here, sent to another worker
  StatCounter requests;      // exchanges finished
  LatencyHistogram latency;  // request head to the response's end
  // Failure handling (README, When servers fail).
  StatCounter retries;                   // retries started on another server
  StatCounter retries_budget_exhausted;  // retries refused by the retry budget
  StatCounter upstream_overflow;         // 503 upstream_overflow (circuit breaking)
  StatCounter panic_picks;               // picks made in panic mode
};

// "worker 0: open 12, busy 3, connections 340 (5 in, 7 out), requests 9120,
// p50 0.42 ms, p99 2.10 ms, p99.9 5.01 ms" for logs and the bench; `busy`
// counts connections with a request in flight. The failure counters follow
// when any is non-zero: ", retries 12 (3 over budget), overflow 4, panic
// picks 7".
std::string describeWorkerStats(uint32_t index, const WorkerStats& stats, uint64_t open,
                                uint64_t busy);

}  // namespace gourmet::core
