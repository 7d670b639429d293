#pragma once

// Durations as operators write them in config files: "250ms", "5s", "2m",
// "1h", or a bare non-negative integer meaning seconds ("5"), as in
// Gourmet's configs. One number and one unit: no fractions, no "1m30s".

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

// The error message names the text but has no position: callers add it.
Result<Millis> parseDuration(std::string_view text);

// The shortest exact spelling that parseDuration reads back ("90s", "1h",
// "1500ms"). Negative durations never come from config; they print as ms.
std::string formatDuration(Millis duration);

}  // namespace gourmet::core
