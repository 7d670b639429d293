#include "core/server_registry.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

namespace gourmet::core {

std::shared_ptr<UpstreamServer> ServerRegistry::acquire(const std::string& address,
                                                        const sockaddr_storage& sockaddr) {
  // A name that now resolves elsewhere is a different server: new identity.
  std::string key = address + "|" + formatSockaddr(sockaddr);
  if (auto it = servers_.find(key); it != servers_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto server = std::make_shared<UpstreamServer>(next_id_++, address, sockaddr);
  servers_[key] = server;
  std::erase_if(servers_, [](const auto& entry) { return entry.second.expired(); });
  return server;
}

std::string formatSockaddr(const sockaddr_storage& sockaddr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sockaddr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sockaddr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, ntohs(in6.sin6_port));
  }
  const auto& in4 = reinterpret_cast<const sockaddr_in&>(sockaddr);
  inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
  return fmt::format("{}:{}", text, ntohs(in4.sin_port));
}

}  // namespace gourmet::core
