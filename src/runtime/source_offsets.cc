#include "runtime/source_offsets.h"

#include <charconv>

namespace walflow::runtime {

std::string FormatSourceOffsets(const SourceOffsets& offsets) {
  std::string out;
  for (const auto& [stream, offset] : offsets) {
    if (!out.empty()) out.push_back(',');
    out += stream;
    out.push_back('=');
    out += std::to_string(offset);
  }
  return out;
}

Result<SourceOffsets> ParseSourceOffsets(const std::string& text) {
  SourceOffsets out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    std::string entry = text.substr(at, end - at);
    size_t eq = entry.rfind('=');
    size_t colon = entry.rfind(':', eq);
    int64_t offset = -1;
    const char* num = entry.data() + (eq == std::string::npos ? 0 : eq + 1);
    auto [ptr, ec] = std::from_chars(num, entry.data() + entry.size(), offset);
    if (eq == std::string::npos || colon == std::string::npos || colon == 0 || ec != std::errc() ||
        ptr != entry.data() + entry.size() || offset < 0) {
      return InvalidArgument("damaged source position entry '" + entry +
                             "' (expected topic:partition=offset)");
    }
    out[entry.substr(0, eq)] = offset;
    at = end + 1;
  }
  return out;
}

void MergeSourceOffsets(const SourceOffsets& from, SourceOffsets* into) {
  for (const auto& [stream, offset] : from) {
    auto [it, inserted] = into->emplace(stream, offset);
    if (!inserted && it->second < offset) it->second = offset;
  }
}

}  // namespace walflow::runtime
