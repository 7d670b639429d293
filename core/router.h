#pragma once

// Locations compiled for the request path: RE2 regexes tried in config order,
// first match wins. RE2 matches in linear time, so a hostile path cannot make
// routing slow.

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

struct Route {
  std::unique_ptr<RE2> pattern;
  uint32_t cluster = 0;  // index into Snapshot::clusters
  std::optional<std::string> rewrite;
  MatchTarget match = MatchTarget::kPath;
  bool rewrite_to_last_group = false;
  std::optional<uint64_t> max_body_size;  // overrides the server's limit
};

class Router {
 public:
  Router() = default;
  explicit Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

  // Compiles one location (the loader validated it; errors here still come back as values).
  static Result<Route> compile(const LocationConfig& location, uint32_t cluster);

  // The first route matching `path` (or host+path for kHostAndPath routes),
  // or nullptr. On a match, `forwarded_path` receives the path to send
  // upstream (rewritten or unchanged, without query). `scratch` is reused
  // storage so routing does not allocate per request.
  const Route* match(std::string_view host, std::string_view path, std::string& forwarded_path,
                     std::string& scratch) const;

  size_t size() const { return routes_.size(); }

 private:
  std::vector<Route> routes_;
};

}  // namespace gourmet::core
