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

void MessageHead::clear() {
  arena_.clear();
  fields_.clear();
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
  if (!fields_.empty()) fields_.back().value_off = static_cast<uint32_t>(arena_.size());
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
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (equalsIgnoreCase(name(i), wanted)) return value(i);
  }
  return std::nullopt;
}

size_t MessageHead::count(std::string_view wanted) const {
  size_t n = 0;
  for (size_t i = 0; i < fields_.size(); ++i) n += equalsIgnoreCase(name(i), wanted) ? 1 : 0;
  return n;
}

bool MessageHead::connectionHas(std::string_view token) const {
  bool found = false;
  for (size_t i = 0; i < fields_.size() && !found; ++i) {
    if (!equalsIgnoreCase(name(i), "connection")) continue;
    forEachToken(value(i),
                 [&](std::string_view t) { found = found || equalsIgnoreCase(t, token); });
  }
  return found;
}

}  // namespace gourmet::core
