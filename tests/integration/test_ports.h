#pragma once

// Ports with a known behaviour for tests of failing upstreams (refused,
// hanging) and facts about the kernel's sockets, all on 127.0.0.1.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/http_wire.h"

namespace gourmet::testing {

using namespace std::chrono_literals;

// A port where connecting is refused at once: bound, never listening, and
// held for the test's lifetime so no one else can take it.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  uint16_t port() const { return port_; }
  std::string address() const;

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A port where connecting hangs: a listener with backlog 0 whose accept
// queue has been filled and is never drained, so further SYNs are dropped.
class BlackholePort {
 public:
  BlackholePort();
  ~BlackholePort();
  bool ok() const { return full_; }
  uint16_t port() const { return port_; }
  std::string address() const;

 private:
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  bool full_ = false;
  std::vector<int> fillers_;
};

// Listening TCP sockets on 127.0.0.1:port, from /proc/net/tcp. gourmet opens
// one per worker (SO_REUSEPORT), which makes the worker count observable.
int countListeningSockets(uint16_t port);

// A port that was free a moment ago: bound to 127.0.0.1:0, read back and
// closed (only for tests that need the proxy itself to bind a given port).
uint16_t probeFreePort();

// True when connecting to 127.0.0.1:port is refused (RST), as opposed to
// accepted or left pending.
bool connectionRefused(uint16_t port, Millis timeout = 1s);

}  // namespace gourmet::testing
