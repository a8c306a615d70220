// sql::Decimal and sql::Value against a real PostgreSQL 15: thousands of random operands,
// each result and text form compared with what the server answers. Queries are batched
// (one VALUES list per query) to keep the test to a few seconds.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pg_server.h"
#include "sql/decimal.h"
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

}  // namespace
}  // namespace walflow::sql
