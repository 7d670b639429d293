#pragma once

// llhttp, strict (no lenient flags), for one direction of one connection,
// filling a MessageHead under HeadLimits and reporting the rest as events.
// Client connections parse requests with it, upstream connections responses,
// and the fuzz targets drive exactly the same code.

#include <llhttp.h>

#include <cstdint>
#include <string_view>

#include "core/head_syntax.h"
#include "core/http_head.h"

namespace gourmet::core {

class HttpParser {
 public:
  class Events {
   public:
    virtual void onMessageBegin() {}
    // Return 0 to go on, 1 when the message has no body whatever its
    // headers say (a response to HEAD), HPE_PAUSED to stop here, -1 to fail.
    virtual int onHeadersComplete() = 0;
    virtual void onBody(std::string_view data) = 0;
    // Return 0 to go on with the next message, or HPE_PAUSED.
    virtual int onMessageComplete() = 0;

   protected:
    ~Events() = default;
  };

  HttpParser(llhttp_type_t type, Events& events, HeadLimits limits = {});
  HttpParser(const HttpParser&) = delete;  // llhttp keeps a pointer to us
  HttpParser& operator=(const HttpParser&) = delete;

  // Forgets everything: the next byte starts a new message.
  void reset();
  // Parses `data`. Each head is first checked by HeadSyntax; a head it
  // rejects fails with HPE_STRICT before llhttp or the events see it.
  llhttp_errno_t execute(const char* data, size_t len);
  // End of input: completes a message delimited by the close.
  llhttp_errno_t finish();
  // After HPE_PAUSED: carry on from errorPos().
  void resume() { llhttp_resume(&parser_); }
  const char* errorPos() const { return llhttp_get_error_pos(&parser_); }
  const char* errorReason() const {
    return syntax_.failed() ? syntax_.reason() : llhttp_get_error_reason(&parser_);
  }

  MessageHead& head() { return head_; }
  const MessageHead& head() const { return head_; }

  // Facts about the current message, valid from onHeadersComplete on.
  llhttp_method_t method() const { return static_cast<llhttp_method_t>(parser_.method); }
  std::string_view methodName() const { return llhttp_method_name(method()); }
  int status() const { return parser_.status_code; }
  uint8_t httpMajor() const { return parser_.http_major; }
  uint8_t httpMinor() const { return parser_.http_minor; }
  bool chunked() const { return (parser_.flags & F_CHUNKED) != 0; }
  bool hasContentLength() const { return (parser_.flags & F_CONTENT_LENGTH) != 0; }
  // The declared Content-Length (captured at the head: llhttp counts it down).
  uint64_t contentLength() const { return content_length_; }
  bool shouldKeepAlive() const { return llhttp_should_keep_alive(&parser_) != 0; }
  bool needsEof() const { return llhttp_message_needs_eof(&parser_) != 0; }

 private:
  static HttpParser& self(llhttp_t* parser) { return *static_cast<HttpParser*>(parser->data); }
  static const llhttp_settings_t& settings();

  llhttp_t parser_{};
  llhttp_type_t type_;
  Events& events_;
  MessageHead head_;
  HeadSyntax syntax_;
  uint64_t content_length_ = 0;
  // on_message_complete pauses llhttp so that the next head in the same
  // buffer is checked too; this tells execute() the pause was its own.
  bool paused_for_syntax_ = false;
};

}  // namespace gourmet::core
