#include "core/duration.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>

namespace gourmet::core {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t millis;
};

// Longest suffix first where one is a suffix of another ("ms" before "s").
constexpr std::array<Unit, 4> kUnits{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};

Result<Millis> invalid(std::string_view text) {
  return fail(
      fmt::format("invalid duration '{}' (expected e.g. 250ms, 5s, 2m, 1h, or seconds)", text));
}

}  // namespace

Result<Millis> parseDuration(std::string_view text) {
  const size_t digits = text.find_first_not_of("0123456789");
  const std::string_view number = text.substr(0, digits);
  const std::string_view suffix = digits == std::string_view::npos ? "" : text.substr(digits);
  if (number.empty()) return invalid(text);

  int64_t scale = 1000;  // a bare number is seconds
  if (!suffix.empty()) {
    scale = 0;
    for (const Unit& unit : kUnits) {
      if (suffix == unit.suffix) scale = unit.millis;
    }
    if (scale == 0) return invalid(text);
  }

  int64_t value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  // Refuse what would overflow the millisecond count rather than wrap.
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && value > std::numeric_limits<int64_t>::max() / scale)) {
    return fail(fmt::format("duration '{}' is too large", text));
  }
  if (ec != std::errc() || end != number.data() + number.size()) return invalid(text);
  return Millis{value * scale};
}

std::string formatDuration(Millis duration) {
  const int64_t ms = duration.count();
  if (ms == 0) return "0s";
  if (ms > 0) {
    for (auto unit = kUnits.rbegin(); unit != kUnits.rend(); ++unit) {
      if (ms % unit->millis == 0) return fmt::format("{}{}", ms / unit->millis, unit->suffix);
    }
  }
  return fmt::format("{}ms", ms);
}

}  // namespace gourmet::core
