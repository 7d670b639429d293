#include "core/router.h"

#include <array>
#include <unordered_map>

namespace gourmet::core {
namespace {

constexpr int kMaxGroups = 16;

// Gourmet's rule: forwarded path = "/" + the last capture group (the whole
// match when the regex has no group).
bool rewriteToLastGroup(const RE2& pattern, std::string_view subject, std::string& out) {
  std::array<re2::StringPiece, kMaxGroups + 1> groups;
  int count = std::min(pattern.NumberOfCapturingGroups(), kMaxGroups);
  if (!pattern.Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), count + 1)) {
    return false;
  }
  const re2::StringPiece& last = groups[count];
  // clear + push_back, not assign("/"): g++ 12 -O3 misreports assign under -Werror=restrict.
  out.clear();
  out.push_back('/');
  out.append(last.data(), last.size());
  return true;
}

// What RE2::Replace(&out = path, pattern, rewrite) leaves in `out` when the
// pattern matches `path`: its first match replaced by the rewrite (`groups`
// = route.rewrite_groups). Returns false, leaving `out` alone, when the
// pattern does not match `path`.
bool replaceFirst(const RE2& pattern, std::string_view path, std::string_view rewrite, int groups,
                  std::string& out) {
  std::array<re2::StringPiece, kMaxGroups + 1> vec;
  // Replace gives up (path unchanged) on more groups than it can capture.
  bool capturable = groups <= pattern.NumberOfCapturingGroups() + 1 && groups <= kMaxGroups + 1;
  if (!pattern.Match(path, 0, path.size(), RE2::UNANCHORED, vec.data(), capturable ? groups : 0)) {
    return false;
  }
  if (!capturable) {
    out.assign(path);
    return true;
  }
  size_t start = static_cast<size_t>(vec[0].data() - path.data());
  size_t end = start + vec[0].size();
  out.assign(path.substr(0, start));
  if (!pattern.Rewrite(&out, rewrite, vec.data(), groups)) {
    out.assign(path);  // as Replace: unchanged (CheckRewriteString rules this out)
    return true;
  }
  out.append(path.substr(end));
  return true;
}

}  // namespace

Router::Router(const RouteTable& table, const Router* previous) : table_(&table) {
  std::unordered_map<std::string_view, std::shared_ptr<const RE2>> known;
  if (previous != nullptr && previous->table_ != nullptr) {
    const auto& routes = previous->table_->routes();
    for (size_t i = 0; i < routes.size(); ++i)
      known.emplace(routes[i].pattern, previous->compiled_[i]);
  }
  compiled_.reserve(table.size());
  for (const Route& route : table.routes()) {
    auto reused = known.find(route.pattern);
    if (reused != known.end()) {
      compiled_.push_back(reused->second);
      continue;
    }
    // The main thread compiled the same pattern with the same options, so
    // this cannot fail; if it did, ok() is false and the route never matches.
    auto compiled = std::make_shared<const RE2>(route.pattern, RE2::Quiet);
    known.emplace(route.pattern, compiled);
    compiled_.push_back(std::move(compiled));
    ++compiled_count_;
  }
}

bool Router::tryRoute(const Route& route, const RE2& pattern, std::string_view subject,
                      std::string_view path, std::string& forwarded_path) const {
  if (!pattern.ok()) return false;
  if (route.rewrite_to_last_group) return rewriteToLastGroup(pattern, subject, forwarded_path);
  if (route.rewrite && route.match == MatchTarget::kPath) {
    // The subject is the path: one run finds the match and its groups.
    return replaceFirst(pattern, path, *route.rewrite, route.rewrite_groups, forwarded_path);
  }
  if (!pattern.Match(subject, 0, subject.size(), RE2::UNANCHORED, nullptr, 0)) return false;
  if (route.rewrite) {
    // Matched on host+path, rewritten on the path alone (as before): a
    // path the pattern does not match goes unchanged.
    if (!replaceFirst(pattern, path, *route.rewrite, route.rewrite_groups, forwarded_path)) {
      forwarded_path.assign(path);
    }
  } else {
    forwarded_path.assign(path);
  }
  return true;
}

const Route* Router::match(std::string_view host, std::string_view path,
                           std::string& forwarded_path, std::string& scratch) const {
  if (table_ == nullptr) return nullptr;
  const RoutePrefilter& prefilter = table_->prefilter();
  std::string_view host_path;
  if (prefilter.hasHostRoutes()) {
    scratch.assign(host);
    scratch.append(path);
    host_path = scratch;
  }
  RoutePrefilter::Candidates candidates(prefilter, path, host_path);
  for (uint32_t i = candidates.next(); i != RoutePrefilter::kNone; i = candidates.next()) {
    const Route& route = table_->routes()[i];
    std::string_view subject = route.match == MatchTarget::kHostAndPath ? host_path : path;
    if (!tryRoute(route, *compiled_[i], subject, path, forwarded_path)) continue;
    if (forwarded_path.empty() || forwarded_path[0] != '/') {
      // Not insert(0, ...): see rewriteToLastGroup. `scratch` (host_path)
      // is no longer needed.
      scratch.clear();
      scratch.push_back('/');
      scratch.append(forwarded_path);
      forwarded_path.swap(scratch);
    }
    return &route;
  }
  return nullptr;
}

}  // namespace gourmet::core
