// error_pages: operators' files served by the real binary, per listener and
// per location; a missing file refuses to start; built-in pages carry a
// request id and no upstream address.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

class ErrorPagesTest : public ProxyTest {
 protected:
  // Two locations: ^/own/ with its own 502 page, the rest with the
  // listener's; both in front of a closed port.
  std::string config(const std::string& listener_pages, const std::string& location_pages) {
    return fmt::format(R"(server:
  address: 127.0.0.1
  port: 0
  workers: 1
{}  locations:
    - path: "^/own/"
      upstream: backend
{}    - path: "^/"
      upstream: backend
upstreams:
  backend:
    servers:
      - path: "{}"
)",
                       listener_pages, location_pages, refusing_.address());
  }
  std::optional<Response> get(const std::string& path, bool json = false) {
    HeaderList headers = {{"Host", "a"}};
    if (json) headers.push_back({"Accept", "application/json"});
    return send(buildRequest("GET", path, headers));
  }

  TempDir pages_;
  RefusingPort refusing_;
};

TEST_F(ErrorPagesTest, CustomPagesPerListenerAndLocation) {
  const auto listener = pages_.write("502.html", "<p>listener down</p>\n");
  const auto own = pages_.write("own.txt", "location down\n");
  ASSERT_NO_FATAL_FAILURE(
      startGourmet(config(fmt::format("  error_pages:\n    502: {}\n", listener.string()),
                          fmt::format("      error_pages: {{502: {}}}\n", own.string()))));
  auto r = get("/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->text(), "<p>listener down</p>\n");
  EXPECT_EQ(r->header("content-type").value_or(""), "text/html; charset=utf-8");
  EXPECT_EQ(r->header("x-request-id").value_or("").size(), 16u);

  r = get("/own/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->text(), "location down\n");
  EXPECT_EQ(r->header("content-type").value_or(""), "text/plain; charset=utf-8");

  r = get("/x", true);  // a JSON client still gets gourmet's JSON
  ASSERT_TRUE(r);
  EXPECT_NE(r->text().find("\"reason\":\"upstream_connect_refused\""), std::string::npos)
      << r->text();
}

TEST_F(ErrorPagesTest, BuiltInPageHasRequestIdAndNoUpstreamAddress) {
  ASSERT_NO_FATAL_FAILURE(startGourmet(config("", "")));
  for (bool json : {false, true}) {
    auto r = get("/x", json);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502);
    const std::string id = r->header("x-request-id").value_or("");
    ASSERT_EQ(id.size(), 16u);
    EXPECT_NE(r->text().find(id), std::string::npos) << r->text();
    EXPECT_EQ(r->text().find(refusing_.address()), std::string::npos) << r->text();
    EXPECT_EQ(r->text().find(std::to_string(refusing_.port())), std::string::npos) << r->text();
  }
  auto a = get("/x"), b = get("/x");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->header("x-request-id"), b->header("x-request-id"));
}

TEST_F(ErrorPagesTest, MissingFileRefusesToStart) {
  const auto missing = (pages_.path() / "nope.html").string();
  const auto file = pages_.write("gourmet.yaml",
                                 config(fmt::format("  error_pages:\n    502: {}\n", missing), ""));
  const auto r = runGourmet({"-c", file.string()});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file.string() + ":6:10: error_pages 502: cannot read " + missing +
                       ": No such file or directory"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace gourmet::testing
