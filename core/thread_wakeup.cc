#include "core/thread_wakeup.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace gourmet::core {

ThreadWakeup::ThreadWakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ThreadWakeup::~ThreadWakeup() {
  if (fd_ >= 0) ::close(fd_);
}

void ThreadWakeup::notify() {
  // Only the notify that finds nothing pending writes; the waiter clears the
  // flag before it looks at the work, so no notify is lost.
  if (pending_.exchange(true)) return;
  const uint64_t one = 1;
  while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void ThreadWakeup::wait(std::chrono::milliseconds timeout) {
  if (!pending_.load()) {
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(timeout.count())) < 0 && errno == EINTR) {
    }
  }
  uint64_t count = 0;
  while (::read(fd_, &count, sizeof count) < 0 && errno == EINTR) {
  }
  // An exchange, not a store: reading the flag synchronises with the last
  // notify(), so the work that notify announced is visible to the caller.
  pending_.exchange(false);
}

}  // namespace gourmet::core
