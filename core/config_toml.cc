#include "core/config_toml.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace gourmet::core {
namespace {

constexpr std::string_view kTopKeys[] = {"upstreams", "server"};
constexpr std::string_view kServerSectionKeys[] = {"port", "address", "workers", "locations"};
constexpr std::string_view kLocationKeys[] = {"location", "upstream", "path", "http_pass"};
constexpr std::string_view kUpstreamKeys[] = {"balancer", "provider", "servers"};
constexpr std::string_view kServerKeys[] = {"path", "weight", "max_fail", "fail_timeout"};

// Gourmet writes servers without a port and connects to them over plain HTTP.
constexpr uint16_t kGourmetServerPort = 80;
constexpr uint32_t kGourmetMaxFail = 10;  // failures within fail_timeout (1 s)
// fail_timeout is whole seconds in Gourmet's format; a day is plenty.
constexpr int64_t kMaxFailTimeoutSeconds = 86'400;

std::string_view describeKind(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// One key of a checked table, in file order (toml++ sorts keys by name).
struct TomlEntry {
  std::string key;
  SourcePos key_pos;
  SourcePos pos;  // the value's
  const toml::node* value = nullptr;
};

struct TomlTable {
  SourcePos pos;
  std::vector<TomlEntry> entries;

  const TomlEntry* find(std::string_view key) const {
    for (const TomlEntry& entry : entries) {
      if (entry.key == key) return &entry;
    }
    return nullptr;
  }
};

bool before(const TomlEntry& a, const TomlEntry& b) {
  return std::pair(a.key_pos.line, a.key_pos.column) < std::pair(b.key_pos.line, b.key_pos.column);
}

// Builds a Config from the document. Each method returns the first problem
// of shape or type it meets, in file order; validateConfig then checks what
// the values mean (names, regexes, references), as for YAML.
class Loader {
 public:
  explicit Loader(const std::string& file) : file_(file) {}

  Result<Config> load(const toml::table& root) {
    if (root.empty()) {
      return fail(
          fmt::format("{}:1:1: empty config (expected [upstreams] and [server] tables)", file_));
    }
    auto top = table(root, SourcePos{file_, 1, 1}, "top level", kTopKeys);
    if (!top) return tl::unexpected(top.error());
    Config config;
    config.file = file_;
    config.server.pos = SourcePos{file_, 1, 1};  // where "no locations" points without [server]
    if (const TomlEntry* server = top->find("server")) {
      auto done = readServerSection(*server, config.server);
      if (!done) return tl::unexpected(done.error());
    }
    if (const TomlEntry* upstreams = top->find("upstreams")) {
      auto names = table(*upstreams, "upstreams", {});
      if (!names) return tl::unexpected(names.error());
      for (const TomlEntry& named : names->entries) {
        auto upstream = readUpstream(named);
        if (!upstream) return tl::unexpected(upstream.error());
        config.upstreams.push_back(std::move(*upstream));
      }
    }
    if (auto valid = validateConfig(config); !valid) return tl::unexpected(valid.error());
    return config;
  }

 private:
  SourcePos pos(const toml::source_region& source) const {
    return SourcePos{file_, static_cast<int>(source.begin.line),
                     static_cast<int>(source.begin.column)};
  }

  tl::unexpected<Error> error(const SourcePos& at, std::string_view message) const {
    return fail(at.prefix() + std::string(message));
  }

  // `what` names the table in messages; an empty `allowed` allows any key
  // (tables of names chosen by the operator).
  Result<TomlTable> table(const toml::node& node, const SourcePos& at, std::string_view what,
                          std::span<const std::string_view> allowed) const {
    const toml::table* map = node.as_table();
    if (map == nullptr) {
      return error(at, fmt::format("{} must be a table, got {}", what, describeKind(node)));
    }
    TomlTable result{pos(node.source()), {}};
    for (auto&& [key, value] : *map) {
      TomlEntry entry{std::string(key.str()), pos(key.source()), pos(value.source()), &value};
      if (!allowed.empty() &&
          std::find(allowed.begin(), allowed.end(), entry.key) == allowed.end()) {
        return error(entry.key_pos, fmt::format("unknown key '{}' in {} (allowed: {})", entry.key,
                                                what, fmt::join(allowed, ", ")));
      }
      result.entries.push_back(std::move(entry));
    }
    std::sort(result.entries.begin(), result.entries.end(), before);
    return result;
  }

  Result<TomlTable> table(const TomlEntry& entry, std::string_view what,
                          std::span<const std::string_view> allowed) const {
    return table(*entry.value, entry.pos, what, allowed);
  }

  // The entry for `key` or for its `alias`; an error if both are present.
  Result<const TomlEntry*> findEither(const TomlTable& table, std::string_view what,
                                      std::string_view key, std::string_view alias) const {
    const TomlEntry* a = table.find(key);
    const TomlEntry* b = table.find(alias);
    if (a != nullptr && b != nullptr) {
      return error(std::max(a, b, [](auto* x, auto* y) { return before(*x, *y); })->key_pos,
                   fmt::format("{} has both '{}' and '{}' (aliases of one setting: keep one)", what,
                               key, alias));
    }
    return a != nullptr ? a : b;
  }

  Result<std::string> string(const TomlEntry& entry) const {
    if (const auto* value = entry.value->as_string()) return value->get();
    return error(entry.pos,
                 fmt::format("{} must be a string, got {}", entry.key, describeKind(*entry.value)));
  }

  Result<const toml::array*> array(const TomlEntry& entry) const {
    if (const auto* value = entry.value->as_array()) return value;
    return error(entry.pos,
                 fmt::format("{} must be an array, got {}", entry.key, describeKind(*entry.value)));
  }

  template <class T>
  Result<void> setInteger(const TomlEntry& entry, int64_t min, int64_t max, T& out) const {
    const std::string_view expected = min == 0 ? "a non-negative integer" : "an integer";
    const auto* value = entry.value->as_integer();
    if (value == nullptr) {
      return error(entry.pos, fmt::format("{} must be {}, got {}", entry.key, expected,
                                          describeKind(*entry.value)));
    }
    const int64_t number = value->get();
    if (min == 0 && number < 0) {
      return error(entry.pos, fmt::format("{} must be {}, got {}", entry.key, expected, number));
    }
    if (number < min || number > max) {
      return error(entry.pos,
                   fmt::format("{} {} out of range ({}-{})", entry.key, number, min, max));
    }
    out = static_cast<T>(number);
    return {};
  }

  Result<void> readServerSection(const TomlEntry& section, ServerSection& server) const {
    auto map = table(section, "server section", kServerSectionKeys);
    if (!map) return tl::unexpected(map.error());
    server.pos = section.key_pos;
    for (const TomlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "port") done = setInteger(entry, 0, 65535, server.port);
      if (entry.key == "address") done = setListenAddress(entry, server.address);
      if (entry.key == "workers") done = setWorkers(entry, server.workers);
      if (entry.key == "locations") done = readLocations(entry, server.locations);
      if (!done) return tl::unexpected(done.error());
    }
    return {};
  }

  Result<void> setListenAddress(const TomlEntry& entry, std::string& out) const {
    auto text = string(entry);
    if (!text) return tl::unexpected(text.error());
    auto address = parseListenAddress(*text, entry.pos);
    if (!address) return tl::unexpected(address.error());
    out = std::move(*address);
    return {};
  }

  Result<void> setWorkers(const TomlEntry& entry, uint32_t& out) const {
    if (entry.value->is_integer()) return setInteger(entry, 1, kMaxWorkers, out);
    const auto* text = entry.value->as_string();
    if (text != nullptr && text->get() == "auto") {
      out = 0;
      return {};
    }
    const std::string got = text != nullptr ? fmt::format("'{}'", text->get())
                                            : std::string(describeKind(*entry.value));
    return error(entry.pos, fmt::format("workers must be 'auto' or an integer (1-{}), got {}",
                                        kMaxWorkers, got));
  }

  Result<void> readLocations(const TomlEntry& entry, std::vector<LocationConfig>& out) const {
    auto locations = array(entry);
    if (!locations) return tl::unexpected(locations.error());
    if ((*locations)->empty()) {
      return error(entry.pos, "no locations: every request would get 404");
    }
    for (const toml::node& node : **locations) {
      auto location = readLocation(node);
      if (!location) return tl::unexpected(location.error());
      out.push_back(std::move(*location));
    }
    return {};
  }

  Result<LocationConfig> readLocation(const toml::node& node) const {
    LocationConfig location;
    location.pos = pos(node.source());
    location.pattern_pos = location.upstream_pos = location.rewrite_pos = location.pos;
    location.match = MatchTarget::kHostAndPath;
    location.rewrite_to_last_group = true;
    auto map = table(node, location.pos, "location", kLocationKeys);
    if (!map) return tl::unexpected(map.error());

    auto path = findEither(*map, "location", "location", "path");
    if (!path) return tl::unexpected(path.error());
    if (*path == nullptr) {
      return error(location.pos, "location has no path (add location = \"REGEX\")");
    }
    auto pattern = string(**path);
    if (!pattern) return tl::unexpected(pattern.error());
    location.pattern = std::move(*pattern);
    location.pattern_pos = (*path)->pos;

    auto upstream = findEither(*map, "location", "upstream", "http_pass");
    if (!upstream) return tl::unexpected(upstream.error());
    if (*upstream == nullptr) {
      return error(location.pos, fmt::format("location '{}' has no upstream (add upstream = "
                                             "\"NAME\")",
                                             location.pattern));
    }
    auto name = string(**upstream);
    if (!name) return tl::unexpected(name.error());
    location.upstream = std::move(*name);
    location.upstream_pos = (*upstream)->pos;
    return location;
  }

  Result<UpstreamConfig> readUpstream(const TomlEntry& named) const {
    UpstreamConfig upstream;
    upstream.name = named.key;
    upstream.pos = upstream.balancer_pos = upstream.provider_pos = named.key_pos;
    const std::string what = fmt::format("upstream '{}'", upstream.name);
    auto map = table(named, what, kUpstreamKeys);
    if (!map) return tl::unexpected(map.error());
    for (const TomlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "balancer")
        done = setString(entry, upstream.balancer, upstream.balancer_pos);
      if (entry.key == "provider")
        done = setString(entry, upstream.provider, upstream.provider_pos);
      if (entry.key == "servers") done = readServers(entry, upstream.servers);
      if (!done) return tl::unexpected(done.error());
    }
    if (map->find("servers") == nullptr) {
      return error(upstream.pos, fmt::format("{} has no servers (add [[upstreams.{}.servers]])",
                                             what, upstream.name));
    }
    return upstream;
  }

  Result<void> setString(const TomlEntry& entry, std::string& out, SourcePos& out_pos) const {
    auto text = string(entry);
    if (!text) return tl::unexpected(text.error());
    out = std::move(*text);
    out_pos = entry.pos;
    return {};
  }

  Result<void> readServers(const TomlEntry& entry, std::vector<ServerConfig>& out) const {
    auto servers = array(entry);
    if (!servers) return tl::unexpected(servers.error());
    for (const toml::node& node : **servers) {
      auto server = readServer(node);
      if (!server) return tl::unexpected(server.error());
      out.push_back(std::move(*server));
    }
    return {};
  }

  Result<ServerConfig> readServer(const toml::node& node) const {
    const SourcePos at = pos(node.source());
    auto map = table(node, at, "server", kServerKeys);
    if (!map) return tl::unexpected(map.error());
    ServerConfig server;
    server.max_fail = kGourmetMaxFail;  // Gourmet's passive check is on unless set to 0
    const TomlEntry* path = map->find("path");
    if (path == nullptr) return error(at, "server has no path (add path = \"HOST[:PORT]\")");
    auto text = string(*path);
    if (!text) return tl::unexpected(text.error());
    server.pos = path->pos;
    if (auto done = setServerAddress("path", *text, kGourmetServerPort, server); !done) {
      return tl::unexpected(done.error());
    }
    for (const TomlEntry& entry : map->entries) {
      Result<void> done;
      if (entry.key == "weight") done = setInteger(entry, 0, kMaxWeight, server.weight);
      if (entry.key == "max_fail") done = setInteger(entry, 0, kMaxMaxFail, server.max_fail);
      if (entry.key == "fail_timeout") {
        int64_t seconds = 0;
        done = setInteger(entry, 0, kMaxFailTimeoutSeconds, seconds);
        if (done) server.fail_timeout = std::chrono::seconds(seconds);
      }
      if (!done) return tl::unexpected(done.error());
    }
    return server;
  }

  std::string file_;
};

}  // namespace

Result<Config> parseTomlConfig(std::string_view text, const std::string& file) {
  try {
    const toml::table root = toml::parse(text, std::string_view(file));
    return Loader(file).load(root);
  } catch (const toml::parse_error& e) {
    return fail(fmt::format("{}:{}:{}: invalid TOML: {}", file, e.source().begin.line,
                            e.source().begin.column, e.description()));
  }
}

Result<Config> loadTomlConfig(const std::string& path) {
  auto text = readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  return parseTomlConfig(*text, path);
}

}  // namespace gourmet::core
