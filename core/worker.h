#pragma once

// One worker: a thread with its own libuv loop, its own listening socket
// (SO_REUSEPORT), its own balancer state and upstream pools. Nothing on its
// request path is shared with other threads except each server's counter of
// requests in flight.
//
// Snapshots arrive through SnapshotPublisher: the worker pulls the newest one
// in its async callback and builds a Generation from it (its balancers and
// its view of the pools). Requests pin the generation they started on with a
// plain counter; a superseded generation is freed when its last request ends.
// State whose input did not change is carried over: a cluster with the same
// servers and weights keeps its balancer (round robin position included),
// and pools are keyed by server identity, so idle connections survive.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "balancers/balancer.h"
#include "core/idle_queue.h"
#include "core/read_buffer_pool.h"
#include "core/snapshot.h"
#include "core/snapshot_publisher.h"
#include "core/upstream_pool.h"

namespace gourmet::core {

class ClientConnection;
class ClientSocket;

// A worker's state derived from one snapshot.
struct Generation {
  struct ClusterState {
    const Cluster* cluster = nullptr;
    // Shared with the next generation when the cluster did not change.
    std::shared_ptr<balancers::ServerSet> servers;
    std::shared_ptr<balancers::Balancer> balancer;  // picks over `servers`
    std::vector<UpstreamPool*> pools;               // parallel to cluster->servers
  };

  std::shared_ptr<const Snapshot> snapshot;
  std::vector<ClusterState> clusters;  // parallel to snapshot->clusters
  uint32_t users = 0;                  // requests pinned to this generation
};

class Worker {
 public:
  // `on_exit` runs on the worker thread when its loop has finished.
  Worker(uint32_t index, SnapshotPublisher& publisher, std::function<void()> on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread. Adopts the latest snapshot (there must be one), then runs.
  void start();
  // Any thread. Graceful: accept what already waits, stop accepting, finish
  // requests in flight (up to `drain_timeout`), then exit. Not graceful:
  // close everything now.
  void stop(bool graceful, Millis drain_timeout);
  void join();

  // Any thread: the snapshot version this worker routes new requests with.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }

  // Worker thread only, for connections.
  uint32_t index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  ReadBufferPool& buffers() { return buffers_; }
  Generation* pin();
  void unpin(Generation* generation);
  AccessLog* accessLog() const { return current_->snapshot->services.access_log.get(); }
  bool draining() const { return draining_; }
  Millis headerTimeout() const { return current_->snapshot->client_header_timeout; }
  Millis idleTimeout() const { return current_->snapshot->client_idle_timeout; }
  Millis bodyTimeout() const { return current_->snapshot->client_body_timeout; }
  const ClientLimits& limits() const { return current_->snapshot->limits; }
  // Connections refused at accept because max_connections was reached.
  uint64_t refusedConnections() const { return refused_connections_; }
  // Client sockets waiting for their next request.
  IdleQueue& idleQueue() { return idle_; }
  // What serving a request takes, lent to a socket while it has one.
  ClientConnection* lendConnection();
  void returnConnection(ClientConnection* conn);
  void socketClosed(ClientSocket* socket);

 private:
  struct Listener;

  static void onSnapshot(uv_async_t* async);
  static void onStop(uv_async_t* async);
  static void onConnection(uv_stream_t* server, int status);
  static void onDrainTimeout(uv_timer_t* timer);

  void run();
  void adoptLatest();
  void switchListener();
  void closeListener(Listener* listener);
  void acceptBacklog(Listener& listener);
  void addConnection(int fd, uv_stream_t* server);
  UpstreamPool* poolFor(const std::shared_ptr<UpstreamServer>& server);
  void prunePools();
  void beginStop(bool graceful);
  void maybeFinish();
  void retire(Generation* generation);

  const uint32_t index_;
  SnapshotPublisher& publisher_;
  std::function<void()> on_exit_;
  std::thread thread_;
  uv_loop_t loop_{};
  uv_async_t snapshot_async_{};
  uv_async_t stop_async_{};
  uv_timer_t drain_timer_{};
  ReadBufferPool buffers_;
  Listener* listener_ = nullptr;
  bool running_ = false;

  Generation* current_ = nullptr;
  std::list<std::unique_ptr<Generation>> generations_;
  std::unordered_map<uint32_t, std::unique_ptr<UpstreamPool>> pools_;  // by server id
  ClientSocket* open_sockets_ = nullptr;  // intrusive list (ClientSocket::next_open)
  size_t open_count_ = 0;
  IdleQueue idle_;
  std::vector<ClientConnection*> spare_connections_;
  uint64_t refused_connections_ = 0;
  std::atomic<uint64_t> version_{0};

  // Written by stop() from another thread before uv_async_send.
  std::atomic<bool> stop_graceful_{true};
  std::atomic<int64_t> drain_timeout_ms_{15000};
  bool draining_ = false;
  bool finished_ = false;
};

}  // namespace gourmet::core
