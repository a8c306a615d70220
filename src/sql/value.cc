#include "sql/value.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

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

bool ParseInterval(std::string_view text, Interval* out) {
  Interval r;
  std::string_view s = TrimSpaces(text);
  bool any = false;
  while (!s.empty()) {
    size_t end = s.find(' ');
    std::string_view token = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : TrimSpaces(s.substr(end));
    if (token.find(':') != std::string_view::npos) {
      bool negative = false;
      if (token[0] == '+' || token[0] == '-') {
        negative = token[0] == '-';
        token.remove_prefix(1);
      }
      int64_t h = 0, m = 0, sec = 0, frac = 0;
      const char* p = token.data();
      const char* e = token.data() + token.size();
      auto r1 = std::from_chars(p, e, h);
      if (r1.ec != std::errc() || r1.ptr == e || *r1.ptr != ':') return false;
      auto r2 = std::from_chars(r1.ptr + 1, e, m);
      if (r2.ec != std::errc()) return false;
      p = r2.ptr;
      if (p != e) {
        if (*p != ':') return false;
        auto r3 = std::from_chars(p + 1, e, sec);
        if (r3.ec != std::errc()) return false;
        p = r3.ptr;
        if (p != e) {
          if (*p != '.') return false;
          ++p;
          int digits = 0;
          for (; p != e; ++p) {
            if (*p < '0' || *p > '9') return false;
            if (digits < 6) {
              frac = frac * 10 + (*p - '0');
              ++digits;
            }
          }
          for (; digits < 6; ++digits) frac *= 10;
        }
      }
      int64_t micros;
      if (__builtin_mul_overflow(h, kMicrosPerHour, &micros)) return false;
      micros += m * kMicrosPerMinute + sec * pg::kMicrosPerSecond + frac;
      r.micros += negative ? -micros : micros;
      any = true;
      continue;
    }
    int64_t n = 0;
    std::string_view num = token;
    if (!num.empty() && num[0] == '+') num.remove_prefix(1);
    auto rn = std::from_chars(num.data(), num.data() + num.size(), n);
    if (rn.ec != std::errc() || rn.ptr != num.data() + num.size() || s.empty()) return false;
    end = s.find(' ');
    std::string_view unit = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : TrimSpaces(s.substr(end));
    if (unit == "year" || unit == "years") {
      r.months += static_cast<int32_t>(n * 12);
    } else if (unit == "mon" || unit == "mons") {
      r.months += static_cast<int32_t>(n);
    } else if (unit == "day" || unit == "days") {
      r.days += static_cast<int32_t>(n);
    } else {
      return false;
    }
    any = true;
  }
  if (!any) return false;
  *out = r;
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
      Interval v;
      if (!ParseInterval(text, &v)) return InvalidSyntax(type, text);
      return MakeInterval(v);
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
