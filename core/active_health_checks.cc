#include "core/active_health_checks.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>
#include <utility>

#include "core/health_probe.h"
#include "core/log.h"

namespace gourmet::core {

// One server's checks: its settings, where its next check stands, and the
// run of results so far.
struct ActiveHealthChecks::ServerCheck {
  std::shared_ptr<UpstreamServer> server;
  std::string name;  // "web/127.0.0.1:9002", for the log
  HealthCheckConfig config;
  ProbeSpec spec;
  HealthProbe* probe = nullptr;  // the check in flight, if any
  std::multimap<uint64_t, uint32_t>::iterator due;
  bool scheduled = false;  // `due` is valid
  uint32_t passes = 0;     // in a row
  uint32_t failures = 0;   // in a row
  bool failing = false;    // we set kHealthFailingChecks

  void configure(const Cluster& cluster) {
    name = cluster.name + "/" + server->address;
    config = cluster.health_check;
    spec.address = server->sockaddr;
    spec.request = healthCheckRequest(
        config.path, config.host.empty() ? std::string_view(server->address) : config.host);
    spec.expect_min = config.expect_min;
    spec.expect_max = config.expect_max;
    spec.timeout = config.timeout;
  }
};

namespace {

const char* checks(uint32_t n) { return n == 1 ? "check" : "checks"; }

}  // namespace

Millis jitterInterval(Millis interval, double unit) {
  double ms = static_cast<double>(interval.count()) * (1.0 + 0.1 * std::clamp(unit, -1.0, 1.0));
  return Millis(std::max<int64_t>(1, std::llround(ms)));
}

ActiveHealthChecks::ActiveHealthChecks(uv_loop_t* loop)
    : loop_(loop), random_(std::random_device{}()) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  // Like the rest of the health monitor, checks never keep the loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
}

ActiveHealthChecks::~ActiveHealthChecks() {
  // The timer and cancelled probes point here until libuv is done with them.
  assert(stopping_ && closing_ == 0);
}

void ActiveHealthChecks::adopt(std::shared_ptr<const Snapshot> snapshot) {
  if (stopping_ || !snapshot) return;
  // Who is checked with which settings: the first upstream with checks on wins.
  std::map<uint32_t, std::pair<const Cluster*, const std::shared_ptr<UpstreamServer>*>> wanted;
  std::set<uint32_t> known;
  for (const Cluster& cluster : snapshot->clusters) {
    for (const auto& server : cluster.servers) {
      known.insert(server->id);
      if (cluster.health_check.enabled) wanted.emplace(server->id, std::pair{&cluster, &server});
    }
  }

  for (auto it = checks_.begin(); it != checks_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    retire(*it->second);
    if (it->second->failing && it->second->server->health.setFlag(kHealthFailingChecks, false)) {
      log(LogLevel::kInfo, "health: {} up: no longer checked", it->second->name);
    }
    it = checks_.erase(it);
  }

  for (const auto& [id, where] : wanted) {
    const auto& [cluster, server] = where;
    auto found = checks_.find(id);
    if (found != checks_.end()) {
      // Kept: new settings apply from the next check; counts and schedule stay.
      found->second->configure(*cluster);
      continue;
    }
    auto check = std::make_unique<ServerCheck>();
    check->server = *server;
    check->configure(*cluster);
    const bool new_to_config = !adopted_ || known_.count(id) == 0;
    check->failing = check->config.initial_unhealthy && new_to_config;
    check->server->health.setFlag(kHealthFailingChecks, check->failing);
    ServerCheck& ref = *check;
    checks_.emplace(id, std::move(check));
    startProbe(ref);  // the first check of a new server runs at once
  }

  known_ = std::move(known);
  adopted_ = true;
}

void ActiveHealthChecks::stop(std::function<void()> done) {
  if (stopping_) {
    // Again: `done` runs once the first stop is complete, or at once if it is.
    if (closing_ == 0) {
      if (done) done();
      return;
    }
    stopped_ = [first = std::move(stopped_), done = std::move(done)] {
      if (first) first();
      if (done) done();
    };
    return;
  }
  stopping_ = true;
  stopped_ = std::move(done);
  // Flags stay as they are: the process is going away, not the servers.
  for (auto& [id, check] : checks_) retire(*check);
  checks_.clear();
  uv_timer_stop(&timer_);
  ++closing_;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* handle) {
    auto* self = static_cast<ActiveHealthChecks*>(handle->data);
    --self->closing_;
    self->closeFinished();
  });
}

void ActiveHealthChecks::startProbe(ServerCheck& check) {
  const uint32_t id = check.server->id;
  check.probe = HealthProbe::start(
      loop_, check.spec, [this, id](const ProbeResult& result) { onProbeDone(id, result); });
}

void ActiveHealthChecks::onProbeDone(uint32_t id, const ProbeResult& result) {
  // A probe reports only while its check exists: retire() cancels it.
  auto found = checks_.find(id);
  assert(found != checks_.end());
  ServerCheck& check = *found->second;
  check.probe = nullptr;
  if (result.passed()) {
    check.failures = 0;
    if (check.passes < UINT32_MAX) ++check.passes;
    if (check.failing && check.passes >= check.config.healthy) {
      check.failing = false;
      check.server->health.setFlag(kHealthFailingChecks, false);
      log(LogLevel::kInfo, "health: {} up: {} {} passed", check.name, check.passes,
          checks(check.passes));
      if (on_up_) on_up_(*check.server);
    }
  } else {
    check.passes = 0;
    if (check.failures < UINT32_MAX) ++check.failures;
    log(LogLevel::kDebug, "health: {} check failed ({})", check.name, result.reason());
    if (!check.failing && check.failures >= check.config.unhealthy) {
      check.failing = true;
      check.server->health.setFlag(kHealthFailingChecks, true);
      log(LogLevel::kWarn, "health: {} down: {} {} failed ({})", check.name, check.failures,
          checks(check.failures), result.reason());
    }
  }
  // The next interval counts from the end of this check, so checks of a
  // slow server never overlap.
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  const Millis wait = jitterInterval(check.config.interval, unit(random_));
  schedule(check, uv_now(loop_) + static_cast<uint64_t>(wait.count()));
}

void ActiveHealthChecks::schedule(ServerCheck& check, uint64_t due_ms) {
  if (check.scheduled) due_.erase(check.due);
  check.due = due_.emplace(due_ms, check.server->id);
  check.scheduled = true;
  armTimer();
}

void ActiveHealthChecks::retire(ServerCheck& check) {
  if (check.scheduled) {
    due_.erase(check.due);
    check.scheduled = false;
  }
  if (check.probe != nullptr) {
    ++closing_;
    check.probe->cancel([this] {
      --closing_;
      closeFinished();
    });
    check.probe = nullptr;
  }
  if (!stopping_) armTimer();
}

void ActiveHealthChecks::armTimer() {
  if (due_.empty()) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t now = uv_now(loop_);
  const uint64_t first = due_.begin()->first;
  uv_timer_start(
      &timer_, [](uv_timer_t* timer) { static_cast<ActiveHealthChecks*>(timer->data)->onTimer(); },
      first > now ? first - now : 0, 0);
}

void ActiveHealthChecks::onTimer() {
  const uint64_t now = uv_now(loop_);
  while (!due_.empty() && due_.begin()->first <= now) {
    ServerCheck& check = *checks_.at(due_.begin()->second);
    due_.erase(due_.begin());
    check.scheduled = false;
    startProbe(check);
  }
  armTimer();
}

void ActiveHealthChecks::closeFinished() {
  if (!stopping_ || closing_ != 0 || !stopped_) return;
  std::function<void()> done = std::move(stopped_);
  stopped_ = nullptr;
  done();
}

}  // namespace gourmet::core
