#include "core/http_parser.h"

namespace gourmet::core {

HttpParser::HttpParser(llhttp_type_t type, Events& events, HeadLimits limits)
    : type_(type), events_(events), head_(limits) {
  reset();
}

void HttpParser::reset() {
  llhttp_init(&parser_, type_, &settings());
  parser_.data = this;
  head_.clear();
  content_length_ = 0;
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
    s.on_message_complete = [](llhttp_t* p) { return self(p).events_.onMessageComplete(); };
    return s;
  }();
  return kSettings;
}

}  // namespace gourmet::core
