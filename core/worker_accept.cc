// How a worker gets its connections: its own listener, watched with a
// uv_poll and drained with accept4 (which also gives the peer's address, so
// no getpeername per connection), and, with accept_balance: least_loaded,
// connections other workers accepted and handed over.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/client_socket.h"
#include "core/log.h"
#include "core/worker.h"

namespace gourmet::core {

// A listening socket and the set it came from. Heap-allocated: libuv needs
// the handle until its close callback, which may outlive a listener switch.
struct Worker::Listener {
  uv_poll_t poll{};  // poll.data points back here
  int fd = -1;       // a dup of the set's descriptor, ours to close
  Worker* worker = nullptr;
  std::shared_ptr<const ListenerSet> set;
};

namespace {

// Connections taken per readiness event: enough to empty a burst, few
// enough that a flood of connects does not starve reads on open ones.
constexpr size_t kAcceptBatch = 64;
// After EMFILE and its like, accepting waits this long instead of spinning
// on a listener that stays readable.
constexpr uint64_t kAcceptPauseMs = 100;

// A handover costs a wake-up of the other worker, a sixth to a third of
// what a whole Connection: close request costs (tools/bench balance mode). The
// kernel's hash already spreads short connections evenly on average, so
// only a clear difference is worth one: two, or an eighth of our load.
bool worthHandingOver(uint64_t own_load, uint64_t peer_load) {
  return own_load >= peer_load + std::max<uint64_t>(2, own_load / 8);
}

}  // namespace

// Opens the listener of the current snapshot when it differs from the one
// in use: the new one listens before the old one closes, and what already
// waits in the old queue is accepted, so a port change loses no connection.
// False when this worker cannot watch its socket of the new set: that socket
// is then shut down, so the kernel stops giving it a share of the port's
// connections (a SO_REUSEPORT member nobody accepts from would queue about
// 1/N of them until they time out), and the worker keeps what it had.
bool Worker::switchListener() {
  const auto& wanted = current_->snapshot->services.listeners;
  if (wanted == nullptr || (listener_ != nullptr && listener_->set == wanted)) return true;
  auto* next = new Listener;
  next->worker = this;
  next->set = wanted;
  next->poll.data = next;
  // The set keeps its descriptor; the listener owns a duplicate, not
  // inherited by anything gourmet might exec.
  next->fd = ::fcntl(wanted->fd(index_), F_DUPFD_CLOEXEC, 0);
  int rc = next->fd < 0 ? uv_translate_sys_error(errno)
                        : uv_poll_init_socket(&loop_, &next->poll, next->fd);
  const bool has_handle = rc == 0;
  if (rc == 0) rc = uv_poll_start(&next->poll, UV_READABLE, &Worker::onAcceptable);
  if (rc != 0) {
    log(LogLevel::kError, "worker {}: cannot listen on {}:{}: {}; its socket is closed", index_,
        wanted->address(), wanted->port(), uv_strerror(rc));
    ::shutdown(wanted->fd(index_), SHUT_RDWR);
    if (has_handle) {
      closeListener(next);
    } else {
      if (next->fd >= 0) ::close(next->fd);
      delete next;
    }
    return false;
  }
  Listener* old = listener_;
  listener_ = next;
  if (old != nullptr) {
    acceptFrom(*old, SIZE_MAX);
    closeListener(old);
  }
  return true;
}

void Worker::closeListener(Listener* listener) {
  // Our descriptor is a dup: closing it alone would leave the socket
  // listening through the ListenerSet's copy (snapshots may hold it for a
  // while), completing connections nobody accepts. Shutting the socket down
  // stops the listening itself, so new connections are refused at once.
  if (listener->fd >= 0) ::shutdown(listener->fd, SHUT_RDWR);
  uv_close(reinterpret_cast<uv_handle_t*>(&listener->poll), [](uv_handle_t* handle) {
    auto* self = static_cast<Listener*>(handle->data);
    if (self->fd >= 0) ::close(self->fd);
    delete self;
  });
}

void Worker::onAcceptable(uv_poll_t* poll, int status, int) {
  auto* listener = static_cast<Listener*>(poll->data);
  if (status < 0) {
    log(LogLevel::kWarn, "worker {}: listener: {}", listener->worker->index_, uv_strerror(status));
    return;
  }
  listener->worker->acceptFrom(*listener, kAcceptBatch);
}

// Takes up to `at_most` connections the kernel has completed on `listener`.
void Worker::acceptFrom(Listener& listener, size_t at_most) {
  for (size_t taken = 0; taken < at_most; ++taken) {
    AcceptedConnection accepted;
    socklen_t len = sizeof accepted.peer;
    accepted.fd = ::accept4(listener.fd, &accepted.peer.any, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted.fd >= 0) {
      if (accept_pauses_ != 0) {
        log(LogLevel::kInfo, "worker {}: accepting again after {} pauses", index_, accept_pauses_);
        accept_pauses_ = 0;
      }
      place(accepted);
      continue;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that one is gone
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINVAL) return;    // empty, or shut down
    // Out of descriptors or memory: the listener stays readable, so pause
    // instead of spinning; the kernel's backlog holds the connections (it
    // resets them only once it is full), and they are served once
    // descriptors free up. One line per episode, not one per pause.
    if (accept_pauses_++ == 0) {
      log(LogLevel::kWarn, "worker {}: accept: {}; pausing accepts ({} ms at a time)", index_,
          std::strerror(err), kAcceptPauseMs);
    }
    if (&listener == listener_ && !draining_) {
      uv_poll_stop(&listener.poll);
      uv_timer_start(&accept_resume_timer_, &Worker::onAcceptResume, kAcceptPauseMs, 0);
    }
    return;
  }
}

void Worker::onAcceptResume(uv_timer_t* timer) {
  auto* worker = static_cast<Worker*>(timer->data);
  if (worker->listener_ != nullptr && !worker->draining_) {
    uv_poll_start(&worker->listener_->poll, UV_READABLE, &Worker::onAcceptable);
  }
}

// Serves `accepted` here, or hands it to the next other worker when that
// one carries less. Draining workers keep what they accept (it is drained
// with the rest).
void Worker::place(const AcceptedConnection& accepted) {
  if (!draining_ && current_->snapshot->accept_balance == AcceptBalance::kLeastLoaded &&
      peers_.size() > 1) {
    next_peer_ = (next_peer_ + 1) % peers_.size();
    if (next_peer_ == index_) next_peer_ = (next_peer_ + 1) % peers_.size();
    Worker& peer = *peers_[next_peer_];
    if (worthHandingOver(load(), peer.load()) && peer.offer(accepted, limits().max_connections)) {
      stats_.handed_out.add();
      return;
    }
  }
  addConnection(accepted, false);
}

// Another worker's thread: queue `accepted` here unless this worker is full
// or stopping. The caller keeps the connection when this says no.
bool Worker::offer(const AcceptedConnection& accepted, uint32_t max) {
  if (!takes_handoffs_.load()) return false;
  if (max != 0 && openConnections() + handoffs_.size() >= max) return false;
  if (!handoffs_.push(accepted)) return false;
  // Safe even once this worker's loop has ended: the handle is closed only
  // by the destructor, after every worker thread has been joined.
  uv_async_send(&handoff_async_);
  return true;
}

void Worker::onHandoff(uv_async_t* async) { static_cast<Worker*>(async->data)->takeHandoffs(); }

void Worker::takeHandoffs() {
  AcceptedConnection accepted;
  while (handoffs_.pop(accepted)) {
    if (finished_) {
      ::close(accepted.fd);  // too late: everything here is closed
      continue;
    }
    addConnection(accepted, true);
  }
}

void Worker::addConnection(const AcceptedConnection& accepted, bool handed_in) {
  uint32_t max = limits().max_connections;
  if (max != 0 && open_count_ >= max) {
    // Over the limit: close it, so the kernel's backlog does not fill with
    // connections nobody serves.
    ::close(accepted.fd);
    if (++refused_connections_ % 1000 == 1) {
      log(LogLevel::kWarn, "worker {}: max_connections {} reached, {} connections refused so far",
          index_, max, refused_connections_);
    }
    return;
  }
  auto* socket = new ClientSocket(*this);
  socket->next_open = open_sockets_;
  if (open_sockets_ != nullptr) open_sockets_->prev_open = socket;
  open_sockets_ = socket;
  ++open_count_;
  publishCounts();
  stats_.connections.add();
  if (handed_in) stats_.handed_in.add();
  socket->start(accepted);
  // Arrived after the drain began: treated as what was in the backlog then.
  if (draining_ && !socket->closed()) socket->drain();
}

void Worker::publishCounts() {
  open_.store(open_count_, std::memory_order_relaxed);
  busy_.store(busy_count_, std::memory_order_relaxed);
}

}  // namespace gourmet::core
