#include "core/access_log.h"

#include <fcntl.h>
#include <fmt/format.h>
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

// Writes all of `data`; returns how many bytes could not be written (errno
// tells why).
size_t writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return data.size();
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
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

AccessLog::AccessLog(std::string path, int fd, size_t max_buffered_bytes)
    : path_(std::move(path)), max_buffered_bytes_(max_buffered_bytes), fd_(fd) {
  // Most batches stay under the wake threshold: reserve it up front so the
  // workers rarely allocate under the lock.
  front_.reserve(std::min(max_buffered_bytes_, 2 * kWakeBytes));
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path,
                                                   size_t max_buffered_bytes) {
  auto fd = openForAppend(path);
  if (!fd) return tl::unexpected(fd.error());
  std::unique_ptr<AccessLog> log(new AccessLog(path, *fd, max_buffered_bytes));
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
    wake_writer_.notify_one();
    writer_.join();
  }
  if (next_fd_ >= 0) ::close(next_fd_);
  ::close(fd_);
}

void AccessLog::write(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (front_.size() + line.size() + 1 > max_buffered_bytes_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const size_t before = front_.size();
    front_.append(line);
    front_ += '\n';
    // Only the line that crosses the threshold wakes the writer: one notify
    // per batch, not one per line.
    wake = before < kWakeBytes && front_.size() >= kWakeBytes;
  }
  if (wake) wake_writer_.notify_one();
}

uint64_t AccessLog::dropped() const { return dropped_.load(std::memory_order_relaxed); }

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  // What is in front_ goes out with the next batch; otherwise wait only for
  // the batch in flight, if any.
  const uint64_t target = batches_taken_ + (front_.empty() ? 0 : 1);
  if (batches_written_ >= target) return;
  if (!front_.empty()) {
    flush_wanted_ = true;
    wake_writer_.notify_one();
  }
  batch_written_.wait(lock, [&] { return batches_written_ >= target; });
}

Result<void> AccessLog::reopen() {
  auto fd = openForAppend(path_);
  if (!fd) return tl::unexpected(fd.error());
  int superseded = -1;
  {
    std::lock_guard lock(mutex_);
    superseded = std::exchange(next_fd_, *fd);
  }
  wake_writer_.notify_one();
  if (superseded >= 0) ::close(superseded);  // two reopens before the writer woke
  return {};
}

void AccessLog::run() {
  std::string batch;
  batch.reserve(2 * kWakeBytes);
  bool failing = false;  // report a failing disk once, not every batch
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_writer_.wait_for(lock, kWriteInterval, [&] {
      return stopping_ || flush_wanted_ || next_fd_ >= 0 || front_.size() >= kWakeBytes;
    });
    int retired = -1;
    if (next_fd_ >= 0) retired = std::exchange(fd_, std::exchange(next_fd_, -1));
    // The swap hands the workers the emptied buffer of the last batch, whose
    // capacity is kept: no allocation in the steady state.
    batch.swap(front_);
    flush_wanted_ = false;
    const uint64_t number = ++batches_taken_;
    lock.unlock();

    if (retired >= 0) ::close(retired);
    if (!batch.empty()) {
      const size_t unwritten = writeAll(fd_, batch);
      if (unwritten > 0) {
        const int err = errno;
        const std::string_view lost = std::string_view(batch).substr(batch.size() - unwritten);
        const auto lines = static_cast<uint64_t>(std::count(lost.begin(), lost.end(), '\n'));
        dropped_.fetch_add(lines, std::memory_order_relaxed);
        if (!failing) {
          log(LogLevel::kError, "access log '{}': write failed, dropping lines: {}", path_,
              errnoText(err));
        }
      }
      failing = unwritten > 0;
      batch.clear();
    }

    lock.lock();
    batches_written_ = number;
    batch_written_.notify_all();
    if (stopping_ && front_.empty()) return;
  }
}

}  // namespace gourmet::core
