// SIGHUP reloads seen from outside: under constant load no request fails,
// new requests follow the new routes as soon as the reload is logged, an
// invalid config changes nothing, unchanged configs and back-to-back signals
// do nothing extra, listeners move live, and `workers` waits for a restart.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

// Origins answer "NAME TARGET BODY_SIZE", so a response names who served it.
Handler named(std::string name) {
  return [name](const Request& r) {
    return Reply::text(200, "OK", fmt::format("{} {} {}", name, r.target, r.body.size()));
  };
}

using ::testing::HasSubstr;
using ::testing::Optional;

// An outcome line (optional: none came) that contains `text`.
auto Contains(const std::string& text) { return Optional(HasSubstr(text)); }

LocationSpec route(std::string path, std::string upstream) {
  LocationSpec location;
  location.path = std::move(path);
  location.upstream = std::move(upstream);
  return location;
}

std::string originOf(const std::optional<Response>& r) {
  if (!r) return "no response";
  if (r->status != 200) return std::to_string(r->status);
  return r->text().substr(0, r->text().find(' '));
}

// Client threads that keep the proxy busy until destroyed: keep-alive and
// fresh connections, with and without bodies, all on /a/ (which every
// config routes). Any response but the expected 200 is a failure.
class Load {
 public:
  static constexpr int kKinds = 4;

  explicit Load(uint16_t port) {
    for (int kind = 0; kind < kKinds; ++kind) {
      threads_.emplace_back([this, port, kind] { run(port, kind); });
    }
  }
  ~Load() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

  // Waits until every kind of client completed another request since the
  // last call: the load really runs across each reload.
  bool progressed(Millis timeout = 5s) {
    std::array<long, kKinds> seen;
    for (int k = 0; k < kKinds; ++k) seen[k] = last_[k];
    const bool ok = eventually(
        [&] {
          for (int k = 0; k < kKinds; ++k) {
            if (done_[k].load() <= seen[k]) return false;
          }
          return true;
        },
        timeout);
    for (int k = 0; k < kKinds; ++k) last_[k] = done_[k].load();
    return ok;
  }
  long total() const {
    long n = 0;
    for (const auto& d : done_) n += d.load();
    return n;
  }
  std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  void run(uint16_t port, int kind) {
    const bool keep_alive = kind % 2 == 0;
    const bool with_body = kind >= 2;
    std::unique_ptr<RawClient> client;
    for (long i = 0; !stop_; ++i) {
      const std::string target = fmt::format("/a/k{}-{}", kind, i);
      const std::string body = with_body ? patternBytes(0, 1000 + 97 * (i % 40)) : "";
      std::string request =
          kind == 3
              ? buildRequest("POST", target, {{"Host", "t"}, {"Transfer-Encoding", "chunked"}},
                             encodeChunked(body, 700))
              : buildRequest(with_body ? "POST" : "GET", target, {{"Host", "t"}}, body);
      if (!client || !keep_alive) client = std::make_unique<RawClient>(port);
      std::optional<Response> r;
      if (client->send(request)) r = client->readFinalResponse();
      const std::string origin = originOf(r);
      std::string problem;
      if (!r) {
        problem = client->error();
      } else if (r->text() != fmt::format("{} {} {}", origin, target, body.size()) ||
                 (origin != "X" && origin != "Y" && origin != "Z")) {
        problem = fmt::format("status {}, body '{}'", r->status, r->text());
      } else if (keep_alive && hasToken(r->headers, "connection", "close")) {
        problem = "keep-alive connection closed by the proxy";
      }
      if (!problem.empty()) {
        std::lock_guard lock(mu_);
        failures_.push_back(fmt::format("{} {}: {}", kind, target, problem));
        client.reset();
      }
      done_[kind].fetch_add(1);
    }
  }

  std::atomic<bool> stop_{false};
  std::array<std::atomic<long>, kKinds> done_{};
  std::array<long, kKinds> last_{};
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"X", "Y", "Z"})
      origins_.push_back(std::make_unique<TestOrigin>(named(name)));
  }

  void TearDown() override {
    if (gourmet_ && HasFailure()) std::cerr << gourmet_->describe() << "\n";
    gourmet_.reset();
    for (auto& o : origins_) {
      o->stop();
      for (const auto& e : o->protocolErrors()) ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  std::string address(int i) const { return origins_[i]->address(); }

  // A: /a/ → main (X, Y weights 1, 1).
  ConfigSpec specA() const {
    ConfigSpec spec;
    spec.locations = {route("^/a/", "main")};
    spec.upstreams = {{.name = "main", .servers = {{address(0), 1}, {address(1), 1}}}};
    return spec;
  }
  // B: /b/ → main (Y, Z weights 3, 1); /a/ → zonly (Z).
  ConfigSpec specB() const {
    ConfigSpec spec;
    spec.locations = {route("^/b/", "main"), route("^/a/", "zonly")};
    spec.upstreams = {{.name = "main", .servers = {{address(1), 3}, {address(2), 1}}},
                      {.name = "zonly", .servers = {{address(2), 1}}}};
    return spec;
  }

  void start(const std::string& yaml) {
    gourmet_ = std::make_unique<GourmetProcess>(yaml);
    ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  }

  std::string fresh(uint16_t port, const std::string& target) {
    std::string error;
    const auto r = roundTrip(port, getRequest(target), &error);
    return r ? originOf(r) : "error: " + error;
  }

  // Fresh requests follow config B (or A): /b/ is routed only by B, and /a/
  // reaches Z under B, X or Y under A.
  void expectRoutes(bool b, const std::string& when) {
    const std::string on_b = fresh(gourmet_->port(), "/b/probe");
    const std::string on_a = fresh(gourmet_->port(), "/a/probe");
    if (b) {
      EXPECT_TRUE(on_b == "Y" || on_b == "Z") << when << ": /b/ gave " << on_b;
      EXPECT_EQ(on_a, "Z") << when;
    } else {
      EXPECT_EQ(on_b, "404") << when;
      EXPECT_TRUE(on_a == "X" || on_a == "Y") << when << ": /a/ gave " << on_a;
    }
  }

  // Reloads `reloads` times between A and B under load; the reload numbered
  // `invalid_at` (if any) installs a broken config instead.
  void reloadUnderLoad(int reloads, int invalid_at = -1) {
    ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
    Load load(gourmet_->port());
    bool b = false;
    int version = 1;
    for (int i = 0; i < reloads; ++i) {
      ASSERT_TRUE(load.progressed()) << "reload " << i << ": the load stalled";
      const std::string when = fmt::format("reload {}", i);
      if (i == invalid_at) {
        ConfigSpec broken = b ? specA() : specB();
        broken.locations.back().path = "^/a/(";  // unbalanced: the regex does not compile
        gourmet_->rewriteConfig(broken.yaml());
        const auto line = gourmet_->reload();
        ASSERT_TRUE(line) << when << ": no outcome line";
        EXPECT_NE(line->find(fmt::format("reload failed (1 so far), still serving version {}: {}:",
                                         version, gourmet_->configPath())),
                  std::string::npos)
            << *line;
        EXPECT_TRUE(std::regex_search(*line, std::regex(R"(\.yaml:[0-9]+:[0-9]+: )"))) << *line;
        ASSERT_NO_FATAL_FAILURE(expectRoutes(b, when + " (invalid)"));
        continue;
      }
      b = !b;
      gourmet_->rewriteConfig((b ? specB() : specA()).yaml());
      const auto line = gourmet_->reload();
      ASSERT_TRUE(line) << when << ": no outcome line";
      ASSERT_NE(line->find(fmt::format("reload: version {}: ", ++version)), std::string::npos)
          << when << ": " << *line;
      if (i == 0) {
        EXPECT_NE(line->find("upstreams +1 -0 ~1 (added: zonly; changed: main), "
                             "servers +2 -1 ~1, locations +1 -0 ~1"),
                  std::string::npos)
            << *line;
      }
      ASSERT_NO_FATAL_FAILURE(expectRoutes(b, when));
    }
    ASSERT_TRUE(load.progressed());
    ::testing::Test::RecordProperty("requests", std::to_string(load.total()));
    const auto failures = load.failures();
    EXPECT_TRUE(failures.empty()) << failures.size() << " of " << load.total()
                                  << " requests failed, first: " << failures.front();
    EXPECT_EQ(gourmet_->stderrLines("reload failed").size(), invalid_at >= 0 ? 1u : 0u);
    for (const auto& o : origins_) EXPECT_GT(o->requestCount(), 0u);
  }

  std::vector<std::unique_ptr<TestOrigin>> origins_;
  std::unique_ptr<GourmetProcess> gourmet_;
};

TEST_F(ReloadTest, FiftyReloadsUnderLoadFailNoRequestAndSwitchRoutes) { reloadUnderLoad(50); }

TEST_F(ReloadTest, InvalidConfigInTheMiddleChangesNothing) {
  reloadUnderLoad(50, /*invalid_at=*/25);
}

TEST_F(ReloadTest, UnchangedConfigSaysSoAndKeepsTheVersion) {
  ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
  // Same values, other text: comments and blank lines do not count.
  gourmet_->rewriteConfig("# edited\n" + specA().yaml() + "\n\n");
  EXPECT_THAT(gourmet_->reload(), Contains("reload: configuration unchanged, still version 1"));
  gourmet_->rewriteConfig(specB().yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload: version 2: "));
  EXPECT_THAT(gourmet_->reload(), Contains("reload: configuration unchanged, still version 2"));
  expectRoutes(true, "after the unchanged reload");
}

TEST_F(ReloadTest, BackToBackSighupsMakeOneReload) {
  ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
  gourmet_->rewriteConfig(specB().yaml());
  gourmet_->signal(SIGHUP);
  gourmet_->signal(SIGHUP);
  ASSERT_TRUE(gourmet_->waitForStderr("reload: version 2: ", 5s)) << gourmet_->describe();
  // A second reload of its own would log "unchanged, still version 2" before
  // this one, which the main loop handles after anything queued earlier.
  gourmet_->rewriteConfig(specA().yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload: version 3: "));
  EXPECT_EQ(gourmet_->reloadOutcomes().size(), 2u) << gourmet_->describe();
}

TEST_F(ReloadTest, ListenerMovesToANewPortAndKeepsOpenConnections) {
  ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
  const uint16_t old_port = gourmet_->port();
  RawClient kept(old_port);
  ASSERT_TRUE(kept.send(getRequest("/a/before")));
  EXPECT_EQ(originOf(kept.readFinalResponse()).size(), 1u) << kept.error();

  ConfigSpec moved = specB();
  moved.port = probeFreePort();
  ASSERT_NE(moved.port, 0);
  gourmet_->rewriteConfig(moved.yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload: version 2: "));
  EXPECT_TRUE(gourmet_->waitForStderr(fmt::format("listening on 127.0.0.1:{}\n", moved.port), 5s));
  EXPECT_EQ(fresh(moved.port, "/a/new-port"), "Z");
  EXPECT_TRUE(eventually([&] { return countListeningSockets(moved.port) == 2; }));
  EXPECT_TRUE(eventually([&] { return connectionRefused(old_port); }))
      << "the old port still takes connections";
  EXPECT_EQ(countListeningSockets(old_port), 0);
  // Opened before the reload: still served, on the new routes.
  ASSERT_TRUE(kept.send(getRequest("/a/after")));
  EXPECT_EQ(originOf(kept.readFinalResponse()), "Z") << kept.error();
}

TEST_F(ReloadTest, UnbindablePortFailsTheWholeReload) {
  ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
  // Held without SO_REUSEPORT: gourmet cannot share it.
  uint16_t taken = 0;
  const int holder = listenOnLoopback(16, &taken);
  ASSERT_GE(holder, 0);
  ConfigSpec moved = specB();
  moved.port = taken;
  gourmet_->rewriteConfig(moved.yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload failed (1 so far), still serving version 1: "));
  ::close(holder);
  // Routes stayed too (B was not applied in part), on the old port only.
  expectRoutes(false, "after the failed reload");
  EXPECT_EQ(countListeningSockets(taken), 0);
  EXPECT_EQ(countListeningSockets(gourmet_->port()), 2);
  // The next valid reload works.
  gourmet_->rewriteConfig(specB().yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload: version 2: "));
  expectRoutes(true, "after the next reload");
}

TEST_F(ReloadTest, WorkersChangeNeedsARestartAndTheRestApplies) {
  ASSERT_NO_FATAL_FAILURE(start(specA().yaml()));
  ConfigSpec more = specB();
  more.workers = 3;
  gourmet_->rewriteConfig(more.yaml());
  EXPECT_THAT(gourmet_->reload(), Contains("reload: version 2: "));
  const auto warnings = gourmet_->stderrLines("reload: workers 2 -> 3 needs a restart; keeping 2");
  EXPECT_EQ(warnings.size(), 1u) << gourmet_->describe();
  expectRoutes(true, "after the workers change");
  EXPECT_EQ(countListeningSockets(gourmet_->port()), 2);
}

}  // namespace
}  // namespace gourmet::testing
