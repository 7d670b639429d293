#include "core/router.h"

#include <fmt/format.h>

#include <array>

namespace gourmet::core {
namespace {

// Gourmet's rule: forwarded path = "/" + the last capture group (the whole
// match when the regex has no group).
bool rewriteToLastGroup(const RE2& pattern, std::string_view subject, std::string& out) {
  constexpr int kMaxGroups = 16;
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

}  // namespace

Result<Route> Router::compile(const LocationConfig& location, uint32_t cluster) {
  RE2::Options options;
  options.set_log_errors(false);
  auto pattern = std::make_unique<RE2>(location.pattern, options);
  if (!pattern->ok()) {
    return fail(fmt::format("{}invalid regex '{}': {}", location.pattern_pos.prefix(),
                            location.pattern, pattern->error()));
  }
  if (location.rewrite) {
    std::string why;
    if (!pattern->CheckRewriteString(*location.rewrite, &why)) {
      return fail(fmt::format("{}invalid rewrite '{}': {}", location.rewrite_pos.prefix(),
                              *location.rewrite, why));
    }
  }
  Route route;
  route.pattern = std::move(pattern);
  route.cluster = cluster;
  route.rewrite = location.rewrite;
  route.match = location.match;
  route.rewrite_to_last_group = location.rewrite_to_last_group;
  route.max_body_size = location.max_body_size;
  return route;
}

const Route* Router::match(std::string_view host, std::string_view path,
                           std::string& forwarded_path, std::string& scratch) const {
  for (const Route& route : routes_) {
    std::string_view subject = path;
    if (route.match == MatchTarget::kHostAndPath) {
      scratch.assign(host);
      scratch.append(path);
      subject = scratch;
    }
    if (route.rewrite_to_last_group) {
      if (rewriteToLastGroup(*route.pattern, subject, forwarded_path)) return &route;
      continue;
    }
    if (!RE2::PartialMatch(subject, *route.pattern)) continue;
    forwarded_path.assign(path);
    if (route.rewrite) RE2::Replace(&forwarded_path, *route.pattern, *route.rewrite);
    if (forwarded_path.empty() || forwarded_path[0] != '/') {
      scratch.clear();  // not insert(0, ...): see rewriteToLastGroup
      scratch.push_back('/');
      scratch.append(forwarded_path);
      forwarded_path.swap(scratch);
    }
    return &route;
  }
  return nullptr;
}

}  // namespace gourmet::core
