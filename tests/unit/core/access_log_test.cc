#include "core/access_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace gourmet::core {
namespace {

namespace fs = std::filesystem;

constexpr std::time_t k25Nov2026_083000 = 1795595400;

std::string formatted(const AccessLogEntry& entry) {
  std::string out = "left over from the previous line";
  formatAccessLogLine(entry, out);
  return out;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Each test gets its own fresh directory, removed afterwards.
class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "access_log_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<AccessLog> openLog(const fs::path& path,
                                     size_t bound = AccessLog::kDefaultMaxBufferedBytes,
                                     size_t producers = 1) {
    auto log = AccessLog::open(path.string(), producers, bound);
    EXPECT_TRUE(log) << log.error().message;
    return log ? std::move(*log) : nullptr;
  }

  fs::path dir_;
};

TEST(AccessLogFormat, WritesTheCombinedLikeLine) {
  AccessLogEntry entry{.client_ip = "203.0.113.7",
                       .method = "GET",
                       .target = "/api/items?id=42",
                       .upstream = "10.0.0.2:8080",
                       .reason = "ok",
                       .http_minor = 1,
                       .status = 200,
                       .bytes_sent = 5120,
                       .duration_ms = 12.3456,
                       .when = k25Nov2026_083000};
  EXPECT_EQ(formatted(entry),
            "203.0.113.7 - - [25/Nov/2026:08:30:00 +0000] \"GET /api/items?id=42 HTTP/1.1\" "
            "200 5120 \"10.0.0.2:8080\" 12.346 ok");
}

TEST(AccessLogFormat, TimestampFollowsTheSecondOnTheSameThread) {
  AccessLogEntry entry{.when = k25Nov2026_083000};
  EXPECT_EQ(formatted(entry).substr(0, 36), "- - - [25/Nov/2026:08:30:00 +0000] \"");
  entry.when += 1;
  EXPECT_EQ(formatted(entry).substr(0, 36), "- - - [25/Nov/2026:08:30:01 +0000] \"");
  entry.when = 1772694249;  // a single-digit day and another month
  EXPECT_EQ(formatted(entry).substr(0, 36), "- - - [05/Mar/2026:07:04:09 +0000] \"");
}

TEST(AccessLogFormat, EmptyFieldsBecomeDashes) {
  AccessLogEntry entry{.http_minor = 0, .status = 400, .when = k25Nov2026_083000};
  EXPECT_EQ(formatted(entry),
            "- - - [25/Nov/2026:08:30:00 +0000] \"- - HTTP/1.0\" 400 0 \"-\" 0.000 -");
}

TEST(AccessLogFormat, EscapesWhatCouldForgeALineOrAField) {
  AccessLogEntry entry{.client_ip = "1.2.3.4",
                       .method = "GET",
                       .target = "/x\" 200 0 \"-\" 1.0 ok\n6.6.6.6 - - [forged]\\\t\x7f\xc3\xa9",
                       .upstream = "a\"b",
                       .reason = "two words\r",
                       .status = 404,
                       .when = k25Nov2026_083000};
  const std::string line = formatted(entry);
  EXPECT_EQ(line,
            "1.2.3.4 - - [25/Nov/2026:08:30:00 +0000] "
            "\"GET /x\\x22\\x20200\\x200\\x20\\x22-\\x22\\x201.0\\x20ok\\x0A6.6.6.6\\x20-\\x20-"
            "\\x20[forged]\\x5C\\x09\\x7F\\xC3\\xA9 HTTP/1.1\" 404 0 \"a\\x22b\" 0.000 "
            "two\\x20words\\x0D");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(std::count(line.begin(), line.end(), '"'), 4);
}

TEST_F(AccessLogTest, OpenNamesThePathAndTheReason) {
  const fs::path path = dir_ / "missing" / "access.log";
  auto log = AccessLog::open(path.string(), 1);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().message,
            "cannot open access log '" + path.string() + "': No such file or directory");
}

TEST_F(AccessLogTest, AppendsToAnExistingFile) {
  const fs::path path = dir_ / "access.log";
  std::ofstream(path) << "earlier\n";
  auto log = openLog(path);
  ASSERT_TRUE(log);
  log->write(0, "later");
  log->flush();
  EXPECT_EQ(readFile(path), "earlier\nlater\n");
  log->flush();  // nothing pending: returns at once
}

TEST_F(AccessLogTest, DestructorWritesWhatIsBuffered) {
  const fs::path path = dir_ / "access.log";
  auto log = openLog(path);
  ASSERT_TRUE(log);
  log->write(0, "one");
  log->write(0, "two");
  log.reset();
  EXPECT_EQ(readFile(path), "one\ntwo\n");
}

TEST_F(AccessLogTest, LinesFromManyThreadsAllArriveIntact) {
  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 10'000;
  const fs::path path = dir_ / "access.log";
  auto log = openLog(path, AccessLog::kDefaultMaxBufferedBytes, kThreads);
  ASSERT_TRUE(log);

  auto entryFor = [](const std::string& target) {
    return AccessLogEntry{.client_ip = "127.0.0.1",
                          .method = "GET",
                          .target = target,
                          .upstream = "127.0.0.1:9000",
                          .reason = "ok",
                          .status = 200,
                          .bytes_sent = 1234,
                          .duration_ms = 0.5,
                          .when = k25Nov2026_083000};
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string line;
      for (int i = 0; i < kLinesPerThread; ++i) {
        formatAccessLogLine(entryFor(fmt::format("/t/{}/i/{}", t, i)), line);
        log->write(t, line);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  log->flush();
  EXPECT_EQ(log->dropped(), 0u);

  // Every line must be exactly what some write() produced, each exactly once.
  const std::vector<std::string> lines = linesOf(readFile(path));
  ASSERT_EQ(lines.size(), size_t{kThreads * kLinesPerThread});
  std::set<std::pair<int, int>> seen;
  std::vector<int> last(kThreads, -1);
  for (const std::string& line : lines) {
    int t = -1, i = -1;
    const size_t at = line.find("\"GET /t/");
    ASSERT_NE(at, std::string::npos) << line;
    ASSERT_EQ(std::sscanf(line.c_str() + at, "\"GET /t/%d/i/%d ", &t, &i), 2) << line;
    std::string expected;
    formatAccessLogLine(entryFor(fmt::format("/t/{}/i/{}", t, i)), expected);
    ASSERT_EQ(line, expected);
    ASSERT_TRUE(seen.emplace(t, i).second) << "twice: " << line;
    ASSERT_GT(i, last[t]) << "out of order within producer " << t << ": " << line;
    last[t] = i;
  }
}

TEST_F(AccessLogTest, ReopenAfterRenameWritesToTheNewFile) {
  const fs::path path = dir_ / "access.log";
  const fs::path rotated = dir_ / "access.log.1";
  auto log = openLog(path);
  ASSERT_TRUE(log);
  log->write(0, "before");
  log->flush();
  fs::rename(path, rotated);
  log->write(0, "still to the renamed file");
  log->flush();

  ASSERT_TRUE(log->reopen());
  log->write(0, "after");
  log->flush();
  EXPECT_EQ(readFile(rotated), "before\nstill to the renamed file\n");
  EXPECT_EQ(readFile(path), "after\n");
}

TEST_F(AccessLogTest, FailedReopenKeepsTheOldFile) {
  const fs::path path = dir_ / "logs" / "access.log";
  fs::create_directory(dir_ / "logs");
  auto log = openLog(path);
  ASSERT_TRUE(log);
  fs::rename(dir_ / "logs", dir_ / "moved");

  auto reopened = log->reopen();
  ASSERT_FALSE(reopened);
  EXPECT_EQ(reopened.error().message,
            "cannot open access log '" + path.string() + "': No such file or directory");
  log->write(0, "kept");
  log->flush();
  EXPECT_EQ(readFile(dir_ / "moved" / "access.log"), "kept\n");
}

TEST_F(AccessLogTest, DropsAndCountsALineThatWouldPassTheBound) {
  const fs::path path = dir_ / "access.log";
  auto log = openLog(path, /*bound=*/32);
  ASSERT_TRUE(log);
  log->write(0, "short");               // 6 bytes: fits
  log->write(0, std::string(40, 'x'));  // 41 bytes: over the bound whatever is buffered
  log->write(0, "short");               // at most 12 bytes buffered: fits
  log->flush();
  EXPECT_EQ(log->dropped(), 1u);
  EXPECT_EQ(readFile(path), "short\nshort\n");
}

TEST_F(AccessLogTest, EveryLineIsEitherWrittenOrCountedAsDropped) {
  // A 1 KiB bound holds about 20 of these lines, while the writer takes the
  // buffer only every 200 ms: a burst of 10,000 must overflow it. Whatever
  // the timing, no line may be lost without being counted.
  constexpr int kLines = 10'000;
  const fs::path path = dir_ / "access.log";
  auto log = openLog(path, /*bound=*/1024);
  ASSERT_TRUE(log);
  const std::string line(49, 'l');
  for (int i = 0; i < kLines; ++i) log->write(0, line);
  log->flush();
  const size_t written = linesOf(readFile(path)).size();
  EXPECT_GT(log->dropped(), 0u);
  EXPECT_EQ(written + log->dropped(), size_t{kLines});
}

TEST_F(AccessLogTest, NothingIsLostWhileEachProducerStaysUnderItsBound) {
  // Each producer writes less than its ring holds: whatever the writer
  // does meanwhile, no line can be dropped.
  constexpr int kProducers = 8;
  constexpr int kLines = 300;  // 300 * 20 bytes < 8 KiB
  const fs::path path = dir_ / "access.log";
  auto log = openLog(path, /*bound=*/8 << 10, kProducers);
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int t = 0; t < kProducers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) log->write(t, fmt::format("p{:02} line {:06}", t, i));
    });
  }
  for (auto& thread : threads) thread.join();
  log->flush();
  EXPECT_EQ(log->dropped(), 0u);
  std::vector<int> next(kProducers, 0);
  const std::vector<std::string> lines = linesOf(readFile(path));
  ASSERT_EQ(lines.size(), size_t{kProducers * kLines});
  for (const std::string& line : lines) {
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "p%d line %d", &t, &i), 2) << line;
    ASSERT_EQ(i, next[t]) << "producer " << t << " out of order or lost: " << line;
    ++next[t];
  }
}

TEST_F(AccessLogTest, ProducersBehindAStuckFileDropAndCountWithinTheirBound) {
  // The log is a FIFO that nobody reads until the producers are done: once
  // the pipe and the rings are full, every further line must be dropped and
  // counted, and each producer's memory stays within its bound.
  constexpr int kProducers = 4;
  constexpr int kLines = 2000;
  constexpr size_t kBound = 4 << 10;
  const fs::path path = dir_ / "access.fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto log = openLog(path, kBound, kProducers);
  ASSERT_TRUE(log);
  const int pipe_bytes = ::fcntl(reader, F_GETPIPE_SZ);
  ASSERT_GT(pipe_bytes, 0);
  const std::string line(49, 'l');  // 50 bytes with its '\n'
  ASSERT_GT(size_t{kProducers} * kLines * 50, size_t(pipe_bytes) + kProducers * kBound);

  std::vector<std::thread> threads;
  for (int t = 0; t < kProducers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) log->write(t, line);
    });
  }
  for (auto& thread : threads) thread.join();
  const uint64_t dropped_while_stuck = log->dropped();

  // Drain the pipe so the writer can finish; count what arrived.
  ::fcntl(reader, F_SETFL, 0);  // blocking reads from here on
  size_t received = 0;
  std::thread drain([&] {
    char buf[4096];
    for (ssize_t n; (n = ::read(reader, buf, sizeof buf)) > 0;) {
      received += static_cast<size_t>(std::count(buf, buf + n, '\n'));
    }
  });
  log->flush();
  const uint64_t dropped = log->dropped();
  log.reset();  // closes the write end: the reader sees the end
  drain.join();
  ::close(reader);

  EXPECT_EQ(dropped, dropped_while_stuck) << "nothing was dropped once the pipe drained";
  EXPECT_GE(dropped + 1,
            size_t{kProducers} * kLines - (size_t(pipe_bytes) + kProducers * kBound) / line.size());
  EXPECT_EQ(received + dropped, size_t{kProducers} * kLines);
}

}  // namespace
}  // namespace gourmet::core
