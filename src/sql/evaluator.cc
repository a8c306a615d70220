#include "sql/evaluator.h"

#include <cmath>
#include <string>

#include "pg/text_codec.h"
#include "pg/text_format.h"
#include "sql/datetime.h"
#include "sql/jsonb.h"

namespace walflow::sql {
namespace {

using Kind = BoundExpr::Kind;

class Evaluator {
 public:
  explicit Evaluator(Row row) : row_(row) {}

  // A reference to the child's value: the row's or the constant's own when it is one, else
  // evaluated into *scratch (so column and constant operands are not copied).
  Result<const Value*> Ref(const BoundExpr& e, Value* scratch) {
    if (e.kind == Kind::kColumn) return &row_[e.column];
    if (e.kind == Kind::kConstant) return &e.constant;
    WF_ASSIGN_OR_RETURN(*scratch, Eval(e));
    return scratch;
  }

  Result<Value> Eval(const BoundExpr& e);

 private:
  Result<Value> Arithmetic(const BoundExpr& e);
  Result<Value> Compare(const BoundExpr& e);
  Result<Value> Logical(const BoundExpr& e);
  Result<Value> In(const BoundExpr& e);
  Result<Value> Case(const BoundExpr& e);
  Result<Value> Conditional(const BoundExpr& e);
  Result<Value> Function(const BoundExpr& e);
  Result<Value> JsonField(const BoundExpr& e);

  Row row_;
};

// PostgreSQL compares a float with another number as float8, and numbers of other types
// exactly; Value::Compare does the latter. Two jsonb values compare equal as jsonb_eq says
// (the binder allows only = and <> on them), else in byte order.
int CompareValues(const Value& a, const Value& b, const Collation* collation = nullptr) {
  if (collation && a.type() == SqlType::kText && b.type() == SqlType::kText && !a.is_null() &&
      !b.is_null()) {
    return collation->Compare(a.text_value(), b.text_value());
  }
  if (a.type() == SqlType::kJsonb && b.type() == SqlType::kJsonb && !a.is_null() && !b.is_null()) {
    if (JsonbEqual(a.text_value(), b.text_value())) return 0;
    return a.text_value() < b.text_value() ? -1 : 1;
  }
  if ((IsFloatType(a.type()) || IsFloatType(b.type())) && a.type() != b.type()) {
    auto as_double = [](const Value& v) {
      if (IsFloatType(v.type())) return v.float_value();
      if (v.type() == SqlType::kNumeric) return v.numeric_value().ToDouble();
      return static_cast<double>(v.int_value());
    };
    return Value::Compare(Value::Float8(as_double(a)), Value::Float8(as_double(b)));
  }
  return Value::Compare(a, b);
}

bool CompareResult(BinaryOperator op, int c) {
  switch (op) {
    case BinaryOperator::kEqual: return c == 0;
    case BinaryOperator::kNotEqual: return c != 0;
    case BinaryOperator::kLess: return c < 0;
    case BinaryOperator::kLessEqual: return c <= 0;
    case BinaryOperator::kGreater: return c > 0;
    case BinaryOperator::kGreaterEqual: return c >= 0;
    default: return false;
  }
}

// UTF-8 code point boundaries: byte offset of character `n` (0-based), clamped to size.
size_t CharOffset(std::string_view s, int64_t n) {
  size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --n;
  }
  return i;
}
int64_t CharLength(std::string_view s) {
  int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

char FoldAscii(char c, bool fold) { return fold && c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool LikeAt(std::string_view t, std::string_view p, bool fold) {
  size_t ti = 0, pi = 0;
  while (pi < p.size()) {
    char pc = p[pi];
    if (pc == '%') {
      while (pi < p.size() && p[pi] == '%') ++pi;
      if (pi == p.size()) return true;
      for (size_t k = ti; k <= t.size(); ++k) {
        // Only start at character boundaries.
        if (k < t.size() && (static_cast<unsigned char>(t[k]) & 0xC0) == 0x80) continue;
        if (LikeAt(t.substr(k), p.substr(pi), fold)) return true;
      }
      return false;
    }
    if (ti >= t.size()) return false;
    if (pc == '_') {
      ti = ti + CharOffset(t.substr(ti), 1);
      ++pi;
      continue;
    }
    if (pc == '\\' && pi + 1 < p.size()) pc = p[++pi];
    if (FoldAscii(t[ti], fold) != FoldAscii(pc, fold)) return false;
    ++ti;
    ++pi;
  }
  return ti == t.size();
}

Result<Value> IntegerResult(SqlType t, int64_t v) {
  if (t == SqlType::kInt2) {
    if (v < INT16_MIN || v > INT16_MAX) return InvalidArgument("smallint out of range");
    return Value::Int2(static_cast<int16_t>(v));
  }
  if (t == SqlType::kInt4) {
    if (v < INT32_MIN || v > INT32_MAX) return InvalidArgument("integer out of range");
    return Value::Int4(static_cast<int32_t>(v));
  }
  return Value::Int8(v);
}

Result<Value> CastToNumeric(const Value& v, int precision, int scale) {
  Decimal d;
  if (v.type() == SqlType::kNumeric) {
    d = v.numeric_value();
  } else if (v.type() == SqlType::kFloat4) {
    d = Decimal::FromFloat(static_cast<float>(v.float_value()));
  } else if (v.type() == SqlType::kFloat8) {
    d = Decimal::FromDouble(v.float_value());
  } else {
    d = Decimal(v.int_value());
  }
  if (precision >= 0) {
    if (!d.is_finite()) {
      if (!d.is_nan()) return InvalidArgument("numeric field overflow");
    } else {
      d = d.Round(scale);
      // At most precision - scale digits before the point.
      Decimal limit(1);
      int digits = precision - scale;
      Decimal ten(10);
      for (int i = 0; i < digits; ++i) limit = *Decimal::Mul(limit, ten);
      if (Decimal::Compare(d.Abs(), limit) >= 0) {
        return InvalidArgument("numeric field overflow");
      }
    }
  }
  return Value::Numeric(std::move(d));
}

Status OutOfRange(SqlType t) {
  return InvalidArgument(t == SqlType::kInt2   ? "smallint out of range"
                         : t == SqlType::kInt4 ? "integer out of range"
                                               : "bigint out of range");
}

// --- Date/time arithmetic: PostgreSQL 15's date.c and timestamp.c under TimeZone UTC -------

using pg::kMicrosPerDay;
using pg::kMicrosPerSecond;
// Valid dates are Julian days [0, DATE_END_JULIAN), 4714-11-24 BC to 5874897-12-31; valid
// timestamps [MIN_TIMESTAMP, END_TIMESTAMP), up to 294276-12-31 23:59:59.999999.
constexpr int64_t kMinDate = -2451545;
constexpr int64_t kEndDate = 2147483494 - 2451545;
constexpr int64_t kEndTimestampDate = 109203528 - 2451545;  // 294277-01-01
constexpr int64_t kMinTimestamp = -211813488000000000;
constexpr int64_t kEndTimestamp = 9223371331200000000;
// IS_VALID_JULIAN's year bounds, checked before a date is computed from its fields.
constexpr int64_t kJulianMinYear = -4713, kJulianMaxYear = 5874898;

Status TimestampOutOfRange() { return InvalidArgument("timestamp out of range"); }
Status IntervalOutOfRange() { return InvalidArgument("interval out of range"); }

bool IsTemporal(SqlType t) {
  return t == SqlType::kDate || t == SqlType::kTimestamp || t == SqlType::kTimestampTz ||
         t == SqlType::kInterval;
}
bool IsInfiniteDate(int64_t d) { return d == kDateNegativeInfinity || d == kDatePositiveInfinity; }
bool IsInfiniteTimestamp(int64_t t) {
  return t == kTimestampNegativeInfinity || t == kTimestampPositiveInfinity;
}

// date2timestamp: midnight of the date (UTC for timestamptz); ±infinity stay infinite.
Result<int64_t> DateToTimestamp(int64_t days) {
  if (days == kDateNegativeInfinity) return kTimestampNegativeInfinity;
  if (days == kDatePositiveInfinity) return kTimestampPositiveInfinity;
  if (days >= kEndTimestampDate) return InvalidArgument("date out of range for timestamp");
  return days * kMicrosPerDay;
}

// date_pli / date_mii: an infinite date stays; the result must be a valid date.
Result<Value> DatePlusDays(int64_t date, int64_t days) {
  if (IsInfiniteDate(date)) return Value::Date(static_cast<int32_t>(date));
  int64_t r = date + days;
  if (r < kMinDate || r >= kEndDate) return InvalidArgument("date out of range");
  return Value::Date(static_cast<int32_t>(r));
}

// date_mi: the days between two finite dates.
Result<Value> DateDifference(int64_t a, int64_t b) {
  if (IsInfiniteDate(a) || IsInfiniteDate(b)) {
    return InvalidArgument("cannot subtract infinite dates");
  }
  return Value::Int4(static_cast<int32_t>(a - b));
}

bool IsLeapYear(int64_t year) {  // astronomical years (1 BC is 0)
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}
int64_t DaysInMonth(int64_t year, int64_t month) {
  static constexpr int8_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// A timestamp as days since 2000-01-01 and µs into the day.
void SplitTimestamp(int64_t t, int64_t* days, int64_t* time) {
  *days = t / kMicrosPerDay;
  *time = t % kMicrosPerDay;
  if (*time < 0) {
    *time += kMicrosPerDay;
    --*days;
  }
}

// tm2timestamp: the timestamp of a day and a time of day, if valid.
Result<int64_t> JoinTimestamp(int64_t days, int64_t time) {
  __int128 t = static_cast<__int128>(days) * kMicrosPerDay + time;
  if (t < kMinTimestamp || t >= kEndTimestamp) return TimestampOutOfRange();
  return static_cast<int64_t>(t);
}

// timestamp_pl_interval (timestamptz_pl_interval in UTC is the same): months first, the day
// clamped to the new month's length ('01-31' + '1 mon' is '02-28'), then days, then µs. An
// infinite timestamp stays.
Result<int64_t> TimestampPlusInterval(int64_t t, const Interval& span) {
  if (IsInfiniteTimestamp(t)) return t;
  if (span.months != 0) {
    int64_t days, time, year;
    unsigned month, day;
    SplitTimestamp(t, &days, &time);
    pg::CivilFromDays(days + kUnixToPgEpochDays, &year, &month, &day);
    int64_t m = int64_t{month} + span.months;
    if (m > 12) {
      year += (m - 1) / 12;
      m = (m - 1) % 12 + 1;
    } else if (m < 1) {
      year += m / 12 - 1;
      m = m % 12 + 12;
    }
    if (year < kJulianMinYear || year > kJulianMaxYear) return TimestampOutOfRange();
    int64_t mday = std::min<int64_t>(day, DaysInMonth(year, m));
    int64_t new_days =
        pg::DaysFromCivil(year, static_cast<unsigned>(m), static_cast<unsigned>(mday)) -
        kUnixToPgEpochDays;
    WF_ASSIGN_OR_RETURN(t, JoinTimestamp(new_days, time));
  }
  if (span.days != 0) {
    int64_t days, time;
    SplitTimestamp(t, &days, &time);
    WF_ASSIGN_OR_RETURN(t, JoinTimestamp(days + span.days, time));
  }
  if (__builtin_add_overflow(t, span.micros, &t) || t < kMinTimestamp || t >= kEndTimestamp) {
    return TimestampOutOfRange();
  }
  return t;
}

// timestamp_mi_interval: plus the negated interval, whose fields wrap as C's do in
// PostgreSQL (-INT32_MIN months stays INT32_MIN, then fails as out of range).
Result<int64_t> TimestampMinusInterval(int64_t t, const Interval& span) {
  Interval negated;
  negated.months = static_cast<int32_t>(0u - static_cast<uint32_t>(span.months));
  negated.days = static_cast<int32_t>(0u - static_cast<uint32_t>(span.days));
  negated.micros = static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(span.micros));
  return TimestampPlusInterval(t, negated);
}

// timestamp_mi: the µs between two finite timestamps, justified into days and time as
// interval_justify_hours does. PostgreSQL 15 does not check the subtraction, which wraps
// past ±2^63 µs (294276 AD minus 4713 BC); so does this.
Result<Value> TimestampDifference(int64_t a, int64_t b) {
  if (IsInfiniteTimestamp(a) || IsInfiniteTimestamp(b)) {
    return InvalidArgument("cannot subtract infinite timestamps");
  }
  int64_t diff = static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  int64_t days = diff / kMicrosPerDay;
  diff -= days * kMicrosPerDay;
  if (days > 0 && diff < 0) {
    diff += kMicrosPerDay;
    --days;
  } else if (days < 0 && diff > 0) {
    diff -= kMicrosPerDay;
    ++days;
  }
  return Value::MakeInterval(Interval{0, static_cast<int32_t>(days), diff});
}

// interval_pl / interval_mi: field by field, each checked.
Result<Value> IntervalAddOrSubtract(const Interval& a, const Interval& b, bool subtract) {
  Interval r;
  bool overflow = subtract ? __builtin_sub_overflow(a.months, b.months, &r.months) ||
                                 __builtin_sub_overflow(a.days, b.days, &r.days) ||
                                 __builtin_sub_overflow(a.micros, b.micros, &r.micros)
                           : __builtin_add_overflow(a.months, b.months, &r.months) ||
                                 __builtin_add_overflow(a.days, b.days, &r.days) ||
                                 __builtin_add_overflow(a.micros, b.micros, &r.micros);
  if (overflow) return IntervalOutOfRange();
  return Value::MakeInterval(r);
}

// TSROUND: to the nearest µs-th of the unit.
double RoundToMicros(double v) { return std::rint(v * 1000000.0) / 1000000.0; }

// A product or quotient of an int32 field, as interval_mul checks it (FLOAT8_FITS_IN_INT32,
// then truncation: 2147483647.5 days is 2147483647 days and a fraction).
Result<int32_t> IntervalField(double v) {
  if (std::isnan(v) || v < -2147483648.0 || v >= 2147483648.0) return IntervalOutOfRange();
  return static_cast<int32_t>(v);
}

Result<int32_t> AddDays(int32_t days, int32_t more) {
  int32_t r;
  if (__builtin_add_overflow(days, more, &r)) return IntervalOutOfRange();
  return r;
}

// interval_mul, and interval_div as the product by 1 / factor computed in division: whole
// months and days stay, their fractions cascade down (a month is 30 days, a day 24 hours)
// into days and µs, never up.
Result<Value> IntervalScale(const Interval& span, double factor, bool divide) {
  auto scale = [&](double v) { return divide ? v / factor : v * factor; };
  if (divide && factor == 0.0) return InvalidArgument("division by zero");
  Interval r;
  WF_ASSIGN_OR_RETURN(r.months, IntervalField(scale(span.months)));
  WF_ASSIGN_OR_RETURN(r.days, IntervalField(scale(span.days)));
  constexpr double kDaysPerMonth = 30, kSecondsPerDay = 86400;
  double month_remainder_days = RoundToMicros((scale(span.months) - r.months) * kDaysPerMonth);
  double sec_remainder = RoundToMicros((scale(span.days) - r.days + month_remainder_days -
                                        static_cast<int32_t>(month_remainder_days)) *
                                       kSecondsPerDay);
  if (std::fabs(sec_remainder) >= kSecondsPerDay) {
    int32_t whole_days = static_cast<int32_t>(sec_remainder / kSecondsPerDay);
    WF_ASSIGN_OR_RETURN(r.days, AddDays(r.days, whole_days));
    sec_remainder -= whole_days * kSecondsPerDay;
  }
  WF_ASSIGN_OR_RETURN(r.days, AddDays(r.days, static_cast<int32_t>(month_remainder_days)));
  double micros = std::rint(scale(static_cast<double>(span.micros)) +
                            sec_remainder * static_cast<double>(kMicrosPerSecond));
  // FLOAT8_FITS_IN_INT64
  if (std::isnan(micros) || micros < -9223372036854775808.0 || micros >= 9223372036854775808.0) {
    return IntervalOutOfRange();
  }
  r.micros = static_cast<int64_t>(micros);
  return Value::MakeInterval(r);
}

Result<Value> TimestampResult(SqlType type, Result<int64_t> t) {
  if (!t.ok()) return t.status();
  return type == SqlType::kTimestampTz ? Value::TimestampTz(*t) : Value::Timestamp(*t);
}

// The date/time operators, for non-NULL operands of the types the binder chose (one of
// them a date, timestamp, timestamptz or interval).
Result<Value> DateTimeArithmetic(BinaryOperator op, const Value& a, const Value& b) {
  SqlType ta = a.type(), tb = b.type();
  switch (op) {
    case BinaryOperator::kAdd:
      if (ta == SqlType::kDate && tb == SqlType::kInt4) {
        return DatePlusDays(a.int_value(), b.int_value());
      }
      if (ta == SqlType::kInt4 && tb == SqlType::kDate) {
        return DatePlusDays(b.int_value(), a.int_value());
      }
      if (ta == SqlType::kInterval && tb == SqlType::kInterval) {
        return IntervalAddOrSubtract(a.interval_value(), b.interval_value(), false);
      }
      if (tb == SqlType::kInterval || ta == SqlType::kInterval) {
        const Value& point = tb == SqlType::kInterval ? a : b;
        const Interval& span = tb == SqlType::kInterval ? b.interval_value() : a.interval_value();
        if (point.type() == SqlType::kDate) {
          WF_ASSIGN_OR_RETURN(int64_t t, DateToTimestamp(point.int_value()));
          return TimestampResult(SqlType::kTimestamp, TimestampPlusInterval(t, span));
        }
        return TimestampResult(point.type(), TimestampPlusInterval(point.int_value(), span));
      }
      break;
    case BinaryOperator::kSubtract:
      if (ta == SqlType::kDate && tb == SqlType::kInt4) {
        return DatePlusDays(a.int_value(), -b.int_value());
      }
      if (ta == SqlType::kDate && tb == SqlType::kDate) {
        return DateDifference(a.int_value(), b.int_value());
      }
      if (ta == SqlType::kInterval && tb == SqlType::kInterval) {
        return IntervalAddOrSubtract(a.interval_value(), b.interval_value(), true);
      }
      if (tb == SqlType::kInterval) {
        if (ta == SqlType::kDate) {
          WF_ASSIGN_OR_RETURN(int64_t t, DateToTimestamp(a.int_value()));
          return TimestampResult(SqlType::kTimestamp,
                                 TimestampMinusInterval(t, b.interval_value()));
        }
        return TimestampResult(ta, TimestampMinusInterval(a.int_value(), b.interval_value()));
      }
      if (ta == tb && (ta == SqlType::kTimestamp || ta == SqlType::kTimestampTz)) {
        return TimestampDifference(a.int_value(), b.int_value());
      }
      break;
    case BinaryOperator::kMultiply:
      if (ta == SqlType::kInterval && tb == SqlType::kFloat8) {
        return IntervalScale(a.interval_value(), b.float_value(), false);
      }
      if (ta == SqlType::kFloat8 && tb == SqlType::kInterval) {
        return IntervalScale(b.interval_value(), a.float_value(), false);
      }
      break;
    case BinaryOperator::kDivide:
      if (ta == SqlType::kInterval && tb == SqlType::kFloat8) {
        return IntervalScale(a.interval_value(), b.float_value(), true);
      }
      break;
    default: break;
  }
  return Internal(std::string("no date/time operator for ") + SqlTypeName(ta) + " " +
                  BinaryOperatorSql(op) + " " + SqlTypeName(tb));
}

// date_in, timestamp_in and timestamptz_in for the forms Value::Parse does not read (it
// reads PostgreSQL's output): a date alone as a timestamp at midnight, a timestamp's text as
// its date, 'T' between date and time, minutes without seconds. Errors name the type as
// these input functions do ("invalid input syntax for type timestamp: ...").
Result<Value> ParseDateTimeInput(SqlType type, std::string_view text) {
  Result<Value> direct = Value::Parse(type, text);
  if (direct.ok()) return direct;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string s(text);
  size_t b = s.find_first_not_of(" \t\n\r"), e = s.find_last_not_of(" \t\n\r");
  s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  size_t t = s.find('T');
  if (t != std::string::npos && t > 0 && t + 1 < s.size() && digit(s[t - 1]) && digit(s[t + 1])) {
    s[t] = ' ';
  }
  size_t space = s.find(' ');
  if (space != std::string::npos) {
    size_t colon = s.find(':', space);
    if (colon != std::string::npos) {
      size_t end = colon + 1;
      while (end < s.size() && digit(s[end])) ++end;
      if (end == colon + 3 && (end == s.size() || s[end] != ':')) s.insert(end, ":00");
    }
  }
  bool bc = s.ends_with(" BC");
  if (type == SqlType::kDate) {
    if (space != std::string::npos && Value::Parse(SqlType::kTimestamp, s).ok()) {
      Result<Value> d = Value::Parse(type, s.substr(0, space) + (bc ? " BC" : ""));
      if (d.ok()) return d;
    }
  } else {
    Result<Value> v = Value::Parse(type, s);
    if (v.ok()) return v;
    Result<Value> d = Value::Parse(SqlType::kDate, s);
    if (d.ok()) {
      Result<int64_t> micros = DateToTimestamp(d->int_value());
      if (!micros.ok()) {
        return InvalidArgument("timestamp out of range: \"" + std::string(text) + "\"");
      }
      return type == SqlType::kTimestamp ? Value::Timestamp(*micros) : Value::TimestampTz(*micros);
    }
  }
  if (direct.status().message().rfind("invalid input syntax", 0) != 0) return direct;
  const char* name = type == SqlType::kTimestamp ? "timestamp" : SqlTypeName(type);
  return InvalidArgument(std::string("invalid input syntax for type ") + name + ": \"" +
                         std::string(text) + "\"");
}

}  // namespace

Result<Value> ParseInput(SqlType type, std::string_view text) {
  if (type == SqlType::kJsonb) {
    WF_ASSIGN_OR_RETURN(std::string normalized, NormalizeJsonb(text));
    return Value::Jsonb(std::move(normalized));
  }
  if (type == SqlType::kDate || type == SqlType::kTimestamp || type == SqlType::kTimestampTz) {
    return ParseDateTimeInput(type, text);
  }
  if (type != SqlType::kBool) return Value::Parse(type, text);
  std::string s;
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
  }
  // Leading and trailing spaces only: an inner space makes the text invalid.
  size_t b = text.find_first_not_of(" \t\n\r"), e = text.find_last_not_of(" \t\n\r");
  bool inner_space = b != std::string_view::npos && s.size() != e - b + 1;
  auto prefix_of = [&](std::string_view word, size_t min) {
    return s.size() >= min && s.size() <= word.size() && word.substr(0, s.size()) == s;
  };
  if (!inner_space) {
    if (prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || s == "1") {
      return Value::Bool(true);
    }
    if (prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0") {
      return Value::Bool(false);
    }
  }
  return InvalidArgument("invalid input syntax for type boolean: \"" + std::string(text) + "\"");
}

Result<Value> CastValue(const Value& v, SqlType target, int numeric_precision, int numeric_scale) {
  if (v.is_null()) return Value::Null(target);
  SqlType from = v.type();
  if (from == target && numeric_precision < 0) return v;
  if (target == SqlType::kText) {
    if (from == SqlType::kBool) return Value::Text(v.bool_value() ? "true" : "false");
    return Value::Text(v.ToString());
  }
  if (from == SqlType::kText) {
    WF_ASSIGN_OR_RETURN(Value parsed, ParseInput(target, v.text_value()));
    if (target == SqlType::kNumeric && numeric_precision >= 0) {
      return CastToNumeric(parsed, numeric_precision, numeric_scale);
    }
    return parsed;
  }
  if (target == SqlType::kNumeric) return CastToNumeric(v, numeric_precision, numeric_scale);
  if (IsIntegerType(target)) {
    if (IsIntegerType(from)) return IntegerResult(target, v.int_value());
    if (from == SqlType::kBool) return Value::Int4(v.bool_value() ? 1 : 0);
    if (IsFloatType(from)) {
      double r = std::rint(v.float_value());
      // Exclusive upper bounds as doubles (2^15, 2^31, 2^63).
      double hi = target == SqlType::kInt2   ? 32768.0
                  : target == SqlType::kInt4 ? 2147483648.0
                                             : 9223372036854775808.0;
      if (std::isnan(r) || r < -hi || r >= hi) return OutOfRange(target);
      return IntegerResult(target, static_cast<int64_t>(r));
    }
    if (from == SqlType::kNumeric) {
      const Decimal& d = v.numeric_value();
      if (d.is_nan()) {
        return InvalidArgument(std::string("cannot convert NaN to ") + SqlTypeName(target));
      }
      if (!d.is_finite()) {
        return InvalidArgument(std::string("cannot convert infinity to ") + SqlTypeName(target));
      }
      Result<int64_t> i = d.ToInt64();
      if (!i.ok()) return OutOfRange(target);
      return IntegerResult(target, *i);
    }
  }
  if (IsFloatType(target)) {
    double d = IsFloatType(from)           ? v.float_value()
               : from == SqlType::kNumeric ? v.numeric_value().ToDouble()
                                           : static_cast<double>(v.int_value());
    if (target == SqlType::kFloat8) return Value::Float8(d);
    float f = static_cast<float>(d);
    if (std::isinf(f) && !std::isinf(d)) return InvalidArgument("value out of range: overflow");
    if (f == 0 && d != 0) return InvalidArgument("value out of range: underflow");
    return Value::Float4(f);
  }
  if (target == SqlType::kBool && IsIntegerType(from)) return Value::Bool(v.int_value() != 0);
  if (from == SqlType::kDate) {
    WF_ASSIGN_OR_RETURN(int64_t micros, DateToTimestamp(v.int_value()));
    return target == SqlType::kTimestamp ? Value::Timestamp(micros) : Value::TimestampTz(micros);
  }
  if (from == SqlType::kTimestamp || from == SqlType::kTimestampTz) {
    int64_t t = v.int_value();
    if (target == SqlType::kDate) {
      if (t == kTimestampNegativeInfinity) return Value::Date(kDateNegativeInfinity);
      if (t == kTimestampPositiveInfinity) return Value::Date(kDatePositiveInfinity);
      int64_t day = int64_t{86400000000};
      int64_t q = t / day;
      if (t % day < 0) --q;
      return Value::Date(static_cast<int32_t>(q));
    }
    return target == SqlType::kTimestamp ? Value::Timestamp(t) : Value::TimestampTz(t);
  }
  return InvalidArgument(std::string("cannot cast type ") + SqlTypeName(from) + " to " +
                         SqlTypeName(target));
}

bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive) {
  return LikeAt(text, pattern, case_insensitive);
}

Result<Value> Evaluator::Eval(const BoundExpr& e) {
  switch (e.kind) {
    case Kind::kColumn: return row_[e.column];
    case Kind::kConstant: return e.constant;
    case Kind::kArithmetic: return Arithmetic(e);
    case Kind::kConcat: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      if (a->is_null() || b->is_null()) return Value::Null(SqlType::kText);
      // text || anynonarray is $1 || $2::text: a boolean reads 'true', not its output 't'.
      std::string out;
      for (const Value* v : {a, b}) {
        if (v->type() == SqlType::kBool) {
          out += v->bool_value() ? "true" : "false";
        } else {
          v->AppendTo(&out);
        }
      }
      return Value::Text(std::move(out));
    }
    case Kind::kNegate: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      if (a->is_null()) return Value::Null(e.type);
      return Value::Negate(*a);
    }
    case Kind::kCompare: return Compare(e);
    case Kind::kNot: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      if (a->is_null()) return Value::Null(SqlType::kBool);
      return Value::Bool(!a->bool_value());
    }
    case Kind::kAnd:
    case Kind::kOr: return Logical(e);
    case Kind::kIsNull: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      return Value::Bool(a->is_null() != e.negated);
    }
    case Kind::kIsDistinct: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      bool distinct;
      if (a->is_null() || b->is_null()) {
        distinct = a->is_null() != b->is_null();
      } else {
        distinct = CompareValues(*a, *b) != 0;
      }
      return Value::Bool(distinct != e.negated);
    }
    case Kind::kIn: return In(e);
    case Kind::kLike: {
      Value sa, sb;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
      WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
      if (a->is_null() || b->is_null()) return Value::Null(SqlType::kBool);
      const std::string& p = b->text_value();
      if (!p.empty() && p.back() == '\\' &&
          (p.size() == 1 || p.find_last_not_of('\\') == std::string::npos ||
           (p.size() - 1 - p.find_last_not_of('\\')) % 2 == 1)) {
        return InvalidArgument("LIKE pattern must not end with escape character");
      }
      return Value::Bool(LikeMatch(a->text_value(), p, e.case_insensitive) != e.negated);
    }
    case Kind::kCase: return Case(e);
    case Kind::kCoalesce:
    case Kind::kNullIf:
    case Kind::kGreatest:
    case Kind::kLeast: return Conditional(e);
    case Kind::kCast: {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &s));
      return CastValue(*a, e.type, e.numeric_precision, e.numeric_scale);
    }
    case Kind::kFunction: return Function(e);
    case Kind::kAggregate:
      return Internal("an aggregate cannot be evaluated as a scalar expression");
    case Kind::kJsonField: return JsonField(e);
  }
  return Internal("unknown expression kind");
}

Result<Value> Evaluator::Arithmetic(const BoundExpr& e) {
  Value sa, sb;
  WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
  WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
  if (a->is_null() || b->is_null()) return Value::Null(e.type);
  if (IsTemporal(a->type()) || IsTemporal(b->type())) return DateTimeArithmetic(e.op, *a, *b);
  switch (e.op) {
    case BinaryOperator::kAdd: return Value::Add(*a, *b);
    case BinaryOperator::kSubtract: return Value::Sub(*a, *b);
    case BinaryOperator::kMultiply: return Value::Mul(*a, *b);
    case BinaryOperator::kDivide: return Value::Div(*a, *b);
    case BinaryOperator::kModulo: return Value::Mod(*a, *b);
    default: return Internal("not an arithmetic operator");
  }
}

Result<Value> Evaluator::JsonField(const BoundExpr& e) {
  Value sa, sb;
  WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
  WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
  if (a->is_null() || b->is_null()) return Value::Null(e.type);
  bool as_text = e.op == BinaryOperator::kJsonFieldText;
  Result<std::optional<std::string>> field =
      b->type() == SqlType::kText
          ? JsonbObjectField(a->text_value(), b->text_value(), as_text)
          : JsonbArrayElement(a->text_value(), static_cast<int32_t>(b->int_value()), as_text);
  if (!field.ok()) return field.status();
  if (!field->has_value()) return Value::Null(e.type);
  return as_text ? Value::Text(std::move(**field)) : Value::Jsonb(std::move(**field));
}

Result<Value> Evaluator::Compare(const BoundExpr& e) {
  Value sa, sb;
  WF_ASSIGN_OR_RETURN(const Value* a, Ref(e.children[0], &sa));
  WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &sb));
  if (a->is_null() || b->is_null()) return Value::Null(SqlType::kBool);
  // = and <> of a deterministic collation are byte equality, as Compare's tie break makes.
  return Value::Bool(CompareResult(e.op, CompareValues(*a, *b, e.collation.get())));
}

Result<Value> Evaluator::Logical(const BoundExpr& e) {
  // AND stops at the first false, OR at the first true, as PostgreSQL's executor does.
  bool decisive = e.kind == Kind::kOr;
  bool saw_null = false;
  for (const BoundExpr& c : e.children) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* v, Ref(c, &s));
    if (v->is_null()) {
      saw_null = true;
    } else if (v->bool_value() == decisive) {
      return Value::Bool(decisive);
    }
  }
  return saw_null ? Value::Null(SqlType::kBool) : Value::Bool(!decisive);
}

Result<Value> Evaluator::In(const BoundExpr& e) {
  Value so;
  WF_ASSIGN_OR_RETURN(const Value* x, Ref(e.children[0], &so));
  if (x->is_null()) return Value::Null(SqlType::kBool);
  bool saw_null = false;
  for (size_t i = 1; i < e.children.size(); ++i) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* v, Ref(e.children[i], &s));
    if (v->is_null()) {
      saw_null = true;
    } else if (CompareValues(*x, *v) == 0) {
      return Value::Bool(!e.negated);
    }
  }
  return saw_null ? Value::Null(SqlType::kBool) : Value::Bool(e.negated);
}

Result<Value> Evaluator::Case(const BoundExpr& e) {
  size_t pairs = (e.children.size() - (e.has_else ? 1 : 0)) / 2;
  for (size_t i = 0; i < pairs; ++i) {
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* cond, Ref(e.children[2 * i], &s));
    if (!cond->is_null() && cond->bool_value()) return Eval(e.children[2 * i + 1]);
  }
  if (e.has_else) return Eval(e.children.back());
  return Value::Null(e.type);
}

Result<Value> Evaluator::Conditional(const BoundExpr& e) {
  if (e.kind == Kind::kCoalesce) {
    for (const BoundExpr& c : e.children) {
      WF_ASSIGN_OR_RETURN(Value v, Eval(c));
      if (!v.is_null()) return v;
    }
    return Value::Null(e.type);
  }
  if (e.kind == Kind::kNullIf) {
    WF_ASSIGN_OR_RETURN(Value a, Eval(e.children[0]));
    Value s;
    WF_ASSIGN_OR_RETURN(const Value* b, Ref(e.children[1], &s));
    if (!a.is_null() && !b->is_null() && CompareValues(a, *b) == 0) return Value::Null(e.type);
    return a;
  }
  // GREATEST/LEAST ignore NULLs; NULL only when every argument is.
  Value best = Value::Null(e.type);
  for (const BoundExpr& c : e.children) {
    WF_ASSIGN_OR_RETURN(Value v, Eval(c));
    if (v.is_null()) continue;
    int cmp = best.is_null() ? 1 : CompareValues(v, best, e.collation.get());
    if (e.kind == Kind::kLeast) cmp = -cmp;
    if (best.is_null() || cmp > 0) best = std::move(v);
  }
  return best;
}

Result<Value> Evaluator::Function(const BoundExpr& e) {
  constexpr size_t kMaxArgs = 3;
  if (e.function == ScalarFunction::kConcat) {
    std::string out;
    for (const BoundExpr& c : e.children) {
      Value s;
      WF_ASSIGN_OR_RETURN(const Value* v, Ref(c, &s));
      if (!v->is_null()) v->AppendTo(&out);
    }
    return Value::Text(std::move(out));
  }
  Value scratch[kMaxArgs];
  const Value* args[kMaxArgs] = {nullptr, nullptr, nullptr};
  for (size_t i = 0; i < e.children.size() && i < kMaxArgs; ++i) {
    WF_ASSIGN_OR_RETURN(args[i], Ref(e.children[i], &scratch[i]));
    if (args[i]->is_null()) return Value::Null(e.type);  // every other function is strict
  }
  const Value& a = *args[0];
  auto text = [&](size_t i) -> std::string_view { return args[i]->text_value(); };
  switch (e.function) {
    case ScalarFunction::kLower:
    case ScalarFunction::kUpper: {
      bool lower = e.function == ScalarFunction::kLower;
      if (e.collation) {
        return Value::Text(lower ? e.collation->Lower(text(0)) : e.collation->Upper(text(0)));
      }
      std::string s(text(0));
      for (char& c : s) {
        if (lower && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        if (!lower && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
      return Value::Text(std::move(s));
    }
    case ScalarFunction::kLength: return Value::Int4(static_cast<int32_t>(CharLength(text(0))));
    case ScalarFunction::kSubstr: {
      std::string_view s = text(0);
      int64_t start = args[1]->int_value();
      int64_t end = INT64_MAX;
      if (e.children.size() == 3) {
        int64_t len = args[2]->int_value();
        if (len < 0) return InvalidArgument("negative substring length not allowed");
        end = start + len;  // both fit int32, so no overflow
      }
      int64_t from = std::max<int64_t>(start, 1);
      if (end <= from) return Value::Text("");
      size_t b = CharOffset(s, from - 1);
      size_t en = end == INT64_MAX ? s.size() : CharOffset(s, end - 1);
      return Value::Text(std::string(s.substr(b, en - b)));
    }
    case ScalarFunction::kBtrim:
    case ScalarFunction::kLtrim:
    case ScalarFunction::kRtrim: {
      std::string_view s = text(0);
      std::string_view set = e.children.size() == 2 ? text(1) : std::string_view(" ");
      // Characters of `set` (UTF-8 aware): a prefix/suffix char is trimmed if it is in set.
      auto in_set = [&](std::string_view ch) {
        for (size_t i = 0; i < set.size();) {
          size_t n = CharOffset(set.substr(i), 1);
          if (set.substr(i, n) == ch) return true;
          i += n;
        }
        return false;
      };
      size_t b = 0, en = s.size();
      if (e.function != ScalarFunction::kRtrim) {
        while (b < en) {
          size_t n = CharOffset(s.substr(b), 1);
          if (!in_set(s.substr(b, n))) break;
          b += n;
        }
      }
      if (e.function != ScalarFunction::kLtrim) {
        while (en > b) {
          size_t k = en - 1;
          while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
          if (!in_set(s.substr(k, en - k))) break;
          en = k;
        }
      }
      return Value::Text(std::string(s.substr(b, en - b)));
    }
    case ScalarFunction::kReplace: {
      std::string_view s = text(0), from = text(1), to = text(2);
      if (from.empty()) return Value::Text(std::string(s));
      std::string out;
      size_t pos = 0;
      while (true) {
        size_t hit = s.find(from, pos);
        if (hit == std::string_view::npos) break;
        out.append(s.substr(pos, hit - pos));
        out.append(to);
        pos = hit + from.size();
      }
      out.append(s.substr(pos));
      return Value::Text(std::move(out));
    }
    case ScalarFunction::kSplitPart: {
      std::string_view s = text(0), delim = text(1);
      int64_t n = args[2]->int_value();
      if (n == 0) return InvalidArgument("field position must not be zero");
      std::vector<std::string_view> parts;
      if (delim.empty()) {
        if (!s.empty()) parts.push_back(s);
      } else if (!s.empty()) {
        size_t pos = 0;
        while (true) {
          size_t hit = s.find(delim, pos);
          if (hit == std::string_view::npos) break;
          parts.push_back(s.substr(pos, hit - pos));
          pos = hit + delim.size();
        }
        parts.push_back(s.substr(pos));
      }
      int64_t count = static_cast<int64_t>(parts.size());
      int64_t index = n > 0 ? n - 1 : count + n;
      if (index < 0 || index >= count) return Value::Text("");
      return Value::Text(std::string(parts[index]));
    }
    case ScalarFunction::kLeft:
    case ScalarFunction::kRight: {
      std::string_view s = text(0);
      int64_t n = args[1]->int_value();
      int64_t len = CharLength(s);
      int64_t keep = n >= 0 ? std::min(n, len) : std::max<int64_t>(len + n, 0);
      if (e.function == ScalarFunction::kLeft) {
        return Value::Text(std::string(s.substr(0, CharOffset(s, keep))));
      }
      return Value::Text(std::string(s.substr(CharOffset(s, len - keep))));
    }
    case ScalarFunction::kAbs: {
      if (IsIntegerType(a.type())) {
        int64_t v = a.int_value();
        if (v == INT64_MIN) return InvalidArgument("bigint out of range");
        return IntegerResult(a.type(), v < 0 ? -v : v);
      }
      if (a.type() == SqlType::kNumeric) return Value::Numeric(a.numeric_value().Abs());
      if (a.type() == SqlType::kFloat4) {
        return Value::Float4(static_cast<float>(std::fabs(a.float_value())));
      }
      return Value::Float8(std::fabs(a.float_value()));
    }
    case ScalarFunction::kRound:
    case ScalarFunction::kFloor:
    case ScalarFunction::kCeil: {
      if (a.type() == SqlType::kFloat8) {
        double v = a.float_value();
        double r = e.function == ScalarFunction::kRound   ? std::rint(v)
                   : e.function == ScalarFunction::kFloor ? std::floor(v)
                                                          : std::ceil(v);
        return Value::Float8(r);
      }
      const Decimal& d = a.numeric_value();
      if (e.function == ScalarFunction::kRound) {
        int64_t n = e.children.size() == 2 ? args[1]->int_value() : 0;
        return Value::Numeric(d.Round(static_cast<int32_t>(n)));
      }
      if (!d.is_finite()) return Value::Numeric(d);
      Decimal t = d.Trunc(0);
      if (Decimal::Compare(t, d) != 0) {
        bool up = e.function == ScalarFunction::kCeil;
        if (up && !d.is_negative()) {
          WF_ASSIGN_OR_RETURN(t, Decimal::Add(t, Decimal(1)));
        }
        if (!up && d.is_negative()) {
          WF_ASSIGN_OR_RETURN(t, Decimal::Sub(t, Decimal(1)));
        }
      }
      return Value::Numeric(std::move(t));
    }
    case ScalarFunction::kMod: return Value::Mod(a, *args[1]);
    case ScalarFunction::kDateTrunc: return DateTrunc(text(0), *args[1]);
    case ScalarFunction::kExtract: return Extract(text(0), *args[1]);
    case ScalarFunction::kDatePart: return DatePart(text(0), *args[1]);
    case ScalarFunction::kDateBin: return DateBin(a.interval_value(), *args[1], *args[2]);
    case ScalarFunction::kConcat: break;
  }
  return Internal("unknown function");
}

Result<Value> Evaluate(const BoundExpr& expr, Row row) {
  Evaluator evaluator(row);
  return evaluator.Eval(expr);
}

Result<bool> EvaluatePredicate(const BoundExpr& expr, Row row) {
  WF_ASSIGN_OR_RETURN(Value v, Evaluate(expr, row));
  return !v.is_null() && v.bool_value();
}

}  // namespace walflow::sql
