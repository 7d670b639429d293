#pragma once

// Listening sockets for the workers: one per worker, all bound to the same
// address with SO_REUSEPORT so the kernel spreads connections across them.
// They are opened on the main thread, so a bind failure is a start-up (or
// reload) error and port 0 resolves to one real port that every worker
// shares. A set travels to workers inside a Snapshot; each worker listens on
// a dup() of its own socket, and the set closes its descriptors when the
// last snapshot naming it is gone — so a set that no worker adopted (a
// snapshot superseded before workers woke up) never leaves a queue that
// nobody accepts from.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace gourmet::core {

class ListenerSet {
 public:
  static Result<std::shared_ptr<const ListenerSet>> open(const std::string& address, uint16_t port,
                                                         size_t count);
  ~ListenerSet();
  ListenerSet(const ListenerSet&) = delete;
  ListenerSet& operator=(const ListenerSet&) = delete;

  // The listening socket for worker `index` (owned by the set: dup() it).
  int fd(size_t index) const { return fds_[index % fds_.size()]; }
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }  // the bound port (resolved when 0 was asked)
  // What clients speak to this listener (X-Forwarded-Proto): "http" until TLS exists.
  std::string_view scheme() const { return "http"; }

 private:
  ListenerSet(std::string address, uint16_t port, std::vector<int> fds)
      : address_(std::move(address)), port_(port), fds_(std::move(fds)) {}

  std::string address_;
  uint16_t port_;
  std::vector<int> fds_;
};

}  // namespace gourmet::core
