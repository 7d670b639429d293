#include "core/log_writer.h"

#include <fmt/format.h>
#include <limits.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log_records.h"
#include "core/thread_wakeup.h"

namespace gourmet::core {
namespace {

// Lines of threads without a queue of their own: the main thread logs a few
// lines per reload or signal, so this is plenty.
constexpr size_t kSharedBytes = size_t{64} << 10;
// Producers wake the writer for every batch; this only bounds a lost cause.
constexpr auto kIdleWait = std::chrono::milliseconds(1000);

struct State {
  ThreadWakeup wakeup;
  std::mutex mutex;  // guards what follows; workers take it once, to register
  std::condition_variable finished_cv;
  std::string shared;
  std::vector<std::unique_ptr<LogQueue>> queues;
  int fd = STDERR_FILENO;
  bool running = false;   // lines are taken
  bool stopping = false;  // the writer ends after its next pass
  bool finished = false;
  bool abandoned = false;       // stop() gave up on a stuck writer
  uint64_t shared_dropped = 0;  // and those of queues freed by stop()
  uint64_t reported = 0;        // drops already reported (the writer's)
  std::thread thread;
};

// Never destroyed: a writer that stop() gave up on may still be blocked in
// write(2) on it while the process exits.
State& state() {
  static State* const s = new State;
  return *s;
}

// Writes every piece; on an error other than EINTR the rest is lost (stderr
// is where the log would complain).
void writeAll(int fd, std::vector<iovec>& parts) {
  size_t first = 0;
  while (first < parts.size()) {
    const int count = static_cast<int>(std::min<size_t>(parts.size() - first, IOV_MAX));
    const ssize_t n = ::writev(fd, parts.data() + first, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (auto done = static_cast<size_t>(n); done > 0;) {
      const size_t step = std::min(done, parts[first].iov_len);
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + step;
      parts[first].iov_len -= step;
      done -= step;
      if (parts[first].iov_len == 0) ++first;
    }
  }
}

void writeAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void run() {
  State& s = state();
  std::string batch;
  std::vector<LogQueue*> queues;
  std::vector<size_t> taken;
  std::vector<LogRecordCursor> cursors;
  std::vector<iovec> parts;
  for (;;) {
    s.wakeup.wait(kIdleWait);
    bool last = false;
    uint64_t dropped = 0;
    queues.clear();
    taken.clear();
    cursors.clear();
    {
      // The rings are looked at under the lock too: every record taken in
      // this pass is then older than any shared line queued after it.
      std::lock_guard lock(s.mutex);
      batch.swap(s.shared);
      cursors.emplace_back(batch, std::string_view());
      dropped = s.shared_dropped;
      for (const auto& queue : s.queues) {
        // The count first: the lines queued before those drops are then in
        // this pass, so the report comes after them, not among them.
        dropped += queue->dropped();
        const auto spans = queue->ring().readable();
        queues.push_back(queue.get());
        taken.push_back(spans[0].size() + spans[1].size());
        cursors.emplace_back(spans[0], spans[1]);
      }
      last = s.stopping;
    }
    parts.clear();
    mergeLogRecords(cursors, parts);
    writeAll(s.fd, parts);
    batch.clear();
    for (size_t i = 0; i < queues.size(); ++i) queues[i]->ring().consume(taken[i]);
    // Reported once stderr took the lines above: the count says what is
    // missing before this point.
    if (dropped > s.reported) {
      const std::string line = fmt::format(
          "gourmet[warn] {} log lines dropped: stderr was not keeping up ({} since start)\n",
          dropped - s.reported, dropped);
      writeAll(s.fd, line);
      s.reported = dropped;
    }
    if (last) break;
  }
  std::lock_guard lock(s.mutex);
  s.finished = true;
  s.finished_cv.notify_all();
}

}  // namespace

void LogQueue::push(std::string_view line) {
  const LogRecordHeader header = logRecordHeader(logClockNs(), line.size());
  // Release: whoever reads the count sees the lines queued before the drop.
  if (!ring_.push(header.view(), line)) dropped_.fetch_add(1, std::memory_order_release);
  wakeup_.notify();
}

void LogWriter::start(int fd) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (s.running || s.abandoned) return;
  s.fd = fd;
  s.running = true;
  s.stopping = s.finished = false;
  s.thread = std::thread(run);
}

void LogWriter::stop(std::chrono::milliseconds grace) {
  State& s = state();
  std::unique_lock lock(s.mutex);
  if (!s.running) return;
  s.running = false;
  s.stopping = true;
  s.wakeup.notify();
  if (!s.finished_cv.wait_for(lock, grace, [&] { return s.finished; })) {
    s.thread.detach();  // stderr is stuck: exit without the rest
    s.abandoned = true;
    return;
  }
  lock.unlock();
  s.thread.join();
  lock.lock();
  for (const auto& queue : s.queues) s.shared_dropped += queue->dropped();
  s.queues.clear();
}

LogQueue* LogWriter::registerQueue() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.running) return nullptr;
  s.queues.push_back(std::make_unique<LogQueue>(s.wakeup));
  return s.queues.back().get();
}

bool LogWriter::enqueue(std::string_view line) {
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    if (!s.running) return false;
    if (s.shared.size() + kLogRecordHeaderBytes + line.size() > kSharedBytes) {
      ++s.shared_dropped;
    } else {
      // Timed under the lock: the shared queue's records stay in order.
      s.shared.append(logRecordHeader(logClockNs(), line.size()).view());
      s.shared.append(line);
    }
  }
  s.wakeup.notify();
  return true;
}

void LogWriter::writeNow(std::string_view line) { writeAll(STDERR_FILENO, line); }

uint64_t LogWriter::dropped() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  uint64_t total = s.shared_dropped;
  for (const auto& queue : s.queues) total += queue->dropped();
  return total;
}

}  // namespace gourmet::core
