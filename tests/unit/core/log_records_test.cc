#include "core/log_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/byte_ring.h"

namespace gourmet::core {
namespace {

std::string joined(const std::vector<iovec>& parts) {
  std::string out;
  for (const iovec& part : parts) out.append(static_cast<const char*>(part.iov_base), part.iov_len);
  return out;
}

void pushRecord(ByteRing& ring, uint64_t when, std::string_view line) {
  ASSERT_TRUE(ring.push(logRecordHeader(when, line.size()).view(), line));
}

TEST(LogRecords, ARecordSplitByTheRingsEndIsReadWhole) {
  ByteRing ring(64);
  pushRecord(ring, 1, "padding that moves the ring's end\n");  // 12 + 34 bytes
  ring.consume(46);
  pushRecord(ring, 2, "this line wraps\n");  // header at 46..57, line 58..73 (wraps at 64)
  const auto spans = ring.readable();
  ASSERT_FALSE(spans[1].empty());
  LogRecordCursor cursor(spans[0], spans[1]);
  ASSERT_FALSE(cursor.done());
  EXPECT_EQ(cursor.when(), 2u);
  std::vector<iovec> parts;
  cursor.take(parts);
  EXPECT_EQ(parts.size(), 2u);
  EXPECT_EQ(joined(parts), "this line wraps\n");
  EXPECT_TRUE(cursor.done());
}

TEST(LogRecords, AHeaderSplitByTheRingsEndIsReadWhole) {
  ByteRing ring(64);
  pushRecord(ring, 1, std::string(51, 'x'));  // 63 bytes
  ring.consume(63);
  pushRecord(ring, 7, "after\n");  // header at 63..74 wraps after one byte
  const auto spans = ring.readable();
  LogRecordCursor cursor(spans[0], spans[1]);
  EXPECT_EQ(cursor.when(), 7u);
  std::vector<iovec> parts;
  cursor.take(parts);
  EXPECT_EQ(joined(parts), "after\n");
}

TEST(LogRecords, MergesQueuesByTime) {
  std::string a, b;
  for (auto [when, line] : {std::pair{1, "a1\n"}, {4, "a4\n"}, {5, "a5\n"}}) {
    a += logRecordHeader(when, 3).view();
    a += line;
  }
  for (auto [when, line] : {std::pair{2, "b2\n"}, {3, "b3\n"}, {6, "b6\n"}}) {
    b += logRecordHeader(when, 3).view();
    b += line;
  }
  std::vector<LogRecordCursor> cursors{{a, {}}, {b, {}}};
  std::vector<iovec> parts;
  mergeLogRecords(cursors, parts);
  EXPECT_EQ(joined(parts), "a1\nb2\nb3\na4\na5\nb6\n");
}

}  // namespace
}  // namespace gourmet::core
