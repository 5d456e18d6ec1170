#include "cvmwatch/indexer/log.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "cvmwatch/core/json_writer.h"

namespace cvmwatch::indexer::log {
namespace {

std::atomic<Format> g_format{Format::kText};
std::atomic<Level> g_level{Level::kInfo};
std::once_flag g_init;
std::shared_ptr<spdlog::logger> g_logger;
std::mutex g_mu;

spdlog::level::level_enum ToSpd(Level l) {
  switch (l) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> Logger() {
  std::call_once(g_init, [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_logger = std::make_shared<spdlog::logger>("cvmwatch", sink);
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v", spdlog::pattern_time_type::utc);
    g_logger->set_level(ToSpd(g_level.load()));
  });
  return g_logger;
}

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), quoted(false) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  value = buf;
}

bool ParseLevel(std::string_view name, Level* out) {
  if (name == "debug") *out = Level::kDebug;
  else if (name == "info") *out = Level::kInfo;
  else if (name == "warn" || name == "warning") *out = Level::kWarn;
  else if (name == "error") *out = Level::kError;
  else if (name == "off") *out = Level::kOff;
  else return false;
  return true;
}

void Configure(Format format, Level level) {
  auto logger = Logger();
  std::lock_guard lock(g_mu);
  g_format = format;
  g_level = level;
  logger->set_level(ToSpd(level));
  if (format == Format::kJson) {
    logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->flush_on(spdlog::level::info);
}

Format CurrentFormat() { return g_format.load(); }

bool Enabled(Level level) { return level != Level::kOff && level >= g_level.load(); }

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  if (g_format.load() == Format::kJson) {
    line = "\"event\":" + std::string("\"") + JsonEscape(event) + "\"";
    for (const auto& f : fields) {
      line += ",\"";
      line += JsonEscape(f.key);
      line += "\":";
      if (f.quoted) {
        line += "\"" + JsonEscape(f.value) + "\"";
      } else {
        line += f.value;
      }
    }
  } else {
    line = std::string(event);
    for (const auto& f : fields) {
      line += " ";
      line += f.key;
      line += "=";
      if (f.quoted && NeedsQuoting(f.value)) {
        line += "\"" + JsonEscape(f.value) + "\"";
      } else {
        line += f.value;
      }
    }
  }
  Logger()->log(ToSpd(level), "{}", line);
}

}  // namespace cvmwatch::indexer::log
