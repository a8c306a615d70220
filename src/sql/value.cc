#include "sql/value.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "pg/text_codec.h"
#include "pg/text_format.h"

namespace walflow::sql {
namespace {

constexpr int64_t kMicrosPerHour = 3600 * pg::kMicrosPerSecond;
constexpr int64_t kMicrosPerMinute = 60 * pg::kMicrosPerSecond;

Status InvalidSyntax(SqlType type, std::string_view text) {
  return InvalidArgument(std::string("invalid input syntax for type ") + SqlTypeName(type) +
                         ": \"" + std::string(text) + "\"");
}

Status OutOfRange(SqlType type) {
  switch (type) {
    case SqlType::kInt2: return InvalidArgument("smallint out of range");
    case SqlType::kInt4: return InvalidArgument("integer out of range");
    default: return InvalidArgument("bigint out of range");
  }
}

bool InRange(SqlType type, int64_t v) {
  switch (type) {
    case SqlType::kInt2: return v >= INT16_MIN && v <= INT16_MAX;
    case SqlType::kInt4: return v >= INT32_MIN && v <= INT32_MAX;
    default: return true;
  }
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Lays out the shortest round-trip digits of a float as %g does with `precision`
// significant digits' thresholds (PostgreSQL's Ryu output: fixed for -4 <= exp < P).
void AppendShortest(const char* sci, size_t len, int precision, std::string* out) {
  std::string_view s(sci, len);
  if (!s.empty() && s[0] == '-') {
    out->push_back('-');
    s.remove_prefix(1);
  }
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exp < -4 || exp >= precision) {
    out->push_back(digits[0]);
    if (digits.size() > 1) {
      out->push_back('.');
      out->append(digits, 1, std::string::npos);
    }
    char buf[16];
    int n = std::snprintf(buf, sizeof(buf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out->append(buf, static_cast<size_t>(n));
  } else if (exp < 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-exp - 1), '0');
    out->append(digits);
  } else {
    size_t int_digits = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_digits) {
      out->append(digits);
      out->append(int_digits - digits.size(), '0');
    } else {
      out->append(digits, 0, int_digits);
      out->push_back('.');
      out->append(digits, int_digits, std::string::npos);
    }
  }
}

template <typename F>
bool AppendSpecialFloat(F v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v < 0 ? "-Infinity" : "Infinity");
  } else {
    return false;
  }
  return true;
}

void SplitPgTimestamp(int64_t micros, int64_t* days1970, int64_t* micros_of_day) {
  int64_t days = micros / pg::kMicrosPerDay;
  int64_t rem = micros % pg::kMicrosPerDay;
  if (rem < 0) {
    rem += pg::kMicrosPerDay;
    --days;
  }
  *days1970 = days + kUnixToPgEpochDays;
  *micros_of_day = rem;
}

// A date as a timestamp, for comparing the two (date_cmp_timestamp).
int64_t DateAsTimestamp(int64_t days) {
  if (days == kDateNegativeInfinity) return kTimestampNegativeInfinity;
  if (days == kDatePositiveInfinity) return kTimestampPositiveInfinity;
  return days * pg::kMicrosPerDay;
}

int NumericRank(SqlType t) {
  switch (t) {
    case SqlType::kInt2: return 1;
    case SqlType::kInt4: return 2;
    case SqlType::kInt8: return 3;
    case SqlType::kNumeric: return 4;
    case SqlType::kFloat4: return 5;
    case SqlType::kFloat8: return 6;
    default: return 0;
  }
}

template <typename T>
int Cmp(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareDoubles(double a, double b) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  return Cmp(a, b);
}

Decimal AsDecimal(const Value& v) {
  return v.type() == SqlType::kNumeric ? v.numeric_value() : Decimal(v.int_value());
}

double AsDouble(const Value& v) {
  if (IsFloatType(v.type())) return v.float_value();
  if (v.type() == SqlType::kNumeric) return v.numeric_value().ToDouble();
  return static_cast<double>(v.int_value());
}

enum class ArithOp { kAdd, kSub, kMul, kDiv, kMod };

Result<Value> Arith(ArithOp op, const Value& a, const Value& b) {
  int ra = NumericRank(a.type()), rb = NumericRank(b.type());
  if (ra == 0 || rb == 0 || a.is_null() || b.is_null()) {
    return InvalidArgument(std::string("operator does not exist for ") + SqlTypeName(a.type()) +
                           " and " + SqlTypeName(b.type()));
  }
  int r = std::max(ra, rb);
  if (r <= 3) {
    SqlType t = r == 1 ? SqlType::kInt2 : (r == 2 ? SqlType::kInt4 : SqlType::kInt8);
    Result<int64_t> v = [&]() -> Result<int64_t> {
      switch (op) {
        case ArithOp::kAdd: return IntegerAdd(t, a.int_value(), b.int_value());
        case ArithOp::kSub: return IntegerSub(t, a.int_value(), b.int_value());
        case ArithOp::kMul: return IntegerMul(t, a.int_value(), b.int_value());
        case ArithOp::kDiv: return IntegerDiv(t, a.int_value(), b.int_value());
        case ArithOp::kMod: return IntegerMod(t, a.int_value(), b.int_value());
      }
      return Internal("unknown operator");
    }();
    if (!v.ok()) return v.status();
    if (t == SqlType::kInt2) return Value::Int2(static_cast<int16_t>(*v));
    if (t == SqlType::kInt4) return Value::Int4(static_cast<int32_t>(*v));
    return Value::Int8(*v);
  }
  if (r == 4) {
    Decimal x = AsDecimal(a), y = AsDecimal(b);
    Result<Decimal> v = [&]() -> Result<Decimal> {
      switch (op) {
        case ArithOp::kAdd: return Decimal::Add(x, y);
        case ArithOp::kSub: return Decimal::Sub(x, y);
        case ArithOp::kMul: return Decimal::Mul(x, y);
        case ArithOp::kDiv: return Decimal::Div(x, y);
        case ArithOp::kMod: return Decimal::Mod(x, y);
      }
      return Internal("unknown operator");
    }();
    if (!v.ok()) return v.status();
    return Value::Numeric(std::move(v).value());
  }
  bool float4 = a.type() == SqlType::kFloat4 && b.type() == SqlType::kFloat4;
  double x = AsDouble(a), y = AsDouble(b);
  Result<double> v = [&]() -> Result<double> {
    switch (op) {
      case ArithOp::kAdd: return FloatAdd(x, y, float4);
      case ArithOp::kSub: return FloatSub(x, y, float4);
      case ArithOp::kMul: return FloatMul(x, y, float4);
      case ArithOp::kDiv: return FloatDiv(x, y, float4);
      case ArithOp::kMod:
        return InvalidArgument(
            "operator does not exist: double precision % "
            "double precision");
    }
    return Internal("unknown operator");
  }();
  if (!v.ok()) return v.status();
  return float4 ? Value::Float4(static_cast<float>(*v)) : Value::Float8(*v);
}

Result<double> CheckFloat(double r, double a, double b, bool float4, bool check_underflow) {
  if (float4) r = static_cast<float>(r);
  if (std::isinf(r) && !std::isinf(a) && !std::isinf(b)) {
    return InvalidArgument("value out of range: overflow");
  }
  if (check_underflow && r == 0.0 && a != 0.0 && b != 0.0 && !std::isinf(a) && !std::isinf(b)) {
    return InvalidArgument("value out of range: underflow");
  }
  return r;
}

}  // namespace

const char* SqlTypeName(SqlType type) {
  switch (type) {
    case SqlType::kBool: return "boolean";
    case SqlType::kInt2: return "smallint";
    case SqlType::kInt4: return "integer";
    case SqlType::kInt8: return "bigint";
    case SqlType::kText: return "text";
    case SqlType::kFloat4: return "real";
    case SqlType::kFloat8: return "double precision";
    case SqlType::kDate: return "date";
    case SqlType::kTimestamp: return "timestamp without time zone";
    case SqlType::kTimestampTz: return "timestamp with time zone";
    case SqlType::kInterval: return "interval";
    case SqlType::kNumeric: return "numeric";
    case SqlType::kJsonb: return "jsonb";
  }
  return "unknown";
}

bool SqlTypeFromOid(uint32_t oid, SqlType* out) {
  switch (oid) {
    case 16:
    case 20:
    case 21:
    case 23:
    case 25:
    case 700:
    case 701:
    case 1082:
    case 1114:
    case 1184:
    case 1186:
    case 1700:
    case 3802: *out = static_cast<SqlType>(oid); return true;
    case 1043:  // varchar
    case 1042:  // bpchar
    case 19:    // name
      *out = SqlType::kText;
      return true;
    case 114:  // json
      *out = SqlType::kJsonb;
      return true;
    default: return false;
  }
}

bool IsIntegerType(SqlType t) {
  return t == SqlType::kInt2 || t == SqlType::kInt4 || t == SqlType::kInt8;
}
bool IsFloatType(SqlType t) { return t == SqlType::kFloat4 || t == SqlType::kFloat8; }

__int128 Interval::Span() const {
  return static_cast<__int128>(months) * 30 * pg::kMicrosPerDay +
         static_cast<__int128>(days) * pg::kMicrosPerDay + micros;
}

Result<int64_t> IntegerAdd(SqlType type, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r) || !InRange(type, r)) return OutOfRange(type);
  return r;
}
Result<int64_t> IntegerSub(SqlType type, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r) || !InRange(type, r)) return OutOfRange(type);
  return r;
}
Result<int64_t> IntegerMul(SqlType type, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || !InRange(type, r)) return OutOfRange(type);
  return r;
}
Result<int64_t> IntegerDiv(SqlType type, int64_t a, int64_t b) {
  if (b == 0) return InvalidArgument("division by zero");
  if (b == -1) return IntegerSub(type, 0, a);  // the minimum / -1 overflows
  return a / b;
}
Result<int64_t> IntegerMod(SqlType type, int64_t a, int64_t b) {
  (void)type;
  if (b == 0) return InvalidArgument("division by zero");
  if (b == -1) return int64_t{0};
  return a % b;
}

Result<double> FloatAdd(double a, double b, bool float4) {
  return CheckFloat(a + b, a, b, float4, false);
}
Result<double> FloatSub(double a, double b, bool float4) {
  return CheckFloat(a - b, a, b, float4, false);
}
Result<double> FloatMul(double a, double b, bool float4) {
  return CheckFloat(a * b, a, b, float4, true);
}
Result<double> FloatDiv(double a, double b, bool float4) {
  if (b == 0.0 && !std::isnan(a)) return InvalidArgument("division by zero");
  double r = a / b;
  if (float4) r = static_cast<float>(r);
  if (std::isinf(r) && !std::isinf(a)) return InvalidArgument("value out of range: overflow");
  if (r == 0.0 && a != 0.0 && !std::isinf(b))
    return InvalidArgument("value out of range: underflow");
  return r;
}

namespace {

// 2^k as an exact decimal.
Decimal PowerOfTwo(int k) {
  Decimal r(1);
  for (; k > 0; k -= 30) r = *Decimal::Mul(r, Decimal(int64_t{1} << std::min(k, 30)));
  return r;
}

// Whether the decimal `text` equals (a + b) / 2 exactly, for adjacent finite doubles.
bool IsExactMidpoint(double a, double b, const char* text) {
  int ea, eb;
  double fa = std::frexp(std::fabs(a), &ea), fb = std::frexp(std::fabs(b), &eb);
  // |x| = m * 2^e with m a 53-bit integer (0 for zero).
  auto m_a = static_cast<uint64_t>(std::ldexp(fa, 53)),
       m_b = static_cast<uint64_t>(std::ldexp(fb, 53));
  int xa = a == 0 ? INT32_MAX : ea - 53, xb = b == 0 ? INT32_MAX : eb - 53;
  int e = std::min(xa, xb);
  if (e == INT32_MAX) return false;
  unsigned __int128 sum = 0;
  if (a != 0) sum += static_cast<unsigned __int128>(m_a) << (xa - e);
  if (b != 0) sum += static_cast<unsigned __int128>(m_b) << (xb - e);
  int q = e - 1;  // midpoint = sum * 2^q
  while (sum != 0 && (sum & 1) == 0) {
    sum >>= 1;
    ++q;
  }
  Result<Decimal> c = Decimal::Parse(text);
  if (!c.ok()) return false;
  Decimal candidate = c->Abs();
  Decimal n(static_cast<int64_t>(sum));
  if (q >= 0) return Decimal::Compare(candidate, *Decimal::Mul(n, PowerOfTwo(q))) == 0;
  return Decimal::Compare(*Decimal::Mul(candidate, PowerOfTwo(-q)), n) == 0;
}

// Whether `text` reads back as exactly the midpoint between `v` and a neighbour. strtod
// maps such a text to `v` only by round-half-even; PostgreSQL's shortest output (Ryu
// without accepted bounds) never prints one, so neither do we. A text that reads back to a
// value with an odd significand is never a midpoint (the tie would go to the even
// neighbour); the wider type is a fast filter before the exact test.
template <typename F, typename Wide>
bool IsRoundingBoundary(F v, const char* text) {
  using Bits = std::conditional_t<std::is_same_v<F, float>, uint32_t, uint64_t>;
  if ((std::bit_cast<Bits>(v) & 1) != 0) return false;
  Wide parsed;
  if constexpr (std::is_same_v<Wide, long double>) {
    parsed = std::strtold(text, nullptr);
  } else {
    parsed = std::strtod(text, nullptr);
  }
  for (F n : {std::nextafter(v, std::numeric_limits<F>::infinity()),
              std::nextafter(v, -std::numeric_limits<F>::infinity())}) {
    if (std::isinf(n) || parsed != (Wide{v} + Wide{n}) / 2) continue;
    if (IsExactMidpoint(static_cast<double>(v), static_cast<double>(n), text)) return true;
  }
  return false;
}

template <typename F, typename Wide>
void AppendShortestFloat(F v, int fixed_limit, std::string* out) {
  if (AppendSpecialFloat(v, out)) return;
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf) - 1, v, std::chars_format::scientific);
  *res.ptr = '\0';
  if (IsRoundingBoundary<F, Wide>(v, buf)) {
    int digits = 0;
    for (const char* p = buf; *p != 'e'; ++p) digits += *p >= '0' && *p <= '9';
    for (int precision = digits; precision <= std::numeric_limits<F>::max_digits10; ++precision) {
      res = std::to_chars(buf, buf + sizeof(buf) - 1, v, std::chars_format::scientific,
                          precision);  // precision + 1 significant digits
      *res.ptr = '\0';
      F back;
      if constexpr (std::is_same_v<F, float>) {
        back = std::strtof(buf, nullptr);
      } else {
        back = std::strtod(buf, nullptr);
      }
      if (back == v && !IsRoundingBoundary<F, Wide>(v, buf)) break;
    }
  }
  AppendShortest(buf, static_cast<size_t>(res.ptr - buf), fixed_limit, out);
}

}  // namespace

void AppendFloat8(double v, std::string* out) {
  AppendShortestFloat<double, long double>(v, 15, out);
}

void AppendFloat4(float v, std::string* out) { AppendShortestFloat<float, double>(v, 6, out); }

namespace {

// --- interval input: PostgreSQL 15's interval_in (IntervalStyle postgres, no typmod) -------
//
// The text is split into fields as ParseDateTime does (numbers, words, hh:mm times, signed
// numbers, dates), the fields are read right to left as DecodeInterval does (a number takes
// the unit to its right, bare seconds otherwise), and a text those reject as malformed is
// tried as ISO 8601. Fields may not repeat a unit; 'ago' negates everything.

// The two errors interval_in tells apart by message.
enum class IntervalError { kNone, kSyntax, kFieldRange };

constexpr int kMonthsPerYear = 12;
constexpr int kDaysPerMonth = 30;
// interval_in's work buffer for the field splitter.
constexpr size_t kIntervalBufferSize = 256;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiAlnum(char c) { return IsAsciiDigit(c) || IsAsciiAlpha(c); }
bool IsAsciiPunct(char c) { return c > ' ' && c < 0x7f && !IsAsciiAlnum(c); }
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// strtol in base 10 from s[pos]: an optional sign and digits. `end` is where the digits stop,
// or `pos` itself when there are none; an overflowing value saturates and sets `overflow`.
struct ParsedLong {
  int64_t value = 0;
  size_t end = 0;
  bool overflow = false;
};

ParsedLong ParseLong(std::string_view s, size_t pos) {
  ParsedLong r;
  r.end = pos;
  size_t i = pos;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i == s.size() || !IsAsciiDigit(s[i])) return r;
  for (; i < s.size() && IsAsciiDigit(s[i]); ++i) {
    int digit = s[i] - '0';
    if (!r.overflow && (__builtin_mul_overflow(r.value, 10, &r.value) ||
                        __builtin_add_overflow(r.value, negative ? -digit : digit, &r.value))) {
      r.overflow = true;
    }
  }
  if (r.overflow) r.value = negative ? INT64_MIN : INT64_MAX;
  r.end = i;
  return r;
}

// ParseFraction: `s` starts at the '.'; "." alone is zero. False when strtod does not take
// all of it.
bool ParseFraction(std::string_view s, double* out) {
  if (s.size() == 1) {
    *out = 0;
    return true;
  }
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno == 0;
}

// A clock time as DecodeTime reads it, in interval and date/time input: "h:m", "h:m:s[.f]",
// or "m:s.f" (unsigned); minutes below 60, seconds up to 60 and the fraction rounded to at
// most 1 s. The hours are not limited here.
struct ClockFields {
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  int64_t fsec = 0;  // µs
};

IntervalError ReadClock(std::string_view s, ClockFields* out) {
  ParsedLong hour = ParseLong(s, 0);
  if (hour.overflow) return IntervalError::kFieldRange;
  if (hour.end == s.size() || s[hour.end] != ':') return IntervalError::kSyntax;
  ParsedLong minute = ParseLong(s, hour.end + 1);
  if (minute.value < INT32_MIN || minute.value > INT32_MAX) return IntervalError::kFieldRange;
  int64_t h = hour.value, m = minute.value, sec = 0;
  double fraction = 0;
  size_t end = minute.end;
  if (end < s.size() && s[end] == '.') {  // m:s.f
    if (!ParseFraction(s.substr(end), &fraction)) return IntervalError::kSyntax;
    if (h > INT32_MAX) return IntervalError::kFieldRange;
    sec = m;
    m = h;
    h = 0;
  } else if (end < s.size() && s[end] == ':') {
    ParsedLong second = ParseLong(s, end + 1);
    if (second.value < INT32_MIN || second.value > INT32_MAX) return IntervalError::kFieldRange;
    sec = second.value;
    end = second.end;
    if (end < s.size() && s[end] == '.') {
      if (!ParseFraction(s.substr(end), &fraction)) return IntervalError::kSyntax;
    } else if (end != s.size()) {
      return IntervalError::kSyntax;
    }
  } else if (end != s.size()) {
    return IntervalError::kSyntax;
  }
  double fsec = std::rint(fraction * 1000000);
  if (h < 0 || m < 0 || m > 59 || sec < 0 || sec > 60 || fsec < 0 || fsec > 1000000) {
    return IntervalError::kFieldRange;
  }
  *out = ClockFields{h, m, sec, static_cast<int64_t>(fsec)};
  return IntervalError::kNone;
}

// --- the words of date/time input, shared by interval and date/time input ---

// The kinds of word in PostgreSQL's date/time keyword table (datetktbl).
enum class DateKeywordKind {
  kReserved,     // epoch, infinity, -infinity, now, today, tomorrow, yesterday, allballs
  kMonth,        // jan .. december: value 1-12
  kDayOfWeek,    // sun .. saturday: read and ignored
  kMeridian,     // am, pm
  kEra,          // ad, bc
  kNoise,        // at, on: skipped
  kUnit,         // y, m, d, h, mm, s, j: the label of the number that follows
  kIsoTime,      // t: a time follows
  kDstModifier,  // dst: an hour added to the zone just given
};

enum DateReserved { kEarly, kLate, kEpoch, kNow, kToday, kTomorrow, kYesterday, kAllBalls };
enum DateMeridian { kAm, kPm };
enum DateEra { kAd, kBc };
// The labels of ISO 8601's labelled fields ("y2001m02d04"); kOtherUnit ones take no number.
enum DateUnit {
  kNoUnit,
  kYearUnit,
  kMonthUnit,
  kDayUnit,
  kHourUnit,
  kMinuteUnit,
  kSecondUnit,
  kJulianUnit,
  kTimeUnit,
  kOtherUnit
};

struct DateKeyword {
  std::string_view word;
  DateKeywordKind kind;
  int value;
};

// The keyword a lowercased word is, or null.
const DateKeyword* FindDateKeyword(std::string_view word) {
  using K = DateKeywordKind;
  static constexpr DateKeyword kKeywords[] = {
      {"-infinity", K::kReserved, kEarly},
      {"ad", K::kEra, kAd},
      {"allballs", K::kReserved, kAllBalls},
      {"am", K::kMeridian, kAm},
      {"apr", K::kMonth, 4},
      {"april", K::kMonth, 4},
      {"at", K::kNoise, 0},
      {"aug", K::kMonth, 8},
      {"august", K::kMonth, 8},
      {"bc", K::kEra, kBc},
      {"d", K::kUnit, kDayUnit},
      {"dec", K::kMonth, 12},
      {"december", K::kMonth, 12},
      {"dow", K::kUnit, kOtherUnit},
      {"doy", K::kUnit, kOtherUnit},
      {"dst", K::kDstModifier, 0},
      {"epoch", K::kReserved, kEpoch},
      {"feb", K::kMonth, 2},
      {"february", K::kMonth, 2},
      {"fri", K::kDayOfWeek, 5},
      {"friday", K::kDayOfWeek, 5},
      {"h", K::kUnit, kHourUnit},
      {"infinity", K::kReserved, kLate},
      {"isodow", K::kUnit, kOtherUnit},
      {"isoyear", K::kUnit, kOtherUnit},
      {"j", K::kUnit, kJulianUnit},
      {"jan", K::kMonth, 1},
      {"january", K::kMonth, 1},
      {"jd", K::kUnit, kJulianUnit},
      {"jul", K::kMonth, 7},
      {"julian", K::kUnit, kJulianUnit},
      {"july", K::kMonth, 7},
      {"jun", K::kMonth, 6},
      {"june", K::kMonth, 6},
      {"m", K::kUnit, kMonthUnit},
      {"mar", K::kMonth, 3},
      {"march", K::kMonth, 3},
      {"may", K::kMonth, 5},
      {"mm", K::kUnit, kMinuteUnit},
      {"mon", K::kDayOfWeek, 1},
      {"monday", K::kDayOfWeek, 1},
      {"nov", K::kMonth, 11},
      {"november", K::kMonth, 11},
      {"now", K::kReserved, kNow},
      {"oct", K::kMonth, 10},
      {"october", K::kMonth, 10},
      {"on", K::kNoise, 0},
      {"pm", K::kMeridian, kPm},
      {"s", K::kUnit, kSecondUnit},
      {"sat", K::kDayOfWeek, 6},
      {"saturday", K::kDayOfWeek, 6},
      {"sep", K::kMonth, 9},
      {"sept", K::kMonth, 9},
      {"september", K::kMonth, 9},
      {"sun", K::kDayOfWeek, 0},
      {"sunday", K::kDayOfWeek, 0},
      {"t", K::kIsoTime, kTimeUnit},
      {"thu", K::kDayOfWeek, 4},
      {"thur", K::kDayOfWeek, 4},
      {"thurs", K::kDayOfWeek, 4},
      {"thursday", K::kDayOfWeek, 4},
      {"today", K::kReserved, kToday},
      {"tomorrow", K::kReserved, kTomorrow},
      {"tue", K::kDayOfWeek, 2},
      {"tues", K::kDayOfWeek, 2},
      {"tuesday", K::kDayOfWeek, 2},
      {"wed", K::kDayOfWeek, 3},
      {"wednesday", K::kDayOfWeek, 3},
      {"weds", K::kDayOfWeek, 3},
      {"y", K::kUnit, kYearUnit},
      {"yesterday", K::kReserved, kYesterday},
  };
  for (const DateKeyword& k : kKeywords) {
    if (k.word == word) return &k;
  }
  return nullptr;
}

// interval_in's intermediate fields. Years stay apart from months so that an overflowing
// total is "interval out of range" while an overflowing field is a field error.
struct IntervalFields {
  int32_t years = 0;
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;

  // value * scale µs.
  bool AddMicros(int64_t value, int64_t scale) {
    int64_t product;
    return !__builtin_mul_overflow(value, scale, &product) &&
           !__builtin_add_overflow(micros, product, &micros);
  }
  // A fraction (|fraction| <= 1) of `scale` µs, to the nearest µs with halves toward zero.
  bool AddFractionMicros(double fraction, int64_t scale) {
    if (fraction == 0) return true;
    fraction *= static_cast<double>(scale);
    auto us = static_cast<int64_t>(fraction);
    fraction -= static_cast<double>(us);
    if (fraction > 0.5) {
      ++us;
    } else if (fraction < -0.5) {
      --us;
    }
    return !__builtin_add_overflow(micros, us, &micros);
  }
  bool AddMicros(int64_t value, double fraction, int64_t scale) {
    return AddMicros(value, scale) && AddFractionMicros(fraction, scale);
  }
  bool AddDays(int64_t value, int32_t scale) {
    int32_t product;
    return value >= INT32_MIN && value <= INT32_MAX &&
           !__builtin_mul_overflow(static_cast<int32_t>(value), scale, &product) &&
           !__builtin_add_overflow(days, product, &days);
  }
  // A fraction of `scale` days: whole days, the rest in µs.
  bool AddFractionDays(double fraction, int32_t scale) {
    if (fraction == 0) return true;
    fraction *= scale;
    auto whole = static_cast<int32_t>(fraction);
    if (__builtin_add_overflow(days, whole, &days)) return false;
    return AddFractionMicros(fraction - whole, pg::kMicrosPerDay);
  }
  bool AddMonths(int64_t value) {
    return value >= INT32_MIN && value <= INT32_MAX &&
           !__builtin_add_overflow(months, static_cast<int32_t>(value), &months);
  }
  bool AddYears(int64_t value, int32_t scale) {
    int32_t product;
    return value >= INT32_MIN && value <= INT32_MAX &&
           !__builtin_mul_overflow(static_cast<int32_t>(value), scale, &product) &&
           !__builtin_add_overflow(years, product, &years);
  }
  // A fraction of `scale` years, as whole months (rounded; never days).
  bool AddFractionYears(double fraction, int32_t scale) {
    auto extra = static_cast<int32_t>(std::rint(fraction * scale * kMonthsPerYear));
    return !__builtin_add_overflow(months, extra, &months);
  }
};

// --- the verbose and SQL-standard forms ---

enum class DateTimeFieldKind {
  kNumber,      // "5", "1.5", ".5"
  kWord,        // "days", "ago" (lowercased)
  kDateLike,    // "1-2", "1/2", "5.", "w2d": digits or letters with '-', '/', '.' inside
  kTime,        // "04:05:06.5", "5:30.5"
  kSigned,      // "-5", "+04:05", "-1-2", "-1.5"
  kSignedWord,  // "-infinity": never a unit
};

struct DateTimeTextField {
  DateTimeFieldKind kind;
  std::string text;
};

// ParseDateTime's split into fields, shared by interval and date/time input: at most 25 of
// them, their characters and terminators in a work buffer of `buffer_size` bytes (interval_in
// has 256, timestamp_in 153, date_in 129); spaces and other punctuation separate fields.
class DateTimeFieldSplitter {
 public:
  DateTimeFieldSplitter(std::string_view text, size_t buffer_size)
      : text_(text), buffer_size_(buffer_size) {}

  bool Split(std::vector<DateTimeTextField>* fields) {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (IsAsciiSpace(c)) {
        ++pos_;
        continue;
      }
      if (fields->size() >= kMaxFields) return false;
      DateTimeTextField field{DateTimeFieldKind::kNumber, {}};
      field_ = &field;
      bool ok;
      if (IsAsciiDigit(c)) {
        ok = ReadFromDigit();
      } else if (c == '.') {
        ok = Take() && TakeWhile(IsAsciiDigit);
      } else if (IsAsciiAlpha(c)) {
        ok = ReadFromLetter();
      } else if (c == '+' || c == '-') {
        ok = ReadSigned();
      } else if (IsAsciiPunct(c)) {
        ++pos_;
        continue;
      } else {
        return false;
      }
      if (!ok) return false;
      ++used_;  // the field's terminator
      fields->push_back(std::move(field));
    }
    return true;
  }

 private:
  static constexpr size_t kMaxFields = 25;

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  template <typename Pred>
  bool PeekIf(Pred pred) const {
    return pos_ < text_.size() && pred(text_[pos_]);
  }
  bool Take() {
    if (used_ + 1 >= buffer_size_) return false;
    field_->text.push_back(AsciiLower(text_[pos_++]));
    ++used_;
    return true;
  }
  template <typename Pred>
  bool TakeWhile(Pred pred) {
    while (PeekIf(pred)) {
      if (!Take()) return false;
    }
    return true;
  }

  // Digits, then a time ("4:05"), a number with a fraction ("1.5") or a date-like field.
  bool ReadFromDigit() {
    if (!TakeWhile(IsAsciiDigit)) return false;
    if (Peek(':')) {
      field_->kind = DateTimeFieldKind::kTime;
      return TakeWhile([](char c) { return IsAsciiDigit(c) || c == ':' || c == '.'; });
    }
    if (!Peek('-') && !Peek('/') && !Peek('.')) return true;
    char delim = text_[pos_];
    if (!Take()) return false;
    if (PeekIf(IsAsciiDigit)) {
      field_->kind = delim == '.' ? DateTimeFieldKind::kNumber : DateTimeFieldKind::kDateLike;
      if (!TakeWhile(IsAsciiDigit)) return false;
      if (!Peek(delim)) return true;
      field_->kind = DateTimeFieldKind::kDateLike;
      return TakeWhile([delim](char c) { return IsAsciiDigit(c) || c == delim; });
    }
    field_->kind = DateTimeFieldKind::kDateLike;
    return TakeWhile([delim](char c) { return IsAsciiAlnum(c) || c == delim; });
  }

  // A word; one that runs into '-', '/' or '.', or into a digit or '+' unless it is a date
  // keyword ("1h30m" splits, "1w2d" does not), makes a date-like field of what follows.
  bool ReadFromLetter() {
    field_->kind = DateTimeFieldKind::kWord;
    if (!TakeWhile(IsAsciiAlpha)) return false;
    bool date_like = Peek('-') || Peek('/') || Peek('.');
    if (!date_like && (Peek('+') || PeekIf(IsAsciiDigit))) {
      date_like = FindDateKeyword(field_->text) == nullptr;
    }
    if (!date_like) return true;
    field_->kind = DateTimeFieldKind::kDateLike;
    return TakeWhile([](char c) {
      return IsAsciiAlnum(c) || c == '+' || c == '-' || c == '/' || c == '_' || c == '.' ||
             c == ':';
    });
  }

  // A sign, spaces, then a number, time or year-month ("- 5", "+04:05", "-1-2") or a word.
  bool ReadSigned() {
    if (!Take()) return false;
    while (PeekIf(IsAsciiSpace)) ++pos_;
    if (PeekIf(IsAsciiDigit)) {
      field_->kind = DateTimeFieldKind::kSigned;
      return Take() &&
             TakeWhile([](char c) { return IsAsciiDigit(c) || c == ':' || c == '.' || c == '-'; });
    }
    if (PeekIf(IsAsciiAlpha)) {
      field_->kind = DateTimeFieldKind::kSignedWord;
      return TakeWhile(IsAsciiAlpha);
    }
    return false;
  }

  std::string_view text_;
  size_t buffer_size_;
  size_t pos_ = 0;
  size_t used_ = 0;  // bytes of the work buffer taken
  DateTimeTextField* field_ = nullptr;
};

// The unit a number takes: the word to its right, or what an earlier field implies.
enum class IntervalUnit {
  kNone,  // nothing to the right yet: seconds
  kMicrosecond,
  kMillisecond,
  kSecond,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kYear,
  kDecade,
  kCentury,
  kMillennium,
  kRefused,  // quarter, timezone, and what follows 'ago': a number here is an error
};

// PostgreSQL's unit words (deltatktbl), matched on their first 10 letters as PostgreSQL
// does ("microseconds" is "microsecon"); "ago" is apart.
std::optional<IntervalUnit> UnitFromWord(std::string_view word) {
  using U = IntervalUnit;
  static constexpr std::pair<IntervalUnit, std::string_view> kSpellings[] = {
      {U::kMicrosecond, "microsecon us usec usecs usecond useconds"},
      {U::kMillisecond, "millisecon ms msec msecs msecond mseconds"},
      {U::kSecond, "s sec secs second seconds"},
      {U::kMinute, "m min mins minute minutes"},
      {U::kHour, "h hr hrs hour hours"},
      {U::kDay, "d day days"},
      {U::kWeek, "w week weeks"},
      {U::kMonth, "mon mons month months"},
      {U::kYear, "y yr yrs year years"},
      {U::kDecade, "dec decs decade decades"},
      {U::kCentury, "c cent century centuries"},
      {U::kMillennium, "mil mils millennium millennia"},
      {U::kRefused, "qtr quarter timezone"},
  };
  word = word.substr(0, 10);
  for (const auto& [unit, names] : kSpellings) {
    for (size_t start = 0; start < names.size();) {
      size_t end = std::min(names.find(' ', start), names.size());
      if (names.substr(start, end - start) == word) return unit;
      start = end + 1;
    }
  }
  return std::nullopt;
}

// Units read so far, one bit each: a unit may not come twice.
constexpr uint32_t Bit(IntervalUnit u) { return 1u << static_cast<int>(u); }
// Seconds with a fraction count as milli- and microseconds too; a time as all of these.
constexpr uint32_t kAllSeconds =
    Bit(IntervalUnit::kSecond) | Bit(IntervalUnit::kMillisecond) | Bit(IntervalUnit::kMicrosecond);
constexpr uint32_t kTimeFields =
    Bit(IntervalUnit::kHour) | Bit(IntervalUnit::kMinute) | kAllSeconds;

// DecodeInterval: the fields right to left, each number in the unit to its right.
class IntervalFieldDecoder {
 public:
  IntervalError Decode(const std::vector<DateTimeTextField>& fields, IntervalFields* out) {
    out_ = out;
    for (size_t i = fields.size(); i-- > 0;) {
      const DateTimeTextField& f = fields[i];
      IntervalError e = IntervalError::kNone;
      uint32_t mask = 0;
      switch (f.kind) {
        case DateTimeFieldKind::kTime: e = DecodeTime(f.text, false, &mask); break;
        case DateTimeFieldKind::kSigned:
          // A signed time, else a signed number or year-month.
          if (f.text.find(':', 1) != std::string::npos &&
              DecodeTime(std::string_view(f.text).substr(1), f.text[0] == '-', &mask) ==
                  IntervalError::kNone) {
            break;
          }
          e = DecodeNumber(f.text, &mask);
          break;
        case DateTimeFieldKind::kNumber:
        case DateTimeFieldKind::kDateLike: e = DecodeNumber(f.text, &mask); break;
        case DateTimeFieldKind::kWord:
        case DateTimeFieldKind::kSignedWord: e = DecodeWord(f.text); break;
      }
      if (e != IntervalError::kNone) return e;
      if ((mask & seen_) != 0) return IntervalError::kSyntax;  // a unit given twice
      seen_ |= mask;
    }
    if (seen_ == 0) return IntervalError::kSyntax;
    if (ago_) {
      if (out->micros == INT64_MIN || out->days == INT32_MIN || out->months == INT32_MIN ||
          out->years == INT32_MIN) {
        return IntervalError::kFieldRange;
      }
      *out = IntervalFields{-out->years, -out->months, -out->days, -out->micros};
    }
    return IntervalError::kNone;
  }

 private:
  // "h:m", "h:m:s[.f]" or "m:s.f" (unsigned); it replaces the µs read so far, as
  // PostgreSQL's does. A number to its left counts days.
  IntervalError DecodeTime(std::string_view s, bool negative, uint32_t* mask) {
    int64_t micros;
    IntervalError e = ReadTime(s, &micros);
    if (e != IntervalError::kNone) return e;
    out_->micros = negative ? -micros : micros;
    *mask = kTimeFields;
    unit_ = IntervalUnit::kDay;
    return IntervalError::kNone;
  }

  static IntervalError ReadTime(std::string_view s, int64_t* micros) {
    ClockFields c;
    IntervalError e = ReadClock(s, &c);
    if (e != IntervalError::kNone) return e;
    IntervalFields f;
    f.micros = c.fsec;
    if (!f.AddMicros(c.hour, kMicrosPerHour) || !f.AddMicros(c.minute, kMicrosPerMinute) ||
        !f.AddMicros(c.second, pg::kMicrosPerSecond)) {
      return IntervalError::kFieldRange;
    }
    *micros = f.micros;
    return IntervalError::kNone;
  }

  // An integer, a decimal ("1.5", sign on the fraction too) or a year-month ("1-2"), in the
  // pending unit.
  IntervalError DecodeNumber(std::string_view s, uint32_t* mask) {
    if (unit_ == IntervalUnit::kNone) unit_ = IntervalUnit::kSecond;
    ParsedLong whole = ParseLong(s, 0);
    if (whole.overflow) return IntervalError::kFieldRange;
    int64_t value = whole.value;
    double fraction = 0;
    size_t end = whole.end;
    if (end < s.size() && s[end] == '-') {
      ParsedLong month = ParseLong(s, end + 1);
      if (month.value < 0 || month.value >= kMonthsPerYear) return IntervalError::kFieldRange;
      if (month.end != s.size()) return IntervalError::kSyntax;
      int64_t m = s[0] == '-' ? -month.value : month.value;
      if (__builtin_mul_overflow(value, kMonthsPerYear, &value) ||
          __builtin_add_overflow(value, m, &value)) {
        return IntervalError::kFieldRange;
      }
      unit_ = IntervalUnit::kMonth;
    } else if (end < s.size() && s[end] == '.') {
      if (!ParseFraction(s.substr(end), &fraction)) return IntervalError::kSyntax;
      if (s[0] == '-') fraction = -fraction;
    } else if (end != s.size()) {
      return IntervalError::kSyntax;
    }
    IntervalUnit unit = unit_;
    if (!AddInUnit(unit, value, fraction)) {
      return unit == IntervalUnit::kRefused ? IntervalError::kSyntax : IntervalError::kFieldRange;
    }
    *mask = unit == IntervalUnit::kSecond && fraction != 0 ? kAllSeconds : Bit(unit);
    if (unit == IntervalUnit::kHour) unit_ = IntervalUnit::kDay;  // "3 4 hours" is 3 days 4 h
    return IntervalError::kNone;
  }

  // Fractions of months, weeks and days spill into days and µs; of years, into months.
  bool AddInUnit(IntervalUnit unit, int64_t value, double fraction) {
    IntervalFields& f = *out_;
    switch (unit) {
      case IntervalUnit::kMicrosecond: return f.AddMicros(value, fraction, 1);
      case IntervalUnit::kMillisecond: return f.AddMicros(value, fraction, 1000);
      case IntervalUnit::kSecond: return f.AddMicros(value, fraction, pg::kMicrosPerSecond);
      case IntervalUnit::kMinute: return f.AddMicros(value, fraction, kMicrosPerMinute);
      case IntervalUnit::kHour: return f.AddMicros(value, fraction, kMicrosPerHour);
      case IntervalUnit::kDay:
        return f.AddDays(value, 1) && f.AddFractionMicros(fraction, pg::kMicrosPerDay);
      case IntervalUnit::kWeek: return f.AddDays(value, 7) && f.AddFractionDays(fraction, 7);
      case IntervalUnit::kMonth:
        return f.AddMonths(value) && f.AddFractionDays(fraction, kDaysPerMonth);
      case IntervalUnit::kYear: return f.AddYears(value, 1) && f.AddFractionYears(fraction, 1);
      case IntervalUnit::kDecade: return f.AddYears(value, 10) && f.AddFractionYears(fraction, 10);
      case IntervalUnit::kCentury:
        return f.AddYears(value, 100) && f.AddFractionYears(fraction, 100);
      case IntervalUnit::kMillennium:
        return f.AddYears(value, 1000) && f.AddFractionYears(fraction, 1000);
      case IntervalUnit::kNone:
      case IntervalUnit::kRefused: return false;
    }
    return false;
  }

  // A unit for the numbers to its left, or 'ago' (which no number may take).
  IntervalError DecodeWord(std::string_view word) {
    if (word == "ago") {
      ago_ = true;
      unit_ = IntervalUnit::kRefused;
      return IntervalError::kNone;
    }
    std::optional<IntervalUnit> unit = UnitFromWord(word);
    if (!unit) return IntervalError::kSyntax;
    unit_ = *unit;
    return IntervalError::kNone;
  }

  IntervalFields* out_ = nullptr;
  IntervalUnit unit_ = IntervalUnit::kNone;
  uint32_t seen_ = 0;  // Bit() of each unit read
  bool ago_ = false;
};

// --- ISO 8601: "P1Y2M3DT4H5M6S", "P0001-02-03T04:05:06", "P00010203T040506" ---

class Iso8601IntervalReader {
 public:
  explicit Iso8601IntervalReader(const std::string& text) : text_(text) {}

  IntervalError Read(IntervalFields* out) {
    out_ = out;
    if (text_.size() < 2 || text_[0] != 'P') return IntervalError::kSyntax;
    p_ = text_.c_str() + 1;
    while (*p_ != '\0') {
      if (*p_ == 'T') {
        StartTimePart();
        ++p_;
        continue;
      }
      const char* start = p_;
      int64_t value;
      double fraction;
      IntervalError e = ReadNumber(&value, &fraction);
      if (e != IntervalError::kNone) return e;
      char unit = *p_;
      if (unit != '\0') ++p_;
      Step step = date_part_ ? DateDesignator(unit, start, value, fraction)
                             : TimeDesignator(unit, start, value, fraction);
      switch (step) {
        case Step::kField: have_field_ = true; break;
        case Step::kTimePart: StartTimePart(); break;
        case Step::kEnd: return IntervalError::kNone;
        case Step::kSyntax: return IntervalError::kSyntax;
        case Step::kRange: return IntervalError::kFieldRange;
      }
    }
    return IntervalError::kNone;
  }

 private:
  enum class Step { kField, kTimePart, kEnd, kSyntax, kRange };

  void StartTimePart() {
    date_part_ = false;
    have_field_ = false;
  }

  // A number as strtod reads it (so "1e3" too), at most 1e15 in magnitude, split into its
  // integer part and a fraction of the same sign.
  IntervalError ReadNumber(int64_t* whole, double* fraction) {
    if (!(IsAsciiDigit(*p_) || *p_ == '-' || *p_ == '.')) return IntervalError::kSyntax;
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(p_, &end);
    if (end == p_ || errno != 0) return IntervalError::kSyntax;
    if (std::isnan(v) || v < -1.0e15 || v > 1.0e15) return IntervalError::kFieldRange;
    p_ = end;
    *whole = static_cast<int64_t>(std::trunc(v));
    *fraction = v - static_cast<double>(*whole);
    return IntervalError::kNone;
  }

  static size_t IntegerWidth(const char* start) {
    if (*start == '-') ++start;
    return std::strspn(start, "0123456789");
  }

  static Step Check(bool ok) { return ok ? Step::kField : Step::kRange; }

  Step DateDesignator(char unit, const char* start, int64_t value, double fraction) {
    IntervalFields& f = *out_;
    switch (unit) {
      case 'Y': return Check(f.AddYears(value, 1) && f.AddFractionYears(fraction, 1));
      case 'M': return Check(f.AddMonths(value) && f.AddFractionDays(fraction, kDaysPerMonth));
      case 'W': return Check(f.AddDays(value, 7) && f.AddFractionDays(fraction, 7));
      case 'D':
        return Check(f.AddDays(value, 1) && f.AddFractionMicros(fraction, pg::kMicrosPerDay));
      case 'T':
      case '\0':
        if (IntegerWidth(start) == 8 && !have_field_) {  // basic: YYYYMMDD
          if (!f.AddYears(value / 10000, 1) || !f.AddMonths(value / 100 % 100) ||
              !f.AddDays(value % 100, 1) || !f.AddFractionMicros(fraction, pg::kMicrosPerDay)) {
            return Step::kRange;
          }
          return unit == '\0' ? Step::kEnd : Step::kTimePart;
        }
        return AlternativeDate(unit, value, fraction);
      case '-': return AlternativeDate(unit, value, fraction);
      default: return Step::kSyntax;
    }
  }

  // Extended: YYYY[-MM[-DD]], after the years just read.
  Step AlternativeDate(char unit, int64_t value, double fraction) {
    IntervalFields& f = *out_;
    if (have_field_) return Step::kSyntax;
    if (!f.AddYears(value, 1) || !f.AddFractionYears(fraction, 1)) return Step::kRange;
    if (unit == '\0') return Step::kEnd;
    if (unit == 'T') return Step::kTimePart;
    IntervalError e = ReadNumber(&value, &fraction);
    if (e != IntervalError::kNone) return ToStep(e);
    if (!f.AddMonths(value) || !f.AddFractionDays(fraction, kDaysPerMonth)) return Step::kRange;
    if (*p_ == '\0') return Step::kEnd;
    if (*p_ == 'T') return Step::kTimePart;  // the loop steps over the 'T'
    if (*p_ != '-') return Step::kSyntax;
    ++p_;
    e = ReadNumber(&value, &fraction);
    if (e != IntervalError::kNone) return ToStep(e);
    if (!f.AddDays(value, 1) || !f.AddFractionMicros(fraction, pg::kMicrosPerDay)) {
      return Step::kRange;
    }
    if (*p_ == '\0') return Step::kEnd;
    if (*p_ == 'T') return Step::kTimePart;
    return Step::kSyntax;
  }

  Step TimeDesignator(char unit, const char* start, int64_t value, double fraction) {
    IntervalFields& f = *out_;
    switch (unit) {
      case 'H': return Check(f.AddMicros(value, fraction, kMicrosPerHour));
      case 'M': return Check(f.AddMicros(value, fraction, kMicrosPerMinute));
      case 'S': return Check(f.AddMicros(value, fraction, pg::kMicrosPerSecond));
      case '\0':
        if (IntegerWidth(start) == 6 && !have_field_) {  // basic: hhmmss, a fraction in µs
          if (!f.AddMicros(value / 10000, kMicrosPerHour) ||
              !f.AddMicros(value / 100 % 100, kMicrosPerMinute) ||
              !f.AddMicros(value % 100, pg::kMicrosPerSecond) ||
              !f.AddFractionMicros(fraction, 1)) {
            return Step::kRange;
          }
          return Step::kEnd;
        }
        return AlternativeTime(unit, value, fraction);
      case ':': return AlternativeTime(unit, value, fraction);
      default: return Step::kSyntax;
    }
  }

  // Extended: hh[:mm[:ss]], after the hours just read.
  Step AlternativeTime(char unit, int64_t value, double fraction) {
    IntervalFields& f = *out_;
    if (have_field_) return Step::kSyntax;
    if (!f.AddMicros(value, fraction, kMicrosPerHour)) return Step::kRange;
    if (unit == '\0') return Step::kEnd;
    IntervalError e = ReadNumber(&value, &fraction);
    if (e != IntervalError::kNone) return ToStep(e);
    if (!f.AddMicros(value, fraction, kMicrosPerMinute)) return Step::kRange;
    if (*p_ == '\0') return Step::kEnd;
    if (*p_ != ':') return Step::kSyntax;
    ++p_;
    e = ReadNumber(&value, &fraction);
    if (e != IntervalError::kNone) return ToStep(e);
    if (!f.AddMicros(value, fraction, pg::kMicrosPerSecond)) return Step::kRange;
    return *p_ == '\0' ? Step::kEnd : Step::kSyntax;
  }

  static Step ToStep(IntervalError e) {
    return e == IntervalError::kFieldRange ? Step::kRange : Step::kSyntax;
  }

  const std::string& text_;
  const char* p_ = nullptr;
  IntervalFields* out_ = nullptr;
  bool date_part_ = true;
  bool have_field_ = false;
};

IntervalError DecodeIntervalText(std::string_view text, IntervalFields* out) {
  std::vector<DateTimeTextField> fields;
  IntervalError e = IntervalError::kSyntax;
  if (DateTimeFieldSplitter(text, kIntervalBufferSize).Split(&fields))
    e = IntervalFieldDecoder().Decode(fields, out);
  if (e != IntervalError::kSyntax) return e;
  *out = IntervalFields{};
  return Iso8601IntervalReader(std::string(text)).Read(out);
}

}  // namespace

Result<Interval> ParseIntervalInput(std::string_view text) {
  IntervalFields f;
  IntervalError e = text.find('\0') == std::string_view::npos ? DecodeIntervalText(text, &f)
                                                              : IntervalError::kSyntax;
  switch (e) {
    case IntervalError::kNone: break;
    case IntervalError::kSyntax: return InvalidSyntax(SqlType::kInterval, text);
    case IntervalError::kFieldRange:
      return InvalidArgument("interval field value out of range: \"" + std::string(text) + "\"");
  }
  int64_t months = int64_t{f.years} * kMonthsPerYear + f.months;
  if (months < INT32_MIN || months > INT32_MAX) return InvalidArgument("interval out of range");
  return Interval{static_cast<int32_t>(months), f.days, f.micros};
}

bool ParseInterval(std::string_view text, Interval* out) {
  Result<Interval> r = ParseIntervalInput(text);
  if (!r.ok()) return false;
  *out = *r;
  return true;
}

void AppendInterval(const Interval& v, std::string* out) {
  bool is_zero = true;
  bool is_before = false;
  auto part = [&](int64_t value, const char* unit) {
    if (value == 0) return;
    if (!is_zero) out->push_back(' ');
    if (is_before && value > 0) out->push_back('+');
    out->append(std::to_string(value));
    out->push_back(' ');
    out->append(unit);
    if (value != 1) out->push_back('s');
    is_before = value < 0;
    is_zero = false;
  };
  part(v.months / 12, "year");
  part(v.months % 12, "mon");
  part(v.days, "day");
  int64_t hour = v.micros / kMicrosPerHour;
  int64_t min = v.micros / kMicrosPerMinute % 60;
  int64_t sec = v.micros / pg::kMicrosPerSecond % 60;
  int64_t fsec = v.micros % pg::kMicrosPerSecond;
  if (is_zero || v.micros != 0) {
    bool minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
    if (!is_zero) out->push_back(' ');
    if (minus) {
      out->push_back('-');
    } else if (is_before) {
      out->push_back('+');
    }
    pg::AppendPadded(hour < 0 ? -hour : hour, 2, out);
    out->push_back(':');
    pg::AppendPadded(min < 0 ? -min : min, 2, out);
    out->push_back(':');
    pg::AppendPadded(sec < 0 ? -sec : sec, 2, out);
    if (fsec != 0) {
      std::string frac;
      pg::AppendPadded(fsec < 0 ? -fsec : fsec, 6, &frac);
      while (frac.back() == '0') frac.pop_back();
      out->push_back('.');
      out->append(frac);
    }
  }
}

namespace {

// --- date, timestamp and timestamptz input: PostgreSQL 15's date_in, timestamp_in and
// timestamptz_in with DateStyle ISO (MDY for ambiguous numeric dates), TimeZone UTC --------
//
// PostgreSQL's own output is read first by a strict reader (OutputFormReader); anything else
// is split into fields as for intervals, then read left to right as DecodeDateTime reads them:
// each field sets some of the date, time and zone fields (one bit each; none may be set
// twice), a number taking its meaning from its width and from what is already set. The result
// is checked as ValidateDate and tm2timestamp check it.

enum class DateTimeError {
  kNone,
  kSyntax,       // invalid input syntax for type ...
  kFieldRange,   // date/time field value out of range
  kZoneRange,    // time zone displacement out of range
  kZoneUnknown,  // time zone "..." not recognized
};

// The fields a literal sets, as PostgreSQL's DTK_M masks.
constexpr uint32_t kReservedBit = 1u << 0;
constexpr uint32_t kMonthBit = 1u << 1;
constexpr uint32_t kYearBit = 1u << 2;
constexpr uint32_t kDayBit = 1u << 3;
constexpr uint32_t kZoneBit = 1u << 4;
constexpr uint32_t kDstZoneBit = 1u << 5;
constexpr uint32_t kMeridianBit = 1u << 6;
constexpr uint32_t kHourBit = 1u << 7;
constexpr uint32_t kMinuteBit = 1u << 8;
constexpr uint32_t kSecondBit = 1u << 9;
constexpr uint32_t kSubsecondBit = 1u << 10;  // milli- and microseconds
constexpr uint32_t kDayOfYearBit = 1u << 11;
constexpr uint32_t kDayOfWeekBit = 1u << 12;
constexpr uint32_t kEraBit = 1u << 13;
constexpr uint32_t kDstModifierBit = 1u << 14;
constexpr uint32_t kDateBits = kYearBit | kMonthBit | kDayBit;
constexpr uint32_t kAllSecondBits = kSecondBit | kSubsecondBit;
constexpr uint32_t kTimeBits = kHourBit | kMinuteBit | kAllSecondBits;

// Julian day numbers: PostgreSQL's valid range starts at JD 0 (4714-11-24 BC); date2j and
// j2date agree with the proleptic Gregorian calendar over it.
constexpr int64_t kJulianDayOf1970 = 2440588;
constexpr int64_t kJulianDayOf2000 = 2451545;
// IS_VALID_JULIAN: from year -4713 (4714 BC) month 11, to before year 5874898 month 6.
bool IsValidJulian(int64_t year, int64_t month) {
  return (year > -4713 || (year == -4713 && month >= 11)) &&
         (year < 5874898 || (year == 5874898 && month < 6));
}
// Dates from JD 0 to before JD 2147483494 (5874898-01-01), as days since 2000-01-01.
constexpr int64_t kMinDate = -kJulianDayOf2000;
constexpr int64_t kEndDate = 2147483494 - kJulianDayOf2000;
// Timestamps from 4714-11-24 00:00 BC to before 294277-01-01 00:00, µs since 2000-01-01.
constexpr int64_t kMinTimestamp = kMinDate * pg::kMicrosPerDay;
constexpr int64_t kEndTimestamp = int64_t{106751983} * pg::kMicrosPerDay;

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }
int64_t DaysInMonth(int64_t year, int64_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}
int64_t JulianDay(int64_t year, int64_t month, int64_t day) {
  return pg::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) +
         kJulianDayOf1970;
}
void FromJulianDay(int64_t jd, int64_t* year, int64_t* month, int64_t* day) {
  unsigned m, d;
  pg::CivilFromDays(jd - kJulianDayOf1970, year, &m, &d);
  *month = m;
  *day = d;
}

// atoi of a run of digits as PostgreSQL's atoi gives it: strtol saturates, then the cast to
// int keeps the low 32 bits.
int64_t AtoI(std::string_view digits) {
  ParsedLong v = ParseLong(digits, 0);
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v.value)));
}

// strtoint: an int, or a field range error.
bool FitsInt32(const ParsedLong& v) {
  return !v.overflow && v.value >= INT32_MIN && v.value <= INT32_MAX;
}

// The zone abbreviations of PostgreSQL's default set (timezone_abbreviations 'Default'). Those
// that are UTC are read; the others are known only so that a literal naming one is refused
// clearly, since what they mean is the server's configuration.
constexpr std::string_view kUtcAbbreviations = " gmt uct ut utc z zulu ";
constexpr std::string_view kOtherAbbreviations =
    " acdt acsst acst act acwst adt aedt aesst aest aft akdt akst almst almt amst amt anast "
    "anat arst art ast awsst awst azost azot azst azt bdst bdt bnt bort bot bra brst brt bst btt "
    "cadt cast cct cdt cest cet cetdst chadt chast chut ckt clst clt cot cst cxt davt ddut easst "
    "east eat edt eest eet eetdst egst egt est fet fjst fjt fkst fkt fnst fnt galt gamt gest get "
    "gft gilt gyt hkt hst ict idt iot irkst irkt irt ist jayt jst kdt kgst kgt kost krast krat kst "
    "lhdt lhst ligt lint lkt magst magt mart mawt mdt mest mesz met metdst mez mht mmt mpt msd "
    "msk mst must mut mvt myt ndt nft novst novt npt nst nut nzdt nzst nzt omsst omst pdt pet "
    "petst pett pgt pht pkst pkt pmdt pmst pont pst pwt pyst pyt ret sadt sast sct sgt taht tft "
    "tjt tkt tmt tot trut tvt ulast ulat uyst uyt uzst uzt vet vlast vlat volt vut wadt wakt "
    "wast wat wdt wet wetdst wft wgst wgt xjt yakst yakt yapt yekst yekt ";

bool InWordList(std::string_view list, std::string_view word) {
  if (word.empty() || word.find(' ') != std::string_view::npos) return false;
  for (size_t at = list.find(word); at != std::string_view::npos; at = list.find(word, at + 1)) {
    if (list[at - 1] == ' ' && list[at + word.size()] == ' ') return true;
  }
  return false;
}

// The tz database's names of UTC, and Etc/GMT+h / Etc/GMT-h (POSIX signs: Etc/GMT+5 is 5 h
// west): the named zones read without the database, as seconds west of UTC.
std::optional<int64_t> FixedZoneWest(std::string_view name) {
  static constexpr std::string_view kUtcNames[] = {
      "utc",       "etc/utc",       "uct",       "etc/uct",       "gmt",       "etc/gmt",
      "gmt0",      "etc/gmt0",      "gmt+0",     "gmt-0",         "etc/gmt+0", "etc/gmt-0",
      "greenwich", "etc/greenwich", "universal", "etc/universal", "zulu",      "etc/zulu"};
  if (std::find(std::begin(kUtcNames), std::end(kUtcNames), name) != std::end(kUtcNames)) {
    return 0;
  }
  constexpr std::string_view kEtcGmt = "etc/gmt";
  if (name.size() < kEtcGmt.size() + 2 || name.substr(0, kEtcGmt.size()) != kEtcGmt) {
    return std::nullopt;
  }
  std::string_view hours = name.substr(kEtcGmt.size() + 1);
  if (hours.empty() || hours.size() > 2 || hours[0] == '0' ||
      !std::all_of(hours.begin(), hours.end(), IsAsciiDigit)) {
    return std::nullopt;
  }
  int h = std::stoi(std::string(hours));
  char sign = name[kEtcGmt.size()];
  if (sign == '+' && h <= 12) return int64_t{h} * 3600;
  if (sign == '-' && h <= 14) return -int64_t{h} * 3600;
  return std::nullopt;
}

// A zone name that is a POSIX TZ string, as PostgreSQL reads a name its tz database does not
// have: a name (letters, '/', '_', ...), an offset "[+-]h[:mm[:ss]]" up to 167 hours (west of
// UTC positive), then optionally a daylight-saving name and offset, whose rules go by date (a
// field holds no ',', so no rules of its own).
enum class PosixZone { kInvalid, kStandardOnly, kWithDst };

class PosixZoneReader {
 public:
  explicit PosixZoneReader(std::string_view s) : s_(s) {}

  PosixZone Read(int64_t* west) {
    if (!Name() || !Offset(west)) return PosixZone::kInvalid;
    if (p_ == s_.size()) return PosixZone::kStandardOnly;
    int64_t dst_west;
    if (!Name() || (p_ < s_.size() && !Offset(&dst_west)) || p_ != s_.size()) {
      return PosixZone::kInvalid;
    }
    return PosixZone::kWithDst;
  }

 private:
  bool Name() {
    size_t start = p_;
    while (p_ < s_.size() && !IsAsciiDigit(s_[p_]) && s_[p_] != ',' && s_[p_] != '-' &&
           s_[p_] != '+') {
      ++p_;
    }
    return p_ > start;
  }

  bool Offset(int64_t* west) {
    bool east = p_ < s_.size() && s_[p_] == '-';
    if (p_ < s_.size() && (s_[p_] == '-' || s_[p_] == '+')) ++p_;
    static constexpr int64_t kLimits[] = {167, 59, 60}, kScales[] = {3600, 60, 1};
    int64_t seconds = 0;
    for (size_t part = 0; part < 3; ++part) {
      if (part > 0) {
        if (p_ >= s_.size() || s_[p_] != ':') break;
        ++p_;
      }
      if (p_ >= s_.size() || !IsAsciiDigit(s_[p_])) return false;
      int64_t v = 0;
      for (; p_ < s_.size() && IsAsciiDigit(s_[p_]); ++p_) {
        v = v * 10 + (s_[p_] - '0');
        if (v > kLimits[part]) return false;
      }
      seconds += v * kScales[part];
    }
    *west = east ? -seconds : seconds;
    return true;
  }

  std::string_view s_;
  size_t p_ = 0;
};

// Whether the system's tz database (TZDIR, else /usr/share/zoneinfo) has a zone of this name,
// its parts matched without regard to case as PostgreSQL matches them; nullopt without a
// database to look in.
std::optional<bool> TzDatabaseHasZone(std::string_view name) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("TZDIR");
  fs::path dir = env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/usr/share/zoneinfo");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return AsciiLower(x) == AsciiLower(y);
           });
  };
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view part =
        name.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty() || part[0] == '.') return false;
    bool found = false;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string entry = it->path().filename().string();
      if (entry[0] != '.' && same(entry, part)) {
        dir = it->path();
        found = true;
        break;
      }
    }
    if (!found) return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  char magic[4] = {};
  std::ifstream file(dir, std::ios::binary);
  return fs::is_regular_file(dir, ec) && file.read(magic, 4) && std::memcmp(magic, "TZif", 4) == 0;
}

// What DecodeDateTime returns besides the fields: a date and time, or a special value.
enum class DateTimeKind { kDateTime, kEpoch, kLate, kEarly };

// The fields as read (PostgreSQL's pg_tm, fsec and tz).
struct DateTimeParts {
  int64_t year = 0;
  int64_t month = 0;
  int64_t day = 0;
  int64_t day_of_year = 0;
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  int64_t fsec = 0;       // µs
  int64_t zone_west = 0;  // seconds west of UTC, PostgreSQL's sign
};

// DecodeDateTime for one type. A literal that names what walflow does not compute (the
// current time, most time zones) is decoded all the same, so that it is refused only when
// PostgreSQL would accept it: refusal() then says why.
class DateTimeDecoder {
 public:
  explicit DateTimeDecoder(SqlType type) : type_(type) {}

  DateTimeError Decode(const std::vector<DateTimeTextField>& fields) {
    fields_ = &fields;
    for (index_ = 0; index_ < fields.size(); ++index_) {
      const DateTimeTextField& f = fields[index_];
      uint32_t mask = 0;
      DateTimeError e = DateTimeError::kNone;
      switch (f.kind) {
        case DateTimeFieldKind::kDateLike: e = DateLikeField(f.text, &mask); break;
        case DateTimeFieldKind::kTime: e = TimeField(f.text, &mask); break;
        case DateTimeFieldKind::kSigned:
          e = DecodeZoneOffset(f.text, &parts_.zone_west);
          mask = kZoneBit;
          break;
        case DateTimeFieldKind::kNumber:
          e = pending_ != kNoUnit ? LabelledNumber(f.text, &mask) : NumberField(f.text, &mask);
          break;
        case DateTimeFieldKind::kWord:
        case DateTimeFieldKind::kSignedWord: e = WordField(f.text, &mask); break;
      }
      if (e != DateTimeError::kNone) return e;
      if ((mask & fmask_) != 0) return DateTimeError::kSyntax;  // a field given twice
      fmask_ |= mask;
    }
    return Finish();
  }

  DateTimeKind kind() const { return kind_; }
  const DateTimeParts& parts() const { return parts_; }
  // The zone of a kZoneUnknown error.
  const std::string& unknown_zone() const { return unknown_zone_; }

  // What walflow refuses in a literal PostgreSQL accepts (after a successful Decode): the
  // current time, or a zone it cannot compute (which matters to timestamptz only, unless
  // only PostgreSQL can tell whether it is a zone at all).
  enum class Refusal { kNone, kCurrentTime, kZone };
  Refusal refusal() const {
    if (refusal_ == Refusal::kZone && !refusal_for_every_type_ && type_ != SqlType::kTimestampTz) {
      return Refusal::kNone;
    }
    return refusal_;
  }
  // The word or zone name refused (lowercased).
  const std::string& refused() const { return refused_; }

 private:
  // "2001-01-01", "jan-05-2026", or after a date a zone name or "hhmmss-zz".
  DateTimeError DateLikeField(const std::string& s, uint32_t* mask) {
    if (pending_ == kJulianUnit) {  // "j2451187-05": a Julian day and a zone
      ParsedLong v = ParseLong(s, 0);
      if (!FitsInt32(v) || v.value < 0) return DateTimeError::kFieldRange;
      FromJulianDay(v.value, &parts_.year, &parts_.month, &parts_.day);
      julian_ = true;
      DateTimeError e = DecodeZoneOffset(std::string_view(s).substr(v.end), &parts_.zone_west);
      if (e != DateTimeError::kNone) return e;
      *mask = kDateBits | kTimeBits | kZoneBit;
      pending_ = kNoUnit;
      return DateTimeError::kNone;
    }
    if (pending_ == kNoUnit && (fmask_ & (kMonthBit | kDayBit)) != (kMonthBit | kDayBit)) {
      return DecodeDate(s, mask);
    }
    if (!IsAsciiDigit(s[0]) && pending_ == kNoUnit) return ZoneName(s, false, mask);
    if (pending_ != kNoUnit) {
      if (pending_ != kTimeUnit) return DateTimeError::kSyntax;
      pending_ = kNoUnit;
    }
    if ((fmask_ & kTimeBits) == kTimeBits) return DateTimeError::kSyntax;
    size_t dash = s.find('-');
    if (dash == std::string::npos) return DateTimeError::kSyntax;
    DateTimeError e = DecodeZoneOffset(std::string_view(s).substr(dash), &parts_.zone_west);
    if (e != DateTimeError::kNone) return e;
    e = DecodeConcatenated(std::string_view(s).substr(0, dash), fmask_, mask, &parts_.fsec);
    *mask |= kZoneBit;
    return e;
  }

  DateTimeError TimeField(const std::string& s, uint32_t* mask) {
    if (pending_ != kNoUnit) {
      if (pending_ != kTimeUnit) return DateTimeError::kSyntax;
      pending_ = kNoUnit;
    }
    ClockFields c;
    switch (ReadClock(s, &c)) {
      case IntervalError::kNone: break;
      case IntervalError::kSyntax: return DateTimeError::kSyntax;
      case IntervalError::kFieldRange: return DateTimeError::kFieldRange;
    }
    if (c.hour > 24 || ((c.hour * 60 + c.minute) * 60 + c.second) * pg::kMicrosPerSecond + c.fsec >
                           pg::kMicrosPerDay) {
      return DateTimeError::kFieldRange;
    }
    parts_.hour = c.hour;
    parts_.minute = c.minute;
    parts_.second = c.second;
    parts_.fsec = c.fsec;
    *mask = kTimeBits;
    return DateTimeError::kNone;
  }

  // DecodeTimezone: "+h", "-hh", "+hhmm", "+hh:mm[:ss]", up to 15 hours.
  static DateTimeError DecodeZoneOffset(std::string_view s, int64_t* west) {
    if (s.empty() || (s[0] != '+' && s[0] != '-')) return DateTimeError::kSyntax;
    ParsedLong h = ParseLong(s, 1);
    if (!FitsInt32(h)) return DateTimeError::kZoneRange;
    int64_t hours = h.value, minutes = 0, seconds = 0;
    size_t end = h.end;
    if (end < s.size() && s[end] == ':') {
      ParsedLong m = ParseLong(s, end + 1);
      if (!FitsInt32(m)) return DateTimeError::kZoneRange;
      minutes = m.value;
      end = m.end;
      if (end < s.size() && s[end] == ':') {
        ParsedLong sec = ParseLong(s, end + 1);
        if (!FitsInt32(sec)) return DateTimeError::kZoneRange;
        seconds = sec.value;
        end = sec.end;
      }
    } else if (end == s.size() && s.size() > 3) {  // "+hhmm"
      minutes = hours % 100;
      hours /= 100;
    }
    if (hours < 0 || hours > 15 || minutes < 0 || minutes >= 60 || seconds < 0 || seconds >= 60) {
      return DateTimeError::kZoneRange;
    }
    int64_t east = (hours * 60 + minutes) * 60 + seconds;
    *west = s[0] == '-' ? east : -east;
    return end == s.size() ? DateTimeError::kNone : DateTimeError::kSyntax;
  }

  // A number after a label ("y2001", "t101010", "j2451187.5").
  DateTimeError LabelledNumber(const std::string& s, uint32_t* mask) {
    ParsedLong v = ParseLong(s, 0);
    if (!FitsInt32(v)) return DateTimeError::kFieldRange;
    bool fraction = v.end < s.size() && s[v.end] == '.';
    if (fraction) {
      if (pending_ != kJulianUnit && pending_ != kTimeUnit && pending_ != kSecondUnit) {
        return DateTimeError::kSyntax;
      }
    } else if (v.end != s.size()) {
      return DateTimeError::kSyntax;
    }
    std::string_view rest = std::string_view(s).substr(v.end);
    switch (pending_) {
      case kYearUnit:
        parts_.year = v.value;
        *mask = kYearBit;
        break;
      case kMonthUnit:  // after a month and an hour, minutes
        if ((fmask_ & kMonthBit) != 0 && (fmask_ & kHourBit) != 0) {
          parts_.minute = v.value;
          *mask = kMinuteBit;
        } else {
          parts_.month = v.value;
          *mask = kMonthBit;
        }
        break;
      case kDayUnit:
        parts_.day = v.value;
        *mask = kDayBit;
        break;
      case kHourUnit:
        parts_.hour = v.value;
        *mask = kHourBit;
        break;
      case kMinuteUnit:
        parts_.minute = v.value;
        *mask = kMinuteBit;
        break;
      case kSecondUnit:
        parts_.second = v.value;
        *mask = kSecondBit;
        if (fraction) {
          double f;
          if (!ParseFraction(rest, &f)) return DateTimeError::kSyntax;
          parts_.fsec = static_cast<int64_t>(std::rint(f * 1000000));
          *mask = kAllSecondBits;
        }
        break;
      case kJulianUnit:
        if (v.value < 0) return DateTimeError::kFieldRange;
        *mask = kDateBits;
        FromJulianDay(v.value, &parts_.year, &parts_.month, &parts_.day);
        julian_ = true;
        if (fraction) {  // a fraction of a day
          double f;
          if (!ParseFraction(rest, &f)) return DateTimeError::kSyntax;
          auto micros = static_cast<int64_t>(f * static_cast<double>(pg::kMicrosPerDay));
          parts_.hour = micros / kMicrosPerHour;
          micros -= parts_.hour * kMicrosPerHour;
          parts_.minute = micros / kMicrosPerMinute;
          micros -= parts_.minute * kMicrosPerMinute;
          parts_.second = micros / pg::kMicrosPerSecond;
          parts_.fsec = micros - parts_.second * pg::kMicrosPerSecond;
          *mask |= kTimeBits;
        }
        break;
      case kTimeUnit: {  // "t" then hhmmss[.f] or hhmm
        DateTimeError e = DecodeConcatenated(s, fmask_ | kDateBits, mask, &parts_.fsec);
        if (e != DateTimeError::kNone) return e;
        if (*mask != kTimeBits) return DateTimeError::kSyntax;
        break;
      }
      case kNoUnit:
      case kOtherUnit: return DateTimeError::kSyntax;
    }
    pending_ = kNoUnit;
    kind_ = DateTimeKind::kDateTime;
    return DateTimeError::kNone;
  }

  DateTimeError NumberField(const std::string& s, uint32_t* mask) {
    size_t dot = s.find('.');
    if (dot != std::string::npos && (fmask_ & kDateBits) == 0) return DecodeDate(s, mask);
    if ((dot != std::string::npos && dot > 2) ||
        (s.size() >= 6 && ((fmask_ & kDateBits) == 0 || (fmask_ & kTimeBits) == 0))) {
      return DecodeConcatenated(s, fmask_, mask, &parts_.fsec);
    }
    return DecodeNumber(s, have_text_month_, fmask_, mask, &parts_.fsec);
  }

  // DecodeDate: a date-like field's parts, runs of digits or of letters (month names), each
  // run ending at the character after it whatever it is.
  DateTimeError DecodeDate(std::string_view s, uint32_t* mask) {
    std::string_view parts[25];
    size_t n = 0;
    size_t p = 0;
    while (p < s.size() && n < std::size(parts)) {
      while (p < s.size() && !IsAsciiAlnum(s[p])) ++p;
      if (p == s.size()) return DateTimeError::kSyntax;
      size_t start = p;
      bool digits = IsAsciiDigit(s[p]);
      while (p < s.size() && (digits ? IsAsciiDigit(s[p]) : IsAsciiAlpha(s[p]))) ++p;
      parts[n++] = s.substr(start, p - start);
      if (p < s.size()) ++p;
    }
    uint32_t fmask = fmask_;
    bool text_month = false;
    bool done[std::size(parts)] = {};
    for (size_t i = 0; i < n; ++i) {  // month names first: they are unambiguous
      if (!IsAsciiAlpha(parts[i][0])) continue;
      const DateKeyword* k = FindDateKeyword(parts[i]);
      if (k != nullptr && k->kind == DateKeywordKind::kNoise) continue;
      if (k == nullptr || k->kind != DateKeywordKind::kMonth) return DateTimeError::kSyntax;
      if ((fmask & kMonthBit) != 0) return DateTimeError::kSyntax;
      parts_.month = k->value;
      text_month = true;
      fmask |= kMonthBit;
      *mask |= kMonthBit;
      done[i] = true;
    }
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      uint32_t dmask = 0;
      int64_t unused_fsec = 0;
      DateTimeError e = DecodeNumber(parts[i], text_month, fmask, &dmask, &unused_fsec);
      if (e != DateTimeError::kNone) return e;
      if ((fmask & dmask) != 0) return DateTimeError::kSyntax;
      fmask |= dmask;
      *mask |= dmask;
    }
    if ((fmask & ~(kDayOfYearBit | kZoneBit)) != kDateBits) return DateTimeError::kSyntax;
    return DateTimeError::kNone;
  }

  // DecodeNumber: one number of a date or time, by what `fmask` already holds.
  DateTimeError DecodeNumber(std::string_view s, bool text_month, uint32_t fmask, uint32_t* mask,
                             int64_t* fsec) {
    ParsedLong v = ParseLong(s, 0);
    if (!FitsInt32(v)) return DateTimeError::kFieldRange;
    if (v.end == 0) return DateTimeError::kSyntax;
    if (v.end < s.size() && s[v.end] == '.') {
      // More than two digits before the point: a date or a run-together time.
      if (v.end > 2) return DecodeConcatenated(s, fmask | kDateBits, mask, fsec);
      double f;
      if (!ParseFraction(s.substr(v.end), &f)) return DateTimeError::kSyntax;
      *fsec = static_cast<int64_t>(std::rint(f * 1000000));
    } else if (v.end != s.size()) {
      return DateTimeError::kSyntax;
    }
    int64_t val = v.value;
    size_t len = s.size();
    if (len == 3 && (fmask & kDateBits) == kYearBit && val >= 1 && val <= 366) {
      *mask = kDayOfYearBit | kMonthBit | kDayBit;
      parts_.day_of_year = val;
      return DateTimeError::kNone;
    }
    switch (fmask & kDateBits) {
      case 0:  // a year if it has three digits or more, else the month (MDY)
        if (len >= 3) {
          *mask = kYearBit;
          parts_.year = val;
        } else {
          *mask = kMonthBit;
          parts_.month = val;
        }
        break;
      case kYearBit:  // YY-MM-DD
        *mask = kMonthBit;
        parts_.month = val;
        break;
      case kMonthBit:  // MON-DD-YYYY, DD-MON-YYYY, YYYY-MON-DD or MM-DD-YY
        if (text_month && len >= 3) {
          *mask = kYearBit;
          parts_.year = val;
        } else {
          *mask = kDayBit;
          parts_.day = val;
        }
        break;
      case kYearBit | kMonthBit:
        if (text_month && len >= 3 && two_digit_year_) {  // DD-MON-YYYY: the year was the day
          *mask = kDayBit;
          parts_.day = parts_.year;
          parts_.year = val;
          two_digit_year_ = false;
        } else {
          *mask = kDayBit;
          parts_.day = val;
        }
        break;
      case kDayBit:
        *mask = kMonthBit;
        parts_.month = val;
        break;
      case kMonthBit | kDayBit:
        *mask = kYearBit;
        parts_.year = val;
        break;
      case kDateBits: return DecodeConcatenated(s, fmask, mask, fsec);  // a time
      default: return DateTimeError::kSyntax;
    }
    if (*mask == kYearBit) two_digit_year_ = len <= 2;
    return DateTimeError::kNone;
  }

  // DecodeNumberField: digits run together, "yyyymmdd" or "yymmdd" while the date is
  // incomplete, else "hhmmss" or "hhmm", either with a fraction of a second.
  DateTimeError DecodeConcatenated(std::string_view s, uint32_t fmask, uint32_t* mask,
                                   int64_t* fsec) {
    size_t dot = s.find('.');
    if (dot != std::string_view::npos) {
      std::string fraction(s.substr(dot));
      errno = 0;
      double f = std::strtod(fraction.c_str(), nullptr);
      if (errno != 0) return DateTimeError::kSyntax;
      *fsec = static_cast<int64_t>(std::rint(f * 1000000));
      s = s.substr(0, dot);
    } else if ((fmask & kDateBits) != kDateBits && s.size() >= 6) {
      *mask = kDateBits;
      parts_.day = AtoI(s.substr(s.size() - 2));
      parts_.month = AtoI(s.substr(s.size() - 4, 2));
      parts_.year = AtoI(s.substr(0, s.size() - 4));
      if (s.size() == 6) two_digit_year_ = true;
      return DateTimeError::kNone;
    }
    if ((fmask & kTimeBits) != kTimeBits && (s.size() == 6 || s.size() == 4)) {
      *mask = kTimeBits;
      parts_.hour = AtoI(s.substr(0, 2));
      parts_.minute = AtoI(s.substr(2, 2));
      parts_.second = s.size() == 6 ? AtoI(s.substr(4, 2)) : 0;
      return DateTimeError::kNone;
    }
    return DateTimeError::kSyntax;
  }

  // A word: a zone abbreviation, a keyword, or else an all-letters zone name ("japan").
  DateTimeError WordField(const std::string& word, uint32_t* mask) {
    if (InWordList(kUtcAbbreviations, word)) {
      *mask = kZoneBit;
      parts_.zone_west = 0;
      return DateTimeError::kNone;
    }
    if (InWordList(kOtherAbbreviations, word)) {
      *mask = kZoneBit;
      RefuseZone(word, false);
      return DateTimeError::kNone;
    }
    const DateKeyword* k = FindDateKeyword(word);
    if (k == nullptr) return ZoneName(word, true, mask);
    switch (k->kind) {
      case DateKeywordKind::kReserved: return ReservedWord(word, k->value, mask);
      case DateKeywordKind::kMonth:
        *mask = kMonthBit;
        // A number read as the month was the day: "5 january".
        if ((fmask_ & kMonthBit) != 0 && !have_text_month_ && (fmask_ & kDayBit) == 0 &&
            parts_.month >= 1 && parts_.month <= 31) {
          parts_.day = parts_.month;
          *mask = kDayBit;
        }
        have_text_month_ = true;
        parts_.month = k->value;
        return DateTimeError::kNone;
      case DateKeywordKind::kDayOfWeek: *mask = kDayOfWeekBit; return DateTimeError::kNone;
      case DateKeywordKind::kMeridian:
        *mask = kMeridianBit;
        meridian_ = k->value == kAm ? Meridian::kAm : Meridian::kPm;
        return DateTimeError::kNone;
      case DateKeywordKind::kEra:
        *mask = kEraBit;
        bc_ = k->value == kBc;
        return DateTimeError::kNone;
      case DateKeywordKind::kNoise: return DateTimeError::kNone;
      case DateKeywordKind::kUnit:
        if (pending_ != kNoUnit) return DateTimeError::kSyntax;  // two labels in a row
        pending_ = static_cast<DateUnit>(k->value);
        return DateTimeError::kNone;
      case DateKeywordKind::kIsoTime: {
        // After a whole date, before hhmmss, hh:mm:ss or hhmmss-zz.
        if ((fmask_ & kDateBits) != kDateBits || index_ + 1 >= fields_->size()) {
          return DateTimeError::kSyntax;
        }
        DateTimeFieldKind next = (*fields_)[index_ + 1].kind;
        if (next != DateTimeFieldKind::kNumber && next != DateTimeFieldKind::kTime &&
            next != DateTimeFieldKind::kDateLike) {
          return DateTimeError::kSyntax;
        }
        pending_ = kTimeUnit;
        return DateTimeError::kNone;
      }
      case DateKeywordKind::kDstModifier:
        *mask = kDstModifierBit | kDstZoneBit;
        parts_.zone_west -= 3600;
        return DateTimeError::kNone;
    }
    return DateTimeError::kSyntax;
  }

  DateTimeError ReservedWord(const std::string& word, int value, uint32_t* mask) {
    switch (value) {
      case kNow:
      case kToday:
      case kTomorrow:
      case kYesterday:
        *mask = value == kNow ? kDateBits | kTimeBits | kZoneBit : kDateBits;
        kind_ = DateTimeKind::kDateTime;
        parts_.year = 2000;  // any valid date: the literal is refused anyway
        parts_.month = 1;
        parts_.day = 1;
        refusal_ = Refusal::kCurrentTime;
        refused_ = word;
        return DateTimeError::kNone;
      case kAllBalls:  // midnight UTC
        *mask = kTimeBits | kZoneBit;
        kind_ = DateTimeKind::kDateTime;
        parts_.hour = parts_.minute = parts_.second = 0;
        parts_.zone_west = 0;
        return DateTimeError::kNone;
      default:
        *mask = kReservedBit;
        kind_ = value == kEpoch ? DateTimeKind::kEpoch
                                : (value == kLate ? DateTimeKind::kLate : DateTimeKind::kEarly);
        return DateTimeError::kNone;
    }
  }

  // A zone by name: "europe/warsaw", "etc/gmt+5", or (`word`) an all-letters one. PostgreSQL
  // looks a name up in the tz database then tries it as a POSIX TZ string ("est5edt").
  DateTimeError ZoneName(const std::string& name, bool word, uint32_t* mask) {
    *mask = kZoneBit;
    named_zone_ = true;
    if (std::optional<int64_t> west = FixedZoneWest(name)) {
      named_zone_west_ = *west;
      return DateTimeError::kNone;
    }
    std::optional<bool> known = TzDatabaseHasZone(name);
    if (known.value_or(false)) {  // a zone with rules by date: timestamptz cannot be computed
      RefuseZone(name, false);
      return DateTimeError::kNone;
    }
    int64_t west;
    PosixZone posix = word ? PosixZone::kInvalid : PosixZoneReader(name).Read(&west);
    if (posix == PosixZone::kStandardOnly) {
      named_zone_west_ = west;
      return DateTimeError::kNone;
    }
    if (known.has_value() && posix == PosixZone::kInvalid) {
      if (word) return DateTimeError::kSyntax;
      unknown_zone_ = name;
      return DateTimeError::kZoneUnknown;
    }
    // Without a database to look in, or with daylight-saving rules PostgreSQL may read, only
    // PostgreSQL can tell what the name means: refused whatever the type.
    RefuseZone(name, true);
    return DateTimeError::kNone;
  }

  void RefuseZone(const std::string& name, bool for_every_type) {
    if (refusal_ != Refusal::kNone) return;
    refusal_ = Refusal::kZone;
    refused_ = name;
    refusal_for_every_type_ = for_every_type;
  }

  // ValidateDate, the meridian, then the checks of a complete date and time.
  DateTimeError Finish() {
    DateTimeParts& p = parts_;
    if ((fmask_ & kYearBit) != 0) {
      if (julian_) {
        // the year is as the Julian day gave it
      } else if (bc_) {
        if (p.year <= 0) return DateTimeError::kFieldRange;  // no year 0 in AD/BC
        p.year = 1 - p.year;
      } else if (two_digit_year_) {
        if (p.year < 0) return DateTimeError::kFieldRange;
        if (p.year < 70) {
          p.year += 2000;
        } else if (p.year < 100) {
          p.year += 1900;
        }
      } else if (p.year <= 0) {
        return DateTimeError::kFieldRange;
      }
    }
    if ((fmask_ & kDayOfYearBit) != 0) {
      FromJulianDay(JulianDay(p.year, 1, 1) + p.day_of_year - 1, &p.year, &p.month, &p.day);
    }
    if ((fmask_ & kMonthBit) != 0 && (p.month < 1 || p.month > 12)) {
      return DateTimeError::kFieldRange;
    }
    if ((fmask_ & kDayBit) != 0 && (p.day < 1 || p.day > 31)) return DateTimeError::kFieldRange;
    if ((fmask_ & kDateBits) == kDateBits && p.day > DaysInMonth(p.year, p.month)) {
      return DateTimeError::kFieldRange;
    }
    if (meridian_ != Meridian::k24Hour && p.hour > 12) return DateTimeError::kFieldRange;
    if (meridian_ == Meridian::kAm && p.hour == 12) {
      p.hour = 0;
    } else if (meridian_ == Meridian::kPm && p.hour != 12) {
      p.hour += 12;
    }
    if (kind_ != DateTimeKind::kDateTime) return DateTimeError::kNone;
    if ((fmask_ & kDateBits) != kDateBits) return DateTimeError::kSyntax;
    if (named_zone_) {
      if ((fmask_ & kDstModifierBit) != 0) return DateTimeError::kSyntax;
      p.zone_west = named_zone_west_;
    }
    if ((fmask_ & kZoneBit) == 0) {
      if ((fmask_ & kDstModifierBit) != 0) return DateTimeError::kSyntax;
      p.zone_west = 0;  // the session's TimeZone, UTC
    }
    return DateTimeError::kNone;
  }

 private:
  enum class Meridian { k24Hour, kAm, kPm };

  SqlType type_;
  const std::vector<DateTimeTextField>* fields_ = nullptr;
  size_t index_ = 0;
  uint32_t fmask_ = 0;
  DateUnit pending_ = kNoUnit;  // the label of the next number
  DateTimeKind kind_ = DateTimeKind::kDateTime;
  DateTimeParts parts_;
  bool have_text_month_ = false;
  bool two_digit_year_ = false;
  bool julian_ = false;
  bool bc_ = false;
  Meridian meridian_ = Meridian::k24Hour;
  bool named_zone_ = false;
  int64_t named_zone_west_ = 0;
  std::string unknown_zone_;
  Refusal refusal_ = Refusal::kNone;
  std::string refused_;
  bool refusal_for_every_type_ = false;
};

// The type's name in date_in's, timestamp_in's and timestamptz_in's syntax errors.
const char* DateTimeInputName(SqlType type) {
  switch (type) {
    case SqlType::kDate: return "date";
    case SqlType::kTimestamp: return "timestamp";
    default: return "timestamp with time zone";
  }
}

// The original spelling of a lowercased zone name in `text`, for a message.
std::string OriginalSpelling(std::string_view text, const std::string& lowered) {
  std::string folded(text);
  std::transform(folded.begin(), folded.end(), folded.begin(), AsciiLower);
  size_t at = folded.find(lowered);
  return at == std::string::npos ? lowered : std::string(text.substr(at, lowered.size()));
}

// PostgreSQL's output under walflow's settings, for years 1 to 9999 AD: "YYYY-MM-DD", then
// for a timestamp " HH:MM:SS[.ffffff]" and for a timestamptz "+HH[:MM[:SS]]". Every text it
// reads is valid and reads the same in DateTimeDecoder; it refuses any other text (the
// decoder takes it), so it needs no error of its own.
class OutputFormReader {
 public:
  explicit OutputFormReader(std::string_view s) : s_(s) {}

  bool ReadDate(int64_t* days) {
    int64_t y, m, d;
    if (!Digits(4, &y) || !Char('-') || !Digits(2, &m) || !Char('-') || !Digits(2, &d)) {
      return false;
    }
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return false;
    *days = JulianDay(y, m, d) - kJulianDayOf2000;
    return true;
  }

  bool ReadTimestamp(bool with_zone, int64_t* micros) {
    int64_t days, h, m, sec, fsec = 0;
    if (!ReadDate(&days) || !Char(' ') || !Digits(2, &h) || h > 23 || !Char(':') ||
        !Digits(2, &m) || m > 59 || !Char(':') || !Digits(2, &sec) || sec > 59) {
      return false;
    }
    if (Char('.')) {
      size_t start = pos_;
      while (pos_ < s_.size() && IsAsciiDigit(s_[pos_]) && pos_ - start < 6) {
        fsec = fsec * 10 + (s_[pos_++] - '0');
      }
      if (pos_ == start) return false;
      for (size_t n = pos_ - start; n < 6; ++n) fsec *= 10;
    }
    int64_t local =
        days * pg::kMicrosPerDay + ((h * 60 + m) * 60 + sec) * pg::kMicrosPerSecond + fsec;
    int64_t east = 0;
    if (with_zone && pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
      bool minus = s_[pos_++] == '-';
      int64_t zh, zm = 0, zs = 0;
      if (!Digits(2, &zh) || zh > 15) return false;
      if (Char(':')) {
        if (!Digits(2, &zm) || zm > 59) return false;
        if (Char(':') && (!Digits(2, &zs) || zs > 59)) return false;
      }
      east = (zh * 3600 + zm * 60 + zs) * (minus ? -1 : 1);
    }
    if (pos_ != s_.size()) return false;
    *micros = local - east * pg::kMicrosPerSecond;
    return true;
  }

  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  bool Char(char c) {
    if (pos_ >= s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool Digits(size_t n, int64_t* out) {
    if (s_.size() - pos_ < n) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = s_[pos_ + i];
      if (!IsAsciiDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    *out = v;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// date_in, timestamp_in or timestamptz_in: days since 2000-01-01 for a date, µs since
// 2000-01-01 00:00 (UTC) for the others, ±infinity as their extreme values.
Result<int64_t> ParseDateTimeText(SqlType type, std::string_view text) {
  OutputFormReader fast(text);
  int64_t value;
  if (type == SqlType::kDate ? fast.ReadDate(&value) && fast.AtEnd()
                             : fast.ReadTimestamp(type == SqlType::kTimestampTz, &value)) {
    return value;
  }
  const char* name = DateTimeInputName(type);
  auto error = [&](const std::string& what) {
    return InvalidArgument(what + ": \"" + std::string(text) + "\"");
  };
  std::vector<DateTimeTextField> fields;
  size_t buffer = type == SqlType::kDate ? 129 : 153;  // MAXDATELEN + 1, + MAXDATEFIELDS
  if (text.find('\0') != std::string_view::npos ||
      !DateTimeFieldSplitter(text, buffer).Split(&fields)) {
    return error(std::string("invalid input syntax for type ") + name);
  }
  DateTimeDecoder decoder(type);
  switch (decoder.Decode(fields)) {
    case DateTimeError::kNone: break;
    case DateTimeError::kSyntax: return error(std::string("invalid input syntax for type ") + name);
    case DateTimeError::kFieldRange: return error("date/time field value out of range");
    case DateTimeError::kZoneRange: return error("time zone displacement out of range");
    case DateTimeError::kZoneUnknown:
      return InvalidArgument("time zone \"" + decoder.unknown_zone() + "\" not recognized");
  }
  switch (decoder.refusal()) {
    case DateTimeDecoder::Refusal::kNone: break;
    case DateTimeDecoder::Refusal::kCurrentTime:
      return InvalidArgument("date/time input \"" + OriginalSpelling(text, decoder.refused()) +
                             "\" is not supported: it depends on the current time, which a "
                             "view's results must not");
    case DateTimeDecoder::Refusal::kZone:
      return InvalidArgument("time zone \"" + OriginalSpelling(text, decoder.refused()) +
                             "\" not supported yet: write a UTC offset (+02, -05:30, Z) instead");
  }
  bool is_date = type == SqlType::kDate;
  switch (decoder.kind()) {
    case DateTimeKind::kDateTime: break;
    case DateTimeKind::kEpoch:
      return is_date ? -kUnixToPgEpochDays : -kUnixToPgEpochDays * pg::kMicrosPerDay;
    case DateTimeKind::kLate:
      return is_date ? int64_t{kDatePositiveInfinity} : kTimestampPositiveInfinity;
    case DateTimeKind::kEarly:
      return is_date ? int64_t{kDateNegativeInfinity} : kTimestampNegativeInfinity;
  }
  const DateTimeParts& p = decoder.parts();
  const char* range = is_date ? "date out of range" : "timestamp out of range";
  if (!IsValidJulian(p.year, p.month)) return error(range);
  int64_t days = JulianDay(p.year, p.month, p.day) - kJulianDayOf2000;
  if (is_date) {
    if (days < kMinDate || days >= kEndDate) return error(range);
    return days;
  }
  auto time =
      ((static_cast<__int128>(p.hour) * 60 + p.minute) * 60 + p.second) * pg::kMicrosPerSecond +
      p.fsec;
  __int128 micros = static_cast<__int128>(days) * pg::kMicrosPerDay + time;
  if (type == SqlType::kTimestampTz)
    micros += static_cast<__int128>(p.zone_west) * pg::kMicrosPerSecond;
  if (micros < kMinTimestamp || micros >= kEndTimestamp) return error(range);
  return static_cast<int64_t>(micros);
}

}  // namespace

Result<Value> Value::Parse(SqlType type, std::string_view text) {
  switch (type) {
    case SqlType::kBool: {
      bool b;
      if (!pg::ParseBool(TrimSpaces(text), &b)) return InvalidSyntax(type, text);
      return Bool(b);
    }
    case SqlType::kInt2:
    case SqlType::kInt4:
    case SqlType::kInt8: {
      std::string_view s = TrimSpaces(text);
      if (!s.empty() && s[0] == '+') s.remove_prefix(1);
      int64_t v;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec == std::errc::result_out_of_range) {
        return InvalidArgument("value \"" + std::string(text) + "\" is out of range for type " +
                               SqlTypeName(type));
      }
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
        return InvalidSyntax(type, text);
      }
      if (!InRange(type, v)) {
        return InvalidArgument("value \"" + std::string(text) + "\" is out of range for type " +
                               SqlTypeName(type));
      }
      return Value(type, v);
    }
    case SqlType::kFloat4:
    case SqlType::kFloat8: {
      std::string s(TrimSpaces(text));
      if (s.empty()) return InvalidSyntax(type, text);
      char* end = nullptr;
      double v = type == SqlType::kFloat4 ? static_cast<double>(std::strtof(s.c_str(), &end))
                                          : std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) return InvalidSyntax(type, text);
      return Value(type, v);
    }
    case SqlType::kNumeric: {
      Result<Decimal> d = Decimal::Parse(text);
      if (!d.ok()) return d.status();
      return Numeric(std::move(d).value());
    }
    case SqlType::kText: return Text(std::string(text));
    case SqlType::kJsonb: return Jsonb(std::string(text));
    case SqlType::kDate: {
      Result<int64_t> days = ParseDateTimeText(type, text);
      if (!days.ok()) return days.status();
      return Date(static_cast<int32_t>(*days));
    }
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: {
      Result<int64_t> micros = ParseDateTimeText(type, text);
      if (!micros.ok()) return micros.status();
      return Value(type, *micros);
    }
    case SqlType::kInterval: {
      Result<Interval> v = ParseIntervalInput(text);
      if (!v.ok()) return v.status();
      return MakeInterval(*v);
    }
  }
  return InvalidArgument("unknown type");
}

void Value::AppendTo(std::string* out) const {
  if (is_null()) return;
  switch (type_) {
    case SqlType::kBool: pg::AppendBool(bool_value(), out); return;
    case SqlType::kInt2:
    case SqlType::kInt4:
    case SqlType::kInt8: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof(buf), int_value());
      out->append(buf, r.ptr);
      return;
    }
    case SqlType::kFloat4: AppendFloat4(static_cast<float>(float_value()), out); return;
    case SqlType::kFloat8: AppendFloat8(float_value(), out); return;
    case SqlType::kNumeric: numeric_value().AppendTo(out); return;
    case SqlType::kText:
    case SqlType::kJsonb: out->append(text_value()); return;
    case SqlType::kDate: {
      int64_t d = int_value();
      if (d == kDatePositiveInfinity) {
        out->append("infinity");
      } else if (d == kDateNegativeInfinity) {
        out->append("-infinity");
      } else {
        pg::AppendDate(d + kUnixToPgEpochDays, out);
      }
      return;
    }
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: {
      int64_t t = int_value();
      if (t == kTimestampPositiveInfinity) {
        out->append("infinity");
        return;
      }
      if (t == kTimestampNegativeInfinity) {
        out->append("-infinity");
        return;
      }
      int64_t days, micros_of_day;
      SplitPgTimestamp(t, &days, &micros_of_day);
      if (type_ == SqlType::kTimestamp) {
        pg::AppendTimestamp(days, micros_of_day, out);
      } else {
        pg::AppendTimestampTz(days, micros_of_day, out);
      }
      return;
    }
    case SqlType::kInterval: AppendInterval(interval_value(), out); return;
  }
}

std::string Value::ToString() const {
  std::string s;
  AppendTo(&s);
  return s;
}

int Value::Compare(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? 1 : -1);
  int ra = NumericRank(a.type_), rb = NumericRank(b.type_);
  if (ra != 0 && rb != 0) {
    if (ra >= 5 || rb >= 5) return CompareDoubles(AsDouble(a), AsDouble(b));
    if (ra == 4 || rb == 4) return Decimal::Compare(AsDecimal(a), AsDecimal(b));
    return Cmp(a.int_value(), b.int_value());
  }
  auto is_time = [](SqlType t) {
    return t == SqlType::kDate || t == SqlType::kTimestamp || t == SqlType::kTimestampTz;
  };
  if (is_time(a.type_) && is_time(b.type_)) {
    if ((a.type_ == SqlType::kDate) == (b.type_ == SqlType::kDate)) {
      return Cmp(a.int_value(), b.int_value());
    }
    int64_t x = a.type_ == SqlType::kDate ? DateAsTimestamp(a.int_value()) : a.int_value();
    int64_t y = b.type_ == SqlType::kDate ? DateAsTimestamp(b.int_value()) : b.int_value();
    return Cmp(x, y);
  }
  auto is_text = [](SqlType t) { return t == SqlType::kText || t == SqlType::kJsonb; };
  if (is_text(a.type_) && is_text(b.type_)) {
    int c = a.text_value().compare(b.text_value());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.type_ != b.type_)
    return Cmp(static_cast<uint32_t>(a.type_), static_cast<uint32_t>(b.type_));
  switch (a.type_) {
    case SqlType::kBool: return Cmp(a.bool_value(), b.bool_value());
    case SqlType::kInterval: return Cmp(a.interval_value().Span(), b.interval_value().Span());
    default: return 0;
  }
}

Result<Value> Value::Add(const Value& a, const Value& b) { return Arith(ArithOp::kAdd, a, b); }
Result<Value> Value::Sub(const Value& a, const Value& b) { return Arith(ArithOp::kSub, a, b); }
Result<Value> Value::Mul(const Value& a, const Value& b) { return Arith(ArithOp::kMul, a, b); }
Result<Value> Value::Div(const Value& a, const Value& b) { return Arith(ArithOp::kDiv, a, b); }
Result<Value> Value::Mod(const Value& a, const Value& b) { return Arith(ArithOp::kMod, a, b); }

Result<Value> Value::Negate(const Value& a) {
  if (a.is_null()) return a;
  if (IsIntegerType(a.type_)) {
    Result<int64_t> v = IntegerSub(a.type_, 0, a.int_value());
    if (!v.ok()) return v.status();
    return Value(a.type_, *v);
  }
  if (IsFloatType(a.type_)) return Value(a.type_, -a.float_value());
  if (a.type_ == SqlType::kNumeric) return Numeric(a.numeric_value().Negate());
  if (a.type_ == SqlType::kInterval) {
    const Interval& i = a.interval_value();
    if (i.months == INT32_MIN || i.days == INT32_MIN || i.micros == INT64_MIN) {
      return InvalidArgument("interval out of range");
    }
    return MakeInterval(Interval{-i.months, -i.days, -i.micros});
  }
  return InvalidArgument(std::string("operator does not exist: - ") + SqlTypeName(a.type_));
}

}  // namespace walflow::sql
