#include "providers/static_provider.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace gourmet::providers {

void StaticProvider::start(uv_loop_t&, OnUpdate on_update) {
  on_update(resolveServers(upstream_.servers));
}

Provider::ServerList resolveServers(std::span<const core::ServerConfig> servers) {
  std::vector<core::ResolvedServer> resolved;
  resolved.reserve(servers.size());
  for (const core::ServerConfig& server : servers) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    std::string port = std::to_string(server.port);
    int rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
      hints.ai_flags = AI_NUMERICSERV;  // AI_ADDRCONFIG hides loopback-only hosts
      rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found);
    }
    if (rc != 0 || found == nullptr) {
      return core::fail(fmt::format("{}cannot resolve server '{}': {}", server.pos.prefix(),
                                    server.host, gai_strerror(rc)));
    }
    core::ResolvedServer entry;
    entry.address = server.address;
    entry.weight = server.weight;
    std::memcpy(&entry.sockaddr, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    resolved.push_back(std::move(entry));
  }
  return resolved;
}

}  // namespace gourmet::providers
