// Parsing a point in time given on the command line: unix seconds or RFC 3339 UTC
// ("2025-10-25T00:00:00Z").
#pragma once

#include <string>

#include "cvmwatch/core/clock.h"
#include "cvmwatch/core/result.h"

namespace cvmwatch::app {

Result<TimePoint> ParseTimeArg(const std::string& text);
std::string FormatUtc(TimePoint t);

}  // namespace cvmwatch::app
