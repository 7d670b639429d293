#include "tests/fuzz/fuzz_support.h"

#include <fmt/format.h>

namespace gourmet::fuzz {

Message headOf(const core::HttpParser& parser, llhttp_type_t type) {
  Message message;
  const core::MessageHead& head = parser.head();
  if (type == HTTP_REQUEST) {
    message.method = parser.methodName();
  } else {
    message.status = parser.status();
  }
  message.target = head.target();
  for (size_t i = 0; i < head.size(); ++i) {
    message.fields.push_back({std::string(head.name(i)), std::string(head.value(i))});
  }
  message.major = parser.httpMajor();
  message.minor = parser.httpMinor();
  message.chunked = parser.chunked();
  message.has_content_length = parser.hasContentLength();
  message.content_length = parser.contentLength();
  return message;
}

std::string escape(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n\n";
    } else if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string describe(const std::vector<Message>& messages) {
  std::string out;
  for (const Message& m : messages) {
    out += fmt::format("-- {}{} {} HTTP/{}.{} chunked={} cl={}/{} complete={} body={}B\n", m.method,
                       m.status == 0 ? "" : std::to_string(m.status), escape(m.target), m.major,
                       m.minor, m.chunked, m.has_content_length, m.content_length, m.complete,
                       m.body.size());
    for (const Field& f : m.fields)
      out += fmt::format("   {}: {}\n", escape(f.name), escape(f.value));
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool inList(std::string_view name, std::initializer_list<std::string_view> list) {
  for (std::string_view candidate : list) {
    if (equalsIgnoreCase(name, candidate)) return true;
  }
  return false;
}

bool connectionNames(const std::vector<Field>& fields, std::string_view name) {
  for (const Field& field : fields) {
    if (!equalsIgnoreCase(field.name, "connection")) continue;
    std::string_view rest = field.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      size_t first = token.find_first_not_of(" \t");
      size_t last = token.find_last_not_of(" \t");
      if (first != std::string_view::npos &&
          equalsIgnoreCase(token.substr(first, last - first + 1), name)) {
        return true;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool hopByHop(std::string_view name) {
  return inList(name, {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                       "transfer-encoding"});
}

std::string joinedWith(const std::vector<Field>& fields, std::string_view name,
                       std::string_view addition) {
  std::string out;
  for (const Field& field : fields) {
    if (!equalsIgnoreCase(field.name, name) || field.value.empty()) continue;
    out += field.value;
    out += ", ";
  }
  out += addition;
  return out;
}

Reparser::Reparser(llhttp_type_t type, bool head_response)
    : type_(type), head_response_(head_response), parser_(type, *this) {}

llhttp_errno_t Reparser::parse(std::string_view bytes, bool eof) {
  llhttp_errno_t err = parser_.execute(bytes.data(), bytes.size());
  if (err == HPE_OK && eof) err = parser_.finish();
  return err;
}

int Reparser::onHeadersComplete() {
  messages.push_back(headOf(parser_, type_));
  // As RFC 9112 6.3 has a client do (llhttp leaves it to the caller): a
  // response to HEAD, and any 1xx, 204 or 304, ends at its head.
  if (type_ != HTTP_RESPONSE) return 0;
  int status = parser_.status();
  return head_response_ || status / 100 == 1 || status == 204 || status == 304 ? 1 : 0;
}

int Reparser::onMessageComplete() {
  messages.back().complete = true;
  return 0;
}

}  // namespace gourmet::fuzz
