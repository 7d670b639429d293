#include "core/config_yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "core/config_yaml_resilience.h"
#include "core/yaml_reader.h"

namespace gourmet::core {
namespace {

constexpr std::string_view kTopKeys[] = {"server", "upstreams"};
constexpr std::string_view kServerSectionKeys[] = {"address",
                                                   "port",
                                                   "workers",
                                                   "accept_balance",
                                                   "access_log",
                                                   "client_header_timeout",
                                                   "client_idle_timeout",
                                                   "client_body_timeout",
                                                   "client_send_timeout",
                                                   "drain_timeout",
                                                   "merge_slashes",
                                                   "x_forwarded_for",
                                                   "limits",
                                                   "error_pages",
                                                   "locations"};
constexpr std::string_view kLocationKeys[] = {"path",          "location",   "upstream",
                                              "http_pass",     "rewrite",    "match",
                                              "max_body_size", "error_pages"};
constexpr std::string_view kLimitsKeys[] = {"max_request_line", "max_header_bytes", "max_headers",
                                            "max_body_size", "max_connections"};
constexpr std::string_view kUpstreamKeys[] = {
    "balancer",       "hash_on",         "choice_count",      "active_request_bias",
    "decay",          "default_rtt",     "table_size",        "slow_start",
    "provider",       "connect_timeout", "response_timeout",  "keepalive_timeout",
    "keepalive",      "servers",         "outlier_detection", "health_check",
    "retries",        "max_connections", "max_pending",       "max_requests",
    "panic_threshold"};
constexpr std::string_view kSlowStartKeys[] = {"window", "aggression", "min_weight_percent"};
constexpr std::string_view kServerKeys[] = {"path", "address", "weight", "max_fail",
                                            "fail_timeout"};
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Builds a Config from the document root. Each method returns the first
// problem of shape or type it meets, in file order; validateConfig then checks
// what the values mean (names, regexes, references).
class Loader {
 public:
  explicit Loader(const std::string& file) : in_(file) {}

  Result<Config> load(const YAML::Node& root) {
    auto top = in_.map(root, "top level", kTopKeys);
    if (!top) return tl::unexpected(top.error());
    Config config;
    config.file = in_.file();
    config.server.pos = in_.pos(root);  // where "no locations" points without a server section
    if (const YamlEntry* server = top->find("server")) {
      auto section = readServerSection(*server);
      if (!section) return tl::unexpected(section.error());
      config.server = std::move(*section);
    }
    if (const YamlEntry* upstreams = top->find("upstreams")) {
      auto read = readUpstreams(*upstreams);
      if (!read) return tl::unexpected(read.error());
      config.upstreams = std::move(*read);
    }
    if (auto valid = validateConfig(config); !valid) return tl::unexpected(valid.error());
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
      if (entry.key == "accept_balance") done = setAcceptBalance(entry, server.accept_balance);
      if (entry.key == "access_log") done = in_.setString(entry, server.access_log);
      // 0 would time out every request head at once (as for the next ones).
      if (entry.key == "client_header_timeout") {
        done = in_.setPositiveDuration(entry, server.client_header_timeout);
      }
      if (entry.key == "client_idle_timeout")
        done = in_.setDuration(entry, server.client_idle_timeout);
      if (entry.key == "drain_timeout") done = in_.setDuration(entry, server.drain_timeout);
      // 0 would time out every request body at once.
      if (entry.key == "client_body_timeout") {
        done = in_.setPositiveDuration(entry, server.client_body_timeout);
      }
      // 0 would close every client with a response still being written.
      if (entry.key == "client_send_timeout") {
        done = in_.setPositiveDuration(entry, server.client_send_timeout);
      }
      if (entry.key == "merge_slashes") done = in_.setBool(entry, server.merge_slashes);
      if (entry.key == "x_forwarded_for") done = setForwardedFor(entry, server.x_forwarded_for);
      if (entry.key == "limits") done = readLimits(entry, server.limits);
      if (entry.key == "error_pages") done = readErrorPages(in_, entry, server.error_pages);
      if (entry.key == "locations") done = readLocations(entry, server.locations);
      if (!done) return tl::unexpected(done.error());
    }
    return server;
  }

  Result<void> readLimits(const YamlEntry& section, ServerLimits& limits) const {
    auto map = in_.map(section, "limits", kLimitsKeys);
    if (!map) return tl::unexpected(map.error());
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "max_request_line") {
        done = in_.setSize(entry, 1, kMaxRequestLine, limits.max_request_line);
      }
      if (entry.key == "max_header_bytes") {
        done = in_.setSize(entry, 1, kMaxHeaderBytes, limits.max_header_bytes);
      }
      if (entry.key == "max_headers") {
        done = in_.setInteger(entry, 1, kMaxHeaders, limits.max_headers);
      }
      if (entry.key == "max_body_size") {
        done = in_.setSize(entry, 0, kMaxBodySize, limits.max_body_size);
      }
      if (entry.key == "max_connections") {
        done = in_.setInteger(entry, 0, kMaxConnections, limits.max_connections);
      }
      if (!done) return done;
    }
    return {};
  }

  Result<void> setListenAddress(const YamlEntry& entry, std::string& out) const {
    std::string text;
    if (auto done = in_.setString(entry, text); !done) return done;
    auto address = parseListenAddress(text, in_.pos(entry));
    if (!address) return tl::unexpected(address.error());
    out = std::move(*address);
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
    if (entry.value.size() == 0) {
      return in_.error(in_.pos(entry), "no locations: every request would get 404");
    }
    for (const YAML::Node& node : entry.value) {
      auto location = readLocation(node);
      if (!location) return tl::unexpected(location.error());
      out.push_back(std::move(*location));
    }
    return {};
  }

  // Patterns, rewrites and upstream names are checked by validateConfig.
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
      location.rewrite = std::move(text);
    }
    if (const YamlEntry* match = map->find("match")) {
      if (auto done = setMatch(*match, location); !done) return tl::unexpected(done.error());
    }
    if (const YamlEntry* size = map->find("max_body_size")) {
      uint64_t value = 0;
      if (auto done = in_.setSize(*size, 0, kMaxBodySize, value); !done) {
        return tl::unexpected(done.error());
      }
      location.max_body_size = value;
    }
    if (const YamlEntry* pages = map->find("error_pages")) {
      if (auto done = readErrorPages(in_, *pages, location.error_pages); !done) {
        return tl::unexpected(done.error());
      }
    }
    return location;
  }

  Result<void> setAcceptBalance(const YamlEntry& entry, AcceptBalance& out) const {
    std::string text;
    if (auto done = in_.setString(entry, text); !done) return done;
    for (AcceptBalance balance : {AcceptBalance::kKernel, AcceptBalance::kLeastLoaded}) {
      if (text == acceptBalanceName(balance)) {
        out = balance;
        return {};
      }
    }
    return in_.error(
        in_.pos(entry),
        fmt::format("accept_balance must be 'kernel' or 'least_loaded', got '{}'", text));
  }

  // YAML 1.2's core schema spellings only: "yes"/"on" are YAML 1.1 and
  // read as strings by most other tools, so they are refused here.
  Result<void> setForwardedFor(const YamlEntry& entry, ForwardedFor& out) const {
    std::string text;
    if (auto done = in_.setString(entry, text); !done) return done;
    for (ForwardedFor mode : {ForwardedFor::kAppend, ForwardedFor::kReplace}) {
      if (text == forwardedForName(mode)) {
        out = mode;
        return {};
      }
    }
    return in_.error(in_.pos(entry),
                     fmt::format("x_forwarded_for must be 'append' or 'replace', got '{}'", text));
  }

  // `path`: the regex sees the path; `gourmet`: Gourmet's rules (host+path,
  // forwarded path = "/" + last capture group).
  Result<void> setMatch(const YamlEntry& entry, LocationConfig& location) const {
    std::string text;
    if (auto done = in_.setString(entry, text); !done) return done;
    if (text == "gourmet") {
      location.match = MatchTarget::kHostAndPath;
      location.rewrite_to_last_group = true;
    } else if (text != "path") {
      return in_.error(in_.pos(entry),
                       fmt::format("match must be 'path' or 'gourmet', got '{}'", text));
    }
    return {};
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
    upstream.pos = upstream.balancer_pos = upstream.provider_pos = upstream.hash_on_pos =
        in_.pos(named.key_node);
    const std::string what = fmt::format("upstream '{}'", upstream.name);
    auto map = in_.map(named, what, kUpstreamKeys);
    if (!map) return tl::unexpected(map.error());
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "balancer") {
        done = in_.setString(entry, upstream.balancer);
        upstream.balancer_pos = in_.pos(entry);
      }
      if (entry.key == "hash_on") done = setHashOn(entry, upstream);
      // Every balancer accepts every parameter (see UpstreamConfig).
      balancers::BalancerParams& params = upstream.balancer_params;
      if (entry.key == "choice_count") {
        done = in_.setInteger(entry, 1, kMaxChoiceCount, params.choice_count);
      }
      if (entry.key == "active_request_bias") {
        done = in_.setNumber(entry, 0, kInfinity, params.active_request_bias);
      }
      if (entry.key == "decay") done = in_.setPositiveDuration(entry, params.decay);
      if (entry.key == "default_rtt") done = in_.setPositiveDuration(entry, params.default_rtt);
      if (entry.key == "table_size") done = setTableSize(entry, params.table_size);
      if (entry.key == "slow_start") done = readSlowStart(entry, upstream.slow_start);
      if (entry.key == "provider") {
        done = in_.setString(entry, upstream.provider);
        upstream.provider_pos = in_.pos(entry);
      }
      // 0 would fail every connect, or every response, at once.
      if (entry.key == "connect_timeout") {
        done = in_.setPositiveDuration(entry, upstream.connect_timeout);
      }
      if (entry.key == "response_timeout") {
        done = in_.setPositiveDuration(entry, upstream.response_timeout);
      }
      if (entry.key == "keepalive_timeout")
        done = in_.setDuration(entry, upstream.keepalive_timeout);
      if (entry.key == "keepalive")
        done = in_.setInteger(entry, 0, kMaxKeepalive, upstream.keepalive);
      if (entry.key == "servers") done = readServers(entry, upstream);
      if (entry.key == "outlier_detection") {
        done = readOutlierDetection(in_, entry, upstream.outlier_detection);
      }
      if (entry.key == "health_check") done = readHealthCheck(in_, entry, upstream.health_check);
      if (entry.key == "retries") done = readRetries(in_, entry, upstream.retries);
      CircuitBreakerConfig& limits = upstream.limits;
      if (entry.key == "max_connections") {
        done = in_.setInteger(entry, 0, kMaxCircuitLimit, limits.max_connections);
      }
      if (entry.key == "max_pending") {
        done = in_.setInteger(entry, 0, kMaxCircuitLimit, limits.max_pending);
      }
      if (entry.key == "max_requests") {
        done = in_.setInteger(entry, 0, kMaxCircuitLimit, limits.max_requests);
      }
      if (entry.key == "panic_threshold") {
        done = in_.setInteger(entry, 0, 100, upstream.panic_threshold);
      }
      if (!done) return tl::unexpected(done.error());
    }
    if (map->find("servers") == nullptr) {
      return in_.error(upstream.pos, fmt::format("{} has no servers (add servers: [...])", what));
    }
    return upstream;
  }

  // What hash_on means, and whether the balancer uses it, is for
  // validateConfig; only an explicit "" is refused here ("" means none).
  Result<void> setHashOn(const YamlEntry& entry, UpstreamConfig& upstream) const {
    if (auto done = in_.setString(entry, upstream.hash_on); !done) return done;
    upstream.hash_on_pos = in_.pos(entry);
    if (upstream.hash_on.empty()) {
      return in_.error(upstream.hash_on_pos,
                       fmt::format("invalid hash_on '' (expected {})", kHashOnForms));
    }
    return {};
  }

  Result<void> setTableSize(const YamlEntry& entry, uint32_t& out) const {
    uint32_t size = 0;
    if (auto done = in_.setInteger(entry, kMinTableSize, kMaxTableSize, size); !done) return done;
    if (!isPrime(size)) {
      return in_.error(in_.pos(entry), fmt::format("table_size {} is not a prime", size));
    }
    out = size;
    return {};
  }

  Result<void> readSlowStart(const YamlEntry& section, balancers::SlowStart& out) const {
    auto map = in_.map(section, "slow_start", kSlowStartKeys);
    if (!map) return tl::unexpected(map.error());
    balancers::SlowStart slow_start;
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "window") done = in_.setDuration(entry, slow_start.window);
      if (entry.key == "aggression") done = in_.setPositiveNumber(entry, slow_start.aggression);
      if (entry.key == "min_weight_percent") {
        done = in_.setNumber(entry, 0, 100, slow_start.min_weight_percent);
      }
      if (!done) return done;
    }
    out = slow_start;
    return {};
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
    std::string text;
    if (auto done = in_.setString(**address, text); !done) return tl::unexpected(done.error());
    if (auto done = setServerAddress((*address)->key, text, 0, server); !done) {
      return tl::unexpected(done.error());
    }
    for (const YamlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "weight") done = in_.setInteger(entry, 0, kMaxWeight, server.weight);
      if (entry.key == "max_fail") done = in_.setInteger(entry, 0, kMaxMaxFail, server.max_fail);
      if (entry.key == "fail_timeout") done = in_.setDuration(entry, server.fail_timeout);
      if (!done) return tl::unexpected(done.error());
    }
    return server;
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
  auto text = readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  return parseYamlConfig(*text, path);
}

}  // namespace gourmet::core
