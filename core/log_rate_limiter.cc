#include "core/log_rate_limiter.h"

#include <fmt/format.h>

namespace gourmet::core {
namespace {

uint64_t hashKey(const LogKey& key) {
  uint64_t hash = 0xcbf29ce484222325;  // FNV-1a
  for (std::string_view part : {key.what, key.scope, key.item}) {
    for (const char c : part) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3;
    hash = (hash ^ 0x1f) * 0x100000001b3;  // "ab","c" differs from "a","bc"
  }
  return hash;
}

void setLabel(std::string& label, const LogKey& key) {
  label.assign(key.what);
  if (!key.scope.empty() || !key.item.empty()) label += " for ";
  label += key.scope;
  if (!key.scope.empty() && !key.item.empty()) label += '/';
  label += key.item;
}

}  // namespace

void appendGrouped(std::string& out, uint64_t value) {
  char digits[24];
  const auto end = fmt::format_to(digits, "{}", value);
  const size_t n = static_cast<size_t>(end - digits);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
}

LogRateLimiter::Verdict LogRateLimiter::admit(LogLevel level, const LogKey& key, uint64_t now_ms) {
  const uint64_t hash = hashKey(key);
  Slot* slot = nullptr;
  for (Slot& candidate : slots_) {
    if (candidate.count > 0 && candidate.hash == hash) slot = &candidate;
  }
  if (slot != nullptr && now_ms < slot->window_end) {
    ++slot->count;
    return {.write = false, .summary = std::nullopt};
  }
  if (slot == nullptr) {
    // A free slot, else one whose window ended with nothing to report, else
    // the oldest window (its summary goes out early).
    auto rank = [now_ms](const Slot& s) {
      if (s.count == 0) return 0;
      if (s.window_end <= now_ms) return s.count == 1 ? 1 : 2;
      return 3;
    };
    slot = &slots_[0];
    for (Slot& candidate : slots_) {
      const int r = rank(candidate), best = rank(*slot);
      if (r < best || (r == best && candidate.window_end < slot->window_end)) slot = &candidate;
    }
  }
  Verdict verdict;
  if (slot->count > 1) verdict.summary = summarise(*slot);
  if (slot->hash != hash || slot->label.empty()) setLabel(slot->label, key);
  slot->hash = hash;
  slot->level = level;
  slot->count = 1;
  slot->window_end = now_ms + kWindowMs;
  return verdict;
}

std::optional<LogRateLimiter::Summary> LogRateLimiter::takeDue(uint64_t now_ms) {
  for (Slot& slot : slots_) {
    if (slot.count > 1 && slot.window_end <= now_ms) return summarise(slot);
  }
  return std::nullopt;
}

std::optional<uint64_t> LogRateLimiter::nextDue() const {
  std::optional<uint64_t> due;
  for (const Slot& slot : slots_) {
    if (slot.count > 1 && (!due || slot.window_end < *due)) due = slot.window_end;
  }
  return due;
}

LogRateLimiter::Summary LogRateLimiter::summarise(Slot& slot) {
  summary_.assign(slot.label);
  summary_ += ": ";
  appendGrouped(summary_, slot.count);
  summary_ += " times in the last second";
  slot.count = 0;
  return {slot.level, summary_};
}

}  // namespace gourmet::core
