#include "core/http_head.h"

namespace gourmet::core {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

namespace {

// Whether `name` spells `lower` (a lowercase name of letters and '-', of the
// same length) in any case. Cheaper than equalsIgnoreCase, as only one side
// needs folding: for a letter l, c | 0x20 == l exactly when c is l in either
// case; '-' must match as is.
bool spells(std::string_view name, std::string_view lower) {
  for (size_t i = 0; i < lower.size(); ++i) {
    const char l = lower[i];
    const char c = l >= 'a' ? static_cast<char>(name[i] | 0x20) : name[i];
    if (c != l) return false;
  }
  return true;
}

}  // namespace

HeaderName classifyHeaderName(std::string_view name) {
  auto is = [&](std::string_view lower) { return spells(name, lower); };
  switch (name.size()) {
    case 2:
      return is("te") ? HeaderName::kTe : HeaderName::kOther;
    case 3:
      return is("via") ? HeaderName::kVia : HeaderName::kOther;
    case 4:
      return is("host") ? HeaderName::kHost : HeaderName::kOther;
    case 6:
      switch (name[0] | 0x20) {
        case 'a':
          return is("accept") ? HeaderName::kAccept : HeaderName::kOther;
        case 'c':
          return is("cookie") ? HeaderName::kCookie : HeaderName::kOther;
        case 'e':
          return is("expect") ? HeaderName::kExpect : HeaderName::kOther;
        default:
          return HeaderName::kOther;
      }
    case 7:
      if (is("trailer")) return HeaderName::kTrailer;
      return is("upgrade") ? HeaderName::kUpgrade : HeaderName::kOther;
    case 10:
      if (is("connection")) return HeaderName::kConnection;
      return is("keep-alive") ? HeaderName::kKeepAlive : HeaderName::kOther;
    case 14:
      return is("content-length") ? HeaderName::kContentLength : HeaderName::kOther;
    case 15:
      return is("x-forwarded-for") ? HeaderName::kXForwardedFor : HeaderName::kOther;
    case 16:
      if (is("proxy-connection")) return HeaderName::kProxyConnection;
      return is("x-forwarded-host") ? HeaderName::kXForwardedHost : HeaderName::kOther;
    case 17:
      if (is("transfer-encoding")) return HeaderName::kTransferEncoding;
      return is("x-forwarded-proto") ? HeaderName::kXForwardedProto : HeaderName::kOther;
    default:
      return HeaderName::kOther;
  }
}

void MessageHead::clear() {
  arena_.clear();
  fields_.clear();
  present_ = 0;
  target_off_ = target_len_ = 0;
  in_name_ = false;
  limit_error_ = HeadLimitError::kNone;
}

bool MessageHead::charge(size_t len) {
  if (arena_.size() + len - target_len_ > limits_.max_header_bytes) {
    limit_error_ = HeadLimitError::kHeadersTooLarge;
    return false;
  }
  return true;
}

bool MessageHead::appendTarget(const char* data, size_t len) {
  if (target_len_ + len > limits_.max_target) {
    limit_error_ = HeadLimitError::kTargetTooLong;
    return false;
  }
  target_off_ = 0;  // the target always comes first in the arena
  arena_.append(data, len);
  target_len_ += static_cast<uint32_t>(len);
  return true;
}

bool MessageHead::appendName(const char* data, size_t len) {
  if (!in_name_) {
    if (fields_.size() >= limits_.max_headers) {
      limit_error_ = HeadLimitError::kHeadersTooLarge;
      return false;
    }
    fields_.push_back({static_cast<uint32_t>(arena_.size()), 0, 0, 0});
    in_name_ = true;
  }
  if (!charge(len)) return false;
  arena_.append(data, len);
  fields_.back().name_len += static_cast<uint32_t>(len);
  return true;
}

void MessageHead::nameComplete() {
  in_name_ = false;
  if (fields_.empty()) return;
  Field& field = fields_.back();
  field.value_off = static_cast<uint32_t>(arena_.size());
  field.kind = classifyHeaderName({arena_.data() + field.name_off, field.name_len});
  if (field.kind == HeaderName::kOther) return;
  Known& known = known_[static_cast<size_t>(field.kind)];
  if ((present_ & bit(field.kind)) == 0) {
    present_ |= bit(field.kind);
    known = {static_cast<uint32_t>(fields_.size() - 1), 0};
  }
  ++known.count;
}

bool MessageHead::appendValue(const char* data, size_t len) {
  if (fields_.empty()) return true;
  if (!charge(len)) return false;
  arena_.append(data, len);
  fields_.back().value_len += static_cast<uint32_t>(len);
  return true;
}

void MessageHead::valueComplete() {
  if (fields_.empty()) return;
  // llhttp drops leading whitespace; trailing whitespace is not part of the value.
  Field& field = fields_.back();
  while (field.value_len > 0) {
    char c = arena_[field.value_off + field.value_len - 1];
    if (c != ' ' && c != '\t') break;
    --field.value_len;
  }
}

std::string_view MessageHead::name(size_t i) const {
  return {arena_.data() + fields_[i].name_off, fields_[i].name_len};
}

std::string_view MessageHead::value(size_t i) const {
  return {arena_.data() + fields_[i].value_off, fields_[i].value_len};
}

std::optional<std::string_view> MessageHead::find(std::string_view wanted) const {
  HeaderName kind = classifyHeaderName(wanted);
  if (kind != HeaderName::kOther) return find(kind);
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].kind == HeaderName::kOther && equalsIgnoreCase(name(i), wanted)) {
      return value(i);
    }
  }
  return std::nullopt;
}

size_t MessageHead::count(std::string_view wanted) const {
  HeaderName kind = classifyHeaderName(wanted);
  if (kind != HeaderName::kOther) return count(kind);
  size_t n = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    n += fields_[i].kind == HeaderName::kOther && equalsIgnoreCase(name(i), wanted) ? 1 : 0;
  }
  return n;
}

bool MessageHead::connectionHas(std::string_view token) const {
  bool found = false;
  forEach(HeaderName::kConnection, [&](size_t i) {
    forEachToken(value(i),
                 [&](std::string_view t) { found = found || equalsIgnoreCase(t, token); });
  });
  return found;
}

}  // namespace gourmet::core
