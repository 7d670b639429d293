#include "core/config_yaml.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "balancers/registry.h"
#include "core/yaml_reader.h"

namespace gourmet::core {
namespace {

constexpr std::string_view kTopKeys[] = {"server", "upstreams"};
constexpr std::string_view kServerSectionKeys[] = {
    "address",  "port", "workers", "access_log", "client_header_timeout", "client_idle_timeout",
    "locations"};
constexpr std::string_view kLocationKeys[] = {"path", "location", "upstream", "http_pass",
                                              "rewrite"};
constexpr std::string_view kUpstreamKeys[] = {
    "balancer",          "provider",  "connect_timeout", "response_timeout",
    "keepalive_timeout", "keepalive", "servers"};
constexpr std::string_view kServerKeys[] = {"path", "address", "weight", "max_fail",
                                            "fail_timeout"};

constexpr int64_t kMaxWorkers = 1024;
// Generous bounds that still catch a typo'd extra digit or two and keep sums
// of weights far from overflowing in the balancers.
constexpr int64_t kMaxWeight = 1'000'000;
constexpr int64_t kMaxMaxFail = 1'000'000;
constexpr int64_t kMaxKeepalive = 1'000'000;

constexpr std::string_view kNoLocations = "no locations: every request would get 404";

bool isIpLiteral(const std::string& text, int family) {
  unsigned char buffer[16];
  return inet_pton(family, text.c_str(), buffer) == 1;
}

// A host name or IPv4 literal as a server's host (resolved later, off the
// loader). Just the characters that can appear in either.
bool isHostName(std::string_view host) {
  if (host.empty() || host.front() == '-' || host.front() == '.') return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Builds a Config from the document root. Each method returns the first
// problem it meets; entries are visited in file order.
class Loader {
 public:
  explicit Loader(const std::string& file) : in_(file) {}

  Result<Config> load(const YAML::Node& root) {
    auto top = in_.map(root, "top level", kTopKeys);
    if (!top) return tl::unexpected(top.error());
    Config config;
    config.file = in_.file();
    const YamlEntry* server = top->find("server");
    if (server != nullptr) {
      auto section = readServerSection(*server);
      if (!section) return tl::unexpected(section.error());
      config.server = std::move(*section);
    }
    if (const YamlEntry* upstreams = top->find("upstreams")) {
      auto read = readUpstreams(*upstreams);
      if (!read) return tl::unexpected(read.error());
      config.upstreams = std::move(*read);
    }
    if (server == nullptr) {
      return in_.error(in_.pos(root), fmt::format("{} (add server.locations)", kNoLocations));
    }
    for (const LocationConfig& location : config.server.locations) {
      if (config.findUpstream(location.upstream) == nullptr) {
        return in_.error(location.upstream_pos, undefinedUpstream(location.upstream, config));
      }
    }
    return config;
  }

 private:
  Result<ServerSection> readServerSection(const YamlEntry& section) const {
    auto map = in_.map(section, "server section", kServerSectionKeys);
    if (!map) return tl::unexpected(map.error());
    ServerSection server;
    server.pos = in_.pos(section.key_node);
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "address") done = setListenAddress(entry, server.address);
      if (entry.key == "port") done = in_.setInteger(entry, 0, 65535, server.port);
      if (entry.key == "workers") done = setWorkers(entry, server.workers);
      if (entry.key == "access_log") done = in_.setString(entry, server.access_log);
      if (entry.key == "client_header_timeout") {
        done = in_.setDuration(entry, server.client_header_timeout);
      }
      if (entry.key == "client_idle_timeout")
        done = in_.setDuration(entry, server.client_idle_timeout);
      if (entry.key == "locations") done = readLocations(entry, server.locations);
      if (!done) return tl::unexpected(done.error());
    }
    if (server.locations.empty()) {
      return in_.error(server.pos, fmt::format("{} (add server.locations)", kNoLocations));
    }
    return server;
  }

  // Listeners bind literals only: resolving a name at start-up would make the
  // bound address depend on DNS and /etc/hosts of the moment.
  Result<void> setListenAddress(const YamlEntry& entry, std::string& out) const {
    std::string text;
    if (auto done = in_.setString(entry, text); !done) return done;
    std::string address = text;
    if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
      address = address.substr(1, address.size() - 2);
    }
    if (!isIpLiteral(address, AF_INET) && !isIpLiteral(address, AF_INET6)) {
      return in_.error(in_.pos(entry),
                       fmt::format("address '{}' is not an IPv4 or IPv6 literal (listeners do "
                                   "not resolve names)",
                                   text));
    }
    out = std::move(address);
    return {};
  }

  Result<void> setWorkers(const YamlEntry& entry, uint32_t& out) const {
    const std::string& text = entry.value.Scalar();  // "" for a non-scalar
    if (entry.value.IsScalar() && text == "auto") {
      out = 0;
      return {};
    }
    if (!entry.value.IsScalar() || text.empty() ||
        text.find_first_not_of("-0123456789") != std::string::npos) {
      const std::string got = entry.value.IsScalar() ? fmt::format("'{}'", text)
                                                     : std::string(describeKind(entry.value));
      return in_.error(
          in_.pos(entry),
          fmt::format("workers must be 'auto' or an integer (1-{}), got {}", kMaxWorkers, got));
    }
    return in_.setInteger(entry, 1, kMaxWorkers, out);
  }

  Result<void> readLocations(const YamlEntry& entry, std::vector<LocationConfig>& out) const {
    if (auto sequence = in_.expectSequence(entry); !sequence) return sequence;
    if (entry.value.size() == 0) return in_.error(in_.pos(entry), kNoLocations);
    for (const YAML::Node& node : entry.value) {
      auto location = readLocation(node);
      if (!location) return tl::unexpected(location.error());
      out.push_back(std::move(*location));
    }
    return {};
  }

  Result<LocationConfig> readLocation(const YAML::Node& node) const {
    auto map = in_.map(node, "location", kLocationKeys);
    if (!map) return tl::unexpected(map.error());
    LocationConfig location;
    location.pos = in_.pos(node);
    location.pattern_pos = location.upstream_pos = location.rewrite_pos = location.pos;

    auto path = in_.findEither(*map, "location", "path", "location");
    if (!path) return tl::unexpected(path.error());
    if (*path == nullptr) return in_.error(location.pos, "location has no path (add path: REGEX)");
    if (auto done = in_.setString(**path, location.pattern); !done)
      return tl::unexpected(done.error());
    location.pattern_pos = in_.pos(**path);
    if (location.pattern.empty()) {
      return in_.error(
          location.pattern_pos,
          fmt::format("location {} is empty (use '^/' to match every path)", (*path)->key));
    }
    RE2 regex(location.pattern, RE2::Quiet);
    if (!regex.ok()) {
      return in_.error(location.pattern_pos,
                       fmt::format("invalid regex '{}': {}", location.pattern, regex.error()));
    }

    auto upstream = in_.findEither(*map, "location", "upstream", "http_pass");
    if (!upstream) return tl::unexpected(upstream.error());
    if (*upstream == nullptr) {
      return in_.error(
          location.pos,
          fmt::format("location '{}' has no upstream (add upstream: NAME)", location.pattern));
    }
    if (auto done = in_.setString(**upstream, location.upstream); !done) {
      return tl::unexpected(done.error());
    }
    location.upstream_pos = in_.pos(**upstream);

    if (const YamlEntry* rewrite = map->find("rewrite")) {
      std::string text;
      if (auto done = in_.setString(*rewrite, text); !done) return tl::unexpected(done.error());
      location.rewrite_pos = in_.pos(*rewrite);
      std::string why;
      if (!regex.CheckRewriteString(text, &why)) {
        return in_.error(
            location.rewrite_pos,
            fmt::format("invalid rewrite '{}' for regex '{}': {}", text, location.pattern, why));
      }
      location.rewrite = std::move(text);
    }
    return location;
  }

  Result<std::vector<UpstreamConfig>> readUpstreams(const YamlEntry& entry) const {
    auto map = in_.mapOfNames(entry, "upstreams");
    if (!map) return tl::unexpected(map.error());
    std::vector<UpstreamConfig> upstreams;
    for (const YamlEntry& named : map->entries) {
      auto upstream = readUpstream(named);
      if (!upstream) return tl::unexpected(upstream.error());
      upstreams.push_back(std::move(*upstream));
    }
    return upstreams;
  }

  Result<UpstreamConfig> readUpstream(const YamlEntry& named) const {
    UpstreamConfig upstream;
    upstream.name = named.key;
    upstream.pos = upstream.balancer_pos = upstream.provider_pos = in_.pos(named.key_node);
    if (upstream.name.empty()) return in_.error(upstream.pos, "upstream name is empty");
    const std::string what = fmt::format("upstream '{}'", upstream.name);
    auto map = in_.map(named, what, kUpstreamKeys);
    if (!map) return tl::unexpected(map.error());
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "balancer") done = setBalancer(entry, upstream);
      if (entry.key == "provider") {
        done = in_.setString(entry, upstream.provider);
        upstream.provider_pos = in_.pos(entry);
        if (done && upstream.provider.empty())
          done = in_.error(upstream.provider_pos, "provider is empty");
      }
      if (entry.key == "connect_timeout") done = in_.setDuration(entry, upstream.connect_timeout);
      if (entry.key == "response_timeout") done = in_.setDuration(entry, upstream.response_timeout);
      if (entry.key == "keepalive_timeout")
        done = in_.setDuration(entry, upstream.keepalive_timeout);
      if (entry.key == "keepalive")
        done = in_.setInteger(entry, 0, kMaxKeepalive, upstream.keepalive);
      if (entry.key == "servers") done = readServers(entry, upstream);
      if (!done) return tl::unexpected(done.error());
    }
    if (map->find("servers") == nullptr) {
      return in_.error(upstream.pos, fmt::format("{} has no servers (add servers: [...])", what));
    }
    return upstream;
  }

  Result<void> setBalancer(const YamlEntry& entry, UpstreamConfig& upstream) const {
    if (auto done = in_.setString(entry, upstream.balancer); !done) return done;
    upstream.balancer_pos = in_.pos(entry);
    if (balancers::findBalancer(upstream.balancer) != nullptr) return {};
    return in_.error(upstream.balancer_pos,
                     fmt::format("unknown balancer '{}' (known: {})", upstream.balancer,
                                 fmt::join(balancers::balancerNames(), ", ")));
  }

  Result<void> readServers(const YamlEntry& entry, UpstreamConfig& upstream) const {
    if (auto sequence = in_.expectSequence(entry); !sequence) return sequence;
    if (entry.value.size() == 0) {
      return in_.error(in_.pos(entry), fmt::format("upstream '{}' has no servers", upstream.name));
    }
    for (const YAML::Node& node : entry.value) {
      auto server = readServer(node);
      if (!server) return tl::unexpected(server.error());
      upstream.servers.push_back(std::move(*server));
    }
    return {};
  }

  Result<ServerConfig> readServer(const YAML::Node& node) const {
    auto map = in_.map(node, "server", kServerKeys);
    if (!map) return tl::unexpected(map.error());
    ServerConfig server;
    auto address = in_.findEither(*map, "server", "path", "address");
    if (!address) return tl::unexpected(address.error());
    if (*address == nullptr)
      return in_.error(in_.pos(node), "server has no path (add path: HOST:PORT)");
    server.pos = in_.pos(**address);
    if (auto done = setHostPort(**address, server); !done) return tl::unexpected(done.error());
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "weight") done = in_.setInteger(entry, 0, kMaxWeight, server.weight);
      if (entry.key == "max_fail") done = in_.setInteger(entry, 0, kMaxMaxFail, server.max_fail);
      if (entry.key == "fail_timeout") done = in_.setDuration(entry, server.fail_timeout);
      if (!done) return tl::unexpected(done.error());
    }
    return server;
  }

  // "host:port" where host is a name, an IPv4 literal or a bracketed IPv6
  // literal; the brackets are dropped from `host` (resolvers take it bare).
  Result<void> setHostPort(const YamlEntry& entry, ServerConfig& server) const {
    if (auto done = in_.setString(entry, server.address); !done) return done;
    const std::string& text = server.address;
    const auto bad = [&](std::string_view why) {
      return in_.error(server.pos, fmt::format("{} '{}' {}", entry.key, text, why));
    };
    if (text.find("://") != std::string::npos) return bad("has a scheme (expected host:port)");
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return bad("has no port (expected host:port)");
    std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
      if (host.size() < 2 || host.back() != ']') return bad("has an unclosed '['");
      host = host.substr(1, host.size() - 2);
      if (!isIpLiteral(host, AF_INET6)) {
        return bad(fmt::format("has an invalid IPv6 address '{}'", host));
      }
    } else if (host.find(':') != std::string::npos) {
      return bad("needs brackets around its IPv6 address ([::1]:80)");
    } else if (host.empty()) {
      return bad("has no host (expected host:port)");
    } else if (!isHostName(host)) {
      return bad(
          fmt::format("has an invalid host '{}' (expected a name, an IPv4 or [IPv6])", host));
    }
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return bad(fmt::format("has an invalid port '{}' (expected 1-65535)", port));
    }
    server.host = std::move(host);
    server.port = static_cast<uint16_t>(value);
    return {};
  }

  static std::string undefinedUpstream(const std::string& name, const Config& config) {
    if (config.upstreams.empty()) {
      return fmt::format("location upstream '{}' is not defined (no upstreams are defined)", name);
    }
    std::vector<std::string_view> names;
    for (const UpstreamConfig& upstream : config.upstreams) names.push_back(upstream.name);
    return fmt::format("location upstream '{}' is not defined (upstreams: {})", name,
                       fmt::join(names, ", "));
  }

  YamlReader in_;
};

}  // namespace

Result<Config> parseYamlConfig(std::string_view text, const std::string& file) {
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.empty() || (documents.size() == 1 && documents[0].IsNull())) {
      return fail(
          fmt::format("{}:1:1: empty config (expected a map with server and upstreams)", file));
    }
    if (documents.size() > 1) {
      const YamlReader in(file);
      return in.error(in.pos(documents[1]), "more than one YAML document (one config per file)");
    }
    return Loader(file).load(documents[0]);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and a safety net: yaml-cpp must not leave the loader.
    return fail(fmt::format("{}:{}:{}: invalid YAML: {}", file, std::max(e.mark.line, 0) + 1,
                            std::max(e.mark.column, 0) + 1, e.msg));
  }
}

Result<Config> loadYamlConfig(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return fail(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::string text;
  char buffer[16384];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, in.get())) > 0) text.append(buffer, got);
  // fread sets errno on failure (EISDIR for a directory).
  if (std::ferror(in.get()))
    return fail(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  return parseYamlConfig(text, path);
}

}  // namespace gourmet::core
