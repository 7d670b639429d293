#pragma once

// One worker: a thread with its own libuv loop, its own listening socket
// (SO_REUSEPORT), its own balancer state and upstream pools. Nothing on its
// request path is shared with other threads except each server's counter of
// requests in flight.
//
// Accepting (worker_accept.cc): the worker accepts from its own listener.
// With server.accept_balance: least_loaded it then compares its load with
// the next other worker's (round the ring) and hands the connection to that
// one through its HandoffQueue and a uv_async when that worker carries less;
// a full queue, a full worker or a draining one means keep it here.
//
// Snapshots arrive through SnapshotPublisher: the worker pulls the newest one
// in its async callback and builds a Generation from it (its balancers and
// its view of the pools). Requests pin the generation they started on with a
// plain counter; a superseded generation is freed when its last request ends.
// State whose input did not change is carried over: a cluster with the same
// servers and weights keeps its balancer (round robin position included),
// pools are keyed by server identity, so idle connections survive, and the
// router reuses the compiled regex of every pattern it already had.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "balancers/balancer.h"
#include "core/handoff_queue.h"
#include "core/idle_queue.h"
#include "core/read_buffer_pool.h"
#include "core/router.h"
#include "core/snapshot.h"
#include "core/snapshot_publisher.h"
#include "core/upstream_pool.h"
#include "core/worker_log.h"
#include "core/worker_stats.h"

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
  Router router;                       // snapshot->routes, compiled for this worker
  uint32_t users = 0;                  // requests pinned to this generation
};

class Worker {
 public:
  // `on_exit` runs on the worker thread when its loop has finished.
  Worker(uint32_t index, SnapshotPublisher& publisher, std::function<void()> on_exit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread, before any start(): every worker of the process, this one
  // included, for least_loaded accepting. Without peers a worker keeps what
  // it accepts.
  void setPeers(std::span<const std::unique_ptr<Worker>> peers) { peers_ = peers; }
  // Main thread. Adopts the latest snapshot (there must be one) and opens
  // its listener, then runs. False (logged) when it cannot listen: the
  // worker then stops at once and its socket is shut down, so no share of
  // the port's connections waits where nobody accepts.
  bool start();
  // Any thread. Graceful: accept what already waits, stop accepting, finish
  // requests in flight (up to `drain_timeout`), then exit. Not graceful:
  // close everything now.
  void stop(bool graceful, Millis drain_timeout);
  void join();

  // Any thread: the snapshot version this worker routes new requests with.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  // Any thread: what least_loaded compares. Open connections plus requests
  // in flight (a busy connection weighs twice an idle one) plus connections
  // queued for this worker.
  uint64_t load() const {
    return open_.load(std::memory_order_relaxed) + busy_.load(std::memory_order_relaxed) +
           handoffs_.size();
  }
  uint64_t openConnections() const { return open_.load(std::memory_order_relaxed); }
  uint64_t busyConnections() const { return busy_.load(std::memory_order_relaxed); }
  // Any thread may read; the worker writes.
  const WorkerStats& stats() const { return stats_; }
  WorkerStats& stats() { return stats_; }

  uint32_t index() const { return index_; }  // any thread: fixed at construction
  // Any thread: regexes this worker has compiled; a reload that keeps the
  // locations adds none.
  uint64_t compiledPatterns() const { return compiled_patterns_.load(std::memory_order_relaxed); }

  // Worker thread only, for connections.
  uv_loop_t* loop() { return &loop_; }
  ReadBufferPool& buffers() { return buffers_; }
  Generation* pin();
  void unpin(Generation* generation);
  AccessLog* accessLog() const { return current_->snapshot->services.access_log.get(); }
  bool draining() const { return draining_; }
  Millis headerTimeout() const { return current_->snapshot->client_header_timeout; }
  Millis idleTimeout() const { return current_->snapshot->client_idle_timeout; }
  Millis bodyTimeout() const { return current_->snapshot->client_body_timeout; }
  Millis sendTimeout() const { return current_->snapshot->client_send_timeout; }
  const ClientLimits& limits() const { return current_->snapshot->limits; }
  const ErrorPages& errorPages() const { return *current_->snapshot->error_pages; }
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
  static void onAcceptable(uv_poll_t* poll, int status, int events);
  static void onAcceptResume(uv_timer_t* timer);
  static void onHandoff(uv_async_t* async);
  static void onDrainTimeout(uv_timer_t* timer);

  void run();
  void adoptLatest();
  bool switchListener();
  void closeListener(Listener* listener);
  // worker_accept.cc
  void acceptFrom(Listener& listener, size_t at_most);
  void place(const AcceptedConnection& accepted);
  // Another worker's thread; `max_connections` from the caller's snapshot.
  bool offer(const AcceptedConnection& accepted, uint32_t max_connections);
  void takeHandoffs();
  void addConnection(const AcceptedConnection& accepted, bool handed_in);
  void publishCounts();
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
  uv_timer_t accept_resume_timer_{};  // accepting paused after EMFILE and the like
  uint64_t accept_pauses_ = 0;        // in a row, for the log
  uv_async_t handoff_async_{};        // unreferenced; closed by the destructor
  HandoffQueue handoffs_;
  std::span<const std::unique_ptr<Worker>> peers_;
  size_t next_peer_ = 0;
  ReadBufferPool buffers_;
  Listener* listener_ = nullptr;
  bool running_ = false;
  WorkerLog log_;  // this thread's log sink (queue to the writer, rate limits)

  Generation* current_ = nullptr;
  std::list<std::unique_ptr<Generation>> generations_;
  std::unordered_map<uint32_t, std::unique_ptr<UpstreamPool>> pools_;  // by server id
  ClientSocket* open_sockets_ = nullptr;  // intrusive list (ClientSocket::next_open)
  size_t open_count_ = 0;
  size_t busy_count_ = 0;                    // connections lent a ClientConnection
  std::atomic<uint64_t> open_{0}, busy_{0};  // published copies of the two
  WorkerStats stats_;
  IdleQueue idle_;
  std::vector<ClientConnection*> spare_connections_;
  uint64_t refused_connections_ = 0;
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> compiled_patterns_{0};

  // Written by stop() from another thread before uv_async_send.
  std::atomic<bool> stop_graceful_{true};
  std::atomic<int64_t> drain_timeout_ms_{15000};
  bool draining_ = false;
  bool finished_ = false;
  // False once the worker stops: other workers then keep what they accept.
  std::atomic<bool> takes_handoffs_{true};
};

}  // namespace gourmet::core
