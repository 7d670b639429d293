#pragma once

// Active health checks for the whole process, on the main thread's loop.
// Each server is checked once however many upstreams name it (the first
// upstream with a health_check gives its settings and its name in logs),
// keyed by its identity (UpstreamServer::id), so a reload keeps its counts
// and schedule. `unhealthy` failures in a row set kHealthFailingChecks on
// the server's health word, `healthy` passes in a row clear it (HAProxy's
// fall and rise); each transition is logged once:
//   health: web/127.0.0.1:9002 down: 3 checks failed (connect refused)
//   health: web/127.0.0.1:9002 up: 2 checks passed
// Intervals carry a random ±10% so that servers drift apart instead of
// being checked in the same millisecond.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "core/config.h"
#include "core/snapshot.h"

namespace gourmet::core {

class HealthProbe;
struct ProbeResult;

class ActiveHealthChecks {
 public:
  explicit ActiveHealthChecks(uv_loop_t* loop);
  // stop() must have finished (its callback ran) before destruction.
  ~ActiveHealthChecks();
  ActiveHealthChecks(const ActiveHealthChecks&) = delete;
  ActiveHealthChecks& operator=(const ActiveHealthChecks&) = delete;

  // Main thread, after every published snapshot. Servers new to the checks
  // are checked at once; servers no longer checked (removed, or their
  // upstream's health_check is gone) are cancelled and lose the flag the
  // checks set. `initial: unhealthy` flags a server new to the config: on
  // the first adopt every server, later one absent from the previous
  // snapshot, so a reload never resets a server it knew.
  void adopt(std::shared_ptr<const Snapshot> snapshot);

  // Main thread. Cancels every check; `done` runs once nothing of them is
  // left on the loop (at once when a previous stop() already finished).
  // adopt() does nothing after this.
  void stop(std::function<void()> done);

  // Main thread: called when a server's checks bring it back up (after
  // `healthy` passes that follow a down), so that an outlier ejection of
  // the same failure ends with it (Envoy's
  // successful_active_health_check_uneject_host).
  void onServerUp(std::function<void(UpstreamServer&)> up) { on_up_ = std::move(up); }

  // Servers being checked (for tests).
  size_t checking() const { return checks_.size(); }

 private:
  struct ServerCheck;

  void startProbe(ServerCheck& check);
  void onProbeDone(uint32_t id, const ProbeResult& result);
  void schedule(ServerCheck& check, uint64_t due_ms);
  void retire(ServerCheck& check);
  void armTimer();
  void onTimer();
  void closeFinished();

  uv_loop_t* loop_;
  uv_timer_t timer_{};
  std::map<uint32_t, std::unique_ptr<ServerCheck>> checks_;  // by UpstreamServer::id
  std::multimap<uint64_t, uint32_t> due_;                    // loop time (ms) -> id
  std::set<uint32_t> known_;  // every server of the last adopted snapshot
  bool adopted_ = false;
  bool stopping_ = false;
  int closing_ = 0;  // cancelled probes and the timer, until libuv is done with them
  std::function<void()> stopped_;
  std::function<void(UpstreamServer&)> on_up_;
  std::minstd_rand random_;
};

// `interval` moved by `unit` x 10%, `unit` in [-1, 1]; at least 1 ms.
Millis jitterInterval(Millis interval, double unit);

}  // namespace gourmet::core
