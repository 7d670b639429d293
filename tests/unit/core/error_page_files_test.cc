// error_pages files: read at build, served as written with gourmet's status,
// Content-Type from the extension, default and per-location sets, errors at
// the position the file is named.

#include "core/error_page_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace gourmet::core {
namespace {

constexpr std::string_view kId = "00010010000000ab";

class ErrorPageFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "pages-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    config_.file = (dir_ / "gourmet.yaml").string();
    config_.server.locations.push_back(LocationConfig{});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
  }
  void name(ErrorPagesConfig& pages, int status, const std::string& path, int line = 3) {
    pages.files[status] = path;
    pages.positions[status] = SourcePos{config_.file, line, 10};
  }
  static std::string serve(const ErrorPages& pages, int status, bool json = false) {
    std::string out;
    pages.append({.status = status,
                  .reason = status == 404 ? "no_route" : "upstream_connect_refused",
                  .json = json,
                  .request_id = kId},
                 out);
    return out;
  }

  std::filesystem::path dir_;
  Config config_;
};

TEST_F(ErrorPageFilesTest, ServesTheFileWithStatusTypeLengthAndRequestId) {
  write("502.html", "<h1>down</h1>\n");
  name(config_.server.error_pages, 502, "502.html");  // relative to the config's directory
  auto sets = loadErrorPages(config_);
  ASSERT_TRUE(sets) << sets.error().message;
  EXPECT_EQ(serve(*sets->listener, 502),
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Length: 14\r\nCache-Control: no-store\r\nX-Request-Id: 00010010000000ab\r\n"
            "\r\n<h1>down</h1>\n");
  // Other statuses keep the built-in page; so does a JSON client.
  EXPECT_NE(serve(*sets->listener, 404).find("reason: no_route"), std::string::npos);
  EXPECT_NE(serve(*sets->listener, 502, true).find(R"("reason":"upstream_connect_refused")"),
            std::string::npos);
}

TEST_F(ErrorPageFilesTest, ContentTypeFromTheExtension) {
  EXPECT_EQ(errorPageContentType("/a/b.html"), "text/html; charset=utf-8");
  EXPECT_EQ(errorPageContentType("/a/b.HTM"), "text/html; charset=utf-8");
  EXPECT_EQ(errorPageContentType("/a/b.json"), "application/json");
  EXPECT_EQ(errorPageContentType("/a/b.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(errorPageContentType("/a.d/page"), "text/html; charset=utf-8");
  EXPECT_EQ(errorPageContentType("/a/b.page"), "text/html; charset=utf-8");
}

TEST_F(ErrorPageFilesTest, JsonFileIsServedToJsonClients) {
  write("busy.json", "{\"busy\":true}");
  name(config_.server.error_pages, 502, (dir_ / "busy.json").string());
  auto sets = loadErrorPages(config_);
  ASSERT_TRUE(sets) << sets.error().message;
  const std::string out = serve(*sets->listener, 502, true);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 13), "{\"busy\":true}");
}

TEST_F(ErrorPageFilesTest, DefaultCoversEveryStatusWithoutItsOwn) {
  write("all.txt", "sorry");
  write("502.html", "gateway");
  name(config_.server.error_pages, 0, "all.txt");
  name(config_.server.error_pages, 502, "502.html");
  auto sets = loadErrorPages(config_);
  ASSERT_TRUE(sets) << sets.error().message;
  for (int status : {404, 503, 504, 418}) {
    const std::string out = serve(*sets->listener, status);
    EXPECT_EQ(out.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << out;
    EXPECT_NE(out.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("X-Request-Id: 00010010000000ab\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 5), "sorry") << out;
  }
  EXPECT_EQ(serve(*sets->listener, 502).substr(serve(*sets->listener, 502).size() - 7), "gateway");
}

TEST_F(ErrorPageFilesTest, LocationPagesReplaceTheListenersForTheirStatuses) {
  write("502.html", "listener 502");
  write("503.html", "location 503");
  config_.server.locations.push_back(LocationConfig{});
  name(config_.server.error_pages, 502, "502.html");
  name(config_.server.locations[1].error_pages, 503, "503.html");
  auto sets = loadErrorPages(config_);
  ASSERT_TRUE(sets) << sets.error().message;
  ASSERT_EQ(sets->locations.size(), 2u);
  EXPECT_EQ(sets->locations[0], sets->listener) << "no files of its own: the listener's set";
  const ErrorPages& location = *sets->locations[1];
  EXPECT_NE(serve(location, 503).find("location 503"), std::string::npos);
  EXPECT_NE(serve(location, 502).find("listener 502"), std::string::npos);
  EXPECT_EQ(serve(*sets->listener, 503).find("location 503"), std::string::npos);
}

TEST_F(ErrorPageFilesTest, MissingFileIsAnErrorAtItsPosition) {
  name(config_.server.error_pages, 502, (dir_ / "nope.html").string(), 7);
  auto sets = loadErrorPages(config_);
  ASSERT_FALSE(sets);
  EXPECT_EQ(sets.error().message, config_.file + ":7:10: error_pages 502: cannot read " +
                                      (dir_ / "nope.html").string() +
                                      ": No such file or directory");
}

TEST_F(ErrorPageFilesTest, TooLargeFileIsAnError) {
  write("big.html", std::string(kMaxErrorPageSize + 1, 'x'));
  name(config_.server.error_pages, 0, "big.html");
  auto sets = loadErrorPages(config_);
  ASSERT_FALSE(sets);
  EXPECT_NE(sets.error().message.find("error_pages default: cannot read"), std::string::npos)
      << sets.error().message;
  EXPECT_NE(sets.error().message.find("larger than 1024 KiB"), std::string::npos);
}

TEST_F(ErrorPageFilesTest, EachLoadRereadsTheFiles) {
  write("502.html", "old");
  name(config_.server.error_pages, 502, "502.html");
  auto first = loadErrorPages(config_);
  write("502.html", "new");
  auto second = loadErrorPages(config_);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(serve(*first->listener, 502).substr(serve(*first->listener, 502).size() - 3), "old");
  EXPECT_EQ(serve(*second->listener, 502).substr(serve(*second->listener, 502).size() - 3), "new");
}

}  // namespace
}  // namespace gourmet::core
