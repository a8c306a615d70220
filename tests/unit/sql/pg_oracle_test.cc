// sql::Decimal and sql::Value against a real PostgreSQL 15: thousands of random operands,
// each result and text form compared with what the server answers. Queries are batched
// (one VALUES list per query) to keep the test to a few seconds. The date/time functions
// (date_trunc, extract, date_part, date_bin) are compared cell by cell: every expression of
// a corpus over every row of a table of edge-case values, type and value or error.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pg_server.h"
#include "sql/binder.h"
#include "sql/decimal.h"
#include "sql/evaluator.h"
#include "sql/parser.h"
#include "sql/value.h"

// GCC 12 warns falsely on chains of std::string operator+ (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace walflow::sql {
namespace {

using test::PgConnection;
using test::PgServer;

PgConnection& Session() {
  static PgConnection* conn = [] {
    auto* c = new PgConnection(PgServer::Shared().Connect());
    c->Exec(
        "SET TimeZone = 'UTC'; SET DateStyle = ISO; SET IntervalStyle = postgres; "
        "SET extra_float_digits = 3");
    return c;
  }();
  return *conn;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t bar = line.find('|', start);
    out.push_back(line.substr(start, bar - start));
    if (bar == std::string::npos) return out;
    start = bar + 1;
  }
}

std::string RandomNumericText(std::mt19937_64& rng) {
  auto pick = [&](uint64_t n) { return static_cast<int>(rng() % n); };
  if (pick(40) == 0) return "0";
  std::string s = pick(2) ? "-" : "";
  int int_digits = pick(8) == 0 ? pick(120) : pick(20);
  int frac_digits = pick(8) == 0 ? pick(40) : pick(12);
  for (int i = 0; i < int_digits; ++i)
    s.push_back(static_cast<char>('0' + (pick(4) == 0 ? 0 : pick(10))));
  if (int_digits == 0) s.push_back('0');
  if (frac_digits > 0) s.push_back('.');
  for (int i = 0; i < frac_digits; ++i)
    s.push_back(static_cast<char>('0' + (pick(4) == 0 ? 0 : pick(10))));
  if (pick(10) == 0) s += "e" + std::to_string(pick(30) - 15);
  return s;
}

std::string Text(const Result<Decimal>& r) { return r.ok() ? r->ToString() : "error"; }

TEST(PgOracleTest, DecimalArithmeticMatchesPostgres) {
  std::mt19937_64 rng(15);
  constexpr int kBatches = 6, kRows = 500;
  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<std::string> as, bs;
    std::vector<int> ns;
    std::string values;
    for (int i = 0; i < kRows; ++i) {
      as.push_back(RandomNumericText(rng));
      bs.push_back(rng() % 50 == 0 ? "0" : RandomNumericText(rng));
      ns.push_back(static_cast<int>(rng() % 30) - 5);
      if (i > 0) values += ',';
      values += "(" + std::to_string(i) + ",'" + as[i] + "'::numeric,'" + bs[i] + "'::numeric," +
                std::to_string(ns[i]) + ")";
    }
    std::string sql =
        "SELECT string_agg(concat_ws('|', a::text, b::text, (a+b)::text, (a-b)::text, (a*b)::text, "
        "CASE WHEN b = 0 THEN 'error' ELSE (a/b)::text END, "
        "CASE WHEN b = 0 THEN 'error' ELSE (a%b)::text END, round(a, n)::text, "
        "(a < b)::text, (a = b)::text, a::float8::text, a::float8::numeric::text), E'\\n' ORDER BY "
        "i) "
        "FROM (VALUES " +
        values + ") v(i, a, b, n)";
    std::vector<std::string> lines = Lines(Session().Scalar(sql));
    ASSERT_EQ(lines.size(), static_cast<size_t>(kRows));
    for (int i = 0; i < kRows; ++i) {
      std::vector<std::string> f = Fields(lines[static_cast<size_t>(i)]);
      ASSERT_EQ(f.size(), 12u) << lines[static_cast<size_t>(i)];
      Decimal a = *Decimal::Parse(as[i]), b = *Decimal::Parse(bs[i]);
      std::string ctx = as[i] + " , " + bs[i];
      EXPECT_EQ(a.ToString(), f[0]) << ctx;
      EXPECT_EQ(b.ToString(), f[1]) << ctx;
      EXPECT_EQ(Text(Decimal::Add(a, b)), f[2]) << ctx;
      EXPECT_EQ(Text(Decimal::Sub(a, b)), f[3]) << ctx;
      EXPECT_EQ(Text(Decimal::Mul(a, b)), f[4]) << ctx;
      EXPECT_EQ(Text(Decimal::Div(a, b)), f[5]) << ctx;
      EXPECT_EQ(Text(Decimal::Mod(a, b)), f[6]) << ctx;
      EXPECT_EQ(a.Round(ns[i]).ToString(), f[7]) << ctx << " round " << ns[i];
      EXPECT_EQ(a < b ? "true" : "false", f[8]) << ctx;
      EXPECT_EQ(a == b ? "true" : "false", f[9]) << ctx;
      std::string dbl;
      AppendFloat8(a.ToDouble(), &dbl);
      EXPECT_EQ(dbl, f[10]) << ctx;
      EXPECT_EQ(Decimal::FromDouble(a.ToDouble()).ToString(), f[11]) << ctx;
    }
  }
}

TEST(PgOracleTest, AvgAndSumMatchPostgres) {
  std::mt19937_64 rng(16);
  constexpr int kGroups = 400;
  std::vector<std::vector<std::string>> groups(kGroups);
  std::string values;
  for (int g = 0; g < kGroups; ++g) {
    int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      groups[g].push_back(g % 2 ? RandomNumericText(rng)
                                : std::to_string(static_cast<int64_t>(rng()) >> 30));
      if (!values.empty()) values += ',';
      values += "(" + std::to_string(g) + ",'" + groups[g].back() + "'::numeric)";
    }
  }
  std::string sql =
      "SELECT string_agg(concat_ws('|', s::text, a::text), E'\\n' ORDER BY g) FROM "
      "(SELECT g, sum(x) s, avg(x) a FROM (VALUES " +
      values + ") v(g, x) GROUP BY g) t";
  std::vector<std::string> lines = Lines(Session().Scalar(sql));
  ASSERT_EQ(lines.size(), static_cast<size_t>(kGroups));
  // avg(int8) is numeric too, with the same final division.
  std::string int_sql =
      "SELECT string_agg(a::text, E'\\n' ORDER BY g) FROM (SELECT g, avg(x::int8) a "
      "FROM (VALUES ";
  std::string int_values;
  for (int g = 0; g < kGroups; g += 2) {
    for (const std::string& x : groups[g]) {
      if (!int_values.empty()) int_values += ',';
      int_values += "(" + std::to_string(g) + "," + x + ")";
    }
  }
  std::vector<std::string> int_lines =
      Lines(Session().Scalar(int_sql + int_values + ") v(g, x) GROUP BY g) t"));
  for (int g = 0; g < kGroups; ++g) {
    Decimal sum;
    for (const std::string& x : groups[g]) sum = *Decimal::Add(sum, *Decimal::Parse(x));
    std::vector<std::string> f = Fields(lines[static_cast<size_t>(g)]);
    EXPECT_EQ(sum.ToString(), f[0]);
    std::string avg = Text(Decimal::Avg(sum, static_cast<int64_t>(groups[g].size())));
    EXPECT_EQ(avg, f[1]) << sum.ToString() << " / " << groups[g].size();
    if (g % 2 == 0) {
      EXPECT_EQ(avg, int_lines[static_cast<size_t>(g / 2)]);
    }
  }
}

TEST(PgOracleTest, FloatAndTimeTextMatchPostgres) {
  std::mt19937_64 rng(17);
  std::string values;
  std::vector<double> doubles;
  std::vector<std::string> intervals, timestamps, dates;
  for (int i = 0; i < 1000; ++i) {
    double d = std::ldexp(static_cast<double>(static_cast<int64_t>(rng()) >> (rng() % 60)),
                          static_cast<int>(rng() % 160) - 100);
    doubles.push_back(d);
    Interval iv{static_cast<int32_t>(rng() % 400) - 200, static_cast<int32_t>(rng() % 100) - 50,
                static_cast<int64_t>(rng() % 400000000000ULL) - 200000000000LL};
    if (rng() % 3 == 0) iv.micros = iv.micros / 1000000 * 1000000;
    if (rng() % 4 == 0) iv.micros = 0;
    std::string ivs;
    AppendInterval(iv, &ivs);
    intervals.push_back(ivs);
    int64_t ts = static_cast<int64_t>(rng() % 40000000000000000ULL) - 20000000000000000LL;
    timestamps.push_back(Value::Timestamp(ts).ToString());
    dates.push_back(Value::Date(static_cast<int32_t>(rng() % 2000000) - 1000000).ToString());
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.17g", d);
    if (i > 0) values += ',';
    values += "(" + std::to_string(i) + ",'" + buf + "'::float8,'" + ivs + "'::interval,'" +
              timestamps.back() + "'::timestamp,'" + dates.back() + "'::date)";
  }
  std::string sql =
      "SELECT string_agg(concat_ws('|', f::text, f::float4::text, f::numeric::text, iv::text, "
      "ts::text, (ts::timestamptz)::text, d::text, (iv < '1 mon'::interval)::text), E'\\n' ORDER "
      "BY i) "
      "FROM (VALUES " +
      values + ") v(i, f, iv, ts, d)";
  std::vector<std::string> lines = Lines(Session().Scalar(sql));
  ASSERT_EQ(lines.size(), doubles.size());
  for (size_t i = 0; i < doubles.size(); ++i) {
    std::vector<std::string> f = Fields(lines[i]);
    std::string s, s4;
    AppendFloat8(doubles[i], &s);
    EXPECT_EQ(s, f[0]);
    AppendFloat4(static_cast<float>(doubles[i]), &s4);
    EXPECT_EQ(s4, f[1]);
    EXPECT_EQ(Decimal::FromDouble(doubles[i]).ToString(), f[2]);
    EXPECT_EQ(intervals[i], f[3]);
    EXPECT_EQ(timestamps[i], f[4]);
    Value tz = *Value::Parse(SqlType::kTimestampTz, f[5]);
    EXPECT_EQ(tz.ToString(), f[5]);
    EXPECT_EQ(dates[i], f[6]);
    Value iv = *Value::Parse(SqlType::kInterval, f[3]);
    bool less = Value::Compare(iv, *Value::Parse(SqlType::kInterval, "1 mon")) < 0;
    EXPECT_EQ(less ? "true" : "false", f[7]) << f[3];
  }
}

TEST(PgOracleTest, ErrorsMatchPostgres) {
  struct Case {
    const char* sql;
    Result<Value> ours;
  };
  Value n1 = *Value::Parse(SqlType::kNumeric, "1");
  Value n0 = *Value::Parse(SqlType::kNumeric, "0");
  std::vector<Case> cases = {
      {"SELECT 2147483647::int4 + 1", Value::Add(Value::Int4(INT32_MAX), Value::Int4(1))},
      {"SELECT (-2147483648)::int4 - 1", Value::Sub(Value::Int4(INT32_MIN), Value::Int4(1))},
      {"SELECT 65536::int4 * 65536", Value::Mul(Value::Int4(65536), Value::Int4(65536))},
      {"SELECT (-2147483648)::int4 / -1", Value::Div(Value::Int4(INT32_MIN), Value::Int4(-1))},
      {"SELECT 32767::int2 + 1::int2", Value::Add(Value::Int2(32767), Value::Int2(1))},
      {"SELECT 9223372036854775807::int8 + 1", Value::Add(Value::Int8(INT64_MAX), Value::Int8(1))},
      {"SELECT (-9223372036854775808)::int8 * -1",
       Value::Mul(Value::Int8(INT64_MIN), Value::Int8(-1))},
      {"SELECT 1 / 0", Value::Div(Value::Int4(1), Value::Int4(0))},
      {"SELECT 1 % 0", Value::Mod(Value::Int4(1), Value::Int4(0))},
      {"SELECT 1::numeric / 0", Value::Div(n1, n0)},
      {"SELECT 1::numeric % 0", Value::Mod(n1, n0)},
      {"SELECT 1::float8 / 0", Value::Div(Value::Float8(1), Value::Float8(0))},
      {"SELECT 1e308::float8 * 10", Value::Mul(Value::Float8(1e308), Value::Float8(10))},
      {"SELECT 1e-300::float8 * 1e-300", Value::Mul(Value::Float8(1e-300), Value::Float8(1e-300))},
  };
  for (const Case& c : cases) {
    std::string pg_message;
    try {
      Session().Scalar(c.sql);
    } catch (const test::PgError& e) {
      pg_message = e.what();
    }
    ASSERT_FALSE(c.ours.ok()) << c.sql;
    EXPECT_NE(pg_message.find(c.ours.status().message()), std::string::npos)
        << c.sql << ": PostgreSQL said " << pg_message << ", we said " << c.ours.status().message();
  }
  // And the ones that do not fail.
  EXPECT_EQ(Session().Scalar("SELECT (-2147483648)::int4 % -1"),
            Value::Mod(Value::Int4(INT32_MIN), Value::Int4(-1))->ToString());
  EXPECT_EQ(Session().Scalar("SELECT -7 / 2 || ',' || -7 % 2 || ',' || 7 % -2"), "-3,-1,1");
}

// --- date/time functions ---------------------------------------------------------------------

// Month ends, leap days, ISO-year edges (2021-01-03 is in 2020's week 53, 2008-12-29 in
// 2009's week 1), week boundaries, century and millennium edges, both epochs and the
// instants around them, the largest four-digit year, BC years (1 BC is year 0 inside) up to
// both ends of the timestamp range, and ±infinity.
const char* const kTimestamps[] = {
    "2021-01-03 10:15:30.123456",
    "2021-01-04 00:00:00",
    "2020-12-31 23:59:59.999999",
    "2020-02-29 12:00:00",
    "2019-02-28 23:59:59",
    "2000-01-01 00:00:00",
    "1999-12-31 23:59:59.5",
    "1970-01-01 00:00:00",
    "1969-12-31 23:59:59.999999",
    "1900-03-01 13:14:15.161718",
    "1600-02-29 06:00:00",
    "2008-12-29 00:00:00",
    "2010-01-03 23:00:00",
    "2026-03-05 08:09:10.5",
    "2001-01-01 00:00:00",
    "2000-12-31 23:59:59",
    "1000-01-01 00:00:00",
    "0001-01-01 00:00:00",
    "2100-03-01 00:00:00.000001",
    "2024-06-30 23:59:59.999",
    "2024-10-01 00:00:00",
    "1960-07-15 03:30:00.25",
    "2038-01-19 03:14:07",
    "9999-12-31 23:59:59.999999",
    "infinity",
    "-infinity",
    "2015-12-31 12:00:00",
    "2016-01-01 00:00:00",
    "2018-12-31 00:00:00",
    "1999-01-01 05:06:07.000008",
    "1901-12-13 20:45:52",
    "2012-02-29 23:59:59.999999",
    "0001-12-31 23:59:59 BC",
    "0011-01-01 00:00:00 BC",
    "0012-06-15 12:00:00 BC",
    "0101-01-01 00:00:00 BC",
    "1001-01-01 00:00:00 BC",
    "4714-11-24 00:00:00 BC",
    "4714-11-30 00:00:00.5 BC",
    "294276-12-31 23:59:59.999999",
};

// Mixed signs, zero, fractions of a second, more than 24 hours, the extremes of each field.
const char* const kIntervals[] = {
    "1 year 2 mons 3 days 04:05:06.789",
    "-1 years -2 mons -3 days -04:05:06.789",
    "1 year -1 mons",
    "-11 mons +40 days -00:00:00.5",
    "00:00:00",
    "1000:00:00",
    "29 days 23:59:59.999999",
    "1234 years 5 mons",
    "-1234 years -5 mons",
    "3 mons",
    "11 mons",
    "-00:00:00.000001",
    "100 years",
    "7 days",
    "1 day -00:00:01",
    "178956970 years 7 mons",
    "-178956970 years -8 mons",
    "2562047788:00:54.775807",
    "2147483647 days",
    "-2147483648 days -2562047788:00:54.775807",
    "01:00:00",
    "00:15:00",
    "-5 years +7 mons -00:00:59.999999",
};

// Every field PostgreSQL knows, abbreviations and case (as date_part's and the u column's
// units), and names that are no field or not one for every type.
const char* const kUnits[] = {
    "microseconds",
    "milliseconds",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "decade",
    "century",
    "millennium",
    "dow",
    "isodow",
    "doy",
    "isoyear",
    "epoch",
    "julian",
    "timezone",
    "timezone_hour",
    "timezone_minute",
    "us",
    "ms",
    "SECS",
    "Min",
    "h",
    "d",
    "w",
    "mon",
    "qtr",
    "y",
    "yrs",
    "decs",
    "c",
    "mils",
    "j",
    "mm",
    "m",
    "microsecondsxyz",
    "usecond",
    "msecond",
    "foo",
    "infinity",
    "now",
    "jan",
    "ago",
    "",
    "day ",
    "ad",
    "timezone_m",
};

// The table both sides evaluate over: ts, tz (the same instant), d (its date), iv, o (another
// row's timestamp, as an origin) and u (a unit name).
struct DateTimeTable {
  InputSchema schema{"dt",
                     "",
                     {{"id", SqlType::kInt4},
                      {"ts", SqlType::kTimestamp},
                      {"tz", SqlType::kTimestampTz},
                      {"d", SqlType::kDate},
                      {"iv", SqlType::kInterval},
                      {"o", SqlType::kTimestamp},
                      {"u", SqlType::kText}}};
  std::vector<std::vector<std::string>> texts;  // per row, in schema order
  std::vector<std::vector<Value>> rows;
};

const DateTimeTable& DateTimes() {
  static const DateTimeTable* table = [] {
    auto* t = new DateTimeTable;
    constexpr size_t kRows = std::size(kTimestamps);
    for (size_t i = 0; i < kRows; ++i) {
      std::string ts = kTimestamps[i];
      bool infinite = ts.find("infinity") != std::string::npos;
      bool bc = ts.ends_with(" BC");
      std::string local = bc ? ts.substr(0, ts.size() - 3) : ts;
      std::string tz = infinite ? ts : local + "+00" + (bc ? " BC" : "");
      std::string d = infinite ? ts : local.substr(0, local.find(' ')) + (bc ? " BC" : "");
      t->texts.push_back({std::to_string(i + 1), ts, tz, d, kIntervals[i % std::size(kIntervals)],
                          kTimestamps[(i * 7 + 3) % kRows], kUnits[i % std::size(kUnits)]});
    }
    std::string values;
    for (const auto& texts : t->texts) {
      std::vector<Value> row;
      for (size_t c = 0; c < texts.size(); ++c) {
        Result<Value> v = ParseInput(t->schema.columns[c].type, texts[c]);
        EXPECT_TRUE(v.ok()) << texts[c] << ": " << v.status().ToString();
        row.push_back(v.ok() ? *v : Value::Null(t->schema.columns[c].type));
      }
      t->rows.push_back(std::move(row));
      values += values.empty() ? "(" : ",(";
      for (size_t c = 0; c < texts.size(); ++c) values += (c ? ",'" : "'") + texts[c] + "'";
      values += ")";
    }
    Session().Exec(
        "CREATE TEMP TABLE dt (id int4, ts timestamp, tz timestamptz, d date, iv interval, "
        "o timestamp, u text); INSERT INTO dt VALUES " +
        values);
    // Each row's "type|value" (NULL as NULL), or "error: message" for that row alone: the
    // whole query first, row by row only when some row fails.
    Session().Exec(R"sql(
      CREATE FUNCTION pg_temp.dt_cells(expr text) RETURNS SETOF text LANGUAGE plpgsql AS $$
      DECLARE
        cells text[];
        cell text;
        row_id int4;
        one_row constant text := 'SELECT pg_typeof(x)::text || ''|'' || coalesce(x::text, '
            '''NULL'') FROM (SELECT (%s) AS x FROM dt WHERE id = $1) s';
      BEGIN
        BEGIN
          EXECUTE format('SELECT array_agg(pg_typeof(x)::text || ''|'' || '
                         'coalesce(x::text, ''NULL'') ORDER BY id) '
                         'FROM (SELECT id, (%s) AS x FROM dt) s', expr) INTO cells;
          RETURN QUERY SELECT unnest(cells);
          RETURN;
        EXCEPTION WHEN others THEN
          NULL;  -- some row fails: take them one by one
        END;
        FOR row_id IN SELECT id FROM dt ORDER BY id LOOP
          BEGIN
            EXECUTE format(one_row, expr) INTO cell USING row_id;
          EXCEPTION WHEN others THEN
            cell := 'error: ' || SQLERRM;
          END;
          RETURN NEXT cell;
        END LOOP;
      END $$)sql");
    return t;
  }();
  return *table;
}

std::vector<std::string> DateTimeCellsHere(const std::string& expr) {
  const DateTimeTable& table = DateTimes();
  std::string sql = "SELECT " + expr + " FROM dt";
  auto first_line = [](const std::string& m) { return "error: " + m.substr(0, m.find('\n')); };
  std::vector<std::string> cells;
  Result<SelectStatement> stmt = Parse(sql);
  Result<BoundExpr> bound =
      stmt.ok() ? Bind(std::get<Expr>(stmt->items[0].value), table.schema, sql, {"SELECT", false})
                : Result<BoundExpr>(stmt.status());
  for (const std::vector<Value>& row : table.rows) {
    if (!bound.ok()) {
      cells.push_back(first_line(bound.status().message()));
      continue;
    }
    Result<Value> v = Evaluate(*bound, row);
    if (!v.ok()) {
      cells.push_back(first_line(v.status().message()));
    } else {
      // PostgreSQL's cells are x::text, which spells a boolean out.
      std::string text = v->is_null()                  ? "NULL"
                         : v->type() == SqlType::kBool ? (v->bool_value() ? "true" : "false")
                                                       : v->ToString();
      cells.push_back(std::string(SqlTypeName(bound->type)) + "|" + text);
    }
  }
  return cells;
}

std::vector<std::string> DateTimeCellsInPostgres(const std::string& expr) {
  DateTimes();
  std::string quoted;
  for (char c : expr) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return Lines(
      Session().Scalar("SELECT string_agg(c, E'\\n') FROM pg_temp.dt_cells('" + quoted + "') c"));
}

std::vector<std::string> DateTimeCorpus() {
  std::vector<std::string> c;
  // Each unit, quoted as EXTRACT's string form takes it, on each source type.
  for (std::string unit : kUnits) {
    for (const char* source : {"ts", "tz", "d", "iv"}) {
      c.push_back("extract('" + unit + "' from " + source + ")");
      c.push_back("date_part('" + unit + "', " + source + ")");
      c.push_back("date_trunc('" + unit + "', " + source + ")");
    }
  }
  // EXTRACT's keyword form, a unit from a column, nesting and comparisons.
  const char* more[] = {
      "extract(epoch from ts)",
      "extract(DAY from tz)",
      "extract(isoyear from d)",
      "extract(year from iv)",
      "extract(second from ts) + extract(minute from ts) * 60",
      "date_part(u, ts)",
      "date_part(u, tz)",
      "date_part(u, d)",
      "date_part(u, iv)",
      "date_trunc(u, ts)",
      "date_trunc(u, tz)",
      "date_trunc(u, d)",
      "date_trunc(u, iv)",
      "date_trunc('month', date_trunc('week', ts))",
      "extract(epoch from date_trunc('day', tz))",
      "extract(day from date_trunc('quarter', iv))",
      "date_part('dow', date_trunc('week', d))",
      "date_trunc('day', ts) = date_trunc('day', o)",
      "date_trunc('year', ts) < ts",
      "date_trunc('hour', ts) = ts",
      "extract(year from ts) + 1",
      "date_part('year', ts) * 2",
      "extract(month from ts) IN (1, 2, 3)",
      "extract(week from d) BETWEEN 52 AND 53",
      "date_trunc('day', ts)::date = d",
      "CASE WHEN extract(isodow from d) > 5 THEN 'weekend' ELSE 'weekday' END",
      "date_trunc('DAY', ts)",
      "extract('Hour' from ts)",
      "date_part('EPOCH', d)",
      "pg_catalog.date_part('day', u)",
      "pg_catalog.date_trunc('day', ts)",
      // Resolution and its errors.
      "date_trunc('day', '2020-01-01 00:00:00')",
      "date_trunc(u, NULL)",
      "date_trunc(NULL, ts)",
      "date_trunc(NULL, iv)",
      "date_trunc(1, ts)",
      "date_trunc('day', u)",
      "date_trunc('day', id)",
      "date_trunc('day')",
      "extract(day from u)",
      "extract(day from id)",
      "extract(day from NULL)",
      "extract(day from '2020-01-01')",
      "date_part('day', NULL)",
      "date_part(1, ts)",
      "date_part(u, u)",
      "date_part('day', ts, ts)",
  };
  for (const char* e : more) c.push_back(e);
  // date_bin over strides that bin, and ones PostgreSQL refuses.
  // clang-format off
  const char* strides[] = {
      "00:15:00",        "01:00:00",        "1 day",        "7 days",
      "1 day 01:00:00",  "00:00:00.000001", "00:00:00.5",   "10 days 00:00:07",
      "1 day -01:00:00", "1 mon",           "1 year 1 day", "00:00:00",
      "-01:00:00",       "1 day -24:00:00",
      // Interval input as people write it.
      "15 minutes",      "1 hour",          "30 seconds",   "1 week",
      "1.5 days",        "PT15M",           "2 hours ago",  "0.5 weeks",
  };
  // clang-format on
  for (std::string s : strides) {
    c.push_back("date_bin('" + s + "', ts, '2001-01-01 00:00:00')");
    c.push_back("date_bin('" + s + "', tz, '2000-01-01 00:00:00+00')");
    c.push_back("date_bin('" + s + "', ts, o)");
    c.push_back("date_bin('" + s + "', d, '1999-12-31 12:00:00')");
    c.push_back("date_bin('" + s + "'::interval, o, ts)");
  }
  const char* bins[] = {
      "date_bin(iv, ts, '2000-01-01 00:00:00')",
      "date_bin(iv, tz, tz)",
      "date_bin('01:00:00', ts, 'infinity')",
      "date_bin('01:00:00', o, ts) <= o",
      "date_bin('01:00:00', d, ts)",
      "date_bin('01:00:00', ts, d)",
      "date_bin('01:00:00', d, d)",
      "date_bin('01:00:00', tz, ts)",
      "date_bin('01:00:00', ts, tz)",
      "date_bin('01:00:00', '2020-01-01 10:30:00', '2000-01-01 00:00:00')",
      "date_bin(NULL, ts, ts)",
      "date_bin('01:00:00', NULL, NULL)",
      "date_bin('01:00:00', ts, NULL)",
      "date_bin('01:00:00', ts)",
      "date_bin(1, ts, ts)",
      "date_bin(u, ts, ts)",
      "date_bin('01:00:00', iv, ts)",
      "date_bin('01:00:00', u, ts)",
      "date_trunc('hour', date_bin('00:15:00', ts, o))",
      // Interval literals through the binder.
      "interval '5 minutes'",
      "'15 minutes'::interval",
      "CAST('1 day 02:03:04' AS interval)",
      "interval '1.5 months' < iv",
      "date_bin('15 minutes', ts, timestamp '2001-01-01 00:00:00')",
      "date_bin(interval '1 hour 30 minutes', tz, timestamptz '2001-01-01 00:00:00+00')",
      "date_bin('P1D', d, timestamp '2000-01-01 00:00:00')",
      "date_trunc('hour', interval '3 days 4 hours 5 minutes')",
      "extract(minute from interval '1 hour 25 minutes ago')",
      "date_part('day', '1.5 months'::interval)",
      "interval '5 fortnights'",
      "interval '2147483648 days'",
      "date_bin('1 quarter', ts, timestamp '2001-01-01 00:00:00')",
  };
  for (const char* e : bins) c.push_back(e);
  return c;
}

TEST(PgOracleTest, DateTimeFunctionsMatchPostgres) {
  std::vector<std::string> corpus = DateTimeCorpus();
  size_t cells = 0, errors = 0, mismatches = 0;
  for (const std::string& expr : corpus) {
    std::vector<std::string> ours = DateTimeCellsHere(expr);
    std::vector<std::string> theirs = DateTimeCellsInPostgres(expr);
    ASSERT_EQ(ours.size(), theirs.size()) << expr;
    for (size_t i = 0; i < ours.size(); ++i) {
      ++cells;
      errors += theirs[i].rfind("error: ", 0) == 0;
      if (ours[i] == theirs[i]) continue;
      ++mismatches;
      EXPECT_EQ(ours[i], theirs[i])
          << expr << " on row " << i + 1 << " (" << DateTimes().texts[i][1] << ", "
          << DateTimes().texts[i][4] << ")";
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(corpus.size(), 700u);
  std::cout << corpus.size() << " date/time expressions over " << DateTimes().rows.size()
            << " rows: " << cells << " cells compared, " << errors << " of them errors\n";
}

// --- interval input ------------------------------------------------------------------------

// Interval literals as people write them and as PostgreSQL 15's interval_in reads them: each
// unit spelled out, in plural and abbreviated; fractions that spill into smaller fields;
// 'ago'; times; the SQL standard's year-month and day-time forms; ISO 8601 with designators
// and in the alternative format; the limits of each field; spaces, case and punctuation; and
// texts PostgreSQL refuses, with either of its messages.
// clang-format off
const char* const kIntervalLiterals[] = {
    // Units, singular, plural, abbreviated, and names that are no unit.
    "5 minutes", "15 minutes", "1 minute", "2 min", "2 mins", "2 m",
    "1 microsecond", "2 microseconds", "2 us", "2 usec", "2 usecs", "2 usecond", "2 useconds",
    "1 millisecond", "2 milliseconds", "2 ms", "2 msec", "2 msecs", "2 msecond", "2 mseconds",
    "1 second", "2 seconds", "2 s", "2 sec", "2 secs",
    "1 hour", "2 hours", "2 h", "2 hr", "2 hrs",
    "1 day", "2 days", "2 d",
    "1 week", "2 weeks", "2 w",
    "1 month", "2 months", "2 mon", "2 mons",
    "1 year", "2 years", "2 y", "2 yr", "2 yrs",
    "1 decade", "2 decades", "2 dec", "2 decs",
    "1 century", "2 centuries", "2 c", "2 cent",
    "1 millennium", "2 millennia", "2 mil", "2 mils",
    "2 microsecon", "2 millisecon", "1 microsecondsxyz", "1 millenniums", "1 centuryx",
    "2 mo", "2 yrss", "2 hou", "2 da", "2 wk", "2 mi", "2 millenium", "2 microsec", "2 milli",
    "1 quarter", "1 qtr", "1 timezone", "2 epoch", "1 fortnight",
    // Fractions: of months and weeks into days and time, of years into months.
    "1.5 months", "1.5 years", "0.5 weeks", "1.5 days", "0.1 years", "1.51 months",
    "-1.5 months", "0.333 years", "1.04 years", "1.05 years", "2.5 decades", "1.5 centuries",
    "0.001 millennium", "0.0001 millennium", "1.5 hours", "1.5 minutes", "1.5 seconds",
    "0.0000005 s", "0.0000015 s", "-0.0000015 s", "0.0000025 s", "1.9999999 us", "0.5 ms",
    "1.0000001 ms", "0.5 us", "0.51 us", "-0.5 us", "-0.51 us", "1.99999999999 days",
    "0.123456789 weeks", "1.5 weeks 1.5 days", "1.5 months 1.5 days", "-0.5 weeks",
    "0.99999999999999999999 months", "5. days", ". days", ".5 days", "-.5 days", "+.5 days",
    "1.5", ".5", "-1.5", "+1.5", "0.5 years 0.5 months", "1.5 days 01:00", "01:00 1.5 days",
    "3.7 years 1.5 mons", "1.5e3 days",
    // ago, anywhere and more than once.
    "1 day ago", "1 year 2 mons ago", "-1 day ago", "01:00 ago", "1 day ago ago", "1 ago day",
    "5 ago", "ago", "@ 1 hour ago", "1 day ago 2 hours", "1 year -2 mons +3 days -04:05 ago",
    "1.5 months ago", "1 Ago", "1 day AGO",
    // Times.
    "04:05", "04:05:06", "04:05:06.789", "5:30.5", "-04:05", "+04:05", "100:00", "1:60",
    "1:00:60", "1:00:61", "0:0:59.9999999", "75:30.5", "5:60.5", "5:61.5", "1:", "1::2",
    "1:.5", "1:2:3.", "1:2:.5", "1:2:3:4", "1:2.5:3", "04:05:06.1234565", "04:05:06.0000005",
    "-00:00:00.000001", "+1:2-3", "-1-2:30", "2147483648:00.5", "12:34:56.789012345",
    "2562047788:00:54.775807", "2562047788:00:54.775808", "-2562047788:00:54.775807",
    "-2562047788:00:54.775808", "99999999999999999999:00", "-99999999999999999999:00",
    "-2562047789:00", "01:00 02:00", "1 hour 01:00", "01:00 5 us", "1 day 01:00 ago",
    // Bare numbers: seconds.
    "5", "-5", "0", "00", "+0", "-0", "9223372036854", "9223372036855",
    "9223372036854775807", "99999999999999999999", "1 2", "1 day 2", "day 1",
    // Combined forms and repeated units.
    "1 day 02:03:04", "-1 day +02:03", "1 day -02:03", "-1 days -02:03:04.5",
    "1 year 2 months 3 days 4 hours 5 minutes 6 seconds", "1 day 1 day", "1 day 1 week",
    "1 year 1 decade 1 century 1 millennium", "1 second 500 ms", "1.5 seconds 500 ms",
    "1 second 500 ms 20 us", "1 hour 30 minutes", "30 minutes 1 hour", "1 day hour",
    "quarter 1 day", "1 day qtr", "qtr 1 qtr", "1 hour 2 hours",
    "3 mons -2 days +01:00:00", "-3 mons +2 days -01:00:00",
    // The SQL standard's year-month and day-time forms.
    "1-2", "-1-2", "+1-2", "1-2 3 4:05:06", "3 4:05:06", "-3 4:05:06", "3 -4:05:06",
    "1-11", "1-12", "1-13", "1--2", "1-", "1- ", "1--", "0-0", "-0-2", "178956970-7",
    "178956970-8", "-178956970-8", "-178956970-9", "1-2-3", "1-13-3", "1/2", "1-2 days",
    "3 4", "3 4 hours", "5 1-2", "1-2 1 year", "1 year 1-2", "1-2 3 mons", "1-99999999999",
    "99999999999999999999-1",
    // ISO 8601: designators, the alternative format, and what it refuses.
    "P1Y2M3DT4H5M6S", "PT15M", "P0.5D", "P1D", "P1W", "P1.5W", "P1.5M", "P1.5Y", "P-1.5Y",
    "PT1.5H", "PT-1.5H", "PT.5S", "P.5D", "P1Y-2M", "P1M1M", "PT1M1M", "P1DT", "PTT1H", "PT",
    "P", "P1", "P1D2", "PT1H2", "P1Y2", "PT1H2M3", "P1DT1H1D", "P1D T1H", " P1D", "P1D ",
    "p1d", "pt15m", "P+1D", "P1e20D", "P1e-400D", "P1e3D", "P-inf", "P0x10D", "P2T1H",
    "P0001-02-03T04:05:06", "P00010203T040506", "P0001-02", "P0001-02-03", "P0001-02-03T04",
    "P0001-02-03T04:05", "P0001T04:05", "P20010203T1H", "P1YT", "PT010203", "PT010203.5",
    "PT01:02:03", "PT01:02", "P-00010203", "P0001-02-03T04:05:06.5", "P0001-02-03-04",
    "P1Y2M3DT4H5M6.789S", "P2147483648D", "P2147483647D", "P178956970Y7M", "P178956970Y8M",
    "PT2562047788H", "PT2562047789H", "P1000000000000000D", "P1000000000000001D", "P1X",
    "PT1D", "P1H", "P1Y2M3DT4H5M6S ago", "P-1Y-2M-3DT-4H-5M-6S", "P1.5Y1.5M1.5D",
    // The limits of each field.
    "2147483647 days", "2147483648 days", "-2147483648 days", "-2147483649 days",
    "2147483647 mons", "2147483648 mons", "-2147483648 mons", "178956970 years 7 mons",
    "178956970 years 8 mons", "-178956970 years -8 mons", "-178956970 years -9 mons",
    "178956971 years", "2147483647 years", "2147483648 years", "214748364 decades",
    "214748365 decades", "21474836 centuries", "21474837 centuries", "2147483 millennium",
    "2147484 millennium", "9223372036854775807 us", "9223372036854775808 us",
    "-9223372036854775808 us", "-9223372036854775809 us", "9223372036854775 ms",
    "9223372036855 s", "153722867280 min", "153722867281 min", "2562047788 hours",
    "2562047789 hours", "306783378 weeks", "306783379 weeks", "-2147483648 days ago",
    "-9223372036854775808 us ago", "-178956970 years -8 mons ago", "2147483647 mons 1 year",
    "1 year 2147483647 mons", "2147483647 days 0.5 weeks", "2147483647 days 12:00",
    "2147483647 days 1.5 days", "-2147483648 days -2562047788:00:54.775807",
    "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807",
    "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775807",
    "0.5 2147483647 days", "2562047788 hours 0.999999 minutes",
    // Spaces, case and punctuation.
    "  1 day  ", "\t1\tday\n", "1\r\nday", "1\vday\f", "1DAY", "1 Day", "1 DAYS", "1 dAy",
    "1day", "1d2h", "1h30m", "1w2d", "1mon2d", "1d+02:00", "1 day+02:00", "1 day-02:00",
    "1y2m", "1s", "- 5 days", "+ 5", "-  04:05", "1 day, 2 hours", "1 day,2 hours",
    "(1 day)", "[1 day]", "1 day;", "1 day.", "@1 day", "@ 1 day", "1 @ day", "1,5 days",
    "1_day", "1 day !", "1 HOUR 2 MINUTES", "1 Year 2 Mons",
    // Texts that are no interval.
    "", " ", "day", "days ago", "infinity", "-infinity", "+infinity", "epoch", "now", "abc",
    "1 abc", "1 day abc", "+days", "-ago", "1e5", "1e5 days", "1 \xc3\xa9", "\xc3\xa9",
    "jan99999999999999999999 days", "x99999999999999999999 days", "1.2.3", "1.5.5 days",
    "1 day 2 days 3", "--1 day", "+-1 day", "1 +", "1 -", "1:2:3 4:5:6",
};
// clang-format on

// More of them, made at random: mostly "number unit" pairs (numbers of every size, sign
// and fraction, units in any spelling and order) with a time, 'ago' or the SQL standard's
// forms among them, and some of random pieces, most of which PostgreSQL refuses.
std::vector<std::string> RandomIntervalLiterals(size_t n) {
  static const char* const kNumbers[] = {
      "1",    "-2",         "+3",          "0",    "1.5", "-0.25",  ".5",        "12",
      "100",  "2147483647", "-2147483648", "59",   "60",  "1e3",    "0.000001",  "-1.999999999",
      "7.25", "999999999",  "-0.5",        "4000", "13",  "0.0005", "178956970", "-123456789.987"};
  static const char* const kUnits[] = {
      "year",    "years",   "y",          "mon",   "months", "week", "w",       "day",
      "days",    "d",       "hour",       "h",     "hrs",    "min",  "minutes", "m",
      "s",       "seconds", "ms",         "msecs", "us",     "usec", "decade",  "decs",
      "century", "c",       "millennium", "mils",  "YEAR",   "Day",  "HOURS",   "qtr"};
  static const char* const kPieces[] = {
      "4:05", "-04:05:06.5", "+1:30", "0:0:1.25", "1-2",    "-3-11",  "ago",  "@",
      ",",    "P1D",         "T",     "100:00",   "1:2:3.", "5:30.5", "-0-6", "+10-0"};
  std::mt19937_64 rng(18);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s;
    size_t parts = 1 + rng() % 4;
    for (size_t p = 0; p < parts; ++p) {
      if (p > 0) s += rng() % 10 == 0 ? "" : " ";
      if (rng() % 4 != 0) {
        s += std::string(kNumbers[rng() % std::size(kNumbers)]) + (rng() % 6 == 0 ? "" : " ") +
             kUnits[rng() % std::size(kUnits)];
      } else {
        s += kPieces[rng() % std::size(kPieces)];
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The field and buffer limits of PostgreSQL's field splitter: 25 fields, and 255 characters
// with one terminator per field.
std::vector<std::string> LongIntervalLiterals() {
  std::vector<std::string> out;
  for (size_t n : {254, 255, 256, 300}) out.push_back(std::string(n - 1, '0') + "1");
  for (size_t n : {252, 253, 254}) out.push_back(std::string(n - 1, '0') + "1 d");
  out.push_back("+" + std::string(253, '0') + "1");
  out.push_back(std::string(254, '0') + "1-");
  for (int n : {23, 24}) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "qtr ";
    out.push_back(s + "1 day");
    out.push_back(s + "1 day ");
    out.push_back(s + "1 day,");
  }
  out.push_back("1 day" + std::string(300, ' '));
  out.push_back("P" + std::string(300, '1') + "D");
  return out;
}

// Each literal's text output, or "error: " and the message.
std::string OurIntervalCell(const std::string& literal) {
  Result<Interval> r = ParseIntervalInput(literal);
  if (!r.ok()) return "error: " + r.status().message();
  std::string s;
  AppendInterval(*r, &s);
  return s;
}

std::vector<std::string> PostgresIntervalCells(const std::vector<std::string>& literals) {
  Session().Exec(R"sql(
    CREATE OR REPLACE FUNCTION pg_temp.interval_cells(texts text[]) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
    DECLARE
      t text;
      cell text;
    BEGIN
      FOREACH t IN ARRAY texts LOOP
        BEGIN
          cell := t::interval::text;
        EXCEPTION WHEN others THEN
          cell := 'error: ' || SQLERRM;
        END;
        RETURN NEXT cell;
      END LOOP;
    END $$)sql");
  std::string array = "ARRAY[";
  for (size_t i = 0; i < literals.size(); ++i) {
    array += i ? ",'" : "'";
    for (char c : literals[i]) array += c == '\'' ? std::string("''") : std::string(1, c);
    array += "'";
  }
  array += "]::text[]";
  std::vector<std::string> cells;
  for (const auto& row : Session().Query("SELECT c FROM pg_temp.interval_cells(" + array + ") c")) {
    cells.push_back(row[0].value_or("NULL"));
  }
  return cells;
}

TEST(PgOracleTest, IntervalInputMatchesPostgres) {
  std::vector<std::string> literals(std::begin(kIntervalLiterals), std::end(kIntervalLiterals));
  size_t listed = literals.size();
  for (const char* s : kIntervals) literals.push_back(s);  // PostgreSQL's own output
  for (std::string& s : LongIntervalLiterals()) literals.push_back(std::move(s));
  for (std::string& s : RandomIntervalLiterals(2000)) literals.push_back(std::move(s));
  std::vector<std::string> theirs = PostgresIntervalCells(literals);
  ASSERT_EQ(theirs.size(), literals.size());
  size_t errors = 0, mismatches = 0;
  for (size_t i = 0; i < literals.size(); ++i) {
    errors += theirs[i].rfind("error: ", 0) == 0;
    std::string ours = OurIntervalCell(literals[i]);
    if (ours == theirs[i]) continue;
    ++mismatches;
    EXPECT_EQ(ours, theirs[i]) << "'" << literals[i] << "'::interval";
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(listed, 300u);
  std::cout << literals.size() << " interval literals (" << listed << " listed): " << errors
            << " of them errors in PostgreSQL\n";
}

// --- date, timestamp and timestamptz input ---------------------------------------------------

// Date/time literals as people write them and as PostgreSQL 15's date_in, timestamp_in and
// timestamptz_in read them (DateStyle ISO, so MDY for ambiguous numeric dates; TimeZone UTC):
// ISO dates with and without a time, 'T', fractions of a second rounded beyond 6 digits, zone
// offsets, special values, BC, month names in every order, dates with '/' and '.', run-together
// digits, Julian days, ISO 8601's labels, and the limits of each field and of each type. Each
// literal is read as all three types.
// clang-format off
const char* const kDateTimeLiterals[] = {
    // ISO dates, valid and not.
    "2001-01-01", "2026-03-01", "1999-12-31", "2000-02-29", "2001-02-29", "2001-02-31",
    "2001-04-31", "2001-04-30", "2001-13-01", "2001-00-10", "2001-01-00", "2001-01-32",
    "0001-01-01", "0000-01-01", "10000-01-01", "1900-02-29", "2100-02-29", "1600-02-29",
    "2001-1-1", "2001-01-1", "01-01-2001", "1-1-1", "001-01-01", "99999-01-01", "2001--01-01",
    "2001-01-", "2001-01--", "2001-01-01-", "2001-01", "2001", "-2001-01-01", "+2001-01-01",
    "2001_01_01", "2001,01,01", "2001 - 01 - 01", "2001-01-01x", "x2001-01-01", "2001-jan05",
    "2001-jan15", "2001-01-01 2001-01-02", "2001-01-01 01-02",
    // With a time; 'T'; fractions of a second.
    "2001-01-01 10:00", "2001-01-01 10:00:00", "2001-01-01 1:2:3", "2001-01-01 01:02:03",
    "2001-01-01T10:00", "2001-01-01T10:00:00", "2026-03-01T10:00:00Z", "2026-03-01t10:00:00z",
    "2026-03-01T10:00:00.123Z", "2001-01-01T", "2001-01-01 T10:00", "2001-01-01T 10:00",
    "T10:00", "2001-01T10:00", "2001-01-01TT10:00", "2001-01-01T10:00T", "10:00",
    "10:00 2001-01-01", "2001-01-01 10:00:00 10:00:00", "2001-01-01 10:00:60",
    "2001-01-01 23:59:60", "2001-01-01 23:59:60.5", "2001-01-01 23:59:59.9999999",
    "2001-01-01 24:00:00", "2001-01-01 24:00", "2001-01-01 24:00:01", "2001-01-01 24:00:00.000001",
    "2001-01-01 25:00", "2001-01-01 10:60", "2001-01-01 10:59:61", "2001-01-01 10:",
    "2001-01-01 10::", "2001-01-01 10:00:", "2001-01-01 10:00:00.", "2001-01-01 10:00:00.5",
    "2001-01-01 10:00:00.123456", "2001-01-01 10:00:00.1234564", "2001-01-01 10:00:00.1234565",
    "2001-01-01 10:00:00.1234575", "2001-01-01 10:00:00.9999995", "2001-01-01 10:00:00.9999994",
    "2001-01-01 10:00:00.0000005", "2001-01-01 10:00:00.0000015", "2001-01-01 10:00:00.00000051",
    "2001-01-01 10:00:00.000000000000000000001", "2001-01-01 10:00:00.1.2",
    "2001-01-01 10:00:00.123456789012345678901234567890", "2001-01-01 5:30.5",
    "2001-01-01 10:00:00:00", "2001-01-01 10.5", "2001-01-01 10.30", "2001-01-01 .5",
    "2001-01-01 99999999999:00", "2001-01-01 10:99999999999", "2001-01-01 0:0",
    "2001-01-01 00:00:00.000000", "2001-01-01 10:00:00 .5",
    // AM and PM.
    "2001-01-01 10:00 pm", "2001-01-01 10:00 PM", "2001-01-01 12:00 am", "2001-01-01 12:00 pm",
    "2001-01-01 12:30 AM", "2001-01-01 13:00 pm", "2001-01-01 0:00 pm", "2001-01-01 10:00pm",
    "2001-01-01 pm", "2001-01-01 10:00 am pm", "2001-01-01 10 pm", "2001-01-01 1010 pm",
    "2001-01-01 11:59:60 pm", "pm 2001-01-01 10:00",
    // Zone offsets, abbreviations of UTC, and 'dst'.
    "2001-01-01 10:00+02", "2001-01-01 10:00 +02", "2001-01-01 10:00+05:30", "2001-01-01 10:00-0800",
    "2001-01-01 10:00-08", "2001-01-01 10:00+5", "2001-01-01 10:00-8:00", "2001-01-01 10:00+0530",
    "2001-01-01 10:00+530", "2001-01-01 10:00+05:30:15", "2001-01-01 10:00+15", "2001-01-01 10:00+16",
    "2001-01-01 10:00+15:59", "2001-01-01 10:00+15:60", "2001-01-01 10:00-14:59:59",
    "2001-01-01 10:00+05:60", "2001-01-01 10:00+05:30:60", "2001-01-01 10:00 Z", "2001-01-01 10:00Z",
    "2001-01-01 10:00 UTC", "2001-01-01 10:00 utc", "2001-01-01 10:00 GMT", "2001-01-01 10:00 UT",
    "2001-01-01 10:00 zulu", "2001-01-01 10:00 UCT", "2001-01-01 10:00+00", "2001-01-01 10:00-00",
    "2001-01-01 10:00+02 +03", "2001-01-01 10:00 Z UTC", "2001-01-01 10:00+2:",
    "2001-01-01 10:00+02:3", "2001-01-01 10:00+123456", "2001-01-01 10:00+12345",
    "2001-01-01 10:00+05.5", "2001-01-01 10:00+05-30", "2001-01-01 10:00 -05-07",
    "2001-01-01 10:00 + 02", "2001-01-01 10:00 +", "2001-01-01 10:00+99999999999",
    "2001-01-01 10:00 utc dst", "2001-01-01 10:00 gmt dst", "2001-01-01 10:00 dst",
    "2001-01-01 10:00+02 dst", "2001-01-01 10:00 dst utc", "2001-01-01 10:00 dst dst",
    "+02 2001-01-01 10:00", "Z 2001-01-01", "2001-01-01+02", "2001-01-01 +02 10:00",
    "2001-01-01 00:00:00+01", "2001-01-01 00:00:00-01", "2001-01-01 23:30-01",
    // Zones by name that are UTC or a fixed offset, and names no tz database has.
    "2001-01-01 10:00 Etc/UTC", "2001-01-01 10:00 etc/utc", "2001-01-01 10:00 Etc/GMT+5",
    "2001-01-01 10:00 Etc/GMT-14", "2001-01-01 10:00 Etc/GMT+13", "2001-01-01 10:00 Etc/GMT-15",
    "2001-01-01 10:00 Etc/GMT+0", "2001-01-01 10:00 Universal", "2001-01-01 10:00 Greenwich",
    "2001-01-01 10:00 GMT0", "2001-01-01 10:00 GMT+0", "2001-01-01 10:00 GMT-0",
    "2001-01-01 10:00 Etc/Zulu", "2001-01-01 10:00 Etc/UTC dst", "2001-01-01 10:00 Etc/UTC+02",
    "2001-01-01 10:00 Foo/Bar", "2001-01-01 10:00 Europe/Nowhere", "2001-01-01 10:00 foo",
    "2001-01-01 10:00 nowhere", "Europe/Warsaw 2001-01-01", "2001-01-01 10:00 Etc/GMT+05",
    "Jan 5 Etc/UTC 2026", "2001-01-01 10:00 Etc//UTC", "2001-01-01 10:00 Etc/../UTC",
    // Special values.
    "epoch", "EPOCH", " epoch ", "infinity", "-infinity", "+infinity", "Infinity", "INFINITY",
    "-Infinity", " infinity ", "- infinity", "infinity infinity", "epoch infinity", "epoch 10:00",
    "epoch 2001-01-01", "infinity 2001-01-01", "2001-01-01 infinity", "10:00 infinity",
    "infinity 10:00", "epoch +02", "epoch utc", "epoch bc", "epoch Jan 5", "epoch Feb 30",
    "epoch Feb 31 2001", "epoch 25:00", "epoch pm", "infinity pm", "allballs",
    "2001-01-01 allballs", "2001-01-01 allballs utc", "2001-01-01 allballs 10:00", "infinityx",
    "epochs", "-epoch",
    // Month names.
    "Jan 5 2026", "January 5 2026", "January 5, 2026", "5 January 2026", "5 Jan 2026",
    "2026-Jan-05", "05-Jan-2026", "Jan-05-2026", "2026 Jan 05", "2026 05 Jan", "Jan 05 2026 10:00",
    "5 jan 26", "jan 5 26", "26 jan 5", "Jan. 5, 2026", "Sept 1 2026", "sep 1 2026",
    "Septembre 1 2026", "Janu 5 2026", "Jan Feb 2026", "Jan 32 2026", "Feb 29 2024",
    "Feb 29 2023", "Jan 5", "Jan 2026", "5 Jan", "Jan 5 10:00 2026", "Mon Jan 5 2026",
    "Monday, January 5, 2026", "Tue Jan 6 2026 10:00:00 UTC", "Sun Mon Jan 5 2026",
    "Wed Dec 17 07:37:16 1997", "Wed Dec 17 07:37:16 1997 GMT", "Jan 5 2026 BC", "2026-Jan-05 BC",
    "May 5 2026", "may 5 2026", "MAY 5 2026", "5 5 May", "January 2026 5", "2026 5 January",
    "Jan 5 101010 2026", "Jan 5 2026 101010", "5 13 January 2026", "13 January 2026",
    "32 January 2026", "1 2 January 2026", "january-5-2026", "jan/5/2026", "jan.5.2026",
    "2026-january-05", "2026-05-jan", "2026-jan-may", "99-Jan-08", "08-Jan-99", "Jan-08-99",
    "99 Jan 08", "08 Jan 99", "Jan 08 99", "1999 08 Jan", "2026 Jan 5 Jan", "on Jan 5 2026 at 10:00",
    "Jan 5 2026 at", "at", "on", "Jan at 5 2026", "jan-at-5",
    // Dates with '/' and '.' (MDY), and numbers separated by spaces.
    "03/04/2026", "3/4/2026", "03/04/26", "3/4/26", "12/31/1999", "31/12/1999", "13/01/2026",
    "01/13/2026", "2026/03/04", "2026/3/4", "03/04/2026 10:00", "03/04", "3/4/5", "99/12/31",
    "1/1/70", "1/1/69", "1/1/0", "1/1/00", "1/1/100", "03-04-2026", "03.04.2026", "2026.03.04",
    "2026.063", "1999.008", "2026.366", "2024.366", "2026.367", "2026.000", "2026.1", "3/4/-5",
    "12/17/1997 07:37:16.00", "17.12.1997 07:37:16.00", "2026 03 01", "2026 3 1", "1 3 2026",
    "3 1 26", "26 3 1", "03 04 2026 10:00", "3 4", "2026.03", "2026..03..04", "2026/03/04/05",
    "1/2/3/4", "02/29/2023", "02/29/2024", "0/1/2026", "1/0/2026",
    // Run-together digits: yyyymmdd, yymmdd, hhmmss, hhmm.
    "20260301", "260301", "990108", "20260301 101010", "20260301 1010", "20260301101010",
    "2026030", "202603", "20261301", "20260230", "19990108 040506", "19990108 040506.789",
    "20260301T101010Z", "20260301T101010", "20260301T1010", "20260301T101010.5", "20260301T10",
    "2026-03-01T101010-05", "2026-03-01T101010+05", "2026-03-01T101010-05:30",
    "20260301T101010-0530", "101010 20260301", "20260301 250000", "20260301 240000",
    "20260301 106060", "20260301 10101", "20260301 1010101", "20260301 10.5", "20260301 101010.",
    "1999.008 101010", "00000101", "000101", "99991231", "123456789", "1234567",
    "20260301 101010 101010", "20260301 2026", "2026 20260301",
    // Julian days, ISO 8601's labels, noise words.
    "J2451187", "j2451187", "J 2451187", "J2451187.5", "J2451187.25 10:00", "J2451187 10:00",
    "J0", "J-1", "julian 2451187", "jd 2451187", "J2451187-05", "J2451187+05", "J",
    "J2147483647", "J5373484", "J5373483.99999999999", "J2451187.", "J 2451187 2451188",
    "y2001m02d04", "y2001 m02 d04", "y2001m02d04h10mm30s15", "y2001m02d04 t101010",
    "y2001m02d04h10m30", "2001-02-04 h 10", "y", "2001-01-01 y", "y y 2001",
    "dow 5", "2001-01-01 dow 5", "y2001m02d04s15.5", "y2001m02d04s15.5h1", "y2001.5m02d04",
    "y2001m13d04", "2001-02-04 mm 5", "2001-02-04 s 61", "on 2001-01-01 at 10:00",
    "2001-01-01 at", "2001-01-01 on on at",
    // BC, AD and the ends of each type.
    "2001-01-01 AD", "2001-01-01 BC", "2001-01-01 BC BC", "2001-01-01 AD BC", "0044-03-15 BC",
    "0001-01-01 BC", "0000-01-01 BC", "44-03-15 BC", "BC 2001-01-01", "2001-01-01 10:00 BC",
    "2001-01-01 10:00:00+02 BC", "0001-02-29 BC", "0005-02-29 BC", "0004-02-29 BC",
    "4714-11-24 BC", "4714-11-23 BC", "4714-11-01 BC", "4714-10-31 BC", "4715-01-01 BC",
    "4713-01-01 BC", "4714-11-24 00:00:00+01 BC", "4714-11-24 00:00:00-01 BC",
    "4714-11-23 23:00:00-01 BC", "294276-12-31", "294277-01-01", "294276-12-31 23:59:59.999999",
    "294276-12-31 23:59:59.9999995", "294276-12-31 24:00:00", "294276-12-31 23:59:59+01",
    "294276-12-31 23:59:59-01", "294277-01-01 00:30+01", "5874897-12-31", "5874898-01-01",
    "5874898-05-31", "5874898-06-01", "2147483647-01-01", "2147483648-01-01",
    "99999999999-01-01", "2001-99999999999-01",
    // Spaces, case, punctuation, and texts that are no date.
    "", " ", "  2001-01-01  ", "\t2001-01-01\n", "2001-01-01\r", "\v2001-01-01\f",
    "2001-01-01 foo", "foo", "2001-01-01 10:00 ++", "2001-01-01 é", "é", "2001-01-01 (10:00)",
    "[2001-01-01]", "2001-01-01;", "2001-01-01,10:00", "2001-01-01 , 10:00", "'2001-01-01'",
    "2001-01-01 10:00:00 junk", "NaN", "null", "1", "12", "123", "1234", "12345",
    "2001-01-01 1", "2001-01-01 12", "2001-01-01 123", "2001-01-01 12345",
    // More of the forms the manual lists, and their neighbours.
    "1999-01-08 04:05:06", "1999-01-08 04:05:06 -8:00", "January 8 04:05:06 1999",
    "1999-01-08 04:05:06.789-8", "04:05:06 1999-01-08", "12:00:00 Jan 5 2026",
    "10:00 Jan 5 2026 utc", "Jan 5 2026 12:00:00 am", "Jan 5 2026 12:00:00.5 pm",
    "2026-03-01 10:00:00 +02:00", "2026-03-01 10:00:00 -02:00", "2026-03-01 10:00:00+14",
    "2026-03-01 10:00:00-12", "2026-03-01 10:00:00.5+01", "2026-03-01 10:00:00+01:30 BC",
    "2026-03-01T10:00:00+0100", "2026-03-01 10:00:00 Z", "2026-02-28T24:00:00",
    "2024-02-29T23:59:60", "2026-03-01 10:00 +02 BC", "2026-03-01 10:00 bc ad",
    "2026.060 10:00", "26.060", "94-12-31", "1994-12-31", "6/7/8", "06/07/08 10:00",
    "040506", "04:05 PM", "1999-01-08 040506", "1999-01-08 0405", "1999-01-08 04:05:06.",
    "Jan 8 1999", "8 Jan 1999", "1999 Jan 8", "Jan-8-1999", "8-Jan-1999", "1999-Jan-8",
    "19990108", "990108", "1999.008", "J2451187 04:05", "January 8, 99 BC", "Jan 8 99 bc",
    "0099-01-08 BC", "1/8/1999", "1/18/1999", "01/02/03", "18/1/1999",
};
// clang-format on

// Literals that PostgreSQL reads with the server's time zone database or its zone
// abbreviations: walflow reads them as a timestamp or date (ignoring the zone, as PostgreSQL
// does), but refuses them as timestamptz.
// clang-format off
const char* const kZoneNamedLiterals[] = {
    "2001-01-01 10:00 Europe/Warsaw", "2001-01-01 10:00 europe/warsaw",
    "2001-01-01 10:00 America/New_York", "2001-01-01 10:00 Japan", "2001-01-01 10:00 EST",
    "2001-01-01 10:00 PST", "2001-01-01 10:00 CET", "2001-01-01 10:00 MSK",
    "Jan 5 2026 10:00 Asia/Kolkata", "2001-01-01 10:00 EST dst", "2001-01-01 10:00 Europe/Warsaw BC",
};
// clang-format on

// More, made at random from pieces: dates in each form, times, zones, modifiers, and some
// noise.
std::vector<std::string> RandomDateTimeLiterals(size_t n) {
  static const char* const kDates[] = {
      "2026-03-01", "2024-02-29",  "2023-02-29",     "1999-12-31",  "0001-01-01",  "03/04/2026",
      "3/4/26",     "Jan 5 2026",  "5 January 2026", "2026-Jan-05", "20260301",    "260301",
      "1999.008",   "2026.366",    "Feb 30 2026",    "12/31/99",    "13/01/2026",  "294276-12-31",
      "4714-11-24", "10000-06-15", "Dec 31, 1999",   "31 Dec 1999", "1999-Dec-31", "y2026m03d01"};
  static const char* const kTimes[] = {"10:00",
                                       "10:00:00",
                                       "23:59:59.999999",
                                       "23:59:59.9999995",
                                       "00:00:00.5",
                                       "24:00:00",
                                       "12:00",
                                       "1:2:3",
                                       "101010",
                                       "1010",
                                       "T10:00:00",
                                       "T101010",
                                       "10:00:00.1234565",
                                       "25:00",
                                       "12:60",
                                       "5:30.5",
                                       "00:00",
                                       "23:59:60",
                                       "t23:59:59.9999999",
                                       "h 10 mm 30"};
  static const char* const kZones[] = {"Z",      "UTC",     "+02",       "-05:30", "+0530", "-08",
                                       "+15",    "+16",     "-14:59:59", "GMT",    "zulu",  "+5",
                                       "+05:60", "utc dst", "Etc/GMT-3", "+1:30",  "-0000"};
  static const char* const kExtras[] = {"BC",       "AD",    "am",  "pm", "Mon",  "at",
                                        "allballs", "epoch", "foo", "5",  "2026", ","};
  std::mt19937_64 rng(19);
  auto pick = [&](auto& list) { return std::string(list[rng() % std::size(list)]); };
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s = pick(kDates);
    if (rng() % 4 != 0) s += (rng() % 3 == 0 ? "T" : " ") + pick(kTimes);
    if (rng() % 2 == 0) s += (rng() % 3 == 0 ? "" : " ") + pick(kZones);
    if (rng() % 4 == 0) s += " " + pick(kExtras);
    if (rng() % 8 == 0) s = pick(kExtras) + " " + s;
    // The T form needs digits on both sides.
    size_t t = s.find(" T");
    if (t != std::string::npos && rng() % 2 == 0) s.erase(t, 1);
    out.push_back(std::move(s));
  }
  return out;
}

// Random soup of the pieces date/time input is made of, most of it refused: it exercises the
// field splitter and which of PostgreSQL's errors each mistake gives.
std::vector<std::string> RandomDateTimeNoise(size_t n) {
  static const char* const kPieces[] = {
      "1",           "12", "123", "2026", "20260301", "05",       "31",       ":",     "-",
      "/",           ".",  " ",   " ",    "T",        "t",        "+",        ",",     "jan",
      "bc",          "am", "z",   "utc",  "epoch",    "j",        "y",        "m",     "d",
      "h",           "s",  "at",  "x",    "dst",      "allballs", "infinity", "05:30", "10:00:00.5",
      "99999999999", "0",  "mon", "may",  "etc/utc",  "_"};
  std::mt19937_64 rng(20);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s;
    size_t parts = 1 + rng() % 8;
    for (size_t p = 0; p < parts; ++p) s += kPieces[rng() % std::size(kPieces)];
    out.push_back(std::move(s));
  }
  return out;
}

// The limits of the field splitter's work buffer: 129 bytes for date_in, 153 for
// timestamp_in and timestamptz_in, with one terminator per field.
std::vector<std::string> LongDateTimeLiterals() {
  std::vector<std::string> out;
  for (size_t n : {125, 126, 127, 128, 129, 130, 148, 149, 150, 151, 152, 153, 154, 200}) {
    out.push_back(std::string(n - 6, '0') + "1-1-1");         // one field of n - 1 bytes
    out.push_back(std::string(n - 12, '0') + "1-1-1 10:00");  // two fields
  }
  return out;
}

// A literal read as `type`: its text output, or "error: " and the message.
std::string OurDateTimeCell(SqlType type, const std::string& literal) {
  Result<Value> r = Value::Parse(type, literal);
  return r.ok() ? r->ToString() : "error: " + r.status().message();
}

// For each literal: its date, timestamp and timestamptz cells.
std::vector<std::string> PostgresDateTimeCells(const std::vector<std::string>& literals) {
  Session().Exec(R"sql(
    CREATE OR REPLACE FUNCTION pg_temp.datetime_cells(texts text[]) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
    DECLARE
      t text;
      ty text;
      cell text;
    BEGIN
      FOREACH t IN ARRAY texts LOOP
        FOREACH ty IN ARRAY ARRAY['date', 'timestamp', 'timestamptz'] LOOP
          BEGIN
            EXECUTE format('SELECT %L::%s::text', t, ty) INTO cell;
          EXCEPTION WHEN others THEN
            cell := 'error: ' || SQLERRM;
          END;
          RETURN NEXT cell;
        END LOOP;
      END LOOP;
    END $$)sql");
  std::string array = "ARRAY[";
  for (size_t i = 0; i < literals.size(); ++i) {
    array += i ? ",'" : "'";
    for (char c : literals[i]) array += c == '\'' ? std::string("''") : std::string(1, c);
    array += "'";
  }
  array += "]::text[]";
  std::vector<std::string> cells;
  for (const auto& row : Session().Query("SELECT c FROM pg_temp.datetime_cells(" + array + ") c")) {
    cells.push_back(row[0].value_or("NULL"));
  }
  return cells;
}

constexpr SqlType kDateTimeTypes[] = {SqlType::kDate, SqlType::kTimestamp, SqlType::kTimestampTz};

// walflow's two refusals of literals PostgreSQL reads: the current time, and zones it does
// not compute.
bool IsDateTimeRefusal(const std::string& cell) {
  return cell.find("is not supported: it depends on the current time") != std::string::npos ||
         cell.find("not supported yet") != std::string::npos;
}

TEST(PgOracleTest, DateTimeInputMatchesPostgres) {
  std::vector<std::string> literals(std::begin(kDateTimeLiterals), std::end(kDateTimeLiterals));
  size_t listed = literals.size();
  for (const char* s : kTimestamps) {  // PostgreSQL's own output, and its date part
    literals.push_back(s);
    literals.push_back(std::string(s) + "+00");
    literals.push_back(std::string(s).substr(0, std::string(s).find(' ')));
  }
  for (std::string& s : LongDateTimeLiterals()) literals.push_back(std::move(s));
  size_t generated = literals.size();
  for (std::string& s : RandomDateTimeLiterals(1500)) literals.push_back(std::move(s));
  for (std::string& s : RandomDateTimeNoise(1500)) literals.push_back(std::move(s));
  std::vector<std::string> theirs = PostgresDateTimeCells(literals);
  ASSERT_EQ(theirs.size(), literals.size() * 3);
  size_t errors = 0, refused = 0, mismatches = 0;
  for (size_t i = 0; i < literals.size(); ++i) {
    for (size_t t = 0; t < 3; ++t) {
      const std::string& want = theirs[i * 3 + t];
      bool error = want.rfind("error: ", 0) == 0;
      errors += error;
      std::string ours = OurDateTimeCell(kDateTimeTypes[t], literals[i]);
      if (ours == want) continue;
      // A random literal may name a zone walflow refuses (one with daylight-saving rules).
      if (i >= generated && !error && IsDateTimeRefusal(ours)) {
        ++refused;
        continue;
      }
      ++mismatches;
      EXPECT_EQ(ours, want) << "'" << literals[i] << "'::" << SqlTypeName(kDateTimeTypes[t]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(listed, 500u);
  std::cout << literals.size() << " date/time literals (" << listed
            << " listed), each as 3 types: " << errors << " cells are errors in PostgreSQL, "
            << refused << " refused by walflow where PostgreSQL reads a zone by its rules\n";
}

// What walflow refuses, it refuses only where PostgreSQL reads a value: the current time
// always, a zone it cannot compute as timestamptz only.
TEST(PgOracleTest, DateTimeInputRefusalsAreValidInPostgres) {
  std::vector<std::string> literals(std::begin(kZoneNamedLiterals), std::end(kZoneNamedLiterals));
  for (const char* s : {"now", "today", "tomorrow", "yesterday", "Today", " now ", "today 10:00",
                        "tomorrow 10:00+02", "yesterday BC", "today allballs"}) {
    literals.push_back(s);
  }
  std::vector<std::string> theirs = PostgresDateTimeCells(literals);
  ASSERT_EQ(theirs.size(), literals.size() * 3);
  for (size_t i = 0; i < literals.size(); ++i) {
    bool current_time = i >= std::size(kZoneNamedLiterals);
    for (size_t t = 0; t < 3; ++t) {
      const std::string& want = theirs[i * 3 + t];
      std::string ours = OurDateTimeCell(kDateTimeTypes[t], literals[i]);
      std::string context = "'" + literals[i] + "'::" + SqlTypeName(kDateTimeTypes[t]);
      EXPECT_NE(want.rfind("error: ", 0), 0u) << context << ": " << want;
      if (current_time) {
        EXPECT_NE(ours.find("is not supported: it depends on the current time"), std::string::npos)
            << context << ": " << ours;
      } else if (kDateTimeTypes[t] == SqlType::kTimestampTz) {
        EXPECT_NE(ours.find("not supported yet"), std::string::npos) << context << ": " << ours;
      } else {
        EXPECT_EQ(ours, want) << context;
      }
    }
  }
}

}  // namespace
}  // namespace walflow::sql
