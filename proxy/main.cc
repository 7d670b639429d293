// gourmet: wiring of the main thread. Loads and validates the config,
// resolves server lists through providers, builds the first snapshot, opens
// one SO_REUSEPORT listener per worker, starts the workers, and turns
// signals into a drain (SIGTERM/SIGINT; a second one stops at once).

#include <signal.h>
#include <uv.h>

#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/access_log.h"
#include "core/config_yaml.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/snapshot_publisher.h"
#include "core/worker.h"
#include "providers/registry.h"
#include "proxy/command_line.h"

namespace gourmet::proxy {
namespace {

constexpr int kExitConfigError = 2;
constexpr int kExitStartupError = 1;
constexpr core::Millis kDrainTimeout{15000};

struct Loaded {
  core::Config config;
  std::shared_ptr<const core::Snapshot> snapshot;
};

core::Result<Loaded> load(const CommandLine& cl, core::ServerRegistry& registry) {
  auto config = core::loadYamlConfig(cl.config_path);
  if (!config) return tl::unexpected(config.error());
  if (cl.workers) config->server.workers = *cl.workers;

  core::ServerLists lists;
  for (const core::UpstreamConfig& upstream : config->upstreams) {
    auto provider = providers::makeProvider(upstream);
    if (!provider) return tl::unexpected(provider.error());
    std::optional<core::Error> error;
    (*provider)->start(*uv_default_loop(), [&](providers::Provider::ServerList list) {
      if (list) {
        lists[upstream.name] = std::move(*list);
      } else {
        error = list.error();
      }
    });
    if (error) return tl::unexpected(*error);
  }
  auto snapshot = core::buildSnapshot(*config, lists, registry, 1);
  if (!snapshot) return tl::unexpected(snapshot.error());
  return Loaded{std::move(*config), std::move(*snapshot)};
}

std::string summary(const core::Snapshot& snapshot) {
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

// The main loop: signals in, worker exits counted.
class MainLoop {
 public:
  explicit MainLoop(std::vector<std::unique_ptr<core::Worker>>& workers) : workers_(workers) {
    uv_loop_t* loop = uv_default_loop();
    for (uv_signal_t* sig : {&sigterm_, &sigint_, &sighup_}) {
      uv_signal_init(loop, sig);
      sig->data = this;
    }
    uv_signal_start(&sigterm_, &MainLoop::onStopSignal, SIGTERM);
    uv_signal_start(&sigint_, &MainLoop::onStopSignal, SIGINT);
    uv_signal_start(&sighup_, &MainLoop::onHangup, SIGHUP);
    uv_async_init(loop, &worker_exit_, &MainLoop::onWorkerExit);
    worker_exit_.data = this;
  }

  uv_async_t* workerExitSignal() { return &worker_exit_; }
  void setRunning(size_t workers) { running_ = workers; }

  void run() { uv_run(uv_default_loop(), UV_RUN_DEFAULT); }

 private:
  static void onStopSignal(uv_signal_t* sig, int signum) {
    auto* self = static_cast<MainLoop*>(sig->data);
    bool graceful = !self->stopping_;
    core::log(core::LogLevel::kInfo, "{}: {}", signum == SIGTERM ? "SIGTERM" : "SIGINT",
              graceful ? "draining" : "stopping now");
    self->stopping_ = true;
    for (auto& worker : self->workers_) worker->stop(graceful, kDrainTimeout);
  }

  static void onHangup(uv_signal_t*, int) {
    core::log(core::LogLevel::kWarn, "SIGHUP: configuration reload is not supported yet");
  }

  static void onWorkerExit(uv_async_t* async) {
    auto* self = static_cast<MainLoop*>(async->data);
    // Wake-ups coalesce: count the workers that have really finished.
    if (self->exited_.load() < self->running_) return;
    for (uv_signal_t* sig : {&self->sigterm_, &self->sigint_, &self->sighup_}) {
      uv_close(reinterpret_cast<uv_handle_t*>(sig), nullptr);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&self->worker_exit_), nullptr);
  }

 public:
  std::atomic<size_t> exited_{0};

 private:
  std::vector<std::unique_ptr<core::Worker>>& workers_;
  uv_signal_t sigterm_{}, sigint_{}, sighup_{};
  uv_async_t worker_exit_{};
  size_t running_ = 0;
  bool stopping_ = false;
};

int run(int argc, char** argv) {
  auto cl = parseCommandLine(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "gourmet: %s\n", cl.error().message.c_str());
    return kExitConfigError;
  }
  if (cl->help) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  if (cl->version) {
    std::printf("gourmet %s\n", GOURMET_VERSION);
    return 0;
  }
  if (cl->log_level) core::setLogLevel(*cl->log_level);

  core::ServerRegistry registry;
  auto loaded = load(*cl, registry);
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return kExitConfigError;
  }
  if (cl->check) {
    std::printf("%s: OK: %s\n", cl->config_path.c_str(), summary(*loaded->snapshot).c_str());
    return 0;
  }

  const core::Config& config = loaded->config;
  size_t worker_count = config.server.workers;
  if (worker_count == 0) worker_count = std::max(1u, std::thread::hardware_concurrency());
  auto listeners = core::openListeners(config.server.address, config.server.port, worker_count);
  if (!listeners) {
    core::log(core::LogLevel::kError, "{}", listeners.error().message);
    return kExitStartupError;
  }

  std::unique_ptr<core::AccessLog> access_log;
  if (!config.server.access_log.empty()) {
    auto opened = core::AccessLog::open(config.server.access_log);
    if (!opened) {
      core::log(core::LogLevel::kError, "{}", opened.error().message);
      return kExitStartupError;
    }
    access_log = std::move(*opened);
  }

  signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a death
  core::SnapshotPublisher publisher;
  publisher.publish(loaded->snapshot);
  loaded->snapshot.reset();

  std::vector<std::unique_ptr<core::Worker>> workers;
  MainLoop main_loop(workers);
  uv_async_t* exit_signal = main_loop.workerExitSignal();
  for (size_t i = 0; i < worker_count; ++i) {
    workers.push_back(std::make_unique<core::Worker>(
        static_cast<uint32_t>(i), publisher, listeners->fds[i], access_log.get(),
        [&main_loop, exit_signal] {
          main_loop.exited_.fetch_add(1);
          uv_async_send(exit_signal);
        }));
  }
  main_loop.setRunning(worker_count);
  for (auto& worker : workers) worker->start();

  core::log(core::LogLevel::kInfo, "gourmet {}: {} workers; {}", GOURMET_VERSION, worker_count,
            summary(*publisher.latest()));
  core::log(core::LogLevel::kInfo, "listening on {}:{}", config.server.address, listeners->port);

  main_loop.run();
  for (auto& worker : workers) worker->join();
  workers.clear();
  core::log(core::LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace gourmet::proxy

int main(int argc, char** argv) { return gourmet::proxy::run(argc, argv); }
