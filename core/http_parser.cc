#include "core/http_parser.h"

namespace gourmet::core {

HttpParser::HttpParser(llhttp_type_t type, Events& events, HeadLimits limits)
    : type_(type),
      events_(events),
      head_(limits),
      syntax_(type == HTTP_REQUEST ? HeadSyntax::Kind::kRequest : HeadSyntax::Kind::kResponse) {
  reset();
}

void HttpParser::reset() {
  llhttp_init(&parser_, type_, &settings());
  parser_.data = this;
  head_.clear();
  syntax_.reset();
  content_length_ = 0;
  paused_for_syntax_ = false;
}

llhttp_errno_t HttpParser::execute(const char* data, size_t len) {
  if (syntax_.failed()) return HPE_STRICT;
  for (;;) {
    if (!syntax_.done()) {
      syntax_.scan(data, len);
      if (syntax_.failed()) return HPE_STRICT;  // nothing of this head reached llhttp
    }
    llhttp_errno_t err = llhttp_execute(&parser_, data, len);
    if (err != HPE_PAUSED || !paused_for_syntax_) return err;
    // A message ended inside `data` and its owner wants the next one: check
    // the next head before llhttp goes on with it.
    paused_for_syntax_ = false;
    const char* next = llhttp_get_error_pos(&parser_);
    llhttp_resume(&parser_);
    len -= static_cast<size_t>(next - data);
    data = next;
    if (len == 0) return HPE_OK;
  }
}

llhttp_errno_t HttpParser::finish() {
  llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_PAUSED && paused_for_syntax_) {
    paused_for_syntax_ = false;  // our own pause: nothing follows the close
    llhttp_resume(&parser_);
    return HPE_OK;
  }
  return err;
}

const llhttp_settings_t& HttpParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) {
      HttpParser& parser = self(p);
      parser.head_.clear();
      parser.events_.onMessageBegin();
      return 0;
    };
    s.on_url = [](llhttp_t* p, const char* at, size_t len) {
      return self(p).head_.appendTarget(at, len) ? 0 : -1;
    };
    s.on_status = [](llhttp_t* p, const char* at, size_t len) {
      return self(p).head_.appendTarget(at, len) ? 0 : -1;
    };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
      return self(p).head_.appendName(at, len) ? 0 : -1;
    };
    s.on_header_field_complete = [](llhttp_t* p) {
      self(p).head_.nameComplete();
      return 0;
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
      return self(p).head_.appendValue(at, len) ? 0 : -1;
    };
    s.on_header_value_complete = [](llhttp_t* p) {
      self(p).head_.valueComplete();
      return 0;
    };
    s.on_headers_complete = [](llhttp_t* p) {
      HttpParser& parser = self(p);
      parser.content_length_ = p->content_length;
      return parser.events_.onHeadersComplete();
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t len) {
      self(p).events_.onBody({at, len});
      return 0;
    };
    s.on_message_complete = [](llhttp_t* p) {
      HttpParser& parser = self(p);
      parser.syntax_.reset();  // whatever follows is the next message's head
      int rc = parser.events_.onMessageComplete();
      if (rc != 0) return rc;
      parser.paused_for_syntax_ = true;
      return static_cast<int>(HPE_PAUSED);
    };
    return s;
  }();
  return kSettings;
}

}  // namespace gourmet::core
