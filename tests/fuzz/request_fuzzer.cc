// libFuzzer target: client bytes -> HttpParser(HTTP_REQUEST) -> the upstream
// request gourmet would write (head from writeUpstreamRequestHead, body
// re-framed as ClientConnection::forwardBody does) -> a fresh HttpParser.
//
// Invariants, checked for every request the proxy would forward:
//  - the upstream bytes are exactly ONE complete request, with nothing left
//    over (a second request there is request smuggling);
//  - same method, target (the forwarded path and query), header fields in
//    order, minus the ones the rewrite must drop and plus the ones it adds,
//    computed here independently of core/http_rewrite.cc;
//  - the same body bytes, framed as declared.
// Pipelined requests are handled the way ClientConnection does: pause at
// each message's end, then resume on the rest of the input.

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_parser.h"
#include "core/http_rewrite.h"
#include "core/request_framing.h"
#include "core/request_path.h"
#include "core/request_target.h"
#include "tests/fuzz/fuzz_support.h"

namespace gourmet::fuzz {
namespace {

using core::BodyFraming;

constexpr std::string_view kClientIp = "192.0.2.1";

// Small limits so that inputs of a few KiB reach the 414/431 paths too.
constexpr core::HeadLimits kLimits{.max_target = 512, .max_header_bytes = 2048, .max_headers = 24};

// The request gate of ClientConnection::startExchange (private there),
// restated around the shared core::parseRequestTarget: the invariants only
// concern requests the proxy forwards. Keep in step with client_exchange.cc.
struct Forward {
  std::string host, path, query;
};

bool gate(const Message& m, const core::MessageHead& head, Forward& out) {
  if (m.major != 1 || m.minor > 1) return false;
  if (core::checkRequestFraming(head, m.minor == 0).status != 0) return false;
  size_t hosts = 0;
  std::string_view host;
  for (const Field& f : m.fields) {
    if (!equalsIgnoreCase(f.name, "host")) continue;
    ++hosts;
    host = f.value;
  }
  if (hosts > 1 || (hosts == 0 && m.minor != 0)) return false;
  core::RequestTarget target;
  if (!core::parseRequestTarget(m.target, host, target) ||
      (target.path == "*" && m.method != "OPTIONS") || !core::validHost(target.host)) {
    return false;
  }
  // Routing's view of the path: a dot segment above the root or a broken
  // escape is a 400. What is kept is never longer and has no dot segment.
  std::string normalized;
  if (core::normalizeRequestPath(target.path, true, normalized) != core::PathStatus::kOk) {
    return false;
  }
  FUZZ_CHECK(normalized.size() <= target.path.size(), normalized);
  if (normalized.starts_with("/")) {
    const std::string ended = normalized + "/";  // so a last "." or ".." is a "/./" too
    FUZZ_CHECK(ended.find("/./") == std::string::npos, normalized);
    FUZZ_CHECK(ended.find("/../") == std::string::npos, normalized);
    FUZZ_CHECK(normalized.find("//") == std::string::npos, normalized);
  }
  for (const Field& f : m.fields) {
    if (equalsIgnoreCase(f.name, "expect") && !equalsIgnoreCase(f.value, "100-continue")) {
      return false;
    }
  }
  out = {std::string(target.host), std::string(target.path), std::string(target.query)};
  return true;
}

// What the upstream must see, by RFC 9110 7.6.1 and gourmet's documented
// rewrite: client fields in order minus hop-by-hop, Connection-named,
// framing and forwarding fields; then gourmet's own.
std::vector<Field> expectedFields(const Message& client, const Forward& forward, BodyFraming body) {
  std::vector<Field> out{{"Host", forward.host}};
  for (const Field& f : client.fields) {
    if (hopByHop(f.name) || connectionNames(client.fields, f.name) ||
        inList(f.name, {"host", "content-length", "expect", "x-forwarded-for", "x-forwarded-proto",
                        "x-forwarded-host", "via"})) {
      continue;
    }
    out.push_back(f);
  }
  out.push_back({"X-Forwarded-For", joinedWith(client.fields, "x-forwarded-for", kClientIp)});
  out.push_back({"X-Forwarded-Proto", "http"});
  if (!forward.host.empty()) out.push_back({"X-Forwarded-Host", forward.host});
  bool http10 = client.major == 1 && client.minor == 0;
  out.push_back({"Via", joinedWith(client.fields, "via", http10 ? "1.0 gourmet" : "1.1 gourmet")});
  if (body == BodyFraming::kContentLength) {
    out.push_back({"Content-Length", std::to_string(client.content_length)});
  } else if (body == BodyFraming::kChunked) {
    out.push_back({"Transfer-Encoding", "chunked"});
  }
  return out;
}

class Proxy final : public core::HttpParser::Events {
 public:
  // Returns when the proxy would stop reading: input used up, a rejected
  // request (answered locally, connection closed) or a parse error.
  void run(const uint8_t* data, size_t size) {
    const char* at = reinterpret_cast<const char*>(data);
    const char* end = at + size;
    while (!stopped_) {
      llhttp_errno_t err = parser_.execute(at, static_cast<size_t>(end - at));
      if (err != HPE_PAUSED || stopped_) break;
      at = parser_.errorPos();
      parser_.resume();
    }
  }

 private:
  int onHeadersComplete() override {
    client_ = headOf(parser_, HTTP_REQUEST);
    forward_ = {};
    if (!gate(client_, parser_.head(), forward_)) {
      stopped_ = true;  // 4xx/505 and close: nothing reaches an upstream
      return HPE_PAUSED;
    }
    body_ = client_.chunked              ? BodyFraming::kChunked
            : client_.has_content_length ? BodyFraming::kContentLength
                                         : BodyFraming::kNone;
    core::UpstreamRequest request{
        .method = client_.method,
        .path = forward_.path,
        .query = forward_.query,
        .host = forward_.host,
        .client_ip = kClientIp,
        .proto = "http",
        .client_http10 = client_.major == 1 && client_.minor == 0,
        .body = body_,
        .content_length = client_.content_length,
    };
    core::writeUpstreamRequestHead(parser_.head(), request, upstream_);
    return 0;
  }

  void onBody(std::string_view data) override {
    client_.body.append(data);
    if (body_ == BodyFraming::kChunked) {
      // As ClientConnection::forwardBody: one chunk per piece received.
      fmt::format_to(std::back_inserter(upstream_), "{:x}\r\n", data.size());
      upstream_.append(data);
      upstream_.append("\r\n");
    } else {
      upstream_.append(data);
    }
  }

  int onMessageComplete() override {
    if (body_ == BodyFraming::kChunked) upstream_.append("0\r\n\r\n");
    check();
    return HPE_PAUSED;  // as the proxy: answer this one before parsing the next
  }

  void check() {
    Reparser upstream(HTTP_REQUEST, false);
    llhttp_errno_t err = upstream.parse(upstream_, false);
    std::string detail = "client:\n" + describe({client_}) + "upstream bytes:\n" +
                         escape(upstream_) + "\nupstream parsed (" + llhttp_errno_name(err) +
                         "):\n" + describe(upstream.messages);
    // CONNECT ends in an upgrade pause; anything else must parse cleanly.
    FUZZ_CHECK(err == HPE_OK || (err == HPE_PAUSED_UPGRADE && client_.method == "CONNECT"), detail);
    FUZZ_CHECK(upstream.begun == 1 && upstream.messages.size() == 1, detail);
    const Message& got = upstream.messages.front();
    FUZZ_CHECK(got.complete, detail);
    FUZZ_CHECK(got.method == client_.method, detail);
    FUZZ_CHECK(got.target == forward_.path + forward_.query, detail);
    FUZZ_CHECK(got.major == 1 && got.minor == 1, detail);
    FUZZ_CHECK(got.fields == expectedFields(client_, forward_, body_), detail);
    FUZZ_CHECK(got.chunked == (body_ == BodyFraming::kChunked), detail);
    FUZZ_CHECK(got.body == client_.body, detail);
  }

  core::HttpParser parser_{HTTP_REQUEST, *this, kLimits};
  Message client_;
  Forward forward_;
  BodyFraming body_ = BodyFraming::kNone;
  std::string upstream_;
  bool stopped_ = false;
};

}  // namespace
}  // namespace gourmet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gourmet::fuzz::Proxy proxy;
  proxy.run(data, size);
  return 0;
}
