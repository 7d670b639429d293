#include "core/log_rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace gourmet::core {
namespace {

const LogKey kRefused{"upstream_connect_refused", "web", "127.0.0.1:9002"};

std::string text(const std::optional<LogRateLimiter::Summary>& summary) {
  return summary ? std::string(summary->text) : "<none>";
}

TEST(LogRateLimiter, FirstLineOfASecondGoesOutTheRestAreCountedAndSummarised) {
  LogRateLimiter limiter;
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, kRefused, 10'000).write);
  for (int i = 0; i < 1203; ++i) {
    EXPECT_FALSE(limiter.admit(LogLevel::kWarn, kRefused, 10'000 + i % 999).write);
  }
  EXPECT_EQ(limiter.nextDue(), 11'000u);
  EXPECT_EQ(text(limiter.takeDue(10'999)), "<none>") << "the second is not over yet";
  const auto summary = limiter.takeDue(11'000);
  EXPECT_EQ(text(summary),
            "upstream_connect_refused for web/127.0.0.1:9002: 1,204 times in the last second");
  EXPECT_EQ(summary->level, LogLevel::kWarn);
  EXPECT_EQ(text(limiter.takeDue(11'000)), "<none>") << "summarised once";
  EXPECT_EQ(limiter.nextDue(), std::nullopt);
  // The next line opens a new window and is written.
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, kRefused, 11'500).write);
}

TEST(LogRateLimiter, ALoneLineHasNoSummary) {
  LogRateLimiter limiter;
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, kRefused, 0).write);
  EXPECT_EQ(limiter.nextDue(), std::nullopt);
  EXPECT_EQ(text(limiter.takeDue(5'000)), "<none>");
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, kRefused, 5'000).write);
}

TEST(LogRateLimiter, KeysAreLimitedIndependently) {
  LogRateLimiter limiter;
  const LogKey other_server{"upstream_connect_refused", "web", "127.0.0.1:9003"};
  const LogKey split_differently{"upstream_connect_refused", "web/127.0.0.1", ":9002"};
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, kRefused, 0).write);
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, other_server, 1).write);
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, split_differently, 2).write);
  EXPECT_FALSE(limiter.admit(LogLevel::kWarn, other_server, 3).write);
  EXPECT_EQ(text(limiter.takeDue(2'000)),
            "upstream_connect_refused for web/127.0.0.1:9003: 2 times in the last second");
  EXPECT_EQ(text(limiter.takeDue(2'000)), "<none>");
}

TEST(LogRateLimiter, ASummaryDueWhenTheKeyComesBackIsHandedOverFirst) {
  LogRateLimiter limiter;
  limiter.admit(LogLevel::kError, {"no_healthy_server", "client responses"}, 0);
  limiter.admit(LogLevel::kError, {"no_healthy_server", "client responses"}, 10);
  const auto verdict =
      limiter.admit(LogLevel::kError, {"no_healthy_server", "client responses"}, 1'000);
  EXPECT_TRUE(verdict.write);
  EXPECT_EQ(text(verdict.summary),
            "no_healthy_server for client responses: 2 times in the last second");
}

TEST(LogRateLimiter, MoreKeysThanSlotsSummariseTheOldestEarly) {
  LogRateLimiter limiter;
  std::vector<std::string> items;
  for (size_t i = 0; i <= LogRateLimiter::kSlots; ++i) items.push_back(std::to_string(i));
  EXPECT_TRUE(limiter.admit(LogLevel::kWarn, {"reset", "web", items[0]}, 0).write);
  EXPECT_FALSE(limiter.admit(LogLevel::kWarn, {"reset", "web", items[0]}, 1).write);
  for (size_t i = 1; i < LogRateLimiter::kSlots; ++i) {
    EXPECT_TRUE(limiter.admit(LogLevel::kWarn, {"reset", "web", items[i]}, 2).write);
  }
  const auto verdict = limiter.admit(LogLevel::kWarn, {"reset", "web", items.back()}, 3);
  EXPECT_TRUE(verdict.write);
  EXPECT_EQ(text(verdict.summary), "reset for web/0: 2 times in the last second");
}

TEST(LogRateLimiter, GroupsThousands) {
  for (auto [value, grouped] :
       std::initializer_list<std::pair<uint64_t, std::string_view>>{{0, "0"},
                                                                    {999, "999"},
                                                                    {1'000, "1,000"},
                                                                    {1'204, "1,204"},
                                                                    {123'456'789, "123,456,789"}}) {
    std::string out;
    appendGrouped(out, value);
    EXPECT_EQ(out, grouped);
  }
}

}  // namespace
}  // namespace gourmet::core
