#pragma once

// A parsed HTTP/1.1 message head (request or response), filled from llhttp's
// callbacks. Names and values live in one arena reused from message to
// message, so parsing a head does not allocate once the connection is warm.
// Limits are enforced while the bytes arrive, not after.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gourmet::core {

struct HeadLimits {
  size_t max_target = 8 * 1024;         // request target or reason phrase -> 414
  size_t max_header_bytes = 32 * 1024;  // names + values -> 431
  size_t max_headers = 100;             // -> 431
};

enum class HeadLimitError { kNone, kTargetTooLong, kHeadersTooLarge };

bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Calls `fn(token)` for each comma-separated token of a list header value
// (RFC 9110 section 5.6.1), with surrounding whitespace removed.
template <class Fn>
void forEachToken(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view token = list.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty()) fn(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// The header names gourmet acts on. Each field's name is classified once,
// when the parser completes it, so that lookups by these names read a table
// instead of comparing every field's name, case-insensitively, per lookup.
enum class HeaderName : uint8_t {
  kOther,  // any name not below
  kHost,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kUpgrade,
  kTransferEncoding,
  kContentLength,
  kExpect,
  kAccept,
  kCookie,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kVia,
};
inline constexpr size_t kHeaderNames = static_cast<size_t>(HeaderName::kVia) + 1;

// Case-insensitive; a switch on the length, then at most two comparisons.
HeaderName classifyHeaderName(std::string_view name);

class MessageHead {
 public:
  explicit MessageHead(HeadLimits limits = {}) : limits_(limits) {}
  void setLimits(const HeadLimits& limits) { limits_ = limits; }

  void clear();

  // llhttp glue. The append functions return false once a limit is exceeded.
  bool appendTarget(const char* data, size_t len);
  bool appendName(const char* data, size_t len);
  void nameComplete();
  bool appendValue(const char* data, size_t len);
  void valueComplete();

  // Request target (requests) or reason phrase (responses).
  std::string_view target() const { return {arena_.data() + target_off_, target_len_}; }
  size_t size() const { return fields_.size(); }
  std::string_view name(size_t i) const;
  std::string_view value(size_t i) const;

  // What field `i`'s name is, classified when it was complete.
  HeaderName kind(size_t i) const { return fields_[i].kind; }

  // Lookups. For a known name (HeaderName, or a string that classifies as
  // one) these read the table built while parsing; other names are compared
  // only with the fields of no known name.
  // First value of the named header (case-insensitive).
  std::optional<std::string_view> find(HeaderName name) const {
    size_t i = first(name);
    if (i == fields_.size()) return std::nullopt;
    return value(i);
  }
  std::optional<std::string_view> find(std::string_view name) const;
  // (kOther's bit is never set: those fields are not in the table.)
  size_t count(HeaderName name) const {
    return (present_ & bit(name)) == 0 ? 0 : known_[static_cast<size_t>(name)].count;
  }
  size_t count(std::string_view name) const;
  // Index of the first field called `name`, or size() when there is none.
  // The next ones follow it: scan on from there for count(name) fields.
  size_t first(HeaderName name) const {
    return (present_ & bit(name)) == 0 ? fields_.size() : known_[static_cast<size_t>(name)].first;
  }
  // Whether `token` appears in any `Connection` header.
  bool connectionHas(std::string_view token) const;

  // Calls `fn(i)` for each field called `name`, in order.
  template <class Fn>
  void forEach(HeaderName name, Fn&& fn) const {
    size_t left = count(name);
    for (size_t i = first(name); left > 0; ++i) {
      if (fields_[i].kind != name) continue;
      fn(i);
      --left;
    }
  }

  HeadLimitError limitError() const { return limit_error_; }

 private:
  struct Field {
    uint32_t name_off = 0, name_len = 0, value_off = 0, value_len = 0;
    HeaderName kind = HeaderName::kOther;
  };
  struct Known {
    uint32_t first = 0, count = 0;
  };
  bool charge(size_t len);
  static uint32_t bit(HeaderName name) { return uint32_t{1} << static_cast<unsigned>(name); }

  HeadLimits limits_;
  std::string arena_;
  std::vector<Field> fields_;
  // known_[name] is meaningful only when present_ has the name's bit, so a
  // new message clears one word, not the table.
  uint32_t present_ = 0;
  Known known_[kHeaderNames] = {};
  uint32_t target_off_ = 0, target_len_ = 0;
  bool in_name_ = false;
  HeadLimitError limit_error_ = HeadLimitError::kNone;
};

}  // namespace gourmet::core
