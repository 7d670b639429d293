// Server identities: reused while the address and its resolution stay, and
// a key that depends on the address alone, so that processes with other
// reload histories still agree on it.

#include "core/server_registry.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "balancers/hash.h"

namespace gourmet::core {
namespace {

sockaddr_storage loopback(uint16_t port) {
  sockaddr_storage storage{};
  auto& in = reinterpret_cast<sockaddr_in&>(storage);
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in.sin_port = htons(port);
  return storage;
}

TEST(ServerRegistry, SameAddressSameIdentityWhileAlive) {
  ServerRegistry registry;
  auto a = registry.acquire("web:80", loopback(80));
  EXPECT_EQ(registry.acquire("web:80", loopback(80)), a);
  EXPECT_NE(registry.acquire("web:80", loopback(81)), a) << "resolved elsewhere: another server";
}

TEST(ServerRegistry, KeyDependsOnTheAddressNotOnHistory) {
  ServerRegistry fresh, used;
  for (int i = 0; i < 50; ++i) used.acquire("old-" + std::to_string(i) + ":80", loopback(80));
  auto one = fresh.acquire("api.internal:8080", loopback(8080));
  auto other = used.acquire("api.internal:8080", loopback(8080));
  EXPECT_NE(one->id, other->id);    // numbered by history...
  EXPECT_EQ(one->key, other->key);  // ...placed by address
  EXPECT_EQ(one->key, balancers::hashKey("api.internal:8080"));
}

TEST(ServerRegistry, ExpiredIdentitiesAreSweptAndTheMapStaysBounded) {
  ServerRegistry registry;
  std::vector<std::shared_ptr<UpstreamServer>> live;
  for (int reload = 0; reload < 20; ++reload) {
    std::vector<std::shared_ptr<UpstreamServer>> next;
    for (int i = 0; i < 100; ++i) {
      next.push_back(registry.acquire("s" + std::to_string(reload) + "-" + std::to_string(i) + ":1",
                                      loopback(1)));
    }
    live = std::move(next);  // the previous reload's servers expire
    // At most 200 are alive at once (old and new, mid-reload): the map holds
    // within twice that, plus the sweep's slack, however many reloads ran.
    EXPECT_LE(registry.size(), 2 * 200 + 16) << "reload " << reload;
  }
}

}  // namespace
}  // namespace gourmet::core
