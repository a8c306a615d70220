// sql::Value: one typed SQL value of the view engine, with PostgreSQL's semantics for
// parsing its text output (DateStyle ISO, IntervalStyle postgres, TimeZone UTC,
// extra_float_digits 3, as walflow's connections set them), printing it back, comparing
// and the arithmetic operators. Errors carry PostgreSQL's messages ("integer out of
// range", "division by zero", "value out of range: overflow").
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include "core/status.h"
#include "sql/decimal.h"

namespace walflow::sql {

// The types of the view engine, valued as their PostgreSQL type OIDs (pg_type.oid).
enum class SqlType : uint32_t {
  kBool = 16,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kText = 25,
  kFloat4 = 700,
  kFloat8 = 701,
  kDate = 1082,
  kTimestamp = 1114,
  kTimestampTz = 1184,
  kInterval = 1186,
  kNumeric = 1700,
  kJsonb = 3802,
};

const char* SqlTypeName(SqlType type);  // "integer", "bigint", "numeric", ...
// The type for a column's pg_type OID: varchar/bpchar/name read as text, json as jsonb.
bool SqlTypeFromOid(uint32_t oid, SqlType* out);
bool IsIntegerType(SqlType t);
bool IsFloatType(SqlType t);

// PostgreSQL's interval: months, days and microseconds kept apart. Comparison and equality
// use the span months*30 days + days*24 h + µs, as interval_cmp does ('1 mon' = '30 days').
struct Interval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;
  __int128 Span() const;
  friend bool operator==(const Interval&, const Interval&) = default;  // field-wise
};

// Dates are days since 2000-01-01 (PostgreSQL's epoch), timestamps µs since
// 2000-01-01 00:00 (UTC for timestamptz). ±infinity are the extreme values, as in PostgreSQL.
inline constexpr int32_t kDateNegativeInfinity = std::numeric_limits<int32_t>::min();
inline constexpr int32_t kDatePositiveInfinity = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kTimestampNegativeInfinity = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kTimestampPositiveInfinity = std::numeric_limits<int64_t>::max();
// Days from 1970-01-01 to 2000-01-01.
inline constexpr int64_t kUnixToPgEpochDays = 10957;

class Value {
 public:
  Value() = default;  // NULL of type text
  static Value Null(SqlType type) { return Value(type, std::monostate{}); }
  static Value Bool(bool v) { return Value(SqlType::kBool, v); }
  static Value Int2(int16_t v) { return Value(SqlType::kInt2, int64_t{v}); }
  static Value Int4(int32_t v) { return Value(SqlType::kInt4, int64_t{v}); }
  static Value Int8(int64_t v) { return Value(SqlType::kInt8, v); }
  static Value Float4(float v) { return Value(SqlType::kFloat4, static_cast<double>(v)); }
  static Value Float8(double v) { return Value(SqlType::kFloat8, v); }
  static Value Numeric(Decimal v) { return Value(SqlType::kNumeric, std::move(v)); }
  static Value Text(std::string v) { return Value(SqlType::kText, std::move(v)); }
  static Value Jsonb(std::string v) { return Value(SqlType::kJsonb, std::move(v)); }
  static Value Date(int32_t days) { return Value(SqlType::kDate, int64_t{days}); }
  static Value Timestamp(int64_t micros) { return Value(SqlType::kTimestamp, micros); }
  static Value TimestampTz(int64_t micros) { return Value(SqlType::kTimestampTz, micros); }
  static Value MakeInterval(Interval v) { return Value(SqlType::kInterval, v); }

  // A value from PostgreSQL's text output of `type`. Integers are range-checked for their
  // type; jsonb is kept as its text. date, timestamp and timestamptz read all of PostgreSQL
  // 15's input syntax (date_in, timestamp_in, timestamptz_in with DateStyle ISO, so MDY, and
  // TimeZone UTC), their own output by a fast path: month names, '/' and compact dates, 'T',
  // fractions rounded to µs, BC, offsets and the names of UTC ('Z', 'UTC', 'Etc/GMT+5'),
  // 'epoch' and ±infinity, with PostgreSQL's errors. Refused although PostgreSQL reads them:
  // 'now', 'today', 'tomorrow', 'yesterday' (a view must not depend on the clock), and as
  // timestamptz a zone named by the tz database or an abbreviation other than UTC's ("time
  // zone ... not supported yet"); a timestamp or date ignores any zone, as PostgreSQL does.
  static Result<Value> Parse(SqlType type, std::string_view text);
  // PostgreSQL's text output; NULL has none (callers print their own NULL).
  std::string ToString() const;
  void AppendTo(std::string* out) const;

  SqlType type() const { return type_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(data_); }
  bool bool_value() const { return std::get<bool>(data_); }
  // int2/int4/int8, date (days), timestamp/timestamptz (µs).
  int64_t int_value() const { return std::get<int64_t>(data_); }
  double float_value() const { return std::get<double>(data_); }
  const Decimal& numeric_value() const { return std::get<Decimal>(data_); }
  const std::string& text_value() const { return std::get<std::string>(data_); }
  const Interval& interval_value() const { return std::get<Interval>(data_); }

  // PostgreSQL's order for two non-NULL values of comparable types: integers of any width
  // with each other and with numeric (exactly) and floats; floats with NaN above
  // everything and -0 = 0; text and jsonb by bytes (collations come later); dates,
  // timestamps; intervals by span. NULLs sort after everything here (NULLS LAST).
  // Comparing incomparable types is a bug: it orders by type.
  static int Compare(const Value& a, const Value& b);
  // Equality in the sense of Compare (NULL equals NULL: IS NOT DISTINCT FROM).
  friend bool operator==(const Value& a, const Value& b) { return Compare(a, b) == 0; }

  // Arithmetic. Both operands must be non-NULL (SQL's NULL propagation is the caller's).
  // Types promote as PostgreSQL's operators do: int2 < int4 < int8 < numeric; any float
  // makes float8 (float4 op float4 stays float4); numeric with a float is float8.
  static Result<Value> Add(const Value& a, const Value& b);
  static Result<Value> Sub(const Value& a, const Value& b);
  static Result<Value> Mul(const Value& a, const Value& b);
  static Result<Value> Div(const Value& a, const Value& b);  // integers truncate toward 0
  static Result<Value> Mod(const Value& a, const Value& b);  // sign of the dividend
  static Result<Value> Negate(const Value& a);

 private:
  using Data = std::variant<std::monostate, bool, int64_t, double, Decimal, std::string, Interval>;
  Value(SqlType type, Data data) : type_(type), data_(std::move(data)) {}

  SqlType type_ = SqlType::kText;
  Data data_;
};

// Checked integer arithmetic of one integer type (int2, int4 or int8): "smallint out of
// range", "integer out of range", "bigint out of range"; "division by zero".
Result<int64_t> IntegerAdd(SqlType type, int64_t a, int64_t b);
Result<int64_t> IntegerSub(SqlType type, int64_t a, int64_t b);
Result<int64_t> IntegerMul(SqlType type, int64_t a, int64_t b);
Result<int64_t> IntegerDiv(SqlType type, int64_t a, int64_t b);
Result<int64_t> IntegerMod(SqlType type, int64_t a, int64_t b);

// float8 arithmetic with PostgreSQL's checks: an infinite result of finite operands is
// "value out of range: overflow", a zero result of non-zero operands (* and /) "value out
// of range: underflow", x / 0 "division by zero". `float4` checks against float's range.
Result<double> FloatAdd(double a, double b, bool float4 = false);
Result<double> FloatSub(double a, double b, bool float4 = false);
Result<double> FloatMul(double a, double b, bool float4 = false);
Result<double> FloatDiv(double a, double b, bool float4 = false);

// float8out / float4out with extra_float_digits > 0: the shortest text that reads back
// exactly, in %g's layout ("1e+20", "0.0001", "1.5e-05", "NaN", "-Infinity").
void AppendFloat8(double v, std::string* out);
void AppendFloat4(float v, std::string* out);

// PostgreSQL 15's interval input, as interval_in reads it with IntervalStyle postgres: the
// verbose form ("[@] 1 year 2 mons -3 days +04:05:06.5 [ago]", units spelled out or
// abbreviated, fractions spilling into smaller fields), hh:mm[:ss[.f]] and mm:ss.f times, a
// bare number as seconds, the SQL standard's "1-2" and "3 4:05:06", and ISO 8601 ("P1Y2M3DT4H",
// "P0001-02-03T04:05:06"). PostgreSQL's output (AppendInterval's) reads back, except a time
// of exactly -2^63 µs ("-2562047788:00:54.775808"), which PostgreSQL refuses too.
// Errors are PostgreSQL's: 'invalid input syntax for type interval: "<text>"', 'interval
// field value out of range: "<text>"' and "interval out of range".
Result<Interval> ParseIntervalInput(std::string_view text);
// ParseIntervalInput without the error.
bool ParseInterval(std::string_view text, Interval* out);
// IntervalStyle postgres ("1 year 2 mons -3 days +04:05:06.5").
void AppendInterval(const Interval& v, std::string* out);

}  // namespace walflow::sql
