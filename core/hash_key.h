#pragma once

// Where the `hash` balancer's key comes from (`hash_on:` in config):
// the client address, the path, a header or a cookie. Parsed once on the
// main thread; read per request on the worker without allocating.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/http_head.h"

namespace gourmet::core {

struct HashKeySource {
  enum class Kind { kNone, kClientIp, kPath, kHeader, kCookie };
  Kind kind = Kind::kNone;
  std::string name;                        // header or cookie name
  HeaderName header = HeaderName::kOther;  // `name` classified, for kHeader

  // "" | client_ip | path | header:NAME | cookie:NAME
  static Result<HashKeySource> parse(std::string_view text);
};

// The request's key, or nullopt when it does not carry one (no such header
// or cookie): the balancer then falls back to its keyless choice.
std::optional<std::string_view> hashKeyOf(const HashKeySource& source, const MessageHead& request,
                                          std::string_view client_ip, std::string_view path);

}  // namespace gourmet::core
