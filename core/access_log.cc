#include "core/access_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <system_error>
#include <utility>

#include "core/log.h"

namespace gourmet::core {
namespace {

// The writer wakes early once this much is buffered, so a busy log goes out in
// few large write(2)s, and a quiet one still reaches the file within
// kWriteInterval.
constexpr size_t kWakeBytes = size_t{64} << 10;
constexpr auto kWriteInterval = std::chrono::milliseconds(200);

std::string errnoText(int err) { return std::generic_category().message(err); }

Result<int> openForAppend(const std::string& path) {
  // O_APPEND: each write(2) lands at the end even if another process (or a
  // rotation tool truncating in place) appends to the same file.
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail(fmt::format("cannot open access log '{}': {}", path, errnoText(errno)));
  return fd;
}

// Appends `field` copying only printable ASCII other than space, '"' and '\\';
// everything else becomes \xHH (as nginx escapes its logs). The client chooses
// the target and more, and must not be able to end a field or a line.
void appendEscaped(std::string& out, std::string_view field) {
  if (field.empty()) {
    out += '-';
    return;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto plain = [](unsigned char c) { return c > ' ' && c < 0x7f && c != '"' && c != '\\'; };
  size_t start = 0;
  for (size_t i = 0; i < field.size(); ++i) {
    auto c = static_cast<unsigned char>(field[i]);
    if (plain(c)) continue;
    out.append(field.substr(start, i - start));
    const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    out.append(escaped, sizeof escaped);
    start = i + 1;
  }
  out.append(field.substr(start));
}

// "25/Nov/2026:08:30:00 +0000". Cached per thread for the last second seen:
// gmtime_r and the formatting cost more than the rest of the line, and a
// worker logs many requests within one second.
std::string_view timestamp(std::time_t when) {
  struct Cache {
    std::time_t second = 0;
    size_t size = 0;  // 0 = nothing cached yet
    char text[40];
  };
  thread_local Cache cache;
  if (cache.size == 0 || when != cache.second) {
    // Month names by hand: strftime's %b follows the process locale.
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&when, &tm);
    auto result = fmt::format_to_n(
        cache.text, sizeof cache.text, "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000", tm.tm_mday,
        kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cache.size = std::min(result.size, sizeof cache.text);
    cache.second = when;
  }
  return {cache.text, cache.size};
}

}  // namespace

void formatAccessLogLine(const AccessLogEntry& entry, std::string& out) {
  out.clear();
  auto sink = std::back_inserter(out);
  appendEscaped(out, entry.client_ip);
  out += " - - [";
  out += timestamp(entry.when);
  out += "] \"";
  appendEscaped(out, entry.method);
  out += ' ';
  appendEscaped(out, entry.target);
  fmt::format_to(sink, " HTTP/1.{}\" {} {} \"", entry.http_minor, entry.status, entry.bytes_sent);
  appendEscaped(out, entry.upstream);
  fmt::format_to(sink, "\" {:.3f} ", entry.duration_ms);
  appendEscaped(out, entry.reason);
}

AccessLog::AccessLog(std::string path, int fd, size_t producers, size_t max_buffered_bytes)
    : path_(std::move(path)), fd_(fd) {
  producers_.reserve(producers);
  for (size_t i = 0; i < producers; ++i) {
    producers_.push_back(std::make_unique<Producer>(max_buffered_bytes));
  }
  const size_t ring_bytes = producers_.empty() ? 0 : producers_.front()->ring.capacity();
  wake_bytes_ = std::min(kWakeBytes, ring_bytes / 2);
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path, size_t producers,
                                                   size_t max_buffered_bytes) {
  auto fd = openForAppend(path);
  if (!fd) return tl::unexpected(fd.error());
  std::unique_ptr<AccessLog> log(new AccessLog(path, *fd, producers, max_buffered_bytes));
  try {
    log->writer_ = std::thread([raw = log.get()] { raw->run(); });
  } catch (const std::system_error& e) {
    return fail(fmt::format("cannot start the access log writer for '{}': {}", path, e.what()));
  }
  return log;
}

AccessLog::~AccessLog() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wakeup_.notify();
    writer_.join();
  }
  if (next_fd_ >= 0) ::close(next_fd_);
  ::close(fd_);
}

void AccessLog::write(size_t producer, std::string_view line) {
  if (producer >= producers_.size()) {
    lost_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Producer& p = *producers_[producer];
  const size_t before = p.ring.used();
  if (!p.ring.push(line, "\n")) {
    p.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Only the line that crosses the threshold wakes the writer: one wake-up
  // per batch, not one per line; a quieter log goes out every
  // kWriteInterval.
  if (before < wake_bytes_ && before + line.size() + 1 >= wake_bytes_) wakeup_.notify();
}

uint64_t AccessLog::dropped() const {
  uint64_t total = lost_.load(std::memory_order_relaxed);
  for (const auto& p : producers_) total += p->dropped.load(std::memory_order_relaxed);
  return total;
}

void AccessLog::flush() {
  // A ring is emptied only once its bytes are written: all empty means
  // nothing is pending, not even a batch in flight.
  bool pending = false;
  for (const auto& p : producers_) pending = pending || p->ring.used() > 0;
  if (!pending) return;
  std::unique_lock lock(mutex_);
  const uint64_t wanted = ++flushes_wanted_;
  wakeup_.notify();
  batch_written_.wait(lock, [&] { return flushes_done_ >= wanted; });
}

Result<void> AccessLog::reopen() {
  auto fd = openForAppend(path_);
  if (!fd) return tl::unexpected(fd.error());
  int superseded = -1;
  {
    std::lock_guard lock(mutex_);
    superseded = std::exchange(next_fd_, *fd);
  }
  wakeup_.notify();
  if (superseded >= 0) ::close(superseded);  // two reopens before the writer woke
  return {};
}

void AccessLog::run() {
  bool failing = false;  // report a failing disk once, not every batch
  for (;;) {
    wakeup_.wait(kWriteInterval);
    int retired = -1;
    uint64_t flushes = 0;
    bool last = false;
    {
      // What a flush() or the destructor asked for before this point was
      // pushed before it too: the batch below includes it.
      std::lock_guard lock(mutex_);
      if (next_fd_ >= 0) retired = std::exchange(fd_, std::exchange(next_fd_, -1));
      flushes = flushes_wanted_;
      last = stopping_;
    }
    if (retired >= 0) ::close(retired);
    writeBatch(failing);
    {
      std::lock_guard lock(mutex_);
      flushes_done_ = flushes;
    }
    batch_written_.notify_all();
    if (last) return;
  }
}

void AccessLog::writeBatch(bool& failing) {
  // The rings are written in place: no copy, one writev(2) for all of them.
  std::vector<iovec>& parts = iovecs_;
  parts.clear();
  std::vector<size_t>& taken = taken_;
  taken.assign(producers_.size(), 0);
  for (size_t i = 0; i < producers_.size(); ++i) {
    for (std::string_view span : producers_[i]->ring.readable()) {
      if (span.empty()) continue;
      parts.push_back({const_cast<char*>(span.data()), span.size()});
      taken[i] += span.size();
    }
  }
  size_t first = 0;
  while (first < parts.size()) {
    const int count = static_cast<int>(std::min<size_t>(parts.size() - first, IOV_MAX));
    ssize_t n = ::writev(fd_, parts.data() + first, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      break;
    }
    for (auto done = static_cast<size_t>(n); done > 0 && first < parts.size();) {
      const size_t step = std::min(done, parts[first].iov_len);
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + step;
      parts[first].iov_len -= step;
      done -= step;
      if (parts[first].iov_len == 0) ++first;
    }
  }
  const int err = errno;
  uint64_t lines_lost = 0;
  for (size_t i = first; i < parts.size(); ++i) {
    const auto* begin = static_cast<const char*>(parts[i].iov_base);
    lines_lost += static_cast<uint64_t>(std::count(begin, begin + parts[i].iov_len, '\n'));
  }
  for (size_t i = 0; i < producers_.size(); ++i) producers_[i]->ring.consume(taken[i]);
  if (lines_lost > 0) {
    lost_.fetch_add(lines_lost, std::memory_order_relaxed);
    if (!failing) {
      log(LogLevel::kError, "access log '{}': write failed, dropping lines: {}", path_,
          errnoText(err));
    }
  }
  failing = lines_lost > 0;
}

}  // namespace gourmet::core
