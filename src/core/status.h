// Status and Result<T>: the one error type of walflow. Exceptions do not cross
// module boundaries; every fallible call returns one of these.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace walflow {

// Codes carry retry meaning, as the runtime reads them:
//   kUnavailable        retry the same call after a backoff (connection dropped, sink down)
//   kAborted            retry at a higher level (restart the stream from the confirmed point)
//   kFailedPrecondition do not retry; the operator must act (wal_level, invalidated slot)
//   kInvalidArgument    bad input (config, unknown value); do not retry
//   kDataLoss           state on disk or in the server contradicts what walflow stored
//   kInternal           a bug in walflow
//   kCancelled          shutdown was requested
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kUnavailable,
  kAborted,
  kDataLoss,
  kIOError,
  kInternal,
  kCancelled,
};

const char* StatusCodeName(StatusCode code);

// Whether the runtime may retry an operation that failed with `code` after a backoff.
bool IsRetryable(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy with `context` prepended ("context: message").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status FailedPrecondition(std::string message);
Status Unavailable(std::string message);
Status Aborted(std::string message);
Status DataLoss(std::string message);
Status IOError(std::string message);
Status Internal(std::string message);
Status Cancelled(std::string message);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace walflow

#define WF_CONCAT_INNER(a, b) a##b
#define WF_CONCAT(a, b) WF_CONCAT_INNER(a, b)

#define WF_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::walflow::Status wf_status_ = (expr);   \
    if (!wf_status_.ok()) return wf_status_; \
  } while (0)

#define WF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define WF_ASSIGN_OR_RETURN(lhs, expr) \
  WF_ASSIGN_OR_RETURN_IMPL(WF_CONCAT(wf_result_, __LINE__), lhs, expr)
