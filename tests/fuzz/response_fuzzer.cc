// libFuzzer target: upstream bytes -> HttpParser(HTTP_RESPONSE) as
// UpstreamConnection drives it -> the response gourmet would send the client
// (head from writeDownstreamResponseHead, body re-framed as
// ClientConnection::onUpstreamBody does) -> a fresh HttpParser.
//
// Input: byte 0 chooses the request the response answers (bit 0: HEAD,
// bit 1: HTTP/1.0 client, bit 2: client keep-alive off); the rest is what
// the upstream sent, then the upstream closes.
//
// Invariants: nothing crashes; every response the proxy passes on parses at
// the client as exactly ONE response with the same status, reason, header
// fields minus hop-by-hop (computed here independently) and the same body.

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_parser.h"
#include "core/http_rewrite.h"
#include "tests/fuzz/fuzz_support.h"

namespace gourmet::fuzz {
namespace {

using core::BodyFraming;

constexpr core::HeadLimits kLimits{.max_target = 512, .max_header_bytes = 2048, .max_headers = 24};

struct Request {
  bool head = false;
  bool http10 = false;
  bool keep_alive = true;
};

std::vector<Field> expectedFields(const Message& upstream, BodyFraming body, bool keep_alive,
                                  bool client_http10) {
  std::vector<Field> out;
  bool rewrite_length = body == BodyFraming::kChunked || body == BodyFraming::kUntilClose;
  for (const Field& f : upstream.fields) {
    if (equalsIgnoreCase(f.name, "content-length")) {
      // Framing, not a Connection option: kept while it still frames the
      // body (dropping it would leave a keep-alive response unframed).
      if (!rewrite_length) out.push_back(f);
      continue;
    }
    if (hopByHop(f.name) || connectionNames(upstream.fields, f.name) ||
        equalsIgnoreCase(f.name, "via")) {
      continue;
    }
    out.push_back(f);
  }
  bool upstream_http10 = upstream.major == 1 && upstream.minor == 0;
  out.push_back(
      {"Via", joinedWith(upstream.fields, "via", upstream_http10 ? "1.0 gourmet" : "1.1 gourmet")});
  if (body == BodyFraming::kChunked) out.push_back({"Transfer-Encoding", "chunked"});
  if (!keep_alive) {
    out.push_back({"Connection", "close"});
  } else if (client_http10) {
    out.push_back({"Connection", "keep-alive"});
  }
  return out;
}

class Upstream final : public core::HttpParser::Events {
 public:
  explicit Upstream(Request request) : request_(request) {}

  void run(const char* data, size_t size) {
    // UpstreamConnection::handleData, then handleEof.
    llhttp_errno_t err = parser_.execute(data, size);
    if (err == HPE_OK && head_done_ && !complete_ && parser_.needsEof()) err = parser_.finish();
    if (err != HPE_OK && err != HPE_PAUSED) return;  // 502 to the client
    if (!complete_) return;                          // cut short: the client connection is cut
    if (body_ == BodyFraming::kChunked) downstream_.append("0\r\n\r\n");
    check();
  }

 private:
  void onMessageBegin() override { informational_ = false; }

  int onHeadersComplete() override {
    // UpstreamConnection::onHeadersComplete.
    int status = parser_.status();
    if (status < 100 || status == 101) return -1;
    if (status < 200) {
      informational_ = true;
      return 1;
    }
    head_done_ = true;
    upstream_ = headOf(parser_, HTTP_RESPONSE);
    // ClientConnection::onUpstreamHead.
    if (request_.head || status == 204 || status == 304) {
      body_ = BodyFraming::kNone;
    } else if (parser_.hasContentLength()) {
      body_ = BodyFraming::kContentLength;
    } else {
      body_ = request_.http10 ? BodyFraming::kUntilClose : BodyFraming::kChunked;
    }
    keep_alive_ = request_.keep_alive && body_ != BodyFraming::kUntilClose;
    core::DownstreamResponse response{
        .status = status,
        .reason = parser_.head().target(),
        .body = body_,
        .keep_alive = keep_alive_,
        .client_http10 = request_.http10,
        .upstream_http10 = upstream_.major == 1 && upstream_.minor == 0,
    };
    core::writeDownstreamResponseHead(parser_.head(), response, scratch_);
    downstream_.append(scratch_);
    return body_ == BodyFraming::kNone ? 1 : 0;
  }

  // Everything UpstreamConnection::onBody hands the exchange goes to the
  // client, whichever message it belongs to: a body on a 1xx would too.
  void onBody(std::string_view data) override {
    if (!informational_) upstream_.body.append(data);
    if (body_ == BodyFraming::kChunked) {
      fmt::format_to(std::back_inserter(downstream_), "{:x}\r\n", data.size());
      downstream_.append(data);
      downstream_.append("\r\n");
    } else {
      downstream_.append(data);
    }
  }

  int onMessageComplete() override {
    if (informational_) return 0;
    complete_ = true;
    return HPE_PAUSED;
  }

  void check() {
    Reparser client(HTTP_RESPONSE, request_.head);
    llhttp_errno_t err = client.parse(downstream_, body_ == BodyFraming::kUntilClose);
    std::string detail = fmt::format("request head={} http10={} keep_alive={}\nupstream:\n",
                                     request_.head, request_.http10, request_.keep_alive) +
                         describe({upstream_}) + "downstream bytes:\n" + escape(downstream_) +
                         "\nclient parsed (" + llhttp_errno_name(err) + "):\n" +
                         describe(client.messages);
    FUZZ_CHECK(err == HPE_OK, detail);
    FUZZ_CHECK(client.begun == 1 && client.messages.size() == 1, detail);
    const Message& got = client.messages.front();
    FUZZ_CHECK(got.complete, detail);
    FUZZ_CHECK(got.status == upstream_.status, detail);
    // RFC 9112 section 4: status-code = 3DIGIT, whatever llhttp tolerates.
    FUZZ_CHECK(got.status >= 100 && got.status <= 999, detail);
    FUZZ_CHECK(got.target == upstream_.target, detail);
    FUZZ_CHECK(got.fields == expectedFields(upstream_, body_, keep_alive_, request_.http10),
               detail);
    FUZZ_CHECK(got.body == upstream_.body, detail);
  }

  Request request_;
  core::HttpParser parser_{HTTP_RESPONSE, *this, kLimits};
  Message upstream_;
  BodyFraming body_ = BodyFraming::kNone;
  std::string downstream_;  // every byte queued to the client, in order
  std::string scratch_;
  bool informational_ = false;
  bool head_done_ = false;
  bool complete_ = false;
  bool keep_alive_ = true;
};

}  // namespace
}  // namespace gourmet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  gourmet::fuzz::Request request{
      .head = (data[0] & 1) != 0,
      .http10 = (data[0] & 2) != 0,
      .keep_alive = (data[0] & 4) == 0,
  };
  gourmet::fuzz::Upstream upstream(request);
  upstream.run(reinterpret_cast<const char*>(data + 1), size - 1);
  return 0;
}
