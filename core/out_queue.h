#pragma once

// Bytes waiting to be written to one stream. Writes made while handling one
// read are gathered and sent with one syscall by flush() (uv_try_write
// first; the remainder goes out with uv_write). write() is the shortcut for
// body bytes: when nothing is queued it hands them to the kernel straight
// from the caller's buffer and copies only what the kernel did not take.
// pending() is what the other side's backpressure looks at: above the high
// watermark it stops reading, and resumes once pending() is back under the
// low watermark, which the owner hears from onDrained() when a background
// write completes, or sees itself right after a flush() that wrote
// synchronously.

#include <uv.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace gourmet::core {

class OutQueue {
 public:
  class Owner {
   public:
    // A background write completed and pending() <= kLowWatermark.
    virtual void onDrained(OutQueue& queue) = 0;
    virtual void onWriteError(OutQueue& queue, int status) = 0;

   protected:
    ~Owner() = default;
  };

  static constexpr size_t kHighWatermark = 256 * 1024;
  static constexpr size_t kLowWatermark = 64 * 1024;

  OutQueue(Owner& owner, uv_stream_t* stream) : owner_(owner), stream_(stream) {}

  // The stream to write to next (the queue must be idle).
  void setStream(uv_stream_t* stream) { stream_ = stream; }

  void append(std::string_view data) { queued_.append(data); }
  std::string& buffer() { return queued_; }  // for in-place serialisation

  // `parts` in order: written at once when nothing is queued or in flight
  // (no copy of what the kernel takes), else appended. Only for a stream
  // that can be written now (connected). A failure is kept for flush().
  void write(std::initializer_list<std::string_view> parts);

  // Starts writing what was appended. Returns a libuv error when the stream
  // failed synchronously (now or in an earlier write()), 0 otherwise.
  int flush();

  size_t pending() const { return queued_.size() + writing_.size(); }
  bool idle() const { return !in_flight_ && queued_.empty(); }
  bool aboveHigh() const { return pending() > kHighWatermark; }
  bool belowLow() const { return pending() <= kLowWatermark; }
  // Bytes the kernel has taken from this queue so far: it moves whenever
  // the peer reads, even inside one long background write.
  uint64_t written() const;

  // Frees buffer memory held for a connection that goes idle.
  void shrink();
  // Forgets unsent bytes of a stream that was closed (no write in flight).
  void discard() {
    queued_.clear();
    writing_.clear();
    error_ = 0;
  }

 private:
  static void onWrite(uv_write_t* req, int status);

  Owner& owner_;
  uv_stream_t* stream_;
  std::string queued_;   // appended, not yet handed to the kernel
  std::string writing_;  // owned by the uv_write in flight
  uv_write_t req_{};
  uint64_t written_ = 0;  // by completed writes and uv_try_write
  int error_ = 0;         // a failed write(), reported by the next flush()
  bool in_flight_ = false;
};

}  // namespace gourmet::core
