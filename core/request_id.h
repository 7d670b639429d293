#pragma once

// The id gourmet gives each request it serves, so that a client quoting the
// X-Request-Id of an error page leads an operator to the matching log line.
//
// 16 lowercase hex digits: 4 of a random prefix drawn once per process run
// (ids of two runs usually differ at a glance), 3 of the worker's index and
// 9 of a per-worker sequence number (68 billion requests per worker before
// it wraps). Unique within one process run for up to 4096 workers; making
// one is an increment and sixteen table look-ups, with no lock, no atomic
// and no allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gourmet::core {

class RequestId {
 public:
  static constexpr size_t kSize = 16;

  RequestId() { digits_.fill('0'); }

  // The next id on the calling thread (each worker is one thread, so the
  // sequence is per worker). `worker` is the worker's index.
  static RequestId next(uint32_t worker);
  // The id of `value`, as next() formats it.
  static RequestId of(uint64_t value);

  std::string_view view() const { return {digits_.data(), digits_.size()}; }

 private:
  std::array<char, kSize> digits_;
};

}  // namespace gourmet::core
