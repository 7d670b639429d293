#pragma once

// Providers by the name used in config (`provider: static`).

#include <memory>
#include <span>
#include <string_view>

#include "core/config.h"
#include "core/error.h"
#include "providers/provider.h"

namespace gourmet::providers {

// The provider an upstream names, or an error pointing at its `provider:` key.
core::Result<std::unique_ptr<Provider>> makeProvider(const core::UpstreamConfig& upstream);

std::span<const std::string_view> providerNames();

}  // namespace gourmet::providers
