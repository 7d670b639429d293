#pragma once

// The main thread's side of configuration: load and validate the file,
// resolve server lists through providers, build a Snapshot and publish it to
// the workers. Start-up is the first reload; SIGHUP repeats it. A reload that
// fails at any step changes nothing: the previous snapshot keeps serving.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/access_log.h"
#include "core/config.h"
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

  // --check: validates everything a start would, opens nothing. Returns the
  // one-line summary.
  core::Result<std::string> check();

  // Loads the config, opens the listeners and the access log, publishes
  // version 1.
  tl::expected<void, StartError> start();

  // SIGHUP. Logs what changed (or why nothing did).
  void reload();

  // SIGUSR1: reopen the access log (after rotation).
  void reopenLogs();

  size_t workers() const { return workers_; }
  core::Millis drainTimeout() const { return current_->server.drain_timeout; }
  uint64_t failedReloads() const { return failed_reloads_; }

 private:
  struct Candidate;

  core::Result<Candidate> load();
  core::Result<std::shared_ptr<const core::Snapshot>> build(Candidate& candidate, uint64_t version);
  std::string summary(const core::Snapshot& snapshot) const;

  std::string path_;
  std::optional<uint32_t> workers_override_;
  core::SnapshotPublisher& publisher_;
  core::ServerRegistry registry_;
  std::optional<core::Config> current_;
  std::shared_ptr<const core::ListenerSet> listeners_;
  std::shared_ptr<core::AccessLog> access_log_;
  size_t workers_ = 1;
  uint64_t version_ = 0;
  uint64_t failed_reloads_ = 0;
};

}  // namespace gourmet::proxy
