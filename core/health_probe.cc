#include "core/health_probe.h"

#include <fmt/format.h>

#include <utility>

namespace gourmet::core {

std::string ProbeResult::reason() const {
  switch (outcome) {
    case ProbeOutcome::kPass:
      return fmt::format("status {}", status);
    case ProbeOutcome::kStatus:
      return fmt::format("status {}", status);
    case ProbeOutcome::kConnectRefused:
      return "connect refused";
    case ProbeOutcome::kConnectFailed:
      return fmt::format("connect failed ({})", uv_err_name(error));
    case ProbeOutcome::kTimeout:
      return "timeout";
    case ProbeOutcome::kReset:
      return "reset";
    case ProbeOutcome::kInvalidResponse:
      return "invalid response";
  }
  return "unknown";
}

std::string healthCheckRequest(std::string_view path, std::string_view host) {
  return fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gourmet-health-check\r\n"
      "Connection: close\r\n\r\n",
      path, host);
}

HealthProbe* HealthProbe::start(uv_loop_t* loop, const ProbeSpec& spec, Done done) {
  auto* probe = new HealthProbe(loop, spec, std::move(done));
  probe->begin();
  return probe;
}

HealthProbe::HealthProbe(uv_loop_t* loop, const ProbeSpec& spec, Done done)
    : loop_(loop), spec_(spec), done_(std::move(done)) {}

void HealthProbe::begin() {
  uv_tcp_init(loop_, &tcp_);
  uv_timer_init(loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
  open_handles_ = 2;
  // A check never keeps the loop alive on its own (its owner's stop() ends it).
  uv_unref(reinterpret_cast<uv_handle_t*>(&tcp_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  uv_timer_start(&timer_, &HealthProbe::onTimeout, static_cast<uint64_t>(spec_.timeout.count()), 0);
  uv_tcp_nodelay(&tcp_, 1);
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&spec_.address),
                          &HealthProbe::onConnect);
  if (rc < 0) {
    // The report comes from the close callbacks, so never from inside start().
    finish({rc == UV_ECONNREFUSED ? ProbeOutcome::kConnectRefused : ProbeOutcome::kConnectFailed, 0,
            rc});
  }
}

void HealthProbe::cancel(std::function<void()> closed) {
  done_ = nullptr;
  closed_ = std::move(closed);
  if (state_ != State::kClosing) {
    state_ = State::kClosing;
    closeHandles();
  }
}

void HealthProbe::finish(ProbeResult result) {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  result_ = result;
  closeHandles();
}

void HealthProbe::closeHandles() {
  uv_timer_stop(&timer_);
  // Pending connect and write requests see UV_ECANCELED before onClosed runs.
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &HealthProbe::onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &HealthProbe::onClosed);
}

void HealthProbe::onClosed(uv_handle_t* handle) {
  auto* probe = static_cast<HealthProbe*>(handle->data);
  if (--probe->open_handles_ > 0) return;
  Done done = std::move(probe->done_);
  std::function<void()> closed = std::move(probe->closed_);
  ProbeResult result = probe->result_;
  delete probe;
  if (done) done(result);
  if (closed) closed();
}

void HealthProbe::onConnect(uv_connect_t* req, int status) {
  auto* probe = static_cast<HealthProbe*>(req->data);
  if (status == UV_ECANCELED || probe->state_ == State::kClosing) return;
  if (status < 0) {
    probe->finish(
        {status == UV_ECONNREFUSED ? ProbeOutcome::kConnectRefused : ProbeOutcome::kConnectFailed,
         0, status});
    return;
  }
  probe->state_ = State::kAwaitingHead;
  // The request is a few hundred bytes: one write, its buffer lives in spec_.
  uv_buf_t buf =
      uv_buf_init(probe->spec_.request.data(), static_cast<unsigned>(probe->spec_.request.size()));
  probe->write_req_.data = probe;
  int rc = uv_write(&probe->write_req_, reinterpret_cast<uv_stream_t*>(&probe->tcp_), &buf, 1,
                    &HealthProbe::onWrite);
  if (rc == 0) {
    rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&probe->tcp_), &HealthProbe::onAlloc,
                       &HealthProbe::onRead);
  }
  if (rc < 0) probe->finish({ProbeOutcome::kReset, 0, rc});
}

void HealthProbe::onWrite(uv_write_t* req, int status) {
  auto* probe = static_cast<HealthProbe*>(req->data);
  if (status == UV_ECANCELED || probe->state_ == State::kClosing) return;
  if (status < 0) probe->finish({ProbeOutcome::kReset, 0, status});
}

void HealthProbe::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* probe = static_cast<HealthProbe*>(handle->data);
  *buf = uv_buf_init(probe->buffer_, sizeof probe->buffer_);
}

void HealthProbe::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* probe = static_cast<HealthProbe*>(stream->data);
  if (probe->state_ == State::kClosing) return;
  if (nread > 0) {
    probe->handleData(buf->base, static_cast<size_t>(nread));
  } else if (nread < 0) {
    // EOF or an error before the head was complete: the server hung up.
    probe->finish({ProbeOutcome::kReset, 0, static_cast<int>(nread)});
  }
}

void HealthProbe::handleData(const char* data, size_t len) {
  llhttp_errno_t err = parser_.execute(data, len);
  if (final_status_ != 0) {
    bool pass = final_status_ >= spec_.expect_min && final_status_ <= spec_.expect_max;
    finish({pass ? ProbeOutcome::kPass : ProbeOutcome::kStatus, final_status_, 0});
  } else if (err != HPE_OK) {
    finish({ProbeOutcome::kInvalidResponse, 0, 0});
  }
}

void HealthProbe::onTimeout(uv_timer_t* timer) {
  static_cast<HealthProbe*>(timer->data)->finish({ProbeOutcome::kTimeout, 0, 0});
}

int HealthProbe::onHeadersComplete() {
  int status = parser_.status();
  // As on the data path: three-digit codes only, and no upgrade we never asked for.
  if (status < 100 || status == 101) return -1;
  if (status < 200) return 1;  // 100 Continue and friends: the final head follows
  final_status_ = status;
  return HPE_PAUSED;  // the head is all a check needs
}

}  // namespace gourmet::core
