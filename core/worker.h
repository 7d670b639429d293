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

#include <uv.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "balancers/balancer.h"
#include "core/access_log.h"
#include "core/read_buffer_pool.h"
#include "core/snapshot.h"
#include "core/snapshot_publisher.h"
#include "core/upstream_pool.h"

namespace gourmet::core {

class ClientConnection;

// A worker's state derived from one snapshot.
struct Generation {
  struct ClusterState {
    const Cluster* cluster = nullptr;
    std::unique_ptr<balancers::Balancer> balancer;
    std::vector<UpstreamPool*> pools;  // parallel to cluster->servers
  };

  std::shared_ptr<const Snapshot> snapshot;
  std::vector<ClusterState> clusters;  // parallel to snapshot->clusters
  uint32_t users = 0;                  // requests pinned to this generation
};

class Worker {
 public:
  // `on_exit` runs on the worker thread when its loop has finished.
  // `access_log` (may be null) outlives the worker.
  Worker(uint32_t index, SnapshotPublisher& publisher, int listen_fd, AccessLog* access_log,
         std::function<void()> on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread.
  void start();
  // Any thread. Graceful: stop accepting, finish requests in flight (up to
  // `drain_timeout`), then exit. Not graceful: close everything now.
  void stop(bool graceful, Millis drain_timeout);
  void join();

  // Worker thread only, for connections.
  uint32_t index() const { return index_; }
  uv_loop_t* loop() { return &loop_; }
  ReadBufferPool& buffers() { return buffers_; }
  Generation* pin();
  void unpin(Generation* generation);
  AccessLog* accessLog() { return access_log_; }
  bool draining() const { return draining_; }
  Millis headerTimeout() const { return current_->snapshot->client_header_timeout; }
  Millis idleTimeout() const { return current_->snapshot->client_idle_timeout; }
  void connectionClosed(ClientConnection* conn);

 private:
  static void onSnapshot(uv_async_t* async);
  static void onStop(uv_async_t* async);
  static void onConnection(uv_stream_t* server, int status);
  static void onDrainTimeout(uv_timer_t* timer);

  void run();
  void adoptLatest();
  UpstreamPool* poolFor(const std::shared_ptr<UpstreamServer>& server);
  void beginStop(bool graceful);
  void maybeFinish();
  void retire(Generation* generation);

  const uint32_t index_;
  SnapshotPublisher& publisher_;
  int listen_fd_;
  AccessLog* access_log_;
  std::function<void()> on_exit_;
  std::thread thread_;
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_async_t snapshot_async_{};
  uv_async_t stop_async_{};
  uv_timer_t drain_timer_{};
  ReadBufferPool buffers_;

  Generation* current_ = nullptr;
  std::list<std::unique_ptr<Generation>> generations_;
  std::unordered_map<uint32_t, std::unique_ptr<UpstreamPool>> pools_;  // by server id
  std::list<ClientConnection*> connections_;

  // Written by stop() from another thread before uv_async_send.
  std::atomic<bool> stop_graceful_{true};
  std::atomic<int64_t> drain_timeout_ms_{15000};
  bool draining_ = false;
  bool finished_ = false;
};

}  // namespace gourmet::core
