#pragma once

// Maglev consistent hashing (`balancer: hash`), from Eisenbud et al.,
// "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI 2016,
// section 3.4, with weights as in Envoy's MaglevTable.
//
// When to use: a request should go to the same server as the other requests
// with the same key (client address, session cookie, path) — caches,
// sessions, shards — and adding or removing one of N servers should move
// only about 1/N of the keys. It ignores load, so prefer p2c or ewma when no
// stickiness is needed.
//
// How: every eligible server has a preference order over the M slots of a
// lookup table (M prime), a permutation given by an offset and a skip taken
// from two hashes of the server's identity. Servers take turns, in order of
// identity, claiming their next preferred free slot until the table is full; a server of weight
// w takes w turns for every max_weight turns of the heaviest server, so it
// ends up with about w / total_weight of the slots. A pick is then
// table[hash % M]: index arithmetic, no allocation, no search.
//
// Identity: Candidate::key, a hash of the server's configured address, so
// every worker, every reload and every gourmet process with the same config
// maps a key to the same server (a fleet of proxies behind one VIP agrees on
// where a session lives). Not Candidate::id: that numbers servers in the
// order one process first saw them, which depends on its reload history.
//
// Weights are the configured ones: slow start does not ramp the table, since
// rebuilding it as weights grow would move keys on every step. Servers of
// weight 0 or marked down get no slots. Eligibility changes bump
// ServerSet::generation(), and the next pick rebuilds the table in place
// (O(M log M) once, into buffers sized at construction, so not even the
// rebuild allocates).
//
// Without a key (PickContext::has_hash false: the request lacks the header
// or cookie named by hash_on, e.g. a first visit before the cookie is set)
// the pick is the upstream's weighted random one: a fixed stand-in key would
// send every keyless request to one server.

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/weighted_random.h"

namespace gourmet::balancers {

class Maglev final : public Balancer {
 public:
  // `table_size` should be prime: config validation refuses other sizes
  // (core/config_yaml.cc, range in core/config.h). Anything else reaching
  // here is rounded up to the next prime, so that the permutations stay
  // permutations, and capped at kMaxTableSize.
  // `seed` and `worker_index` seed the random stream of keyless picks.
  Maglev(const ServerSet& servers, uint32_t table_size, uint64_t seed = 0,
         uint32_t worker_index = 0);

  // kNoServer when no server is eligible.
  size_t pick(const PickContext& ctx) override;

  // The server `hash` maps to, as pick would choose it.
  size_t lookup(uint64_t hash);

  // The lookup table's size M.
  uint32_t tableSize() const { return static_cast<uint32_t>(table_.size()); }

  // Whether `size` may be configured: a prime no larger than kMaxTableSize.
  static bool isValidTableSize(uint64_t size);
  static constexpr uint32_t kMaxTableSize = 16777213;  // largest prime below 2^24
  // Smallest prime >= size (size >= 2).
  static uint32_t nextPrime(uint32_t size);

 private:
  void rebuild();

  const ServerSet& servers_;
  uint64_t built_generation_ = 0;
  bool empty_ = true;            // no eligible server: every lookup misses
  std::vector<uint32_t> table_;  // slot -> server index
  // Server indexes ordered by key: the order servers take turns in, so the
  // table depends on the set of servers, not on the order config lists them.
  std::vector<uint32_t> order_;
  // Scratch for rebuild, sized once so that rebuilding never allocates.
  std::vector<uint32_t> offset_, skip_, next_;
  std::vector<uint64_t> credit_;
  WeightedRandom keyless_;  // picks for requests without a key
};

class MaglevFactory final : public BalancerFactory {
 public:
  // The table does not depend on worker_index or params.seed: every worker
  // must map a key to the same server. They seed keyless picks only.
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
