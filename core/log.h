#pragma once

// Operator-facing log lines on stderr: "gourmet[level] message".
//
// log() may be called from any thread. A worker thread never writes stderr
// itself: its lines go through a queue of its own to the LogWriter thread
// (see core/log_writer.h and core/worker_log.h), formatted into a reused
// thread-local buffer, so logging takes no lock, makes no blocking call and,
// once warmed, does not allocate. Other threads hand their lines to the
// writer too while it runs, and write them directly (one write(2) per line)
// before it starts and after it stops.
//
// logRepeated() is for lines that can come once per request (an upstream
// refusing connections): on a worker, the first line of a key in a second
// is written, the others are only counted, and once the second is over one
// summary says how often it happened:
//   upstream_connect_refused for web/127.0.0.1:9002: 1,204 times in the last second

#include <fmt/format.h>

#include <iterator>
#include <optional>
#include <string_view>

namespace gourmet::core {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
std::optional<LogLevel> parseLogLevel(std::string_view name);
std::string_view logLevelName(LogLevel level);
// Formats "gourmet[level] message\n" and hands it on like log() does.
void writeLogLine(LogLevel level, std::string_view message);

// What makes repeated lines the same for logRepeated(): the reason and what
// it concerns. Summaries name it "WHAT for SCOPE/ITEM" (empty parts left out).
struct LogKey {
  std::string_view what;
  std::string_view scope{};
  std::string_view item{};
};

// Where the calling thread's lines go; a worker thread installs one for its
// lifetime (WorkerLog). Without one, a line goes to the LogWriter's shared
// queue, or straight to stderr when no writer runs.
class LogSink {
 public:
  // `line` is complete, with its '\n'.
  virtual void write(std::string_view line) = 0;
  // False: a line of `key` was already written in this second; count it.
  virtual bool admit(LogLevel level, const LogKey& key) = 0;

 protected:
  ~LogSink() = default;
};
// The calling thread's sink (nullptr: none).
void setThreadLogSink(LogSink* sink);

namespace log_detail {
// The calling thread's line buffer, holding the "gourmet[level] " prefix.
fmt::memory_buffer& startLine(LogLevel level);
// Appends the '\n' and hands the line to the thread's sink or the writer.
void finishLine(fmt::memory_buffer& line);
bool admit(LogLevel level, const LogKey& key);
}  // namespace log_detail

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (!logEnabled(level)) return;
  fmt::memory_buffer& line = log_detail::startLine(level);
  fmt::format_to(std::back_inserter(line), format, std::forward<Args>(args)...);
  log_detail::finishLine(line);
}

// As log(), rate-limited per key on worker threads (see above). Other
// threads log every line.
template <class... Args>
void logRepeated(LogLevel level, const LogKey& key, fmt::format_string<Args...> format,
                 Args&&... args) {
  if (!logEnabled(level) || !log_detail::admit(level, key)) return;
  log(level, format, std::forward<Args>(args)...);
}

}  // namespace gourmet::core
