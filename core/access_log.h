#pragma once

// The access log: one line per finished request, written from worker threads
// that must never block on disk or take a lock per request. Each worker
// (producer) appends its lines to a ring of its own (ByteRing: one producer,
// one consumer, no lock); a writer thread takes what the rings hold and
// writes it with one writev(2) per batch. When the disk cannot keep up, a
// worker's ring fills and its new lines are dropped and counted instead of
// stalling the request path or growing without bound. Lines of one worker
// keep their order; lines of different workers interleave by batch.

#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/byte_ring.h"
#include "core/error.h"
#include "core/thread_wakeup.h"

namespace gourmet::core {

class AccessLog {
 public:
  // Each producer's ring holds at most this many bytes (rounded up to a
  // power of two), so a stalled disk costs at most this much memory per
  // worker.
  static constexpr size_t kDefaultMaxBufferedBytes = size_t{4} << 20;

  // Opens `path` for appending (created 0644, O_APPEND) for `producers`
  // writing threads (the workers, numbered from 0) and starts the writer
  // thread; the error names the path and the reason. Tests pass a small
  // bound.
  static Result<std::unique_ptr<AccessLog>> open(
      const std::string& path, size_t producers,
      size_t max_buffered_bytes = kDefaultMaxBufferedBytes);
  // Writes what is buffered, then stops the writer thread. Main thread only
  // (it joins a thread): the last snapshot holding the log is dropped there.
  ~AccessLog();

  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Producer `producer`'s thread only (one thread per producer number).
  // Appends `line` and a '\n'; `line` must not contain a '\n'
  // (formatAccessLogLine guarantees that). No lock, no I/O, no allocation.
  void write(size_t producer, std::string_view line);

  // Lines that never reached the file: dropped because a ring was full (the
  // disk could not keep up) or lost to a failed write(2).
  uint64_t dropped() const;

  // Blocks until every line written so far has been written to the file
  // (write(2), not fsync). For tests and shutdown, never for workers.
  void flush();

  // Main thread, for log rotation (SIGUSR1): opens the path again; the
  // writer switches to the new file at its next batch and closes the old one.
  // On error the old file stays in use.
  Result<void> reopen();

 private:
  struct Producer {
    explicit Producer(size_t bytes) : ring(bytes) {}
    ByteRing ring;
    std::atomic<uint64_t> dropped{0};
  };

  AccessLog(std::string path, int fd, size_t producers, size_t max_buffered_bytes);
  void run();  // the writer thread
  // Writes what the rings hold (the writer thread).
  void writeBatch(bool& failing);

  const std::string path_;
  std::vector<std::unique_ptr<Producer>> producers_;
  size_t wake_bytes_;  // a producer wakes the writer when its ring reaches this
  int fd_;             // touched only by the writer thread (and the destructor after join)
  std::atomic<uint64_t> lost_{0};  // to failed writes, or a producer number out of range
  ThreadWakeup wakeup_;
  std::vector<iovec> iovecs_;  // the writer's, kept with their capacity
  std::vector<size_t> taken_;

  std::mutex mutex_;                       // guards the members below; never taken by a producer
  std::condition_variable batch_written_;  // flush() waits on it
  int next_fd_ = -1;                       // from reopen(), not yet adopted
  uint64_t flushes_wanted_ = 0;
  uint64_t flushes_done_ = 0;
  bool stopping_ = false;

  std::thread writer_;
};

// One request as the access log shows it. The string fields may hold anything
// a client sent; formatting escapes them.
struct AccessLogEntry {
  std::string_view client_ip{};
  std::string_view method{};
  std::string_view target{};    // as the client sent it
  std::string_view upstream{};  // "host:port" of the server used; empty when none
  std::string_view reason{};    // why the request ended: "ok", "upstream_timeout", ...
  int http_minor = 1;
  int status = 0;
  uint64_t bytes_sent = 0;
  double duration_ms = 0;
  std::time_t when = 0;  // seconds since the epoch, shown in UTC
};

// Formats `entry` into `out` (cleared first) as
//   CLIENT_IP - - [25/Nov/2026:08:30:00 +0000] "METHOD TARGET HTTP/1.x" STATUS BYTES
//   "UPSTREAM_ADDR" DURATION_MS REASON
// on one line, without allocating once `out` has the capacity. In the string
// fields, space, '"', '\\', control bytes and non-ASCII bytes become \xHH, so
// a client cannot forge a line or shift a field; an empty field is "-".
void formatAccessLogLine(const AccessLogEntry& entry, std::string& out);

}  // namespace gourmet::core
