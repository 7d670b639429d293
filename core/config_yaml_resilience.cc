#include "core/config_yaml_resilience.h"

#include <fmt/format.h>

#include <charconv>
#include <string>

namespace gourmet::core {
namespace {

constexpr std::string_view kOutlierKeys[] = {"consecutive_failures", "consecutive_5xx",
                                             "base_ejection_time", "max_ejection_time",
                                             "max_ejection_percent"};
constexpr std::string_view kHealthCheckKeys[] = {"path",      "interval", "timeout", "healthy",
                                                 "unhealthy", "expect",   "host",    "initial"};
constexpr std::string_view kRetryKeys[] = {"attempts",    "on",      "budget_percent",
                                           "min_retries", "backoff", "retry_non_idempotent"};
constexpr std::string_view kBackoffKeys[] = {"base", "max"};
constexpr int64_t kMaxThreshold = 1'000'000;
constexpr int64_t kMaxHealthyChecks = 1000;

struct RetryName {
  std::string_view name;
  uint32_t bit;
};
constexpr RetryName kRetryNames[] = {
    {"connect_failure", kRetryConnectFailure},
    {"reset", kRetryReset},
    {"timeout", kRetryTimeout},
    {"502", kRetry502},
    {"503", kRetry503},
    {"504", kRetry504},
};

bool parseStatus(std::string_view text, int& out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.size() != 3) return false;
  if (value < 100 || value > 599) return false;
  out = value;
  return true;
}

// "200-399", "200", or 204.
Result<void> setExpect(const YamlReader& in, const YamlEntry& entry, HealthCheckConfig& out) {
  std::string text;
  if (auto done = in.setString(entry, text); !done) return done;
  const size_t dash = text.find('-');
  int low = 0, high = 0;
  const bool ok = dash == std::string::npos
                      ? parseStatus(text, low) && (high = low, true)
                      : parseStatus(std::string_view(text).substr(0, dash), low) &&
                            parseStatus(std::string_view(text).substr(dash + 1), high);
  if (!ok || low > high) {
    return in.error(in.pos(entry),
                    fmt::format("invalid expect '{}' (expected a status like 200 or a range "
                                "like 200-399)",
                                text));
  }
  out.expect_min = low;
  out.expect_max = high;
  return {};
}

Result<void> setCheckPath(const YamlReader& in, const YamlEntry& entry, std::string& out) {
  std::string text;
  if (auto done = in.setString(entry, text); !done) return done;
  bool ok = !text.empty() && text[0] == '/';
  for (char c : text) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    return in.error(in.pos(entry),
                    fmt::format("invalid health_check path '{}' (expected an origin-form path "
                                "like /healthz, no spaces)",
                                text));
  }
  out = std::move(text);
  return {};
}

Result<void> setCheckHost(const YamlReader& in, const YamlEntry& entry, std::string& out) {
  std::string text;
  if (auto done = in.setString(entry, text); !done) return done;
  bool ok = !text.empty();
  for (char c : text) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_');
  }
  if (!ok) {
    return in.error(in.pos(entry), fmt::format("invalid health_check host '{}'", text));
  }
  out = std::move(text);
  return {};
}

Result<void> setInitial(const YamlReader& in, const YamlEntry& entry, bool& unhealthy) {
  std::string text;
  if (auto done = in.setString(entry, text); !done) return done;
  if (text != "healthy" && text != "unhealthy") {
    return in.error(in.pos(entry),
                    fmt::format("invalid initial '{}' (expected healthy or unhealthy)", text));
  }
  unhealthy = text == "unhealthy";
  return {};
}

Result<void> setRetryOn(const YamlReader& in, const YamlEntry& entry, uint32_t& out) {
  if (auto sequence = in.expectSequence(entry); !sequence) return sequence;
  uint32_t bits = 0;
  for (const YAML::Node& item : entry.value) {
    if (!item.IsScalar()) {
      return in.error(in.pos(item),
                      fmt::format("retries.on: expected a name, got {}", describeKind(item)));
    }
    const std::string& name = item.Scalar();
    uint32_t bit = 0;
    for (const RetryName& known : kRetryNames) {
      if (known.name == name) bit = known.bit;
    }
    if (bit == 0) {
      return in.error(in.pos(item),
                      fmt::format("unknown retry condition '{}' (expected connect_failure, "
                                  "reset, timeout, 502, 503 or 504)",
                                  name));
    }
    bits |= bit;
  }
  out = bits;
  return {};
}

Result<void> readBackoff(const YamlReader& in, const YamlEntry& section, RetryConfig& out) {
  auto map = in.map(section, "retries.backoff", kBackoffKeys);
  if (!map) return tl::unexpected(map.error());
  for (const YamlEntry& entry : map->entries) {
    Result<void> done;
    if (entry.key == "base") done = in.setDuration(entry, out.backoff_base);
    if (entry.key == "max") done = in.setDuration(entry, out.backoff_max);
    if (!done) return done;
  }
  if (out.backoff_base > out.backoff_max) {
    return in.error(in.pos(section.key_node),
                    fmt::format("retries.backoff: base {} ms is above max {} ms",
                                out.backoff_base.count(), out.backoff_max.count()));
  }
  return {};
}

}  // namespace

Result<void> readOutlierDetection(const YamlReader& in, const YamlEntry& section,
                                  OutlierDetectionConfig& out) {
  auto map = in.map(section, "outlier_detection", kOutlierKeys);
  if (!map) return tl::unexpected(map.error());
  OutlierDetectionConfig rules;
  rules.pos = in.pos(section.key_node);
  for (const YamlEntry& entry : map->entries) {
    Result<void> done;
    if (entry.key == "consecutive_failures") {
      done = in.setInteger(entry, 0, kMaxThreshold, rules.consecutive_failures);
    }
    if (entry.key == "consecutive_5xx") {
      done = in.setInteger(entry, 0, kMaxThreshold, rules.consecutive_5xx);
    }
    if (entry.key == "base_ejection_time") {
      done = in.setPositiveDuration(entry, rules.base_ejection_time);
    }
    if (entry.key == "max_ejection_time") {
      done = in.setPositiveDuration(entry, rules.max_ejection_time);
    }
    if (entry.key == "max_ejection_percent") {
      done = in.setInteger(entry, 0, 100, rules.max_ejection_percent);
    }
    if (!done) return done;
  }
  if (rules.max_ejection_time < rules.base_ejection_time) {
    return in.error(rules.pos,
                    fmt::format("outlier_detection: max_ejection_time {} ms is below "
                                "base_ejection_time {} ms",
                                rules.max_ejection_time.count(), rules.base_ejection_time.count()));
  }
  out = rules;
  return {};
}

Result<void> readHealthCheck(const YamlReader& in, const YamlEntry& section,
                             HealthCheckConfig& out) {
  auto map = in.map(section, "health_check", kHealthCheckKeys);
  if (!map) return tl::unexpected(map.error());
  HealthCheckConfig check;
  check.enabled = true;
  check.pos = in.pos(section.key_node);
  for (const YamlEntry& entry : map->entries) {
    Result<void> done;
    if (entry.key == "path") done = setCheckPath(in, entry, check.path);
    if (entry.key == "interval") done = in.setPositiveDuration(entry, check.interval);
    if (entry.key == "timeout") done = in.setPositiveDuration(entry, check.timeout);
    if (entry.key == "healthy") done = in.setInteger(entry, 1, kMaxHealthyChecks, check.healthy);
    if (entry.key == "unhealthy") {
      done = in.setInteger(entry, 1, kMaxHealthyChecks, check.unhealthy);
    }
    if (entry.key == "expect") done = setExpect(in, entry, check);
    if (entry.key == "host") done = setCheckHost(in, entry, check.host);
    if (entry.key == "initial") done = setInitial(in, entry, check.initial_unhealthy);
    if (!done) return done;
  }
  out = std::move(check);
  return {};
}

Result<void> readRetries(const YamlReader& in, const YamlEntry& section, RetryConfig& out) {
  auto map = in.map(section, "retries", kRetryKeys);
  if (!map) return tl::unexpected(map.error());
  RetryConfig retries;
  retries.pos = in.pos(section.key_node);
  for (const YamlEntry& entry : map->entries) {
    Result<void> done;
    if (entry.key == "attempts")
      done = in.setInteger(entry, 0, kMaxRetryAttempts, retries.attempts);
    if (entry.key == "on") done = setRetryOn(in, entry, retries.on);
    if (entry.key == "budget_percent") done = in.setInteger(entry, 0, 100, retries.budget_percent);
    if (entry.key == "min_retries") {
      done = in.setInteger(entry, 0, kMaxCircuitLimit, retries.min_retries);
    }
    if (entry.key == "backoff") done = readBackoff(in, entry, retries);
    if (entry.key == "retry_non_idempotent") {
      done = in.setBool(entry, retries.retry_non_idempotent);
    }
    if (!done) return done;
  }
  out = retries;
  return {};
}

Result<void> readErrorPages(const YamlReader& in, const YamlEntry& section, ErrorPagesConfig& out) {
  auto map = in.mapOfNames(section, "error_pages");
  if (!map) return tl::unexpected(map.error());
  ErrorPagesConfig pages;
  pages.pos = in.pos(section.key_node);
  for (const YamlEntry& entry : map->entries) {
    int status = 0;
    if (entry.key != "default" && (!parseStatus(entry.key, status) || status < 400)) {
      return in.error(in.pos(entry.key_node),
                      fmt::format("invalid error_pages key '{}' (expected a status from 400 to "
                                  "599, or default)",
                                  entry.key));
    }
    std::string file;
    if (auto done = in.setString(entry, file); !done) return done;
    if (file.empty()) return in.error(in.pos(entry), "error_pages: empty file name");
    pages.files[status] = std::move(file);
    pages.positions[status] = in.pos(entry);
  }
  out = std::move(pages);
  return {};
}

}  // namespace gourmet::core
