// The YAML of outlier_detection, health_check, retries, circuit breaking and
// error_pages: defaults, every key, and the errors an operator can make.

#include <gtest/gtest.h>

#include <string>

#include "core/config_yaml.h"

namespace gourmet::core {
namespace {

std::string withUpstream(std::string_view extra) {
  return std::string(R"yaml(server:
  locations:
    - path: "^/"
      upstream: web
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml") + std::string(extra);
}

Result<Config> parse(const std::string& yaml) { return parseYamlConfig(yaml, "r.yaml"); }

std::string errorOf(std::string_view extra) {
  auto config = parse(withUpstream(extra));
  return config ? "(no error)" : config.error().message;
}

TEST(ResilienceConfig, DefaultsAreEnvoysAndHAProxys) {
  auto config = parse(withUpstream(""));
  ASSERT_TRUE(config) << config.error().message;
  const UpstreamConfig& web = config->upstreams[0];
  EXPECT_EQ(web.outlier_detection.consecutive_failures, 5u);
  EXPECT_EQ(web.outlier_detection.consecutive_5xx, 0u);
  EXPECT_EQ(web.outlier_detection.base_ejection_time, Millis{30'000});
  EXPECT_EQ(web.outlier_detection.max_ejection_time, Millis{300'000});
  EXPECT_EQ(web.outlier_detection.max_ejection_percent, 50u);
  EXPECT_FALSE(web.health_check.enabled);
  EXPECT_EQ(web.retries.attempts, 1u);
  EXPECT_EQ(web.retries.on, kRetryConnectFailure | kRetryReset | kRetry503);
  EXPECT_EQ(web.retries.budget_percent, 20u);
  EXPECT_EQ(web.retries.min_retries, 3u);
  EXPECT_EQ(web.limits, CircuitBreakerConfig{});
  EXPECT_EQ(web.panic_threshold, 50u);
  EXPECT_EQ(web.servers[0].max_fail, 0u);
}

TEST(ResilienceConfig, ReadsEveryKey) {
  auto config = parse(withUpstream(R"yaml(    outlier_detection:
      consecutive_failures: 3
      consecutive_5xx: 7
      base_ejection_time: 10s
      max_ejection_time: 1m
      max_ejection_percent: 100
    health_check:
      path: /ready?full=1
      interval: 500ms
      timeout: 200ms
      healthy: 1
      unhealthy: 2
      expect: 200-204
      host: web.internal
      initial: unhealthy
    retries:
      attempts: 2
      on: [connect_failure, timeout, 502, 504]
      budget_percent: 50
      min_retries: 10
      backoff: {base: 10ms, max: 1s}
      retry_non_idempotent: true
    max_connections: 100
    max_pending: 5
    max_requests: 1024
    panic_threshold: 0
)yaml"));
  ASSERT_TRUE(config) << config.error().message;
  const UpstreamConfig& web = config->upstreams[0];
  EXPECT_EQ(web.outlier_detection.consecutive_failures, 3u);
  EXPECT_EQ(web.outlier_detection.consecutive_5xx, 7u);
  EXPECT_EQ(web.outlier_detection.base_ejection_time, Millis{10'000});
  EXPECT_EQ(web.outlier_detection.max_ejection_time, Millis{60'000});
  EXPECT_EQ(web.outlier_detection.max_ejection_percent, 100u);
  const HealthCheckConfig& check = web.health_check;
  EXPECT_TRUE(check.enabled);
  EXPECT_EQ(check.path, "/ready?full=1");
  EXPECT_EQ(check.interval, Millis{500});
  EXPECT_EQ(check.timeout, Millis{200});
  EXPECT_EQ(check.healthy, 1u);
  EXPECT_EQ(check.unhealthy, 2u);
  EXPECT_EQ(check.expect_min, 200);
  EXPECT_EQ(check.expect_max, 204);
  EXPECT_EQ(check.host, "web.internal");
  EXPECT_TRUE(check.initial_unhealthy);
  EXPECT_EQ(web.retries.attempts, 2u);
  EXPECT_EQ(web.retries.on, kRetryConnectFailure | kRetryTimeout | kRetry502 | kRetry504);
  EXPECT_EQ(web.retries.budget_percent, 50u);
  EXPECT_EQ(web.retries.min_retries, 10u);
  EXPECT_EQ(web.retries.backoff_base, Millis{10});
  EXPECT_EQ(web.retries.backoff_max, Millis{1000});
  EXPECT_TRUE(web.retries.retry_non_idempotent);
  EXPECT_EQ(web.limits.max_connections, 100u);
  EXPECT_EQ(web.limits.max_pending, 5u);
  EXPECT_EQ(web.limits.max_requests, 1024u);
  EXPECT_EQ(web.panic_threshold, 0u);
}

TEST(ResilienceConfig, AnEmptyHealthCheckSectionTurnsChecksOnWithDefaults) {
  auto config = parse(withUpstream("    health_check: {}\n"));
  ASSERT_TRUE(config) << config.error().message;
  const HealthCheckConfig& check = config->upstreams[0].health_check;
  EXPECT_TRUE(check.enabled);
  EXPECT_EQ(check.path, "/healthz");
  EXPECT_EQ(check.interval, Millis{2000});
  EXPECT_EQ(check.healthy, 2u);
  EXPECT_EQ(check.unhealthy, 3u);
  EXPECT_EQ(check.expect_min, 200);
  EXPECT_EQ(check.expect_max, 399);
}

TEST(ResilienceConfig, ErrorsPointAtTheValue) {
  EXPECT_EQ(errorOf("    health_check: {expect: 200-99}\n"),
            "r.yaml:9:28: invalid expect '200-99' (expected a status like 200 or a range like "
            "200-399)");
  EXPECT_EQ(errorOf("    health_check: {path: healthz}\n"),
            "r.yaml:9:26: invalid health_check path 'healthz' (expected an origin-form path like "
            "/healthz, no spaces)");
  EXPECT_EQ(errorOf("    health_check: {initial: maybe}\n"),
            "r.yaml:9:29: invalid initial 'maybe' (expected healthy or unhealthy)");
  EXPECT_EQ(errorOf("    health_check: {interval: 0s}\n"),
            "r.yaml:9:30: interval 0s out of range (> 0)");
  EXPECT_EQ(errorOf("    retries: {on: [connect_failure, 500]}\n"),
            "r.yaml:9:37: unknown retry condition '500' (expected connect_failure, reset, "
            "timeout, 502, 503 or 504)");
  EXPECT_EQ(errorOf("    retries: {attempts: 11}\n"),
            "r.yaml:9:25: attempts 11 out of range (0-10)");
  EXPECT_EQ(errorOf("    retries: {backoff: {base: 1s, max: 10ms}}\n"),
            "r.yaml:9:15: retries.backoff: base 1000 ms is above max 10 ms");
  EXPECT_EQ(errorOf("    outlier_detection: {base_ejection_time: 1m, max_ejection_time: 30s}\n"),
            "r.yaml:9:5: outlier_detection: max_ejection_time 30000 ms is below "
            "base_ejection_time 60000 ms");
  EXPECT_NE(errorOf("    outlier_detection: {max_ejection_percent: 101}\n"), "(no error)");
  EXPECT_NE(errorOf("    panic_threshold: 101\n"), "(no error)");
  EXPECT_NE(errorOf("    health_check: {bogus: 1}\n"), "(no error)");
}

TEST(ResilienceConfig, ErrorPagesPerListenerAndPerLocation) {
  auto config = parse(R"yaml(server:
  error_pages:
    502: /etc/gourmet/502.html
    default: pages/error.html
  locations:
    - path: "^/"
      upstream: web
      error_pages: {503: /srv/busy.json}
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml");
  ASSERT_TRUE(config) << config.error().message;
  const ErrorPagesConfig& server = config->server.error_pages;
  ASSERT_EQ(server.files.size(), 2u);
  EXPECT_EQ(server.files.at(502), "/etc/gourmet/502.html");
  EXPECT_EQ(server.files.at(0), "pages/error.html");
  EXPECT_EQ(server.positions.at(502).line, 3);
  EXPECT_EQ(config->server.locations[0].error_pages.files.at(503), "/srv/busy.json");

  auto bad = parse(R"yaml(server:
  error_pages: {200: /ok.html}
  locations: [{path: "^/", upstream: web}]
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "r.yaml:2:17: invalid error_pages key '200' (expected a status from 400 to 599, or "
            "default)");
}

}  // namespace
}  // namespace gourmet::core
