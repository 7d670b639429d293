#include "core/byte_ring.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace gourmet::core {

ByteRing::ByteRing(size_t capacity)
    : capacity_(std::bit_ceil(capacity < 16 ? size_t{16} : capacity)),
      // Not value-initialised: pages are touched only once the ring reaches
      // them, so a ring that is rarely full costs little memory.
      data_(new char[capacity_]) {}

bool ByteRing::push(std::string_view a, std::string_view b) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  const size_t size = a.size() + b.size();
  if (size > capacity_ - static_cast<size_t>(head - tail)) return false;
  size_t at = static_cast<size_t>(head) & (capacity_ - 1);
  for (std::string_view part : {a, b}) {
    if (part.empty()) continue;  // memcpy from a null data() is undefined
    const size_t first = std::min(part.size(), capacity_ - at);
    std::memcpy(data_.get() + at, part.data(), first);
    std::memcpy(data_.get(), part.data() + first, part.size() - first);
    at = (at + part.size()) & (capacity_ - 1);
  }
  // Release: the consumer that sees the new head sees the bytes before it.
  head_.store(head + size, std::memory_order_release);
  return true;
}

std::array<std::string_view, 2> ByteRing::readable() const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  const size_t size = static_cast<size_t>(head - tail);
  const size_t at = static_cast<size_t>(tail) & (capacity_ - 1);
  const size_t first = std::min(size, capacity_ - at);
  return {std::string_view(data_.get() + at, first), std::string_view(data_.get(), size - first)};
}

void ByteRing::consume(size_t bytes) {
  // Release: the producer that sees the new tail may overwrite the bytes,
  // which the consumer has finished reading.
  tail_.store(tail_.load(std::memory_order_relaxed) + bytes, std::memory_order_release);
}

}  // namespace gourmet::core
