// Levelled logging to stderr, one line per message:
//   2026-11-21T10:00:00.123Z INFO  [pg] streaming from 0/16B3748
// Thread-safe. Messages must never carry credentials: mask DSNs with pg::MaskDsn.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace walflow {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

bool ParseLogLevel(std::string_view text, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view component, std::string_view message);
// "512 B", "3.2 kB", "1.5 MB", "2.0 GB" (binary units), for progress lines.
std::string FormatBytes(uint64_t n);

template <typename... Args>
void Log(LogLevel level, std::string_view component, fmt::format_string<Args...> f,
         Args&&... args) {
  if (!LogEnabled(level)) return;
  LogLine(level, component, fmt::format(f, std::forward<Args>(args)...));
}

#define WF_LOG_DEBUG(component, ...) \
  ::walflow::Log(::walflow::LogLevel::kDebug, component, __VA_ARGS__)
#define WF_LOG_INFO(component, ...) \
  ::walflow::Log(::walflow::LogLevel::kInfo, component, __VA_ARGS__)
#define WF_LOG_WARN(component, ...) \
  ::walflow::Log(::walflow::LogLevel::kWarn, component, __VA_ARGS__)
#define WF_LOG_ERROR(component, ...) \
  ::walflow::Log(::walflow::LogLevel::kError, component, __VA_ARGS__)

}  // namespace walflow
