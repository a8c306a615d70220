#include "format/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace walflow::format {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// Whether any of the 8 bytes at `p` is below 0x20, '"' or '\\' (bit tricks on one word;
// may also say yes for a byte next to one that is).
bool WordNeedsEscape(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHighs;
  return (below_space | has_zero(w ^ ('"' * kOnes)) | has_zero(w ^ ('\\' * kOnes))) != 0;
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static const char kHex[] = "0123456789ABCDEF";
  out->push_back('"');
  size_t run = 0;  // start of the current run of characters that need no escape
  const size_t n = text.size();
  size_t i = 0;
  for (; i < n; ++i) {
    // Eight bytes at a time while none needs escaping (a control character, '"' or '\\');
    // a false alarm only sends the word through the byte loop.
    while (i + 8 <= n && !WordNeedsEscape(text.data() + i)) i += 8;
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(text.data() + run, n - run);
  out->push_back('"');
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

}  // namespace walflow::format
