// What the YAML loader checks on values: validateConfig's checks (names,
// regexes, references, hash_on) and the balancer parameters of an upstream.
// Shapes, types and server addresses are in config_yaml_test.cc.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "balancers/registry.h"
#include "core/config_yaml.h"

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

std::string knownBalancers() {
  return fmt::format("{}", fmt::join(balancers::balancerNames(), ", "));
}

// The smallest valid config; tests below each change one thing in it.
constexpr std::string_view kMinimal = R"yaml(server:
  locations:
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    servers:
      - path: 127.0.0.1:9001
)yaml";

// kMinimal with `lines` added to upstream 'backend', from line 9.
std::string upstreamWith(std::string_view lines) {
  return std::string(kMinimal) + std::string(lines);
}

const UpstreamConfig& backendOf(const Config& config) {
  static const UpstreamConfig kNone;
  return config.upstreams.empty() ? kNone : config.upstreams[0];
}

TEST(YamlConfigErrors, UndefinedUpstream) {
  std::string yaml(kMinimal);
  yaml.replace(yaml.find("upstream: backend"), 17, "upstream: backnd");
  EXPECT_EQ(
      errorOf(yaml + "  front:\n    servers:\n      - path: a:1\n"),
      "demo.yaml:4:17: location upstream 'backnd' is not defined (upstreams: backend, front)");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: ^/\n      upstream: api\n"),
            "demo.yaml:4:17: location upstream 'api' is not defined (no upstreams are defined)");
}

TEST(YamlConfigErrors, RegexAndRewrite) {
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: ^/api/(\n      upstream: b\n"),
            "demo.yaml:3:13: invalid regex '^/api/(': missing ): ^/api/(");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: ^/(a)\n      upstream: b\n"
                    "      rewrite: /\\2\n"),
            "demo.yaml:5:16: invalid rewrite '/\\2' for regex '^/(a)': Rewrite schema requests 2 "
            "matches, but the regexp only has 1 parenthesized subexpressions.");
}

TEST(YamlConfigErrors, UpstreamSettings) {
  EXPECT_EQ(errorOf(std::string(kMinimal) + "    balancer: rr\n"),
            "demo.yaml:9:15: unknown balancer 'rr' (known: " + knownBalancers() + ")");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "    provider: \"\"\n"),
            "demo.yaml:9:15: provider is empty");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "  \"\":\n    servers:\n      - path: a:1\n"),
            "demo.yaml:9:3: upstream name is empty");
}

// Shape and type errors come while reading; the checks on values then report
// the problem that comes first in the file, whichever section it is in.
TEST(YamlConfigErrors, ValueProblemsInFileOrder) {
  constexpr std::string_view kServer = "server:\n  locations:\n    - path: (\n      upstream: b\n";
  constexpr std::string_view kUpstreams =
      "upstreams:\n  b:\n    balancer: rr\n    servers:\n      - path: a:1\n";
  EXPECT_EQ(errorOf(std::string(kServer) + std::string(kUpstreams)),
            "demo.yaml:3:13: invalid regex '(': missing ): (");
  EXPECT_EQ(errorOf(std::string(kUpstreams) + std::string(kServer)),
            "demo.yaml:3:15: unknown balancer 'rr' (known: " + knownBalancers() + ")");
}

TEST(YamlConfigErrors, Match) {
  const auto location = [](std::string_view lines) {
    return errorOf("server:\n  locations:\n    - path: ^/(a)\n      upstream: backend\n" +
                   std::string(lines) + std::string(kMinimal.substr(kMinimal.find("upstreams:"))));
  };
  EXPECT_EQ(location("      match: host\n"),
            "demo.yaml:5:14: match must be 'path' or 'gourmet', got 'host'");
  EXPECT_EQ(location("      match: [gourmet]\n"),
            "demo.yaml:5:14: match must be a string, got a sequence");
  EXPECT_EQ(location("      match: gourmet\n      rewrite: /\\1\n"),
            "demo.yaml:6:16: rewrite cannot be used with match: gourmet (it forwards '/' + the "
            "last capture group)");
  EXPECT_EQ(location("      rewrite: /\\1\n      match: gourmet\n"),
            "demo.yaml:5:16: rewrite cannot be used with match: gourmet (it forwards '/' + the "
            "last capture group)");
}

TEST(YamlConfigErrors, NoLocations) {
  const std::string upstreams(kMinimal.substr(kMinimal.find("upstreams:")));
  EXPECT_EQ(errorOf(upstreams),
            "demo.yaml:1:1: no locations: every request would get 404 (add server.locations)");
  EXPECT_EQ(errorOf("server:\n  port: 1\n" + upstreams),
            "demo.yaml:1:1: no locations: every request would get 404 (add server.locations)");
  EXPECT_EQ(errorOf("server:\n  locations: []\n"),
            "demo.yaml:2:14: no locations: every request would get 404");
}

TEST(YamlBalancerParams, Defaults) {
  const Config config = parsed(kMinimal);
  const UpstreamConfig& upstream = backendOf(config);
  const balancers::BalancerParams& params = upstream.balancer_params;
  EXPECT_EQ(params.choice_count, 2u);
  EXPECT_EQ(params.active_request_bias, 1.0);
  EXPECT_EQ(params.decay, Millis{10'000});
  EXPECT_EQ(params.default_rtt, Millis{10});
  EXPECT_EQ(params.table_size, 65537u);
  EXPECT_EQ(params.seed, 0u);
  EXPECT_EQ(upstream.slow_start.window, Millis{0});
  EXPECT_EQ(upstream.slow_start.aggression, 1.0);
  EXPECT_EQ(upstream.slow_start.min_weight_percent, 10.0);
  EXPECT_EQ(upstream.hash_on, "");
  EXPECT_EQ(upstream.hash_on_pos.prefix(), "demo.yaml:6:3: ");  // the upstream's name
}

TEST(YamlBalancerParams, ReadsEveryParameter) {
  const Config config = parsed(upstreamWith(R"yaml(    balancer: hash
    hash_on: header:X-User-Id
    choice_count: 3
    active_request_bias: 0.5
    decay: 30s
    default_rtt: 250ms
    table_size: 251
    slow_start:
      window: 1m
      aggression: 2.5
      min_weight_percent: 12.5
)yaml"));
  const UpstreamConfig& upstream = backendOf(config);
  EXPECT_EQ(upstream.balancer, "hash");
  EXPECT_EQ(upstream.hash_on, "header:X-User-Id");
  EXPECT_EQ(upstream.hash_on_pos.prefix(), "demo.yaml:10:14: ");
  const balancers::BalancerParams& params = upstream.balancer_params;
  EXPECT_EQ(params.choice_count, 3u);
  EXPECT_EQ(params.active_request_bias, 0.5);
  EXPECT_EQ(params.decay, Millis{30'000});
  EXPECT_EQ(params.default_rtt, Millis{250});
  EXPECT_EQ(params.table_size, 251u);
  EXPECT_EQ(params.seed, 0u);
  EXPECT_EQ(upstream.slow_start.window, Millis{60'000});
  EXPECT_EQ(upstream.slow_start.aggression, 2.5);
  EXPECT_EQ(upstream.slow_start.min_weight_percent, 12.5);
}

TEST(YamlBalancerParams, BoundsAndNumberSpellings) {
  const auto params = [](std::string_view lines) {
    return backendOf(parsed(upstreamWith(lines))).balancer_params;
  };
  EXPECT_EQ(params("    choice_count: 1\n").choice_count, 1u);
  EXPECT_EQ(params("    choice_count: 100\n").choice_count, 100u);
  EXPECT_EQ(params("    active_request_bias: 0\n").active_request_bias, 0.0);
  EXPECT_FALSE(std::signbit(params("    active_request_bias: -0\n").active_request_bias));
  EXPECT_EQ(params("    active_request_bias: 1e-3\n").active_request_bias, 0.001);
  EXPECT_EQ(params("    active_request_bias: 2\n").active_request_bias, 2.0);
  EXPECT_EQ(params("    decay: 1ms\n").decay, Millis{1});
  EXPECT_EQ(params("    default_rtt: 2\n").default_rtt, Millis{2'000});  // bare seconds
  EXPECT_EQ(params("    table_size: 7\n").table_size, 7u);
  EXPECT_EQ(params("    table_size: 1000003\n").table_size, 1'000'003u);

  const auto slow_start = [](std::string_view lines) {
    return backendOf(parsed(upstreamWith(lines))).slow_start;
  };
  EXPECT_EQ(slow_start("    slow_start: {window: 0}\n").window, Millis{0});
  EXPECT_EQ(slow_start("    slow_start: {window: 30s}\n").aggression, 1.0);  // others default
  EXPECT_EQ(slow_start("    slow_start: {window: 30s}\n").min_weight_percent, 10.0);
  EXPECT_EQ(slow_start("    slow_start: {min_weight_percent: 0}\n").min_weight_percent, 0.0);
  EXPECT_EQ(slow_start("    slow_start: {min_weight_percent: 100}\n").min_weight_percent, 100.0);
  EXPECT_EQ(slow_start("    slow_start: {aggression: 0.25}\n").aggression, 0.25);
  EXPECT_EQ(slow_start("    slow_start: {}\n").window, Millis{0});
}

TEST(YamlBalancerParams, EveryBalancerOfTheIssueIsKnown) {
  for (std::string_view name :
       {"round_robin", "random", "least_conn", "p2c", "least_request", "ewma", "jiq"}) {
    EXPECT_EQ(backendOf(parsed(upstreamWith(fmt::format("    balancer: {}\n", name)))).balancer,
              name);
  }
  EXPECT_EQ(backendOf(parsed(upstreamWith("    balancer: hash\n    hash_on: path\n"))).balancer,
            "hash");
}

TEST(YamlBalancerParams, HashOnForms) {
  const auto hash_on = [](std::string_view value) {
    return backendOf(
               parsed(upstreamWith(fmt::format("    balancer: hash\n    hash_on: {}\n", value))))
        .hash_on;
  };
  EXPECT_EQ(hash_on("client_ip"), "client_ip");
  EXPECT_EQ(hash_on("path"), "path");
  EXPECT_EQ(hash_on("header:x-api-key"), "header:x-api-key");
  EXPECT_EQ(hash_on("cookie:SESSION_ID"), "cookie:SESSION_ID");
  EXPECT_EQ(hash_on("\"header:!#$%&'*+-.^_`|~\""), "header:!#$%&'*+-.^_`|~");  // every tchar
}

// Parameters the chosen balancer does not read are kept, not refused: a
// config stays valid when only `balancer:` changes.
TEST(YamlBalancerParams, ParametersOfOtherBalancersAreAccepted) {
  const Config config = parsed(upstreamWith(R"yaml(    balancer: round_robin
    decay: 5s
    default_rtt: 5ms
    table_size: 13
    choice_count: 4
    active_request_bias: 3
)yaml"));
  const UpstreamConfig& upstream = backendOf(config);
  EXPECT_EQ(upstream.balancer_params.decay, Millis{5'000});
  EXPECT_EQ(upstream.balancer_params.table_size, 13u);
  EXPECT_EQ(upstream.balancer_params.choice_count, 4u);
}

TEST(YamlBalancerParamsErrors, Integers) {
  EXPECT_EQ(errorOf(upstreamWith("    choice_count: 0\n")),
            "demo.yaml:9:19: choice_count 0 out of range (1-100)");
  EXPECT_EQ(errorOf(upstreamWith("    choice_count: 101\n")),
            "demo.yaml:9:19: choice_count 101 out of range (1-100)");
  EXPECT_EQ(errorOf(upstreamWith("    choice_count: two\n")),
            "demo.yaml:9:19: choice_count must be an integer, got 'two'");
  EXPECT_EQ(errorOf(upstreamWith("    choice_count: 2.5\n")),
            "demo.yaml:9:19: choice_count must be an integer, got '2.5'");
  EXPECT_EQ(errorOf(upstreamWith("    table_size: 65536\n")),
            "demo.yaml:9:17: table_size 65536 is not a prime");
  EXPECT_EQ(errorOf(upstreamWith("    table_size: 1000001\n")),
            "demo.yaml:9:17: table_size 1000001 is not a prime");
  EXPECT_EQ(errorOf(upstreamWith("    table_size: 5\n")),
            "demo.yaml:9:17: table_size 5 out of range (7-1000003)");
  EXPECT_EQ(errorOf(upstreamWith("    table_size: 1000033\n")),
            "demo.yaml:9:17: table_size 1000033 out of range (7-1000003)");
  EXPECT_EQ(errorOf(upstreamWith("    table_size: [7]\n")),
            "demo.yaml:9:17: table_size must be an integer, got a sequence");
}

TEST(YamlBalancerParamsErrors, NumbersAndDurations) {
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: -0.5\n")),
            "demo.yaml:9:26: active_request_bias -0.5 out of range (>= 0)");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: high\n")),
            "demo.yaml:9:26: active_request_bias must be a number, got 'high'");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: inf\n")),
            "demo.yaml:9:26: active_request_bias must be a number, got 'inf'");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: nan\n")),
            "demo.yaml:9:26: active_request_bias must be a number, got 'nan'");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: 1e999\n")),
            "demo.yaml:9:26: active_request_bias must be a number, got '1e999'");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias: 1.0x\n")),
            "demo.yaml:9:26: active_request_bias must be a number, got '1.0x'");
  EXPECT_EQ(errorOf(upstreamWith("    active_request_bias:\n")),
            "demo.yaml:9:5: active_request_bias must be a number, got null");
  EXPECT_EQ(errorOf(upstreamWith("    decay: 0\n")), "demo.yaml:9:12: decay 0 out of range (> 0)");
  EXPECT_EQ(errorOf(upstreamWith("    decay: 0ms\n")),
            "demo.yaml:9:12: decay 0ms out of range (> 0)");
  EXPECT_EQ(errorOf(upstreamWith("    decay: 1.5s\n")),
            "demo.yaml:9:12: decay: invalid duration '1.5s' (expected e.g. 250ms, 5s, 2m, 1h, or "
            "seconds)");
  EXPECT_EQ(errorOf(upstreamWith("    default_rtt: 0s\n")),
            "demo.yaml:9:18: default_rtt 0s out of range (> 0)");
  EXPECT_EQ(errorOf(upstreamWith("    default_rtt: {a: 1}\n")),
            "demo.yaml:9:18: default_rtt must be a duration, got a map");
}

TEST(YamlBalancerParamsErrors, SlowStart) {
  EXPECT_EQ(errorOf(upstreamWith("    slow_start: 30s\n")),
            "demo.yaml:9:17: slow_start must be a map, got a string");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n")),
            "demo.yaml:9:5: slow_start must be a map, got null");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      window: 30s\n      ramp: 1\n")),
            "demo.yaml:11:7: unknown key 'ramp' in slow_start (allowed: window, aggression, "
            "min_weight_percent)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      window: 30s\n      window: 1m\n")),
            "demo.yaml:11:7: duplicate key 'window' in slow_start (first at line 10)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      window: soon\n")),
            "demo.yaml:10:15: window: invalid duration 'soon' (expected e.g. 250ms, 5s, 2m, 1h, "
            "or seconds)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      aggression: 0\n")),
            "demo.yaml:10:19: aggression 0 out of range (> 0)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      aggression: -1.5\n")),
            "demo.yaml:10:19: aggression -1.5 out of range (> 0)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      aggression: fast\n")),
            "demo.yaml:10:19: aggression must be a number, got 'fast'");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      min_weight_percent: 100.5\n")),
            "demo.yaml:10:27: min_weight_percent 100.5 out of range (0-100)");
  EXPECT_EQ(errorOf(upstreamWith("    slow_start:\n      min_weight_percent: -1\n")),
            "demo.yaml:10:27: min_weight_percent -1 out of range (0-100)");
}

TEST(YamlBalancerParamsErrors, HashOn) {
  constexpr std::string_view kForms = "client_ip, path, header:NAME or cookie:NAME";
  EXPECT_EQ(errorOf(upstreamWith("    balancer: hash\n")),
            fmt::format("demo.yaml:9:15: balancer 'hash' needs hash_on ({})", kForms));
  EXPECT_EQ(errorOf(upstreamWith("    hash_on: client_ip\n")),
            "demo.yaml:9:14: hash_on is only used by balancer 'hash'");
  EXPECT_EQ(errorOf(upstreamWith("    balancer: p2c\n    hash_on: path\n")),
            "demo.yaml:10:14: hash_on is only used by balancer 'hash'");
  const auto hash_on = [](std::string_view value) {
    return errorOf(upstreamWith(fmt::format("    balancer: hash\n    hash_on: {}\n", value)));
  };
  EXPECT_EQ(hash_on("ip"),
            fmt::format("demo.yaml:10:14: invalid hash_on 'ip' (expected {})", kForms));
  EXPECT_EQ(hash_on("header"),
            fmt::format("demo.yaml:10:14: invalid hash_on 'header' (expected {})", kForms));
  EXPECT_EQ(hash_on("Client_IP"),
            fmt::format("demo.yaml:10:14: invalid hash_on 'Client_IP' (expected {})", kForms));
  EXPECT_EQ(hash_on("query:id"),
            fmt::format("demo.yaml:10:14: invalid hash_on 'query:id' (expected {})", kForms));
  EXPECT_EQ(hash_on("\"\""),
            fmt::format("demo.yaml:10:14: invalid hash_on '' (expected {})", kForms));
  EXPECT_EQ(hash_on("\"header:\""),
            "demo.yaml:10:14: hash_on 'header:' has an invalid header name '' (expected a token "
            "such as X-User)");
  EXPECT_EQ(hash_on("\"header:X User\""),
            "demo.yaml:10:14: hash_on 'header:X User' has an invalid header name 'X User' "
            "(expected a token such as X-User)");
  EXPECT_EQ(hash_on("\"cookie:a=b\""),
            "demo.yaml:10:14: hash_on 'cookie:a=b' has an invalid cookie name 'a=b' (expected a "
            "token such as X-User)");
  EXPECT_EQ(hash_on("[path]"), "demo.yaml:10:14: hash_on must be a string, got a sequence");
}

// Like the other checks on values, hash_on problems come in file order.
TEST(YamlBalancerParamsErrors, HashOnProblemsInFileOrder) {
  EXPECT_EQ(errorOf("upstreams:\n  b:\n    hash_on: path\n    servers: [{path: a:1}]\n"
                    "server:\n  locations:\n    - path: (\n      upstream: b\n"),
            "demo.yaml:3:14: hash_on is only used by balancer 'hash'");
  EXPECT_EQ(errorOf("server:\n  locations:\n    - path: (\n      upstream: b\n"
                    "upstreams:\n  b:\n    hash_on: path\n    servers: [{path: a:1}]\n"),
            "demo.yaml:3:13: invalid regex '(': missing ): (");
}

// A hand-built model gets the same checks as a loaded one.
TEST(ValidateConfig, HashOnOnAHandBuiltModel) {
  Config config = parsed(kMinimal);
  ASSERT_EQ(config.upstreams.size(), 1u);
  config.upstreams[0].balancer = "hash";
  config.upstreams[0].hash_on = "cookie:sid";
  EXPECT_TRUE(validateConfig(config));
  config.upstreams[0].hash_on = "cookie:";
  EXPECT_EQ(validateConfig(config).error().message,
            "demo.yaml:6:3: hash_on 'cookie:' has an invalid cookie name '' (expected a token "
            "such as X-User)");
  config.upstreams[0].hash_on = "";
  EXPECT_EQ(validateConfig(config).error().message,
            "demo.yaml:6:3: balancer 'hash' needs hash_on (client_ip, path, header:NAME or "
            "cookie:NAME)");
}

TEST(IsPrime, SmallAndTableSizes) {
  EXPECT_FALSE(isPrime(0));
  EXPECT_FALSE(isPrime(1));
  EXPECT_TRUE(isPrime(2));
  EXPECT_TRUE(isPrime(7));
  EXPECT_FALSE(isPrime(9));
  EXPECT_TRUE(isPrime(65537));
  EXPECT_FALSE(isPrime(65536));
  EXPECT_TRUE(isPrime(1'000'003));
  EXPECT_FALSE(isPrime(1'000'001));  // 101 * 9901
}

}  // namespace
}  // namespace gourmet::core

namespace gourmet::core {
namespace {

constexpr std::string_view kLimitsBase =
    "upstreams:\n  b:\n    servers:\n      - path: 127.0.0.1:9001\n"
    "server:\n  locations:\n    - path: ^/up\n      upstream: b\n      max_body_size: 10MiB\n";

TEST(ServerLimits, DefaultsAndSizes) {
  auto plain = parseYamlConfig(kLimitsBase, "l.yaml");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->server.limits.max_request_line, 8192u);
  EXPECT_EQ(plain->server.limits.max_header_bytes, 32768u);
  EXPECT_EQ(plain->server.limits.max_headers, 100u);
  EXPECT_EQ(plain->server.limits.max_body_size, 0u);
  EXPECT_EQ(plain->server.client_body_timeout, Millis(30000));
  EXPECT_EQ(plain->server.locations[0].max_body_size, uint64_t{10} << 20);

  std::string text(kLimitsBase);
  text +=
      "  client_body_timeout: 5s\n  limits:\n    max_request_line: 4k\n"
      "    max_header_bytes: 16KiB\n    max_headers: 50\n    max_body_size: 1m\n"
      "    max_connections: 1000\n";
  auto config = parseYamlConfig(text, "l.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server.client_body_timeout, Millis(5000));
  EXPECT_EQ(config->server.limits.max_request_line, 4096u);
  EXPECT_EQ(config->server.limits.max_header_bytes, 16384u);
  EXPECT_EQ(config->server.limits.max_headers, 50u);
  EXPECT_EQ(config->server.limits.max_body_size, 1048576u);
  EXPECT_EQ(config->server.limits.max_connections, 1000u);
}

TEST(ServerLimits, BadSizesNameTheirPosition) {
  std::string text(kLimitsBase);
  text += "  limits:\n    max_body_size: 12 parsecs\n";
  auto config = parseYamlConfig(text, "l.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            "l.yaml:11:20: max_body_size must be a size (bytes, or a number with k/K/KiB, "
            "m/M/MiB or g/G/GiB), got '12 parsecs'");
  text = std::string(kLimitsBase) + "  limits:\n    speed: 1\n";
  config = parseYamlConfig(text, "l.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message.rfind("l.yaml:11:5: unknown key 'speed' in limits", 0), 0u)
      << config.error().message;
}

}  // namespace
}  // namespace gourmet::core
