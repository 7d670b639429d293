#pragma once

// Rate limiting of repeated log lines, for one thread (a worker): the first
// line of a key goes out and opens a one-second window; the others in that
// window are only counted. Once the window is over, one summary tells how
// often the key came:
//   upstream_connect_refused for web/127.0.0.1:9002: 1,204 times in the last second
// The count includes the line that was written. A summary is due when its
// window ends (nextDue() says when: the worker arms a timer) or earlier when
// its slot is needed for another key. Memory is fixed: kSlots keys at a
// time; when all are in a window, the oldest window is summarised early.
//
// Plain single-thread state; time comes from the caller (milliseconds of any
// monotonic clock).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/log.h"

namespace gourmet::core {

class LogRateLimiter {
 public:
  static constexpr uint64_t kWindowMs = 1000;
  static constexpr size_t kSlots = 64;

  struct Summary {
    LogLevel level;
    std::string_view text;  // without prefix or '\n'; valid until the next call
  };
  struct Verdict {
    bool write = true;               // false: counted, not written
    std::optional<Summary> summary;  // to write first: a window ended
  };

  Verdict admit(LogLevel level, const LogKey& key, uint64_t now_ms);
  // A summary whose window ended by `now_ms`, if any (call until none).
  std::optional<Summary> takeDue(uint64_t now_ms);
  // When the next summary is due; nullopt when none is pending.
  std::optional<uint64_t> nextDue() const;

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t window_end = 0;
    uint64_t count = 0;  // lines of the key in its window; 0: slot free
    LogLevel level = LogLevel::kInfo;
    std::string label;  // "WHAT for SCOPE/ITEM"
  };

  Summary summarise(Slot& slot);

  std::array<Slot, kSlots> slots_{};
  std::string summary_;
};

// 1204 -> "1,204".
void appendGrouped(std::string& out, uint64_t value);

}  // namespace gourmet::core
