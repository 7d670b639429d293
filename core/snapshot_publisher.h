#pragma once

// RCU publication of snapshots from the main thread to workers.
//
// The main thread stores the newest snapshot under a mutex and wakes every
// subscribed worker with uv_async_send. Wake-ups coalesce, so a worker's
// callback always pulls the latest snapshot, never a queue of changes. The
// mutex is held only to copy a shared_ptr, never across I/O; workers take it
// once per publication, not per request. (std::atomic<std::shared_ptr> is not
// lock-free in g++ 12 and confuses ThreadSanitizer, so it is not used.)
//
// The way back: a snapshot is never destroyed on a worker thread (its
// destructor may join the access log's writer and free a lot). A worker
// hands the references it drops to release(); they are dropped on the main
// thread, woken with a uv_async on its loop.

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

  // Main thread: released snapshots are dropped from `loop`'s callbacks
  // from now on. The handle does not keep the loop running.
  void attach(uv_loop_t* loop);
  // Main thread, once no worker thread runs: closes the handle and drops
  // what is still released.
  void detach();

  // Any thread (a worker): hands over a reference to drop on the main
  // thread. Takes the mutex once per superseded generation, not per request.
  void release(std::shared_ptr<const Snapshot> snapshot);
  // Main thread: drops what was released; returns how many references.
  size_t dropReleased();
  // Any thread: references released and not yet dropped.
  size_t releasedPending() const;

  ~SnapshotPublisher();  // drops what is still released (main thread)

 private:
  static void onReleased(uv_async_t* async);

  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> latest_;
  std::vector<uv_async_t*> subscribers_;
  std::vector<std::shared_ptr<const Snapshot>> released_;
  uv_async_t release_async_{};
  bool attached_ = false;
};

}  // namespace gourmet::core
