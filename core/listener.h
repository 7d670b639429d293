#pragma once

// Listening sockets for the workers: one per worker, all bound to the same
// address with SO_REUSEPORT so the kernel spreads connections across them.
// They are opened on the main thread, so a bind failure is a start-up error
// and port 0 resolves to one real port that every worker shares.

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace gourmet::core {

struct ListenerSet {
  std::vector<int> fds;  // listening, non-blocking; one per worker
  uint16_t port = 0;     // the bound port (resolved when 0 was asked)
};

Result<ListenerSet> openListeners(const std::string& address, uint16_t port, size_t count);

}  // namespace gourmet::core
