#include "core/http_rewrite.h"

#include <array>
#include <charconv>

namespace gourmet::core {
namespace {

// The headers the rewrite treats specially. Classified once per header by
// length first, so an ordinary header costs one switch and no comparison.
enum class HeaderKind : uint8_t {
  kOther,
  kHopByHop,
  kHost,
  kContentLength,
  kExpect,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kVia,
};

HeaderKind classify(std::string_view name) {
  auto is = [&](std::string_view lower) { return equalsIgnoreCase(name, lower); };
  switch (name.size()) {
    case 2:
      return is("te") ? HeaderKind::kHopByHop : HeaderKind::kOther;
    case 3:
      return is("via") ? HeaderKind::kVia : HeaderKind::kOther;
    case 4:
      return is("host") ? HeaderKind::kHost : HeaderKind::kOther;
    case 6:
      return is("expect") ? HeaderKind::kExpect : HeaderKind::kOther;
    case 7:
      return is("trailer") || is("upgrade") ? HeaderKind::kHopByHop : HeaderKind::kOther;
    case 10:
      return is("connection") || is("keep-alive") ? HeaderKind::kHopByHop : HeaderKind::kOther;
    case 14:
      return is("content-length") ? HeaderKind::kContentLength : HeaderKind::kOther;
    case 15:
      return is("x-forwarded-for") ? HeaderKind::kXForwardedFor : HeaderKind::kOther;
    case 16:
      if (is("proxy-connection")) return HeaderKind::kHopByHop;
      return is("x-forwarded-host") ? HeaderKind::kXForwardedHost : HeaderKind::kOther;
    case 17:
      if (is("transfer-encoding")) return HeaderKind::kHopByHop;
      return is("x-forwarded-proto") ? HeaderKind::kXForwardedProto : HeaderKind::kOther;
    default:
      return HeaderKind::kOther;
  }
}

// The header names a message's Connection headers list (RFC 9110 section
// 7.6.1): gathered once, so dropping them costs nothing when there are none.
class ConnectionTokens {
 public:
  explicit ConnectionTokens(const MessageHead& head) {
    for (size_t i = 0; i < head.size(); ++i) {
      if (head.name(i).size() != 10 || !equalsIgnoreCase(head.name(i), "connection")) continue;
      forEachToken(head.value(i), [&](std::string_view token) {
        if (count_ < tokens_.size())
          tokens_[count_++] = token;
        else
          overflow_ = true;
      });
    }
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
// ", "), so the proxy adds its element without dropping earlier hops.
void appendListHeader(const MessageHead& head, HeaderKind kind, bool present, std::string_view name,
                      std::string_view addition, std::string& out) {
  out.append(name);
  out.append(": ");
  for (size_t i = 0; present && i < head.size(); ++i) {
    if (head.value(i).empty() || classify(head.name(i)) != kind) continue;
    out.append(head.value(i));
    out.append(", ");
  }
  out.append(addition);
  out.append("\r\n");
}

}  // namespace

bool isHopByHop(std::string_view name) { return classify(name) == HeaderKind::kHopByHop; }

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
  bool has_xff = false, has_via = false;
  for (size_t i = 0; i < client.size(); ++i) {
    std::string_view name = client.name(i);
    switch (classify(name)) {
      case HeaderKind::kOther:
        if (!connection.names(name, client)) appendHeader(out, name, client.value(i));
        break;
      case HeaderKind::kXForwardedFor:
        has_xff = true;
        break;
      case HeaderKind::kVia:
        has_via = true;
        break;
      default:
        break;  // hop-by-hop, or rewritten below
    }
  }
  appendListHeader(client, HeaderKind::kXForwardedFor, has_xff && !request.replace_forwarded_for,
                   "X-Forwarded-For", request.client_ip, out);
  appendHeader(out, "X-Forwarded-Proto", request.proto);
  if (!request.host.empty()) appendHeader(out, "X-Forwarded-Host", request.host);
  appendListHeader(client, HeaderKind::kVia, has_via, "Via",
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
  bool has_via = false;
  for (size_t i = 0; i < upstream.size(); ++i) {
    std::string_view name = upstream.name(i);
    switch (classify(name)) {
      case HeaderKind::kHopByHop:
        break;
      case HeaderKind::kVia:
        has_via = true;
        break;
      case HeaderKind::kContentLength:
        if (!rewrite_length) appendHeader(out, name, upstream.value(i));
        break;
      default:
        if (!connection.names(name, upstream)) appendHeader(out, name, upstream.value(i));
        break;
    }
  }
  appendListHeader(upstream, HeaderKind::kVia, has_via, "Via",
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
