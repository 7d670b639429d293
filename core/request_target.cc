#include "core/request_target.h"

#include "core/http_head.h"

namespace gourmet::core {
namespace {

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

}  // namespace

bool parseRequestTarget(std::string_view target, std::string_view host, RequestTarget& out) {
  out.host = host;
  if (startsWithIgnoreCase(target, "http://") || startsWithIgnoreCase(target, "https://")) {
    target.remove_prefix(target.find("//") + 2);
    size_t end = target.find_first_of("/?");
    out.host = target.substr(0, end);
    if (out.host.empty() || out.host.find('@') != std::string_view::npos) return false;
    target = end == std::string_view::npos ? std::string_view() : target.substr(end);
    if (target.empty() || target[0] == '?') {
      out.path = "/";
      out.query = target;
      return true;
    }
  } else if (target == "*") {
    out.path = target;
    out.query = {};
    return true;
  } else if (target.empty() || target[0] != '/') {
    return false;
  }
  size_t question = target.find('?');
  out.path = target.substr(0, question);
  out.query = question == std::string_view::npos ? std::string_view() : target.substr(question);
  return true;
}

bool validHost(std::string_view host) {
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-._~:[]!$&'()*+,;=%").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace gourmet::core
