#include "core/upstream_pool.h"

#include <algorithm>

namespace gourmet::core {

UpstreamConnection* UpstreamPool::takeIdle() {
  if (idle_.empty()) return nullptr;
  UpstreamConnection* conn = idle_.back();
  idle_.pop_back();
  conn->leaveIdle();
  return conn;
}

UpstreamConnection* UpstreamPool::connect(Millis timeout, std::atomic<uint32_t>* pending) {
  auto* conn = new UpstreamConnection(loop_, buffers_, *this);
  server_->connections.fetch_add(1, std::memory_order_relaxed);
  conn->connect(server_->sockaddr, timeout, pending);
  return conn;
}

void UpstreamPool::release(UpstreamConnection* conn, bool reusable, Millis keepalive_timeout,
                           uint32_t max_idle) {
  if (!reusable || retired_ || idle_.size() >= max_idle) {
    conn->close();
    return;
  }
  Millis timeout = keepalive_timeout;
  if (auto hint = conn->keepAliveHint()) {
    // Leave a margin: a request sent as the server times out is the classic
    // source of spurious 502s.
    Millis safe = *hint > Millis(1000) ? *hint - Millis(1000) : *hint / 2;
    timeout = std::min(timeout, safe);
  }
  if (timeout.count() <= 0) {
    conn->close();
    return;
  }
  idle_.push_back(conn);
  conn->enterIdle(timeout);
}

void UpstreamPool::setRetired(bool retired) {
  retired_ = retired;
  if (retired_) closeAll();
}

void UpstreamPool::forget(UpstreamConnection* conn) { std::erase(idle_, conn); }

void UpstreamPool::closeAll() {
  // close() calls forget(), which edits idle_: work on a copy.
  std::vector<UpstreamConnection*> idle;
  idle.swap(idle_);
  for (UpstreamConnection* conn : idle) conn->close();
}

}  // namespace gourmet::core
