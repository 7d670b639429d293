#pragma once

// Read buffers lent to libuv for one read at a time. A connection holds a
// buffer only between alloc_cb and the end of its read_cb (everything is
// parsed or copied out by then), so idle connections cost no buffer memory
// and a worker needs only a handful of buffers however many sockets it has.

#include <uv.h>

#include <memory>
#include <vector>

namespace gourmet::core {

class ReadBufferPool {
 public:
  static constexpr size_t kBufferSize = 64 * 1024;

  uv_buf_t take() {
    char* block;
    if (free_.empty()) {
      block = new char[kBufferSize];
    } else {
      block = free_.back().release();
      free_.pop_back();
    }
    return uv_buf_init(block, kBufferSize);
  }

  // Returns a buffer from take() (a null base is ignored).
  void give(const uv_buf_t* buf) {
    if (buf->base == nullptr) return;
    if (free_.size() >= kMaxFree) {
      delete[] buf->base;
      return;
    }
    free_.emplace_back(buf->base);
  }

 private:
  static constexpr size_t kMaxFree = 8;
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace gourmet::core
