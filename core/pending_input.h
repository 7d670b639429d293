#pragma once

// Bytes a client sent that are not parsed yet: pipelined requests waiting
// for the response before them. Parsing goes on from an offset instead of
// copying the rest to the front after each request, so a 64 KiB read of
// small pipelined requests costs linear work: bytes are moved only when the
// parsed part is at least half of the buffer, so each byte is moved a
// bounded number of times (movedBytes() proves it in tests).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gourmet::core {

class PendingInput {
 public:
  bool empty() const { return offset_ == bytes_.size(); }
  // Bytes not parsed yet.
  size_t size() const { return bytes_.size() - offset_; }
  std::string_view unparsed() const { return std::string_view(bytes_).substr(offset_); }

  // Keeps [from, end) after what is already pending.
  void append(const char* from, const char* end) {
    if (empty()) {
      bytes_.clear();
      offset_ = 0;
    } else if (offset_ >= bytes_.size() / 2) {
      moved_ += bytes_.size() - offset_;
      bytes_.erase(0, offset_);
      offset_ = 0;
    }
    bytes_.append(from, static_cast<size_t>(end - from));
  }
  // Parsing of unparsed() stopped at `stop` (inside it), or took it all.
  void parsedUpTo(const char* stop) { offset_ = static_cast<size_t>(stop - bytes_.data()); }
  void parsedAll() { offset_ = bytes_.size(); }

  void clear() {
    bytes_.clear();
    offset_ = 0;
  }
  // Forgets everything, and frees the buffer when it grew beyond `keep`.
  void shrink(size_t keep) {
    clear();
    if (bytes_.capacity() > keep) std::string().swap(bytes_);
  }
  // Bytes copied towards the front so far (not counting append's own copy).
  uint64_t movedBytes() const { return moved_; }

 private:
  std::string bytes_;
  size_t offset_ = 0;
  uint64_t moved_ = 0;
};

}  // namespace gourmet::core
