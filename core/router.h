#pragma once

// One worker's compiled routes: the snapshot's RouteTable with an RE2 per
// location that only this worker uses. RE2 takes a reader lock on its DFA
// cache for every match, so a regex shared by all workers would be a cache
// line they all write per route tried, and a cache reset would stall them
// all; a worker-local copy costs memory, never contention.
//
// Built on the worker thread when it adopts a snapshot (the first one on the
// main thread, before the worker runs). Regexes of the previous generation
// are reused for every pattern that did not change, so a reload that leaves
// the locations alone compiles nothing.
//
// Matching tries, in config order, only the candidates the table's
// prefilter leaves (first match wins), and builds the host+path subject once
// per request, not per route.

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/route_table.h"

namespace gourmet::core {

class Router {
 public:
  Router() = default;
  // `table` must outlive the Router (the generation pins its snapshot).
  // `previous` (may be null) lends the regexes of unchanged patterns.
  Router(const RouteTable& table, const Router* previous);

  // The first route matching `path` (or host+path for kHostAndPath routes),
  // or nullptr. On a match, `forwarded_path` receives the path to send
  // upstream (rewritten or unchanged, without query). `scratch` is reused
  // storage so routing does not allocate per request.
  const Route* match(std::string_view host, std::string_view path, std::string& forwarded_path,
                     std::string& scratch) const;

  size_t size() const { return compiled_.size(); }
  // How many regexes the constructor compiled (the rest were reused).
  size_t compiledCount() const { return compiled_count_; }

 private:
  bool tryRoute(const Route& route, const RE2& pattern, std::string_view subject,
                std::string_view path, std::string& forwarded_path) const;

  const RouteTable* table_ = nullptr;
  // Parallel to table_->routes(); shared with the previous and next
  // generations of this worker only.
  std::vector<std::shared_ptr<const RE2>> compiled_;
  size_t compiled_count_ = 0;
};

}  // namespace gourmet::core
