#include "core/request_framing.h"

namespace gourmet::core {
namespace {

constexpr FramingVerdict kBadFraming{400, "bad_framing"};

bool allDigits(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

FramingVerdict checkRequestFraming(const MessageHead& head, bool http10) {
  const size_t lengths = head.count(HeaderName::kContentLength);
  const size_t encodings = head.count(HeaderName::kTransferEncoding);
  if (lengths > 1 || (lengths == 1 && encodings > 0) || encodings > 1) return kBadFraming;
  if (lengths == 1 && !allDigits(*head.find(HeaderName::kContentLength))) return kBadFraming;
  if (encodings == 0) return {};
  std::string_view encoding = *head.find(HeaderName::kTransferEncoding);
  if (http10) return kBadFraming;  // section 6.1: faulty framing from a 1.0 client
  while (!encoding.empty() && (encoding.front() == ' ' || encoding.front() == '\t')) {
    encoding.remove_prefix(1);
  }
  if (equalsIgnoreCase(encoding, "chunked")) return {};
  // Ending in chunked after another coding is valid HTTP, but gourmet would
  // have to pass that coding on: say so (section 6.1: 501) rather than guess.
  size_t comma = encoding.rfind(',');
  if (comma != std::string_view::npos) {
    std::string_view last = encoding.substr(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
    if (equalsIgnoreCase(last, "chunked")) return {501, "unsupported_transfer_coding"};
  }
  return kBadFraming;
}

}  // namespace gourmet::core
