#pragma once

// Operator-facing log lines on stderr: "gourmet[level] message". One write(2)
// per line, so lines from different threads never interleave.

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace gourmet::core {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
std::optional<LogLevel> parseLogLevel(std::string_view name);
void writeLogLine(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (!logEnabled(level)) return;
  writeLogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace gourmet::core
