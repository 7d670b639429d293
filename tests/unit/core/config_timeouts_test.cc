// Timeouts that would fail every request at once are config errors with the
// position of the value: a zero connect, response or header timeout means a
// typo, not "no timeout" (gourmet has no "never" here).

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/config_yaml.h"

namespace gourmet::core {
namespace {

std::string errorOf(std::string_view yaml) {
  auto config = parseYamlConfig(yaml, "t.yaml");
  return config ? "(no error)" : config.error().message;
}

std::string withServerLine(std::string_view line) {
  return "server:\n  " + std::string(line) +
         "\n  locations:\n    - path: \"^/\"\n      upstream: backend\n"
         "upstreams:\n  backend:\n    servers:\n      - path: 127.0.0.1:9001\n";
}

std::string withUpstreamLine(std::string_view line) {
  return "server:\n  locations:\n    - path: \"^/\"\n      upstream: backend\n"
         "upstreams:\n  backend:\n    " +
         std::string(line) + "\n    servers:\n      - path: 127.0.0.1:9001\n";
}

TEST(ConfigTimeouts, ZeroConnectTimeoutIsAnErrorAtItsValue) {
  EXPECT_EQ(errorOf(withUpstreamLine("connect_timeout: 0s")),
            "t.yaml:7:22: connect_timeout 0s out of range (> 0)");
  EXPECT_EQ(errorOf(withUpstreamLine("connect_timeout: 0ms")),
            "t.yaml:7:22: connect_timeout 0ms out of range (> 0)");
}

TEST(ConfigTimeouts, ZeroResponseTimeoutIsAnErrorAtItsValue) {
  EXPECT_EQ(errorOf(withUpstreamLine("response_timeout: 0s")),
            "t.yaml:7:23: response_timeout 0s out of range (> 0)");
}

TEST(ConfigTimeouts, ZeroHeaderTimeoutIsAnErrorAtItsValue) {
  EXPECT_EQ(errorOf(withServerLine("client_header_timeout: 0s")),
            "t.yaml:2:26: client_header_timeout 0s out of range (> 0)");
}

TEST(ConfigTimeouts, PositiveTimeoutsAreAccepted) {
  auto upstream = parseYamlConfig(withUpstreamLine("connect_timeout: 1ms"), "t.yaml");
  ASSERT_TRUE(upstream) << upstream.error().message;
  EXPECT_EQ(upstream->upstreams[0].connect_timeout, Millis(1));
  auto response = parseYamlConfig(withUpstreamLine("response_timeout: 2s"), "t.yaml");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->upstreams[0].response_timeout, Millis(2000));
  auto header = parseYamlConfig(withServerLine("client_header_timeout: 250ms"), "t.yaml");
  ASSERT_TRUE(header) << header.error().message;
  EXPECT_EQ(header->server.client_header_timeout, Millis(250));
}

}  // namespace
}  // namespace gourmet::core
