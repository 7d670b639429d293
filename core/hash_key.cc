#include "core/hash_key.h"

#include <fmt/format.h>

namespace gourmet::core {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The value of cookie `name` in a Cookie header value ("a=1; b=2").
std::optional<std::string_view> findCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semicolon = header.find(';');
    std::string_view pair = trim(header.substr(0, semicolon));
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      return pair.substr(equals + 1);
    }
    if (semicolon == std::string_view::npos) break;
    header.remove_prefix(semicolon + 1);
  }
  return std::nullopt;
}

}  // namespace

Result<HashKeySource> HashKeySource::parse(std::string_view text) {
  HashKeySource source;
  if (text.empty()) return source;
  if (text == "client_ip") {
    source.kind = Kind::kClientIp;
  } else if (text == "path") {
    source.kind = Kind::kPath;
  } else if (text.starts_with("header:") && text.size() > 7) {
    source.kind = Kind::kHeader;
    source.name = text.substr(7);
    source.header = classifyHeaderName(source.name);
  } else if (text.starts_with("cookie:") && text.size() > 7) {
    source.kind = Kind::kCookie;
    source.name = text.substr(7);
  } else {
    return fail(
        fmt::format("hash_on '{}' must be client_ip, path, header:NAME or cookie:NAME", text));
  }
  return source;
}

std::optional<std::string_view> hashKeyOf(const HashKeySource& source, const MessageHead& request,
                                          std::string_view client_ip, std::string_view path) {
  switch (source.kind) {
    case HashKeySource::Kind::kNone:
      return std::nullopt;
    case HashKeySource::Kind::kClientIp:
      return client_ip;
    case HashKeySource::Kind::kPath:
      return path;
    case HashKeySource::Kind::kHeader:
      return source.header != HeaderName::kOther ? request.find(source.header)
                                                 : request.find(source.name);
    case HashKeySource::Kind::kCookie: {
      std::optional<std::string_view> found;
      request.forEach(HeaderName::kCookie, [&](size_t i) {
        if (!found) found = findCookie(request.value(i), source.name);
      });
      return found;
    }
  }
  return std::nullopt;
}

}  // namespace gourmet::core
