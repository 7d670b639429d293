#include "balancers/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace gourmet::balancers {
namespace {

TEST(Registry, FindsRoundRobin) {
  const BalancerFactory* factory = findBalancer("round_robin");
  ASSERT_NE(factory, nullptr);
  const std::vector<Candidate> servers = {Candidate{.weight = 2}, Candidate{.weight = 1}};
  auto balancer = factory->create(servers, 0);
  ASSERT_NE(balancer, nullptr);
  EXPECT_EQ(balancer->pick(PickContext{}), 0u);
  EXPECT_EQ(balancer->pick(PickContext{}), 1u);
  EXPECT_EQ(balancer->pick(PickContext{}), 0u);
}

TEST(Registry, UnknownNameIsNull) {
  EXPECT_EQ(findBalancer("least_conn_typo"), nullptr);
  EXPECT_EQ(findBalancer(""), nullptr);
  EXPECT_EQ(findBalancer("Round_Robin"), nullptr);
}

TEST(Registry, NamesListEveryBalancer) {
  auto names = balancerNames();
  EXPECT_THAT(std::vector<std::string_view>(names.begin(), names.end()),
              ::testing::Contains("round_robin"));
  for (std::string_view name : names) EXPECT_NE(findBalancer(name), nullptr) << name;
}

}  // namespace
}  // namespace gourmet::balancers
