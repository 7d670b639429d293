#include "balancers/hash.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

namespace gourmet::balancers {
namespace {

// FNV-1a 64 reference vectors (draft-eastlake-fnv, appendix C).
static_assert(fnv1a64("") == 0xcbf29ce484222325ull);
static_assert(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
static_assert(fnv1a64("foobar") == 0x85944171f73967e8ull);
static_assert(mix64(0) == 0);

// Pinned values, computed by an independent implementation (Python). If one
// of these changes, every sticky client in every deployment moves server on
// upgrade: change them only on purpose and say so in the release notes.
TEST(Hash, KeyHashesArePinned) {
  EXPECT_EQ(hashKey(""), 0xf52a15e9a9b5e89bull);
  EXPECT_EQ(hashKey("203.0.113.7"), 0x12ba66e1b50a1879ull);
  EXPECT_EQ(hashKey("/cart"), 0xd3111521a523a0eeull);
  EXPECT_EQ(hashKey("session=abc"), 0x763d837ae22d742bull);
  EXPECT_EQ(hashKey("203.0.113.7", 1), 0x1e7d7b00ba514147ull);
}

TEST(Hash, NumbersHashAsLittleEndianBytes) {
  EXPECT_EQ(hashNumber(7), 0xae253598b337821eull);
  EXPECT_EQ(hashNumber(7, 2), 0x32c717b1d89ef99cull);
  const char bytes[8] = {7, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(hashNumber(7), hashKey(std::string_view(bytes, 8)));
}

TEST(Hash, HighBytesDoNotDependOnCharSignedness) {
  // 0xff 0x80 hashed as unsigned bytes, whatever char is on this platform.
  EXPECT_EQ(hashKey("\xff\x80"), 0xce476189e98c0818ull);
}

TEST(Hash, SeedsGiveDifferentFunctions) {
  EXPECT_NE(hashKey("server-1", 1), hashKey("server-1", 2));
  EXPECT_NE(hashKey("server-1", 0), hashKey("server-1", 1));
  EXPECT_EQ(hashKey("server-1", 0), hashKey("server-1"));
}

TEST(Hash, OneInputBitFlipsAboutHalfTheOutput) {
  // FNV-1a alone changes few high bits for a change in the last byte; the
  // finaliser must spread it (keys differ in their last digit all the time).
  double total = 0;
  int count = 0;
  for (int key = 0; key < 1000; ++key) {
    std::string text = "10.0.0." + std::to_string(key);
    uint64_t base = hashKey(text);
    for (size_t byte = 0; byte < text.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string flipped = text;
        flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
        total += std::popcount(base ^ hashKey(flipped));
        ++count;
      }
    }
  }
  EXPECT_NEAR(total / count, 32.0, 0.5);
}

TEST(Hash, SequentialKeysSpreadEvenlyModuloAPrime) {
  constexpr uint64_t kBuckets = 101;
  std::vector<int> counts(kBuckets, 0);
  constexpr int kKeys = 101000;
  for (int key = 0; key < kKeys; ++key) ++counts[hashKey("user-" + std::to_string(key)) % kBuckets];
  // Chi-square with 100 degrees of freedom: 99.9th percentile is about 149.
  double chi2 = 0;
  const double expected = static_cast<double>(kKeys) / kBuckets;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 149.0);
}

}  // namespace
}  // namespace gourmet::balancers
