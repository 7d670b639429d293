#pragma once

// The servers listed in the config, resolved once when the config is loaded.
// Host names are resolved here, on the main thread: workers never do DNS.

#include <span>
#include <vector>

#include "core/config.h"
#include "providers/provider.h"

namespace gourmet::providers {

class StaticProvider final : public Provider {
 public:
  explicit StaticProvider(const core::UpstreamConfig& upstream) : upstream_(upstream) {}

  // Resolves and delivers the list before returning.
  void start(uv_loop_t& loop, OnUpdate on_update) override;

 private:
  core::UpstreamConfig upstream_;
};

// Resolves each server's host (first address returned); an error names the
// server's file:line:column.
Provider::ServerList resolveServers(std::span<const core::ServerConfig> servers);

}  // namespace gourmet::providers
