#pragma once

// Client connections waiting for their next request, oldest first, behind
// one uv_timer for the whole worker. Every entry waits the same idle timeout,
// so pushing at the back keeps the queue in deadline order: pushing and
// removing are a few pointer writes, and the timer moves only when it fires.
// (After a reload that shortens client_idle_timeout, entries pushed later
// may expire up to the old timeout late: they wait behind older ones.)

#include <uv.h>

#include <cstdint>

#include "core/config.h"

namespace gourmet::core {

class IdleQueue {
 public:
  // Embedded in what waits (intrusive): no allocation per push.
  struct Entry {
    Entry* prev = nullptr;
    Entry* next = nullptr;
    uint64_t deadline_ms = 0;  // loop time; 0 = not queued
  };
  using Expire = void (*)(Entry* entry);

  // Worker thread. `on_expire` gets each entry whose timeout passed, already
  // removed from the queue.
  void init(uv_loop_t* loop, Expire on_expire);
  // Closes the timer; the queue must not be used afterwards.
  void close();

  void push(Entry* entry, Millis timeout);
  void remove(Entry* entry);  // no-op when not queued
  bool empty() const { return head_ == nullptr; }

 private:
  static void onTimer(uv_timer_t* timer);
  void arm(uint64_t at_ms);

  uv_loop_t* loop_ = nullptr;
  uv_timer_t timer_{};
  Expire on_expire_ = nullptr;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  uint64_t timer_due_ms_ = 0;  // 0 = not running
};

}  // namespace gourmet::core
