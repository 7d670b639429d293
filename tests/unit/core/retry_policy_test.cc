#include "core/retry_policy.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace gourmet::core {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

RetryConfig defaults() { return RetryConfig{}; }

RetryFacts connectFailure() {
  return {.condition = kRetryConnectFailure, .attempts_made = 1, .connect_failure = true};
}

TEST(RetryPolicyTest, ConditionsOfTransportFailures) {
  EXPECT_EQ(retryConditionOf(UpstreamError::kConnectRefused), kRetryConnectFailure);
  EXPECT_EQ(retryConditionOf(UpstreamError::kConnectFailed), kRetryConnectFailure);
  EXPECT_EQ(retryConditionOf(UpstreamError::kConnectTimeout), kRetryConnectFailure);
  EXPECT_EQ(retryConditionOf(UpstreamError::kReset), kRetryReset);
  EXPECT_EQ(retryConditionOf(UpstreamError::kResponseTimeout), kRetryTimeout);
  EXPECT_EQ(retryConditionOf(UpstreamError::kInvalidResponse), 0u);
  EXPECT_TRUE(isConnectFailure(UpstreamError::kConnectTimeout));
  EXPECT_FALSE(isConnectFailure(UpstreamError::kReset));
}

TEST(RetryPolicyTest, ConditionsAndOutcomesOfStatuses) {
  EXPECT_EQ(retryConditionOf(502), kRetry502);
  EXPECT_EQ(retryConditionOf(503), kRetry503);
  EXPECT_EQ(retryConditionOf(504), kRetry504);
  EXPECT_EQ(retryConditionOf(500), 0u);
  EXPECT_EQ(retryConditionOf(200), 0u);
  EXPECT_EQ(outcomeOfStatus(200), ExchangeOutcome::kSuccess);
  EXPECT_EQ(outcomeOfStatus(404), ExchangeOutcome::kSuccess);
  EXPECT_EQ(outcomeOfStatus(503), ExchangeOutcome::kGatewayStatus);
  EXPECT_EQ(outcomeOfStatus(500), ExchangeOutcome::kOtherStatus5xx);
  EXPECT_EQ(outcomeOfStatus(599), ExchangeOutcome::kOtherStatus5xx);
}

TEST(RetryPolicyTest, ConnectFailureMovesTheQueueWhateverTheMethodAndBody) {
  RetryFacts facts = connectFailure();
  facts.idempotent = false;
  facts.body_forwarded = true;
  EXPECT_EQ(planRetry(facts, defaults()), RetryFrom::kQueue);
}

TEST(RetryPolicyTest, ConditionNotInOnIsNotRetried) {
  RetryConfig config;
  config.on = kRetryReset;
  EXPECT_EQ(planRetry(connectFailure(), config), RetryFrom::kNone);
  RetryFacts invalid = connectFailure();
  invalid.condition = 0;
  EXPECT_EQ(planRetry(invalid, defaults()), RetryFrom::kNone);
}

TEST(RetryPolicyTest, AttemptsBoundTheRetries) {
  RetryConfig config;
  config.attempts = 2;
  RetryFacts facts = connectFailure();
  facts.attempts_made = 2;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kQueue);
  facts.attempts_made = 3;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kNone);
  config.attempts = 0;
  facts.attempts_made = 1;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kNone);
}

TEST(RetryPolicyTest, NothingIsRetriedOnceTheResponseBegan) {
  RetryFacts facts = connectFailure();
  facts.response_begun = true;
  EXPECT_EQ(planRetry(facts, defaults()), RetryFrom::kNone);
}

TEST(RetryPolicyTest, ResetOfAnIdempotentRequestWithoutBodySendsTheHeadAgain) {
  RetryFacts facts{.condition = kRetryReset, .attempts_made = 1, .idempotent = true};
  EXPECT_EQ(planRetry(facts, defaults()), RetryFrom::kHead);
}

TEST(RetryPolicyTest, ResetOfANonIdempotentRequestOnlyWhenAllowed) {
  RetryFacts facts{.condition = kRetryReset, .attempts_made = 1, .idempotent = false};
  RetryConfig config;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kNone);
  config.retry_non_idempotent = true;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kHead);
}

TEST(RetryPolicyTest, ABodyThatWentOutIsNeverRetriedAfterReachingTheServer) {
  RetryConfig config;
  config.retry_non_idempotent = true;
  RetryFacts facts{.condition = kRetryReset, .attempts_made = 1, .body_forwarded = true};
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kNone);
  facts.idempotent = true;
  EXPECT_EQ(planRetry(facts, config), RetryFrom::kNone);
}

TEST(RetryPolicyTest, TriedServersHoldEveryAttempt) {
  TriedServers tried;
  for (size_t i = 0; i < TriedServers::kCapacity; ++i) tried.add(1000 + i);
  tried.add(1000);  // again: no second entry
  EXPECT_EQ(tried.size(), TriedServers::kCapacity);
  for (size_t i = 0; i < TriedServers::kCapacity; ++i) EXPECT_TRUE(tried.contains(1000 + i));
  EXPECT_FALSE(tried.contains(0));
  EXPECT_FALSE(tried.contains(999));
}

TEST(RetryPolicyTest, RetryServerKeepsAnUntriedPick) {
  TriedServers tried;
  tried.add(0);
  EXPECT_EQ(retryServer(
                2, 4, tried, [](size_t) { return true; }, kNone),
            2u);
}

TEST(RetryPolicyTest, RetryServerTakesTheNextEligibleUntriedAfterATriedPick) {
  TriedServers tried;
  tried.add(1);
  tried.add(2);
  const std::vector<bool> eligible = {true, true, true, false, true};
  const auto is = [&](size_t i) { return eligible[i]; };
  EXPECT_EQ(retryServer(1, 5, tried, is, kNone), 4u);  // 2 tried, 3 not eligible
  tried.add(4);
  EXPECT_EQ(retryServer(1, 5, tried, is, kNone), 0u);  // round the set
  tried.add(0);
  EXPECT_EQ(retryServer(1, 5, tried, is, kNone), kNone);  // all eligible ones tried
}

TEST(RetryPolicyTest, RetryServerNeverRetriesTheSameServer) {
  TriedServers tried;
  tried.add(0);
  EXPECT_EQ(retryServer(
                0, 1, tried, [](size_t) { return true; }, kNone),
            kNone);
  EXPECT_EQ(retryServer(
                0, 3, tried, [](size_t i) { return i == 0; }, kNone),
            kNone);
  tried.add(1);
  EXPECT_EQ(retryServer(
                0, 2, tried, [](size_t) { return true; }, kNone),
            kNone);
}

TEST(RetryPolicyTest, RetryServerWithoutAPickIsNone) {
  TriedServers tried;
  EXPECT_EQ(retryServer(
                kNone, 3, tried, [](size_t) { return true; }, kNone),
            kNone);
}

TEST(RetryPolicyTest, BudgetIsAShareOfRequestsInFlightWithAFloor) {
  EXPECT_EQ(retryBudget(0, 20, 3), 3u);
  EXPECT_EQ(retryBudget(10, 20, 3), 3u);
  EXPECT_EQ(retryBudget(100, 20, 3), 20u);
  EXPECT_EQ(retryBudget(104, 20, 3), 20u);  // rounds down, as Envoy does
  EXPECT_EQ(retryBudget(100, 0, 0), 0u);
  EXPECT_EQ(retryBudget(100, 100, 0), 100u);
}

TEST(RetryPolicyTest, BackoffStaysBelowItsCapAndSpreads) {
  uint64_t state = 42;
  for (uint32_t retry = 0; retry < 8; ++retry) {
    const uint64_t cap = std::min<uint64_t>(250, uint64_t{25} << retry);
    std::set<uint64_t> seen;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t wait = backoffMs(25, 250, retry, nextRandom(state));
      ASSERT_LT(wait, cap) << "retry " << retry;
      seen.insert(wait);
    }
    // Full jitter: the whole range is used, not a fixed step.
    EXPECT_GT(seen.size(), cap / 2) << "retry " << retry;
  }
}

TEST(RetryPolicyTest, BackoffOfAnEmptyRangeIsZeroAndLargeShiftsSaturate) {
  EXPECT_EQ(backoffMs(0, 250, 3, 12345), 0u);
  EXPECT_EQ(backoffMs(25, 0, 0, 12345), 0u);
  EXPECT_LT(backoffMs(25, 250, 62, ~uint64_t{0}), 250u);
  EXPECT_LT(backoffMs(25, 250, 200, ~uint64_t{0}), 250u);
  EXPECT_LT(backoffMs(uint64_t{1} << 62, 1000, 5, 999), 1000u);
}

}  // namespace
}  // namespace gourmet::core
