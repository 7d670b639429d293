#include "providers/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>

#include "providers/static_provider.h"

namespace gourmet::providers {
namespace {

constexpr std::array<std::string_view, 1> kNames = {"static"};

}  // namespace

core::Result<std::unique_ptr<Provider>> makeProvider(const core::UpstreamConfig& upstream) {
  if (upstream.provider == "static") return std::make_unique<StaticProvider>(upstream);
  return core::fail(fmt::format("{}unknown provider '{}' for upstream '{}' (known: {})",
                                upstream.provider_pos.prefix(), upstream.provider, upstream.name,
                                fmt::join(kNames, ", ")));
}

std::span<const std::string_view> providerNames() { return kNames; }

}  // namespace gourmet::providers
