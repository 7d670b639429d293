#pragma once

// The request path as routing sees it: normalised the way RFC 3986 section
// 6.2.2 and nginx do, so that two spellings of one resource route alike and
// a regex anchored on a prefix (`^/public/`) cannot be stepped out of with
// `/public/../admin`.
//
//  - Percent-encoded unreserved characters (ALPHA DIGIT - . _ ~, hex digits
//    in either case) are decoded: `%41` is `A`, `%2e` is `.`.
//  - Every other escape, and every other byte, stays exactly as written. In
//    particular `%2F` is not a slash: it never splits a segment, so a name
//    that contains an encoded slash is still one segment.
//  - A '%' not followed by two hex digits is not a URI (section 2.1) and is
//    refused, as nginx does: otherwise "%%341" would decode to "%41", an
//    escape the origin would decode again.
//  - Dot segments are removed (section 5.2.4), after decoding, so `%2e%2e`
//    is `..`. A `..` with nothing left to remove climbs above the root:
//    that path names nothing on the origin and is refused.
//  - With `merge_slashes`, runs of `/` count as one (nginx's merge_slashes),
//    before dot segments are resolved.
//
// The result is never longer than the input, so a caller that reserved the
// input's length never allocates here.

#include <string>
#include <string_view>

namespace gourmet::core {

enum class PathStatus {
  kOk,
  kAboveRoot,  // a `..` segment climbed above `/`: a 400 bad_request_target
  kBadEscape,  // a '%' without two hex digits: a 400 bad_request_target
};

// Writes the normalised form of `path` (a request path without query) into
// `out`. A path that does not start with '/' (the asterisk form "*") is
// copied unchanged. Unless kOk, `out` holds no meaningful value.
PathStatus normalizeRequestPath(std::string_view path, bool merge_slashes, std::string& out);

}  // namespace gourmet::core
