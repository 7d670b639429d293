#include "core/config.h"

#include <fmt/format.h>

namespace gourmet::core {

std::string SourcePos::prefix() const {
  if (line <= 0) return file.empty() ? std::string() : fmt::format("{}: ", file);
  return fmt::format("{}:{}:{}: ", file, line, column);
}

const UpstreamConfig* Config::findUpstream(std::string_view name) const {
  for (const auto& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

}  // namespace gourmet::core
