#include "core/http_rewrite.h"

#include <array>

#include <fmt/format.h>

namespace gourmet::core {
namespace {

constexpr std::array<std::string_view, 7> kHopByHop = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "transfer-encoding",
};

bool dropFromMessage(const MessageHead& head, std::string_view name) {
  return isHopByHop(name) || head.connectionHas(name);
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Appends `addition` to every existing value of a list header (joined with
// ", "), so the proxy adds its element without dropping earlier hops.
void appendListHeader(const MessageHead& head, std::string_view name, std::string_view addition,
                      std::string& out) {
  out.append(name);
  out.append(": ");
  for (size_t i = 0; i < head.size(); ++i) {
    if (!equalsIgnoreCase(head.name(i), name) || head.value(i).empty()) continue;
    out.append(head.value(i));
    out.append(", ");
  }
  out.append(addition);
  out.append("\r\n");
}

}  // namespace

bool isHopByHop(std::string_view name) {
  for (std::string_view hop : kHopByHop) {
    if (equalsIgnoreCase(name, hop)) return true;
  }
  return false;
}

void writeUpstreamRequestHead(const MessageHead& client, const UpstreamRequest& request,
                              std::string& out) {
  out.clear();
  out.append(request.method);
  out.push_back(' ');
  out.append(request.path);
  out.append(request.query);
  out.append(" HTTP/1.1\r\n");
  appendHeader(out, "Host", request.host);
  for (size_t i = 0; i < client.size(); ++i) {
    std::string_view name = client.name(i);
    if (dropFromMessage(client, name) || equalsIgnoreCase(name, "host") ||
        equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "expect") ||
        equalsIgnoreCase(name, "x-forwarded-for") || equalsIgnoreCase(name, "x-forwarded-proto") ||
        equalsIgnoreCase(name, "x-forwarded-host") || equalsIgnoreCase(name, "via")) {
      continue;
    }
    appendHeader(out, name, client.value(i));
  }
  appendListHeader(client, "X-Forwarded-For", request.client_ip, out);
  appendHeader(out, "X-Forwarded-Proto", "http");
  if (!request.host.empty()) appendHeader(out, "X-Forwarded-Host", request.host);
  appendListHeader(client, "Via", request.client_http10 ? "1.0 gourmet" : "1.1 gourmet", out);
  if (request.body == BodyFraming::kContentLength) {
    out.append("Content-Length: ");
    fmt::format_to(std::back_inserter(out), "{}", request.content_length);
    out.append("\r\n");
  } else if (request.body == BodyFraming::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
}

void writeDownstreamResponseHead(const MessageHead& upstream, const DownstreamResponse& response,
                                 std::string& out) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} ", response.status);
  out.append(upstream.target());
  out.append("\r\n");
  bool rewrite_length =
      response.body == BodyFraming::kChunked || response.body == BodyFraming::kUntilClose;
  for (size_t i = 0; i < upstream.size(); ++i) {
    std::string_view name = upstream.name(i);
    if (dropFromMessage(upstream, name) || equalsIgnoreCase(name, "via")) continue;
    if (rewrite_length && equalsIgnoreCase(name, "content-length")) continue;
    appendHeader(out, name, upstream.value(i));
  }
  appendListHeader(upstream, "Via", response.upstream_http10 ? "1.0 gourmet" : "1.1 gourmet", out);
  if (response.body == BodyFraming::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  if (!response.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (response.client_http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

}  // namespace gourmet::core
