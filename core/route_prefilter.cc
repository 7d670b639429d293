#include "core/route_prefilter.h"

#include <algorithm>
#include <map>
#include <memory>

namespace gourmet::core {
namespace {

// How a pattern begins, as far as anchoring goes.
struct Shape {
  bool anchored = false;       // every match starts at offset 0
  bool caseless = false;       // a leading (?i)
  std::string case_sensitive;  // the pattern without that `i`, when caseless
};

// Index just past the character class opening at `at` ('['), or npos.
size_t skipClass(std::string_view p, size_t at) {
  size_t k = at + 1;
  if (k < p.size() && p[k] == '^') ++k;
  if (k < p.size() && p[k] == ']') ++k;  // a leading ']' is literal
  while (k < p.size()) {
    if (p[k] == '\\') {
      k += 2;
    } else if (p[k] == '[' && k + 1 < p.size() && p[k + 1] == ':') {
      size_t close = p.find(":]", k + 2);  // [:alpha:]
      if (close == std::string_view::npos) return close;
      k = close + 2;
    } else if (p[k] == ']') {
      return k + 1;
    } else {
      ++k;
    }
  }
  return std::string_view::npos;
}

// Whether `p` has a '|' outside every group and class: then some of its
// alternatives may not be anchored.
bool hasTopLevelAlternation(std::string_view p) {
  int depth = 0;
  for (size_t k = 0; k < p.size();) {
    char c = p[k];
    if (c == '\\') {
      k += 2;
      continue;
    }
    if (c == '[') {
      k = skipClass(p, k);
      if (k == std::string_view::npos) return true;  // cannot tell: assume the worst
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == '|' && depth <= 0) return true;
    ++k;
  }
  return false;
}

// Recognises `[(?FLAGS)](^|\A)REST` with FLAGS among i, s, U and no top-level
// alternation in REST. Anything else (multi-line `m`, `(?i:...)` groups,
// `^*`, `\Q...\E`) is reported as not anchored: the prefilter then only
// loses selectivity, never a match.
Shape shapeOf(std::string_view p) {
  Shape shape;
  if (p.find("\\Q") != std::string_view::npos) return shape;
  size_t at = 0;
  std::string flags_without_i;
  if (p.starts_with("(?")) {
    size_t close = p.find(')');
    if (close == std::string_view::npos) return shape;
    for (char c : p.substr(2, close - 2)) {
      if (c == 'i') {
        shape.caseless = true;
      } else if (c == 's' || c == 'U') {
        flags_without_i.push_back(c);
      } else {
        return shape;  // m, '-', ':' (a group), 'P' (a named group), ...
      }
    }
    at = close + 1;
  }
  size_t rest = 0;
  if (p.substr(at).starts_with('^')) {
    rest = at + 1;
  } else if (p.substr(at).starts_with("\\A")) {
    rest = at + 2;
  } else {
    return shape;
  }
  // `^*` and the like repeat the anchor, making it optional.
  if (rest < p.size() && std::string_view("*+?{").find(p[rest]) != std::string_view::npos) {
    return shape;
  }
  if (hasTopLevelAlternation(p.substr(rest))) return shape;
  shape.anchored = true;
  if (shape.caseless) {
    shape.case_sensitive =
        (flags_without_i.empty() ? std::string() : "(?" + flags_without_i + ")") +
        std::string(p.substr(at));
  }
  return shape;
}

}  // namespace

RoutePrefix requiredPrefix(std::string_view pattern, const RE2& compiled) {
  RoutePrefix prefix;
  Shape shape = shapeOf(pattern);
  if (!shape.anchored) return prefix;
  // RE2 bounds every anchored match s by min <= s <= max (PossibleMatchRange),
  // so s starts with whatever min and max have in common. For (?i) the
  // bound is taken on the case-sensitive pattern and then folded: a match
  // of the caseless one is, byte for byte in the ASCII part, a case variant
  // of a match of the sensitive one.
  std::unique_ptr<RE2> sensitive;
  const RE2* analysed = &compiled;
  if (shape.caseless) {
    sensitive = std::make_unique<RE2>(shape.case_sensitive, RE2::Quiet);
    if (!sensitive->ok()) return prefix;
    analysed = sensitive.get();
  }
  // One byte more than kept: RE2 rounds a cut `max` up, which costs the
  // common part its last byte.
  std::string min, max;
  if (!analysed->PossibleMatchRange(&min, &max, static_cast<int>(RoutePrefilter::kMaxPrefix + 1))) {
    return prefix;
  }
  // Past kMaxPrefix bytes RE2 may describe the rest of the pattern after a
  // cut literal: keep only what is surely a prefix.
  size_t common = 0;
  while (common < min.size() && common < max.size() && common < RoutePrefilter::kMaxPrefix &&
         min[common] == max[common]) {
    ++common;
  }
  prefix.literal = min.substr(0, common);
  if (shape.caseless) {
    // Only ASCII letters whose case orbit is ASCII fold simply: RE2 folds
    // k with U+212A (Kelvin) and s with U+017F (long s), so the prefix
    // stops before them, and before any non-ASCII byte.
    size_t keep = 0;
    for (char& c : prefix.literal) {
      auto byte = static_cast<unsigned char>(c);
      if (byte >= 0x80) break;
      if (byte >= 'A' && byte <= 'Z') c = static_cast<char>(byte - 'A' + 'a');
      if (c == 'k' || c == 's') break;
      ++keep;
    }
    prefix.literal.resize(keep);
    prefix.caseless = true;
  }
  return prefix;
}

void RoutePrefilter::Trie::build(const std::vector<std::pair<std::string, uint32_t>>& keyed) {
  struct Building {
    std::map<uint8_t, std::unique_ptr<Building>> children;
    std::vector<uint32_t> routes;
  };
  Building root;
  for (const auto& [literal, route] : keyed) {
    Building* node = &root;
    for (char c : literal) {
      auto& child = node->children[static_cast<uint8_t>(c)];
      if (child == nullptr) child = std::make_unique<Building>();
      node = child.get();
    }
    node->routes.push_back(route);  // `keyed` is in route order
  }
  // Breadth first, so that each node's children get consecutive indices.
  std::vector<const Building*> order{&root};
  nodes_.assign(1, Node{});
  for (size_t i = 0; i < order.size(); ++i) {
    const Building& building = *order[i];
    nodes_[i].first_route = static_cast<uint32_t>(routes_.size());
    nodes_[i].route_count = static_cast<uint32_t>(building.routes.size());
    routes_.insert(routes_.end(), building.routes.begin(), building.routes.end());
    nodes_[i].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[i].edge_count = static_cast<uint32_t>(building.children.size());
    for (const auto& [byte, child] : building.children) {
      edges_.push_back({byte, static_cast<uint32_t>(order.size())});
      order.push_back(child.get());
      nodes_.push_back(Node{});
    }
  }
}

template <class Add>
void RoutePrefilter::Trie::walk(std::string_view subject, bool fold, Add&& add) const {
  if (nodes_.empty()) return;
  const Node* node = &nodes_[0];
  for (size_t depth = 0;; ++depth) {
    if (node->route_count != 0) {
      const uint32_t* first = routes_.data() + node->first_route;
      add(first, first + node->route_count);
    }
    if (depth == subject.size() || node->edge_count == 0) return;
    auto byte = static_cast<uint8_t>(subject[depth]);
    if (fold && byte >= 'A' && byte <= 'Z') byte = static_cast<uint8_t>(byte - 'A' + 'a');
    const Edge* begin = edges_.data() + node->first_edge;
    const Edge* end = begin + node->edge_count;
    const Edge* edge =
        std::lower_bound(begin, end, byte, [](const Edge& e, uint8_t b) { return e.byte < b; });
    if (edge == end || edge->byte != byte) return;
    node = &nodes_[edge->node];
  }
}

RoutePrefilter::RoutePrefilter(std::span<const RoutePrefix> prefixes,
                               std::span<const MatchTarget> targets) {
  std::array<std::vector<std::pair<std::string, uint32_t>>, 4> keyed;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const RoutePrefix& prefix = prefixes[i];
    size_t which = (targets[i] == MatchTarget::kHostAndPath ? 2 : 0) + (prefix.caseless ? 1 : 0);
    keyed[which].emplace_back(prefix.literal.substr(0, kMaxPrefix), static_cast<uint32_t>(i));
  }
  path_[0].build(keyed[0]);
  path_[1].build(keyed[1]);
  host_[0].build(keyed[2]);
  host_[1].build(keyed[3]);
}

RoutePrefilter::Candidates::Candidates(const RoutePrefilter& filter, std::string_view path,
                                       std::string_view host_path) {
  auto add = [this](const uint32_t* begin, const uint32_t* end) { this->add(begin, end); };
  filter.path_[0].walk(path, false, add);
  filter.path_[1].walk(path, true, add);
  if (filter.hasHostRoutes()) {
    filter.host_[0].walk(host_path, false, add);
    filter.host_[1].walk(host_path, true, add);
  }
}

void RoutePrefilter::Candidates::add(const uint32_t* begin, const uint32_t* end) {
  // At most kMaxPrefix + 1 nodes per walk, four walks: runs_ cannot overflow.
  runs_[count_++] = {begin, end};
}

uint32_t RoutePrefilter::Candidates::next() {
  // A merge of a few sorted runs: the smallest head is the next route in
  // config order.
  Run* best = nullptr;
  for (size_t i = 0; i < count_; ++i) {
    Run& run = runs_[i];
    if (run.at != run.end && (best == nullptr || *run.at < *best->at)) best = &run;
  }
  if (best == nullptr) return kNone;
  return *best->at++;
}

}  // namespace gourmet::core
