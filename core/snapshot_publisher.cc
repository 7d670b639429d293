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

}  // namespace gourmet::core
