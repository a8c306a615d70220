// Appends JSON text to a std::string. Escapes as Jackson (Kafka's JsonConverter) does:
// quote, backslash and control characters; UTF-8 passes through unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walflow::format {

void AppendJsonString(std::string_view text, std::string* out);
void AppendInt(int64_t v, std::string* out);
// Shortest text that reads back as the same double; NaN and infinities as Jackson's
// quoted "NaN", "Infinity", "-Infinity".
void AppendDouble(double v, std::string* out);

}  // namespace walflow::format
