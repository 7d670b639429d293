#pragma once

// gourmet's command line. A small hand-written parser: six flags do not
// justify a dependency, and errors come back as values like config errors.

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace gourmet::proxy {

struct CommandLine {
  std::string config_path;
  bool check = false;
  bool print_yaml = false;  // with --check: print the config as gourmet YAML
  bool help = false;
  bool version = false;
  std::optional<uint32_t> workers;
  std::optional<core::LogLevel> log_level;
};

core::Result<CommandLine> parseCommandLine(int argc, const char* const* argv);

std::string usage();

}  // namespace gourmet::proxy
