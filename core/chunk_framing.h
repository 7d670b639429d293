#pragma once

// The bits of chunked framing gourmet writes itself (RFC 9112 section 7.1):
// request and response bodies are re-chunked, one chunk per piece received.

#include <fmt/format.h>

#include <cstddef>
#include <string_view>

namespace gourmet::core {

inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// "1f4\r\n" for a chunk of 500 bytes, into `out`; returns its length.
inline size_t chunkSizeLine(size_t size, char (&out)[20]) {
  return fmt::format_to_n(out, sizeof out, "{:x}\r\n", size).size;
}

}  // namespace gourmet::core
