#pragma once

// The request target and Host, read the way RFC 9112 section 3.2 says:
// origin-form ("/path?query"), absolute-form ("http://host/path", whose
// authority replaces Host) and asterisk-form ("*", OPTIONS only). Anything
// else is refused rather than guessed at, so the upstream never sees a
// target it might read differently.

#include <string_view>

namespace gourmet::core {

struct RequestTarget {
  std::string_view host;   // the authority of an absolute-form target, else unchanged
  std::string_view path;   // starts with '/', or "*"
  std::string_view query;  // "?..." or empty
};

// Splits `target`; `host` is the Host header's value (kept unless the target
// is absolute-form). False for a target of no accepted form.
bool parseRequestTarget(std::string_view target, std::string_view host, RequestTarget& out);

// uri-host [ ":" port ] characters only (RFC 3986 reg-name, IP literals).
// Anything else in Host (spaces, '/', '@', control bytes) is ambiguous.
bool validHost(std::string_view host);

}  // namespace gourmet::core
