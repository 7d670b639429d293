#include "core/out_queue.h"

namespace gourmet::core {

int OutQueue::flush() {
  if (in_flight_ || queued_.empty()) return 0;
  uv_buf_t buf = uv_buf_init(queued_.data(), static_cast<unsigned>(queued_.size()));
  int written = uv_try_write(stream_, &buf, 1);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) return written;
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

void OutQueue::onWrite(uv_write_t* req, int status) {
  auto* self = static_cast<OutQueue*>(req->data);
  self->in_flight_ = false;
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
