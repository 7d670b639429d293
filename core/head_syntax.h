#pragma once

// The line and field syntax of an HTTP/1.1 message head (RFC 9112 sections
// 2-5), checked byte by byte before llhttp sees the bytes. llhttp 8.1 (the
// version Debian ships) is built "loose": it accepts bare LF, obs-fold,
// whitespace before the colon and more, and cannot be made strict at run
// time. Two parsers that disagree on where a line or a message ends are what
// request smuggling is made of, so gourmet accepts only heads that every
// conforming parser reads the same way:
//
//   request-line = method SP request-target SP HTTP-version CRLF
//   status-line  = HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF
//   field-line   = field-name ":" OWS field-value OWS CRLF
//
// with method and field-name tokens, a target of visible ASCII, values of
// SP / HTAB / VCHAR / obs-text, CR only before LF, and no line folding.
// Leading empty lines before a request line are skipped (section 2.2).
// Transfer-Encoding may not end in whitespace ("chunked ").
// Everything after the head (body, chunk framing) is llhttp's.

#include <cstddef>
#include <cstdint>

namespace gourmet::core {

class HeadSyntax {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };

  explicit HeadSyntax(Kind kind) : kind_(kind) { reset(); }

  // The next byte starts a new message.
  void reset();

  // Checks `data` as the continuation of the head. Returns how many bytes of
  // it belong to the head: all of them while the head goes on, fewer once
  // its final CRLF has been seen (done()), or the offset of the offending
  // byte when it is invalid (failed(), with a reason).
  size_t scan(const char* data, size_t len);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  const char* reason() const { return reason_; }

 private:
  enum class State : uint8_t {
    kStart,       // before the first line: empty lines may come first
    kStartLf,     // CR of an empty leading line seen
    kMethod,      // request-line: method token
    kTarget,      // request-target
    kVersion,     // "HTTP/x.y", as many bytes as version_pos_ says
    kVersionEnd,  // CR (request) or SP (response)
    kStatusCode,  // status-line: three digits
    kStatusEnd,   // after the code: SP or CR
    kReason,      // reason-phrase
    kLineLf,      // CR seen at the end of a line: LF must follow
    kFieldStart,  // start of a field line, or the empty line ending the head
    kName,        // field-name token
    kValue,       // field-value up to CR
    kFinalLf,     // CR of the empty line seen
    kDone,
    kFailed,
  };

  size_t fail(size_t at, const char* reason);

  Kind kind_;
  State state_ = State::kStart;
  uint8_t version_pos_ = 0;  // bytes of "HTTP/x.y" seen
  uint8_t digits_ = 0;       // status-code digits seen
  bool target_seen_ = false;
  uint8_t name_match_ = 0;  // bytes of "transfer-encoding" matched, or 0xff
  bool value_ends_in_space_ = false;
  const char* reason_ = "";
};

}  // namespace gourmet::core
