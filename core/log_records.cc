#include "core/log_records.h"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace gourmet::core {

uint64_t logClockNs() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // vDSO: no system call
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

LogRecordHeader logRecordHeader(uint64_t when_ns, size_t size) {
  LogRecordHeader header;
  const auto size32 = static_cast<uint32_t>(size);
  std::memcpy(header.bytes, &when_ns, sizeof when_ns);
  std::memcpy(header.bytes + sizeof when_ns, &size32, sizeof size32);
  return header;
}

LogRecordCursor::LogRecordCursor(std::string_view first, std::string_view second)
    : first_(first), second_(second), size_(first.size() + second.size()) {
  if (!done()) readHeader();
}

void LogRecordCursor::copy(size_t at, size_t n, char* out) const {
  for (size_t i = 0; i < n; ++i, ++at) {
    out[i] = at < first_.size() ? first_[at] : second_[at - first_.size()];
  }
}

void LogRecordCursor::readHeader() {
  char header[kLogRecordHeaderBytes];
  copy(at_, sizeof header, header);
  uint32_t size = 0;
  std::memcpy(&when_, header, sizeof when_);
  std::memcpy(&size, header + sizeof when_, sizeof size);
  line_size_ = size;
}

void LogRecordCursor::take(std::vector<iovec>& out) {
  size_t at = at_ + kLogRecordHeaderBytes;
  size_t left = line_size_;
  if (at < first_.size()) {
    const size_t n = std::min(left, first_.size() - at);
    out.push_back({const_cast<char*>(first_.data() + at), n});
    at += n;
    left -= n;
  }
  if (left > 0) out.push_back({const_cast<char*>(second_.data() + (at - first_.size())), left});
  at_ += kLogRecordHeaderBytes + line_size_;
  if (!done()) readHeader();
}

void mergeLogRecords(std::span<LogRecordCursor> cursors, std::vector<iovec>& out) {
  // A handful of queues (one per worker, one shared): a linear scan for
  // the oldest is cheaper than a heap.
  for (;;) {
    LogRecordCursor* oldest = nullptr;
    for (LogRecordCursor& cursor : cursors) {
      if (!cursor.done() && (oldest == nullptr || cursor.when() < oldest->when())) {
        oldest = &cursor;
      }
    }
    if (oldest == nullptr) return;
    oldest->take(out);
  }
}

}  // namespace gourmet::core
