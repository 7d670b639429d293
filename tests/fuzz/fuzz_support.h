#pragma once

// Shared pieces of the libFuzzer targets: an invariant check that aborts (so
// libFuzzer keeps the input as a crash artifact whatever NDEBUG says), a
// recording parser playing the next hop, and an independent statement of the
// hop-by-hop rules. The rules are written out again here on purpose rather
// than taken from core/http_rewrite.cc: a change there that lets a framing or
// hop-by-hop header through must disagree with something.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_parser.h"

namespace gourmet::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// A macro so the message names the broken condition.
#define FUZZ_CHECK(cond, detail)                         \
  do {                                                   \
    if (!(cond)) ::gourmet::fuzz::fail(#cond, (detail)); \
  } while (0)

struct Field {
  std::string name;
  std::string value;
  bool operator==(const Field&) const = default;
};

// One message as a parser saw it, copied out of the parser's arena.
struct Message {
  std::string method;  // requests
  int status = 0;      // responses
  std::string target;  // request target or reason phrase
  std::vector<Field> fields;
  std::string body;
  uint8_t major = 0, minor = 0;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool complete = false;
};

// Copies what a parser knows at on_headers_complete.
Message headOf(const core::HttpParser& parser, llhttp_type_t type);

// Readable dump for failure messages: the bytes escaped, then the messages.
std::string escape(std::string_view bytes);
std::string describe(const std::vector<Message>& messages);

bool equalsIgnoreCase(std::string_view a, std::string_view b);
bool inList(std::string_view name, std::initializer_list<std::string_view> list);
// Whether any Connection field of `fields` names `name` (RFC 9110 7.6.1).
bool connectionNames(const std::vector<Field>& fields, std::string_view name);
// RFC 9110 7.6.1 hop-by-hop fields, plus the framing field gourmet rewrites.
bool hopByHop(std::string_view name);
// Non-empty values of every `name` field joined with ", ", then `addition`:
// how a proxy appends its own element to X-Forwarded-For and Via.
std::string joinedWith(const std::vector<Field>& fields, std::string_view name,
                       std::string_view addition);

// The next hop: a fresh parser with default limits that records every
// message in `bytes`, the way an upstream (requests) or client (responses)
// would read what gourmet wrote.
class Reparser final : public core::HttpParser::Events {
 public:
  // `head_response`: the response answers a HEAD, so it has no body.
  Reparser(llhttp_type_t type, bool head_response);
  // Feeds `bytes`; with `eof`, then signals the end of the stream.
  llhttp_errno_t parse(std::string_view bytes, bool eof);

  std::vector<Message> messages;
  int begun = 0;

 private:
  void onMessageBegin() override { ++begun; }
  int onHeadersComplete() override;
  void onBody(std::string_view data) override { messages.back().body.append(data); }
  int onMessageComplete() override;

  llhttp_type_t type_;
  bool head_response_;
  core::HttpParser parser_;
};

}  // namespace gourmet::fuzz
