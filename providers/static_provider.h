#pragma once

// The servers listed in the config, resolved when the config is loaded (at
// start-up and on every SIGHUP, whether or not the file changed). Host names
// are resolved on libuv's thread pool (uv_getaddrinfo), never on the loop
// that asked and never on a worker: a slow DNS server delays the reload, not
// the main loop's signals, admin or health checks.

#include <uv.h>

#include <memory>
#include <span>
#include <vector>

#include "core/config.h"
#include "providers/provider.h"

namespace gourmet::providers {

class StaticProvider final : public Provider {
 public:
  explicit StaticProvider(const core::UpstreamConfig& upstream);
  // Must not be destroyed while a resolution is in flight (before on_update).
  ~StaticProvider() override;

  // Starts resolving every server at once. `on_update` runs exactly once, on
  // `loop`, with the whole list or the first error in config order: after
  // start() has returned while names are looked up, or before it returns
  // when nothing had to be (no servers, or no request could start).
  void start(uv_loop_t& loop, OnUpdate on_update) override;
  // Cancels a resolution in flight: `on_update` then gets an error (once
  // the lookups already running on the thread pool have returned).
  void stop() override;

 private:
  struct Lookup;
  void finished();
  void deliver();

  core::UpstreamConfig upstream_;
  OnUpdate on_update_;
  std::vector<std::unique_ptr<Lookup>> lookups_;  // one per server, in config order
  size_t pending_ = 0;
  bool stopped_ = false;
};

// Blocking, for --check and tests: resolves each server's host (first
// address returned); an error names the server's file:line:column.
Provider::ServerList resolveServers(std::span<const core::ServerConfig> servers);

}  // namespace gourmet::providers
