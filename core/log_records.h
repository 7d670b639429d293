#pragma once

// How log lines sit in the LogWriter's queues: each is a record of the time
// it was logged (CLOCK_MONOTONIC, read without a system call), its length
// and the line. The writer merges the queues by time, so lines of different
// threads (a worker's exit line, the main thread's "stopped") reach stderr in
// the order they were logged, not in the order the writer visits queues.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace gourmet::core {

constexpr size_t kLogRecordHeaderBytes = 12;  // when (8) + size (4)

struct LogRecordHeader {
  char bytes[kLogRecordHeaderBytes];
  std::string_view view() const { return {bytes, sizeof bytes}; }
};

uint64_t logClockNs();
LogRecordHeader logRecordHeader(uint64_t when_ns, size_t size);

// Reads the records held in up to two spans (a ring's readable()), which
// must hold whole records.
class LogRecordCursor {
 public:
  LogRecordCursor(std::string_view first, std::string_view second);

  bool done() const { return at_ >= size_; }
  uint64_t when() const { return when_; }  // of the current record
  // Appends the current record's line (one piece, or two where it wraps)
  // to `out` and moves to the next record.
  void take(std::vector<iovec>& out);

 private:
  void readHeader();
  void copy(size_t at, size_t n, char* out) const;

  std::string_view first_, second_;
  size_t size_;
  size_t at_ = 0;  // start of the current record
  uint64_t when_ = 0;
  size_t line_size_ = 0;
};

// Appends the lines of every cursor to `out`, oldest first (by when; ties
// keep the cursors' order).
void mergeLogRecords(std::span<LogRecordCursor> cursors, std::vector<iovec>& out);

}  // namespace gourmet::core
