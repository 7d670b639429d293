#pragma once

// How long a request's body is, decided once from its head and refused when
// two parsers could read it differently (RFC 9112 section 6.3). llhttp
// settles some of these only after the head callback, when a server may
// already be picked; this runs first, before routing.

#include <string_view>

#include "core/http_head.h"

namespace gourmet::core {

struct FramingVerdict {
  int status = 0;                // 0 = acceptable
  std::string_view reason = "";  // a static string for the page and log
};

// Accepts no framing header, one Content-Length of digits, or one
// Transfer-Encoding field whose only coding is `chunked` (any case, leading
// whitespace). Refuses both together, repeated or listed lengths, any other
// or extra coding, odd whitespace after it, and Transfer-Encoding on HTTP/1.0.
FramingVerdict checkRequestFraming(const MessageHead& head, bool http10);

}  // namespace gourmet::core
