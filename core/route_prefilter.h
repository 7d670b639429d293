#pragma once

// Which locations can possibly match a request, so that routing runs the
// regexes of a few candidates rather than of every location.
//
// Most locations are anchored at a literal (`^/api/v2/`): such a regex can
// only match a subject that starts with that literal, its required prefix.
// The prefilter keeps those prefixes in a trie per subject (path, host+path)
// and per case (exact, ASCII case-insensitive for `(?i)`); a location it
// cannot prove anything about (unanchored, alternation at the top level,
// multi-line) sits at the root and is a candidate for every subject. So a
// location is skipped only when it cannot match, and Candidates yields the
// rest in config order: the first match still wins.
//
// Built on the main thread, immutable, read by every worker: it holds bytes
// and indices only, no RE2 (whose match takes a lock, see router.h).

#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace gourmet::core {

// What the prefilter knows of one location's regex.
struct RoutePrefix {
  std::string literal;    // every match starts with it ("" = nothing known)
  bool caseless = false;  // `literal` is lowercase ASCII, compared ignoring case
};

// `compiled` is `pattern` compiled with default options (and ok()). Only
// the main thread calls this (it may compile a variant of the pattern).
RoutePrefix requiredPrefix(std::string_view pattern, const RE2& compiled);

class RoutePrefilter {
 public:
  // Longest prefix kept: a required prefix cut short is still required, and
  // it bounds the walk (and Candidates' storage) per subject.
  static constexpr size_t kMaxPrefix = 48;
  static constexpr uint32_t kNone = UINT32_MAX;

  RoutePrefilter() = default;
  // `prefixes[i]` and `targets[i]` describe route i.
  RoutePrefilter(std::span<const RoutePrefix> prefixes, std::span<const MatchTarget> targets);

  bool hasHostRoutes() const { return host_[0].routes_.size() + host_[1].routes_.size() > 0; }

  // The routes that may match, ascending. `host_path` is read only when
  // hasHostRoutes(). Lives on the stack of one match; does not allocate.
  class Candidates {
   public:
    Candidates(const RoutePrefilter& filter, std::string_view path, std::string_view host_path);
    uint32_t next();  // kNone when exhausted

   private:
    struct Run {
      const uint32_t* at;
      const uint32_t* end;
    };
    void add(const uint32_t* begin, const uint32_t* end);

    std::array<Run, 4 * (kMaxPrefix + 1)> runs_;
    size_t count_ = 0;
  };

 private:
  // Prefixes of one subject and case as a trie in flat arrays: a node's
  // edges are contiguous and sorted by byte, its routes ascending.
  struct Trie {
    struct Node {
      uint32_t first_edge = 0, edge_count = 0;
      uint32_t first_route = 0, route_count = 0;
    };
    struct Edge {
      uint8_t byte;
      uint32_t node;
    };
    std::vector<Node> nodes_;
    std::vector<Edge> edges_;
    std::vector<uint32_t> routes_;

    void build(const std::vector<std::pair<std::string, uint32_t>>& keyed);
    // Calls add(begin, end) for each node on `subject`'s path holding routes.
    template <class Add>
    void walk(std::string_view subject, bool fold, Add&& add) const;
  };

  std::array<Trie, 2> path_;  // [0] exact, [1] caseless
  std::array<Trie, 2> host_;
};

}  // namespace gourmet::core
