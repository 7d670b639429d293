#include "core/config_yaml_writer.h"

#include <fmt/format.h>

#include <string_view>

#include "core/duration.h"
#include "core/yaml_reader.h"

namespace gourmet::core {
namespace {

// Text that YAML reads back as the same string without quotes: no
// indicators, no "null", no ": " or " #".
bool isPlain(std::string_view text) {
  if (text.empty() || text == "null" || text == "Null" || text == "NULL" || text == "~") {
    return false;
  }
  const auto ok = [](char c, bool first) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '/';
    return word || (!first && (c == '-' || c == ':'));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (!ok(text[i], i == 0)) return false;
  }
  return text.back() != ':';
}

// A double-quoted YAML scalar: backslash escapes for '\\', '"' and controls.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + '"';
}

std::string scalar(std::string_view text) {
  return isPlain(text) ? std::string(text) : quoted(text);
}

class Writer {
 public:
  std::string write(const Config& config) {
    if (!config.file.empty())
      line(0, fmt::format("# gourmet config, equivalent to {}", config.file));
    writeServerSection(config.server);
    if (!config.upstreams.empty()) line(0, "upstreams:");
    for (const UpstreamConfig& upstream : config.upstreams) writeUpstream(upstream);
    return std::move(out_);
  }

 private:
  void line(int indent, std::string_view text) {
    out_.append(static_cast<size_t>(indent), ' ');
    out_ += text;
    out_ += '\n';
  }
  void key(int indent, std::string_view name, std::string_view value) {
    line(indent, fmt::format("{}: {}", name, value));
  }
  template <class T>
  void changed(int indent, std::string_view name, const T& value, const T& default_value) {
    if (value != default_value) key(indent, name, fmt::to_string(value));
  }
  void changed(int indent, std::string_view name, Millis value, Millis default_value) {
    if (value != default_value) key(indent, name, formatDuration(value));
  }

  void writeServerSection(const ServerSection& server) {
    const ServerSection defaults;
    line(0, "server:");
    if (server.address != defaults.address) key(2, "address", quoted(server.address));
    changed(2, "port", server.port, defaults.port);
    changed(2, "workers", server.workers, defaults.workers);
    if (server.accept_balance != defaults.accept_balance) {
      key(2, "accept_balance", std::string(acceptBalanceName(server.accept_balance)));
    }
    if (!server.access_log.empty()) key(2, "access_log", scalar(server.access_log));
    changed(2, "client_header_timeout", server.client_header_timeout,
            defaults.client_header_timeout);
    changed(2, "client_idle_timeout", server.client_idle_timeout, defaults.client_idle_timeout);
    changed(2, "drain_timeout", server.drain_timeout, defaults.drain_timeout);
    changed(2, "client_body_timeout", server.client_body_timeout, defaults.client_body_timeout);
    changed(2, "client_send_timeout", server.client_send_timeout, defaults.client_send_timeout);
    if (server.merge_slashes != defaults.merge_slashes) {
      key(2, "merge_slashes", server.merge_slashes ? "true" : "false");
    }
    if (server.x_forwarded_for != defaults.x_forwarded_for) {
      key(2, "x_forwarded_for", std::string(forwardedForName(server.x_forwarded_for)));
    }
    writeLimits(server.limits);
    line(2, server.locations.empty() ? "locations: []" : "locations:");
    for (const LocationConfig& location : server.locations) {
      key(4, "- path", quoted(location.pattern));
      if (location.match == MatchTarget::kHostAndPath) key(6, "match", "gourmet");
      key(6, "upstream", scalar(location.upstream));
      if (location.rewrite) key(6, "rewrite", quoted(*location.rewrite));
      if (location.max_body_size) key(6, "max_body_size", formatSize(*location.max_body_size));
    }
  }

  void writeLimits(const ServerLimits& limits) {
    const ServerLimits defaults;
    if (limits == defaults) return;
    line(2, "limits:");
    const auto size = [&](std::string_view name, uint64_t value, uint64_t default_value) {
      if (value != default_value) key(4, name, formatSize(value));
    };
    size("max_request_line", limits.max_request_line, defaults.max_request_line);
    size("max_header_bytes", limits.max_header_bytes, defaults.max_header_bytes);
    changed(4, "max_headers", limits.max_headers, defaults.max_headers);
    size("max_body_size", limits.max_body_size, defaults.max_body_size);
    changed(4, "max_connections", limits.max_connections, defaults.max_connections);
  }

  void writeUpstream(const UpstreamConfig& upstream) {
    const UpstreamConfig defaults;
    line(2, scalar(upstream.name) + ":");
    if (upstream.balancer != defaults.balancer) key(4, "balancer", scalar(upstream.balancer));
    if (!upstream.hash_on.empty()) key(4, "hash_on", scalar(upstream.hash_on));
    writeBalancerParams(upstream.balancer_params, upstream.slow_start);
    if (upstream.provider != defaults.provider) key(4, "provider", scalar(upstream.provider));
    changed(4, "connect_timeout", upstream.connect_timeout, defaults.connect_timeout);
    changed(4, "response_timeout", upstream.response_timeout, defaults.response_timeout);
    changed(4, "keepalive_timeout", upstream.keepalive_timeout, defaults.keepalive_timeout);
    changed(4, "keepalive", upstream.keepalive, defaults.keepalive);
    line(4, upstream.servers.empty() ? "servers: []" : "servers:");
    const ServerConfig server_defaults;
    for (const ServerConfig& server : upstream.servers) {
      key(6, "- path", scalar(server.address));
      changed(8, "weight", server.weight, server_defaults.weight);
      changed(8, "max_fail", server.max_fail, server_defaults.max_fail);
      changed(8, "fail_timeout", server.fail_timeout, server_defaults.fail_timeout);
    }
  }

  // Numbers print in fmt's shortest form that reads back exactly ("0.1",
  // "1e-05"), which from_chars in the loader accepts.
  void writeBalancerParams(const balancers::BalancerParams& params,
                           const balancers::SlowStart& slow_start) {
    const balancers::BalancerParams defaults;
    changed(4, "choice_count", params.choice_count, defaults.choice_count);
    changed(4, "active_request_bias", params.active_request_bias, defaults.active_request_bias);
    changed(4, "decay", params.decay, defaults.decay);
    changed(4, "default_rtt", params.default_rtt, defaults.default_rtt);
    changed(4, "table_size", params.table_size, defaults.table_size);
    const balancers::SlowStart off;
    if (slow_start.window == off.window && slow_start.aggression == off.aggression &&
        slow_start.min_weight_percent == off.min_weight_percent) {
      return;
    }
    line(4, "slow_start:");
    changed(6, "window", slow_start.window, off.window);
    changed(6, "aggression", slow_start.aggression, off.aggression);
    changed(6, "min_weight_percent", slow_start.min_weight_percent, off.min_weight_percent);
  }

  std::string out_;
};

}  // namespace

std::string toYaml(const Config& config) { return Writer().write(config); }

}  // namespace gourmet::core
