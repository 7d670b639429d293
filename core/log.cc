#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace gourmet::core {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

constexpr std::string_view levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

bool logEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == levelName(level)) return level;
  }
  return std::nullopt;
}

void writeLogLine(LogLevel level, std::string_view message) {
  std::string line = fmt::format("gourmet[{}] {}\n", levelName(level), message);
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // nowhere left to complain to
    done += static_cast<size_t>(n);
  }
}

}  // namespace gourmet::core
