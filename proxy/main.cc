// gourmet: wiring of the main thread. The Reloader loads the config and
// publishes snapshots; this file starts the workers and turns signals into
// actions: SIGHUP reloads, SIGUSR1 reopens the access log, SIGUSR2 logs each
// worker's counters, SIGTERM/SIGINT drain (a second one stops at once).

#include <signal.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/config_loader.h"
#include "core/config_yaml_writer.h"
#include "core/log.h"
#include "core/log_writer.h"
#include "core/snapshot_publisher.h"
#include "core/worker.h"
#include "proxy/command_line.h"
#include "proxy/reloader.h"

namespace gourmet::proxy {
namespace {

// SIGHUPs closer together than this make one reload.
constexpr uint64_t kReloadCoalesceMs = 20;

class MainLoop {
 public:
  MainLoop(Reloader& reloader, std::vector<std::unique_ptr<core::Worker>>& workers,
           core::HealthMonitor& health)
      : reloader_(reloader), workers_(workers), health_(health) {
    uv_loop_t* loop = uv_default_loop();
    for (uv_signal_t* sig : signals()) {
      uv_signal_init(loop, sig);
      sig->data = this;
    }
    uv_signal_start(&sigterm_, &MainLoop::onStopSignal, SIGTERM);
    uv_signal_start(&sigint_, &MainLoop::onStopSignal, SIGINT);
    uv_signal_start(&sighup_, &MainLoop::onHangup, SIGHUP);
    uv_signal_start(&sigusr1_, &MainLoop::onUsr1, SIGUSR1);
    uv_signal_start(&sigusr2_, &MainLoop::onUsr2, SIGUSR2);
    uv_timer_init(loop, &reload_timer_);
    reload_timer_.data = this;
    uv_async_init(loop, &worker_exit_, &MainLoop::onWorkerExit);
    worker_exit_.data = this;
  }

  // Called on a worker thread when it has finished.
  void workerExited() {
    exited_.fetch_add(1);
    uv_async_send(&worker_exit_);
  }

  void run() { uv_run(uv_default_loop(), UV_RUN_DEFAULT); }

 private:
  std::array<uv_signal_t*, 5> signals() {
    return {&sigterm_, &sigint_, &sighup_, &sigusr1_, &sigusr2_};
  }

  static void onStopSignal(uv_signal_t* sig, int signum) {
    auto* self = static_cast<MainLoop*>(sig->data);
    bool graceful = !self->stopping_;
    core::log(core::LogLevel::kInfo, "{}: {}", signum == SIGTERM ? "SIGTERM" : "SIGINT",
              graceful ? "draining" : "stopping now");
    self->stopping_ = true;
    uv_timer_stop(&self->reload_timer_);
    self->reloader_.stop();
    for (auto& worker : self->workers_) worker->stop(graceful, self->reloader_.drainTimeout());
  }

  static void onHangup(uv_signal_t* sig, int) {
    auto* self = static_cast<MainLoop*>(sig->data);
    if (self->stopping_ || uv_is_active(reinterpret_cast<uv_handle_t*>(&self->reload_timer_))) {
      return;
    }
    uv_timer_start(
        &self->reload_timer_,
        [](uv_timer_t* timer) {
          static_cast<MainLoop*>(timer->data)->reloader_.reload(*timer->loop);
        },
        kReloadCoalesceMs, 0);
  }

  static void onUsr1(uv_signal_t* sig, int) {
    static_cast<MainLoop*>(sig->data)->reloader_.reopenLogs();
  }

  // Counters are read while the workers run: each line is a consistent
  // enough picture for an operator, not an atomic snapshot.
  static void onUsr2(uv_signal_t* sig, int) {
    for (const auto& worker : static_cast<MainLoop*>(sig->data)->workers_) {
      core::log(core::LogLevel::kInfo, "{}",
                core::describeWorkerStats(worker->index(), worker->stats(),
                                          worker->openConnections(), worker->busyConnections()));
    }
  }

  static void onWorkerExit(uv_async_t* async) {
    auto* self = static_cast<MainLoop*>(async->data);
    // Wake-ups coalesce: count the workers that have really finished.
    if (self->exited_.load() < self->workers_.size()) return;
    // The signal handles are not closed: closing the last one of a signal
    // gives it back its default action, and a SIGTERM during the shutdown
    // that follows (joins, destructors) would then kill the process instead
    // of exiting 0. Unreferenced, they let the loop end and keep catching
    // signals until the process exits (which is why MainLoop is never freed).
    for (uv_signal_t* sig : self->signals()) uv_unref(reinterpret_cast<uv_handle_t*>(sig));
    uv_close(reinterpret_cast<uv_handle_t*>(&self->reload_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->worker_exit_), nullptr);
    self->health_.stop();  // no worker signals it any more
  }

  Reloader& reloader_;
  std::vector<std::unique_ptr<core::Worker>>& workers_;
  core::HealthMonitor& health_;
  uv_signal_t sigterm_{}, sigint_{}, sighup_{}, sigusr1_{}, sigusr2_{};
  uv_timer_t reload_timer_{};
  uv_async_t worker_exit_{};
  std::atomic<size_t> exited_{0};
  bool stopping_ = false;
};

int run(int argc, char** argv) {
  auto cl = parseCommandLine(argc, argv);
  if (!cl) {
    std::fprintf(stderr, "gourmet: %s\n", cl.error().message.c_str());
    return 2;
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

  core::SnapshotPublisher publisher;
  Reloader reloader(cl->config_path, cl->workers, publisher);
  if (cl->check) {
    auto summary = reloader.check();
    if (!summary) {
      std::fprintf(stderr, "%s\n", summary.error().message.c_str());
      return 2;
    }
    if (cl->print_yaml) {
      auto config = core::loadConfig(cl->config_path);
      if (config) std::fputs(core::toYaml(*config).c_str(), stdout);
    } else {
      std::printf("%s: OK: %s\n", cl->config_path.c_str(), summary->c_str());
    }
    return 0;
  }

  signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a death
  std::vector<std::unique_ptr<core::Worker>> workers;
  // Never freed: libuv's signal handlers refer to its handles until exit.
  // Never freed either: workers may signal its wakeup until they exit.
  core::HealthMonitor& health = *new core::HealthMonitor(uv_default_loop());
  reloader.setHealthMonitor(&health);
  MainLoop& main_loop = *new MainLoop(reloader, workers, health);
  // Signals are handled from here on, so none is lost during start-up.
  auto started = reloader.start();
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().message.c_str());
    return started.error().exit_code;
  }
  // From here on stderr is written by the log writer thread (workers never
  // block on it), and superseded snapshots come back to this thread to die.
  core::LogWriter::start();
  publisher.attach(uv_default_loop());
  for (size_t i = 0; i < reloader.workers(); ++i) {
    workers.push_back(std::make_unique<core::Worker>(static_cast<uint32_t>(i), publisher,
                                                     [&main_loop] { main_loop.workerExited(); }));
  }
  for (auto& worker : workers) worker->setPeers(workers);
  bool listening = true;
  for (auto& worker : workers) listening = worker->start() && listening;
  // A worker that cannot watch its socket (out of descriptors) fails the
  // start: a proxy short of a worker is not what the config asked for, and
  // saying so now beats finding out from the load graph.
  if (!listening) {
    for (auto& worker : workers) worker->stop(false, reloader.drainTimeout());
  } else {
    // Only now: whoever waits for this line (tests, scripts) may connect and
    // count on every worker accepting.
    core::log(core::LogLevel::kInfo, "listening on {}:{}", reloader.listeners().address(),
              reloader.listeners().port());
  }

  main_loop.run();
  for (auto& worker : workers) worker->join();
  workers.clear();
  publisher.detach();
  if (!listening) {
    core::log(core::LogLevel::kError, "not every worker could listen; stopped");
    core::LogWriter::stop();
    return 1;
  }
  core::log(core::LogLevel::kInfo, "stopped");
  core::LogWriter::stop();  // everything queued is written before exit
  return 0;
}

}  // namespace
}  // namespace gourmet::proxy

int main(int argc, char** argv) { return gourmet::proxy::run(argc, argv); }
