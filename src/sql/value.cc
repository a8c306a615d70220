#include "sql/value.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

enum class IntervalFieldKind {
  kNumber,      // "5", "1.5", ".5"
  kWord,        // "days", "ago" (lowercased)
  kDateLike,    // "1-2", "1/2", "5.", "w2d": digits or letters with '-', '/', '.' inside
  kTime,        // "04:05:06.5", "5:30.5"
  kSigned,      // "-5", "+04:05", "-1-2", "-1.5"
  kSignedWord,  // "-infinity": never a unit
};

struct IntervalTextField {
  IntervalFieldKind kind;
  std::string text;
};

// ParseDateTime's split into fields: at most 25 of them, their characters and terminators
// in a work buffer of 256 bytes; spaces and other punctuation separate fields.
class IntervalFieldSplitter {
 public:
  explicit IntervalFieldSplitter(std::string_view text) : text_(text) {}

  bool Split(std::vector<IntervalTextField>* fields) {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (IsAsciiSpace(c)) {
        ++pos_;
        continue;
      }
      if (fields->size() >= kMaxFields) return false;
      IntervalTextField field{IntervalFieldKind::kNumber, {}};
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
  static constexpr size_t kBufferSize = 256;

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  template <typename Pred>
  bool PeekIf(Pred pred) const {
    return pos_ < text_.size() && pred(text_[pos_]);
  }
  bool Take() {
    if (used_ + 1 >= kBufferSize) return false;
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
      field_->kind = IntervalFieldKind::kTime;
      return TakeWhile([](char c) { return IsAsciiDigit(c) || c == ':' || c == '.'; });
    }
    if (!Peek('-') && !Peek('/') && !Peek('.')) return true;
    char delim = text_[pos_];
    if (!Take()) return false;
    if (PeekIf(IsAsciiDigit)) {
      field_->kind = delim == '.' ? IntervalFieldKind::kNumber : IntervalFieldKind::kDateLike;
      if (!TakeWhile(IsAsciiDigit)) return false;
      if (!Peek(delim)) return true;
      field_->kind = IntervalFieldKind::kDateLike;
      return TakeWhile([delim](char c) { return IsAsciiDigit(c) || c == delim; });
    }
    field_->kind = IntervalFieldKind::kDateLike;
    return TakeWhile([delim](char c) { return IsAsciiAlnum(c) || c == delim; });
  }

  // A word; one that runs into '-', '/' or '.', or into a digit or '+' unless it is a date
  // keyword ("1h30m" splits, "1w2d" does not), makes a date-like field of what follows.
  bool ReadFromLetter() {
    field_->kind = IntervalFieldKind::kWord;
    if (!TakeWhile(IsAsciiAlpha)) return false;
    bool date_like = Peek('-') || Peek('/') || Peek('.');
    if (!date_like && (Peek('+') || PeekIf(IsAsciiDigit))) {
      date_like = !IsDateKeyword(field_->text);
    }
    if (!date_like) return true;
    field_->kind = IntervalFieldKind::kDateLike;
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
      field_->kind = IntervalFieldKind::kSigned;
      return Take() &&
             TakeWhile([](char c) { return IsAsciiDigit(c) || c == ':' || c == '.' || c == '-'; });
    }
    if (PeekIf(IsAsciiAlpha)) {
      field_->kind = IntervalFieldKind::kSignedWord;
      return TakeWhile(IsAsciiAlpha);
    }
    return false;
  }

  // The words of PostgreSQL's date/time keyword table (datetktbl): months, days of the
  // week, special values, field names and modifiers.
  static bool IsDateKeyword(std::string_view word) {
    static constexpr std::string_view kKeywords[] = {
        "ad",       "allballs", "am",      "apr",       "april",    "at",       "aug",
        "august",   "bc",       "d",       "dec",       "december", "dow",      "doy",
        "dst",      "epoch",    "feb",     "february",  "fri",      "friday",   "h",
        "infinity", "isodow",   "isoyear", "j",         "jan",      "january",  "jd",
        "jul",      "julian",   "july",    "jun",       "june",     "m",        "mar",
        "march",    "may",      "mm",      "mon",       "monday",   "nov",      "november",
        "now",      "oct",      "october", "on",        "pm",       "s",        "sat",
        "saturday", "sep",      "sept",    "september", "sun",      "sunday",   "t",
        "thu",      "thur",     "thurs",   "thursday",  "today",    "tomorrow", "tue",
        "tues",     "tuesday",  "wed",     "wednesday", "weds",     "y",        "yesterday",
    };
    return std::find(std::begin(kKeywords), std::end(kKeywords), word) != std::end(kKeywords);
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t used_ = 0;  // bytes of the work buffer taken
  IntervalTextField* field_ = nullptr;
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
  IntervalError Decode(const std::vector<IntervalTextField>& fields, IntervalFields* out) {
    out_ = out;
    for (size_t i = fields.size(); i-- > 0;) {
      const IntervalTextField& f = fields[i];
      IntervalError e = IntervalError::kNone;
      uint32_t mask = 0;
      switch (f.kind) {
        case IntervalFieldKind::kTime: e = DecodeTime(f.text, false, &mask); break;
        case IntervalFieldKind::kSigned:
          // A signed time, else a signed number or year-month.
          if (f.text.find(':', 1) != std::string::npos &&
              DecodeTime(std::string_view(f.text).substr(1), f.text[0] == '-', &mask) ==
                  IntervalError::kNone) {
            break;
          }
          e = DecodeNumber(f.text, &mask);
          break;
        case IntervalFieldKind::kNumber:
        case IntervalFieldKind::kDateLike: e = DecodeNumber(f.text, &mask); break;
        case IntervalFieldKind::kWord:
        case IntervalFieldKind::kSignedWord: e = DecodeWord(f.text); break;
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
      if (second.value < INT32_MIN || second.value > INT32_MAX) {
        return IntervalError::kFieldRange;
      }
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
    IntervalFields f;
    f.micros = static_cast<int64_t>(fsec);
    if (!f.AddMicros(h, kMicrosPerHour) || !f.AddMicros(m, kMicrosPerMinute) ||
        !f.AddMicros(sec, pg::kMicrosPerSecond)) {
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
  std::vector<IntervalTextField> fields;
  IntervalError e = IntervalError::kSyntax;
  if (IntervalFieldSplitter(text).Split(&fields)) e = IntervalFieldDecoder().Decode(fields, out);
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
      switch (pg::ParseInfinity(text)) {
        case pg::Infinity::kPositive: return Date(kDatePositiveInfinity);
        case pg::Infinity::kNegative: return Date(kDateNegativeInfinity);
        case pg::Infinity::kNone: break;
      }
      int32_t days;
      if (!pg::ParseDate(text, &days)) return InvalidSyntax(type, text);
      return Date(static_cast<int32_t>(days - kUnixToPgEpochDays));
    }
    case SqlType::kTimestamp:
    case SqlType::kTimestampTz: {
      switch (pg::ParseInfinity(text)) {
        case pg::Infinity::kPositive: return Value(type, kTimestampPositiveInfinity);
        case pg::Infinity::kNegative: return Value(type, kTimestampNegativeInfinity);
        case pg::Infinity::kNone: break;
      }
      int64_t days, micros_of_day, micros;
      if (!pg::ParseTimestampParts(text, &days, &micros_of_day) ||
          __builtin_mul_overflow(days - kUnixToPgEpochDays, pg::kMicrosPerDay, &micros) ||
          __builtin_add_overflow(micros, micros_of_day, &micros)) {
        return InvalidSyntax(type, text);
      }
      return Value(type, micros);
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
