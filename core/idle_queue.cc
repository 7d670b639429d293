#include "core/idle_queue.h"

namespace gourmet::core {

void IdleQueue::init(uv_loop_t* loop, Expire on_expire) {
  loop_ = loop;
  on_expire_ = on_expire;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

void IdleQueue::close() {
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void IdleQueue::push(Entry* entry, Millis timeout) {
  remove(entry);
  entry->deadline_ms = uv_now(loop_) + static_cast<uint64_t>(timeout.count());
  if (entry->deadline_ms == 0) entry->deadline_ms = 1;
  entry->prev = tail_;
  entry->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = entry;
  } else {
    head_ = entry;
  }
  tail_ = entry;
  // A timer due no later than this deadline will find it when it fires.
  if (timer_due_ms_ == 0 || timer_due_ms_ > entry->deadline_ms) arm(entry->deadline_ms);
}

void IdleQueue::remove(Entry* entry) {
  if (entry->deadline_ms == 0) return;
  (entry->prev != nullptr ? entry->prev->next : head_) = entry->next;
  (entry->next != nullptr ? entry->next->prev : tail_) = entry->prev;
  entry->prev = entry->next = nullptr;
  entry->deadline_ms = 0;
}

void IdleQueue::arm(uint64_t at_ms) {
  uint64_t now = uv_now(loop_);
  timer_due_ms_ = at_ms;
  uv_timer_start(&timer_, &IdleQueue::onTimer, at_ms > now ? at_ms - now : 0, 0);
}

void IdleQueue::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<IdleQueue*>(timer->data);
  self->timer_due_ms_ = 0;
  const uint64_t now = uv_now(self->loop_);
  while (self->head_ != nullptr && self->head_->deadline_ms <= now) {
    Entry* expired = self->head_;
    self->remove(expired);
    self->on_expire_(expired);
  }
  if (self->head_ != nullptr) self->arm(self->head_->deadline_ms);
}

}  // namespace gourmet::core
