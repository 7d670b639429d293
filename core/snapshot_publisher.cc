#include "core/snapshot_publisher.h"

#include <algorithm>

namespace gourmet::core {

void SnapshotPublisher::publish(std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mutex_);
  latest_ = std::move(snapshot);
  for (uv_async_t* wake : subscribers_) uv_async_send(wake);
}

std::shared_ptr<const Snapshot> SnapshotPublisher::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

void SnapshotPublisher::subscribe(uv_async_t* wake) {
  std::lock_guard lock(mutex_);
  subscribers_.push_back(wake);
}

void SnapshotPublisher::unsubscribe(uv_async_t* wake) {
  std::lock_guard lock(mutex_);
  std::erase(subscribers_, wake);
}

SnapshotPublisher::~SnapshotPublisher() { dropReleased(); }

void SnapshotPublisher::attach(uv_loop_t* loop) {
  uv_async_init(loop, &release_async_, &SnapshotPublisher::onReleased);
  release_async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&release_async_));
  std::lock_guard lock(mutex_);
  attached_ = true;
}

void SnapshotPublisher::detach() {
  {
    std::lock_guard lock(mutex_);
    if (!attached_) return;
    attached_ = false;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&release_async_), nullptr);
  dropReleased();
}

void SnapshotPublisher::release(std::shared_ptr<const Snapshot> snapshot) {
  if (snapshot == nullptr) return;
  std::lock_guard lock(mutex_);
  released_.push_back(std::move(snapshot));
  if (attached_) uv_async_send(&release_async_);
}

size_t SnapshotPublisher::dropReleased() {
  std::vector<std::shared_ptr<const Snapshot>> dropped;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(released_);
  }
  return dropped.size();  // the destructors run here, outside the lock
}

size_t SnapshotPublisher::releasedPending() const {
  std::lock_guard lock(mutex_);
  return released_.size();
}

void SnapshotPublisher::onReleased(uv_async_t* async) {
  static_cast<SnapshotPublisher*>(async->data)->dropReleased();
}

}  // namespace gourmet::core
