#include "core/config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>

#include "balancers/registry.h"

namespace gourmet::core {
namespace {

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

// RFC 9110 token: what header names (and cookie names, RFC 6265) are made of.
bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Keeps the problem that comes first in the file, so that the order in which
// the checks run does not decide which error the operator sees.
class FirstProblem {
 public:
  void add(const SourcePos& at, std::string message) {
    if (found_ && !before(at, at_)) return;
    found_ = true;
    at_ = at;
    message_ = std::move(message);
  }
  Result<void> result() const {
    if (!found_) return {};
    return fail(at_.prefix() + message_);
  }

 private:
  // Positions without a line (hand-built models) sort last.
  static bool before(const SourcePos& a, const SourcePos& b) {
    const int a_line = a.line > 0 ? a.line : INT_MAX;
    const int b_line = b.line > 0 ? b.line : INT_MAX;
    return a_line != b_line ? a_line < b_line : a.column < b.column;
  }

  bool found_ = false;
  SourcePos at_;
  std::string message_;
};

// What hash_on names, or why it names nothing ("" when fine).
std::string hashOnProblem(std::string_view hash_on) {
  if (hash_on == "client_ip" || hash_on == "path") return {};
  for (std::string_view kind : {"header", "cookie"}) {
    if (hash_on.size() <= kind.size() || !hash_on.starts_with(kind) ||
        hash_on[kind.size()] != ':') {
      continue;
    }
    const std::string_view name = hash_on.substr(kind.size() + 1);
    if (isToken(name)) return {};
    return fmt::format("hash_on '{}' has an invalid {} name '{}' (expected a token such as X-User)",
                       hash_on, kind, name);
  }
  return fmt::format("invalid hash_on '{}' (expected {})", hash_on, kHashOnForms);
}

// Each check below reports its element's first problem (in `out`).
void checkUpstream(const UpstreamConfig& upstream, FirstProblem& out) {
  if (upstream.name.empty()) return out.add(upstream.pos, "upstream name is empty");
  if (balancers::findBalancer(upstream.balancer) == nullptr) {
    return out.add(upstream.balancer_pos,
                   fmt::format("unknown balancer '{}' (known: {})", upstream.balancer,
                               fmt::join(balancers::balancerNames(), ", ")));
  }
  const bool hashing = upstream.balancer == "hash";
  if (hashing && upstream.hash_on.empty()) {
    return out.add(upstream.balancer_pos,
                   fmt::format("balancer 'hash' needs hash_on ({})", kHashOnForms));
  }
  if (!upstream.hash_on.empty()) {
    // A key no balancer reads would let the operator believe in stickiness.
    if (!hashing) return out.add(upstream.hash_on_pos, "hash_on is only used by balancer 'hash'");
    if (std::string problem = hashOnProblem(upstream.hash_on); !problem.empty()) {
      return out.add(upstream.hash_on_pos, std::move(problem));
    }
  }
  if (upstream.provider.empty()) return out.add(upstream.provider_pos, "provider is empty");
  if (upstream.servers.empty()) {
    return out.add(upstream.pos, fmt::format("upstream '{}' has no servers", upstream.name));
  }
}

std::string undefinedUpstream(const std::string& name, const Config& config) {
  if (config.upstreams.empty()) {
    return fmt::format("location upstream '{}' is not defined (no upstreams are defined)", name);
  }
  std::vector<std::string_view> names;
  for (const UpstreamConfig& upstream : config.upstreams) names.push_back(upstream.name);
  return fmt::format("location upstream '{}' is not defined (upstreams: {})", name,
                     fmt::join(names, ", "));
}

void checkLocation(const LocationConfig& location, const Config& config, FirstProblem& out) {
  const bool gourmet = location.match == MatchTarget::kHostAndPath;
  if (location.pattern.empty()) {
    // Host+path subjects start with the host, so '^/' would match nothing.
    return out.add(location.pattern_pos,
                   gourmet ? "location path is empty (use '/(.*)' to match every request)"
                           : "location path is empty (use '^/' to match every path)");
  }
  RE2 regex(location.pattern, RE2::Quiet);
  if (!regex.ok()) {
    return out.add(location.pattern_pos,
                   fmt::format("invalid regex '{}': {}", location.pattern, regex.error()));
  }
  if (location.rewrite && location.rewrite_to_last_group) {
    return out.add(location.rewrite_pos,
                   "rewrite cannot be used with match: gourmet (it forwards '/' + the last "
                   "capture group)");
  }
  std::string why;
  if (location.rewrite && !regex.CheckRewriteString(*location.rewrite, &why)) {
    return out.add(location.rewrite_pos, fmt::format("invalid rewrite '{}' for regex '{}': {}",
                                                     *location.rewrite, location.pattern, why));
  }
  if (config.findUpstream(location.upstream) == nullptr) {
    return out.add(location.upstream_pos, undefinedUpstream(location.upstream, config));
  }
}

}  // namespace

bool isPrime(int64_t n) {
  if (n < 2) return false;
  for (int64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

std::string_view acceptBalanceName(AcceptBalance balance) {
  return balance == AcceptBalance::kLeastLoaded ? "least_loaded" : "kernel";
}

std::string_view forwardedForName(ForwardedFor mode) {
  return mode == ForwardedFor::kReplace ? "replace" : "append";
}

std::string SourcePos::prefix() const {
  if (line <= 0) return file.empty() ? std::string() : fmt::format("{}: ", file);
  return fmt::format("{}:{}:{}: ", file, line, column);
}

const UpstreamConfig* Config::findUpstream(std::string_view name) const {
  for (const auto& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

Result<void> validateConfig(const Config& config) {
  FirstProblem problem;
  for (const UpstreamConfig& upstream : config.upstreams) checkUpstream(upstream, problem);
  for (const LocationConfig& location : config.server.locations) {
    checkLocation(location, config, problem);
  }
  if (auto found = problem.result(); !found) return found;
  if (config.server.locations.empty()) {
    return fail(
        fmt::format("{}{} (add server.locations)", config.server.pos.prefix(), kNoLocations));
  }
  return {};
}

// "host:port" where host is a name, an IPv4 literal or a bracketed IPv6
// literal; the brackets are dropped from `host` (resolvers take it bare).
Result<void> setServerAddress(std::string_view key, std::string_view text, uint16_t default_port,
                              ServerConfig& server) {
  const auto bad = [&](std::string_view why) {
    return fail(fmt::format("{}{} '{}' {}", server.pos.prefix(), key, text, why));
  };
  if (text.find("://") != std::string_view::npos) return bad("has a scheme (expected host:port)");
  std::string host;
  std::string_view port;
  const size_t colon = text.rfind(':');
  const size_t bracket = text.rfind(']');
  const bool bare = colon == std::string_view::npos ||
                    (text.front() == '[' && bracket != std::string_view::npos && bracket > colon);
  if (bare) {
    if (default_port == 0) return bad("has no port (expected host:port)");
    host = std::string(text);
  } else {
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
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
    return bad(fmt::format("has an invalid host '{}' (expected a name, an IPv4 or [IPv6])", host));
  }
  int value = default_port;
  if (!bare) {
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return bad(fmt::format("has an invalid port '{}' (expected 1-65535)", port));
    }
  }
  server.address = bare ? fmt::format("{}:{}", text, default_port) : std::string(text);
  server.host = std::move(host);
  server.port = static_cast<uint16_t>(value);
  return {};
}

// Listeners bind literals only: resolving a name at start-up would make the
// bound address depend on DNS and /etc/hosts of the moment.
Result<std::string> parseListenAddress(std::string_view text, const SourcePos& at) {
  std::string address(text);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (!isIpLiteral(address, AF_INET) && !isIpLiteral(address, AF_INET6)) {
    return fail(fmt::format(
        "{}address '{}' is not an IPv4 or IPv6 literal (listeners do not resolve names)",
        at.prefix(), text));
  }
  return address;
}

Result<std::string> readConfigFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) return fail(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  std::string text;
  char buffer[16384];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, in.get())) > 0) text.append(buffer, got);
  // fread sets errno on failure (EISDIR for a directory).
  if (std::ferror(in.get())) {
    return fail(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  return text;
}

}  // namespace gourmet::core
