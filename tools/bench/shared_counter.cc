// What "the one shared counter" costs (DESIGN.md): each request does one
// relaxed fetch_add and one fetch_sub on its server's in-flight count, a
// cache line shared by every worker. This times that pair per request
//  - on one thread (no sharing: the instruction's own cost),
//  - on two threads hammering the same counter (every request of both
//    workers on one server: the line bounces on each operation),
//  - on two threads with a counter each (what per-worker counts would cost),
// and prints nanoseconds per request for each, as the median of 5 runs.
// Real requests space these operations microseconds apart, so the bouncing
// case is an upper bound on the real cost.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

struct alignas(64) Counter {
  std::atomic<uint32_t> active{0};
};

constexpr uint64_t kRequests = 20'000'000;

void requests(Counter& counter) {
  for (uint64_t i = 0; i < kRequests; ++i) {
    counter.active.fetch_add(1, std::memory_order_relaxed);
    counter.active.fetch_sub(1, std::memory_order_relaxed);
  }
}

// Nanoseconds per request with one thread per entry of `counters`.
double timed(std::vector<Counter*> counters) {
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (Counter* counter : counters) threads.emplace_back(requests, std::ref(*counter));
  for (auto& thread : threads) thread.join();
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - began;
  return elapsed.count() / kRequests;
}

template <class Fn>
double median(Fn fn) {
  std::array<double, 5> runs{};
  for (double& run : runs) run = fn();
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

}  // namespace

int main() {
  Counter a, b;
  const double alone = median([&] { return timed({&a}); });
  const double shared = median([&] { return timed({&a, &a}); });
  const double apart = median([&] { return timed({&a, &b}); });
  fmt::print("shared counter: ns per request (fetch_add + fetch_sub, relaxed), median of 5:\n");
  fmt::print("  1 thread                    {:6.1f}\n", alone);
  fmt::print("  2 threads, same counter     {:6.1f}   (both workers on one server, back to back)\n",
             shared);
  fmt::print("  2 threads, own counter each {:6.1f}\n", apart);
}
