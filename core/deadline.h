#pragma once

// A connection's one timer, cheap to move. Connections push their deadline
// later on every request (header, idle, response timeouts); re-arming a
// uv_timer each time costs two heap operations per move. Instead the
// deadline is a plain number, and the uv_timer is re-armed only when the
// deadline moves earlier than the timer, or when the timer fires early and
// finds the deadline has moved on.

#include <uv.h>

#include <cstdint>

#include "core/config.h"

namespace gourmet::core {

class Deadline {
 public:
  using Callback = void (*)(void* owner);

  // `timer` is owned by the caller (it closes it); its data becomes this.
  void init(uv_loop_t* loop, uv_timer_t* timer, Callback on_expire, void* owner);

  // Expire `timeout` from now (replacing any earlier setting).
  void set(Millis timeout);
  void clear() { deadline_ms_ = 0; }
  // Clears and stops the timer itself, for an owner that puts it aside.
  void stop();
  bool armed() const { return deadline_ms_ != 0; }

 private:
  static void onTimer(uv_timer_t* timer);
  void arm(uint64_t at_ms);

  uv_loop_t* loop_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  Callback on_expire_ = nullptr;
  void* owner_ = nullptr;
  uint64_t deadline_ms_ = 0;   // loop time; 0 = cleared
  uint64_t timer_due_ms_ = 0;  // when the uv_timer fires; 0 = not running
};

}  // namespace gourmet::core
