#include "core/pending_input.h"

#include <gtest/gtest.h>

#include <string>

namespace gourmet::core {
namespace {

constexpr std::string_view kRequest = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

// A 64 KiB read of small pipelined requests, parsed one request at a time
// as responses make room, with more reads arriving in between: bytes are
// moved towards the front at most about once each (copying the rest after
// every request, as before, moved 1,600 x 32 KiB for one read).
TEST(PendingInput, PipelinedRequestsCostLinearWork) {
  std::string read;
  while (read.size() + kRequest.size() <= 64 * 1024) read += kRequest;
  const size_t requests_per_read = read.size() / kRequest.size();
  PendingInput pending;
  uint64_t appended = 0, parsed = 0;
  for (int reads = 0; reads < 8; ++reads) {
    pending.append(read.data(), read.data() + read.size());
    appended += read.size();
    for (size_t i = 0; i < requests_per_read; ++i) {
      const std::string_view unparsed = pending.unparsed();
      ASSERT_TRUE(unparsed.starts_with(kRequest));
      pending.parsedUpTo(unparsed.data() + kRequest.size());
      parsed += kRequest.size();
      // A few bytes of the next read arrive while requests are answered.
      if (i == requests_per_read / 3 && reads + 1 < 8) break;
    }
  }
  while (!pending.empty()) {
    pending.parsedUpTo(pending.unparsed().data() + kRequest.size());
    parsed += kRequest.size();
  }
  EXPECT_EQ(parsed, appended);
  EXPECT_LE(pending.movedBytes(), appended)
      << "moved " << pending.movedBytes() << " for " << appended << " appended";
}

TEST(PendingInput, KeepsOrderAcrossAppendsAndCompaction) {
  PendingInput pending;
  const std::string a = "AAAA", b = "BBBB", c = "CC";
  pending.append(a.data(), a.data() + a.size());
  pending.parsedUpTo(pending.unparsed().data() + 3);  // "A" left
  pending.append(b.data(), b.data() + b.size());      // compacts first: 3 >= 4 / 2
  EXPECT_EQ(pending.unparsed(), "ABBBB");
  EXPECT_EQ(pending.movedBytes(), 1u);
  pending.parsedUpTo(pending.unparsed().data() + 1);
  pending.append(c.data(), c.data() + c.size());  // 1 < 5 / 2: no move
  EXPECT_EQ(pending.unparsed(), "BBBBCC");
  EXPECT_EQ(pending.movedBytes(), 1u);
  pending.parsedAll();
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(pending.size(), 0u);
}

TEST(PendingInput, AppendingWhenEverythingWasParsedStartsOver) {
  PendingInput pending;
  const std::string a = "first", b = "second";
  pending.append(a.data(), a.data() + a.size());
  pending.parsedAll();
  pending.append(b.data(), b.data() + b.size());
  EXPECT_EQ(pending.unparsed(), "second");
  EXPECT_EQ(pending.movedBytes(), 0u);
}

}  // namespace
}  // namespace gourmet::core
