#include "proxy/reloader.h"

#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/config_diff.h"
#include "core/config_loader.h"
#include "core/log.h"
#include "core/snapshot.h"
#include "providers/registry.h"

namespace gourmet::proxy {

struct Reloader::Candidate {
  core::Config config;
  core::ServerLists servers;
  std::shared_ptr<const core::ListenerSet> listeners;  // set by build
  std::shared_ptr<core::AccessLog> access_log;
};

Reloader::Reloader(std::string path, std::optional<uint32_t> workers_override,
                   core::SnapshotPublisher& publisher)
    : path_(std::move(path)), workers_override_(workers_override), publisher_(publisher) {}

core::Result<Reloader::Candidate> Reloader::load() {
  auto config = core::loadConfig(path_);
  if (!config) return tl::unexpected(config.error());
  if (workers_override_) config->server.workers = *workers_override_;
  Candidate candidate;
  for (const core::UpstreamConfig& upstream : config->upstreams) {
    auto provider = providers::makeProvider(upstream);
    if (!provider) return tl::unexpected(provider.error());
    std::optional<core::Error> error;
    (*provider)->start(*uv_default_loop(), [&](providers::Provider::ServerList list) {
      if (list) {
        candidate.servers[upstream.name] = std::move(*list);
      } else {
        error = list.error();
      }
    });
    if (error) return tl::unexpected(*error);
  }
  candidate.config = std::move(*config);
  return candidate;
}

// Opens what changed (listeners, access log) and builds the snapshot. Any
// failure leaves the running state untouched.
core::Result<std::shared_ptr<const core::Snapshot>> Reloader::build(Candidate& candidate,
                                                                    uint64_t version) {
  const core::ServerSection& wanted = candidate.config.server;
  if (listeners_ != nullptr && current_->server.address == wanted.address &&
      current_->server.port == wanted.port) {
    candidate.listeners = listeners_;
  } else {
    auto opened = core::ListenerSet::open(wanted.address, wanted.port, workers_);
    if (!opened) return tl::unexpected(opened.error());
    candidate.listeners = std::move(*opened);
  }
  if (current_ && current_->server.access_log == wanted.access_log) {
    candidate.access_log = access_log_;
  } else if (!wanted.access_log.empty()) {
    auto opened = core::AccessLog::open(wanted.access_log, workers_);  // a ring per worker
    if (!opened) return tl::unexpected(opened.error());
    candidate.access_log = std::move(*opened);
  }
  return core::buildSnapshot(candidate.config, candidate.servers,
                             {candidate.listeners, candidate.access_log}, registry_, version);
}

core::Result<std::string> Reloader::check() {
  auto candidate = load();
  if (!candidate) return tl::unexpected(candidate.error());
  auto snapshot = core::buildSnapshot(candidate->config, candidate->servers, {}, registry_, 1);
  if (!snapshot) return tl::unexpected(snapshot.error());
  return summary(**snapshot);
}

tl::expected<void, Reloader::StartError> Reloader::start() {
  auto candidate = load();
  if (!candidate) return tl::unexpected(StartError{candidate.error().message, 2});
  workers_ = candidate->config.server.workers;
  if (workers_ == 0) workers_ = std::max(1u, std::thread::hardware_concurrency());
  // Validate everything before opening anything: a config error must say so
  // (exit 2) rather than surface as a bind failure.
  auto dry = core::buildSnapshot(candidate->config, candidate->servers, {}, registry_, 1);
  if (!dry) return tl::unexpected(StartError{dry.error().message, 2});
  dry->reset();
  auto snapshot = build(*candidate, 1);
  if (!snapshot) return tl::unexpected(StartError{snapshot.error().message, 1});
  version_ = 1;
  listeners_ = candidate->listeners;
  access_log_ = candidate->access_log;
  current_ = std::move(candidate->config);
  core::log(core::LogLevel::kInfo, "gourmet {}: {} workers; {}", GOURMET_VERSION, workers_,
            summary(**snapshot));
  core::log(core::LogLevel::kInfo, "listening on {}:{}", listeners_->address(),
            listeners_->port());
  publisher_.publish(std::move(*snapshot));
  return {};
}

void Reloader::reload() {
  auto fail = [this](const std::string& why) {
    ++failed_reloads_;
    core::log(core::LogLevel::kError, "reload failed ({} so far), still serving version {}: {}",
              failed_reloads_, version_, why);
  };
  auto candidate = load();
  if (!candidate) return fail(candidate.error().message);

  uint32_t wanted_workers = candidate->config.server.workers;
  if (wanted_workers != current_->server.workers) {
    core::log(core::LogLevel::kWarn,
              "reload: workers {} -> {} needs a restart; keeping {} (the rest applies)",
              current_->server.workers == 0 ? std::string("auto")
                                            : std::to_string(current_->server.workers),
              wanted_workers == 0 ? std::string("auto") : std::to_string(wanted_workers), workers_);
    candidate->config.server.workers = current_->server.workers;
  }
  core::ConfigDiff diff = core::diffConfigs(*current_, candidate->config);
  if (diff.empty()) {
    core::log(core::LogLevel::kInfo, "reload: configuration unchanged, still version {}", version_);
    return;
  }
  auto snapshot = build(*candidate, version_ + 1);
  if (!snapshot) return fail(snapshot.error().message);
  ++version_;
  bool listener_changed = candidate->listeners != listeners_;
  listeners_ = candidate->listeners;
  access_log_ = candidate->access_log;
  current_ = std::move(candidate->config);
  publisher_.publish(std::move(*snapshot));
  core::log(core::LogLevel::kInfo, "reload: version {}: {}", version_, diff.summary());
  if (listener_changed) {
    core::log(core::LogLevel::kInfo, "listening on {}:{}", listeners_->address(),
              listeners_->port());
  }
}

void Reloader::reopenLogs() {
  if (access_log_ == nullptr) return;
  auto reopened = access_log_->reopen();
  if (!reopened) {
    core::log(core::LogLevel::kError, "{}", reopened.error().message);
  } else {
    core::log(core::LogLevel::kInfo, "access log reopened");
  }
}

std::string Reloader::summary(const core::Snapshot& snapshot) const {
  std::vector<std::string> parts;
  size_t servers = 0;
  for (const core::Cluster& cluster : snapshot.clusters) {
    servers += cluster.servers.size();
    parts.push_back(fmt::format("{} ({} servers, {})", cluster.name, cluster.servers.size(),
                                cluster.balancer_name));
  }
  return fmt::format("{} locations, {} upstreams, {} servers: {}", snapshot.router.size(),
                     snapshot.clusters.size(), servers, fmt::join(parts, ", "));
}

}  // namespace gourmet::proxy
