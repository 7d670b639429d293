#pragma once

// One entry point for config files, whatever their format: the loader is
// picked by extension (".toml": Gourmet's TOML; ".yaml"/".yml": YAML), and a
// file with any other name is sniffed: TOML if its first line that is not
// blank or a comment is a TOML table header or `key = value`, YAML otherwise.
// Main thread only; never throws.

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

enum class ConfigFormat { kYaml, kToml };

// The format loadConfig would use for a file with this path and content.
ConfigFormat detectConfigFormat(std::string_view path, std::string_view text);

// Reads, parses and validates. Errors are "FILE: cannot read: <strerror>" or
// "FILE:LINE:COLUMN: message".
Result<Config> loadConfig(const std::string& path);

}  // namespace gourmet::core
