#include "pg/text_codec.h"

#include <cstring>
#include <limits>

namespace walflow::pg {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// PostgreSQL's range exceeds int64 microseconds since 1970 at the far ends (timestamps in
// the year 294276, intervals of millions of years); such values saturate.
int64_t Saturate(__int128 v) {
  if (v > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (v < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Reads an unsigned decimal number at text[*pos]; at least one digit.
bool ReadUnsigned(std::string_view text, size_t* pos, int64_t* out, size_t max_digits = 18) {
  size_t start = *pos;
  int64_t v = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    if (*pos - start >= max_digits) return false;
    v = v * 10 + (text[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return false;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "HH:MM:SS[.ffffff]" at *pos; hours may exceed 24 when allow_long_hours (intervals).
bool ReadClock(std::string_view text, size_t* pos, int64_t* micros, bool allow_long_hours) {
  int64_t h, m, s;
  size_t hstart = *pos;
  if (!ReadUnsigned(text, pos, &h)) return false;
  if (!allow_long_hours && *pos - hstart != 2) return false;
  if (!Expect(text, pos, ':') || !ReadUnsigned(text, pos, &m, 2) || m > 59) return false;
  if (!Expect(text, pos, ':') || !ReadUnsigned(text, pos, &s, 2) || s > 60) return false;
  int64_t frac = 0;
  if (*pos < text.size() && text[*pos] == '.') {
    ++*pos;
    int digits = 0;
    while (*pos < text.size() && IsDigit(text[*pos])) {
      if (digits < 6) {
        frac = frac * 10 + (text[*pos] - '0');
        ++digits;
      }
      ++*pos;
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) frac *= 10;
  }
  *micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
  return true;
}

// "+HH[:MM[:SS]]" or "-HH..." at *pos, as seconds east of UTC.
bool ReadOffset(std::string_view text, size_t* pos, int64_t* seconds) {
  if (*pos >= text.size() || (text[*pos] != '+' && text[*pos] != '-')) return false;
  int sign = text[*pos] == '-' ? -1 : 1;
  ++*pos;
  int64_t h, m = 0, s = 0;
  if (!ReadUnsigned(text, pos, &h, 2)) return false;
  if (*pos < text.size() && text[*pos] == ':') {
    ++*pos;
    if (!ReadUnsigned(text, pos, &m, 2)) return false;
    if (*pos < text.size() && text[*pos] == ':') {
      ++*pos;
      if (!ReadUnsigned(text, pos, &s, 2)) return false;
    }
  }
  *seconds = sign * (h * 3600 + m * 60 + s);
  return true;
}

// "YYYY-MM-DD" at *pos (the year may have more than four digits).
bool ReadDate(std::string_view text, size_t* pos, int64_t* year, int64_t* month, int64_t* day) {
  if (!ReadUnsigned(text, pos, year, 9) || !Expect(text, pos, '-') ||
      !ReadUnsigned(text, pos, month, 2) || !Expect(text, pos, '-') ||
      !ReadUnsigned(text, pos, day, 2)) {
    return false;
  }
  return *month >= 1 && *month <= 12 && *day >= 1 && *day <= 31;
}

bool ReadBcSuffix(std::string_view text, size_t* pos, int64_t* year) {
  if (text.substr(*pos) == " BC") {
    *year = 1 - *year;  // 1 BC is year 0 in the proleptic calendar
    *pos = text.size();
  }
  return true;
}

}  // namespace

Infinity ParseInfinity(std::string_view text) {
  if (text == "infinity") return Infinity::kPositive;
  if (text == "-infinity") return Infinity::kNegative;
  return Infinity::kNone;
}

bool ParseBool(std::string_view text, bool* out) {
  if (text == "t") {
    *out = true;
    return true;
  }
  if (text == "f") {
    *out = false;
    return true;
  }
  return false;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (*month <= 2);
}

bool ParseDate(std::string_view text, int32_t* days) {
  size_t pos = 0;
  int64_t y, m, d;
  if (!ReadDate(text, &pos, &y, &m, &d)) return false;
  ReadBcSuffix(text, &pos, &y);
  if (pos != text.size()) return false;
  *days =
      static_cast<int32_t>(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
  return true;
}

bool ParseTime(std::string_view text, int64_t* micros) {
  size_t pos = 0;
  return ReadClock(text, &pos, micros, false) && pos == text.size();
}

bool ParseTimeTz(std::string_view text, int64_t* micros_utc) {
  size_t pos = 0;
  int64_t local, offset;
  if (!ReadClock(text, &pos, &local, false) || !ReadOffset(text, &pos, &offset) ||
      pos != text.size()) {
    return false;
  }
  int64_t utc = (local - offset * kMicrosPerSecond) % kMicrosPerDay;
  if (utc < 0) utc += kMicrosPerDay;
  *micros_utc = utc;
  return true;
}

bool ParseTimestamp(std::string_view text, int64_t* micros) {
  int64_t days, rem;
  if (!ParseTimestampParts(text, &days, &rem)) return false;
  *micros = Saturate(static_cast<__int128>(days) * kMicrosPerDay + rem);
  return true;
}

bool ParseTimestampParts(std::string_view text, int64_t* days_out, int64_t* micros_of_day) {
  size_t pos = 0;
  int64_t y, m, d, clock;
  if (!ReadDate(text, &pos, &y, &m, &d) || !Expect(text, &pos, ' ') ||
      !ReadClock(text, &pos, &clock, false)) {
    return false;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    if (!ReadOffset(text, &pos, &offset)) return false;
  }
  ReadBcSuffix(text, &pos, &y);
  if (pos != text.size()) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  int64_t rem = clock - offset * kMicrosPerSecond;
  days += rem / kMicrosPerDay;
  rem %= kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  *days_out = days;
  *micros_of_day = rem;
  return true;
}

bool ParseInterval(std::string_view text, int64_t* micros) {
  __int128 total = 0;
  size_t pos = 0;
  bool any = false;
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    int sign = 1;
    if (text[pos] == '-' || text[pos] == '+') {
      sign = text[pos] == '-' ? -1 : 1;
      ++pos;
    }
    // Either a clock "HH:MM:SS" or "<number> <unit>".
    size_t colon_probe = pos;
    while (colon_probe < text.size() && IsDigit(text[colon_probe])) ++colon_probe;
    if (colon_probe < text.size() && text[colon_probe] == ':') {
      int64_t clock;
      if (!ReadClock(text, &pos, &clock, true)) return false;
      total += sign * clock;
      any = true;
      continue;
    }
    int64_t n;
    if (!ReadUnsigned(text, &pos, &n)) return false;
    if (!Expect(text, &pos, ' ')) return false;
    size_t unit_start = pos;
    while (pos < text.size() && text[pos] != ' ') ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    __int128 v = static_cast<__int128>(sign) * n;
    if (unit == "year" || unit == "years") {
      total += v * 12 * kMicrosPerMonth;
    } else if (unit == "mon" || unit == "mons") {
      total += v * kMicrosPerMonth;
    } else if (unit == "day" || unit == "days") {
      total += v * kMicrosPerDay;
    } else {
      return false;
    }
    any = true;
  }
  if (!any) return false;
  *micros = Saturate(total);
  return true;
}

bool DecodeBytea(std::string_view text, std::string* out) {
  out->clear();
  auto hexval = HexDigitValue;
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    if ((text.size() - 2) % 2 != 0) return false;
    out->resize((text.size() - 2) / 2);
    for (size_t i = 2, o = 0; i < text.size(); i += 2, ++o) {
      int hi = hexval(text[i]), lo = hexval(text[i + 1]);
      if (hi < 0 || lo < 0) return false;
      (*out)[o] = static_cast<char>(hi << 4 | lo);
    }
    return true;
  }
  // Escape format: backslash-octal triples and doubled backslashes.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out->push_back(text[i]);
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      out->push_back('\\');
      ++i;
    } else if (i + 3 < text.size()) {
      int v = 0;
      for (int k = 1; k <= 3; ++k) {
        char c = text[i + k];
        if (c < '0' || c > '7') return false;
        v = v * 8 + (c - '0');
      }
      out->push_back(static_cast<char>(v));
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

bool DecimalToUnscaled(std::string_view text, std::string* bytes, int32_t* scale) {
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    negative = text[pos] == '-';
    ++pos;
  }
  // Magnitude as big-endian bytes, built digit by digit (nine at a time).
  std::string mag;
  int32_t frac_digits = 0;
  bool seen_point = false, any_digit = false;
  uint64_t chunk = 0, chunk_mul = 1;
  auto flush = [&]() {
    uint64_t carry = chunk;
    for (size_t i = mag.size(); i-- > 0;) {
      uint64_t v = static_cast<uint8_t>(mag[i]) * chunk_mul + carry;
      mag[i] = static_cast<char>(v & 0xff);
      carry = v >> 8;
    }
    while (carry) {
      mag.insert(mag.begin(), static_cast<char>(carry & 0xff));
      carry >>= 8;
    }
    chunk = 0;
    chunk_mul = 1;
  };
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (c == '.') {
      if (seen_point) return false;
      seen_point = true;
      continue;
    }
    if (!IsDigit(c)) return false;
    any_digit = true;
    if (seen_point) ++frac_digits;
    chunk = chunk * 10 + (c - '0');
    chunk_mul *= 10;
    if (chunk_mul == 1000000000ULL) flush();
  }
  if (!any_digit) return false;
  if (chunk_mul > 1) flush();
  size_t nz = 0;
  while (nz < mag.size() && mag[nz] == 0) ++nz;
  mag.erase(0, nz);
  *scale = frac_digits;
  if (mag.empty()) {
    bytes->assign(1, '\0');
    return true;
  }
  if (!negative) {
    if (static_cast<uint8_t>(mag[0]) & 0x80) mag.insert(mag.begin(), '\0');
    *bytes = std::move(mag);
    return true;
  }
  mag.insert(mag.begin(), '\0');
  // Two's complement: invert and add one.
  int carry = 1;
  for (size_t i = mag.size(); i-- > 0;) {
    int v = (static_cast<uint8_t>(mag[i]) ^ 0xff) + carry;
    mag[i] = static_cast<char>(v & 0xff);
    carry = v >> 8;
  }
  size_t drop = 0;
  while (drop + 1 < mag.size() && static_cast<uint8_t>(mag[drop]) == 0xff &&
         (static_cast<uint8_t>(mag[drop + 1]) & 0x80)) {
    ++drop;
  }
  mag.erase(0, drop);
  *bytes = std::move(mag);
  return true;
}

bool ParseArray(std::string_view text, std::vector<ArrayElement>* out, std::string* scratch,
                char delimiter) {
  out->clear();
  scratch->clear();
  size_t pos = 0;
  // Optional dimension decoration "[1:3]=".
  if (!text.empty() && text[0] == '[') {
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) return false;
    if (text.substr(0, eq).find("][") != std::string_view::npos) return false;
    pos = eq + 1;
  }
  if (pos >= text.size() || text[pos] != '{' || text.back() != '}') return false;
  ++pos;
  const size_t end = text.size() - 1;
  if (pos == end) return true;
  // Offsets of escaped elements into scratch are fixed up at the end, since scratch may grow.
  struct Pending {
    size_t index, offset, length;
  };
  std::vector<Pending> pending;
  while (pos <= end) {
    while (pos < end && text[pos] == ' ') ++pos;
    if (pos < end && text[pos] == '{') return false;  // nested: multi-dimensional
    ArrayElement el;
    if (pos < end && text[pos] == '"') {
      ++pos;
      size_t start = pos;
      bool escaped = false;
      while (pos < end && text[pos] != '"') {
        if (text[pos] == '\\') {
          escaped = true;
          ++pos;
        }
        ++pos;
      }
      if (pos >= end) return false;
      if (escaped) {
        size_t off = scratch->size();
        for (size_t i = start; i < pos; ++i) {
          if (text[i] == '\\') ++i;
          scratch->push_back(text[i]);
        }
        pending.push_back({out->size(), off, scratch->size() - off});
      } else {
        el.text = text.substr(start, pos - start);
      }
      ++pos;  // closing quote
      while (pos < end && text[pos] == ' ') ++pos;
    } else {
      size_t start = pos;
      while (pos < end && text[pos] != delimiter) ++pos;
      size_t stop = pos;
      while (stop > start && text[stop - 1] == ' ') --stop;
      el.text = text.substr(start, stop - start);
      if (el.text.size() == 4 && (el.text[0] == 'N' || el.text[0] == 'n') &&
          strncasecmp(el.text.data(), "NULL", 4) == 0) {
        el.is_null = true;
        el.text = {};
      }
    }
    out->push_back(el);
    if (pos == end) break;
    if (text[pos] != delimiter) return false;
    ++pos;
  }
  for (const Pending& p : pending) {
    (*out)[p.index].text = std::string_view(scratch->data() + p.offset, p.length);
  }
  return true;
}

void AppendBase64(std::string_view in, std::string* out) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  out->reserve(out->size() + (in.size() + 2) / 3 * 4);
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = p[i] << 16;
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->append("==");
  } else if (i + 2 == in.size()) {
    uint32_t v = p[i] << 16 | p[i + 1] << 8;
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back('=');
  }
}

void AppendIsoTimestampUtc(int64_t micros, std::string* out) {
  int64_t days, rem;
  SplitTimestamp(micros, &days, &rem);
  AppendIsoTimestampUtc(days, rem, out);
}

void AppendIsoTimestampUtc(int64_t days, int64_t rem, std::string* out) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y > 9999) out->push_back('+');
  if (y < 0) {
    out->push_back('-');
    y = -y;
  }
  AppendCalendarDate(y, m, d, out);
  out->push_back('T');
  AppendClock(rem, out);
  out->push_back('Z');
}

void AppendIsoTimeUtc(int64_t micros, std::string* out) {
  AppendClock(micros, out);
  out->push_back('Z');
}

}  // namespace walflow::pg
