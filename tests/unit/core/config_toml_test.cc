#include "core/config_toml.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "balancers/registry.h"
#include "core/config_loader.h"
#include "core/router.h"

namespace gourmet::core {
namespace {

Config parsed(std::string_view toml) {
  auto config = parseTomlConfig(toml, "demo.toml");
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : Config{};
}

std::string errorOf(std::string_view toml) {
  auto config = parseTomlConfig(toml, "demo.toml");
  return config ? "(no error)" : config.error().message;
}

// The smallest valid config; lines appended to it land in the last server.
constexpr std::string_view kMinimal = R"toml([server]
[[server.locations]]
location = "/(.*)"
upstream = "backend"
[upstreams.backend]
[[upstreams.backend.servers]]
path = "127.0.0.1:9001"
)toml";

std::string withLine(std::string_view line) { return std::string(kMinimal) + std::string(line); }

// The example of Gourmet's README, as published (its servers have no port).
constexpr std::string_view kGourmetReadme = R"toml([upstreams]
    [upstreams.backend]
    balancer="round_robin" # default round_robin
    provider="static"      # default static

        [[upstreams.backend.servers]]
            path="api1.foo.bar"
            weight=5 # optional weight
        [[upstreams.backend.servers]]
            path="api2.foo.bar"
        [[upstreams.backend.servers]]
            path="api3.foo.bar"

    [upstreams.front]
        provider="static"
        balancer="round_robin"

        [[upstreams.front.servers]]
            path="static1.foo.bar"
            weight=2
        [[upstreams.front.servers]]
            path="static2.foo.bar"
        [[upstreams.front.servers]]
            path="static3.foo.bar"

[server]
port=80 # default is 8080
    [[server.locations]]
        location="api/.+[/]"
        upstream="backend"
    [[server.locations]]
        location="static/.+[/]"
        upstream="front"
)toml";

TEST(TomlConfig, ReadsGourmetsReadmeExample) {
  const Config config = parsed(kGourmetReadme);
  EXPECT_EQ(config.file, "demo.toml");
  EXPECT_EQ(config.server.port, 80);
  EXPECT_EQ(config.server.address, "0.0.0.0");
  EXPECT_EQ(config.server.pos.prefix(), "demo.toml:26:2: ");
  ASSERT_EQ(config.server.locations.size(), 2u);
  const LocationConfig& api = config.server.locations[0];
  EXPECT_EQ(api.pattern, "api/.+[/]");
  EXPECT_EQ(api.upstream, "backend");
  EXPECT_EQ(api.match, MatchTarget::kHostAndPath);
  EXPECT_TRUE(api.rewrite_to_last_group);
  EXPECT_EQ(api.rewrite, std::nullopt);
  EXPECT_EQ(api.pos.prefix(), "demo.toml:28:5: ");
  EXPECT_EQ(api.pattern_pos.prefix(), "demo.toml:29:18: ");
  EXPECT_EQ(api.upstream_pos.prefix(), "demo.toml:30:18: ");
  EXPECT_EQ(config.server.locations[1].pattern, "static/.+[/]");
  EXPECT_EQ(config.server.locations[1].upstream, "front");

  ASSERT_EQ(config.upstreams.size(), 2u);
  const UpstreamConfig& backend = config.upstreams[0];
  EXPECT_EQ(backend.name, "backend");
  EXPECT_EQ(backend.pos.prefix(), "demo.toml:2:16: ");
  EXPECT_EQ(backend.balancer, "round_robin");
  EXPECT_EQ(backend.balancer_pos.prefix(), "demo.toml:3:14: ");
  EXPECT_EQ(backend.provider, "static");
  EXPECT_EQ(backend.provider_pos.prefix(), "demo.toml:4:14: ");
  ASSERT_EQ(backend.servers.size(), 3u);
  EXPECT_EQ(backend.servers[0].address, "api1.foo.bar:80");
  EXPECT_EQ(backend.servers[0].host, "api1.foo.bar");
  EXPECT_EQ(backend.servers[0].port, 80);
  EXPECT_EQ(backend.servers[0].weight, 5u);
  EXPECT_EQ(backend.servers[0].pos.prefix(), "demo.toml:7:18: ");
  EXPECT_EQ(backend.servers[1].weight, 1u);
  EXPECT_EQ(backend.servers[2].host, "api3.foo.bar");
  const UpstreamConfig& front = config.upstreams[1];
  EXPECT_EQ(front.name, "front");
  ASSERT_EQ(front.servers.size(), 3u);
  EXPECT_EQ(front.servers[0].address, "static1.foo.bar:80");
  EXPECT_EQ(front.servers[0].weight, 2u);
}

TEST(TomlConfig, ReadsGourmetsCodeSpellingAndExtraKeys) {
  const Config config = parsed(R"toml([server]
address = "127.0.0.1"
workers = 4
[[server.locations]]
path = "^[^/]*/api/(.*)"
http_pass = "api"
[[server.locations]]
location = "/(.*)"
upstream = "api"
[upstreams.api]
[[upstreams.api.servers]]
path = "[::1]:9001"
max_fail = 3
fail_timeout = 30
)toml");
  EXPECT_EQ(config.server.address, "127.0.0.1");
  EXPECT_EQ(config.server.workers, 4u);
  ASSERT_EQ(config.server.locations.size(), 2u);
  EXPECT_EQ(config.server.locations[0].pattern, "^[^/]*/api/(.*)");
  EXPECT_EQ(config.server.locations[0].upstream, "api");
  EXPECT_EQ(config.server.locations[0].pattern_pos.prefix(), "demo.toml:5:8: ");
  EXPECT_EQ(config.server.locations[0].upstream_pos.prefix(), "demo.toml:6:13: ");
  EXPECT_EQ(config.server.locations[1].pattern, "/(.*)");
  EXPECT_EQ(config.server.locations[1].match, MatchTarget::kHostAndPath);
  const ServerConfig& server = config.upstreams.at(0).servers.at(0);
  EXPECT_EQ(server.address, "[::1]:9001");
  EXPECT_EQ(server.host, "::1");
  EXPECT_EQ(server.port, 9001);
  EXPECT_EQ(server.max_fail, 3u);
  EXPECT_EQ(server.fail_timeout, Millis{30'000});
  const std::string_view rest = kMinimal.substr(kMinimal.find('\n') + 1);  // after [server]
  EXPECT_EQ(parsed("[server]\nworkers = \"auto\"\n" + std::string(rest)).server.workers, 0u);
}

TEST(TomlConfig, FillsDefaults) {
  const Config config = parsed(kMinimal);
  EXPECT_EQ(config.server.address, "0.0.0.0");
  EXPECT_EQ(config.server.port, 8080);
  EXPECT_EQ(config.server.workers, 0u);
  EXPECT_EQ(config.server.access_log, "");
  EXPECT_EQ(config.server.drain_timeout, Millis{15'000});
  const LocationConfig& location = config.server.locations.at(0);
  EXPECT_EQ(location.rewrite_pos.prefix(), "demo.toml:2:1: ");  // the location itself
  const UpstreamConfig& upstream = config.upstreams.at(0);
  EXPECT_EQ(upstream.balancer, "round_robin");
  EXPECT_EQ(upstream.balancer_pos.prefix(), "demo.toml:5:12: ");  // the upstream's name
  EXPECT_EQ(upstream.provider, "static");
  EXPECT_EQ(upstream.connect_timeout, Millis{5'000});
  EXPECT_EQ(upstream.keepalive, 64u);
  const ServerConfig& server = upstream.servers.at(0);
  EXPECT_EQ(server.weight, 1u);
  EXPECT_EQ(server.max_fail, 10u);
  EXPECT_EQ(server.fail_timeout, Millis{1'000});
}

TEST(TomlConfig, KeepsUpstreamsInFileOrder) {
  const Config config = parsed(std::string(kMinimal) +
                               "[upstreams.zeta]\nservers = [{path = \"z:1\"}]\n"
                               "[upstreams.alpha]\nservers = [{path = \"a:1\"}]\n");
  ASSERT_EQ(config.upstreams.size(), 3u);
  EXPECT_EQ(config.upstreams[0].name, "backend");
  EXPECT_EQ(config.upstreams[1].name, "zeta");
  EXPECT_EQ(config.upstreams[2].name, "alpha");
}

TEST(TomlConfigErrors, UnknownKeys) {
  EXPECT_EQ(errorOf(withLine("weigth = 5\n")),
            "demo.toml:8:1: unknown key 'weigth' in server (allowed: path, weight, max_fail, "
            "fail_timeout)");
  EXPECT_EQ(errorOf("servers = 1\n"),
            "demo.toml:1:1: unknown key 'servers' in top level (allowed: upstreams, server)");
  EXPECT_EQ(errorOf("[server]\nlisten = 80\n"),
            "demo.toml:2:1: unknown key 'listen' in server section (allowed: port, address, "
            "workers, locations)");
  EXPECT_EQ(errorOf("[[server.locations]]\npath = 'a'\nhttp_pass = 'b'\nrewrite = '/'\n"),
            "demo.toml:4:1: unknown key 'rewrite' in location (allowed: location, upstream, "
            "path, http_pass)");
  EXPECT_EQ(errorOf("[upstreams.b]\nretries = 3\n"),
            "demo.toml:2:1: unknown key 'retries' in upstream 'b' (allowed: balancer, provider, "
            "servers)");
}

TEST(TomlConfigErrors, BothSpellingsOfOneSetting) {
  EXPECT_EQ(errorOf("[[server.locations]]\npath = 'a'\nlocation = 'b'\n"),
            "demo.toml:3:1: location has both 'location' and 'path' (aliases of one setting: "
            "keep one)");
  EXPECT_EQ(errorOf("[[server.locations]]\npath = 'a'\nhttp_pass = 'b'\nupstream = 'c'\n"),
            "demo.toml:4:1: location has both 'upstream' and 'http_pass' (aliases of one "
            "setting: keep one)");
}

TEST(TomlConfigErrors, MissingKeys) {
  EXPECT_EQ(errorOf("[[server.locations]]\nupstream = 'b'\n"),
            "demo.toml:1:1: location has no path (add location = \"REGEX\")");
  EXPECT_EQ(errorOf("[[server.locations]]\nlocation = '^/a'\n"),
            "demo.toml:1:1: location '^/a' has no upstream (add upstream = \"NAME\")");
  EXPECT_EQ(errorOf("[[upstreams.b.servers]]\nweight = 1\n"),
            "demo.toml:1:1: server has no path (add path = \"HOST[:PORT]\")");
  EXPECT_EQ(errorOf("[upstreams.b]\nbalancer = 'round_robin'\n"),
            "demo.toml:1:12: upstream 'b' has no servers (add [[upstreams.b.servers]])");
  EXPECT_EQ(errorOf("[upstreams.b]\nservers = []\n"),
            "demo.toml:1:12: upstream 'b' has no servers");
}

TEST(TomlConfigErrors, WrongTypes) {
  EXPECT_EQ(errorOf("server = 'x'\n"),
            "demo.toml:1:10: server section must be a table, got a string");
  EXPECT_EQ(errorOf("upstreams = []\n"), "demo.toml:1:13: upstreams must be a table, got an array");
  EXPECT_EQ(errorOf("[upstreams]\nb = 1\n"),
            "demo.toml:2:5: upstream 'b' must be a table, got an integer");
  EXPECT_EQ(errorOf("[upstreams.b]\nservers = 'a:1'\n"),
            "demo.toml:2:11: servers must be an array, got a string");
  EXPECT_EQ(errorOf("[upstreams.b]\nservers = ['a:1']\n"),
            "demo.toml:2:12: server must be a table, got a string");
  EXPECT_EQ(errorOf("[server]\nlocations = {path = 'a'}\n"),
            "demo.toml:2:13: locations must be an array, got a table");
  EXPECT_EQ(errorOf("[server]\nlocations = ['^/']\n"),
            "demo.toml:2:14: location must be a table, got a string");
  EXPECT_EQ(errorOf("[server]\nport = \"http\"\n"),
            "demo.toml:2:8: port must be a non-negative integer, got a string");
  EXPECT_EQ(errorOf("[[server.locations]]\nlocation = 1\n"),
            "demo.toml:2:12: location must be a string, got an integer");
  EXPECT_EQ(errorOf("[[server.locations]]\nlocation = 'a'\nhttp_pass = true\n"),
            "demo.toml:3:13: http_pass must be a string, got a boolean");
  EXPECT_EQ(errorOf("[[upstreams.b.servers]]\npath = 80\n"),
            "demo.toml:2:8: path must be a string, got an integer");
  EXPECT_EQ(errorOf("[upstreams.b]\nbalancer = 1979-05-27\n"),
            "demo.toml:2:12: balancer must be a string, got a date");
}

TEST(TomlConfigErrors, Numbers) {
  EXPECT_EQ(errorOf("[server]\nport = 70000\n"),
            "demo.toml:2:8: port 70000 out of range (0-65535)");
  EXPECT_EQ(errorOf(withLine("weight = 1.5\n")),
            "demo.toml:8:10: weight must be a non-negative integer, got a float");
  EXPECT_EQ(errorOf(withLine("weight = -1\n")),
            "demo.toml:8:10: weight must be a non-negative integer, got -1");
  EXPECT_EQ(errorOf(withLine("weight = 1000001\n")),
            "demo.toml:8:10: weight 1000001 out of range (0-1000000)");
  EXPECT_EQ(errorOf(withLine("max_fail = \"3\"\n")),
            "demo.toml:8:12: max_fail must be a non-negative integer, got a string");
  EXPECT_EQ(errorOf(withLine("fail_timeout = \"5s\"\n")),
            "demo.toml:8:16: fail_timeout must be a non-negative integer, got a string");
  EXPECT_EQ(errorOf(withLine("fail_timeout = 86401\n")),
            "demo.toml:8:16: fail_timeout 86401 out of range (0-86400)");
  EXPECT_EQ(errorOf("[server]\nworkers = 0\n"), "demo.toml:2:11: workers 0 out of range (1-1024)");
  EXPECT_EQ(errorOf("[server]\nworkers = 'many'\n"),
            "demo.toml:2:11: workers must be 'auto' or an integer (1-1024), got 'many'");
  EXPECT_EQ(errorOf("[server]\nworkers = 1.5\n"),
            "demo.toml:2:11: workers must be 'auto' or an integer (1-1024), got a float");
}

TEST(TomlConfigErrors, Addresses) {
  const auto server = [](std::string_view path) {
    return errorOf("[[upstreams.b.servers]]\npath = \"" + std::string(path) + "\"\n");
  };
  EXPECT_EQ(server("http://a"), "demo.toml:2:8: path 'http://a' has a scheme (expected host:port)");
  EXPECT_EQ(server("a:0"), "demo.toml:2:8: path 'a:0' has an invalid port '0' (expected 1-65535)");
  EXPECT_EQ(server("::1"),
            "demo.toml:2:8: path '::1' needs brackets around its IPv6 address ([::1]:80)");
  EXPECT_EQ(server(""), "demo.toml:2:8: path '' has no host (expected host:port)");
  EXPECT_EQ(server("a b"),
            "demo.toml:2:8: path 'a b' has an invalid host 'a b' (expected a name, an IPv4 or "
            "[IPv6])");
  EXPECT_EQ(errorOf("[server]\naddress = 'localhost'\n"),
            "demo.toml:2:11: address 'localhost' is not an IPv4 or IPv6 literal (listeners do not "
            "resolve names)");
  // Without a port, Gourmet's servers are on port 80.
  const Config config = parsed(withLine("[[upstreams.backend.servers]]\npath = \"[::1]\"\n"));
  EXPECT_EQ(config.upstreams.at(0).servers.at(1).address, "[::1]:80");
  EXPECT_EQ(config.upstreams.at(0).servers.at(1).host, "::1");
}

TEST(TomlConfigErrors, Values) {
  std::string toml(kMinimal);
  toml.replace(toml.find("\"backend\""), 9, "\"backnd\"");
  EXPECT_EQ(errorOf(toml),
            "demo.toml:4:12: location upstream 'backnd' is not defined (upstreams: backend)");
  toml = kMinimal;
  toml.replace(toml.find("/(.*)"), 5, "/(");
  EXPECT_EQ(errorOf(toml), "demo.toml:3:12: invalid regex '/(': missing ): /(");
  toml.replace(toml.find("\"/(\""), 4, "''");
  EXPECT_EQ(errorOf(toml),
            "demo.toml:3:12: location path is empty (use '/(.*)' to match every request)");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "[upstreams.b]\nbalancer = 'rr'\nservers = []\n"),
            fmt::format("demo.toml:9:12: unknown balancer 'rr' (known: {})",
                        fmt::join(balancers::balancerNames(), ", ")));
  EXPECT_EQ(errorOf(std::string(kMinimal) + "[upstreams.b]\nprovider = ''\nservers = []\n"),
            "demo.toml:9:12: provider is empty");
}

TEST(TomlConfigErrors, DocumentShape) {
  const std::string empty =
      "demo.toml:1:1: empty config (expected [upstreams] and [server] tables)";
  EXPECT_EQ(errorOf(""), empty);
  EXPECT_EQ(errorOf("# nothing yet\n"), empty);
  const std::string upstreams(kMinimal.substr(kMinimal.find("[upstreams")));
  EXPECT_EQ(errorOf(upstreams),
            "demo.toml:1:1: no locations: every request would get 404 (add server.locations)");
  EXPECT_EQ(errorOf("[server]\nport = 1\n" + upstreams),
            "demo.toml:1:2: no locations: every request would get 404 (add server.locations)");
  EXPECT_EQ(errorOf("[server]\nlocations = []\n"),
            "demo.toml:2:13: no locations: every request would get 404");
  EXPECT_EQ(errorOf("[server\nport = 1\n"),
            "demo.toml:1:8: invalid TOML: Error while parsing table header: expected ']', saw "
            "'\\n'");
  EXPECT_EQ(errorOf("[server]\nport = 1\nport = 2\n"),
            "demo.toml:3:8: invalid TOML: Error while parsing key-value pair: cannot redefine "
            "existing integer 'port'");
}

// The path of a file in the source tree: __FILE__ is relative to the build
// directory (two levels above this binary) or absolute.
std::filesystem::path sourceFile(const std::filesystem::path& relative) {
  std::filesystem::path here = __FILE__;
  if (here.is_relative()) {
    here = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / here;
  }
  return here.parent_path().parent_path().parent_path().parent_path() / relative;
}

TEST(TomlConfig, ReadmeExampleRoutesAsGourmetWould) {
  auto config = loadTomlConfig(sourceFile("configs/gourmet-readme.toml"));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->server.port, 8080);
  EXPECT_EQ(config->upstreams.at(0).servers.at(0).address, "127.0.0.1:9001");
  EXPECT_EQ(config->upstreams.at(0).servers.at(0).weight, 5u);
  EXPECT_EQ(config->upstreams.at(1).servers.at(0).weight, 2u);

  std::vector<Route> routes;
  for (const LocationConfig& location : config->server.locations) {
    auto cluster =
        static_cast<uint32_t>(config->findUpstream(location.upstream) - config->upstreams.data());
    auto route = RouteTable::compile(location, cluster);
    ASSERT_TRUE(route) << route.error().message;
    routes.push_back(std::move(*route));
  }
  const RouteTable table(std::move(routes));
  const Router router(table, nullptr);
  std::string forwarded;
  std::string scratch;
  const Route* api = router.match("example.com", "/api/users/", forwarded, scratch);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(config->upstreams.at(api->cluster).name, "backend");
  // "example.com/api/users/" ~ api/.+[/] matches "api/users/"; no group: "/" + whole match.
  EXPECT_EQ(forwarded, "/api/users/");
  const Route* front = router.match("example.com", "/static/img/", forwarded, scratch);
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(config->upstreams.at(front->cluster).name, "front");
  EXPECT_EQ(forwarded, "/static/img/");
  EXPECT_EQ(router.match("example.com", "/other", forwarded, scratch), nullptr);
}

std::string writeTemp(std::string_view suffix, std::string_view text) {
  std::string path = "/tmp/gourmet_config_toml_test_XXXXXX" + std::string(suffix);
  const int fd = mkstemps(path.data(), static_cast<int>(suffix.size()));
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

TEST(LoadTomlConfig, ReadsTheFileOrSaysWhy) {
  EXPECT_EQ(loadTomlConfig("/nonexistent/gourmet.toml").error().message,
            "/nonexistent/gourmet.toml: cannot read: No such file or directory");
  const std::string path = writeTemp(".toml", kMinimal);
  auto config = loadTomlConfig(path);
  std::remove(path.c_str());
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->file, path);
  EXPECT_EQ(config->server.locations.at(0).pattern_pos.file, path);
}

TEST(LoadConfig, PicksTheLoaderByExtensionOrContent) {
  EXPECT_EQ(detectConfigFormat("a.toml", ""), ConfigFormat::kToml);
  EXPECT_EQ(detectConfigFormat("A.TOML", "server:\n"), ConfigFormat::kToml);
  EXPECT_EQ(detectConfigFormat("a.yaml", "[server]\n"), ConfigFormat::kYaml);
  EXPECT_EQ(detectConfigFormat("a.yml", "[server]\n"), ConfigFormat::kYaml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", "# hi\n\n  [upstreams.a]\n"), ConfigFormat::kToml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", "[[server.locations]]\n"), ConfigFormat::kToml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", "port = 80\n"), ConfigFormat::kToml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", "# hi\nserver:\n  port: 80\n"), ConfigFormat::kYaml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", "[a, b]\n"), ConfigFormat::kYaml);
  EXPECT_EQ(detectConfigFormat("gourmet.conf", ""), ConfigFormat::kYaml);

  const std::string toml = writeTemp(".conf", kMinimal);
  auto from_toml = loadConfig(toml);
  std::remove(toml.c_str());
  ASSERT_TRUE(from_toml) << from_toml.error().message;
  EXPECT_EQ(from_toml->server.locations.at(0).match, MatchTarget::kHostAndPath);

  const std::string yaml = writeTemp(".yml",
                                     "server:\n  locations: [{path: ^/, upstream: b}]\n"
                                     "upstreams: {b: {servers: [{path: 'a:1'}]}}\n");
  auto from_yaml = loadConfig(yaml);
  std::remove(yaml.c_str());
  ASSERT_TRUE(from_yaml) << from_yaml.error().message;
  EXPECT_EQ(from_yaml->server.locations.at(0).match, MatchTarget::kPath);

  EXPECT_EQ(loadConfig("/nonexistent/gourmet").error().message,
            "/nonexistent/gourmet: cannot read: No such file or directory");
}

}  // namespace
}  // namespace gourmet::core
