#include "format/iso8601.h"

#include "pg/text_codec.h"
#include "pg/text_format.h"

namespace walflow::format {
namespace {

using pg::kMicrosPerDay;
using pg::kMicrosPerSecond;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `count` digits at t[*pos].
bool ReadFixedDigits(std::string_view t, size_t* pos, int count, int64_t* out) {
  if (*pos + count > t.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < count; ++i) {
    char c = t[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += count;
  *out = v;
  return true;
}

bool Expect(std::string_view t, size_t* pos, char c) {
  if (*pos >= t.size() || t[*pos] != c) return false;
  ++*pos;
  return true;
}

// "HH:MM[:SS[.fffffffff]]" as microseconds (digits beyond the sixth are dropped).
bool ReadIsoClock(std::string_view t, size_t* pos, int64_t* micros) {
  int64_t h, m, s = 0, frac = 0;
  if (!ReadFixedDigits(t, pos, 2, &h) || !Expect(t, pos, ':') || !ReadFixedDigits(t, pos, 2, &m)) {
    return false;
  }
  if (*pos < t.size() && t[*pos] == ':') {
    ++*pos;
    if (!ReadFixedDigits(t, pos, 2, &s)) return false;
    if (*pos < t.size() && t[*pos] == '.') {
      ++*pos;
      int digits = 0;
      while (*pos < t.size() && IsDigit(t[*pos])) {
        if (++digits > 9) return false;
        if (digits <= 6) frac = frac * 10 + (t[*pos] - '0');
        ++*pos;
      }
      if (digits == 0) return false;
      for (; digits < 6; ++digits) frac *= 10;
    }
  }
  if (h > 24 || m > 59 || s > 59 || (h == 24 && (m != 0 || s != 0 || frac != 0))) return false;
  *micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + frac;
  return true;
}

// "Z" or "+HH[:MM[:SS]]" as seconds east of UTC, ending the text.
bool ReadIsoOffset(std::string_view t, size_t* pos, int64_t* seconds) {
  if (*pos < t.size() && t[*pos] == 'Z') {
    ++*pos;
    *seconds = 0;
    return *pos == t.size();
  }
  if (*pos >= t.size() || (t[*pos] != '+' && t[*pos] != '-')) return false;
  const int64_t sign = t[*pos] == '-' ? -1 : 1;
  ++*pos;
  int64_t h, m = 0, s = 0;
  if (!ReadFixedDigits(t, pos, 2, &h)) return false;
  if (Expect(t, pos, ':')) {
    if (!ReadFixedDigits(t, pos, 2, &m)) return false;
    if (Expect(t, pos, ':') && !ReadFixedDigits(t, pos, 2, &s)) return false;
  }
  *seconds = sign * (h * 3600 + m * 60 + s);
  return *pos == t.size() && h <= 18 && m <= 59 && s <= 59;
}

}  // namespace

bool ParseIsoTime(std::string_view t, int64_t* micros_utc) {
  size_t pos = 0;
  int64_t local, offset;
  if (!ReadIsoClock(t, &pos, &local) || !ReadIsoOffset(t, &pos, &offset)) return false;
  int64_t utc = (local - offset * kMicrosPerSecond) % kMicrosPerDay;
  *micros_utc = utc < 0 ? utc + kMicrosPerDay : utc;
  return true;
}

bool ParseIsoTimestamp(std::string_view t, int64_t* days, int64_t* micros_of_day) {
  size_t pos = 0;
  int64_t sign = 1;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    sign = t[0] == '-' ? -1 : 1;
    ++pos;
  }
  const size_t year_start = pos;
  int64_t year = 0;
  while (pos < t.size() && IsDigit(t[pos])) {
    if (pos - year_start >= 9) return false;
    year = year * 10 + (t[pos++] - '0');
  }
  if (pos - year_start < 4) return false;
  year *= sign;
  int64_t month, day, clock, offset;
  if (!Expect(t, &pos, '-') || !ReadFixedDigits(t, &pos, 2, &month) || !Expect(t, &pos, '-') ||
      !ReadFixedDigits(t, &pos, 2, &day) || !Expect(t, &pos, 'T') ||
      !ReadIsoClock(t, &pos, &clock) || !ReadIsoOffset(t, &pos, &offset)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  int64_t d = pg::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t y2;
  unsigned m2, d2;
  pg::CivilFromDays(d, &y2, &m2, &d2);
  if (y2 != year || m2 != month || d2 != day) return false;  // e.g. February 30
  int64_t carry;
  pg::SplitTimestamp(clock - offset * kMicrosPerSecond, &carry, micros_of_day);
  *days = d + carry;
  return true;
}

}  // namespace walflow::format
