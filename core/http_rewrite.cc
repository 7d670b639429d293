#include "core/http_rewrite.h"

#include <array>
#include <charconv>

namespace gourmet::core {
namespace {

// RFC 9110 section 7.6.1, plus the pre-standard Proxy-Connection.
bool hopByHop(HeaderName name) {
  switch (name) {
    case HeaderName::kConnection:
    case HeaderName::kKeepAlive:
    case HeaderName::kProxyConnection:
    case HeaderName::kTe:
    case HeaderName::kTrailer:
    case HeaderName::kUpgrade:
    case HeaderName::kTransferEncoding:
      return true;
    default:
      return false;
  }
}

// The header names a message's Connection headers list (RFC 9110 section
// 7.6.1): gathered once, so dropping them costs nothing when there are none.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const MessageHead& head) {
    head.forEach(HeaderName::kConnection, [&](size_t i) {
      forEachToken(head.value(i), [&](std::string_view token) {
        if (count_ < tokens_.size()) {
          tokens_[count_++] = token;
        } else {
          overflow_ = true;
        }
      });
    });
  }
  bool names(std::string_view header, const MessageHead& head) const {
    for (size_t i = 0; i < count_; ++i) {
      if (equalsIgnoreCase(tokens_[i], header)) return true;
    }
    return overflow_ && head.connectionHas(header);  // more tokens than we keep: ask the head
  }

 private:
  std::array<std::string_view, 16> tokens_;
  size_t count_ = 0;
  bool overflow_ = false;
};

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void appendNumber(std::string& out, uint64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<size_t>(end - digits));
}

// Appends `addition` to every existing value of a list header (joined with
// ", "), so the proxy adds its element without dropping earlier hops. With
// `keep_existing` false, only `addition` is sent.
void appendListHeader(const MessageHead& head, HeaderName kind, bool keep_existing,
                      std::string_view name, std::string_view addition, std::string& out) {
  out.append(name);
  out.append(": ");
  if (keep_existing) {
    head.forEach(kind, [&](size_t i) {
      if (head.value(i).empty()) return;
      out.append(head.value(i));
      out.append(", ");
    });
  }
  out.append(addition);
  out.append("\r\n");
}

}  // namespace

bool isHopByHop(std::string_view name) { return hopByHop(classifyHeaderName(name)); }

void writeUpstreamRequestHead(const MessageHead& client, const UpstreamRequest& request,
                              std::string& out) {
  out.clear();
  out.append(request.method);
  out.push_back(' ');
  out.append(request.path);
  out.append(request.query);
  out.append(" HTTP/1.1\r\n");
  appendHeader(out, "Host", request.host);
  ConnectionTokens connection(client);
  for (size_t i = 0; i < client.size(); ++i) {
    switch (client.kind(i)) {
      case HeaderName::kOther:
      case HeaderName::kAccept:
      case HeaderName::kCookie:
        if (!connection.names(client.name(i), client)) {
          appendHeader(out, client.name(i), client.value(i));
        }
        break;
      default:
        break;  // hop-by-hop, or rewritten below
    }
  }
  appendListHeader(client, HeaderName::kXForwardedFor, !request.replace_forwarded_for,
                   "X-Forwarded-For", request.client_ip, out);
  appendHeader(out, "X-Forwarded-Proto", request.proto);
  if (!request.host.empty()) appendHeader(out, "X-Forwarded-Host", request.host);
  appendListHeader(client, HeaderName::kVia, true, "Via",
                   request.client_http10 ? "1.0 gourmet" : "1.1 gourmet", out);
  if (request.body == BodyFraming::kContentLength) {
    out.append("Content-Length: ");
    appendNumber(out, request.content_length);
    out.append("\r\n");
  } else if (request.body == BodyFraming::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
}

void writeDownstreamResponseHead(const MessageHead& upstream, const DownstreamResponse& response,
                                 std::string& out) {
  out.clear();
  out.append("HTTP/1.1 ");
  appendNumber(out, static_cast<uint64_t>(response.status));
  out.push_back(' ');
  out.append(response.reason);
  out.append("\r\n");
  bool rewrite_length =
      response.body == BodyFraming::kChunked || response.body == BodyFraming::kUntilClose;
  ConnectionTokens connection(upstream);
  for (size_t i = 0; i < upstream.size(); ++i) {
    const HeaderName kind = upstream.kind(i);
    if (hopByHop(kind) || kind == HeaderName::kVia) continue;  // Via: appended below
    if (kind == HeaderName::kContentLength) {
      if (!rewrite_length) appendHeader(out, upstream.name(i), upstream.value(i));
    } else if (!connection.names(upstream.name(i), upstream)) {
      appendHeader(out, upstream.name(i), upstream.value(i));
    }
  }
  appendListHeader(upstream, HeaderName::kVia, true, "Via",
                   response.upstream_http10 ? "1.0 gourmet" : "1.1 gourmet", out);
  if (response.body == BodyFraming::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  if (!response.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (response.client_http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

}  // namespace gourmet::core
