#include "core/worker.h"

#include "balancers/registry.h"
#include "core/client_connection.h"
#include "core/log.h"

namespace gourmet::core {

Worker::Worker(uint32_t index, SnapshotPublisher& publisher, int listen_fd, AccessLog* access_log,
               std::function<void()> on_exit)
    : index_(index),
      publisher_(publisher),
      listen_fd_(listen_fd),
      access_log_(access_log),
      on_exit_(std::move(on_exit)) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &snapshot_async_, &Worker::onSnapshot);
  uv_async_init(&loop_, &stop_async_, &Worker::onStop);
  uv_timer_init(&loop_, &drain_timer_);
  snapshot_async_.data = stop_async_.data = drain_timer_.data = this;
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  publisher_.subscribe(&snapshot_async_);
}

Worker::~Worker() {
  publisher_.unsubscribe(&snapshot_async_);
  uv_loop_close(&loop_);
}

void Worker::start() {
  // The first snapshot is adopted before the thread starts, so no request
  // can arrive on a worker without a snapshot.
  adoptLatest();
  thread_ = std::thread([this] { run(); });
}

void Worker::stop(bool graceful, Millis drain_timeout) {
  stop_graceful_.store(graceful);
  drain_timeout_ms_.store(drain_timeout.count());
  uv_async_send(&stop_async_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  int rc = uv_tcp_open(&listener_, listen_fd_);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096, &Worker::onConnection);
  if (rc != 0) {
    log(LogLevel::kError, "worker {}: cannot listen: {}", index_, uv_strerror(rc));
    beginStop(false);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (on_exit_) on_exit_();
}

void Worker::onSnapshot(uv_async_t* async) { static_cast<Worker*>(async->data)->adoptLatest(); }

void Worker::adoptLatest() {
  std::shared_ptr<const Snapshot> latest = publisher_.latest();
  if (latest == nullptr || (current_ != nullptr && current_->snapshot == latest)) return;
  auto generation = std::make_unique<Generation>();
  generation->snapshot = latest;
  generation->clusters.reserve(latest->clusters.size());
  for (const Cluster& cluster : latest->clusters) {
    Generation::ClusterState state;
    state.cluster = &cluster;
    state.balancer = cluster.balancer->create(cluster.candidates, index_);
    for (const auto& server : cluster.servers) state.pools.push_back(poolFor(server));
    generation->clusters.push_back(std::move(state));
  }
  Generation* previous = current_;
  current_ = generation.get();
  generations_.push_back(std::move(generation));
  if (previous != nullptr && previous->users == 0) retire(previous);
}

UpstreamPool* Worker::poolFor(const std::shared_ptr<UpstreamServer>& server) {
  auto& pool = pools_[server->id];
  if (pool == nullptr) pool = std::make_unique<UpstreamPool>(&loop_, buffers_, server);
  return pool.get();
}

Generation* Worker::pin() {
  if (current_ == nullptr) return nullptr;
  ++current_->users;
  return current_;
}

void Worker::unpin(Generation* generation) {
  if (--generation->users == 0 && generation != current_) retire(generation);
}

void Worker::retire(Generation* generation) {
  generations_.remove_if([generation](const auto& g) { return g.get() == generation; });
}

void Worker::onConnection(uv_stream_t* server, int status) {
  auto* worker = static_cast<Worker*>(server->data);
  if (status < 0) {
    log(LogLevel::kWarn, "worker {}: accept: {}", worker->index_, uv_strerror(status));
    return;
  }
  auto* conn = new ClientConnection(*worker);
  worker->connections_.push_front(conn);
  conn->position = worker->connections_.begin();
  conn->accept(server);
}

void Worker::connectionClosed(ClientConnection* conn) {
  connections_.erase(conn->position);
  if (draining_) maybeFinish();
}

void Worker::onStop(uv_async_t* async) {
  auto* worker = static_cast<Worker*>(async->data);
  worker->beginStop(worker->stop_graceful_.load());
}

void Worker::beginStop(bool graceful) {
  if (!draining_) {
    draining_ = true;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    }
    uv_timer_start(&drain_timer_, &Worker::onDrainTimeout,
                   static_cast<uint64_t>(drain_timeout_ms_.load()), 0);
  }
  // Copies: draining or aborting a connection removes it from the list.
  std::vector<ClientConnection*> open(connections_.begin(), connections_.end());
  for (ClientConnection* conn : open) {
    if (graceful) {
      conn->drain();
    } else {
      conn->abort();
    }
  }
  maybeFinish();
}

void Worker::onDrainTimeout(uv_timer_t* timer) {
  auto* worker = static_cast<Worker*>(timer->data);
  log(LogLevel::kWarn, "worker {}: drain timeout, closing {} connections", worker->index_,
      worker->connections_.size());
  worker->beginStop(false);
}

void Worker::maybeFinish() {
  if (finished_ || !connections_.empty()) return;
  finished_ = true;
  publisher_.unsubscribe(&snapshot_async_);
  pools_.clear();  // closes idle upstream connections
  uv_timer_stop(&drain_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&snapshot_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
}

}  // namespace gourmet::core
