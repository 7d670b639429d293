// The LogWriter writing to a pipe the test reads (or, to stand for a stuck
// journald, does not read yet).

#include "core/log_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"

namespace gourmet::core {
namespace {

// A worker thread's sink without a loop: every line to its own queue.
class QueueSink final : public LogSink {
 public:
  QueueSink() : queue_(LogWriter::registerQueue()) {}
  void write(std::string_view line) override { queue_->push(line); }
  bool admit(LogLevel, const LogKey&) override { return true; }
  bool ok() const { return queue_ != nullptr; }

 private:
  LogQueue* queue_;
};

class LogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    dropped_before_ = LogWriter::dropped();
  }
  void TearDown() override {
    LogWriter::stop();
    if (fds_[1] >= 0) ::close(fds_[1]);
    if (reader_.joinable()) reader_.join();
    ::close(fds_[0]);
  }
  // Reads the pipe until its write end is closed.
  void startReading() {
    reader_ = std::thread([this] {
      char buf[4096];
      for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) {
        received_.append(buf, static_cast<size_t>(n));
      }
    });
  }
  // Stops the writer and returns everything it wrote.
  std::vector<std::string> stopAndCollect() {
    LogWriter::stop();
    ::close(fds_[1]);
    fds_[1] = -1;
    reader_.join();
    std::vector<std::string> lines;
    std::istringstream in(received_);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  int fds_[2] = {-1, -1};
  uint64_t dropped_before_ = 0;
  std::thread reader_;
  std::string received_;
};

TEST_F(LogWriterTest, LinesOfEachThreadArriveWholeAndInOrder) {
  constexpr int kThreads = 4;
  constexpr int kLines = 500;  // ~20 KiB a thread: under a queue's bound, none can drop
  LogWriter::start(fds_[1]);
  startReading();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      QueueSink sink;
      ASSERT_TRUE(sink.ok());
      setThreadLogSink(&sink);
      for (int i = 0; i < kLines; ++i) log(LogLevel::kWarn, "thread {} line {:05}", t, i);
      setThreadLogSink(nullptr);
    });
  }
  log(LogLevel::kWarn, "from the main thread");  // the shared queue
  for (auto& thread : threads) thread.join();
  const std::vector<std::string> lines = stopAndCollect();
  EXPECT_EQ(LogWriter::dropped(), dropped_before_);
  ASSERT_EQ(lines.size(), size_t{kThreads * kLines + 1});
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    if (line == "gourmet[warn] from the main thread") continue;
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "gourmet[warn] thread %d line %d", &t, &i), 2) << line;
    ASSERT_EQ(i, next[t]) << line;
    ++next[t];
  }
}

TEST_F(LogWriterTest, AStuckReaderCostsDroppedLinesNotABlockedThreadAndTheyAreReported) {
  // Nobody reads the pipe while the thread logs more than the pipe and its
  // queue can hold: the thread must finish anyway (on a writer that blocked
  // the caller, this test would hang), the excess is counted, and the count
  // is reported once the pipe is read.
  constexpr int kLines = 5000;  // 5000 * 50 bytes > 64 KiB pipe + 64 KiB queue
  const int pipe_bytes = ::fcntl(fds_[0], F_GETPIPE_SZ);
  ASSERT_LT(size_t(pipe_bytes) + LogQueue::kBytes, size_t{kLines} * 50);
  LogWriter::start(fds_[1]);
  std::thread producer([] {
    QueueSink sink;
    setThreadLogSink(&sink);
    for (int i = 0; i < kLines; ++i)
      log(LogLevel::kWarn, "a line of fifty bytes, number {:010}", i);
    setThreadLogSink(nullptr);
  });
  producer.join();
  const uint64_t dropped = LogWriter::dropped() - dropped_before_;
  EXPECT_GT(dropped, 0u);
  startReading();
  const std::vector<std::string> lines = stopAndCollect();
  // Each report counts what went missing before it (the writer may report
  // a first part while the producer is still dropping).
  ASSERT_FALSE(lines.empty());
  uint64_t reported = 0, written = 0;
  for (const std::string& line : lines) {
    unsigned long long count = 0, total = 0;
    if (std::sscanf(line.c_str(),
                    "gourmet[warn] %llu log lines dropped: stderr was not keeping up (%llu", &count,
                    &total) == 2) {
      reported += count;
      EXPECT_EQ(total, dropped_before_ + reported) << line;
    } else {
      ++written;
    }
  }
  EXPECT_EQ(reported, dropped);
  EXPECT_EQ(written + dropped, uint64_t{kLines});
}

TEST_F(LogWriterTest, LinesOfDifferentThreadsKeepTheOrderTheyWereLoggedIn) {
  LogWriter::start(fds_[1]);
  startReading();
  auto onWorker = [](std::string_view text) {
    std::thread([text] {
      QueueSink sink;
      setThreadLogSink(&sink);
      log(LogLevel::kInfo, "{}", text);
      setThreadLogSink(nullptr);
    }).join();
  };
  log(LogLevel::kInfo, "one (main)");
  onWorker("two (worker)");
  log(LogLevel::kInfo, "three (main)");
  onWorker("four (worker)");
  onWorker("five (worker)");
  log(LogLevel::kInfo, "six (main)");
  EXPECT_EQ(stopAndCollect(),
            (std::vector<std::string>{"gourmet[info] one (main)", "gourmet[info] two (worker)",
                                      "gourmet[info] three (main)", "gourmet[info] four (worker)",
                                      "gourmet[info] five (worker)", "gourmet[info] six (main)"}));
}

TEST_F(LogWriterTest, WithoutAWriterAThreadGetsNoQueue) {
  EXPECT_EQ(LogWriter::registerQueue(), nullptr);
  EXPECT_FALSE(LogWriter::enqueue("gourmet[info] nobody takes this\n"));
}

}  // namespace
}  // namespace gourmet::core
