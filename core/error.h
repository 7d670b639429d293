#pragma once

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace gourmet::core {

// An error on the control plane (config, command line, start-up): one line a
// person can act on, already naming the file:line:column or the bad value.
struct Error {
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace gourmet::core
