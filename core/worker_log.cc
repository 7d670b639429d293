#include "core/worker_log.h"

#include "core/log_writer.h"

namespace gourmet::core {

void WorkerLog::start(uv_loop_t* loop) {
  loop_ = loop;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  queue_ = LogWriter::registerQueue();
  setThreadLogSink(this);
}

void WorkerLog::stop() {
  if (loop_ == nullptr) return;
  // Whatever is still counted: a window that has not ended yet is
  // summarised early rather than lost.
  while (auto due = limiter_.takeDue(UINT64_MAX)) writeSummary(*due);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  loop_ = nullptr;
}

void WorkerLog::write(std::string_view line) {
  if (queue_ != nullptr) {
    queue_->push(line);
  } else if (!LogWriter::enqueue(line)) {
    LogWriter::writeNow(line);
  }
}

bool WorkerLog::admit(LogLevel level, const LogKey& key) {
  if (loop_ == nullptr) return true;
  const LogRateLimiter::Verdict verdict = limiter_.admit(level, key, uv_now(loop_));
  if (verdict.summary) writeSummary(*verdict.summary);
  if (!verdict.write) armTimer();
  return verdict.write;
}

void WorkerLog::onSummaryDue(uv_timer_t* timer) {
  auto* self = static_cast<WorkerLog*>(timer->data);
  self->writeSummaries();
  self->armTimer();
}

void WorkerLog::writeSummaries() {
  const uint64_t now = uv_now(loop_);
  while (auto due = limiter_.takeDue(now)) writeSummary(*due);
}

void WorkerLog::writeSummary(const LogRateLimiter::Summary& summary) {
  writeLogLine(summary.level, summary.text);
}

void WorkerLog::armTimer() {
  // Armed for an earlier window: when it fires it arms for the next one.
  // (Checked first: a suppressed line then costs no scan of the slots.)
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_))) return;
  const auto due = limiter_.nextDue();
  if (!due) return;
  const uint64_t now = uv_now(loop_);
  uv_timer_start(&timer_, &WorkerLog::onSummaryDue, *due > now ? *due - now : 0, 0);
}

}  // namespace gourmet::core
