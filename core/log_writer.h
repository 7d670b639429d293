#pragma once

// The one thread that writes log lines to stderr while it runs, so that no
// worker ever blocks on a slow reader of stderr (journald, a container
// runtime, a pipe nobody reads).
//
// Each worker thread registers a LogQueue of its own at start (a lock-free
// single-producer ring: logging a line takes no lock); other threads (main,
// the access log's writer) share one small queue under a mutex no worker
// takes. The writer merges what the queues hold by the time each line was
// logged (core/log_records.h), so lines keep the order they were logged in,
// across threads too. A line that finds its queue
// full is dropped and counted, and the writer reports the count in a later
// line ("... log lines dropped ...") once stderr takes lines again.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/byte_ring.h"

namespace gourmet::core {

class ThreadWakeup;

// One worker thread's queue of log lines. Owned by the LogWriter.
class LogQueue {
 public:
  static constexpr size_t kBytes = size_t{64} << 10;  // lines and their record headers

  LogQueue(ThreadWakeup& writer_wakeup) : wakeup_(writer_wakeup) {}
  // The owning thread only: queues `line` (complete, with its '\n') and
  // wakes the writer, or counts it as dropped when the queue is full.
  void push(std::string_view line);

  ByteRing& ring() { return ring_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_acquire); }

 private:
  ThreadWakeup& wakeup_;
  ByteRing ring_{kBytes};
  std::atomic<uint64_t> dropped_{0};
};

class LogWriter {
 public:
  // Main thread: starts the writer thread writing to `fd`. Lines logged
  // before go straight to stderr.
  static void start(int fd = STDERR_FILENO);
  // Main thread, once every thread that registered a queue has ended:
  // writes everything queued and stops the thread. If `fd` stays blocked
  // past `grace`, gives up (the thread is left behind) so the process can
  // still exit. Lines logged afterwards go straight to stderr.
  static void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // The calling thread's own queue, until stop(); nullptr when no writer
  // runs. One call per thread (a worker at its start).
  static LogQueue* registerQueue();
  // Any thread without a queue: queues `line` for the writer; false when no
  // writer runs (the caller writes it itself).
  static bool enqueue(std::string_view line);
  // Writes `line` to stderr now, from the calling thread (blocking).
  static void writeNow(std::string_view line);

  // Any thread: lines dropped because a queue was full, since the process
  // started (for SIGUSR2 and a future metrics endpoint).
  static uint64_t dropped();
};

}  // namespace gourmet::core
