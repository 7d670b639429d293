#include "core/request_path.h"

namespace gourmet::core {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 section 2.3.
bool isUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Appends the segment of `path` that starts at `begin` to `out`, decoding
// the escapes of unreserved characters. Returns where it ends in `path` (at
// its '/' or at the end), or npos for a broken escape.
size_t appendSegment(std::string_view path, size_t begin, std::string& out) {
  size_t i = begin;
  while (i < path.size() && path[i] != '/') {
    if (path[i] != '%') {
      out.push_back(path[i++]);
      continue;
    }
    int high = i + 2 < path.size() ? hexValue(path[i + 1]) : -1;
    int low = high >= 0 ? hexValue(path[i + 2]) : -1;
    if (low < 0) return std::string_view::npos;
    char decoded = static_cast<char>(high * 16 + low);
    if (isUnreserved(decoded)) {
      out.push_back(decoded);
    } else {
      out.append(path.substr(i, 3));
    }
    i += 3;
  }
  return i;
}

// The common case, checked in one pass: nothing to decode, no segment that
// may be a dot segment, no slashes to merge. Such a path is its own normal
// form. (A "/." that starts an ordinary name, "/.well-known", takes the
// long way; it gives the same answer.)
bool alreadyNormal(std::string_view path, bool merge_slashes) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%') return false;
    if (path[i] == '/' && i + 1 < path.size() &&
        (path[i + 1] == '.' || (merge_slashes && path[i + 1] == '/'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

PathStatus normalizeRequestPath(std::string_view path, bool merge_slashes, std::string& out) {
  out.clear();
  if (path.empty() || path[0] != '/' || alreadyNormal(path, merge_slashes)) {
    out.append(path);
    return PathStatus::kOk;
  }
  // `out` always ends with '/' between segments: "/" + every kept segment
  // followed by its '/'. Decoded bytes are never '/', so the previous
  // segment of `out` starts after its last-but-one '/'.
  out.push_back('/');
  size_t i = 1;
  for (;;) {
    const size_t start = out.size();
    const size_t end = appendSegment(path, i, out);
    if (end == std::string_view::npos) return PathStatus::kBadEscape;
    const bool last = end == path.size();
    const std::string_view segment(out.data() + start, out.size() - start);
    if (segment == ".") {
      out.resize(start);
    } else if (segment == "..") {
      out.resize(start);
      if (start == 1) return PathStatus::kAboveRoot;
      out.resize(out.rfind('/', start - 2) + 1);
    } else if (segment.empty()) {
      // "//" inside the path (a trailing '/' is already in `out`).
      if (!last && !merge_slashes) out.push_back('/');
    } else if (!last) {
      out.push_back('/');
    }
    if (last) return PathStatus::kOk;
    i = end + 1;
  }
}

}  // namespace gourmet::core
