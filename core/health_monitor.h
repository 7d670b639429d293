#pragma once

// The main thread's health decisions for every server of the process:
// passive ejections (OutlierEjections), woken by workers through one
// uv_async when an observation crossed a threshold, the timer that lets
// ejected servers back in, and the active checks (ActiveHealthChecks). The Reloader hands it every
// snapshot it publishes; its wakeup handle goes to the workers in SnapshotServices. Main thread
// only, except wakeup() which workers signal.

#include <uv.h>

#include <functional>
#include <memory>

#include "core/active_health_checks.h"
#include "core/outlier_ejections.h"
#include "core/snapshot.h"

namespace gourmet::core {

class HealthMonitor {
 public:
  explicit HealthMonitor(uv_loop_t* loop);
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // For SnapshotServices::health_wakeup: valid until stop() completes.
  uv_async_t* wakeup() { return &wakeup_; }
  // The snapshot workers now serve (after each publish).
  void adopt(std::shared_ptr<const Snapshot> snapshot);
  // Closes the handles (after the workers have exited); the loop can end.
  void stop();

  const OutlierEjections& ejections() const { return ejections_; }

 private:
  static void onWakeup(uv_async_t* async);
  static void onTimer(uv_timer_t* timer);
  void schedule(uint64_t due_ms);

  uv_loop_t* loop_;
  uv_async_t wakeup_{};
  uv_timer_t timer_{};
  std::shared_ptr<const Snapshot> current_;
  OutlierEjections ejections_;
  ActiveHealthChecks checks_;
  bool stopped_ = false;
};

}  // namespace gourmet::core
