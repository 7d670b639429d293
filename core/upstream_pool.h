#pragma once

// A worker's keep-alive connections to one upstream server. Idle connections
// are reused last-in first-out (the most recently used is the least likely
// to have been closed by the server), bounded in number, and closed before
// the server would close them: after the upstream's keepalive_timeout, or
// sooner when the server announced `Keep-Alive: timeout=N`. While idle they
// keep reading, so a server's close is noticed at once rather than by the
// next request that would have used the connection.

#include <atomic>
#include <memory>
#include <vector>

#include "core/config.h"
#include "core/read_buffer_pool.h"
#include "core/server_registry.h"
#include "core/upstream_connection.h"

namespace gourmet::core {

class UpstreamPool {
 public:
  UpstreamPool(uv_loop_t* loop, ReadBufferPool& buffers, std::shared_ptr<UpstreamServer> server)
      : loop_(loop), buffers_(buffers), server_(std::move(server)) {}
  ~UpstreamPool() { closeAll(); }
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  const UpstreamServer& server() const { return *server_; }

  // The most recently idled connection, or nullptr.
  UpstreamConnection* takeIdle();

  // A new connection, connecting now; counted in the server's `connections`
  // until it closes. `pending` (may be null) is a count of requests waiting
  // for a connection that the caller has already raised: the connection
  // lowers it once it is connected or closed.
  UpstreamConnection* connect(Millis timeout, std::atomic<uint32_t>* pending = nullptr);

  // Back from an exchange. Kept idle when `reusable` and there is room,
  // closed otherwise.
  void release(UpstreamConnection* conn, bool reusable, Millis keepalive_timeout,
               uint32_t max_idle);

  // An idle connection closed itself (server close, idle timeout).
  void forget(UpstreamConnection* conn);
  // A connection of this pool closed (whatever its state).
  void connectionClosed() { server_->connections.fetch_sub(1, std::memory_order_relaxed); }

  size_t idleCount() const { return idle_.size(); }

  // A server the current config no longer names: keep no idle connections
  // (requests still in flight to it finish normally).
  void setRetired(bool retired);
  void closeAll();

 private:
  uv_loop_t* loop_;
  ReadBufferPool& buffers_;
  std::shared_ptr<UpstreamServer> server_;
  std::vector<UpstreamConnection*> idle_;
  bool retired_ = false;
};

}  // namespace gourmet::core
