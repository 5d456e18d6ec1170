// Result<T>: the project's value-carried error channel.
//
// Contract: expected failures (bad input, unavailable peers, unmet preconditions) are returned as
// Error values, never thrown across a module boundary. Each ErrorCode names the rule it enforces.
// `retryable` tells callers (RPC client, webhook dispatcher, HTTP layer) whether trying again can
// help. Result is a plain value type: not thread-safe to mutate, safe to copy/move between threads.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cvmwatch {

// Closed set of error kinds. Add a value when a new rule is enforced; never reuse one.
enum class ErrorCode {
  // Encoding of values at the edge.
  kInvalidHex,
  kInvalidBase64,
  kInvalidLength,
  kInvalidJson,
  // ABI decoding / encoding.
  kAbiTruncated,        // a read past the end of the input
  kAbiBadOffset,        // an offset points outside its enclosing region
  kAbiBadLength,        // a length or element count the input cannot hold
  kAbiNonCanonical,     // padding or high bits not zero, bool not 0/1
  kAbiTooDeep,          // nesting deeper than the decoder allows
  kAbiBudgetExceeded,   // decoded size larger than the input can justify
  kAbiTypeSyntax,       // a canonical type string that does not parse
  kAbiValueMismatch,    // encoder given a value that does not fit the type
  kUnknownSelector,     // calldata whose 4-byte selector no known generation has
  kUnsupportedKey,      // identity key form the registry cannot hash
  // Environment.
  kIo,
  kNotFound,
  kUnavailable,
  kTimeout,
  kPrecondition,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
  bool retryable = false;

  // "kAbiBadOffset: offset 4096 of field wc.certs beyond input (size 228)"
  std::string ToString() const;
};

inline Error MakeError(ErrorCode code, std::string message, bool retryable = false) {
  return Error{code, std::move(message), retryable};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Result<void> equivalent.
struct Unit {};
using Status = Result<Unit>;
inline Status OkStatus() { return Unit{}; }

}  // namespace cvmwatch

// Propagate an error from an expression returning Result<...>; binds the value otherwise.
#define CVMW_CONCAT_INNER(a, b) a##b
#define CVMW_CONCAT(a, b) CVMW_CONCAT_INNER(a, b)
#define CVMW_ASSIGN_OR_RETURN(lhs, expr) \
  CVMW_ASSIGN_OR_RETURN_IMPL(CVMW_CONCAT(cvmw_result_, __LINE__), lhs, expr)
#define CVMW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  lhs = std::move(tmp).value()
#define CVMW_RETURN_IF_ERROR(expr)                          \
  do {                                                      \
    auto cvmw_status_ = (expr);                             \
    if (!cvmw_status_.ok()) return cvmw_status_.error();    \
  } while (0)
