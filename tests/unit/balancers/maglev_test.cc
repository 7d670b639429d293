#include "balancers/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "balancers/hash.h"
#include "balancers/random_stream.h"
#include "balancers/registry.h"
#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

constexpr uint32_t kTableSize = 65537;
constexpr size_t kKeys = 100000;

// Servers with ids first_id, first_id + 1, ... and the given weights; each
// one's key is the hash of a name made from its id ("server-<id>").
std::vector<Candidate> servers(std::vector<uint32_t> weights, uint32_t first_id = 1) {
  std::vector<Candidate> out;
  for (uint32_t weight : weights) {
    const std::string name = "server-" + std::to_string(first_id);
    out.push_back(Candidate{.id = first_id++, .key = hashKey(name), .weight = weight});
  }
  return out;
}

ServerSet set(const std::vector<Candidate>& candidates) {
  return ServerSet(candidates, SlowStart{}, nullptr, false, 0);
}

std::vector<uint64_t> keyHashes() {
  std::vector<uint64_t> hashes;
  RandomStream random(42, 0);
  for (size_t i = 0; i < kKeys; ++i) hashes.push_back(hashNumber(random.next()));
  return hashes;
}

// The id of the server each key maps to (ids, not indexes, so that sets
// listing servers differently can be compared).
std::vector<uint32_t> mapping(Maglev& maglev, const ServerSet& set,
                              const std::vector<uint64_t>& hashes) {
  std::vector<uint32_t> ids;
  for (uint64_t hash : hashes) {
    size_t server = maglev.lookup(hash);
    ids.push_back(server == kNoServer ? 0 : set.candidate(server).id);
  }
  return ids;
}

double movedFraction(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  size_t moved = 0;
  for (size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i];
  return static_cast<double>(moved) / static_cast<double>(a.size());
}

// Slots per server index, read back through lookup(slot).
std::vector<size_t> slotCounts(Maglev& maglev, size_t server_count) {
  std::vector<size_t> counts(server_count, 0);
  for (uint64_t slot = 0; slot < maglev.tableSize(); ++slot) ++counts[maglev.lookup(slot)];
  return counts;
}

TEST(Maglev, EqualWeightsShareTheTableWithinOneSlot) {
  auto candidates = servers(std::vector<uint32_t>(10, 1));
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  auto counts = slotCounts(maglev, 10);
  auto [low, high] = std::minmax_element(counts.begin(), counts.end());
  // Servers claim slots strictly in turn, so no one is more than one turn ahead.
  EXPECT_LE(*high - *low, 1u);
}

TEST(Maglev, RandomKeysSpreadEvenly) {
  auto candidates = servers(std::vector<uint32_t>(10, 1));
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  std::vector<size_t> counts(10, 0);
  for (uint64_t hash : keyHashes()) ++counts[maglev.pick({.hash = hash, .has_hash = true})];
  // 10,000 expected each; the standard deviation is 95, so 3% is > 3 sigma.
  for (size_t c : counts) EXPECT_NEAR(static_cast<double>(c), 10000.0, 300.0);
}

TEST(Maglev, WeightsGiveProportionalShares) {
  auto candidates = servers({1, 2, 3, 4});
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  auto counts = slotCounts(maglev, 4);
  for (size_t i = 0; i < 4; ++i) {
    double share = static_cast<double>(counts[i]) / kTableSize;
    EXPECT_NEAR(share, (i + 1) / 10.0, 0.001) << "server " << i;
  }
}

TEST(Maglev, WeightZeroGetsNoKeys) {
  // A drained server must neither crash the builder (pingora#1006) nor get keys.
  auto candidates = servers({1, 0, 1, 1});
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  EXPECT_EQ(slotCounts(maglev, 4)[1], 0u);
}

TEST(Maglev, NoEligibleServerPicksNothing) {
  auto candidates = servers({0, 0});
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  EXPECT_EQ(maglev.pick({.hash = 12345, .has_hash = true}), kNoServer);
  EXPECT_EQ(maglev.pick({}), kNoServer);

  std::vector<Candidate> none;
  ServerSet empty = set(none);
  Maglev nothing(empty, kTableSize);
  EXPECT_EQ(nothing.pick({.hash = 1, .has_hash = true}), kNoServer);
}

TEST(Maglev, RemovingOneOfTenMovesAboutATenth) {
  const auto hashes = keyHashes();
  auto ten = servers(std::vector<uint32_t>(10, 1));
  auto nine = servers(std::vector<uint32_t>(9, 1));  // ids 1..9: id 10 removed
  ServerSet s10 = set(ten), s9 = set(nine);
  Maglev before(s10, kTableSize), after(s9, kTableSize);
  auto a = mapping(before, s10, hashes), b = mapping(after, s9, hashes);
  double moved = movedFraction(a, b);
  // Server 10's own tenth must move; Maglev moves a little more than that.
  EXPECT_GE(moved, 0.09);
  EXPECT_LE(moved, 1.5 / 10 + 0.01);
  // Of the keys that were not on the removed server, few move.
  size_t others = 0, others_moved = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == 10) continue;
    ++others;
    others_moved += a[i] != b[i];
  }
  EXPECT_LE(static_cast<double>(others_moved) / static_cast<double>(others), 0.06);
}

TEST(Maglev, AddingAnEleventhMovesAboutAnEleventh) {
  const auto hashes = keyHashes();
  auto ten = servers(std::vector<uint32_t>(10, 1));
  auto eleven = servers(std::vector<uint32_t>(11, 1));
  ServerSet s10 = set(ten), s11 = set(eleven);
  Maglev before(s10, kTableSize), after(s11, kTableSize);
  double moved = movedFraction(mapping(before, s10, hashes), mapping(after, s11, hashes));
  EXPECT_GE(moved, 1.0 / 11 - 0.01);
  EXPECT_LE(moved, 1.5 / 11 + 0.01);
}

TEST(Maglev, MarkingAServerDownMovesOnlyAboutItsKeys) {
  const auto hashes = keyHashes();
  auto candidates = servers(std::vector<uint32_t>(10, 1));
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  auto before = mapping(maglev, s, hashes);
  s.markDown(3);  // id 4
  auto down = mapping(maglev, s, hashes);
  EXPECT_EQ(std::count(down.begin(), down.end(), 4u), 0);
  EXPECT_LE(movedFraction(before, down), 1.5 / 10 + 0.01);
  s.markUp(3, 1000);
  EXPECT_EQ(mapping(maglev, s, hashes), before);  // back where they were
}

TEST(Maglev, TwoWorkersMapEveryKeyAlike) {
  const auto hashes = keyHashes();
  const BalancerFactory* factory = findBalancer("hash");
  ASSERT_NE(factory, nullptr);
  auto candidates = servers({3, 1, 2, 1, 1});
  // Each worker builds its own ServerSet and balancer from the snapshot.
  ServerSet worker0_set = set(candidates), worker1_set = set(candidates);
  BalancerParams params{.seed = 7};
  auto worker0 = factory->create(worker0_set, params, 0);
  auto worker1 = factory->create(worker1_set, params, 5);
  for (uint64_t hash : hashes) {
    PickContext ctx{.hash = hash, .has_hash = true};
    ASSERT_EQ(worker0->pick(ctx), worker1->pick(ctx));
  }
}

TEST(Maglev, RebuildFromTheSameServersInAnyOrderGivesTheSameMapping) {
  const auto hashes = keyHashes();
  auto candidates = servers({1, 2, 1, 1, 3});
  ServerSet first = set(candidates);
  Maglev original(first, kTableSize);
  // A reload with an identical list, and one that lists the servers backwards.
  ServerSet same = set(candidates);
  Maglev rebuilt(same, kTableSize);
  std::vector<Candidate> reversed(candidates.rbegin(), candidates.rend());
  ServerSet backwards = set(reversed);
  Maglev reordered(backwards, kTableSize);
  auto expected = mapping(original, first, hashes);
  EXPECT_EQ(mapping(rebuilt, same, hashes), expected);
  EXPECT_EQ(mapping(reordered, backwards, hashes), expected);
}

TEST(Maglev, WithoutAKeyPicksByWeightAtRandom) {
  // A first visit has no session cookie yet: those requests must spread
  // over the servers by weight, not all land on the server of hash 0.
  const std::vector<uint32_t> weights = {3, 1, 0, 2};
  auto candidates = servers(weights);
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize, /*seed=*/7, /*worker_index=*/0);
  std::vector<size_t> counts(weights.size(), 0);
  for (int i = 0; i < 60000; ++i) {
    // has_hash false ignores whatever hash holds.
    const size_t server = maglev.pick({.hash = 99, .has_hash = false});
    ASSERT_LT(server, weights.size());
    ++counts[server];
  }
  EXPECT_EQ(counts[2], 0u) << "weight 0 was picked";
  EXPECT_LT(chiSquare(counts, {3, 1, 0, 2}), kChiSquare999[2]);
}

TEST(Maglev, ServersArePlacedByKeyNotById) {
  // The same servers (same keys) numbered in another order, as a process
  // with another reload history numbers them: every key maps alike.
  auto first = servers({1, 1, 1, 1, 1});
  auto renumbered = first;
  for (size_t i = 0; i < renumbered.size(); ++i) {
    renumbered[i].id = static_cast<uint32_t>(100 - i);
  }
  ServerSet a = set(first), b = set(renumbered);
  Maglev one(a, kTableSize), other(b, kTableSize);
  for (uint64_t slot = 0; slot < kTableSize; ++slot) {
    ASSERT_EQ(a.candidate(one.lookup(slot)).key, b.candidate(other.lookup(slot)).key) << slot;
  }
}

TEST(Maglev, TableSizeIsPrime) {
  EXPECT_TRUE(Maglev::isValidTableSize(65537));
  EXPECT_TRUE(Maglev::isValidTableSize(251));
  EXPECT_FALSE(Maglev::isValidTableSize(65536));
  EXPECT_FALSE(Maglev::isValidTableSize(1));
  EXPECT_FALSE(Maglev::isValidTableSize(0));
  EXPECT_FALSE(Maglev::isValidTableSize(uint64_t{Maglev::kMaxTableSize} + 2));
  EXPECT_TRUE(Maglev::isValidTableSize(Maglev::kMaxTableSize));
  EXPECT_EQ(Maglev::nextPrime(65536), 65537u);
  EXPECT_EQ(Maglev::nextPrime(0), 2u);

  auto candidates = servers({1, 1});
  ServerSet s = set(candidates);
  EXPECT_EQ(Maglev(s, 1000).tableSize(), 1009u);  // unvalidated sizes round up
  EXPECT_EQ(Maglev(s, 0).tableSize(), 2u);
}

TEST(Maglev, MoreServersThanSlotsStillFillsTheTable) {
  auto candidates = servers(std::vector<uint32_t>(20, 1));
  ServerSet s = set(candidates);
  Maglev maglev(s, 7);
  for (uint64_t slot = 0; slot < 7; ++slot) EXPECT_LT(maglev.lookup(slot), 20u);
}

TEST(Maglev, PicksAndRebuildsDoNotAllocate) {
  auto candidates = servers(std::vector<uint32_t>(10, 1));
  ServerSet s = set(candidates);
  Maglev maglev(s, kTableSize);
  const size_t before = countedAllocations();
  size_t sum = 0;
  for (uint64_t i = 0; i < 10000; ++i) sum += maglev.pick({.hash = i * 7919, .has_hash = true});
  s.markDown(2);  // the next pick rebuilds the table, into the same buffers
  sum += maglev.pick({.hash = 1, .has_hash = true});
  s.markUp(2, 0);
  sum += maglev.pick({});
  EXPECT_EQ(countedAllocations(), before);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace gourmet::balancers
