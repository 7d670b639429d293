#pragma once

// RCU publication of snapshots from the main thread to workers.
//
// The main thread stores the newest snapshot under a mutex and wakes every
// subscribed worker with uv_async_send. Wake-ups coalesce, so a worker's
// callback always pulls the latest snapshot, never a queue of changes. The
// mutex is held only to copy a shared_ptr, never across I/O; workers take it
// once per publication, not per request. (std::atomic<std::shared_ptr> is not
// lock-free in g++ 12 and confuses ThreadSanitizer, so it is not used.)

#include <uv.h>

#include <memory>
#include <mutex>
#include <vector>

#include "core/snapshot.h"

namespace gourmet::core {

class SnapshotPublisher {
 public:
  // Main thread. Stores `snapshot` and wakes every subscriber.
  void publish(std::shared_ptr<const Snapshot> snapshot);

  // Any thread. The newest published snapshot (nullptr before the first).
  std::shared_ptr<const Snapshot> latest() const;

  // Any thread. `wake` is uv_async_send'ed on each publication until unsubscribed.
  void subscribe(uv_async_t* wake);
  void unsubscribe(uv_async_t* wake);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> latest_;
  std::vector<uv_async_t*> subscribers_;
};

}  // namespace gourmet::core
