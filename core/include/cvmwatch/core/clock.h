// Clock: the seam for "now". Verification never asks a clock (its time is the block timestamp,
// passed in); the clock drives liveness checks, retries and expiry ticks. SystemClock reads the
// wall clock; ManualClock is the test double (set/advance explicitly). Both are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cvmwatch {

using TimePoint = std::chrono::sys_seconds;

inline TimePoint FromUnixSeconds(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }
inline std::int64_t ToUnixSeconds(TimePoint t) { return t.time_since_epoch().count(); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_(ToUnixSeconds(start)) {}
  TimePoint Now() const override { return FromUnixSeconds(now_.load()); }
  void Set(TimePoint t) { now_.store(ToUnixSeconds(t)); }
  void Advance(std::chrono::seconds d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace cvmwatch
