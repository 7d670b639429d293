#include "providers/static_provider.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "providers/registry.h"

namespace gourmet::providers {
namespace {

core::ServerConfig server(std::string host, uint16_t port, uint32_t weight = 1) {
  core::ServerConfig config;
  config.host = host;
  config.port = port;
  config.address = fmt::format("{}:{}", host, port);
  config.weight = weight;
  config.pos = {"test.yaml", 7, 11};
  return config;
}

TEST(StaticProvider, ResolvesNumericAndLocalhost) {
  std::vector<core::ServerConfig> servers = {server("127.0.0.1", 9001, 5),
                                             server("localhost", 9002)};
  auto list = resolveServers(servers);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].address, "127.0.0.1:9001");
  EXPECT_EQ((*list)[0].weight, 5u);
  EXPECT_EQ(core::formatSockaddr((*list)[0].sockaddr), "127.0.0.1:9001");
  auto second = core::formatSockaddr((*list)[1].sockaddr);
  EXPECT_TRUE(second == "127.0.0.1:9002" || second == "[::1]:9002") << second;
}

TEST(StaticProvider, UnresolvableHostNamesItsPosition) {
  std::vector<core::ServerConfig> servers = {server("no-such-host.invalid", 80)};
  auto list = resolveServers(servers);
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message.rfind(
                "test.yaml:7:11: cannot resolve server 'no-such-host.invalid': ", 0),
            0u)
      << list.error().message;
}

TEST(StaticProvider, StartDeliversBeforeReturning) {
  core::UpstreamConfig upstream;
  upstream.name = "backend";
  upstream.servers = {server("127.0.0.1", 9001)};
  StaticProvider provider(upstream);
  bool delivered = false;
  uv_loop_t* loop = uv_default_loop();
  provider.start(*loop, [&](Provider::ServerList list) {
    delivered = true;
    EXPECT_TRUE(list);
  });
  EXPECT_TRUE(delivered);
}

TEST(ProviderRegistry, UnknownProviderIsAnErrorAtItsKey) {
  core::UpstreamConfig upstream;
  upstream.name = "backend";
  upstream.provider = "etcd";
  upstream.provider_pos = {"c.yaml", 4, 15};
  auto made = makeProvider(upstream);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().message,
            "c.yaml:4:15: unknown provider 'etcd' for upstream 'backend' (known: static)");
  upstream.provider = "static";
  EXPECT_TRUE(makeProvider(upstream));
}

}  // namespace
}  // namespace gourmet::providers
