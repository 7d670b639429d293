#include "core/server_registry.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include "balancers/hash.h"

namespace gourmet::core {

UpstreamServer::UpstreamServer(uint32_t id, std::string address, const sockaddr_storage& sockaddr)
    : id(id),
      address(std::move(address)),
      key(balancers::hashKey(this->address)),
      sockaddr(sockaddr) {}

std::shared_ptr<UpstreamServer> ServerRegistry::acquire(const std::string& address,
                                                        const sockaddr_storage& sockaddr) {
  // A name that now resolves elsewhere is a different server: new identity.
  std::string key = address + "|" + formatSockaddr(sockaddr);
  auto it = servers_.find(key);
  if (it != servers_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto server = std::make_shared<UpstreamServer>(next_id_++, address, sockaddr);
  if (it != servers_.end()) {
    it->second = server;
  } else {
    servers_.emplace(std::move(key), server);
  }
  // Expired entries are swept once the map has doubled since the last
  // sweep: amortised O(1) per acquire, where sweeping on every acquire made
  // a reload of n servers O(n^2). The map stays within twice the live count.
  if (servers_.size() >= 2 * live_at_sweep_ + 16) {
    std::erase_if(servers_, [](const auto& entry) { return entry.second.expired(); });
    live_at_sweep_ = servers_.size();
  }
  return server;
}

std::shared_ptr<UpstreamCounters> ServerRegistry::counters(const std::string& name) {
  std::weak_ptr<UpstreamCounters>& entry = counters_[name];
  if (auto live = entry.lock()) return live;
  auto fresh = std::make_shared<UpstreamCounters>();
  entry = fresh;
  // Upstreams are few and renamed rarely: sweep the dead names each time.
  std::erase_if(counters_, [](const auto& item) { return item.second.expired(); });
  return fresh;
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
