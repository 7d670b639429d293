#include "providers/static_provider.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace gourmet::providers {
namespace {

// Loopback-only hosts (an /etc/hosts entry for 127.0.0.1 on a machine
// without other addresses) are hidden by AI_ADDRCONFIG, so a miss with it
// is asked again without it.
addrinfo hintsFor(bool addrconfig) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (addrconfig ? AI_ADDRCONFIG : 0);
  return hints;
}

bool retryWithoutAddrconfig(int rc) { return rc == EAI_ADDRFAMILY || rc == EAI_NONAME; }

core::Error cannotResolve(const core::ServerConfig& server, const char* why) {
  return core::Error{
      fmt::format("{}cannot resolve server '{}': {}", server.pos.prefix(), server.host, why)};
}

core::ResolvedServer resolved(const core::ServerConfig& server, const addrinfo& found) {
  core::ResolvedServer entry;
  entry.address = server.address;
  entry.weight = server.weight;
  std::memcpy(&entry.sockaddr, found.ai_addr, found.ai_addrlen);
  return entry;
}

}  // namespace

// One server's resolution: a uv_getaddrinfo request, asked at most twice.
struct StaticProvider::Lookup {
  uv_getaddrinfo_t request{};  // request.data points back here
  StaticProvider* owner = nullptr;
  const core::ServerConfig* server = nullptr;
  std::string port;
  bool addrconfig = true;
  bool done = false;
  core::Result<core::ResolvedServer> result = tl::unexpected(core::Error{});

  int ask(uv_loop_t* loop) {
    const addrinfo hints = hintsFor(addrconfig);
    return uv_getaddrinfo(loop, &request, &Lookup::onResolved, server->host.c_str(), port.c_str(),
                          &hints);
  }

  static void onResolved(uv_getaddrinfo_t* request, int status, addrinfo* found) {
    auto* self = static_cast<Lookup*>(request->data);
    if (status == 0 && found != nullptr) {
      self->result = resolved(*self->server, *found);
    } else if (status == UV_ECANCELED || self->owner->stopped_) {
      self->result = tl::unexpected(core::Error{"resolution stopped"});
    } else if (self->addrconfig && (status == UV_EAI_ADDRFAMILY || status == UV_EAI_NONAME)) {
      uv_freeaddrinfo(found);
      self->addrconfig = false;
      if (self->ask(request->loop) == 0) return;  // asked again; this request goes on
      self->result = tl::unexpected(cannotResolve(*self->server, uv_strerror(status)));
    } else {
      self->result = tl::unexpected(cannotResolve(*self->server, uv_strerror(status)));
    }
    uv_freeaddrinfo(found);
    self->done = true;
    self->owner->finished();
  }
};

StaticProvider::StaticProvider(const core::UpstreamConfig& upstream) : upstream_(upstream) {}
StaticProvider::~StaticProvider() = default;

void StaticProvider::start(uv_loop_t& loop, OnUpdate on_update) {
  on_update_ = std::move(on_update);
  stopped_ = false;
  lookups_.clear();
  for (const core::ServerConfig& server : upstream_.servers) {
    auto lookup = std::make_unique<Lookup>();
    lookup->owner = this;
    lookup->server = &server;
    lookup->port = std::to_string(server.port);
    lookup->request.data = lookup.get();
    lookups_.push_back(std::move(lookup));
  }
  pending_ = lookups_.size();
  for (auto& lookup : lookups_) {
    if (int rc = lookup->ask(&loop); rc != 0) {
      lookup->result = tl::unexpected(cannotResolve(*lookup->server, uv_strerror(rc)));
      lookup->done = true;
      --pending_;
    }
  }
  // Nothing in flight (no servers, or no request could start): deliver now.
  if (pending_ == 0) deliver();
}

void StaticProvider::stop() {
  stopped_ = true;
  // Requests the thread pool has not started are cancelled now; the others
  // finish there and are dropped. Either way their callbacks still run, and
  // the last one delivers the error.
  for (auto& lookup : lookups_) {
    if (!lookup->done) uv_cancel(reinterpret_cast<uv_req_t*>(&lookup->request));
  }
}

void StaticProvider::finished() {
  if (--pending_ == 0) deliver();
}

void StaticProvider::deliver() {
  if (stopped_) {
    on_update_(tl::unexpected(core::Error{"resolution stopped"}));
    return;
  }
  std::vector<core::ResolvedServer> list;
  list.reserve(lookups_.size());
  for (auto& lookup : lookups_) {
    if (!lookup->result) {
      on_update_(tl::unexpected(lookup->result.error()));
      return;
    }
    list.push_back(*lookup->result);
  }
  on_update_(std::move(list));
}

Provider::ServerList resolveServers(std::span<const core::ServerConfig> servers) {
  std::vector<core::ResolvedServer> list;
  list.reserve(servers.size());
  for (const core::ServerConfig& server : servers) {
    addrinfo hints = hintsFor(true);
    addrinfo* found = nullptr;
    std::string port = std::to_string(server.port);
    int rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found);
    if (retryWithoutAddrconfig(rc)) {
      hints = hintsFor(false);
      rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found);
    }
    if (rc != 0 || found == nullptr) return tl::unexpected(cannotResolve(server, gai_strerror(rc)));
    list.push_back(resolved(server, *found));
    freeaddrinfo(found);
  }
  return list;
}

}  // namespace gourmet::providers
