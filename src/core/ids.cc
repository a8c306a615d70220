#include "core/ids.h"

#include <cstdio>

namespace walflow {

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(value >> 32),
                static_cast<uint32_t>(value));
  return buf;
}

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size())
    return std::nullopt;
  uint64_t hi = 0, lo = 0;
  auto hex = [](std::string_view s, uint64_t* out) {
    if (s.size() > 8) return false;
    uint64_t v = 0;
    for (char c : s) {
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else
        return false;
      v = v * 16 + d;
    }
    *out = v;
    return true;
  };
  if (!hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo)) return std::nullopt;
  return Lsn((hi << 32) | lo);
}

}  // namespace walflow
