#include "core/health_monitor.h"

namespace gourmet::core {

HealthMonitor::HealthMonitor(uv_loop_t* loop) : loop_(loop), checks_(loop) {
  uv_async_init(loop, &wakeup_, &HealthMonitor::onWakeup);
  wakeup_.data = this;
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  checks_.onServerUp(
      [this](UpstreamServer& server) { schedule(ejections_.uneject(server, uv_now(loop_))); });
  // Neither keeps the loop alive: the proxy runs until its workers end.
  uv_unref(reinterpret_cast<uv_handle_t*>(&wakeup_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
}

void HealthMonitor::adopt(std::shared_ptr<const Snapshot> snapshot) {
  current_ = std::move(snapshot);
  ejections_.adopt(*current_);
  checks_.adopt(current_);
  // Requests made against the previous snapshot's servers that stay.
  schedule(ejections_.take(*current_, uv_now(loop_)));
}

void HealthMonitor::stop() {
  if (stopped_) return;
  stopped_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  checks_.stop([] {});
  current_.reset();
}

void HealthMonitor::onWakeup(uv_async_t* async) {
  auto* self = static_cast<HealthMonitor*>(async->data);
  if (self->current_ == nullptr) return;
  uv_update_time(self->loop_);
  self->schedule(self->ejections_.take(*self->current_, uv_now(self->loop_)));
}

void HealthMonitor::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<HealthMonitor*>(timer->data);
  self->schedule(self->ejections_.expire(uv_now(self->loop_)));
}

void HealthMonitor::schedule(uint64_t due_ms) {
  if (stopped_) return;
  uv_timer_stop(&timer_);
  if (due_ms == 0) return;
  const uint64_t now = uv_now(loop_);
  uv_timer_start(&timer_, &HealthMonitor::onTimer, due_ms > now ? due_ms - now : 0, 0);
}

}  // namespace gourmet::core
