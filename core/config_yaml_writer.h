#pragma once

// Prints a Config as gourmet YAML that loads back to the same values, so
// `gourmet --check --print-yaml -c old.toml` turns a Gourmet TOML config into
// its YAML equivalent. Only values that differ from the defaults are written
// (servers' paths, locations' paths and upstreams always are); locations
// with Gourmet's semantics get `match: gourmet`; durations are spelled by
// formatDuration. Comments of the source file are not kept.

#include <string>

#include "core/config.h"

namespace gourmet::core {

std::string toYaml(const Config& config);

}  // namespace gourmet::core
