#pragma once

// One active health check of one server: a TCP connect, one HTTP/1.1 GET
// with `Connection: close`, and the response head parsed by the same strict
// HttpParser as the data path, all within one timeout. Main thread (or any
// one loop's thread); ActiveHealthChecks runs one per server at a time.
//
// A probe owns itself. It reports exactly once, after its handles are
// closed, so when the callback runs nothing of the probe is left on the
// loop and the owner may drop everything. cancel() (server removed by a
// reload, shutdown) replaces the report by a plain "closed" notice.

#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/http_parser.h"

namespace gourmet::core {

enum class ProbeOutcome {
  kPass,             // a final status within the expected range
  kStatus,           // a final status outside it
  kConnectRefused,   // nothing listens
  kConnectFailed,    // any other connect error (ProbeResult::error says which)
  kTimeout,          // no response head within the timeout
  kReset,            // closed or reset before the response head
  kInvalidResponse,  // not a response HttpParser accepts
};

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kPass;
  int status = 0;  // kPass, kStatus: the response's status
  int error = 0;   // kConnectFailed: the libuv error code

  bool passed() const { return outcome == ProbeOutcome::kPass; }
  // A few words for the log: "connect refused", "status 500", "timeout".
  std::string reason() const;
};

// What to ask and what passes, shared by every probe of one server.
struct ProbeSpec {
  sockaddr_storage address{};
  std::string request;  // the bytes sent, from healthCheckRequest()
  int expect_min = 200;
  int expect_max = 399;
  Millis timeout{1000};
};

// "GET <path> HTTP/1.1" with Host, User-Agent and `Connection: close`.
std::string healthCheckRequest(std::string_view path, std::string_view host);

class HealthProbe final : private HttpParser::Events {
 public:
  using Done = std::function<void(const ProbeResult&)>;

  // Starts a check on `loop`. `done` runs once, from the loop (never from
  // inside start()), unless cancel() came first. The pointer is valid
  // until then.
  static HealthProbe* start(uv_loop_t* loop, const ProbeSpec& spec, Done done);

  // No report after this: the socket is closed at once, the probe frees
  // itself once libuv is done with its handles, then `closed` runs (may be
  // empty). Call it at most once, and not after `done` ran.
  void cancel(std::function<void()> closed);

  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

 private:
  enum class State { kConnecting, kAwaitingHead, kClosing };

  HealthProbe(uv_loop_t* loop, const ProbeSpec& spec, Done done);
  ~HealthProbe() = default;

  void begin();
  void finish(ProbeResult result);
  void closeHandles();
  void handleData(const char* data, size_t len);

  static void onConnect(uv_connect_t* req, int status);
  static void onWrite(uv_write_t* req, int status);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onTimeout(uv_timer_t* timer);
  static void onClosed(uv_handle_t* handle);

  // HttpParser::Events
  int onHeadersComplete() override;
  void onBody(std::string_view) override {}
  int onMessageComplete() override { return 0; }

  uv_loop_t* loop_;
  ProbeSpec spec_;
  Done done_;
  std::function<void()> closed_;  // set by cancel(): replaces done_
  ProbeResult result_;
  State state_ = State::kConnecting;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  HttpParser parser_{HTTP_RESPONSE, *this};
  int final_status_ = 0;  // set by onHeadersComplete for a final response
  int open_handles_ = 0;
  char buffer_[4096];
};

}  // namespace gourmet::core
