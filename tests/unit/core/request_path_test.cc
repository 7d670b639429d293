#include "core/request_path.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace gourmet::core {
namespace {

// The normalised path, or "<above root>" / "<bad escape>".
std::string normalized(std::string_view path, bool merge_slashes = true) {
  std::string out = "stale";
  switch (normalizeRequestPath(path, merge_slashes, out)) {
    case PathStatus::kOk:
      return out;
    case PathStatus::kAboveRoot:
      return "<above root>";
    case PathStatus::kBadEscape:
      return "<bad escape>";
  }
  return "<unknown status>";
}

TEST(RequestPath, PlainPathsAreUnchanged) {
  for (std::string_view path : {"/", "/a", "/a/b", "/a/b/", "/a;p=1/b", "/index.html", "/...",
                                "/.a", "/a.", "/..a", "/a..", "/-_~"}) {
    EXPECT_EQ(normalized(path), path);
  }
}

// RFC 3986 section 5.4: each reference resolved against the base
// "http://a/b/c/d;p?q" is the base's directory "/b/c/" merged with the
// reference (section 5.2.3), then stripped of dot segments (section 5.2.4).
// The expected results are the RFC's.
TEST(RequestPath, Rfc3986ResolutionExamples) {
  const std::vector<std::pair<std::string, std::string>> examples = {
      // 5.4.1 normal examples that resolve through the merged path.
      {"g", "/b/c/g"},
      {"./g", "/b/c/g"},
      {"g/", "/b/c/g/"},
      {";x", "/b/c/;x"},
      {"g;x", "/b/c/g;x"},
      {".", "/b/c/"},
      {"./", "/b/c/"},
      {"..", "/b/"},
      {"../", "/b/"},
      {"../g", "/b/g"},
      {"../..", "/"},
      {"../../", "/"},
      {"../../g", "/g"},
      // 5.4.2 abnormal examples (those that do not climb above the root).
      {"g.", "/b/c/g."},
      {".g", "/b/c/.g"},
      {"g..", "/b/c/g.."},
      {"..g", "/b/c/..g"},
      {"./../g", "/b/g"},
      {"./g/.", "/b/c/g/"},
      {"g/./h", "/b/c/g/h"},
      {"g/../h", "/b/c/h"},
      {"g;x=1/./y", "/b/c/g;x=1/y"},
      {"g;x=1/../y", "/b/c/y"},
  };
  for (const auto& [reference, expected] : examples) {
    EXPECT_EQ(normalized("/b/c/" + reference), expected) << reference;
  }
  // Absolute-path references of 5.4.2.
  EXPECT_EQ(normalized("/./g"), "/g");
  // Section 5.2.4's own example.
  EXPECT_EQ(normalized("/a/b/c/./../../g"), "/a/g");
}

// RFC 3986 keeps the root for "../../../g" and "/../g" ("http://a/g"); a
// proxy must not: the origin may resolve them differently (or not at all),
// and nginx answers 400 too.
TEST(RequestPath, ClimbingAboveTheRootIsRefused) {
  for (std::string_view path :
       {"/..", "/../", "/../x", "/a/../..", "/a/../../x", "/b/c/../../../g", "/b/c/../../../../g",
        "/./../x", "/%2e%2e/x", "/%2E%2E", "/.%2e/x", "/%2e./x", "/a/%2e%2e/%2E%2e/x"}) {
    std::string out;
    EXPECT_EQ(normalizeRequestPath(path, true, out), PathStatus::kAboveRoot) << path;
  }
}

TEST(RequestPath, EncodedDotsAreDotSegments) {
  EXPECT_EQ(normalized("/public/%2e%2e/admin"), "/admin");
  EXPECT_EQ(normalized("/public/%2E%2E/admin"), "/admin");
  EXPECT_EQ(normalized("/a/%2e/b"), "/a/b");
  EXPECT_EQ(normalized("/a/%2e"), "/a/");
  EXPECT_EQ(normalized("/a/b/.%2E"), "/a/");
}

TEST(RequestPath, UnreservedEscapesAreDecodedInEitherCase) {
  EXPECT_EQ(normalized("/%41%42c"), "/ABc");
  EXPECT_EQ(normalized("/%7Euser"), "/~user");  // RFC 3986 section 6.2.2.2
  EXPECT_EQ(normalized("/%7euser"), "/~user");
  EXPECT_EQ(normalized("/%2D%2d%5F%5f%2E%30%39%61%7A"), "/--__.09az");
}

TEST(RequestPath, OtherEscapesStayAsWritten) {
  // Reserved characters, spaces, controls and non-ASCII bytes: decoding them
  // would change what the path means, or what the origin is told.
  for (std::string_view path : {"/a%20b", "/a%3Fb", "/a%3fb", "/a%23b", "/a%25b", "/%00", "/%C3%A9",
                                "/%c3%a9", "/a%3Bb", "/a%40b", "/%2B"}) {
    EXPECT_EQ(normalized(path), path);
  }
  // "%2541" is "%25" then "41": one escape, not a double-encoded "A"; and
  // decoding the digits after a "%25" means the same bytes.
  EXPECT_EQ(normalized("/%2541"), "/%2541");
  EXPECT_EQ(normalized("/%25%34%31"), "/%2541");
}

TEST(RequestPath, BrokenEscapesAreRefused) {
  // "/%%341" would otherwise become "/%41", which the origin decodes again.
  for (std::string_view path :
       {"/%", "/a%", "/a%4", "/%zz", "/%4g", "/%g4", "/%%41", "/%%341", "/%/x", "/a/%4/b"}) {
    EXPECT_EQ(normalized(path), "<bad escape>") << path;
  }
}

TEST(RequestPath, EncodedSlashesDoNotSplitSegments) {
  EXPECT_EQ(normalized("/a%2Fb"), "/a%2Fb");
  EXPECT_EQ(normalized("/a%2fb"), "/a%2fb");
  // "..%2F" is one segment, not a ".." followed by a separator.
  EXPECT_EQ(normalized("/public/..%2Fadmin"), "/public/..%2Fadmin");
  EXPECT_EQ(normalized("/public/%2e%2e%2fadmin"), "/public/..%2fadmin");
  // So a ".." after it removes the whole segment.
  EXPECT_EQ(normalized("/a/b%2Fc/../d"), "/a/d");
}

TEST(RequestPath, MergeSlashes) {
  EXPECT_EQ(normalized("//a//b"), "/a/b");
  EXPECT_EQ(normalized("///"), "/");
  EXPECT_EQ(normalized("/a//"), "/a/");
  EXPECT_EQ(normalized("/a///b/"), "/a/b/");
  // Merged first, as nginx does: the ".." removes "b", not an empty segment.
  EXPECT_EQ(normalized("/a/b//../c"), "/a/c");
  EXPECT_EQ(normalized("//../x"), "<above root>");
}

TEST(RequestPath, WithoutMergeSlashesEmptySegmentsAreSegments) {
  EXPECT_EQ(normalized("//a//b", false), "//a//b");
  EXPECT_EQ(normalized("/a//", false), "/a//");
  // As RFC 3986 section 5.2.4 reads: ".." removes the empty segment.
  EXPECT_EQ(normalized("/a/b//../c", false), "/a/b/c");
  EXPECT_EQ(normalized("//../x", false), "/x");
  EXPECT_EQ(normalized("/a//..", false), "/a/");
  EXPECT_EQ(normalized("/../x", false), "<above root>");
}

TEST(RequestPath, AsteriskFormIsCopied) {
  EXPECT_EQ(normalized("*"), "*");
  EXPECT_EQ(normalized(""), "");
}

TEST(RequestPath, NeverLongerThanTheInputAndNoAllocationOnceReserved) {
  const std::string path = "/a/%41/./b//c/../%2e/%7e/d%2F";
  std::string out;
  out.reserve(path.size());
  const char* storage = out.data();
  ASSERT_EQ(normalizeRequestPath(path, true, out), PathStatus::kOk);
  EXPECT_EQ(out, "/a/A/b/~/d%2F");
  EXPECT_LE(out.size(), path.size());
  EXPECT_EQ(out.data(), storage);  // no reallocation: the capacity was enough
}

}  // namespace
}  // namespace gourmet::core
