#include "core/config_yaml_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "core/config_toml.h"
#include "core/config_yaml.h"

namespace gourmet::core {
namespace {

// Every value of the model, field by field; source positions and the file
// name are where the text came from, not what it says.
void expectSameConfig(const Config& a, const Config& b) {
  const ServerSection& x = a.server;
  const ServerSection& y = b.server;
  EXPECT_EQ(x.address, y.address);
  EXPECT_EQ(x.port, y.port);
  EXPECT_EQ(x.workers, y.workers);
  EXPECT_EQ(x.accept_balance, y.accept_balance);
  EXPECT_EQ(x.access_log, y.access_log);
  EXPECT_EQ(x.client_header_timeout, y.client_header_timeout);
  EXPECT_EQ(x.client_idle_timeout, y.client_idle_timeout);
  EXPECT_EQ(x.drain_timeout, y.drain_timeout);
  EXPECT_EQ(x.client_body_timeout, y.client_body_timeout);
  EXPECT_EQ(x.merge_slashes, y.merge_slashes);
  EXPECT_EQ(x.x_forwarded_for, y.x_forwarded_for);
  EXPECT_EQ(x.limits.max_request_line, y.limits.max_request_line);
  EXPECT_EQ(x.limits.max_header_bytes, y.limits.max_header_bytes);
  EXPECT_EQ(x.limits.max_headers, y.limits.max_headers);
  EXPECT_EQ(x.limits.max_body_size, y.limits.max_body_size);
  EXPECT_EQ(x.limits.max_connections, y.limits.max_connections);
  ASSERT_EQ(x.locations.size(), y.locations.size());
  for (size_t i = 0; i < x.locations.size(); ++i) {
    SCOPED_TRACE("location " + std::to_string(i));
    EXPECT_EQ(x.locations[i].pattern, y.locations[i].pattern);
    EXPECT_EQ(x.locations[i].upstream, y.locations[i].upstream);
    EXPECT_EQ(x.locations[i].rewrite, y.locations[i].rewrite);
    EXPECT_EQ(x.locations[i].match, y.locations[i].match);
    EXPECT_EQ(x.locations[i].rewrite_to_last_group, y.locations[i].rewrite_to_last_group);
    EXPECT_EQ(x.locations[i].max_body_size, y.locations[i].max_body_size);
  }
  ASSERT_EQ(a.upstreams.size(), b.upstreams.size());
  for (size_t i = 0; i < a.upstreams.size(); ++i) {
    const UpstreamConfig& u = a.upstreams[i];
    const UpstreamConfig& v = b.upstreams[i];
    SCOPED_TRACE("upstream " + u.name);
    EXPECT_EQ(u.name, v.name);
    EXPECT_EQ(u.balancer, v.balancer);
    EXPECT_EQ(u.provider, v.provider);
    EXPECT_EQ(u.connect_timeout, v.connect_timeout);
    EXPECT_EQ(u.response_timeout, v.response_timeout);
    EXPECT_EQ(u.keepalive_timeout, v.keepalive_timeout);
    EXPECT_EQ(u.keepalive, v.keepalive);
    EXPECT_EQ(u.hash_on, v.hash_on);
    EXPECT_EQ(u.balancer_params.choice_count, v.balancer_params.choice_count);
    EXPECT_EQ(u.balancer_params.active_request_bias, v.balancer_params.active_request_bias);
    EXPECT_EQ(u.balancer_params.decay, v.balancer_params.decay);
    EXPECT_EQ(u.balancer_params.default_rtt, v.balancer_params.default_rtt);
    EXPECT_EQ(u.balancer_params.table_size, v.balancer_params.table_size);
    EXPECT_EQ(u.slow_start.window, v.slow_start.window);
    EXPECT_EQ(u.slow_start.aggression, v.slow_start.aggression);
    EXPECT_EQ(u.slow_start.min_weight_percent, v.slow_start.min_weight_percent);
    ASSERT_EQ(u.servers.size(), v.servers.size());
    for (size_t j = 0; j < u.servers.size(); ++j) {
      SCOPED_TRACE("server " + u.servers[j].address);
      EXPECT_EQ(u.servers[j].address, v.servers[j].address);
      EXPECT_EQ(u.servers[j].host, v.servers[j].host);
      EXPECT_EQ(u.servers[j].port, v.servers[j].port);
      EXPECT_EQ(u.servers[j].weight, v.servers[j].weight);
      EXPECT_EQ(u.servers[j].max_fail, v.servers[j].max_fail);
      EXPECT_EQ(u.servers[j].fail_timeout, v.servers[j].fail_timeout);
    }
  }
}

// toYaml, then the YAML loader: must give back the same values.
void expectRoundTrip(const Config& config) {
  const std::string yaml = toYaml(config);
  auto again = parseYamlConfig(yaml, "printed.yaml");
  ASSERT_TRUE(again) << again.error().message << "\n" << yaml;
  SCOPED_TRACE(yaml);
  expectSameConfig(config, *again);
}

TEST(ConfigYamlWriter, RoundTripsAYamlConfig) {
  auto config = parseYamlConfig(R"yaml(server:
  address: "::"
  port: 0
  workers: 3
  accept_balance: least_loaded
  access_log: "/var/log/gourmet access.log"
  client_header_timeout: 1500ms
  client_idle_timeout: 90s
  drain_timeout: 2m
  merge_slashes: false
  x_forwarded_for: replace
  locations:
    - path: "^/api/(.*)"
      upstream: backend
      rewrite: "/v1/\\1"
    - path: "say \"hi\"\t#not a comment: yes"
      upstream: "null"
    - path: "([a-z]+)\\.example/(.*)"
      match: gourmet
      upstream: backend
upstreams:
  backend:
    connect_timeout: 250ms
    response_timeout: 1h
    keepalive_timeout: 0
    keepalive: 0
    servers:
      - path: 10.0.0.1:9001
        weight: 0
        max_fail: 0
        fail_timeout: 2500ms
      - path: "[::1]:9002"
  "null":
    provider: dns
    servers:
      - path: front.internal:80
)yaml",
                                "full.yaml");
  ASSERT_TRUE(config) << config.error().message;
  expectRoundTrip(*config);
}

TEST(ConfigYamlWriter, RoundTripsAGourmetTomlConfig) {
  auto config = parseTomlConfig(R"toml([upstreams.backend]
[[upstreams.backend.servers]]
path = "api1.foo.bar"
weight = 5
max_fail = 2
fail_timeout = 3
[[upstreams.backend.servers]]
path = "127.0.0.1:9002"
[server]
port = 80
workers = 2
[[server.locations]]
location = "api/.+[/]"
upstream = "backend"
[[server.locations]]
path = "^[^/]*/v2/(.*)"
http_pass = "backend"
)toml",
                                "old.toml");
  ASSERT_TRUE(config) << config.error().message;
  expectRoundTrip(*config);
  EXPECT_EQ(toYaml(*config), R"yaml(# gourmet config, equivalent to old.toml
server:
  port: 80
  workers: 2
  locations:
    - path: "api/.+[/]"
      match: gourmet
      upstream: backend
    - path: "^[^/]*/v2/(.*)"
      match: gourmet
      upstream: backend
upstreams:
  backend:
    servers:
      - path: api1.foo.bar:80
        weight: 5
        max_fail: 2
        fail_timeout: 3s
      - path: 127.0.0.1:9002
        max_fail: 10
)yaml");
}

TEST(ConfigYamlWriter, RoundTripsBalancerParameters) {
  auto config = parseYamlConfig(R"yaml(server:
  locations: [{path: ^/, upstream: sticky}]
upstreams:
  sticky:
    balancer: hash
    hash_on: "cookie:session-id"
    table_size: 251
    servers: [{path: "10.0.0.1:80"}]
  fast:
    balancer: ewma
    choice_count: 3
    active_request_bias: 0.1
    decay: 1500ms
    default_rtt: 2s
    slow_start: {window: 45s, aggression: 1e-7, min_weight_percent: 33.3}
    servers: [{path: "10.0.0.2:80"}]
  warm:
    balancer: p2c
    active_request_bias: 0
    slow_start: {window: 0, aggression: 3}
    servers: [{path: "10.0.0.3:80"}]
)yaml",
                                "");
  ASSERT_TRUE(config) << config.error().message;
  expectRoundTrip(*config);
  EXPECT_EQ(toYaml(*config), R"yaml(server:
  locations:
    - path: "^/"
      upstream: sticky
upstreams:
  sticky:
    balancer: hash
    hash_on: cookie:session-id
    table_size: 251
    servers:
      - path: 10.0.0.1:80
  fast:
    balancer: ewma
    choice_count: 3
    active_request_bias: 0.1
    decay: 1500ms
    default_rtt: 2s
    slow_start:
      window: 45s
      aggression: 1e-07
      min_weight_percent: 33.3
    servers:
      - path: 10.0.0.2:80
  warm:
    balancer: p2c
    active_request_bias: 0
    slow_start:
      aggression: 3
    servers:
      - path: 10.0.0.3:80
)yaml");
}

TEST(ConfigYamlWriter, QuotesAHashOnThatIsNotPlain) {
  auto config = parseYamlConfig(R"yaml(server:
  locations: [{path: ^/, upstream: web}]
upstreams:
  web:
    balancer: hash
    hash_on: "header:x-#id"
    servers: [{path: "10.0.0.1:80"}]
)yaml",
                                "");
  ASSERT_TRUE(config) << config.error().message;
  expectRoundTrip(*config);
  EXPECT_NE(toYaml(*config).find("    hash_on: \"header:x-#id\"\n"), std::string::npos);
}

TEST(ConfigYamlWriter, WritesOnlyWhatDiffersFromDefaults) {
  auto config = parseYamlConfig(R"yaml(server:
  port: 8080
  drain_timeout: 15s
  locations: [{path: ^/, upstream: web}]
upstreams:
  web:
    balancer: round_robin
    keepalive: 64
    choice_count: 2
    active_request_bias: 1.0
    decay: 10s
    default_rtt: 10ms
    table_size: 65537
    slow_start: {window: 0s, aggression: 1, min_weight_percent: 10}
    servers: [{path: "127.0.0.1:9001", weight: 1, fail_timeout: 1s}]
)yaml",
                                "");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(toYaml(*config), R"yaml(server:
  locations:
    - path: "^/"
      upstream: web
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml");
}

TEST(ConfigYamlWriter, RoundTripsLimits) {
  auto config = parseYamlConfig(R"yaml(server:
  client_body_timeout: 1500ms
  limits:
    max_request_line: 1025
    max_header_bytes: 64k
    max_headers: 7
    max_body_size: 3g
    max_connections: 0
  locations:
    - {path: ^/up, upstream: web, max_body_size: 10m}
    - {path: ^/free, upstream: web, max_body_size: 0}
    - {path: ^/, upstream: web}
upstreams:
  web:
    servers: [{path: "127.0.0.1:9001"}]
)yaml",
                                "");
  ASSERT_TRUE(config) << config.error().message;
  expectRoundTrip(*config);
  EXPECT_EQ(toYaml(*config), R"yaml(server:
  client_body_timeout: 1500ms
  limits:
    max_request_line: 1025
    max_header_bytes: 64KiB
    max_headers: 7
    max_body_size: 3GiB
    max_connections: 0
  locations:
    - path: "^/up"
      upstream: web
      max_body_size: 10MiB
    - path: "^/free"
      upstream: web
      max_body_size: 0
    - path: "^/"
      upstream: web
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml");
}

TEST(ConfigYamlWriter, WritesOnlyTheLimitsThatDiffer) {
  auto config = parseYamlConfig(R"yaml(server:
  client_body_timeout: 30s
  limits: {max_request_line: 8k, max_header_bytes: 32768, max_headers: 100, max_body_size: 1M,
           max_connections: 10000}
  locations: [{path: ^/, upstream: web}]
upstreams:
  web:
    servers: [{path: "127.0.0.1:9001"}]
)yaml",
                                "");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(toYaml(*config), R"yaml(server:
  limits:
    max_body_size: 1MiB
  locations:
    - path: "^/"
      upstream: web
upstreams:
  web:
    servers:
      - path: 127.0.0.1:9001
)yaml");
}

}  // namespace
}  // namespace gourmet::core
