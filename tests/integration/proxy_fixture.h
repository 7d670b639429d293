#pragma once

// The shape most integration tests share: one TestOrigin, gourmet in front of
// it, and a raw client. On failure the proxy's stderr is printed; after every
// test the origin must not have seen an invalid request.

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {

class ProxyTest : public ::testing::Test {
 protected:
  using ConfigFor = std::function<std::string(const std::string& origin_address)>;

  // Use as ASSERT_NO_FATAL_FAILURE(start(...)).
  void start(Handler handler = echoTarget, const ConfigFor& config = singleOriginConfig,
             std::vector<std::string> extra_args = {}) {
    origin_ = std::make_unique<TestOrigin>(std::move(handler));
    startGourmet(config(origin_->address()), std::move(extra_args));
  }

  void startGourmet(const std::string& yaml, std::vector<std::string> extra_args = {}) {
    gourmet_ = std::make_unique<GourmetProcess>(yaml, std::move(extra_args));
    ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  }

  void TearDown() override {
    if (gourmet_ && HasFailure()) std::cerr << gourmet_->describe() << "\n";
    gourmet_.reset();
    if (origin_) {
      origin_->stop();
      for (const auto& e : origin_->protocolErrors())
        ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  uint16_t port() const { return gourmet_->port(); }

  // One request on a fresh connection; a transport failure fails the test.
  std::optional<Response> send(std::string_view request, bool to_head = false) {
    std::string error;
    auto r = roundTrip(port(), request, &error, to_head);
    if (!r) ADD_FAILURE() << "no response: " << error;
    return r;
  }

  // The only request the origin received.
  Request onlyRequest() const {
    auto all = origin_->requests();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? Request{} : all.front();
  }

  std::unique_ptr<TestOrigin> origin_;
  std::unique_ptr<GourmetProcess> gourmet_;
};

}  // namespace gourmet::testing
