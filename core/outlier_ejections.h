#pragma once

// Passive health checking's decisions (Envoy's outlier detection, Gourmet's
// max_fail), made once for the process on the main thread. Workers count
// what they see in each server's ServerHealth and ask (its `requested` bits)
// when a count crosses a threshold; take() answers those requests:
//
// - consecutive_failures / consecutive_5xx: the server is ejected for
//   base_ejection_time x n (n = its ejections in a row, capped at
//   max_ejection_time). n goes down by one for every base_ejection_time the
//   server then stays in, so a server that fails once a day is not punished
//   for last week.
// - Gourmet's max_fail within fail_timeout: out for one fail_timeout.
// - Never more than max_ejection_percent of an upstream's servers at once,
//   but one may always be ejected. A request beyond that is dropped (the
//   counts start again), and so is one for a server already out.
//
// Time comes from the caller (loop milliseconds), so tests drive it.

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/snapshot.h"

namespace gourmet::core {

class OutlierEjections {
 public:
  // Answers every pending request in `snapshot`'s clusters. Returns the
  // loop time of the next un-ejection due (0: none).
  uint64_t take(const Snapshot& snapshot, uint64_t now_ms);
  // Lets back in every server whose ejection ended by `now_ms`; returns the
  // next time due (0: none).
  uint64_t expire(uint64_t now_ms);
  // Ends the ejection of `server` now, if it is ejected (its active checks
  // say it is back); returns the next time due (0: none).
  uint64_t uneject(const UpstreamServer& server, uint64_t now_ms);
  // After a reload: forgets servers no longer in any cluster (their ejection
  // ends with their identity; a server kept keeps its state).
  void adopt(const Snapshot& snapshot);

  size_t ejectedCount() const;
  uint64_t totalEjections() const { return total_ejections_; }

 private:
  struct Record {
    std::shared_ptr<UpstreamServer> server;
    std::string upstream;  // for the log: the upstream whose rules ejected it
    uint32_t in_a_row = 0;
    uint64_t until_ms = 0;  // 0: not ejected by us
    uint64_t back_ms = 0;   // when it last came back
    uint64_t base_ms = 0;   // base_ejection_time it was ejected with
  };

  void consider(const Cluster& cluster, size_t index, uint32_t reasons, uint64_t now_ms);
  void letBackIn(Record& record, uint64_t now_ms, std::string_view why);
  uint64_t nextDue() const;

  std::unordered_map<uint32_t, Record> records_;  // by server identity id
  uint64_t total_ejections_ = 0;
};

}  // namespace gourmet::core
