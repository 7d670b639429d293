#pragma once

#include <string_view>

namespace gourmet::core {

// Why an exchange with an upstream server failed. Each maps to a status the
// client gets and a reason an operator reads in the page and the log.
enum class UpstreamError {
  kConnectRefused,
  kConnectFailed,
  kConnectTimeout,
  kReset,  // closed or reset before the response completed
  kInvalidResponse,
  kResponseTimeout,
};

inline std::string_view upstreamErrorReason(UpstreamError error) {
  switch (error) {
    case UpstreamError::kConnectRefused:
      return "upstream_connect_refused";
    case UpstreamError::kConnectFailed:
      return "upstream_connect_failed";
    case UpstreamError::kConnectTimeout:
      return "upstream_connect_timeout";
    case UpstreamError::kReset:
      return "upstream_reset";
    case UpstreamError::kInvalidResponse:
      return "upstream_invalid_response";
    case UpstreamError::kResponseTimeout:
      return "upstream_response_timeout";
  }
  return "upstream_error";
}

inline int upstreamErrorStatus(UpstreamError error) {
  return error == UpstreamError::kConnectTimeout || error == UpstreamError::kResponseTimeout ? 504
                                                                                             : 502;
}

}  // namespace gourmet::core
