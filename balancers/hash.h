#pragma once

// The stable 64-bit hash behind `balancer: hash`: the key of a request
// (client address, path, header or cookie value; see core/hash_key.h) and the
// identity of a server both go through it.
//
// Stickiness only holds if every worker, every run and every build computes
// the same number for the same bytes, so this is a fixed function of the
// bytes alone: FNV-1a 64 (Fowler, Noll, Vo; the IETF draft
// draft-eastlake-fnv) followed by the splitmix64 finaliser (Steele, Lea and
// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
// FNV-1a is tiny and byte-order independent but mixes its high bits poorly,
// and Maglev reduces the hash modulo the table size; the finaliser spreads
// every input bit over all 64 output bits. Not std::hash (unspecified, may
// differ between standard libraries) and not keyed (a per-process seed would
// break stickiness across workers and restarts). Not collision resistant
// against an adversary either: a client choosing its key can only choose its
// own server, which it can do anyway.
//
// Everything is constexpr and allocation-free; the values are pinned by
// tests/unit/balancers/hash_test.cc, so a change that would move keys fails
// there first.

#include <cstdint>
#include <string_view>

namespace gourmet::balancers {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// FNV-1a 64 over `bytes`, continuing from `state` (the offset basis to start).
constexpr uint64_t fnv1a64(std::string_view bytes, uint64_t state = kFnvOffsetBasis) {
  for (char c : bytes) {
    // Through unsigned char, so the result does not depend on whether char
    // is signed on the build's platform.
    state ^= static_cast<uint8_t>(c);
    state *= kFnvPrime;
  }
  return state;
}

// splitmix64's finaliser: a bijection on 64-bit values with full avalanche.
// mix64(0) == 0.
constexpr uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The hash of a request key. `seed` selects an independent hash function of
// the same bytes (Maglev needs two per server); seed 0 is the key hash
// PickContext::hash carries.
constexpr uint64_t hashKey(std::string_view bytes, uint64_t seed = 0) {
  return mix64(fnv1a64(bytes) + seed * 0x9e3779b97f4a7c15ull);
}

// The hash of a 64-bit number, as its 8 little-endian bytes, so that it is
// the same on every platform whatever its byte order.
constexpr uint64_t hashNumber(uint64_t value, uint64_t seed = 0) {
  char bytes[8] = {};
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return hashKey(std::string_view(bytes, sizeof bytes), seed);
}

}  // namespace gourmet::balancers
