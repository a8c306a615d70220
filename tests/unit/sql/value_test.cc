// sql::Value: PostgreSQL's text forms read and printed back, checked arithmetic and the
// comparison rules. Expected texts are PostgreSQL 15's output with walflow's session
// settings (DateStyle ISO, IntervalStyle postgres, TimeZone UTC, extra_float_digits 3).
#include "sql/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace walflow::sql {
namespace {

Value V(SqlType t, std::string_view s) {
  Result<Value> r = Value::Parse(t, s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : Value();
}

std::string RoundTrip(SqlType t, std::string_view s) { return V(t, s).ToString(); }

std::string Str(const Result<Value>& r) { return r.ok() ? r->ToString() : r.status().message(); }

TEST(ValueTest, TextFormsRoundTrip) {
  for (const char* s : {"0", "-32768", "32767"}) EXPECT_EQ(RoundTrip(SqlType::kInt2, s), s);
  for (const char* s : {"-2147483648", "2147483647"}) EXPECT_EQ(RoundTrip(SqlType::kInt4, s), s);
  for (const char* s : {"-9223372036854775808", "9223372036854775807"}) {
    EXPECT_EQ(RoundTrip(SqlType::kInt8, s), s);
  }
  EXPECT_FALSE(Value::Parse(SqlType::kInt2, "32768").ok());
  EXPECT_FALSE(Value::Parse(SqlType::kInt4, "2147483648").ok());
  EXPECT_FALSE(Value::Parse(SqlType::kInt8, "9223372036854775808").ok());
  EXPECT_FALSE(Value::Parse(SqlType::kInt4, "1.5").ok());
  for (const char* s : {"0", "-0", "1.5", "0.1", "1e+20", "1e+15", "100000000000000", "0.0001",
                        "1e-05", "1.2345678901234567", "-1.7976931348623157e+308", "5e-324", "NaN",
                        "Infinity", "-Infinity", "0.30000000000000004"}) {
    EXPECT_EQ(RoundTrip(SqlType::kFloat8, s), s);
  }
  for (const char* s : {"0.1", "1e+06", "100000", "3.4028235e+38", "1.5", "NaN"}) {
    EXPECT_EQ(RoundTrip(SqlType::kFloat4, s), s);
  }
  EXPECT_EQ(RoundTrip(SqlType::kBool, "t"), "t");
  EXPECT_EQ(RoundTrip(SqlType::kBool, "f"), "f");
  EXPECT_EQ(RoundTrip(SqlType::kNumeric, "-12.340"), "-12.340");
  for (const char* s : {"2000-01-01", "1970-01-01", "2024-02-29", "0044-03-15 BC", "infinity",
                        "-infinity", "5874897-12-31"}) {
    EXPECT_EQ(RoundTrip(SqlType::kDate, s), s);
  }
  EXPECT_EQ(V(SqlType::kDate, "2000-01-02").int_value(), 1);
  EXPECT_EQ(V(SqlType::kDate, "1999-12-31").int_value(), -1);
  for (const char* s :
       {"2000-01-01 00:00:00", "2024-03-01 12:34:56.5", "1999-12-31 23:59:59.999999",
        "0044-03-15 12:00:00 BC", "infinity", "-infinity", "294276-12-31 23:59:59.999999"}) {
    EXPECT_EQ(RoundTrip(SqlType::kTimestamp, s), s);
  }
  EXPECT_EQ(V(SqlType::kTimestamp, "2000-01-01 00:00:01").int_value(), 1000000);
  EXPECT_EQ(RoundTrip(SqlType::kTimestampTz, "2024-03-01 12:34:56.5+00"),
            "2024-03-01 12:34:56.5+00");
  EXPECT_EQ(RoundTrip(SqlType::kTimestampTz, "2024-03-01 14:34:56+02"), "2024-03-01 12:34:56+00");
  for (const char* s : {"00:00:00", "1 year 2 mons -3 days +04:05:06.5", "1 day", "-1 days",
                        "1 mon", "-00:00:01", "3 days 100:00:00", "-1 years -2 mons",
                        "1 year -00:00:00.5", "2 days -04:00:00", "00:00:00.000001"}) {
    EXPECT_EQ(RoundTrip(SqlType::kInterval, s), s);
  }
  Interval i = V(SqlType::kInterval, "1 year 2 mons -3 days +04:05:06.5").interval_value();
  EXPECT_EQ(i.months, 14);
  EXPECT_EQ(i.days, -3);
  EXPECT_EQ(i.micros, ((4 * 60 + 5) * 60 + 6) * 1000000LL + 500000);
  EXPECT_EQ(RoundTrip(SqlType::kJsonb, R"({"a": 1})"), R"({"a": 1})");
  EXPECT_EQ(Value::Null(SqlType::kInt4).ToString(), "");
}

TEST(ValueTest, IntegerArithmeticIsChecked) {
  Value max4 = Value::Int4(INT32_MAX), min4 = Value::Int4(INT32_MIN);
  EXPECT_EQ(Str(Value::Add(max4, Value::Int4(1))), "integer out of range");
  EXPECT_EQ(Str(Value::Sub(min4, Value::Int4(1))), "integer out of range");
  EXPECT_EQ(Str(Value::Mul(Value::Int4(65536), Value::Int4(65536))), "integer out of range");
  EXPECT_EQ(Str(Value::Div(min4, Value::Int4(-1))), "integer out of range");
  EXPECT_EQ(Str(Value::Mod(min4, Value::Int4(-1))), "0");
  EXPECT_EQ(Str(Value::Add(Value::Int2(32767), Value::Int2(1))), "smallint out of range");
  EXPECT_EQ(Str(Value::Add(Value::Int2(32767), Value::Int4(1))), "32768");
  EXPECT_EQ(Str(Value::Add(max4, Value::Int8(1))), "2147483648");
  EXPECT_EQ(Str(Value::Mul(Value::Int8(INT64_MAX), Value::Int8(2))), "bigint out of range");
  EXPECT_EQ(Str(Value::Negate(Value::Int8(INT64_MIN))), "bigint out of range");
  EXPECT_EQ(Str(Value::Div(Value::Int4(-7), Value::Int4(2))), "-3");
  EXPECT_EQ(Str(Value::Div(Value::Int4(7), Value::Int4(-2))), "-3");
  EXPECT_EQ(Str(Value::Mod(Value::Int4(-7), Value::Int4(2))), "-1");
  EXPECT_EQ(Str(Value::Mod(Value::Int4(7), Value::Int4(-2))), "1");
  EXPECT_EQ(Str(Value::Div(Value::Int4(1), Value::Int4(0))), "division by zero");
  EXPECT_EQ(Str(Value::Mod(Value::Int8(1), Value::Int8(0))), "division by zero");
  EXPECT_EQ(Value::Add(Value::Int2(1), Value::Int2(1))->type(), SqlType::kInt2);
  EXPECT_EQ(Value::Add(Value::Int2(1), Value::Int8(1))->type(), SqlType::kInt8);
}

TEST(ValueTest, MixedArithmeticPromotes) {
  Value n = V(SqlType::kNumeric, "1.50");
  Result<Value> r = Value::Add(Value::Int4(2), n);
  EXPECT_EQ(r->type(), SqlType::kNumeric);
  EXPECT_EQ(r->ToString(), "3.50");
  EXPECT_EQ(Str(Value::Div(Value::Int8(1), V(SqlType::kNumeric, "3"))), "0.33333333333333333333");
  EXPECT_EQ(Value::Mul(Value::Int4(2), Value::Float8(0.5))->type(), SqlType::kFloat8);
  EXPECT_EQ(Value::Mul(Value::Float4(2), Value::Float4(0.5))->type(), SqlType::kFloat4);
  EXPECT_FALSE(Value::Add(Value::Text("a"), Value::Int4(1)).ok());
}

TEST(ValueTest, FloatArithmeticFollowsPostgresChecks) {
  EXPECT_EQ(Str(Value::Mul(Value::Float8(1e308), Value::Float8(10))),
            "value out of range: overflow");
  EXPECT_EQ(Str(Value::Add(Value::Float8(1.7e308), Value::Float8(1.7e308))),
            "value out of range: overflow");
  EXPECT_EQ(Str(Value::Mul(Value::Float8(1e-300), Value::Float8(1e-300))),
            "value out of range: underflow");
  EXPECT_EQ(Str(Value::Div(Value::Float8(1), Value::Float8(0))), "division by zero");
  EXPECT_EQ(Str(Value::Add(Value::Float8(INFINITY), Value::Float8(1))), "Infinity");
  EXPECT_EQ(Str(Value::Div(Value::Float8(1), Value::Float8(INFINITY))), "0");
  EXPECT_EQ(Str(Value::Add(Value::Float8(0.1), Value::Float8(0.2))), "0.30000000000000004");
  EXPECT_EQ(Str(Value::Mul(Value::Float4(3e38f), Value::Float4(10))),
            "value out of range: overflow");
}

TEST(ValueTest, ComparesWithPostgresRules) {
  EXPECT_GT(Value::Compare(Value::Float8(NAN), Value::Float8(INFINITY)), 0);
  EXPECT_EQ(Value::Compare(Value::Float8(NAN), Value::Float8(NAN)), 0);
  EXPECT_EQ(Value::Compare(Value::Float8(-0.0), Value::Float8(0.0)), 0);
  EXPECT_EQ(Value::Compare(Value::Int4(2), Value::Int8(2)), 0);
  EXPECT_LT(Value::Compare(Value::Int8(INT64_MAX), V(SqlType::kNumeric, "9223372036854775807.5")),
            0);
  EXPECT_EQ(Value::Compare(Value::Int4(2), V(SqlType::kNumeric, "2.000")), 0);
  EXPECT_LT(Value::Compare(Value::Text("a"), Value::Text("b")), 0);
  EXPECT_LT(Value::Compare(Value::Text("B"), Value::Text("a")), 0);  // bytes, not a collation
  EXPECT_LT(Value::Compare(Value::Text("ab"), Value::Text("ab\x01")), 0);
  EXPECT_GT(Value::Compare(Value::Null(SqlType::kInt4), Value::Int4(INT32_MAX)), 0);
  EXPECT_EQ(Value::Compare(Value::Null(SqlType::kInt4), Value::Null(SqlType::kInt4)), 0);
  EXPECT_EQ(Value::Compare(V(SqlType::kInterval, "1 mon"), V(SqlType::kInterval, "30 days")), 0);
  EXPECT_LT(Value::Compare(V(SqlType::kInterval, "1 day"), V(SqlType::kInterval, "24:00:01")), 0);
  EXPECT_EQ(Value::Compare(V(SqlType::kDate, "2024-01-02"),
                           V(SqlType::kTimestamp, "2024-01-02 00:00:00")),
            0);
  EXPECT_LT(Value::Compare(V(SqlType::kDate, "2024-01-02"),
                           V(SqlType::kTimestamp, "2024-01-02 00:00:01")),
            0);
  EXPECT_LT(Value::Compare(Value::Bool(false), Value::Bool(true)), 0);
  EXPECT_LT(Value::Compare(V(SqlType::kTimestamp, "-infinity"),
                           V(SqlType::kTimestamp, "4713-01-01 00:00:00 BC")),
            0);
}

std::string IntervalText(std::string_view s) {
  Result<Interval> r = ParseIntervalInput(s);
  if (!r.ok()) return r.status().message();
  std::string out;
  AppendInterval(*r, &out);
  return out;
}

// PostgreSQL 15's answers to SELECT '<text>'::interval (pg_oracle_test compares many more).
TEST(ValueTest, IntervalInputReadsPostgresSyntax) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"5 minutes", "00:05:00"},
      {"@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs", "1 year 2 mons 3 days 04:05:06"},
      {"2 us 3 ms", "00:00:00.003002"},
      {"1 week 2 d 3 h", "9 days 03:00:00"},
      {"1 decade 1 century 1 millennium", "1110 years"},
      {"1.5 months", "1 mon 15 days"},
      {"1.5 years", "1 year 6 mons"},
      {"0.5 weeks", "3 days 12:00:00"},
      {"1.5 days", "1 day 12:00:00"},
      {"-1.5 months", "-1 mons -15 days"},
      {"1 day ago", "-1 days"},
      {"1 year -2 mons +3 days -04:05 ago", "-10 mons -3 days +04:05:00"},
      {"04:05", "04:05:00"},
      {"5:30.5", "00:05:30.5"},
      {"1.5", "00:00:01.5"},
      {"1 day 02:03:04", "1 day 02:03:04"},
      {"-1 day +02:03", "-1 days +02:03:00"},
      {"1-2", "1 year 2 mons"},
      {"3 4:05:06", "3 days 04:05:06"},
      {"-1-2 -3 -4:05:06", "-1 years -2 mons -3 days -04:05:06"},
      {"3 4 hours", "3 days 04:00:00"},
      {"1h30m", "01:30:00"},
      {"  1 DAY, 2 Hours\n", "1 day 02:00:00"},
      {"P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"},
      {"PT15M", "00:15:00"},
      {"P0.5D", "12:00:00"},
      {"P0001-02-03T04:05:06", "1 year 2 mons 3 days 04:05:06"},
      {"P00010203T040506", "1 year 2 mons 3 days 04:05:06"},
      {"01:00 1.5 days", "1 day 01:00:00"},  // a time replaces the fraction's hours
      {"178956970 years 7 mons 2147483647 days 2562047788:00:54.775807",
       "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807"},
      {"", "invalid input syntax for type interval: \"\""},
      {"1 fortnight", "invalid input syntax for type interval: \"1 fortnight\""},
      {"1 day 1 day", "invalid input syntax for type interval: \"1 day 1 day\""},
      {"infinity", "invalid input syntax for type interval: \"infinity\""},
      {"p1d", "invalid input syntax for type interval: \"p1d\""},
      {"1:60", "interval field value out of range: \"1:60\""},
      {"1-12", "interval field value out of range: \"1-12\""},
      {"2147483648 days", "interval field value out of range: \"2147483648 days\""},
      {"9223372036854775808 us", "interval field value out of range: \"9223372036854775808 us\""},
      {"P1e20D", "interval field value out of range: \"P1e20D\""},
      {"178956971 years", "interval out of range"},
      {"2147483647 mons 1 year", "interval out of range"},
  };
  for (const Case& c : cases) EXPECT_EQ(IntervalText(c.text), c.expected) << c.text;
  EXPECT_EQ(Str(Value::Parse(SqlType::kInterval, "1 fortnight")),
            "invalid input syntax for type interval: \"1 fortnight\"");
  EXPECT_EQ(Str(Value::Parse(SqlType::kInterval, "15 minutes")), "00:15:00");
  Interval i;
  EXPECT_TRUE(
      ParseInterval("-178956970 years -8 mons -2147483648 days -2562047788:00:54.775807", &i));
  EXPECT_EQ(i.months, INT32_MIN);
  EXPECT_EQ(i.days, INT32_MIN);
  EXPECT_EQ(i.micros, -INT64_MAX);
  EXPECT_FALSE(ParseInterval("1 day 1 day", &i));
}

// PostgreSQL 15's answers to SELECT '<text>'::date / ::timestamp / ::timestamptz with
// DateStyle ISO and TimeZone UTC (pg_oracle_test compares thousands more).
TEST(ValueTest, DateTimeInputReadsPostgresSyntax) {
  struct Case {
    SqlType type;
    const char* text;
    const char* expected;
  };
  constexpr SqlType D = SqlType::kDate, T = SqlType::kTimestamp, Z = SqlType::kTimestampTz;
  const Case cases[] = {
      {T, "2001-01-01", "2001-01-01 00:00:00"},
      {Z, "2026-03-01T10:00:00Z", "2026-03-01 10:00:00+00"},
      {Z, "2026-03-01 10:00+02", "2026-03-01 08:00:00+00"},
      {Z, "2026-03-01 10:00:00.5+05:30", "2026-03-01 04:30:00.5+00"},
      {Z, "2026-03-01 10:00-0800", "2026-03-01 18:00:00+00"},
      {Z, "2026-03-01 10:00 UTC", "2026-03-01 10:00:00+00"},
      {Z, "2026-03-01 10:00 Etc/GMT+5", "2026-03-01 15:00:00+00"},
      {T, "2026-03-01 10:00+02", "2026-03-01 10:00:00"},                 // the zone is ignored
      {T, "2001-01-01 10:00:00.1234565", "2001-01-01 10:00:00.123456"},  // rint: to even
      {T, "2001-01-01 10:00:00.1234575", "2001-01-01 10:00:00.123458"},
      {T, "2001-01-01 23:59:59.9999999", "2001-01-02 00:00:00"},
      {T, "2001-01-01 24:00:00", "2001-01-02 00:00:00"},
      {T, "2001-01-01 12:00 am", "2001-01-01 00:00:00"},
      {T, "epoch", "1970-01-01 00:00:00"},
      {D, "epoch", "1970-01-01"},
      {Z, " -Infinity ", "-infinity"},
      {D, "infinity", "infinity"},
      {D, "0044-03-15 BC", "0044-03-15 BC"},
      {D, "Jan 5 2026", "2026-01-05"},
      {D, "5 January 2026", "2026-01-05"},
      {D, "2026-Jan-05", "2026-01-05"},
      {D, "Monday, January 5, 2026", "2026-01-05"},
      {D, "20260105", "2026-01-05"},
      {D, "03/04/2026", "2026-03-04"},  // MDY
      {D, "3/4/26", "2026-03-04"},
      {D, "1999.008", "1999-01-08"},
      {D, "J2451187", "1999-01-08"},
      {D, "2001-01-01 10:00", "2001-01-01"},
      {T, "20260105T101010", "2026-01-05 10:10:10"},
      {T, "y2001m02d04h10mm30", "2001-02-04 10:30:00"},
      {D, "2001-02-29", "date/time field value out of range: \"2001-02-29\""},
      {D, "13/01/2026", "date/time field value out of range: \"13/01/2026\""},
      {T, "2001-01-01 25:00", "date/time field value out of range: \"2001-01-01 25:00\""},
      {Z, "2001-01-01 10:00+16", "time zone displacement out of range: \"2001-01-01 10:00+16\""},
      {Z, "2001-01-01 10:00 Foo/Bar", "time zone \"foo/bar\" not recognized"},
      {T, "2001-01-01 foo", "invalid input syntax for type timestamp: \"2001-01-01 foo\""},
      {Z, "Jan 5", "invalid input syntax for type timestamp with time zone: \"Jan 5\""},
      {D, "", "invalid input syntax for type date: \"\""},
      {T, "294277-01-01", "timestamp out of range: \"294277-01-01\""},
      {T, "4714-11-23 BC", "timestamp out of range: \"4714-11-23 BC\""},
      {D, "294277-01-01", "294277-01-01"},
      {D, "5874898-01-01", "date out of range: \"5874898-01-01\""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Str(Value::Parse(c.type, c.text)), c.expected)
        << c.text << " as " << SqlTypeName(c.type);
  }
}

// PostgreSQL's output (DateStyle ISO, TimeZone UTC) is read by a fast reader of its own; it
// must agree with the general one, which reads the same text with a space in front.
TEST(ValueTest, DateTimeOutputFormReadsAsInput) {
  for (const char* s : {"2026-03-01 10:00:00", "2024-02-29 23:59:59.999999", "0001-01-01 00:00:00",
                        "9999-12-31 23:59:59.5", "1999-12-31 00:00:00.000001"}) {
    EXPECT_EQ(V(SqlType::kTimestamp, s).int_value(),
              V(SqlType::kTimestamp, std::string(" ") + s).int_value())
        << s;
    for (const char* zone : {"+00", "+05:30", "-08", "+15:59:59", "-00:30"}) {
      std::string tz = std::string(s) + zone;
      EXPECT_EQ(V(SqlType::kTimestampTz, tz).int_value(),
                V(SqlType::kTimestampTz, " " + tz).int_value())
          << tz;
    }
  }
  EXPECT_EQ(V(SqlType::kDate, "2024-02-29").int_value(),
            V(SqlType::kDate, " 2024-02-29").int_value());
  // Texts the fast reader must leave to the general one.
  EXPECT_EQ(Str(Value::Parse(SqlType::kDate, "2023-02-29")),
            "date/time field value out of range: \"2023-02-29\"");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestamp, "2023-01-01 23:59:60")), "2023-01-02 00:00:00");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2023-01-01 10:00:00+1600")),
            "time zone displacement out of range: \"2023-01-01 10:00:00+1600\"");
}

// What walflow refuses although PostgreSQL reads it: values of the current time, and zones
// whose offset depends on the date (named zones, PostgreSQL's configurable abbreviations) as
// timestamptz. A timestamp or date ignores the zone, as PostgreSQL does.
TEST(ValueTest, DateTimeInputRefusesWhatAViewCannotCompute) {
  for (const char* s : {"now", "today", "Tomorrow", "yesterday", "today 10:00"}) {
    for (SqlType t : {SqlType::kDate, SqlType::kTimestamp, SqlType::kTimestampTz}) {
      EXPECT_NE(Str(Value::Parse(t, s)).find("is not supported: it depends on the current time"),
                std::string::npos)
          << s;
    }
  }
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestamp, "Tomorrow")),
            "date/time input \"Tomorrow\" is not supported: it depends on the current time, which "
            "a view's results must not");
  // PostgreSQL's errors come first: 'today' with a bad field is that field's error.
  EXPECT_EQ(Str(Value::Parse(SqlType::kDate, "today 25:00")),
            "date/time field value out of range: \"today 25:00\"");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2026-03-01 10:00 Europe/Warsaw")),
            "time zone \"Europe/Warsaw\" not supported yet: write a UTC offset (+02, -05:30, Z) "
            "instead");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2026-03-01 10:00 PST")),
            "time zone \"PST\" not supported yet: write a UTC offset (+02, -05:30, Z) instead");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestamp, "2026-03-01 10:00 PST")), "2026-03-01 10:00:00");
  // A POSIX TZ string with daylight-saving rules: only PostgreSQL knows its offset.
  EXPECT_NE(
      Str(Value::Parse(SqlType::kTimestamp, "2026-03-01 10:00 abc5def")).find("not supported yet"),
      std::string::npos);
  // Standard time only: a fixed offset, 5 h west.
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2026-03-01 10:00 abc5")),
            "2026-03-01 15:00:00+00");
}

// Without a tz database to look in, a zone name (or a word that may be one) is refused whatever
// the type, since only PostgreSQL could tell a zone from a typo; the names of UTC and of fixed
// offsets are read still.
TEST(ValueTest, DateTimeInputWithoutTzDatabase) {
  const char* saved = std::getenv("TZDIR");
  std::string restore = saved != nullptr ? saved : "";
  setenv("TZDIR", "/nonexistent/walflow-zoneinfo", 1);
  EXPECT_NE(Str(Value::Parse(SqlType::kTimestamp, "2026-03-01 10:00 Europe/Warsaw"))
                .find("time zone \"Europe/Warsaw\" not supported yet"),
            std::string::npos);
  EXPECT_NE(Str(Value::Parse(SqlType::kDate, "2026-03-01 10:00 Foo/Bar")).find("not supported yet"),
            std::string::npos);
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2026-03-01 10:00 Etc/UTC")),
            "2026-03-01 10:00:00+00");
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestampTz, "2026-03-01 10:00 Etc/GMT-14")),
            "2026-02-28 20:00:00+00");
  // A word could be a zone ("Japan") too; a keyword in the wrong place is a syntax error still.
  EXPECT_NE(Str(Value::Parse(SqlType::kTimestamp, "2026-03-01 foo")).find("not supported yet"),
            std::string::npos);
  EXPECT_EQ(Str(Value::Parse(SqlType::kTimestamp, "2026-03-01 at at 5")),
            "invalid input syntax for type timestamp: \"2026-03-01 at at 5\"");
  if (saved != nullptr) {
    setenv("TZDIR", restore.c_str(), 1);
  } else {
    unsetenv("TZDIR");
  }
}

}  // namespace
}  // namespace walflow::sql
