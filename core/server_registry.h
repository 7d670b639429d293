#pragma once

// The identity of an upstream server, shared by every worker and every
// snapshot that names it. It carries what workers share about it: requests
// in flight (so that least-loaded balancers see the whole process's load),
// open connections, and its health.
// Identities are kept alive by the snapshots that reference them and reused
// across reloads while the address stays the same.
//
// Two numbers name a server. `id` is unique within the process (pools and
// slow start are keyed by it) but depends on the order this process first
// met its servers. `key` depends only on the configured address, so two
// gourmet processes with the same config, whatever their reload history,
// give a server the same key: consistent hashing places servers by it.

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/server_health.h"

namespace gourmet::core {

struct UpstreamServer {
  UpstreamServer(uint32_t id, std::string address, const sockaddr_storage& sockaddr);

  const uint32_t id;          // unique for the life of the process
  const std::string address;  // "host:port" as configured
  const uint64_t key;         // balancers::hashKey(address): the same in every process
  const sockaddr_storage sockaddr;
  // Written by every worker: on its own cache line so it shares it with nothing.
  alignas(64) std::atomic<uint32_t> active{0};
  // Open connections to the server from every worker (circuit breaking's
  // max_connections); changes per connection, not per request.
  alignas(64) std::atomic<uint32_t> connections{0};
  // Read by every worker's eligibility check, written when the main thread
  // decides (core/server_health.h).
  alignas(64) ServerHealth health;
};

// What the workers share about one upstream (circuit breaking and the retry
// budget): requests in flight, requests waiting for a connection, retries in
// flight. Keyed by upstream name, so a reload keeps the counts.
struct UpstreamCounters {
  alignas(64) std::atomic<uint32_t> requests{0};
  alignas(64) std::atomic<uint32_t> pending{0};
  alignas(64) std::atomic<uint32_t> retries{0};
};

// Main thread only.
class ServerRegistry {
 public:
  // The live identity for this address and resolved socket address, or a new one.
  // O(log n): a snapshot of n servers builds in O(n log n).
  std::shared_ptr<UpstreamServer> acquire(const std::string& address,
                                          const sockaddr_storage& sockaddr);

  // The live counters of the upstream named `name`, or new ones.
  std::shared_ptr<UpstreamCounters> counters(const std::string& name);

  // Entries held, expired ones not yet swept included (for tests).
  size_t size() const { return servers_.size(); }

 private:
  std::map<std::string, std::weak_ptr<UpstreamServer>> servers_;
  std::map<std::string, std::weak_ptr<UpstreamCounters>> counters_;
  size_t live_at_sweep_ = 0;  // entries left by the last sweep
  uint32_t next_id_ = 0;
};

// "1.2.3.4:80" / "[::1]:80" for a resolved address.
std::string formatSockaddr(const sockaddr_storage& sockaddr);

}  // namespace gourmet::core
