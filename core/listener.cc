#include "core/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gourmet::core {
namespace {

constexpr int kBacklog = 4096;

Result<sockaddr_storage> parseListenAddress(const std::string& address, uint16_t port) {
  sockaddr_storage storage{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return storage;
  }
  std::string bare = address;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  if (inet_pton(AF_INET6, bare.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return storage;
  }
  return fail(fmt::format("listen address '{}' is not an IP address", address));
}

Result<int> openOne(const sockaddr_storage& addr, const std::string& shown) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fmt::format("socket() for {}: {}", shown, std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int err = errno;
    ::close(fd);
    return fail(fmt::format("SO_REUSEPORT on {}: {}", shown, std::strerror(err)));
  }
  socklen_t len = addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 ||
      ::listen(fd, kBacklog) != 0) {
    int err = errno;
    ::close(fd);
    return fail(fmt::format("cannot listen on {}: {}", shown, std::strerror(err)));
  }
  return fd;
}

}  // namespace

Result<std::shared_ptr<const ListenerSet>> ListenerSet::open(const std::string& address,
                                                             uint16_t port, size_t count) {
  auto addr = parseListenAddress(address, port);
  if (!addr) return tl::unexpected(addr.error());
  std::string shown = fmt::format("{}:{}", address, port);
  std::vector<int> fds;
  uint16_t bound_port = port;
  for (size_t i = 0; i < count; ++i) {
    auto fd = openOne(*addr, shown);
    if (!fd) {
      for (int open : fds) ::close(open);
      return tl::unexpected(fd.error());
    }
    fds.push_back(*fd);
    if (i == 0) {
      // Port 0: every further socket must join the port the kernel chose.
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &len);
      bound_port =
          ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
      if (addr->ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&*addr)->sin6_port = htons(bound_port);
      } else {
        reinterpret_cast<sockaddr_in*>(&*addr)->sin_port = htons(bound_port);
      }
      shown = fmt::format("{}:{}", address, bound_port);
    }
  }
  return std::shared_ptr<const ListenerSet>(new ListenerSet(address, bound_port, std::move(fds)));
}

ListenerSet::~ListenerSet() {
  for (int fd : fds_) ::close(fd);
}

}  // namespace gourmet::core
