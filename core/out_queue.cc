#include "core/out_queue.h"

namespace gourmet::core {

void OutQueue::write(std::initializer_list<std::string_view> parts) {
  if (in_flight_ || !queued_.empty() || error_ != 0) {
    for (std::string_view part : parts) queued_.append(part);
    return;
  }
  uv_buf_t bufs[4];
  unsigned count = 0;
  size_t total = 0;
  for (std::string_view part : parts) {
    if (part.empty() || count == 4) continue;
    bufs[count++] = uv_buf_init(const_cast<char*>(part.data()), static_cast<unsigned>(part.size()));
    total += part.size();
  }
  if (count == 0) return;
  int written = uv_try_write(stream_, bufs, count);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    error_ = written;
    return;
  }
  written_ += static_cast<uint64_t>(written);
  if (static_cast<size_t>(written) == total) return;
  // The kernel took a prefix: queue the rest, in order.
  size_t skip = static_cast<size_t>(written);
  for (std::string_view part : parts) {
    if (skip >= part.size()) {
      skip -= part.size();
      continue;
    }
    queued_.append(part.substr(skip));
    skip = 0;
  }
}

int OutQueue::flush() {
  if (error_ != 0) return error_;
  if (in_flight_ || queued_.empty()) return 0;
  uv_buf_t buf = uv_buf_init(queued_.data(), static_cast<unsigned>(queued_.size()));
  int written = uv_try_write(stream_, &buf, 1);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) return written;
  written_ += static_cast<uint64_t>(written);
  if (static_cast<size_t>(written) == queued_.size()) {
    queued_.clear();
    return 0;
  }
  writing_.assign(queued_, static_cast<size_t>(written));
  queued_.clear();
  buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  req_.data = this;
  int rc = uv_write(&req_, stream_, &buf, 1, &OutQueue::onWrite);
  if (rc == 0) in_flight_ = true;
  return rc;
}

uint64_t OutQueue::written() const {
  if (!in_flight_) return written_;
  // libuv counts down the write queue as the kernel takes bytes.
  size_t left = uv_stream_get_write_queue_size(stream_);
  return written_ + (writing_.size() > left ? writing_.size() - left : 0);
}

void OutQueue::onWrite(uv_write_t* req, int status) {
  auto* self = static_cast<OutQueue*>(req->data);
  self->in_flight_ = false;
  if (status >= 0) self->written_ += self->writing_.size();
  self->writing_.clear();
  if (status < 0) {
    if (status != UV_ECANCELED) self->owner_.onWriteError(*self, status);
    return;
  }
  if (!self->queued_.empty()) {
    int rc = self->flush();
    if (rc < 0) {
      self->owner_.onWriteError(*self, rc);
      return;
    }
  }
  if (self->pending() <= kLowWatermark) self->owner_.onDrained(*self);
}

void OutQueue::shrink() {
  if (queued_.capacity() > 4096 && queued_.empty()) std::string().swap(queued_);
  if (writing_.capacity() > 4096 && !in_flight_) std::string().swap(writing_);
}

}  // namespace gourmet::core
