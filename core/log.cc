#include "core/log.h"

#include <atomic>

#include "core/log_writer.h"

namespace gourmet::core {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

thread_local LogSink* t_sink = nullptr;

}  // namespace

std::string_view logLevelName(LogLevel level) {
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

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }

bool logEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == logLevelName(level)) return level;
  }
  return std::nullopt;
}

void writeLogLine(LogLevel level, std::string_view message) {
  fmt::memory_buffer& line = log_detail::startLine(level);
  line.append(message);
  log_detail::finishLine(line);
}

void setThreadLogSink(LogSink* sink) { t_sink = sink; }

namespace log_detail {

fmt::memory_buffer& startLine(LogLevel level) {
  // One buffer per thread, kept with its capacity: formatting a line does
  // not allocate once the thread has logged its longest line.
  thread_local fmt::memory_buffer line;
  line.clear();
  fmt::format_to(std::back_inserter(line), "gourmet[{}] ", logLevelName(level));
  return line;
}

// UBSan's vptr check probes memory through a pipe the first time it meets a
// type, and a worker logs exactly when descriptors run out ("pausing
// accepts"): without a free descriptor the probe fails and UBSan reports a
// valid sink as an invalid object. The sink is set by the thread itself and
// outlives it, so the check is skipped here rather than made to need a file.
#if defined(__clang__) || defined(__GNUC__)
#define GOURMET_NO_VPTR_CHECK __attribute__((no_sanitize("vptr")))
#else
#define GOURMET_NO_VPTR_CHECK
#endif

GOURMET_NO_VPTR_CHECK void finishLine(fmt::memory_buffer& line) {
  line.push_back('\n');
  const std::string_view text(line.data(), line.size());
  if (t_sink != nullptr) {
    t_sink->write(text);
  } else if (!LogWriter::enqueue(text)) {
    LogWriter::writeNow(text);
  }
}

GOURMET_NO_VPTR_CHECK bool admit(LogLevel level, const LogKey& key) {
  return t_sink == nullptr || t_sink->admit(level, key);
}

}  // namespace log_detail
}  // namespace gourmet::core
