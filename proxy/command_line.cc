#include "proxy/command_line.h"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

namespace gourmet::proxy {

std::string usage() {
  return "usage: gourmet -c FILE [options]\n"
         "\n"
         "  -c, --config FILE     configuration file (YAML)\n"
         "      --check           validate the configuration, print a summary, exit 0 (valid) or "
         "2\n"
         "      --print-yaml      with --check: print the configuration as gourmet YAML (migrate "
         "a\n"
         "                        Gourmet TOML file)\n"
         "  -w, --workers N       worker threads (overrides server.workers; default: one per "
         "core)\n"
         "      --log-level LVL   debug | info | warn | error (default info)\n"
         "  -v, --version         print the version and exit\n"
         "  -h, --help            print this help and exit\n"
         "\n"
         "signals: SIGTERM/SIGINT drain and exit (a second one exits at once)\n";
}

core::Result<CommandLine> parseCommandLine(int argc, const char* const* argv) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (arg.starts_with("--") && arg.find('=') != std::string_view::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_inline = true;
    }
    auto take = [&](std::string_view flag) -> core::Result<std::string_view> {
      if (has_inline) return value;
      if (i + 1 >= argc) return core::fail(fmt::format("option {} needs a value", flag));
      return std::string_view(argv[++i]);
    };
    if (arg == "-c" || arg == "--config") {
      auto v = take(arg);
      if (!v) return tl::unexpected(v.error());
      cl.config_path = std::string(*v);
    } else if (arg == "--check") {
      cl.check = true;
    } else if (arg == "--print-yaml") {
      cl.print_yaml = true;
    } else if (arg == "-w" || arg == "--workers") {
      auto v = take(arg);
      if (!v) return tl::unexpected(v.error());
      uint32_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc() || end != v->data() + v->size() || n == 0 || n > 1024) {
        return core::fail(fmt::format("--workers must be an integer from 1 to 1024, got '{}'", *v));
      }
      cl.workers = n;
    } else if (arg == "--log-level") {
      auto v = take(arg);
      if (!v) return tl::unexpected(v.error());
      cl.log_level = core::parseLogLevel(*v);
      if (!cl.log_level) {
        return core::fail(
            fmt::format("--log-level must be debug, info, warn or error, got '{}'", *v));
      }
    } else if (arg == "-v" || arg == "--version") {
      cl.version = true;
    } else if (arg == "-h" || arg == "--help") {
      cl.help = true;
    } else {
      return core::fail(fmt::format("unknown option '{}' (see gourmet --help)", argv[i]));
    }
  }
  if (cl.print_yaml && !cl.check) return core::fail("--print-yaml goes with --check");
  if (!cl.help && !cl.version && cl.config_path.empty()) {
    return core::fail("no configuration file: use -c FILE (see gourmet --help)");
  }
  return cl;
}

}  // namespace gourmet::proxy
