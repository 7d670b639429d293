#include "balancers/maglev.h"

#include <algorithm>

#include "balancers/hash.h"

namespace gourmet::balancers {
namespace {

constexpr uint32_t kEmptySlot = UINT32_MAX;

// The two hash functions of a server's identity (Maglev's h1 and h2). Fixed
// seeds: they must be the same in every worker and every build.
constexpr uint64_t kOffsetSeed = 1;
constexpr uint64_t kSkipSeed = 2;

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

bool Maglev::isValidTableSize(uint64_t size) { return size <= kMaxTableSize && isPrime(size); }

uint32_t Maglev::nextPrime(uint32_t size) {
  uint32_t n = std::max<uint32_t>(size, 2);
  while (!isPrime(n)) ++n;
  return n;
}

Maglev::Maglev(const ServerSet& servers, uint32_t table_size, uint64_t seed, uint32_t worker_index)
    : servers_(servers),
      table_(nextPrime(std::min(table_size, kMaxTableSize)), kEmptySlot),
      order_(servers.size()),
      offset_(servers.size()),
      skip_(servers.size()),
      next_(servers.size()),
      credit_(servers.size()),
      keyless_(servers, seed, worker_index) {
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<uint32_t>(i);
  // Ties (the same address listed twice) keep config order.
  std::stable_sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    return servers.candidate(a).key < servers.candidate(b).key;
  });
  rebuild();
}

size_t Maglev::pick(const PickContext& ctx) {
  return ctx.has_hash ? lookup(ctx.hash) : keyless_.pick(ctx);
}

size_t Maglev::lookup(uint64_t hash) {
  // One compare per pick; the rebuild runs once per health change.
  if (servers_.generation() != built_generation_) rebuild();
  if (empty_) return kNoServer;
  return table_[hash % table_.size()];
}

void Maglev::rebuild() {
  built_generation_ = servers_.generation();
  const uint32_t size = static_cast<uint32_t>(table_.size());
  uint64_t max_weight = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (!servers_.eligible(i)) continue;
    max_weight = std::max<uint64_t>(max_weight, servers_.weight(i));
    const uint64_t key = servers_.candidate(i).key;
    // A skip in [1, M-1] is coprime with the prime M, so offset + j * skip
    // visits every slot once: each server's preference list is a full
    // permutation and the filling below always finds a free slot.
    offset_[i] = static_cast<uint32_t>(hashNumber(key, kOffsetSeed) % size);
    skip_[i] = static_cast<uint32_t>(hashNumber(key, kSkipSeed) % (size - 1) + 1);
    next_[i] = offset_[i];
    credit_[i] = 0;
  }
  empty_ = max_weight == 0;
  if (empty_) return;
  std::fill(table_.begin(), table_.end(), kEmptySlot);

  // Servers take turns in order of key, so that the same servers listed in
  // another order fill the same table. In round r a server of
  // weight w claims a slot when r * w has caught up with its claims so far
  // times max_weight, i.e. w turns per max_weight rounds (Envoy's weighted
  // Maglev). Integer arithmetic, so every build fills the same table.
  uint32_t filled = 0;
  for (uint64_t round = 0;; ++round) {
    for (uint32_t i : order_) {
      if (!servers_.eligible(i)) continue;
      if (round * servers_.weight(i) < credit_[i]) continue;
      credit_[i] += max_weight;
      uint32_t slot = next_[i];
      while (table_[slot] != kEmptySlot) {
        slot += skip_[i];
        if (slot >= size) slot -= size;
      }
      table_[slot] = i;
      slot += skip_[i];
      next_[i] = slot >= size ? slot - size : slot;
      if (++filled == size) return;
    }
  }
}

std::unique_ptr<Balancer> MaglevFactory::create(const ServerSet& servers,
                                                const BalancerParams& params,
                                                uint32_t worker_index) const {
  return std::make_unique<Maglev>(servers, params.table_size, params.seed, worker_index);
}

}  // namespace gourmet::balancers
