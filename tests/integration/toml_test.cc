// Gourmet's TOML configs, loaded unchanged: the README example routes as
// Gourmet would (regex on Host + path, forwarded path "/" + last capture
// group), with either spelling of the location keys; --print-yaml gives a
// YAML config that routes the same; a TOML config reloads on SIGHUP.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

// configs/gourmet-readme.toml in the source tree. Meson names sources
// relative to the build directory, which holds proxy/gourmet.
std::filesystem::path readmeTomlPath() {
  const auto build_dir = std::filesystem::path(GOURMET_BINARY).parent_path().parent_path();
  const auto self = std::filesystem::weakly_canonical(build_dir / __FILE__);
  return self.parent_path().parent_path().parent_path() / "configs" / "gourmet-readme.toml";
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class TomlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"b1", "b2", "b3", "f1", "f2", "f3"}) {
      origins_.push_back(std::make_unique<TestOrigin>([name = std::string(name)](const Request& r) {
        return Reply::text(200, "OK", name + " " + r.target);
      }));
    }
  }

  void TearDown() override {
    if (gourmet_ && HasFailure()) std::cerr << gourmet_->describe() << "\n";
    gourmet_.reset();
    for (auto& o : origins_) {
      o->stop();
      for (const auto& e : o->protocolErrors()) ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  // The README example as shipped, but for its servers (backend's three to
  // b1-b3, front's to f1-f3) and its listener (127.0.0.1:0, 2 workers).
  std::string readmeToml() const {
    std::string text = readFile(readmeTomlPath());
    EXPECT_FALSE(text.empty()) << "cannot read " << readmeTomlPath();
    static const std::regex kServer(R"(path="127\.0\.0\.1:900[123]")");
    std::string out, rest = text;
    size_t next = 0;
    for (std::smatch m; std::regex_search(rest, m, kServer); ++next) {
      out += m.prefix().str();
      out += next < origins_.size() ? "path=\"" + origins_[next]->address() + "\"" : m.str();
      rest = m.suffix().str();
    }
    out += rest;
    EXPECT_EQ(next, origins_.size()) << "the README example's servers changed";
    return std::regex_replace(out, std::regex(R"(\nport=8080[^\n]*)"),
                              "\nport=0\naddress=\"127.0.0.1\"\nworkers=2");
  }

  void start(const std::string& config, const std::string& name) {
    gourmet_ = std::make_unique<GourmetProcess>(config, std::vector<std::string>{}, name);
    ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  }

  // "ORIGIN TARGET" or the status of one request on a fresh connection.
  std::string fetch(const std::string& target, const std::string& host = "example.com") {
    std::string error;
    const auto r = roundTrip(gourmet_->port(), getRequest(target, host), &error);
    if (!r) return "error: " + error;
    return r->status == 200 ? r->text() : std::to_string(r->status);
  }

  // `n` requests on one keep-alive connection (one worker, so one balancer
  // sequence); responses counted by text.
  std::map<std::string, int> spread(const std::string& target, int n) {
    RawClient client(gourmet_->port());
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
      const auto r = client.send(getRequest(target, "example.com")) ? client.readFinalResponse()
                                                                    : std::nullopt;
      ++counts[r ? (r->status == 200 ? r->text() : std::to_string(r->status)) : client.error()];
    }
    return counts;
  }

  // The README's promises, plus Gourmet's Host + path matching.
  void expectReadmeRouting() {
    auto api = spread("/api/users/", 21);
    EXPECT_NEAR(api["b1 /api/users/"], 15, 1) << ::testing::PrintToString(api);  // weight 5
    EXPECT_NEAR(api["b2 /api/users/"], 3, 1) << ::testing::PrintToString(api);
    EXPECT_NEAR(api["b3 /api/users/"], 3, 1) << ::testing::PrintToString(api);
    auto assets = spread("/static/img/", 12);
    EXPECT_NEAR(assets["f1 /static/img/"], 6, 1) << ::testing::PrintToString(assets);  // weight 2
    EXPECT_NEAR(assets["f2 /static/img/"], 3, 1) << ::testing::PrintToString(assets);
    EXPECT_NEAR(assets["f3 /static/img/"], 3, 1) << ::testing::PrintToString(assets);
    // The whole match is forwarded, whatever precedes it.
    EXPECT_THAT(fetch("/v2/api/orders/"), ::testing::MatchesRegex("b[123] /api/orders/"));
    // The regex sees Host + path: "api" + "/users/" matches "api/.+[/]".
    EXPECT_THAT(fetch("/users/", "api"), ::testing::MatchesRegex("b[123] /api/users/"));
    EXPECT_EQ(fetch("/api/"), "404");  // ".+[/]" needs more after "api/"
    EXPECT_EQ(fetch("/static/img"), "404");
    EXPECT_EQ(fetch("/other/"), "404");
    EXPECT_EQ(fetch("/"), "404");
  }

  std::vector<std::unique_ptr<TestOrigin>> origins_;
  std::unique_ptr<GourmetProcess> gourmet_;
  TempDir dir_;
};

TEST_F(TomlTest, ReadmeExampleRoutesAsGourmetWould) {
  ASSERT_NO_FATAL_FAILURE(start(readmeToml(), "gourmet.toml"));
  expectReadmeRouting();
}

TEST_F(TomlTest, CodeKeySpellingsPathAndHttpPassRouteTheSame) {
  std::string toml = replaceAll(readmeToml(), "location=\"", "path=\"");
  toml = replaceAll(toml, "upstream=\"", "http_pass=\"");
  ASSERT_EQ(toml.find("location="), std::string::npos);
  ASSERT_NE(toml.find("http_pass=\"backend\""), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(start(toml, "gourmet.toml"));
  expectReadmeRouting();
}

TEST_F(TomlTest, PrintedYamlChecksAndRoutesTheSame) {
  const auto toml = dir_.write("gourmet.toml", readmeToml());
  const auto printed = runGourmet({"--check", "--print-yaml", "-c", toml.string()});
  ASSERT_TRUE(printed.exited && printed.exit_code == 0) << printed.err;
  EXPECT_THAT(printed.out, HasSubstr("match: gourmet"));
  const auto yaml = dir_.write("gourmet.yaml", printed.out);
  const auto checked = runGourmet({"--check", "-c", yaml.string()});
  EXPECT_TRUE(checked.exited && checked.exit_code == 0) << checked.err << printed.out;
  EXPECT_THAT(checked.out, HasSubstr(": OK: 2 locations, 2 upstreams, 6 servers"));
  ASSERT_NO_FATAL_FAILURE(start(printed.out, "gourmet.yaml"));
  expectReadmeRouting();
}

TEST_F(TomlTest, LastCaptureGroupIsTheForwardedPath) {
  const std::string toml = fmt::format(
      "[upstreams.api]\n"
      "[[upstreams.api.servers]]\n"
      "path=\"{}\"\n"
      "[server]\n"
      "port=0\n"
      "address=\"127.0.0.1\"\n"
      "workers=2\n"
      "[[server.locations]]\n"
      "location='^example\\.com/v1/(users|orders)/(.*)'\n"
      "upstream=\"api\"\n",
      origins_[0]->address());
  ASSERT_NO_FATAL_FAILURE(start(toml, "gourmet.toml"));
  EXPECT_EQ(fetch("/v1/users/42/profile"), "b1 /42/profile");
  EXPECT_EQ(fetch("/v1/orders/"), "b1 /");
  EXPECT_EQ(fetch("/v1/users/42", "other.example"), "404");  // the host is part of the match
  EXPECT_EQ(fetch("/v2/users/42"), "404");
}

TEST_F(TomlTest, TomlConfigReloadsOnSighup) {
  const std::string toml = readmeToml();
  ASSERT_NO_FATAL_FAILURE(start(toml, "gourmet.toml"));
  gourmet_->rewriteConfig(replaceAll(toml, "location=\"static/", "location=\"assets/"));
  EXPECT_THAT(gourmet_->reload(), Optional(HasSubstr("reload: version 2: ")));
  EXPECT_THAT(fetch("/assets/img/"), ::testing::MatchesRegex("f[123] /assets/img/"));
  EXPECT_EQ(fetch("/static/img/"), "404");
  // A broken TOML file changes nothing and says where it is broken.
  gourmet_->rewriteConfig(replaceAll(toml, "upstream=\"front\"", "upstream=\"nowhere\""));
  const auto line = gourmet_->reload();
  EXPECT_THAT(line, Optional(HasSubstr("reload failed (1 so far), still serving version 2: " +
                                       gourmet_->configPath() + ":")));
  EXPECT_TRUE(line && std::regex_search(*line, std::regex(R"(\.toml:[0-9]+:[0-9]+: )")))
      << line.value_or("no outcome line");
  EXPECT_THAT(fetch("/assets/img/"), ::testing::MatchesRegex("f[123] /assets/img/"));
}

}  // namespace
}  // namespace gourmet::testing
