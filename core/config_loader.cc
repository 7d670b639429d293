#include "core/config_loader.h"

#include <algorithm>
#include <cctype>

#include "core/config_toml.h"
#include "core/config_yaml.h"

namespace gourmet::core {
namespace {

// `suffix` is lower case.
bool endsWithIgnoringCase(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(
      suffix.begin(), suffix.end(), text.end() - suffix.size(),
      [](char lower, char c) { return std::tolower(static_cast<unsigned char>(c)) == lower; });
}

bool isBareKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

// "[name]", "[[name]]" or "name = ..." (YAML would need "name: ...").
bool looksLikeToml(std::string_view line) {
  if (line.front() == '[') {
    const size_t open = line.find_first_not_of('[');
    const size_t close = line.find(']');
    if (open == std::string_view::npos || close == std::string_view::npos || close <= open) {
      return false;
    }
    const std::string_view key = line.substr(open, close - open);
    return std::all_of(key.begin(), key.end(), [](char c) {
      return isBareKeyChar(c) || c == ' ' || c == '"' || c == '\'';
    });
  }
  size_t key = 0;
  while (key < line.size() && isBareKeyChar(line[key])) ++key;
  const size_t equals = line.find_first_not_of(" \t", key);
  return key > 0 && equals != std::string_view::npos && line[equals] == '=';
}

}  // namespace

ConfigFormat detectConfigFormat(std::string_view path, std::string_view text) {
  if (endsWithIgnoringCase(path, ".toml")) return ConfigFormat::kToml;
  if (endsWithIgnoringCase(path, ".yaml") || endsWithIgnoringCase(path, ".yml")) {
    return ConfigFormat::kYaml;
  }
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos || line[start] == '#') continue;
    return looksLikeToml(line.substr(start)) ? ConfigFormat::kToml : ConfigFormat::kYaml;
  }
  return ConfigFormat::kYaml;
}

Result<Config> loadConfig(const std::string& path) {
  auto text = readConfigFile(path);
  if (!text) return tl::unexpected(text.error());
  if (detectConfigFormat(path, *text) == ConfigFormat::kToml) return parseTomlConfig(*text, path);
  return parseYamlConfig(*text, path);
}

}  // namespace gourmet::core
