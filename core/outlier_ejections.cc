#include "core/outlier_ejections.h"

#include <algorithm>

#include "core/duration.h"
#include "core/log.h"

namespace gourmet::core {
namespace {

std::string_view why(uint32_t reasons) {
  if (reasons & kEjectConsecutiveFailures) return "consecutive failures";
  if (reasons & kEjectConsecutive5xx) return "consecutive 5xx";
  return "failures within fail_timeout (max_fail)";
}

uint32_t thresholdOf(uint32_t reasons, const Cluster& cluster, size_t index) {
  if (reasons & kEjectConsecutiveFailures) return cluster.outlier_detection.consecutive_failures;
  if (reasons & kEjectConsecutive5xx) return cluster.outlier_detection.consecutive_5xx;
  return cluster.fail_windows[index].max_fail;
}

}  // namespace

uint64_t OutlierEjections::take(const Snapshot& snapshot, uint64_t now_ms) {
  for (const Cluster& cluster : snapshot.clusters) {
    for (size_t i = 0; i < cluster.servers.size(); ++i) {
      ServerHealth& health = cluster.servers[i]->health;
      if (health.requested.load(std::memory_order_relaxed) == 0) continue;
      // A server in two upstreams: the first one that sees the request
      // judges it by its rules.
      const uint32_t reasons = health.requested.exchange(0, std::memory_order_relaxed);
      if (reasons != 0) consider(cluster, i, reasons, now_ms);
    }
  }
  return nextDue();
}

void OutlierEjections::consider(const Cluster& cluster, size_t index, uint32_t reasons,
                                uint64_t now_ms) {
  const std::shared_ptr<UpstreamServer>& server = cluster.servers[index];
  ServerHealth& health = server->health;
  if ((health.flags.load(std::memory_order_relaxed) & kHealthEjected) != 0) {
    health.resetCounts();  // already out: what raced in says nothing new
    return;
  }
  const bool window_only = (reasons & (kEjectConsecutiveFailures | kEjectConsecutive5xx)) == 0;
  if (!window_only) {
    size_t ejected = 0;
    for (const auto& other : cluster.servers) {
      if ((other->health.flags.load(std::memory_order_relaxed) & kHealthEjected) != 0) ++ejected;
    }
    const size_t share =
        cluster.servers.size() * cluster.outlier_detection.max_ejection_percent / 100;
    if (ejected + 1 > std::max<size_t>(1, share)) {
      health.resetCounts();
      log(LogLevel::kWarn,
          "health: {}/{} not ejected ({} {}): {} of {} servers are out already "
          "(max_ejection_percent {})",
          cluster.name, server->address, thresholdOf(reasons, cluster, index), why(reasons),
          ejected, cluster.servers.size(), cluster.outlier_detection.max_ejection_percent);
      return;
    }
  }
  Record& record = records_[server->id];
  record.server = server;
  record.upstream = cluster.name;
  uint64_t duration = 0;
  if (window_only) {
    // Gourmet's rule: skipped for about one window, not counted in a row.
    duration = cluster.fail_windows[index].fail_timeout_ms;
  } else {
    const uint64_t base =
        static_cast<uint64_t>(cluster.outlier_detection.base_ejection_time.count());
    const uint64_t cap = static_cast<uint64_t>(cluster.outlier_detection.max_ejection_time.count());
    if (record.in_a_row > 0 && record.back_ms != 0 && record.base_ms != 0) {
      const uint64_t quiet = (now_ms - record.back_ms) / record.base_ms;
      record.in_a_row -= static_cast<uint32_t>(std::min<uint64_t>(quiet, record.in_a_row));
    }
    record.in_a_row = std::min<uint32_t>(record.in_a_row + 1, 1u << 20);
    record.base_ms = base;
    duration = std::min(cap, base * record.in_a_row);
  }
  record.until_ms = now_ms + std::max<uint64_t>(duration, 1);
  health.resetCounts();
  health.setFlag(kHealthEjected, true);
  ++total_ejections_;
  log(LogLevel::kWarn, "health: {}/{} ejected for {}: {} {}{}", cluster.name, server->address,
      formatDuration(Millis(duration)), thresholdOf(reasons, cluster, index), why(reasons),
      record.in_a_row > 1 ? fmt::format(" (ejection {} in a row)", record.in_a_row) : "");
}

void OutlierEjections::letBackIn(Record& record, uint64_t now_ms, std::string_view why) {
  record.until_ms = 0;
  record.back_ms = now_ms;
  record.server->health.resetCounts();
  record.server->health.setFlag(kHealthEjected, false);
  log(LogLevel::kInfo, "health: {}/{} back in {}", record.upstream, record.server->address, why);
}

uint64_t OutlierEjections::expire(uint64_t now_ms) {
  for (auto& [id, record] : records_) {
    if (record.until_ms != 0 && record.until_ms <= now_ms) {
      letBackIn(record, now_ms, "after its ejection");
    }
  }
  return nextDue();
}

uint64_t OutlierEjections::uneject(const UpstreamServer& server, uint64_t now_ms) {
  auto found = records_.find(server.id);
  if (found != records_.end() && found->second.until_ms != 0) {
    letBackIn(found->second, now_ms, "once its health checks pass");
  }
  return nextDue();
}

void OutlierEjections::adopt(const Snapshot& snapshot) {
  std::unordered_map<uint32_t, bool> kept;
  for (const Cluster& cluster : snapshot.clusters) {
    for (const auto& server : cluster.servers) kept[server->id] = true;
  }
  std::erase_if(records_, [&](auto& item) {
    if (kept.contains(item.first)) return false;
    // An identity can outlive its removal (old snapshots still serving) and
    // come back with the next reload: it must not come back ejected.
    if (item.second.until_ms != 0) item.second.server->health.setFlag(kHealthEjected, false);
    return true;
  });
}

size_t OutlierEjections::ejectedCount() const {
  return static_cast<size_t>(std::count_if(records_.begin(), records_.end(), [](const auto& item) {
    return item.second.until_ms != 0;
  }));
}

uint64_t OutlierEjections::nextDue() const {
  uint64_t next = 0;
  for (const auto& [id, record] : records_) {
    if (record.until_ms != 0 && (next == 0 || record.until_ms < next)) next = record.until_ms;
  }
  return next;
}

}  // namespace gourmet::core
