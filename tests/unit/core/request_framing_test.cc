#include "core/request_framing.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>
#include <utility>

namespace gourmet::core {
namespace {

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

FramingVerdict check(Fields fields, bool http10 = false) {
  MessageHead head;
  for (const auto& [name, value] : fields) {
    head.appendName(name.data(), name.size());
    head.nameComplete();
    head.appendValue(value.data(), value.size());
    head.valueComplete();
  }
  return checkRequestFraming(head, http10);
}

TEST(RequestFraming, AcceptsOneWayOfFraming) {
  EXPECT_EQ(check({}).status, 0);
  EXPECT_EQ(check({{"Content-Length", "0"}}).status, 0);
  EXPECT_EQ(check({{"content-length", "12345"}}).status, 0);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}}).status, 0);
  EXPECT_EQ(check({{"Transfer-Encoding", "ChUnKeD"}}).status, 0);
  EXPECT_EQ(check({{"Transfer-Encoding", " \tchunked"}}).status, 0);
  EXPECT_EQ(check({{"Content-Length", "5"}}, true).status, 0);
}

TEST(RequestFraming, RefusesAmbiguousLengths) {
  for (Fields fields : {
           Fields{{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}},
           Fields{{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}},
           Fields{{"Content-Length", "5"}, {"Content-Length", "6"}},
           Fields{{"Content-Length", "5"}, {"Content-Length", "5"}},
           Fields{{"Content-Length", "1, 2"}},
           Fields{{"Content-Length", "-1"}},
           Fields{{"Content-Length", "+5"}},
           Fields{{"Content-Length", ""}},
           Fields{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
       }) {
    const FramingVerdict v = check(fields);
    EXPECT_EQ(v.status, 400);
    EXPECT_EQ(v.reason, "bad_framing");
  }
}

TEST(RequestFraming, RefusesCodingsOtherThanChunked) {
  // ("chunked " never gets here: MessageHead trims values, HeadSyntax refuses it.)
  for (std::string_view te :
       {"xchunked", "identity", "chunked, identity", "chunked;q=1", "chunk", "", "\vchunked"}) {
    EXPECT_EQ(check({{"Transfer-Encoding", te}}).status, 400) << te;
  }
  const FramingVerdict gzip = check({{"Transfer-Encoding", "gzip, chunked"}});
  EXPECT_EQ(gzip.status, 501);
  EXPECT_EQ(gzip.reason, "unsupported_transfer_coding");
}

TEST(RequestFraming, RefusesTransferEncodingFromHttp10) {
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}}, true).status, 400);
}

}  // namespace
}  // namespace gourmet::core
