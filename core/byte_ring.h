#pragma once

// A bounded ring of bytes with one producer thread and one consumer thread,
// without locks: the producer appends whole records (a log line and its
// '\n'), the consumer reads what is there in place (one or two spans, as the
// ring wraps) and then releases it. A record that does not fit is refused,
// whole, so the consumer only ever sees complete records. Used for the
// per-worker queues of log lines and access log lines.
//
// Thread affinity: push() on the producer only, readable()/consume() on the
// consumer only; used() and capacity() anywhere.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace gourmet::core {

class ByteRing {
 public:
  // `capacity` is rounded up to a power of two (at least 16).
  explicit ByteRing(size_t capacity);
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  // Producer. Appends `a` then `b` as one record when both fit; otherwise
  // writes nothing and returns false. Never allocates, never blocks.
  bool push(std::string_view a, std::string_view b = {});

  // Consumer. Everything pushed and not yet consumed, oldest first; the
  // second span is empty unless the bytes wrap around the end.
  std::array<std::string_view, 2> readable() const;
  // Consumer. Gives the first `bytes` of readable() back to the producer.
  void consume(size_t bytes);

  size_t capacity() const { return capacity_; }
  // Bytes pushed and not yet consumed (a moment's view from another thread).
  size_t used() const {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) -
                               tail_.load(std::memory_order_acquire));
  }

 private:
  const size_t capacity_;
  const std::unique_ptr<char[]> data_;
  // Positions only grow; a byte's slot is position & (capacity_ - 1). Each
  // on its own cache line: the producer writes head_, the consumer tail_.
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace gourmet::core
