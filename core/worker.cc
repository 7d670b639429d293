#include "core/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

#include "core/client_connection.h"
#include "core/client_socket.h"
#include "core/log.h"

namespace gourmet::core {

namespace {

// Same servers (identities) with the same weights through the same
// algorithm: the balancer's state is still valid.
bool sameBalancerInput(const Cluster& a, const Cluster& b) {
  if (a.balancer != b.balancer || a.servers.size() != b.servers.size()) return false;
  const balancers::BalancerParams &p = a.balancer_params, &q = b.balancer_params;
  if (p.choice_count != q.choice_count || p.active_request_bias != q.active_request_bias ||
      p.decay != q.decay || p.default_rtt != q.default_rtt || p.table_size != q.table_size ||
      p.seed != q.seed || a.slow_start.window != b.slow_start.window ||
      a.slow_start.aggression != b.slow_start.aggression ||
      a.slow_start.min_weight_percent != b.slow_start.min_weight_percent ||
      a.panic_threshold != b.panic_threshold) {
    return false;
  }
  for (size_t i = 0; i < a.servers.size(); ++i) {
    if (a.servers[i] != b.servers[i] || a.candidates[i].weight != b.candidates[i].weight) {
      return false;
    }
  }
  return true;
}

}  // namespace

Worker::Worker(uint32_t index, SnapshotPublisher& publisher, std::function<void()> on_exit)
    : index_(index), publisher_(publisher), on_exit_(std::move(on_exit)) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &snapshot_async_, &Worker::onSnapshot);
  uv_async_init(&loop_, &stop_async_, &Worker::onStop);
  uv_timer_init(&loop_, &drain_timer_);
  uv_timer_init(&loop_, &accept_resume_timer_);
  uv_async_init(&loop_, &handoff_async_, &Worker::onHandoff);
  // Open for the worker's whole life (see offer()), so it must not keep
  // the loop running once everything else has closed.
  uv_unref(reinterpret_cast<uv_handle_t*>(&handoff_async_));
  idle_.init(&loop_, &ClientSocket::onIdleExpired);
  snapshot_async_.data = stop_async_.data = drain_timer_.data = this;
  accept_resume_timer_.data = handoff_async_.data = this;
  publisher_.subscribe(&snapshot_async_);
}

Worker::~Worker() {
  publisher_.unsubscribe(&snapshot_async_);
  if (!running_) {
    // Never started: close what the constructor opened so the loop can close.
    for (uv_handle_t* handle : {reinterpret_cast<uv_handle_t*>(&snapshot_async_),
                                reinterpret_cast<uv_handle_t*>(&drain_timer_),
                                reinterpret_cast<uv_handle_t*>(&accept_resume_timer_)}) {
      uv_close(handle, nullptr);
    }
    idle_.close();
  }
  // Every worker thread has ended: nobody can offer connections or call
  // stop() any more.
  uv_close(reinterpret_cast<uv_handle_t*>(&handoff_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  AcceptedConnection late;
  while (handoffs_.pop(late)) ::close(late.fd);
  generations_.clear();
  pools_.clear();
  uv_loop_close(&loop_);
}

bool Worker::start() {
  // The first snapshot and its listener are taken before the thread starts,
  // so no request can arrive on a worker without one, and a worker that
  // cannot listen is known to the caller before anything is served.
  adoptLatest();
  const bool listening = switchListener() && listener_ != nullptr;
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return listening;
}

// stop_async_ stays open until the destructor, so a stop() after this
// worker has finished (a second SIGTERM while others still drain) wakes a
// loop that has nothing left to do instead of touching a closed handle.
void Worker::stop(bool graceful, Millis drain_timeout) {
  stop_graceful_.store(graceful);
  drain_timeout_ms_.store(drain_timeout.count());
  uv_async_send(&stop_async_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  log_.start(&loop_);  // this thread's lines go through its own queue from here on
  if (listener_ == nullptr) beginStop(false);
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (on_exit_) on_exit_();
}

void Worker::onSnapshot(uv_async_t* async) {
  auto* worker = static_cast<Worker*>(async->data);
  if (worker->finished_) return;
  worker->adoptLatest();
  if (!worker->draining_) worker->switchListener();
}

void Worker::adoptLatest() {
  std::shared_ptr<const Snapshot> latest = publisher_.latest();
  if (latest == nullptr || (current_ != nullptr && current_->snapshot == latest)) return;
  auto generation = std::make_unique<Generation>();
  generation->snapshot = latest;
  generation->clusters.reserve(latest->clusters.size());
  for (const Cluster& cluster : latest->clusters) {
    Generation::ClusterState state;
    state.cluster = &cluster;
    const Generation::ClusterState* previous = nullptr;
    if (current_ != nullptr) {
      for (const auto& candidate : current_->clusters) {
        if (candidate.cluster->name == cluster.name) previous = &candidate;
      }
    }
    if (previous != nullptr && sameBalancerInput(*previous->cluster, cluster)) {
      state.servers = previous->servers;
      state.balancer = previous->balancer;
    } else {
      // Servers new to a running worker ramp up (slow start); those the
      // previous set knew keep their ramp.
      state.servers = std::make_shared<balancers::ServerSet>(
          cluster.candidates, cluster.slow_start,
          previous != nullptr ? previous->servers.get() : nullptr, current_ != nullptr,
          uv_now(&loop_));
      state.servers->setPanicThreshold(cluster.panic_threshold);
      // Health as the process knows it now, before the balancer precomputes.
      state.servers->refresh(healthEpoch().load(std::memory_order_acquire), uv_now(&loop_));
      state.balancer = cluster.balancer->create(*state.servers, cluster.balancer_params, index_);
    }
    for (const auto& server : cluster.servers) state.pools.push_back(poolFor(server));
    generation->clusters.push_back(std::move(state));
  }
  // Compiled here, on the worker's thread, so that no RE2 is shared.
  generation->router = Router(latest->routes, current_ != nullptr ? &current_->router : nullptr);
  compiled_patterns_.fetch_add(generation->router.compiledCount(), std::memory_order_relaxed);
  Generation* previous = current_;
  current_ = generation.get();
  generations_.push_back(std::move(generation));
  version_.store(latest->version, std::memory_order_relaxed);
  if (previous != nullptr && previous->users == 0) retire(previous);
  prunePools();
}

UpstreamPool* Worker::poolFor(const std::shared_ptr<UpstreamServer>& server) {
  auto& pool = pools_[server->id];
  if (pool == nullptr) pool = std::make_unique<UpstreamPool>(&loop_, buffers_, server);
  pool->setRetired(false);
  return pool.get();
}

// Pools of servers the current snapshot no longer names stop keeping idle
// connections; once no live generation names them either, they go.
void Worker::prunePools() {
  std::unordered_set<uint32_t> current, live;
  for (const auto& generation : generations_) {
    for (const auto& cluster : generation->clusters) {
      for (const auto& server : cluster.cluster->servers) {
        live.insert(server->id);
        if (generation.get() == current_) current.insert(server->id);
      }
    }
  }
  for (auto it = pools_.begin(); it != pools_.end();) {
    if (!live.contains(it->first)) {
      it = pools_.erase(it);
      continue;
    }
    if (!current.contains(it->first)) it->second->setRetired(true);
    ++it;
  }
}

Generation* Worker::pin() {
  ++current_->users;
  return current_;
}

void Worker::unpin(Generation* generation) {
  if (--generation->users == 0 && generation != current_) {
    retire(generation);
    prunePools();
  }
}

void Worker::retire(Generation* generation) {
  // The snapshot may be the last reference: its destructor (which can join
  // the access log's writer) must run on the main thread, not here.
  publisher_.release(std::move(generation->snapshot));
  generations_.remove_if([generation](const auto& g) { return g.get() == generation; });
}

void Worker::socketClosed(ClientSocket* socket) {
  (socket->prev_open != nullptr ? socket->prev_open->next_open : open_sockets_) = socket->next_open;
  if (socket->next_open != nullptr) socket->next_open->prev_open = socket->prev_open;
  socket->prev_open = socket->next_open = nullptr;
  --open_count_;
  publishCounts();
  if (draining_) maybeFinish();
}

// Spares beyond this many are freed: a burst of concurrent requests does not
// leave its peak's worth of connections behind.
constexpr size_t kMaxSpareConnections = 1024;

ClientConnection* Worker::lendConnection() {
  ++busy_count_;
  publishCounts();
  if (spare_connections_.empty()) return new ClientConnection(*this);
  ClientConnection* conn = spare_connections_.back();
  spare_connections_.pop_back();
  return conn;
}

void Worker::returnConnection(ClientConnection* conn) {
  --busy_count_;
  publishCounts();
  conn->recycle();
  if (finished_ || spare_connections_.size() >= kMaxSpareConnections) {
    conn->destroy();
  } else {
    spare_connections_.push_back(conn);
  }
}

void Worker::onStop(uv_async_t* async) {
  auto* worker = static_cast<Worker*>(async->data);
  worker->beginStop(worker->stop_graceful_.load());
}

void Worker::beginStop(bool graceful) {
  if (finished_) return;
  if (!draining_) {
    draining_ = true;
    takes_handoffs_.store(false);
    uv_timer_stop(&accept_resume_timer_);
    if (listener_ != nullptr) {
      if (graceful) acceptFrom(*listener_, SIZE_MAX);
      closeListener(listener_);
      listener_ = nullptr;
    }
    uv_timer_start(&drain_timer_, &Worker::onDrainTimeout,
                   static_cast<uint64_t>(drain_timeout_ms_.load()), 0);
  }
  // Copies: draining or aborting a socket removes it from the list.
  std::vector<ClientSocket*> open;
  open.reserve(open_count_);
  for (ClientSocket* s = open_sockets_; s != nullptr; s = s->next_open) open.push_back(s);
  for (ClientSocket* socket : open) {
    if (graceful) {
      socket->drain();
    } else {
      socket->abort();
    }
  }
  maybeFinish();
}

void Worker::onDrainTimeout(uv_timer_t* timer) {
  auto* worker = static_cast<Worker*>(timer->data);
  log(LogLevel::kWarn, "worker {}: drain timeout, closing {} connections", worker->index_,
      worker->open_count_);
  worker->beginStop(false);
}

void Worker::maybeFinish() {
  if (finished_ || open_count_ != 0) return;
  finished_ = true;
  takes_handoffs_.store(false);
  takeHandoffs();  // closes what is still queued: it came too late to be served
  // Pending summaries go out and the timer closes; later lines still queue.
  log_.stop();
  log(LogLevel::kInfo, "{}", describeWorkerStats(index_, stats_, open_count_, busy_count_));
  idle_.close();
  for (ClientConnection* conn : spare_connections_) conn->destroy();
  spare_connections_.clear();
  publisher_.unsubscribe(&snapshot_async_);
  pools_.clear();  // closes idle upstream connections
  uv_timer_stop(&drain_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&accept_resume_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&snapshot_async_), nullptr);
  // Not closed: stop() may still be called (see there); the destructor closes it.
  uv_unref(reinterpret_cast<uv_handle_t*>(&stop_async_));
}

}  // namespace gourmet::core
