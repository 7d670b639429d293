#pragma once

// Wakes one waiting thread from any number of others without a lock: the
// writer threads of the log and the access log sleep in wait() and producers
// call notify(). Wake-ups coalesce: however many notify() calls come before
// the waiter runs, it wakes once, and only the first of them makes a system
// call (a non-blocking write to an eventfd), so a producer never blocks.

#include <atomic>
#include <chrono>

namespace gourmet::core {

class ThreadWakeup {
 public:
  ThreadWakeup();
  ~ThreadWakeup();
  ThreadWakeup(const ThreadWakeup&) = delete;
  ThreadWakeup& operator=(const ThreadWakeup&) = delete;

  // Any thread.
  void notify();
  // The one waiting thread. Returns when notified (possibly by a notify()
  // that came before this call) or after `timeout`; what was notified is
  // taken, so the next wait() sleeps again.
  void wait(std::chrono::milliseconds timeout);

 private:
  int fd_;
  std::atomic<bool> pending_{false};
};

}  // namespace gourmet::core
