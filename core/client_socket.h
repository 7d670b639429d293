#pragma once

// The part of a client connection that lives as long as its TCP connection:
// the socket, the peer's address, its place in the worker's lists. What
// serving a request takes (parser, buffers, timer, exchange state) is a
// ClientConnection lent from the worker's spares when the first byte of a
// request arrives and given back when the connection is idle again. So an
// idle keep-alive connection costs a uv_tcp_t and a few words, not a whole
// ClientConnection with its buffers; thousands of idle clients stay cheap.

#include <netinet/in.h>
#include <uv.h>

#include <cstddef>

#include "core/handoff_queue.h"
#include "core/idle_queue.h"

namespace gourmet::core {

class ClientConnection;
class Worker;

class ClientSocket final : public IdleQueue::Entry {
 public:
  explicit ClientSocket(Worker& worker);
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  // Takes the accepted socket and waits for a request. On failure the
  // socket closes itself.
  void start(const AcceptedConnection& accepted);

  // Graceful drain: close now if idle, else after the response in progress.
  void drain();
  // Close now, whatever is in flight.
  void abort();
  // The idle timeout passed (IdleQueue callback).
  static void onIdleExpired(IdleQueue::Entry* entry);

  // For the ClientConnection serving this socket.
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  // The peer's address as text, NUL-terminated, into `out`.
  void formatPeer(char* out, size_t size) const;
  void setReading(bool want);
  // TCP_NODELAY, as nginx sets it: once a connection is kept alive or a
  // response takes more than one write. A first response written at once
  // does not meet Nagle, so Connection: close clients skip the syscall.
  void useNoDelay();
  // The connection has nothing in flight: give it back, wait idle.
  void becomeIdle();
  // Closes the socket; a lent connection goes back to the spares once
  // libuv is done with the socket's writes.
  void close();
  bool closed() const { return closed_; }

  // The worker's list of open sockets.
  ClientSocket* prev_open = nullptr;
  ClientSocket* next_open = nullptr;

 private:
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onClosed(uv_handle_t* handle);
  ClientConnection& lend();

  Worker& worker_;
  uv_tcp_t tcp_{};
  ClientConnection* conn_ = nullptr;  // lent while a request is being served
  in6_addr peer_{};                   // IPv4 peers: the first 4 bytes
  bool peer_v6_ = false;
  bool reading_ = false;
  bool nodelay_ = false;
  bool closed_ = false;
};

}  // namespace gourmet::core
