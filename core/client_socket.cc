#include "core/client_socket.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>

#include "core/client_connection.h"
#include "core/worker.h"

namespace gourmet::core {

ClientSocket::ClientSocket(Worker& worker) : worker_(worker) {
  uv_tcp_init(worker_.loop(), &tcp_);
  tcp_.data = this;
}

void ClientSocket::start(const AcceptedConnection& accepted) {
  if (uv_tcp_open(&tcp_, accepted.fd) != 0) {
    ::close(accepted.fd);
    close();
    return;
  }
  // accept4 gave the address: no getpeername per connection.
  if (accepted.peer.any.sa_family == AF_INET6) {
    peer_v6_ = true;
    peer_ = accepted.peer.v6.sin6_addr;
  } else if (accepted.peer.any.sa_family == AF_INET) {
    std::memcpy(&peer_, &accepted.peer.v4.sin_addr, sizeof(in_addr));
  }
  worker_.idleQueue().push(this, worker_.idleTimeout());
  setReading(true);
}

void ClientSocket::formatPeer(char* out, size_t size) const {
  if (!peer_v6_ && size >= INET_ADDRSTRLEN) {
    // By hand: glibc's inet_ntop formats IPv4 through sprintf, and this runs
    // for every request a keep-alive connection makes.
    char* p = out;
    for (int i = 0; i < 4; ++i) {
      unsigned octet = reinterpret_cast<const unsigned char*>(&peer_)[i];
      if (octet >= 100) *p++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *p++ = static_cast<char>('0' + octet / 10 % 10);
      *p++ = static_cast<char>('0' + octet % 10);
      *p++ = i < 3 ? '.' : '\0';
    }
    return;
  }
  if (inet_ntop(AF_INET6, &peer_, out, static_cast<socklen_t>(size)) == nullptr) out[0] = '\0';
}

void ClientSocket::setReading(bool want) {
  if (closed_ || want == reading_) return;
  if (want) {
    reading_ = uv_read_start(stream(), &ClientSocket::onAlloc, &ClientSocket::onRead) == 0;
  } else {
    uv_read_stop(stream());
    reading_ = false;
  }
}

ClientConnection& ClientSocket::lend() {
  if (conn_ == nullptr) {
    worker_.idleQueue().remove(this);
    conn_ = worker_.lendConnection();
    conn_->attach(*this);
  }
  return *conn_;
}

void ClientSocket::useNoDelay() {
  if (nodelay_ || closed_) return;
  nodelay_ = true;
  uv_tcp_nodelay(&tcp_, 1);
}

void ClientSocket::becomeIdle() {
  useNoDelay();  // kept alive: the next small response must not wait on Nagle
  ClientConnection* conn = conn_;
  conn_ = nullptr;
  worker_.returnConnection(conn);
  worker_.idleQueue().push(this, worker_.idleTimeout());
  setReading(true);
}

void ClientSocket::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  *buf = static_cast<ClientSocket*>(handle->data)->worker_.buffers().take();
}

void ClientSocket::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ClientSocket*>(s->data);
  Worker& worker = self->worker_;
  if (nread > 0) {
    self->lend().onData(buf->base, static_cast<size_t>(nread));
  } else if (nread == UV_EOF) {
    // libuv has stopped reading on EOF.
    self->reading_ = false;
    if (self->conn_ != nullptr) {
      self->conn_->onEof();
    } else {
      self->close();  // an idle client left
    }
  } else if (nread < 0) {
    self->abort();
  }
  worker.buffers().give(buf);
}

void ClientSocket::drain() {
  if (conn_ != nullptr) {
    conn_->drain();
  } else {
    close();
  }
}

void ClientSocket::abort() {
  if (conn_ != nullptr) {
    conn_->abort();
  } else {
    close();
  }
}

void ClientSocket::onIdleExpired(IdleQueue::Entry* entry) {
  static_cast<ClientSocket*>(entry)->close();
}

void ClientSocket::close() {
  if (closed_) return;
  closed_ = true;
  reading_ = false;
  worker_.idleQueue().remove(this);
  worker_.socketClosed(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &ClientSocket::onClosed);
}

void ClientSocket::onClosed(uv_handle_t* handle) {
  auto* self = static_cast<ClientSocket*>(handle->data);
  // Writes on the socket have been cancelled by now: the connection is free.
  if (self->conn_ != nullptr) self->worker_.returnConnection(self->conn_);
  delete self;
}

}  // namespace gourmet::core
