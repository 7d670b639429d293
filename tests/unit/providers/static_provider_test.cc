#include "providers/static_provider.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>

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

// "bad..name" (an empty label) fails inside the C library without a DNS
// query: no test depends on the network's resolver.
TEST(StaticProvider, UnresolvableHostNamesItsPosition) {
  std::vector<core::ServerConfig> servers = {server("bad..name", 80)};
  auto list = resolveServers(servers);
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message.rfind("test.yaml:7:11: cannot resolve server 'bad..name': ", 0),
            0u)
      << list.error().message;
}

// Names are looked up on libuv's thread pool: the list arrives on the loop,
// after start() has returned, and running the loop is what delivers it.
TEST(StaticProvider, StartDeliversOnTheLoopAfterReturning) {
  core::UpstreamConfig upstream;
  upstream.name = "backend";
  upstream.servers = {server("127.0.0.1", 9001, 3), server("localhost", 9002)};
  StaticProvider provider(upstream);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int deliveries = 0;
  Provider::ServerList got = tl::unexpected(core::Error{"not delivered"});
  provider.start(loop, [&](Provider::ServerList list) {
    ++deliveries;
    got = std::move(list);
  });
  EXPECT_EQ(deliveries, 0) << "resolved on the caller's stack, not on the thread pool";
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(deliveries, 1);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ(core::formatSockaddr((*got)[0].sockaddr), "127.0.0.1:9001");
  EXPECT_EQ((*got)[0].weight, 3u);
  const auto second = core::formatSockaddr((*got)[1].sockaddr);
  EXPECT_TRUE(second == "127.0.0.1:9002" || second == "[::1]:9002") << second;
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(StaticProvider, AFailedLookupIsTheListsErrorWithItsPosition) {
  core::UpstreamConfig upstream;
  upstream.name = "backend";
  upstream.servers = {server("127.0.0.1", 9001), server("bad..name", 80)};
  StaticProvider provider(upstream);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::optional<Provider::ServerList> got;
  provider.start(loop, [&](Provider::ServerList list) { got = std::move(list); });
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_EQ(got->error().message.rfind("test.yaml:7:11: cannot resolve server 'bad..name': ", 0),
            0u)
      << got->error().message;
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(StaticProvider, NoServersDeliversAnEmptyList) {
  core::UpstreamConfig upstream;
  upstream.name = "empty";
  StaticProvider provider(upstream);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::optional<Provider::ServerList> got;
  provider.start(loop, [&](Provider::ServerList list) { got = std::move(list); });
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_TRUE(got && *got);
  EXPECT_TRUE((*got)->empty());
  EXPECT_EQ(uv_loop_close(&loop), 0);
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
