#include "proxy/reloader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <thread>

#include "core/config_diff.h"
#include "core/config_loader.h"
#include "core/error_page_files.h"
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

// A load whose providers are still resolving.
struct Reloader::Loading {
  Candidate candidate;
  std::vector<std::unique_ptr<providers::Provider>> providers;
  size_t pending = 0;
  std::optional<core::Error> error;  // the first one, in config order of arrival
  Loaded done;
};

namespace {

bool sameServers(const core::ServerLists& a, const core::ServerLists& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.size() != ib->second.size()) return false;
    for (size_t i = 0; i < ia->second.size(); ++i) {
      const core::ResolvedServer &x = ia->second[i], &y = ib->second[i];
      if (x.address != y.address || x.weight != y.weight ||
          core::formatSockaddr(x.sockaddr) != core::formatSockaddr(y.sockaddr)) {
        return false;
      }
    }
  }
  return true;
}

// Upstreams whose resolved addresses differ, for the log.
std::vector<std::string> readdressed(const core::ServerLists& before,
                                     const core::ServerLists& after) {
  std::vector<std::string> names;
  for (const auto& [name, list] : after) {
    auto it = before.find(name);
    if (it == before.end() || !sameServers({{name, it->second}}, {{name, list}})) {
      names.push_back(name);
    }
  }
  return names;
}

}  // namespace

Reloader::Reloader(std::string path, std::optional<uint32_t> workers_override,
                   core::SnapshotPublisher& publisher)
    : path_(std::move(path)), workers_override_(workers_override), publisher_(publisher) {}

Reloader::~Reloader() = default;

void Reloader::load(uv_loop_t& loop, Loaded done) {
  auto loading = std::make_unique<Loading>();
  loading->done = std::move(done);
  auto config = core::loadConfig(path_);
  if (!config) return loading->done(tl::unexpected(config.error()));
  if (workers_override_) config->server.workers = *workers_override_;
  for (const core::UpstreamConfig& upstream : config->upstreams) {
    auto provider = providers::makeProvider(upstream);
    if (!provider) return loading->done(tl::unexpected(provider.error()));
    loading->providers.push_back(std::move(*provider));
  }
  loading->candidate.config = std::move(*config);
  loading->pending = loading->providers.size() + 1;  // + 1 while starting them
  Loading* self = loading.get();
  loading_ = std::move(loading);
  // Runs when a provider (or the start-up below) is through; the last one
  // hands the candidate over. The Loading is retired, not freed, there: we
  // are inside one of its providers' callbacks.
  auto settle = [this, self] {
    if (--self->pending != 0) return;
    retired_.push_back(std::move(loading_));
    completing_ = true;
    if (self->error) {
      self->done(tl::unexpected(*self->error));
    } else {
      self->done(std::move(self->candidate));
    }
    completing_ = false;
  };
  const auto& upstreams = self->candidate.config.upstreams;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    self->providers[i]->start(
        loop, [self, settle, name = upstreams[i].name](providers::Provider::ServerList list) {
          if (list) {
            self->candidate.servers[name] = std::move(*list);
          } else if (!self->error) {
            self->error = list.error();
          }
          settle();
        });
  }
  settle();
}

core::Result<Reloader::Candidate> Reloader::loadNow() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::optional<core::Result<Candidate>> out;
  load(loop, [&](core::Result<Candidate> candidate) { out = std::move(candidate); });
  uv_run(&loop, UV_RUN_DEFAULT);
  retired_.clear();
  uv_loop_close(&loop);
  if (!out) return core::fail("server resolution did not complete");
  return std::move(*out);
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
  return core::buildSnapshot(
      candidate.config, candidate.servers,
      {candidate.listeners, candidate.access_log, health_ != nullptr ? health_->wakeup() : nullptr},
      registry_, version);
}

void Reloader::publish(std::shared_ptr<const core::Snapshot> snapshot) {
  if (health_ != nullptr) health_->adopt(snapshot);
  publisher_.publish(std::move(snapshot));
}

core::Result<std::string> Reloader::check() {
  auto candidate = loadNow();
  if (!candidate) return tl::unexpected(candidate.error());
  auto snapshot = core::buildSnapshot(candidate->config, candidate->servers, {}, registry_, 1);
  if (!snapshot) return tl::unexpected(snapshot.error());
  return summary(**snapshot);
}

tl::expected<void, Reloader::StartError> Reloader::start() {
  auto candidate = loadNow();
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
  servers_ = candidate->servers;
  listeners_ = candidate->listeners;
  access_log_ = candidate->access_log;
  current_ = std::move(candidate->config);
  core::log(core::LogLevel::kInfo, "gourmet {}: {} workers; {}", GOURMET_VERSION, workers_,
            summary(**snapshot));
  publish(std::move(*snapshot));
  return {};
}

void Reloader::reload(uv_loop_t& loop) {
  if (stopped_) return;
  if (loading_ != nullptr) {
    reload_again_ = true;  // many SIGHUPs now make one reload after this one
    return;
  }
  if (!completing_) retired_.clear();
  load(loop, [this, &loop](core::Result<Candidate> candidate) {
    finishReload(std::move(candidate), loop);
  });
}

void Reloader::stop() {
  stopped_ = true;
  reload_again_ = false;
  if (loading_ != nullptr) {
    for (auto& provider : loading_->providers) provider->stop();
  }
}

void Reloader::finishReload(core::Result<Candidate> candidate, uv_loop_t& loop) {
  auto fail = [this](const std::string& why) {
    ++failed_reloads_;
    core::log(core::LogLevel::kError, "reload failed ({} so far), still serving version {}: {}",
              failed_reloads_, version_, why);
  };
  auto again = [this, &loop] {
    if (!reload_again_ || stopped_) return;
    reload_again_ = false;
    reload(loop);
  };
  if (stopped_) return;
  if (!candidate) {
    fail(candidate.error().message);
    return again();
  }

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
  // Names are re-resolved on every SIGHUP: a server whose name now
  // resolves elsewhere is a change even when the file is not.
  const std::vector<std::string> moved = readdressed(servers_, candidate->servers);
  // Error pages are files the config names: a SIGHUP rereads them even
  // when the config itself is the same.
  if (diff.empty() && moved.empty() && !core::namesErrorPageFiles(candidate->config)) {
    core::log(core::LogLevel::kInfo,
              "reload: configuration unchanged, still version {} (server names re-resolved, "
              "same addresses)",
              version_);
    return again();
  }
  auto snapshot = build(*candidate, version_ + 1);
  if (!snapshot) {
    fail(snapshot.error().message);
    return again();
  }
  ++version_;
  bool listener_changed = candidate->listeners != listeners_;
  listeners_ = candidate->listeners;
  access_log_ = candidate->access_log;
  current_ = std::move(candidate->config);
  servers_ = std::move(candidate->servers);
  publish(std::move(*snapshot));
  std::string what = diff.empty() ? std::string() : diff.summary();
  if (what.empty() && moved.empty()) what = "error pages reread";
  if (!moved.empty()) {
    what += fmt::format("{}server addresses re-resolved: {}", what.empty() ? "" : "; ",
                        fmt::join(moved, ", "));
  }
  core::log(core::LogLevel::kInfo, "reload: version {}: {}", version_, what);
  if (listener_changed) {
    core::log(core::LogLevel::kInfo, "listening on {}:{}", listeners_->address(),
              listeners_->port());
  }
  again();
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
  return fmt::format("{} locations, {} upstreams, {} servers: {}", snapshot.routes.size(),
                     snapshot.clusters.size(), servers, fmt::join(parts, ", "));
}

}  // namespace gourmet::proxy
