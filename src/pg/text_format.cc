#include "pg/text_format.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "pg/text_codec.h"

namespace walflow::pg {
namespace {

// The date part of a timestamp; returns whether the year is before 1, whose " BC" goes
// after the whole value.
bool AppendDateDigits(int64_t days, std::string* out) {
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  const bool bc = year <= 0;
  AppendCalendarDate(bc ? 1 - year : year, month, day, out);
  return bc;
}

void AppendTimestampText(int64_t days, int64_t micros_of_day, bool utc_offset, std::string* out) {
  const bool bc = AppendDateDigits(days, out);
  out->push_back(' ');
  AppendClock(micros_of_day, out);
  if (utc_offset) out->append("+00");
  if (bc) out->append(" BC");
}

}  // namespace

void SplitTimestamp(int64_t micros, int64_t* days, int64_t* micros_of_day) {
  *days = micros / kMicrosPerDay;
  *micros_of_day = micros % kMicrosPerDay;
  if (*micros_of_day < 0) {
    *micros_of_day += kMicrosPerDay;
    --*days;
  }
}

void AppendPadded(int64_t v, int width, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  for (int n = static_cast<int>(end - buf); n < width; ++n) out->push_back('0');
  out->append(buf, end);
}

void AppendBool(bool v, std::string* out) { out->push_back(v ? 't' : 'f'); }

void AppendCalendarDate(int64_t year, unsigned month, unsigned day, std::string* out) {
  AppendPadded(year, 4, out);
  out->push_back('-');
  AppendPadded(month, 2, out);
  out->push_back('-');
  AppendPadded(day, 2, out);
}

void AppendDate(int64_t days, std::string* out) {
  if (AppendDateDigits(days, out)) out->append(" BC");
}

void AppendClock(int64_t micros_of_day, std::string* out) {
  int64_t secs = micros_of_day / kMicrosPerSecond;
  int64_t frac = micros_of_day % kMicrosPerSecond;
  AppendPadded(secs / 3600, 2, out);
  out->push_back(':');
  AppendPadded(secs / 60 % 60, 2, out);
  out->push_back(':');
  AppendPadded(secs % 60, 2, out);
  if (frac != 0) {
    char digits[6];
    for (int i = 5; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int len = 6;
    while (digits[len - 1] == '0') --len;
    out->push_back('.');
    out->append(digits, len);
  }
}

void AppendTimeTz(int64_t micros_of_day_utc, std::string* out) {
  AppendClock(micros_of_day_utc, out);
  out->append("+00");
}

void AppendTimestamp(int64_t micros, std::string* out) {
  int64_t days, micros_of_day;
  SplitTimestamp(micros, &days, &micros_of_day);
  AppendTimestampText(days, micros_of_day, false, out);
}

void AppendTimestamp(int64_t days, int64_t micros_of_day, std::string* out) {
  AppendTimestampText(days, micros_of_day, false, out);
}

void AppendTimestampTz(int64_t days, int64_t micros_of_day, std::string* out) {
  AppendTimestampText(days, micros_of_day, true, out);
}

void AppendInterval(int64_t micros, std::string* out) {
  if (micros == 0) {
    out->append("00:00:00");
    return;
  }
  const bool negative = micros < 0;
  uint64_t rest = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  uint64_t months = rest / kMicrosPerMonth;
  rest %= kMicrosPerMonth;
  const uint64_t days = rest / kMicrosPerDay;
  rest %= kMicrosPerDay;
  const uint64_t years = months / 12;
  months %= 12;
  bool first = true;
  auto part = [&](uint64_t n, const char* unit) {
    if (n == 0) return;
    if (!first) out->push_back(' ');
    first = false;
    if (negative) out->push_back('-');
    AppendPadded(static_cast<int64_t>(n), 0, out);
    out->push_back(' ');
    out->append(unit);
    if (n != 1 || negative) out->push_back('s');  // PostgreSQL: "1 day", "-1 days"
  };
  part(years, "year");
  part(months, "mon");
  part(days, "day");
  if (rest != 0) {
    if (!first) out->push_back(' ');
    if (negative) out->push_back('-');
    AppendClock(static_cast<int64_t>(rest), out);
  }
}

void AppendByteaHex(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->append("\\x");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

void AppendNumeric(std::string_view unscaled, int32_t scale, std::string* out) {
  const bool negative = (static_cast<uint8_t>(unscaled[0]) & 0x80) != 0;
  std::vector<uint8_t> magnitude(unscaled.begin(), unscaled.end());
  if (negative) {
    int carry = 1;
    for (size_t i = magnitude.size(); i-- > 0;) {
      int v = (magnitude[i] ^ 0xff) + carry;
      magnitude[i] = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
  }
  // 32-bit limbs, most significant first, divided by 10^9 until nothing is left.
  std::vector<uint32_t> limbs((magnitude.size() + 3) / 4);
  for (size_t i = 0; i < magnitude.size(); ++i) {
    size_t from_end = magnitude.size() - 1 - i;
    limbs[limbs.size() - 1 - from_end / 4] |= static_cast<uint32_t>(magnitude[i])
                                              << (8 * (from_end % 4));
  }
  std::string digits;  // least significant first
  size_t first = 0;
  while (first < limbs.size() && limbs[first] == 0) ++first;
  while (first < limbs.size()) {
    uint64_t rem = 0;
    for (size_t i = first; i < limbs.size(); ++i) {
      uint64_t cur = rem << 32 | limbs[i];
      limbs[i] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (first < limbs.size() && limbs[first] == 0) ++first;
    for (int k = 0; k < 9; ++k) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits.empty()) digits.push_back('0');
  std::reverse(digits.begin(), digits.end());
  if (negative) out->push_back('-');
  if (scale <= 0) {
    out->append(digits);
    if (digits != "0") out->append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    return;
  }
  const size_t s = static_cast<size_t>(scale);
  if (digits.size() <= s) {
    out->append("0.");
    out->append(s - digits.size(), '0');
    out->append(digits);
  } else {
    out->append(digits, 0, digits.size() - s);
    out->push_back('.');
    out->append(digits, digits.size() - s, s);
  }
}

void AppendArrayElement(std::string_view text, char delimiter, std::string* out) {
  bool quote = text.empty();
  if (text.size() == 4) {
    quote = true;
    for (size_t i = 0; i < 4; ++i) quote = quote && (text[i] | 0x20) == "null"[i];
  }
  for (size_t i = 0; i < text.size() && !quote; ++i) {
    char c = text[i];
    quote = c == '"' || c == '\\' || c == '{' || c == '}' || c == delimiter || c == ' ' ||
            c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  if (!quote) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace walflow::pg
