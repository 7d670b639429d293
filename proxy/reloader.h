#pragma once

// The main thread's side of configuration: load and validate the file,
// resolve server lists through providers, build a Snapshot and publish it to
// the workers. Start-up is the first reload; SIGHUP repeats it. A reload that
// fails at any step changes nothing: the previous snapshot keeps serving.
//
// Providers resolve on libuv's thread pool, so a reload completes later on
// the main loop; the file is re-read and every name re-resolved on each
// SIGHUP, and a server list that changed is a new version even when the
// file did not. SIGHUPs during a reload in flight make one more reload once
// it completes. Start-up and --check wait for their resolution on a loop of
// their own (nothing else runs yet).

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/access_log.h"
#include "core/config.h"
#include "core/health_monitor.h"
#include "core/listener.h"
#include "core/server_registry.h"
#include "core/snapshot_publisher.h"

namespace gourmet::proxy {

class Reloader {
 public:
  struct StartError {
    std::string message;
    int exit_code;  // 2: the config is wrong; 1: the machine said no (bind, open)
  };

  Reloader(std::string path, std::optional<uint32_t> workers_override,
           core::SnapshotPublisher& publisher);
  ~Reloader();

  // --check: validates everything a start would, opens nothing. Returns the
  // one-line summary.
  core::Result<std::string> check();

  // Loads the config, opens the listeners and the access log, publishes
  // version 1. The caller logs "listening on" once workers listen.
  tl::expected<void, StartError> start();

  // SIGHUP, on `loop` (the main loop). Starts a reload that logs, once the
  // servers are resolved, what changed (or why nothing did).
  void reload(uv_loop_t& loop);
  // SIGTERM: a reload in flight is abandoned (its lookups cancelled) and
  // none starts any more.
  void stop();

  // Before start(): the monitor that gets every published snapshot, and
  // whose wakeup the workers signal.
  void setHealthMonitor(core::HealthMonitor* monitor) { health_ = monitor; }

  // SIGUSR1: reopen the access log (after rotation).
  void reopenLogs();

  size_t workers() const { return workers_; }
  // After start(): the listening sockets of the current snapshot.
  const core::ListenerSet& listeners() const { return *listeners_; }
  core::Millis drainTimeout() const { return current_->server.drain_timeout; }
  uint64_t failedReloads() const { return failed_reloads_; }

 private:
  struct Candidate;
  struct Loading;
  using Loaded = std::function<void(core::Result<Candidate>)>;

  // Reads the file and starts every provider on `loop`; `done` runs once
  // they have all delivered (or one failed).
  void load(uv_loop_t& loop, Loaded done);
  // load() on a private loop, waited for.
  core::Result<Candidate> loadNow();
  void finishReload(core::Result<Candidate> candidate, uv_loop_t& loop);
  core::Result<std::shared_ptr<const core::Snapshot>> build(Candidate& candidate, uint64_t version);
  std::string summary(const core::Snapshot& snapshot) const;
  void publish(std::shared_ptr<const core::Snapshot> snapshot);

  std::string path_;
  std::optional<uint32_t> workers_override_;
  core::SnapshotPublisher& publisher_;
  core::HealthMonitor* health_ = nullptr;
  core::ServerRegistry registry_;
  std::optional<core::Config> current_;
  core::ServerLists servers_;                      // as the current snapshot was built from
  std::unique_ptr<Loading> loading_;               // in flight
  std::vector<std::unique_ptr<Loading>> retired_;  // done; freed outside their callbacks
  bool completing_ = false;                        // inside a load's completion
  bool reload_again_ = false;                      // a SIGHUP came during the reload in flight
  bool stopped_ = false;
  std::shared_ptr<const core::ListenerSet> listeners_;
  std::shared_ptr<core::AccessLog> access_log_;
  size_t workers_ = 1;
  uint64_t version_ = 0;
  uint64_t failed_reloads_ = 0;
};

}  // namespace gourmet::proxy
