#pragma once

// A small, fast, seeded pseudo-random stream for balancers: xoshiro256**
// (Blackman and Vigna, 2018), its state filled by splitmix64 (Steele et al.,
// 2014) from a seed and a stream number. 32 bytes of state, no allocation,
// no locks: each worker owns its streams. Not for anything secret.
//
// Why not <random>: std::mt19937_64 carries 2.5 KB of state per balancer and
// the std distributions are not specified bit for bit, so a fixed seed would
// not give the same picks on every standard library (tests and tools/lbsim
// rely on that).

#include <cstdint>

namespace gourmet::balancers {

class RandomStream {
 public:
  // Streams with the same seed and different `stream` numbers (the worker
  // index, say) are independent; the same pair always gives the same values.
  RandomStream(uint64_t seed, uint64_t stream) {
    // Hashing the stream number first keeps (seed, 1) and (seed + 1, 0)
    // apart, which a plain sum would not.
    uint64_t x = seed ^ mix(stream + 0x632be59bd9b4e019ULL);
    for (uint64_t& word : state_) word = splitmix64(x);
  }

  // 64 uniformly distributed bits.
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound), bound > 0, without modulo bias (Lemire, "Fast
  // random integer generation in an interval", 2019): one multiplication,
  // and a division only in the rare rejection case.
  uint64_t below(uint64_t bound) {
    __extension__ using U128 = unsigned __int128;
    U128 product = static_cast<U128>(next()) * bound;
    auto low = static_cast<uint64_t>(product);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        product = static_cast<U128>(next()) * bound;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

  // Uniform in [0, 1), 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  static uint64_t splitmix64(uint64_t& x) { return mix(x += 0x9e3779b97f4a7c15ULL); }

  uint64_t state_[4];
};

}  // namespace gourmet::balancers
