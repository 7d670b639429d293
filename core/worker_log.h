#pragma once

// A worker thread's LogSink: its lines go through a LogQueue of its own to
// the LogWriter thread (no lock, no blocking call per line), and keyed lines
// (logRepeated) are rate-limited, with the summaries written from a timer on
// the worker's loop when each window ends. Without a running LogWriter
// (unit tests) lines are written directly, as on any other thread.

#include <uv.h>

#include "core/log.h"
#include "core/log_rate_limiter.h"

namespace gourmet::core {

class LogQueue;

class WorkerLog final : public LogSink {
 public:
  WorkerLog() = default;
  WorkerLog(const WorkerLog&) = delete;
  WorkerLog& operator=(const WorkerLog&) = delete;

  // Worker thread, first thing: becomes the thread's sink.
  void start(uv_loop_t* loop);
  // Worker thread, before its loop ends: writes the summaries still due and
  // closes the timer. Later lines still go through the queue, unlimited.
  void stop();

  void write(std::string_view line) override;
  bool admit(LogLevel level, const LogKey& key) override;

 private:
  static void onSummaryDue(uv_timer_t* timer);
  void writeSummaries();
  void writeSummary(const LogRateLimiter::Summary& summary);
  void armTimer();

  uv_loop_t* loop_ = nullptr;  // null: not rate-limiting
  uv_timer_t timer_{};
  LogQueue* queue_ = nullptr;
  LogRateLimiter limiter_;
};

}  // namespace gourmet::core
