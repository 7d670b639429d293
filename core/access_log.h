#pragma once

// The access log: one line per finished request, written from worker threads
// that must never block on disk. write() only copies the line into a memory
// buffer under a short lock; a writer thread swaps that buffer out and calls
// write(2) outside the lock. When the disk cannot keep up, lines are dropped
// and counted instead of stalling the request path or growing without bound.

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

#include "core/error.h"

namespace gourmet::core {

class AccessLog {
 public:
  // Past this many buffered bytes new lines are dropped, so a stalled disk
  // costs at most twice this much memory (the buffer being filled and the one
  // being written).
  static constexpr size_t kDefaultMaxBufferedBytes = size_t{8} << 20;

  // Opens `path` for appending (created 0644) and starts the writer thread; the
  // error names the path and the reason. Tests pass a small bound.
  static Result<std::unique_ptr<AccessLog>> open(
      const std::string& path, size_t max_buffered_bytes = kDefaultMaxBufferedBytes);
  ~AccessLog();  // writes what is buffered, then stops the writer thread

  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Any thread. Appends `line` and a '\n'; `line` must not contain a '\n'
  // (formatAccessLogLine guarantees that). Never does I/O: the lock is held
  // only to copy into memory.
  void write(std::string_view line);

  // Lines that never reached the file: dropped because the buffer was full
  // (the disk could not keep up) or lost to a failed write(2).
  uint64_t dropped() const;

  // Blocks until every line written so far has been written to the file
  // (write(2), not fsync). For tests and shutdown, never for workers.
  void flush();

  // Main thread, for log rotation (SIGHUP/SIGUSR1): opens the path again; the
  // writer switches to the new file at its next batch and closes the old one.
  // On error the old file stays in use.
  Result<void> reopen();

 private:
  AccessLog(std::string path, int fd, size_t max_buffered_bytes);
  void run();  // the writer thread

  const std::string path_;
  const size_t max_buffered_bytes_;
  int fd_;  // touched only by the writer thread (and the destructor after join)
  std::atomic<uint64_t> dropped_{0};

  std::mutex mutex_;  // guards the members below
  std::condition_variable wake_writer_;
  std::condition_variable batch_written_;  // flush() waits on it
  std::string front_;                      // lines not yet taken by the writer
  int next_fd_ = -1;                       // from reopen(), not yet adopted
  uint64_t batches_taken_ = 0;
  uint64_t batches_written_ = 0;
  bool flush_wanted_ = false;
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
