#include "core/config_yaml.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace gourmet::core {
namespace {

Config parsed(std::string_view yaml) {
  auto config = parseYamlConfig(yaml, "demo.yaml");
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : Config{};
}

std::string errorOf(std::string_view yaml) {
  auto config = parseYamlConfig(yaml, "demo.yaml");
  return config ? "(no error)" : config.error().message;
}

// The smallest valid config; error tests below each change one thing in it.
constexpr std::string_view kMinimal = R"yaml(server:
  locations:
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    servers:
      - path: 127.0.0.1:9001
)yaml";

TEST(YamlConfig, ReadsAFullConfig) {
  const Config config = parsed(R"yaml(server:
  address: 127.0.0.1
  port: 8081
  workers: 4
  access_log: /var/log/gourmet.log
  client_header_timeout: 250ms
  client_idle_timeout: 2m
  locations:
    - path: "^/api/(.*)"
      upstream: backend
      rewrite: "/v1/\\1"
    - path: "^/"
      upstream: front
upstreams:
  backend:
    balancer: round_robin
    provider: static
    connect_timeout: 2s
    response_timeout: 1h
    keepalive_timeout: 30
    keepalive: 0
    servers:
      - path: 10.0.0.1:9001
        weight: 5
        max_fail: 3
        fail_timeout: 500ms
      - path: "[::1]:9002"
        weight: 0
  front:
    servers:
      - path: front.internal:80
)yaml");
  EXPECT_EQ(config.file, "demo.yaml");
  const ServerSection& server = config.server;
  EXPECT_EQ(server.address, "127.0.0.1");
  EXPECT_EQ(server.port, 8081);
  EXPECT_EQ(server.workers, 4u);
  EXPECT_EQ(server.access_log, "/var/log/gourmet.log");
  EXPECT_EQ(server.client_header_timeout, Millis{250});
  EXPECT_EQ(server.client_idle_timeout, Millis{120'000});
  EXPECT_EQ(server.pos.prefix(), "demo.yaml:1:1: ");

  ASSERT_EQ(server.locations.size(), 2u);
  const LocationConfig& api = server.locations[0];
  EXPECT_EQ(api.pattern, "^/api/(.*)");
  EXPECT_EQ(api.upstream, "backend");
  EXPECT_EQ(api.rewrite, "/v1/\\1");
  EXPECT_EQ(api.match, MatchTarget::kPath);
  EXPECT_FALSE(api.rewrite_to_last_group);
  EXPECT_EQ(api.pos.prefix(), "demo.yaml:9:7: ");
  EXPECT_EQ(api.pattern_pos.prefix(), "demo.yaml:9:13: ");
  EXPECT_EQ(api.upstream_pos.prefix(), "demo.yaml:10:17: ");
  EXPECT_EQ(api.rewrite_pos.prefix(), "demo.yaml:11:16: ");
  EXPECT_EQ(server.locations[1].upstream, "front");
  EXPECT_EQ(server.locations[1].rewrite, std::nullopt);

  ASSERT_EQ(config.upstreams.size(), 2u);
  const UpstreamConfig& backend = config.upstreams[0];
  EXPECT_EQ(backend.name, "backend");
  EXPECT_EQ(backend.pos.prefix(), "demo.yaml:15:3: ");
  EXPECT_EQ(backend.balancer, "round_robin");
  EXPECT_EQ(backend.balancer_pos.prefix(), "demo.yaml:16:15: ");
  EXPECT_EQ(backend.provider, "static");
  EXPECT_EQ(backend.provider_pos.prefix(), "demo.yaml:17:15: ");
  EXPECT_EQ(backend.connect_timeout, Millis{2'000});
  EXPECT_EQ(backend.response_timeout, Millis{3'600'000});
  EXPECT_EQ(backend.keepalive_timeout, Millis{30'000});
  EXPECT_EQ(backend.keepalive, 0u);
  ASSERT_EQ(backend.servers.size(), 2u);
  const ServerConfig& first = backend.servers[0];
  EXPECT_EQ(first.address, "10.0.0.1:9001");
  EXPECT_EQ(first.host, "10.0.0.1");
  EXPECT_EQ(first.port, 9001);
  EXPECT_EQ(first.weight, 5u);
  EXPECT_EQ(first.max_fail, 3u);
  EXPECT_EQ(first.fail_timeout, Millis{500});
  EXPECT_EQ(first.pos.prefix(), "demo.yaml:23:15: ");
  const ServerConfig& second = backend.servers[1];
  EXPECT_EQ(second.address, "[::1]:9002");
  EXPECT_EQ(second.host, "::1");
  EXPECT_EQ(second.port, 9002);
  EXPECT_EQ(second.weight, 0u);

  EXPECT_EQ(config.upstreams[1].name, "front");
  EXPECT_EQ(config.upstreams[1].servers[0].host, "front.internal");
  EXPECT_EQ(config.findUpstream("front"), &config.upstreams[1]);
}

TEST(YamlConfig, FillsDefaults) {
  const Config config = parsed(kMinimal);
  EXPECT_EQ(config.server.address, "0.0.0.0");
  EXPECT_EQ(config.server.port, 8080);
  EXPECT_EQ(config.server.workers, 0u);
  EXPECT_EQ(config.server.accept_balance, AcceptBalance::kKernel);
  EXPECT_EQ(config.server.access_log, "");
  EXPECT_EQ(config.server.client_header_timeout, Millis{10'000});
  EXPECT_EQ(config.server.client_idle_timeout, Millis{60'000});
  EXPECT_EQ(config.server.drain_timeout, Millis{15'000});
  const LocationConfig& location = config.server.locations.at(0);
  EXPECT_EQ(location.rewrite, std::nullopt);
  EXPECT_EQ(location.match, MatchTarget::kPath);
  EXPECT_FALSE(location.rewrite_to_last_group);
  EXPECT_EQ(location.rewrite_pos.prefix(), "demo.yaml:3:7: ");  // the location itself
  const UpstreamConfig& upstream = config.upstreams.at(0);
  EXPECT_EQ(upstream.balancer, "round_robin");
  EXPECT_EQ(upstream.balancer_pos.prefix(), "demo.yaml:6:3: ");  // the upstream's name
  EXPECT_EQ(upstream.provider, "static");
  EXPECT_EQ(upstream.provider_pos.prefix(), "demo.yaml:6:3: ");
  EXPECT_EQ(upstream.connect_timeout, Millis{5'000});
  EXPECT_EQ(upstream.response_timeout, Millis{60'000});
  EXPECT_EQ(upstream.keepalive_timeout, Millis{15'000});
  EXPECT_EQ(upstream.keepalive, 64u);
  const ServerConfig& server = upstream.servers.at(0);
  EXPECT_EQ(server.weight, 1u);
  EXPECT_EQ(server.max_fail, 0u);
  EXPECT_EQ(server.fail_timeout, Millis{1'000});
}

TEST(YamlConfig, AcceptsGourmetAliases) {
  const Config config = parsed(R"yaml(server:
  address: "::"
  workers: auto
  locations:
    - location: "^/"
      http_pass: backend
upstreams:
  backend:
    servers:
      - address: backend.local:9001
)yaml");
  EXPECT_EQ(config.server.address, "::");
  EXPECT_EQ(config.server.workers, 0u);
  EXPECT_EQ(config.server.locations.at(0).pattern, "^/");
  EXPECT_EQ(config.server.locations.at(0).pattern_pos.prefix(), "demo.yaml:5:17: ");
  EXPECT_EQ(config.server.locations.at(0).upstream, "backend");
  EXPECT_EQ(config.server.locations.at(0).upstream_pos.prefix(), "demo.yaml:6:18: ");
  EXPECT_EQ(config.upstreams.at(0).servers.at(0).host, "backend.local");
  EXPECT_EQ(config.upstreams.at(0).servers.at(0).pos.prefix(), "demo.yaml:10:18: ");
}

TEST(YamlConfig, ReadsDrainTimeoutAndMatch) {
  const Config config = parsed(R"yaml(server:
  drain_timeout: 1m
  locations:
    - path: "api/(.+)"
      match: gourmet
      upstream: backend
    - path: "^/"
      match: path
      upstream: backend
      rewrite: /index
upstreams:
  backend:
    servers:
      - path: 127.0.0.1:9001
)yaml");
  EXPECT_EQ(config.server.drain_timeout, Millis{60'000});
  const LocationConfig& gourmet = config.server.locations.at(0);
  EXPECT_EQ(gourmet.match, MatchTarget::kHostAndPath);
  EXPECT_TRUE(gourmet.rewrite_to_last_group);
  EXPECT_EQ(gourmet.rewrite, std::nullopt);
  const LocationConfig& path = config.server.locations.at(1);
  EXPECT_EQ(path.match, MatchTarget::kPath);
  EXPECT_FALSE(path.rewrite_to_last_group);
  EXPECT_EQ(path.rewrite, "/index");
}

TEST(YamlConfig, AcceptsUnusedUpstreamAndBracketedListenAddress) {
  const Config config = parsed(std::string(kMinimal) + R"yaml(  spare:
    servers:
      - path: 127.0.0.1:9002
)yaml");
  EXPECT_EQ(config.upstreams.size(), 2u);
  // kMinimal without its first line, "server:".
  const std::string rest(kMinimal.substr(kMinimal.find('\n') + 1));
  EXPECT_EQ(parsed("server:\n  address: \"[::1]\"\n" + rest).server.address, "::1");
}

TEST(YamlConfig, ReadsAcceptBalance) {
  const std::string rest(kMinimal.substr(kMinimal.find('\n') + 1));
  EXPECT_EQ(parsed("server:\n  accept_balance: least_loaded\n" + rest).server.accept_balance,
            AcceptBalance::kLeastLoaded);
  EXPECT_EQ(parsed("server:\n  accept_balance: kernel\n" + rest).server.accept_balance,
            AcceptBalance::kKernel);
}

TEST(YamlConfig, ReadsMergeSlashesAndXForwardedFor) {
  const std::string rest(kMinimal.substr(kMinimal.find('\n') + 1));
  const Config defaults = parsed(kMinimal);
  EXPECT_TRUE(defaults.server.merge_slashes);
  EXPECT_EQ(defaults.server.x_forwarded_for, ForwardedFor::kAppend);
  EXPECT_FALSE(parsed("server:\n  merge_slashes: false\n" + rest).server.merge_slashes);
  EXPECT_TRUE(parsed("server:\n  merge_slashes: True\n" + rest).server.merge_slashes);
  EXPECT_EQ(parsed("server:\n  x_forwarded_for: replace\n" + rest).server.x_forwarded_for,
            ForwardedFor::kReplace);
  EXPECT_EQ(parsed("server:\n  x_forwarded_for: append\n" + rest).server.x_forwarded_for,
            ForwardedFor::kAppend);
}

TEST(YamlConfigErrors, MergeSlashesAndXForwardedFor) {
  EXPECT_EQ(errorOf("server:\n  merge_slashes: yes\n"),
            "demo.yaml:2:18: merge_slashes must be true or false, got 'yes'");
  EXPECT_EQ(errorOf("server:\n  merge_slashes: [true]\n"),
            "demo.yaml:2:18: merge_slashes must be true or false, got a sequence");
  EXPECT_EQ(errorOf("server:\n  x_forwarded_for: drop\n"),
            "demo.yaml:2:20: x_forwarded_for must be 'append' or 'replace', got 'drop'");
  EXPECT_EQ(errorOf("server:\n  x_forwarded_for: {a: 1}\n"),
            "demo.yaml:2:20: x_forwarded_for must be a string, got a map");
}

TEST(YamlConfigErrors, UnknownKeys) {
  EXPECT_EQ(errorOf(std::string(kMinimal) + "        weigth: 5\n"),
            "demo.yaml:9:9: unknown key 'weigth' in server (allowed: path, address, weight, "
            "max_fail, fail_timeout)");
  EXPECT_EQ(errorOf("servers: {}\n"),
            "demo.yaml:1:1: unknown key 'servers' in top level (allowed: server, upstreams)");
  EXPECT_EQ(errorOf("server:\n  listen: 80\n"),
            "demo.yaml:2:3: unknown key 'listen' in server section (allowed: address, port, "
            "workers, accept_balance, access_log, client_header_timeout, client_idle_timeout, "
            "client_body_timeout, client_send_timeout, drain_timeout, merge_slashes, "
            "x_forwarded_for, limits, error_pages, locations)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: a\n      upstream: b\n      host: x\n"),
            "demo.yaml:5:7: unknown key 'host' in location (allowed: path, location, upstream, "
            "http_pass, rewrite, match, max_body_size, error_pages)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "    retry: 3\n"),
            "demo.yaml:9:5: unknown key 'retry' in upstream 'backend' (allowed: balancer, "
            "hash_on, choice_count, active_request_bias, decay, default_rtt, table_size, "
            "slow_start, provider, connect_timeout, response_timeout, keepalive_timeout, "
            "keepalive, servers, outlier_detection, health_check, retries, max_connections, "
            "max_pending, max_requests, panic_threshold)");
}

TEST(YamlConfigErrors, WrongTypes) {
  EXPECT_EQ(errorOf("server:\n  locations:\n    path: a\n"),
            "demo.yaml:3:5: locations must be a sequence, got a map");
  EXPECT_EQ(errorOf("server:\n  port: http\n"),
            "demo.yaml:2:9: port must be a non-negative integer, got 'http'");
  EXPECT_EQ(errorOf("server:\n  port: [80]\n"),
            "demo.yaml:2:9: port must be a non-negative integer, got a sequence");
  EXPECT_EQ(errorOf("server:\n  access_log: {a: b}\n"),
            "demo.yaml:2:15: access_log must be a string, got a map");
  EXPECT_EQ(errorOf("server:\nupstreams: {}\n"),
            "demo.yaml:1:1: server section must be a map, got null");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - ^/\n"),
            "demo.yaml:3:7: location must be a map, got a string");
  EXPECT_EQ(errorOf("upstreams: [a]\n"), "demo.yaml:1:12: upstreams must be a map, got a sequence");
  EXPECT_EQ(errorOf("upstreams:\n  backend:\n    servers:\n      - 127.0.0.1:80\n"),
            "demo.yaml:4:9: server must be a map, got a string");
  EXPECT_EQ(errorOf("upstreams:\n  ? [a, b]\n  : {}\n"),
            "demo.yaml:2:5: keys in upstreams must be strings, got a sequence");
}

TEST(YamlConfigErrors, Servers) {
  EXPECT_EQ(errorOf("upstreams:\n  backend:\n    keepalive: 1\n"),
            "demo.yaml:2:3: upstream 'backend' has no servers (add servers: [...])");
  EXPECT_EQ(errorOf("upstreams:\n  backend:\n    servers: []\n"),
            "demo.yaml:3:14: upstream 'backend' has no servers");
  EXPECT_EQ(errorOf("upstreams:\n  backend:\n    servers:\n      - weight: 1\n"),
            "demo.yaml:4:9: server has no path (add path: HOST:PORT)");
  EXPECT_EQ(errorOf("upstreams:\n  b:\n    servers:\n      - path: a:1\n        address: a:1\n"),
            "demo.yaml:5:9: server has both 'path' and 'address' (aliases of one setting: keep "
            "one)");
}

TEST(YamlConfigErrors, ServerAddresses) {
  const auto error = [](std::string_view address) {
    return errorOf("upstreams:\n  b:\n    servers:\n      - path: \"" + std::string(address) +
                   "\"\n");
  };
  EXPECT_EQ(error("127.0.0.1"),
            "demo.yaml:4:15: path '127.0.0.1' has no port (expected host:port)");
  EXPECT_EQ(error("a:0"), "demo.yaml:4:15: path 'a:0' has an invalid port '0' (expected 1-65535)");
  EXPECT_EQ(error("a:65536"),
            "demo.yaml:4:15: path 'a:65536' has an invalid port '65536' (expected 1-65535)");
  EXPECT_EQ(error("a:"), "demo.yaml:4:15: path 'a:' has an invalid port '' (expected 1-65535)");
  EXPECT_EQ(error(":80"), "demo.yaml:4:15: path ':80' has no host (expected host:port)");
  EXPECT_EQ(error("::1:80"),
            "demo.yaml:4:15: path '::1:80' needs brackets around its IPv6 address ([::1]:80)");
  EXPECT_EQ(error("[::g]:80"), "demo.yaml:4:15: path '[::g]:80' has an invalid IPv6 address '::g'");
  EXPECT_EQ(error("http://a:80"),
            "demo.yaml:4:15: path 'http://a:80' has a scheme (expected host:port)");
  EXPECT_EQ(error("a/b:80"),
            "demo.yaml:4:15: path 'a/b:80' has an invalid host 'a/b' (expected a "
            "name, an IPv4 or [IPv6])");
}

TEST(YamlConfigErrors, Locations) {
  EXPECT_EQ(errorOf("server:\n  locations:\n    - upstream: b\n"),
            "demo.yaml:3:7: location has no path (add path: REGEX)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: ^/a\n"),
            "demo.yaml:3:7: location '^/a' has no upstream (add upstream: NAME)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: \"\"\n      upstream: b\n"),
            "demo.yaml:3:13: location path is empty (use '^/' to match every path)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - location: \"\"\n      match: gourmet\n"
                    "      upstream: b\n"),
            "demo.yaml:3:17: location path is empty (use '/(.*)' to match every request)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: a\n      location: b\n"),
            "demo.yaml:4:7: location has both 'path' and 'location' (aliases of one setting: "
            "keep one)");
  EXPECT_EQ(
      errorOf("server:\n  locations:\n    - http_pass: a\n      upstream: b\n      path: x\n"),
      "demo.yaml:4:7: location has both 'upstream' and 'http_pass' (aliases of one "
      "setting: keep one)");
}

TEST(YamlConfigErrors, Numbers) {
  EXPECT_EQ(errorOf("server:\n  port: 70000\n"),
            "demo.yaml:2:9: port 70000 out of range (0-65535)");
  EXPECT_EQ(errorOf("server:\n  port: 99999999999999999999\n"),
            "demo.yaml:2:9: port 99999999999999999999 out of range (0-65535)");
  EXPECT_EQ(errorOf("server:\n  workers: many\n"),
            "demo.yaml:2:12: workers must be 'auto' or an integer (1-1024), got 'many'");
  EXPECT_EQ(errorOf("server:\n  accept_balance: fair\n"),
            "demo.yaml:2:19: accept_balance must be 'kernel' or 'least_loaded', got 'fair'");
  EXPECT_EQ(errorOf("server:\n  workers: 0\n"), "demo.yaml:2:12: workers 0 out of range (1-1024)");
  EXPECT_EQ(errorOf("server:\n  workers: 1025\n"),
            "demo.yaml:2:12: workers 1025 out of range (1-1024)");
  const auto server = [](std::string_view line) {
    return errorOf("upstreams:\n  b:\n    servers:\n      - path: a:1\n        " +
                   std::string(line) + "\n");
  };
  EXPECT_EQ(server("weight: -1"),
            "demo.yaml:5:17: weight must be a non-negative integer, got '-1'");
  EXPECT_EQ(server("weight: 1.5"),
            "demo.yaml:5:17: weight must be a non-negative integer, got '1.5'");
  EXPECT_EQ(server("weight: heavy"),
            "demo.yaml:5:17: weight must be a non-negative integer, got 'heavy'");
  EXPECT_EQ(server("weight: 1000001"), "demo.yaml:5:17: weight 1000001 out of range (0-1000000)");
  EXPECT_EQ(server("weight:"), "demo.yaml:5:9: weight must be a non-negative integer, got null");
  EXPECT_EQ(server("max_fail: -3"),
            "demo.yaml:5:19: max_fail must be a non-negative integer, got '-3'");
  EXPECT_EQ(errorOf("upstreams:\n  b:\n    keepalive: lots\n"),
            "demo.yaml:3:16: keepalive must be a non-negative integer, got 'lots'");
}

TEST(YamlConfigErrors, Durations) {
  EXPECT_EQ(errorOf("upstreams:\n  b:\n    connect_timeout: 5 seconds\n"),
            "demo.yaml:3:22: connect_timeout: invalid duration '5 seconds' (expected e.g. 250ms, "
            "5s, 2m, 1h, or seconds)");
  EXPECT_EQ(errorOf("server:\n  client_idle_timeout: [1s]\n"),
            "demo.yaml:2:24: client_idle_timeout must be a duration, got a sequence");
  EXPECT_EQ(errorOf("server:\n  drain_timeout: soon\n"),
            "demo.yaml:2:18: drain_timeout: invalid duration 'soon' (expected e.g. 250ms, 5s, "
            "2m, 1h, or seconds)");
}

TEST(YamlConfigErrors, DuplicateKeys) {
  EXPECT_EQ(errorOf("server:\n  port: 1\n  port: 2\n"),
            "demo.yaml:3:3: duplicate key 'port' in server section (first at line 2)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "  backend:\n    servers:\n      - path: a:1\n"),
            "demo.yaml:9:3: duplicate key 'backend' in upstreams (first at line 6)");
}

TEST(YamlConfigErrors, DocumentShape) {
  const std::string empty =
      "demo.yaml:1:1: empty config (expected a map with server and upstreams)";
  EXPECT_EQ(errorOf(""), empty);
  EXPECT_EQ(errorOf("# nothing yet\n"), empty);
  EXPECT_EQ(errorOf("---\n"), empty);
  EXPECT_EQ(errorOf("just text\n"), "demo.yaml:1:1: top level must be a map, got a string");
  EXPECT_EQ(errorOf("- a\n"), "demo.yaml:1:1: top level must be a map, got a sequence");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "---\nserver: {}\n"),
            "demo.yaml:10:1: more than one YAML document (one config per file)");
  EXPECT_EQ(errorOf("server:\n  port: [80\n"),
            "demo.yaml:3:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(errorOf("server: a\n  b: c\n"), "demo.yaml:2:4: invalid YAML: illegal map value");
}

TEST(YamlConfigErrors, ListenAddressMustBeALiteral) {
  EXPECT_EQ(errorOf("server:\n  address: localhost\n"),
            "demo.yaml:2:12: address 'localhost' is not an IPv4 or IPv6 literal (listeners do not "
            "resolve names)");
}

TEST(LoadYamlConfig, ReadsTheFileOrSaysWhy) {
  EXPECT_EQ(loadYamlConfig("/nonexistent/gourmet.yaml").error().message,
            "/nonexistent/gourmet.yaml: cannot read: No such file or directory");
  EXPECT_EQ(loadYamlConfig("/").error().message, "/: cannot read: Is a directory");

  char path[] = "/tmp/gourmet_config_yaml_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, kMinimal.data(), kMinimal.size()), static_cast<ssize_t>(kMinimal.size()));
  close(fd);
  auto config = loadYamlConfig(path);
  std::remove(path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->file, path);
  EXPECT_EQ(config->upstreams.at(0).servers.at(0).port, 9001);
  EXPECT_EQ(config->server.locations.at(0).pattern_pos.file, path);
}

// ---- server.limits, client_body_timeout, a location's max_body_size ----

// kMinimal's server section with `lines` (indented by the caller) added.
std::string withServer(std::string_view lines) {
  std::string yaml(kMinimal);
  yaml.insert(yaml.find('\n') + 1, lines);
  return yaml;
}

TEST(YamlConfigLimits, Defaults) {
  const Config config = parsed(kMinimal);
  EXPECT_EQ(config.server.client_body_timeout, Millis{30'000});
  EXPECT_EQ(config.server.client_send_timeout, Millis{60'000});
  const ServerLimits& limits = config.server.limits;
  EXPECT_EQ(limits.max_request_line, 8u * 1024);
  EXPECT_EQ(limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(limits.max_headers, 100u);
  EXPECT_EQ(limits.max_body_size, 0u);  // unlimited
  EXPECT_EQ(limits.max_connections, 10'000u);
  EXPECT_EQ(config.server.locations.at(0).max_body_size, std::nullopt);
}

TEST(YamlConfigLimits, ReadsEveryKey) {
  const Config config = parsed(R"yaml(server:
  client_body_timeout: 500ms
  client_send_timeout: 2s
  limits:
    max_request_line: 4KiB
    max_header_bytes: 1M
    max_headers: 20
    max_body_size: 2g
    max_connections: 0
  locations:
    - path: "^/upload/"
      upstream: backend
      max_body_size: 10MiB
    - path: "^/"
      upstream: backend
      max_body_size: 0
upstreams:
  backend:
    servers:
      - path: 127.0.0.1:9001
)yaml");
  EXPECT_EQ(config.server.client_body_timeout, Millis{500});
  EXPECT_EQ(config.server.client_send_timeout, Millis{2000});
  const ServerLimits& limits = config.server.limits;
  EXPECT_EQ(limits.max_request_line, 4096u);
  EXPECT_EQ(limits.max_header_bytes, 1u << 20);
  EXPECT_EQ(limits.max_headers, 20u);
  EXPECT_EQ(limits.max_body_size, uint64_t{2} << 30);
  EXPECT_EQ(limits.max_connections, 0u);
  EXPECT_EQ(config.server.locations.at(0).max_body_size, uint64_t{10} << 20);
  EXPECT_EQ(config.server.locations.at(1).max_body_size, 0u);  // unlimited here, explicitly
}

TEST(YamlConfigLimits, SizeSuffixesAreBinary) {
  const auto size = [](std::string_view text) -> uint64_t {
    return parsed(withServer("  limits:\n    max_body_size: " + std::string(text) + "\n"))
        .server.limits.max_body_size;
  };
  EXPECT_EQ(size("0"), 0u);
  EXPECT_EQ(size("1000"), 1000u);
  for (std::string_view k : {"3k", "3K", "3KiB"}) EXPECT_EQ(size(k), 3u << 10) << k;
  for (std::string_view m : {"3m", "3M", "3MiB"}) EXPECT_EQ(size(m), 3u << 20) << m;
  for (std::string_view g : {"3g", "3G", "3GiB"}) EXPECT_EQ(size(g), uint64_t{3} << 30) << g;
  EXPECT_EQ(size("1024GiB"), uint64_t{1} << 40);  // the largest
}

TEST(YamlConfigLimits, BadSizes) {
  const auto limit = [](std::string_view key, std::string_view value) {
    return errorOf(
        withServer("  limits:\n    " + std::string(key) + ": " + std::string(value) + "\n"));
  };
  const std::string forms = "(bytes, or a number with k/K/KiB, m/M/MiB or g/G/GiB)";
  for (std::string_view bad : {"10 MiB", "1.5M", "-1", "10KB", "10kib", "ten", "0x10", "M"}) {
    EXPECT_EQ(limit("max_body_size", bad), "demo.yaml:3:20: max_body_size must be a size " + forms +
                                               ", got '" + std::string(bad) + "'");
  }
  EXPECT_EQ(limit("max_body_size", "[1]"),
            "demo.yaml:3:20: max_body_size must be a size, got a sequence");
  EXPECT_EQ(limit("max_body_size", ""), "demo.yaml:3:5: max_body_size must be a size, got null");
  EXPECT_EQ(limit("max_body_size", "1025G"),
            "demo.yaml:3:20: max_body_size 1025G out of range (0-1024GiB)");
  EXPECT_EQ(limit("max_body_size", "99999999999999999999999"),
            "demo.yaml:3:20: max_body_size 99999999999999999999999 out of range (0-1024GiB)");
  EXPECT_EQ(limit("max_body_size", "17179869184G"),  // 2^64 bytes: must not wrap to 0
            "demo.yaml:3:20: max_body_size 17179869184G out of range (0-1024GiB)");
  EXPECT_EQ(limit("max_request_line", "0"),
            "demo.yaml:3:23: max_request_line 0 out of range (1-1MiB)");
  EXPECT_EQ(limit("max_request_line", "2m"),
            "demo.yaml:3:23: max_request_line 2m out of range (1-1MiB)");
  EXPECT_EQ(limit("max_header_bytes", "0k"),
            "demo.yaml:3:23: max_header_bytes 0k out of range (1-16MiB)");
  EXPECT_EQ(limit("max_header_bytes", "17M"),
            "demo.yaml:3:23: max_header_bytes 17M out of range (1-16MiB)");
  EXPECT_EQ(errorOf(withServer("  limits:\n    max_request_line: 8K\n    max_headers: 0\n")),
            "demo.yaml:4:18: max_headers 0 out of range (1-10000)");
  EXPECT_EQ(limit("max_headers", "1k"), "demo.yaml:3:18: max_headers must be an integer, got '1k'");
  EXPECT_EQ(limit("max_connections", "-1"),
            "demo.yaml:3:22: max_connections must be a non-negative integer, got '-1'");
  EXPECT_EQ(limit("max_connections", "10000001"),
            "demo.yaml:3:22: max_connections 10000001 out of range (0-10000000)");
  // At the location, with the location's own position.
  std::string yaml(kMinimal);
  yaml.insert(yaml.find("      upstream: backend\n"), "      max_body_size: lots\n");
  EXPECT_EQ(errorOf(yaml),
            "demo.yaml:4:22: max_body_size must be a size " + forms + ", got 'lots'");
}

TEST(YamlConfigLimits, BadShapesAndTimeouts) {
  EXPECT_EQ(errorOf(withServer("  limits:\n    max_body: 1M\n")),
            "demo.yaml:3:5: unknown key 'max_body' in limits (allowed: max_request_line, "
            "max_header_bytes, max_headers, max_body_size, max_connections)");
  EXPECT_EQ(errorOf(withServer("  limits: 1M\n")),
            "demo.yaml:2:11: limits must be a map, got a string");
  EXPECT_EQ(errorOf(withServer("  limits:\n    max_headers: 5\n    max_headers: 6\n")),
            "demo.yaml:4:5: duplicate key 'max_headers' in limits (first at line 3)");
  EXPECT_EQ(errorOf(withServer("  client_body_timeout: 0s\n")),
            "demo.yaml:2:24: client_body_timeout 0s out of range (> 0)");
  EXPECT_EQ(errorOf(withServer("  client_send_timeout: 0s\n")),
            "demo.yaml:2:24: client_send_timeout 0s out of range (> 0)");
  EXPECT_EQ(errorOf(withServer("  client_body_timeout: idle\n")),
            "demo.yaml:2:24: client_body_timeout: invalid duration 'idle' (expected e.g. 250ms, "
            "5s, 2m, 1h, or seconds)");
  // An empty limits map is all defaults.
  EXPECT_EQ(parsed(withServer("  limits: {}\n")).server.limits, ServerLimits{});
}

}  // namespace
}  // namespace gourmet::core
