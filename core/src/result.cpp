#include "cvmwatch/core/result.h"

namespace cvmwatch {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidHex: return "kInvalidHex";
    case ErrorCode::kInvalidBase64: return "kInvalidBase64";
    case ErrorCode::kInvalidLength: return "kInvalidLength";
    case ErrorCode::kInvalidJson: return "kInvalidJson";
    case ErrorCode::kAbiTruncated: return "kAbiTruncated";
    case ErrorCode::kAbiBadOffset: return "kAbiBadOffset";
    case ErrorCode::kAbiBadLength: return "kAbiBadLength";
    case ErrorCode::kAbiNonCanonical: return "kAbiNonCanonical";
    case ErrorCode::kAbiTooDeep: return "kAbiTooDeep";
    case ErrorCode::kAbiBudgetExceeded: return "kAbiBudgetExceeded";
    case ErrorCode::kAbiTypeSyntax: return "kAbiTypeSyntax";
    case ErrorCode::kAbiValueMismatch: return "kAbiValueMismatch";
    case ErrorCode::kUnknownSelector: return "kUnknownSelector";
    case ErrorCode::kUnsupportedKey: return "kUnsupportedKey";
    case ErrorCode::kIo: return "kIo";
    case ErrorCode::kNotFound: return "kNotFound";
    case ErrorCode::kUnavailable: return "kUnavailable";
    case ErrorCode::kTimeout: return "kTimeout";
    case ErrorCode::kPrecondition: return "kPrecondition";
  }
  return "kUnknownErrorCode";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  out += ": ";
  out += message;
  if (retryable) out += " (retryable)";
  return out;
}

}  // namespace cvmwatch
