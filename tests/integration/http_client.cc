#include "tests/integration/http_client.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace gourmet::testing {

namespace {

constexpr size_t kSendBlock = 256 * 1024;

bool parseLength(const std::string& value, uint64_t& out) {
  if (value.empty() || value.size() > 18 || !std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return false;
  }
  out = std::stoull(value);
  return true;
}

}  // namespace

std::string buildRequest(std::string_view method, std::string_view target,
                         const HeaderList& headers, std::string_view body,
                         std::string_view version) {
  std::string out = fmt::format("{} {} {}\r\n", method, target, version);
  for (const auto& h : headers) out += fmt::format("{}: {}\r\n", h.name, h.value);
  if (!body.empty() && !findHeader(headers, "content-length") &&
      !findHeader(headers, "transfer-encoding")) {
    out += fmt::format("Content-Length: {}\r\n", body.size());
  }
  out += "\r\n";
  out += body;
  return out;
}

std::string getRequest(std::string_view target, std::string_view host) {
  return buildRequest("GET", target, {{"Host", std::string(host)}});
}

std::string encodeChunked(std::string_view body, size_t chunk_size) {
  std::string out;
  for (size_t off = 0; off < body.size(); off += chunk_size) {
    const auto part = body.substr(off, chunk_size);
    out += fmt::format("{:x}\r\n", part.size());
    out += part;
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

RawClient::RawClient(uint16_t port, Millis idle_timeout)
    : fd_(connectToLoopback(port, idle_timeout)), reader_(fd_, idle_timeout) {
  if (fd_ < 0) error_ = fmt::format("cannot connect to 127.0.0.1:{}", port);
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<Response> RawClient::failed(std::string message) {
  error_ = std::move(message);
  return std::nullopt;
}

bool RawClient::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  if (sendAll(fd_, bytes, 10s)) return true;
  error_ = "send failed";
  return false;
}

bool RawClient::sendPattern(uint64_t offset, uint64_t n) {
  std::string block(kSendBlock, '\0');
  for (uint64_t done = 0; done < n; done += block.size()) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(block.size(), n - done));
    fillPattern(offset + done, block.data(), len);
    if (!send(std::string_view(block.data(), len))) return false;
  }
  return true;
}

bool RawClient::sendPatternChunked(uint64_t n, size_t chunk_size) {
  std::string chunk;
  for (uint64_t done = 0; done < n; done += chunk_size) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(chunk_size, n - done));
    chunk = fmt::format("{:x}\r\n", len);
    chunk += patternBytes(done, len);
    chunk += "\r\n";
    if (!send(chunk)) return false;
  }
  return send("0\r\n\r\n");
}

bool RawClient::readHead(Response& r) {
  if (fd_ < 0) return false;
  std::string line;
  if (!reader_.readLine(line)) {
    error_ = "status line: " + reader_.error();
    return false;
  }
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(line[9])) || (line.size() > 12 && line[12] != ' ')) {
    error_ = fmt::format("bad status line: '{}'", line);
    return false;
  }
  r.version = line.substr(0, 8);
  r.status = std::stoi(line.substr(9, 3));
  r.reason = line.size() > 13 ? line.substr(13) : "";
  if (!reader_.readHeaders(r.headers)) {
    error_ = "response headers: " + reader_.error();
    return false;
  }
  return true;
}

std::optional<Response> RawClient::readResponse(bool to_head) {
  Response r;
  if (!readHead(r)) return std::nullopt;
  // RFC 9112 §6.3: HEAD, 1xx, 204 and 304 responses end with their head.
  if (to_head || r.status / 100 == 1 || r.status == 204 || r.status == 304) {
    r.framing = Framing::kNone;
    return r;
  }
  const auto te = headerTokens(r.headers, "transfer-encoding");
  const auto cl = findHeaders(r.headers, "content-length");
  if (!te.empty()) {
    if (!cl.empty()) return failed("response has both Transfer-Encoding and Content-Length");
    if (te.back() != "chunked") return failed("response transfer-encoding not ending in chunked");
    r.framing = Framing::kChunked;
    if (!reader_.readChunked(r.body, r.trailers)) return failed("chunked body: " + reader_.error());
    return r;
  }
  if (!cl.empty()) {
    uint64_t length = 0;
    if (cl.size() > 1 || !parseLength(cl[0], length)) {
      return failed(
          fmt::format("bad Content-Length: '{}'", *joinedHeader(r.headers, "content-length")));
    }
    r.framing = Framing::kContentLength;
    if (!reader_.readBody(length, r.body)) return failed("body: " + reader_.error());
    return r;
  }
  r.framing = Framing::kUntilClose;
  if (!reader_.readUntilClose(r.body)) return failed("close-delimited body: " + reader_.error());
  return r;
}

std::optional<Response> RawClient::readFinalResponse(bool to_head) {
  for (;;) {
    auto r = readResponse(to_head);
    if (!r || r->status >= 200) return r;
  }
}

std::optional<Response> RawClient::readHeadAndPartOfBody(uint64_t limit, BodyDigest& sink) {
  Response r;
  if (!readHead(r)) return std::nullopt;
  if (!findHeader(r.headers, "content-length") || findHeader(r.headers, "transfer-encoding")) {
    // Chunked or close-delimited: the stall test only needs the raw bytes.
    r.framing =
        findHeader(r.headers, "transfer-encoding") ? Framing::kChunked : Framing::kUntilClose;
    return r;
  }
  r.framing = Framing::kContentLength;
  if (!reader_.readBody(limit, sink)) return failed("body: " + reader_.error());
  return r;
}

bool RawClient::readRestOfBody(const Response& head, uint64_t already_read, BodyDigest& sink) {
  uint64_t length = 0;
  if (head.framing != Framing::kContentLength ||
      !parseLength(head.header("content-length").value_or(""), length) || length < already_read) {
    error_ = "readRestOfBody needs a Content-Length response";
    return false;
  }
  if (reader_.readBody(length - already_read, sink)) return true;
  error_ = "body: " + reader_.error();
  return false;
}

bool RawClient::waitForClose(Millis timeout) {
  if (fd_ < 0) return false;
  if (reader_.waitForClose(timeout)) return true;
  error_ = "expected close: " + reader_.error();
  return false;
}

std::optional<Response> roundTrip(uint16_t port, std::string_view request, std::string* error,
                                  bool to_head) {
  RawClient client(port);
  std::optional<Response> r;
  if (client.send(request)) r = client.readFinalResponse(to_head);
  if (!r && error) *error = client.error();
  return r;
}

std::vector<Response> pipeline(RawClient& client, const std::vector<std::string>& requests) {
  std::string all;
  for (const auto& r : requests) all += r;
  std::vector<Response> out;
  if (!client.send(all)) return out;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto r = client.readFinalResponse();
    if (!r) break;
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace gourmet::testing
