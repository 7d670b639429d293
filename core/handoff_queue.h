#pragma once

// Accepted connections on their way from one worker to another
// (server.accept_balance: least_loaded). Any thread pushes, only the owning
// worker pops. Bounded and lock-free, after Dmitry Vyukov's bounded queue:
// each cell's sequence number says whether it is free for the producer at
// that position or filled for the consumer, so a producer never waits. A
// full queue is an answer, not a stall: the accepting worker keeps the
// connection.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gourmet::core {

// What accept4 returned: the descriptor and the peer's address.
struct AcceptedConnection {
  int fd = -1;
  union {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } peer{};
};

class HandoffQueue {
 public:
  static constexpr size_t kCapacity = 256;  // a power of two

  HandoffQueue() {
    for (size_t i = 0; i < kCapacity; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  HandoffQueue(const HandoffQueue&) = delete;
  HandoffQueue& operator=(const HandoffQueue&) = delete;

  // Any thread. False when the queue is full.
  bool push(const AcceptedConnection& connection) {
    size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[position & (kCapacity - 1)];
      const size_t sequence = cell.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<intptr_t>(sequence) - static_cast<intptr_t>(position);
      if (lag == 0) {
        if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          cell.value = connection;
          cell.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (lag < 0) {
        return false;  // the consumer has not freed this cell yet: full
      } else {
        position = tail_.load(std::memory_order_relaxed);  // another producer took it
      }
    }
  }

  // Owning worker only. False when nothing is (fully) pushed yet.
  bool pop(AcceptedConnection& out) {
    Cell& cell = cells_[head_ & (kCapacity - 1)];
    if (cell.sequence.load(std::memory_order_acquire) != head_ + 1) return false;
    out = cell.value;
    cell.sequence.store(head_ + kCapacity, std::memory_order_release);
    ++head_;
    popped_.store(head_, std::memory_order_relaxed);
    return true;
  }

  // Any thread: connections pushed and not yet popped (a snapshot).
  size_t size() const {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t head = popped_.load(std::memory_order_relaxed);
    return tail > head ? tail - head : 0;
  }

 private:
  struct Cell {
    std::atomic<size_t> sequence;
    AcceptedConnection value;
  };

  std::array<Cell, kCapacity> cells_;
  alignas(64) std::atomic<size_t> tail_{0};  // next position to push
  alignas(64) size_t head_ = 0;              // next position to pop (consumer only)
  std::atomic<size_t> popped_{0};            // head_, for size() from other threads
};

}  // namespace gourmet::core
