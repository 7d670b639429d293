#include "core/duration.h"

#include <gtest/gtest.h>

namespace gourmet::core {
namespace {

Millis parsed(std::string_view text) {
  auto result = parseDuration(text);
  EXPECT_TRUE(result) << text << ": " << result.error().message;
  return result ? *result : Millis{-1};
}

std::string errorOf(std::string_view text) {
  auto result = parseDuration(text);
  return result ? "(no error)" : result.error().message;
}

TEST(ParseDuration, ReadsEveryUnit) {
  EXPECT_EQ(parsed("250ms"), Millis{250});
  EXPECT_EQ(parsed("5s"), Millis{5'000});
  EXPECT_EQ(parsed("2m"), Millis{120'000});
  EXPECT_EQ(parsed("1h"), Millis{3'600'000});
  EXPECT_EQ(parsed("0ms"), Millis{0});
}

TEST(ParseDuration, BareIntegerMeansSeconds) {
  EXPECT_EQ(parsed("5"), Millis{5'000});
  EXPECT_EQ(parsed("0"), Millis{0});
  EXPECT_EQ(parsed("007"), Millis{7'000});
}

TEST(ParseDuration, RejectsWhatIsNotOneNumberAndOneUnit) {
  const std::string_view bad[] = {"",   "s",    "ms",    "-5s", "+5s", "1.5s", "5 s", " 5s",
                                  "5S", "5sec", "1m30s", "5d",  "5us", "0x10", "5s ", "abc"};
  for (std::string_view text : bad) {
    EXPECT_EQ(errorOf(text), "invalid duration '" + std::string(text) +
                                 "' (expected e.g. 250ms, 5s, 2m, 1h, or seconds)")
        << text;
  }
}

TEST(ParseDuration, RejectsWhatWouldOverflow) {
  EXPECT_EQ(errorOf("99999999999999999999ms"), "duration '99999999999999999999ms' is too large");
  EXPECT_EQ(errorOf("9223372036854776h"), "duration '9223372036854776h' is too large");
  EXPECT_EQ(parsed("2562047788015h"), Millis{2562047788015LL * 3'600'000});
}

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(formatDuration(Millis{0}), "0s");
  EXPECT_EQ(formatDuration(Millis{250}), "250ms");
  EXPECT_EQ(formatDuration(Millis{1'500}), "1500ms");
  EXPECT_EQ(formatDuration(Millis{5'000}), "5s");
  EXPECT_EQ(formatDuration(Millis{90'000}), "90s");
  EXPECT_EQ(formatDuration(Millis{120'000}), "2m");
  EXPECT_EQ(formatDuration(Millis{7'200'000}), "2h");
  EXPECT_EQ(formatDuration(Millis{-5}), "-5ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t ms : {0LL, 1LL, 999LL, 1'000LL, 61'000LL, 3'600'000LL, 3'660'000LL, 86'400'000LL}) {
    EXPECT_EQ(parsed(formatDuration(Millis{ms})), Millis{ms}) << ms;
  }
}

}  // namespace
}  // namespace gourmet::core
