#include "time_arg.h"

#include <cstdio>
#include <ctime>

namespace cvmwatch::app {

Result<TimePoint> ParseTimeArg(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 12) {
    return FromUnixSeconds(std::stoll(text));
  }
  std::tm tm{};
  char z = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z);
  if (n != 7 || z != 'Z' || text.size() != 20) {
    return MakeError(ErrorCode::kPrecondition,
                     "time '" + text + "' is neither unix seconds nor YYYY-MM-DDTHH:MM:SSZ");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return FromUnixSeconds(static_cast<std::int64_t>(timegm(&tm)));
}

std::string FormatUtc(TimePoint t) {
  const std::time_t s = static_cast<std::time_t>(ToUnixSeconds(t));
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace cvmwatch::app
