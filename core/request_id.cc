#include "core/request_id.h"

#include <random>

namespace gourmet::core {
namespace {

constexpr int kSequenceBits = 36;
constexpr int kWorkerBits = 12;
constexpr uint64_t kSequenceMask = (uint64_t{1} << kSequenceBits) - 1;
constexpr uint64_t kWorkerMask = (uint64_t{1} << kWorkerBits) - 1;

uint64_t randomPrefix() {
  std::random_device device;
  return device() & 0xffff;
}

// Drawn before main(), so no request pays for it (or for a guard).
const uint64_t kProcessPrefix = randomPrefix() << (kSequenceBits + kWorkerBits);

// Zero-initialised, so reading it needs no guard either.
thread_local uint64_t t_sequence = 0;

}  // namespace

RequestId RequestId::of(uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  RequestId id;
  for (size_t i = kSize; i-- > 0;) {
    id.digits_[i] = kHex[value & 0xf];
    value >>= 4;
  }
  return id;
}

RequestId RequestId::next(uint32_t worker) {
  const uint64_t sequence = ++t_sequence & kSequenceMask;
  return of(kProcessPrefix | (uint64_t{worker} & kWorkerMask) << kSequenceBits | sequence);
}

}  // namespace gourmet::core
