#include "core/deadline.h"

namespace gourmet::core {

void Deadline::init(uv_loop_t* loop, uv_timer_t* timer, Callback on_expire, void* owner) {
  loop_ = loop;
  timer_ = timer;
  on_expire_ = on_expire;
  owner_ = owner;
  timer_->data = this;
}

void Deadline::set(Millis timeout) {
  uint64_t now = uv_now(loop_);
  deadline_ms_ = now + static_cast<uint64_t>(timeout.count());
  if (deadline_ms_ == 0) deadline_ms_ = 1;
  // A running timer due no later than the deadline will fire and re-check.
  if (timer_due_ms_ == 0 || timer_due_ms_ > deadline_ms_) arm(deadline_ms_);
}

void Deadline::stop() {
  deadline_ms_ = 0;
  timer_due_ms_ = 0;
  uv_timer_stop(timer_);
}

void Deadline::arm(uint64_t at_ms) {
  uint64_t now = uv_now(loop_);
  timer_due_ms_ = at_ms;
  uv_timer_start(timer_, &Deadline::onTimer, at_ms > now ? at_ms - now : 0, 0);
}

void Deadline::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<Deadline*>(timer->data);
  self->timer_due_ms_ = 0;
  if (self->deadline_ms_ == 0) return;  // cleared meanwhile
  if (uv_now(self->loop_) < self->deadline_ms_) {
    self->arm(self->deadline_ms_);  // moved later meanwhile
    return;
  }
  self->deadline_ms_ = 0;
  self->on_expire_(self->owner_);
}

}  // namespace gourmet::core
