#include "core/config_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "core/config_toml.h"
#include "core/config_yaml.h"

namespace gourmet::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Config parsed(std::string_view yaml) {
  auto config = parseYamlConfig(yaml, "gourmet.yaml");
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : Config{};
}

constexpr std::string_view kBase = R"yaml(server:
  port: 8080
  locations:
    - path: "^/api/"
      upstream: api
    - path: "^/"
      upstream: web
upstreams:
  api:
    servers:
      - path: 10.0.0.1:80
      - path: 10.0.0.2:80
  web:
    servers:
      - path: 10.0.0.3:80
        weight: 2
)yaml";

// kBase with the first `from` replaced by `to`.
std::string edited(std::string_view from, std::string_view to) {
  std::string yaml(kBase);
  const size_t at = yaml.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) yaml.replace(at, from.size(), to);
  return yaml;
}

ConfigDiff diffFromBase(std::string_view after) {
  return diffConfigs(parsed(kBase), parsed(after));
}

TEST(ConfigDiff, SameConfigIsEmpty) {
  const ConfigDiff diff = diffFromBase(kBase);
  EXPECT_TRUE(diff.empty());
  EXPECT_EQ(diff.summary(), "no changes");
}

TEST(ConfigDiff, CommentsWhitespaceAndKeyOrderDoNotCount) {
  const ConfigDiff diff = diffFromBase(R"yaml(# reloaded on SIGHUP
upstreams:

  # the web tier
  web:
    servers:
      - weight: 2          # twice the share
        path: 10.0.0.3:80
  api:
    servers: [{path: 10.0.0.1:80}, {path: 10.0.0.2:80}]
server:
  locations:
    - {upstream: api, path: "^/api/"}
    - path: "^/"
      upstream: web
  port: 8080
)yaml");
  EXPECT_TRUE(diff.empty()) << diff.summary();
}

TEST(ConfigDiff, UpstreamAdded) {
  const ConfigDiff diff =
      diffFromBase(std::string(kBase) + "  extra:\n    servers:\n      - path: 10.0.0.9:80\n");
  EXPECT_THAT(diff.upstreams_added, ElementsAre("extra"));
  EXPECT_THAT(diff.upstreams_removed, IsEmpty());
  EXPECT_THAT(diff.upstreams_changed, IsEmpty());
  EXPECT_EQ(diff.servers_added, 1u);
  EXPECT_EQ(diff.summary(),
            "upstreams +1 -0 ~0 (added: extra), servers +1 -0 ~0, locations +0 -0 ~0");
}

TEST(ConfigDiff, UpstreamRemoved) {
  const ConfigDiff diff = diffConfigs(
      parsed(std::string(kBase) + "  old:\n    servers:\n      - path: a:1\n      - path: b:1\n"),
      parsed(kBase));
  EXPECT_THAT(diff.upstreams_removed, ElementsAre("old"));
  EXPECT_EQ(diff.servers_removed, 2u);
  EXPECT_EQ(diff.summary(),
            "upstreams +0 -1 ~0 (removed: old), servers +0 -2 ~0, locations +0 -0 ~0");
}

TEST(ConfigDiff, UpstreamSettingChanged) {
  const ConfigDiff diff = diffFromBase(edited("  web:\n", "  web:\n    connect_timeout: 2s\n"));
  EXPECT_THAT(diff.upstreams_changed, ElementsAre("web"));
  EXPECT_EQ(diff.servers_changed, 0u);
  EXPECT_FALSE(diff.other_changed);
}

TEST(ConfigDiff, BalancerParameterChanged) {
  for (std::string_view lines :
       {"choice_count: 3", "active_request_bias: 0.5", "decay: 5s", "default_rtt: 20ms",
        "table_size: 251", "slow_start: {window: 10s}", "slow_start: {aggression: 2}",
        "slow_start: {min_weight_percent: 50}", "balancer: hash\n    hash_on: path"}) {
    const ConfigDiff diff =
        diffFromBase(edited("  web:\n", "  web:\n    " + std::string(lines) + "\n"));
    EXPECT_THAT(diff.upstreams_changed, ElementsAre("web")) << lines;
    EXPECT_EQ(diff.servers_changed, 0u) << lines;
    EXPECT_EQ(diff.summary(),
              "upstreams +0 -0 ~1 (changed: web), servers +0 -0 ~0, locations +0 -0 ~0")
        << lines;
  }
  const std::string hashed = edited("  web:\n", "  web:\n    balancer: hash\n    hash_on: path\n");
  std::string rehashed = hashed;
  rehashed.replace(rehashed.find("hash_on: path"), 13, "hash_on: client_ip");
  EXPECT_THAT(diffConfigs(parsed(hashed), parsed(rehashed)).upstreams_changed, ElementsAre("web"));
}

TEST(ConfigDiff, BalancerParametersAtTheirDefaultsDoNotCount) {
  const ConfigDiff diff = diffFromBase(
      edited("  web:\n",
             "  web:\n    choice_count: 2\n    active_request_bias: 1\n    decay: 10s\n"
             "    default_rtt: 10ms\n    table_size: 65537\n"
             "    slow_start: {window: 0, aggression: 1.0, min_weight_percent: 10}\n"));
  EXPECT_TRUE(diff.empty()) << diff.summary();
}

TEST(ConfigDiff, ServerWeightChanged) {
  const ConfigDiff diff = diffFromBase(edited("weight: 2", "weight: 3"));
  EXPECT_THAT(diff.upstreams_changed, ElementsAre("web"));
  EXPECT_EQ(diff.servers_changed, 1u);
  EXPECT_EQ(diff.servers_added + diff.servers_removed, 0u);
  EXPECT_EQ(diff.summary(),
            "upstreams +0 -0 ~1 (changed: web), servers +0 -0 ~1, locations +0 -0 ~0");
}

TEST(ConfigDiff, ServersKeyedByAddress) {
  const ConfigDiff replaced = diffFromBase(edited("10.0.0.2:80", "10.0.0.4:80"));
  EXPECT_THAT(replaced.upstreams_changed, ElementsAre("api"));
  EXPECT_EQ(replaced.servers_added, 1u);
  EXPECT_EQ(replaced.servers_removed, 1u);
  EXPECT_EQ(replaced.servers_changed, 0u);

  const ConfigDiff max_fail =
      diffFromBase(edited("10.0.0.1:80\n", "10.0.0.1:80\n        max_fail: 1\n"));
  EXPECT_EQ(max_fail.servers_changed, 1u);
  const ConfigDiff timeout =
      diffFromBase(edited("10.0.0.1:80\n", "10.0.0.1:80\n        fail_timeout: 2s\n"));
  EXPECT_EQ(timeout.servers_changed, 1u);

  // Same servers in another order: the list changed, no server did.
  const ConfigDiff reordered =
      diffFromBase(edited("- path: 10.0.0.1:80\n      - path: 10.0.0.2:80",
                          "- path: 10.0.0.2:80\n      - path: 10.0.0.1:80"));
  EXPECT_THAT(reordered.upstreams_changed, ElementsAre("api"));
  EXPECT_EQ(reordered.servers_added + reordered.servers_removed + reordered.servers_changed, 0u);
}

TEST(ConfigDiff, LocationsByPosition) {
  const ConfigDiff reordered = diffFromBase(edited(
      "    - path: \"^/api/\"\n      upstream: api\n    - path: \"^/\"\n      upstream: web\n",
      "    - path: \"^/\"\n      upstream: web\n    - path: \"^/api/\"\n      upstream: api\n"));
  EXPECT_EQ(reordered.locations_changed, 2u);
  EXPECT_EQ(reordered.locations_added + reordered.locations_removed, 0u);
  EXPECT_THAT(reordered.upstreams_changed, IsEmpty());

  const ConfigDiff removed = diffFromBase(edited("    - path: \"^/\"\n      upstream: web\n", ""));
  EXPECT_EQ(removed.locations_removed, 1u);
  EXPECT_EQ(removed.locations_changed, 0u);

  const ConfigDiff added = diffFromBase(
      edited("      upstream: web\n", "      upstream: web\n    - path: x\n      upstream: web\n"));
  EXPECT_EQ(added.locations_added, 1u);

  const ConfigDiff rewrite =
      diffFromBase(edited("upstream: api\n", "upstream: api\n      rewrite: /v2/\n"));
  EXPECT_EQ(rewrite.locations_changed, 1u);
  const ConfigDiff match =
      diffFromBase(edited("upstream: api\n", "upstream: api\n      match: gourmet\n"));
  EXPECT_EQ(match.locations_changed, 1u);
}

TEST(ConfigDiff, ListenerWorkersAndOtherSettings) {
  const ConfigDiff port = diffFromBase(edited("port: 8080", "port: 8081"));
  EXPECT_TRUE(port.listener_changed);
  EXPECT_FALSE(port.workers_changed);
  EXPECT_EQ(port.summary(),
            "upstreams +0 -0 ~0, servers +0 -0 ~0, locations +0 -0 ~0, listener changed");
  EXPECT_TRUE(
      diffFromBase(edited("port: 8080", "port: 8080\n  address: 127.0.0.1")).listener_changed);

  const ConfigDiff workers = diffFromBase(edited("port: 8080", "port: 8080\n  workers: 2"));
  EXPECT_TRUE(workers.workers_changed);
  EXPECT_FALSE(workers.listener_changed);
  EXPECT_EQ(workers.summary(),
            "upstreams +0 -0 ~0, servers +0 -0 ~0, locations +0 -0 ~0, workers changed (needs a "
            "restart)");

  for (std::string_view line :
       {"drain_timeout: 5s", "client_header_timeout: 1s", "client_idle_timeout: 1s",
        "access_log: /tmp/a.log", "merge_slashes: false", "x_forwarded_for: replace"}) {
    const ConfigDiff other =
        diffFromBase(edited("port: 8080", "port: 8080\n  " + std::string(line)));
    EXPECT_TRUE(other.other_changed) << line;
    EXPECT_FALSE(other.listener_changed || other.workers_changed) << line;
    EXPECT_EQ(other.summary(),
              "upstreams +0 -0 ~0, servers +0 -0 ~0, locations +0 -0 ~0, other settings changed");
  }
}

TEST(ConfigDiff, MergeSlashesAndXForwardedForAtTheirDefaultsDoNotCount) {
  EXPECT_TRUE(diffFromBase(edited("port: 8080", "port: 8080\n  merge_slashes: true")).empty());
  EXPECT_TRUE(diffFromBase(edited("port: 8080", "port: 8080\n  x_forwarded_for: append")).empty());
}

TEST(ConfigDiff, SummaryOfSeveralChanges) {
  const Config before = parsed(R"yaml(server:
  locations:
    - path: ^/a
      upstream: web
    - path: ^/
      upstream: web
upstreams:
  web:
    servers:
      - path: w1:80
      - path: w2:80
)yaml");
  const Config after = parsed(R"yaml(server:
  port: 8081
  locations:
    - path: ^/a
      upstream: web
upstreams:
  web:
    servers:
      - path: w1:80
        weight: 3
  api:
    servers:
      - path: a1:80
      - path: a2:80
)yaml");
  EXPECT_EQ(diffConfigs(before, after).summary(),
            "upstreams +1 -0 ~1 (added: api; changed: web), servers +2 -1 ~1, locations +0 -1 "
            "~0, listener changed");
}

TEST(ConfigDiff, TomlAndYamlOfTheSameConfigAreEqual) {
  auto toml = parseTomlConfig(R"toml([server]
[[server.locations]]
location = "api/(.*)"
upstream = "api"
[upstreams.api]
[[upstreams.api.servers]]
path = "api1.local"
weight = 5
)toml",
                              "old.toml");
  ASSERT_TRUE(toml) << toml.error().message;
  const Config yaml = parsed(R"yaml(server:
  locations:
    - {path: "api/(.*)", match: gourmet, upstream: api}
upstreams:
  api:
    servers: [{path: "api1.local:80", weight: 5, max_fail: 10}]
)yaml");
  EXPECT_TRUE(diffConfigs(*toml, yaml).empty()) << diffConfigs(*toml, yaml).summary();
}

TEST(ConfigDiff, LimitsAndBodyTimeoutAreOtherSettings) {
  for (std::string_view lines :
       {"client_body_timeout: 5s", "client_send_timeout: 5s", "limits:\n    max_request_line: 4k",
        "limits:\n    max_header_bytes: 1k", "limits:\n    max_headers: 10",
        "limits:\n    max_body_size: 1M", "limits:\n    max_connections: 5"}) {
    const ConfigDiff diff =
        diffFromBase(edited("port: 8080", "port: 8080\n  " + std::string(lines)));
    EXPECT_TRUE(diff.other_changed) << lines;
    EXPECT_EQ(diff.locations_changed, 0u) << lines;
    EXPECT_EQ(diff.summary(),
              "upstreams +0 -0 ~0, servers +0 -0 ~0, locations +0 -0 ~0, other settings changed")
        << lines;
  }
  // Spelling a default out is no change.
  EXPECT_TRUE(diffFromBase(edited("port: 8080",
                                  "port: 8080\n  client_body_timeout: 30s\n  "
                                  "limits: {max_request_line: 8KiB, max_headers: "
                                  "100, max_body_size: 0}"))
                  .empty());
}

TEST(ConfigDiff, LocationMaxBodySizeChangesThatLocation) {
  const std::string limited =
      edited("      upstream: api\n", "      upstream: api\n      max_body_size: 1M\n");
  const ConfigDiff added = diffFromBase(limited);
  EXPECT_EQ(added.locations_changed, 1u);
  EXPECT_FALSE(added.other_changed);
  EXPECT_EQ(added.summary(), "upstreams +0 -0 ~0, servers +0 -0 ~0, locations +0 -0 ~1");
  // 0 (unlimited here) is a setting, not the absence of one.
  std::string unlimited = limited;
  unlimited.replace(unlimited.find("1M"), 2, "0");
  EXPECT_EQ(diffConfigs(parsed(limited), parsed(unlimited)).locations_changed, 1u);
  EXPECT_EQ(diffConfigs(parsed(kBase), parsed(unlimited)).locations_changed, 1u);
  std::string same = limited;
  same.replace(same.find("1M"), 2, "1024KiB");
  EXPECT_TRUE(diffConfigs(parsed(limited), parsed(same)).empty());
}

}  // namespace
}  // namespace gourmet::core
