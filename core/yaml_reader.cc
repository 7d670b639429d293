#include "core/yaml_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "core/duration.h"

namespace gourmet::core {

const YamlEntry* YamlMap::find(std::string_view key) const {
  for (const YamlEntry& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

std::string formatSize(uint64_t bytes) {
  constexpr std::pair<uint64_t, std::string_view> kUnits[] = {
      {uint64_t{1} << 30, "GiB"}, {uint64_t{1} << 20, "MiB"}, {uint64_t{1} << 10, "KiB"}};
  for (const auto& [scale, unit] : kUnits) {
    if (bytes != 0 && bytes % scale == 0) return fmt::format("{}{}", bytes / scale, unit);
  }
  return fmt::to_string(bytes);
}

std::string_view describeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Scalar:
      return "a string";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

SourcePos YamlReader::pos(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return SourcePos{file_, 0, 0};
  return SourcePos{file_, mark.line + 1, mark.column + 1};
}

SourcePos YamlReader::pos(const YamlEntry& entry) const {
  return pos(entry.value.IsNull() ? entry.key_node : entry.value);
}

tl::unexpected<Error> YamlReader::error(const SourcePos& at, std::string_view message) const {
  return fail(at.prefix() + std::string(message));
}

Result<YamlMap> YamlReader::map(const YAML::Node& node, std::string_view what,
                                std::span<const std::string_view> allowed) const {
  return readMap(node, pos(node), what, &allowed);
}

Result<YamlMap> YamlReader::map(const YamlEntry& entry, std::string_view what,
                                std::span<const std::string_view> allowed) const {
  return readMap(entry.value, pos(entry), what, &allowed);
}

Result<YamlMap> YamlReader::mapOfNames(const YamlEntry& entry, std::string_view what) const {
  return readMap(entry.value, pos(entry), what, nullptr);
}

Result<YamlMap> YamlReader::readMap(const YAML::Node& node, const SourcePos& at,
                                    std::string_view what,
                                    const std::span<const std::string_view>* allowed) const {
  if (!node.IsMap()) {
    return error(at, fmt::format("{} must be a map, got {}", what, describeKind(node)));
  }
  YamlMap result{node, {}};
  for (const auto& pair : node) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      return error(pos(key),
                   fmt::format("keys in {} must be strings, got {}", what, describeKind(key)));
    }
    const std::string& name = key.Scalar();
    if (allowed != nullptr && std::find(allowed->begin(), allowed->end(), name) == allowed->end()) {
      return error(pos(key), fmt::format("unknown key '{}' in {} (allowed: {})", name, what,
                                         fmt::join(*allowed, ", ")));
    }
    // yaml-cpp keeps both copies of a repeated key and lookups see the first:
    // a silent surprise for whoever edited the second.
    if (const YamlEntry* first = result.find(name)) {
      const SourcePos first_pos = pos(first->key_node);
      return error(pos(key), fmt::format("duplicate key '{}' in {} (first at line {})", name, what,
                                         first_pos.line));
    }
    result.entries.push_back(YamlEntry{name, key, pair.second});
  }
  return result;
}

Result<const YamlEntry*> YamlReader::findEither(const YamlMap& map, std::string_view what,
                                                std::string_view key,
                                                std::string_view alias) const {
  const YamlEntry* a = map.find(key);
  const YamlEntry* b = map.find(alias);
  if (a != nullptr && b != nullptr) {
    const YamlEntry* second = pos(a->key_node).line > pos(b->key_node).line ? a : b;
    return error(pos(second->key_node),
                 fmt::format("{} has both '{}' and '{}' (aliases of one setting: keep one)", what,
                             key, alias));
  }
  return a != nullptr ? a : b;
}

Result<void> YamlReader::setBool(const YamlEntry& entry, bool& out) const {
  const std::string& text = entry.value.Scalar();  // "" for a non-scalar
  if (entry.value.IsScalar()) {
    for (std::string_view yes : {"true", "True", "TRUE"}) {
      if (text == yes) {
        out = true;
        return {};
      }
    }
    for (std::string_view no : {"false", "False", "FALSE"}) {
      if (text == no) {
        out = false;
        return {};
      }
    }
  }
  return error(pos(entry),
               fmt::format("{} must be true or false, got {}", entry.key,
                           entry.value.IsScalar() ? fmt::format("'{}'", text)
                                                  : std::string(describeKind(entry.value))));
}

Result<void> YamlReader::setString(const YamlEntry& entry, std::string& out) const {
  if (!entry.value.IsScalar()) {
    return error(pos(entry),
                 fmt::format("{} must be a string, got {}", entry.key, describeKind(entry.value)));
  }
  out = entry.value.Scalar();
  return {};
}

Result<int64_t> YamlReader::integer(const YamlEntry& entry, int64_t min, int64_t max) const {
  const std::string_view expected = min == 0 ? "a non-negative integer" : "an integer";
  if (!entry.value.IsScalar()) {
    return error(pos(entry), fmt::format("{} must be {}, got {}", entry.key, expected,
                                         describeKind(entry.value)));
  }
  const std::string& text = entry.value.Scalar();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool whole = end == text.data() + text.size();
  if (ec == std::errc::result_out_of_range && whole) {
    return error(pos(entry), fmt::format("{} {} out of range ({}-{})", entry.key, text, min, max));
  }
  if (ec != std::errc() || !whole || text.empty() || (min == 0 && value < 0)) {
    return error(pos(entry), fmt::format("{} must be {}, got '{}'", entry.key, expected, text));
  }
  if (value < min || value > max) {
    return error(pos(entry), fmt::format("{} {} out of range ({}-{})", entry.key, value, min, max));
  }
  return value;
}

Result<void> YamlReader::setDuration(const YamlEntry& entry, Millis& out) const {
  if (!entry.value.IsScalar()) {
    return error(pos(entry), fmt::format("{} must be a duration, got {}", entry.key,
                                         describeKind(entry.value)));
  }
  auto parsed = parseDuration(entry.value.Scalar());
  if (!parsed) return error(pos(entry), fmt::format("{}: {}", entry.key, parsed.error().message));
  out = *parsed;
  return {};
}

Result<void> YamlReader::setSize(const YamlEntry& entry, uint64_t min, uint64_t max,
                                 uint64_t& out) const {
  if (!entry.value.IsScalar()) {
    return error(pos(entry),
                 fmt::format("{} must be a size, got {}", entry.key, describeKind(entry.value)));
  }
  const std::string& text = entry.value.Scalar();
  const size_t digits = std::min(text.find_first_not_of("0123456789"), text.size());
  const std::string_view unit = std::string_view(text).substr(digits);
  uint64_t scale = 0;
  if (unit.empty()) scale = 1;
  if (unit == "k" || unit == "K" || unit == "KiB") scale = uint64_t{1} << 10;
  if (unit == "m" || unit == "M" || unit == "MiB") scale = uint64_t{1} << 20;
  if (unit == "g" || unit == "G" || unit == "GiB") scale = uint64_t{1} << 30;
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (digits == 0 || scale == 0 || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return error(pos(entry),
                 fmt::format("{} must be a size (bytes, or a number with k/K/KiB, m/M/MiB or "
                             "g/G/GiB), got '{}'",
                             entry.key, text));
  }
  if (ec == std::errc::result_out_of_range || number > max / scale || number * scale < min) {
    return error(pos(entry), fmt::format("{} {} out of range ({}-{})", entry.key, text,
                                         formatSize(min), formatSize(max)));
  }
  out = number * scale;
  return {};
}

Result<void> YamlReader::setPositiveDuration(const YamlEntry& entry, Millis& out) const {
  Millis value{};
  if (auto done = setDuration(entry, value); !done) return done;
  if (value <= Millis{0}) {
    return error(pos(entry),
                 fmt::format("{} {} out of range (> 0)", entry.key, entry.value.Scalar()));
  }
  out = value;
  return {};
}

Result<double> YamlReader::number(const YamlEntry& entry) const {
  if (!entry.value.IsScalar()) {
    return error(pos(entry),
                 fmt::format("{} must be a number, got {}", entry.key, describeKind(entry.value)));
  }
  const std::string& text = entry.value.Scalar();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return error(pos(entry), fmt::format("{} must be a number, got '{}'", entry.key, text));
  }
  return value == 0 ? 0.0 : value;  // no -0 in the model
}

Result<void> YamlReader::setNumber(const YamlEntry& entry, double min, double max,
                                   double& out) const {
  auto value = number(entry);
  if (!value) return tl::unexpected(value.error());
  if (*value < min || *value > max) {
    const std::string range =
        std::isinf(max) ? fmt::format(">= {}", min) : fmt::format("{}-{}", min, max);
    return error(pos(entry),
                 fmt::format("{} {} out of range ({})", entry.key, entry.value.Scalar(), range));
  }
  out = *value;
  return {};
}

Result<void> YamlReader::setPositiveNumber(const YamlEntry& entry, double& out) const {
  auto value = number(entry);
  if (!value) return tl::unexpected(value.error());
  if (*value <= 0) {
    return error(pos(entry),
                 fmt::format("{} {} out of range (> 0)", entry.key, entry.value.Scalar()));
  }
  out = *value;
  return {};
}

Result<void> YamlReader::expectSequence(const YamlEntry& entry) const {
  if (entry.value.IsSequence()) return {};
  return error(pos(entry),
               fmt::format("{} must be a sequence, got {}", entry.key, describeKind(entry.value)));
}

}  // namespace gourmet::core
