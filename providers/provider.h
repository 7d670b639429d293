#pragma once

// A source of servers for one upstream (static list, file, DNS, ...).
// Providers run on the main thread's loop only and never touch a worker:
// they hand whole server lists (or an error) to the snapshot builder.

#include <uv.h>

#include <functional>
#include <vector>

#include "core/error.h"
#include "core/snapshot.h"

namespace gourmet::providers {

class Provider {
 public:
  using ServerList = core::Result<std::vector<core::ResolvedServer>>;
  using OnUpdate = std::function<void(ServerList)>;

  virtual ~Provider() = default;

  // Main thread. Delivers the first list through `on_update` (possibly
  // before returning, usually later on `loop`: lookups run on libuv's
  // thread pool), and later ones as they change.
  virtual void start(uv_loop_t& loop, OnUpdate on_update) = 0;
  virtual void stop() {}
};

}  // namespace gourmet::providers
