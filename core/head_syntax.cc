#include "core/head_syntax.h"

#include <array>
#include <string_view>

namespace gourmet::core {
namespace {

// tchar (RFC 9110 section 5.6.2): the bytes of methods and field names.
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

constexpr bool visible(unsigned char c) { return c > 0x20 && c < 0x7f; }
// field-vchar / obs-text, plus the SP and HTAB allowed inside values and
// reason phrases.
constexpr bool fieldByte(unsigned char c) {
  return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}
constexpr std::array<bool, 256> kFieldByte = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = fieldByte(static_cast<unsigned char>(c));
  return table;
}();
constexpr bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kVersionShape = "HTTP/d.d";
// The one field whose trailing whitespace is refused: "chunked " is read as
// chunked by some parsers and as an unknown coding by others.
constexpr std::string_view kTransferEncoding = "transfer-encoding";
constexpr uint8_t kNoMatch = 0xff;

constexpr unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

}  // namespace

void HeadSyntax::reset() {
  state_ = State::kStart;
  version_pos_ = 0;
  digits_ = 0;
  target_seen_ = false;
  reason_ = "";
}

size_t HeadSyntax::fail(size_t at, const char* reason) {
  state_ = State::kFailed;
  reason_ = reason;
  return at;
}

size_t HeadSyntax::scan(const char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case State::kStart:
        if (c == '\r') {
          state_ = State::kStartLf;
        } else if (kind_ == Kind::kResponse) {
          state_ = State::kVersion;
          --i;  // the version starts here
        } else if (kToken[c]) {
          state_ = State::kMethod;
        } else {
          return fail(i, "invalid character in method");
        }
        break;
      case State::kStartLf:
        if (c != '\n') return fail(i, "CR not followed by LF");
        state_ = State::kStart;
        break;
      case State::kMethod:
        if (c == ' ') {
          state_ = State::kTarget;
        } else if (!kToken[c]) {
          return fail(i, "invalid character in method");
        }
        break;
      case State::kTarget: {
        size_t end = i;
        while (end < len && visible(static_cast<unsigned char>(data[end]))) ++end;
        if (end != i) {
          target_seen_ = true;
          if (end == len) return len;
          i = end;
        }
        if (data[i] != ' ') return fail(i, "invalid character in request target");
        if (!target_seen_) return fail(i, "empty request target");
        state_ = State::kVersion;
        break;
      }
      case State::kVersion: {
        const char want = kVersionShape[version_pos_];
        if (want == 'd' ? !digit(c) : c != static_cast<unsigned char>(want)) {
          return fail(i, "invalid HTTP version");
        }
        if (++version_pos_ == kVersionShape.size()) state_ = State::kVersionEnd;
        break;
      }
      case State::kVersionEnd:
        // A request line ends after the version; a status line goes on.
        if (kind_ == Kind::kRequest && c == '\r') {
          state_ = State::kLineLf;
        } else if (kind_ == Kind::kResponse && c == ' ') {
          state_ = State::kStatusCode;
        } else {
          return fail(i, "invalid HTTP version");
        }
        break;
      case State::kStatusCode:
        if (!digit(c)) return fail(i, "invalid status code");
        if (++digits_ == 3) state_ = State::kStatusEnd;
        break;
      case State::kStatusEnd:
        // "HTTP/1.1 200\r\n" without the SP is common enough to accept.
        if (c == '\r') {
          state_ = State::kLineLf;
        } else if (c == ' ') {
          state_ = State::kReason;
        } else {
          return fail(i, "invalid status code");
        }
        break;
      case State::kReason:
        if (c == '\r') {
          state_ = State::kLineLf;
        } else if (!fieldByte(c)) {
          return fail(i, "invalid character in reason phrase");
        }
        break;
      case State::kLineLf:
        if (c != '\n') return fail(i, "CR not followed by LF");
        state_ = State::kFieldStart;
        break;
      case State::kFieldStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (c == ' ' || c == '\t') {
          return fail(i, "obsolete line folding");
        } else if (kToken[c]) {
          state_ = State::kName;
          name_match_ = lower(c) == kTransferEncoding[0] ? 1 : kNoMatch;
        } else {
          return fail(i, c == ':' ? "empty header name" : "invalid character in header name");
        }
        break;
      case State::kName:
        if (c == ':') {
          state_ = State::kValue;
          if (name_match_ != kTransferEncoding.size()) name_match_ = kNoMatch;
          value_ends_in_space_ = false;
        } else if (kToken[c]) {
          if (name_match_ < kTransferEncoding.size() &&
              lower(c) == kTransferEncoding[name_match_]) {
            ++name_match_;
          } else {
            name_match_ = kNoMatch;
          }
        } else {
          return fail(i, c == ' ' || c == '\t' ? "whitespace before colon"
                                               : "invalid character in header name");
        }
        break;
      case State::kValue: {
        // Most bytes of a head are value bytes: skip them in a tight loop.
        size_t end = i;
        while (end < len && kFieldByte[static_cast<unsigned char>(data[end])]) ++end;
        if (end != i) {
          const char last = data[end - 1];
          value_ends_in_space_ = last == ' ' || last == '\t';
          if (end == len) return len;
          i = end;
        }
        const char b = data[i];
        if (b != '\r') return fail(i, b == '\n' ? "bare LF" : "invalid character in header value");
        if (value_ends_in_space_ && name_match_ != kNoMatch) {
          return fail(i, "whitespace after Transfer-Encoding");
        }
        state_ = State::kLineLf;
        break;
      }
      case State::kFinalLf:
        if (c != '\n') return fail(i, "CR not followed by LF");
        state_ = State::kDone;
        return i + 1;
      case State::kDone:
      case State::kFailed:
        return i;
    }
  }
  return len;
}

}  // namespace gourmet::core
