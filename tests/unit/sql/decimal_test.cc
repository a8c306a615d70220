// sql::Decimal: exact values (expected results are PostgreSQL 15's answers to the same
// expressions) and properties over random operands with fixed seeds. pg_oracle_test.cc
// compares thousands of random results with a live server.
#include "sql/decimal.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace walflow::sql {
namespace {

Decimal D(std::string_view s) {
  Result<Decimal> r = Decimal::Parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? *r : Decimal::NaN();
}

std::string Str(const Result<Decimal>& r) { return r.ok() ? r->ToString() : r.status().message(); }

TEST(DecimalTest, ParsesAndPrintsPostgresText) {
  for (const char* s : {"0", "1", "-1", "1.50", "-12.340", "0.001", "-0.001",
                        "123456789012345678901234567890.123456789", "0.00", "NaN", "Infinity",
                        "-Infinity", "1000000000", "999999999.999999999"}) {
    EXPECT_EQ(D(s).ToString(), s);
  }
  EXPECT_EQ(D("-0").ToString(), "0");
  EXPECT_EQ(D("-0.00").ToString(), "0.00");
  EXPECT_EQ(D("  +5. ").ToString(), "5");
  EXPECT_EQ(D(".5").ToString(), "0.5");
  EXPECT_EQ(D("1.5e3").ToString(), "1500");
  EXPECT_EQ(D("1e-3").ToString(), "0.001");
  EXPECT_EQ(D("1.50E+1").ToString(), "15.0");
  EXPECT_EQ(D("nan").ToString(), "NaN");
  EXPECT_EQ(D("-inf").ToString(), "-Infinity");
  EXPECT_EQ(D("007.10").ToString(), "7.10");
  for (const char* bad : {"", "abc", "1.2.3", "1e", "--1", "1 2", "-NaN", "e5"}) {
    EXPECT_FALSE(Decimal::Parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(Decimal::Parse("1e131073").ok());
  EXPECT_TRUE(Decimal::Parse("1e131071").ok());
  EXPECT_FALSE(Decimal::Parse("1e-16384").ok());
  EXPECT_EQ(D("1e-16383").scale(), 16383);
}

TEST(DecimalTest, AddSubMulKeepPostgresScales) {
  EXPECT_EQ(Str(Decimal::Add(D("1.5"), D("2.25"))), "3.75");
  EXPECT_EQ(Str(Decimal::Add(D("1.50"), D("-1.5"))), "0.00");
  EXPECT_EQ(Str(Decimal::Sub(D("0.1"), D("0.30"))), "-0.20");
  EXPECT_EQ(Str(Decimal::Mul(D("1.50"), D("2.0"))), "3.000");
  EXPECT_EQ(Str(Decimal::Mul(D("-0.5"), D("0.5"))), "-0.25");
  EXPECT_EQ(Str(Decimal::Mul(D("999999999999999999"), D("999999999999999999"))),
            "999999999999999998000000000000000001");
  EXPECT_EQ(Str(Decimal::Add(D("Infinity"), D("-Infinity"))), "NaN");
  EXPECT_EQ(Str(Decimal::Add(D("Infinity"), D("5"))), "Infinity");
  EXPECT_EQ(Str(Decimal::Sub(D("5"), D("Infinity"))), "-Infinity");
  EXPECT_EQ(Str(Decimal::Mul(D("Infinity"), D("0"))), "NaN");
  EXPECT_EQ(Str(Decimal::Mul(D("-Infinity"), D("-2"))), "Infinity");
  EXPECT_EQ(Str(Decimal::Add(D("NaN"), D("1"))), "NaN");
}

TEST(DecimalTest, DivisionUsesSelectDivScale) {
  EXPECT_EQ(Str(Decimal::Div(D("1"), D("3"))), "0.33333333333333333333");
  EXPECT_EQ(Str(Decimal::Div(D("2"), D("3"))), "0.66666666666666666667");
  EXPECT_EQ(Str(Decimal::Div(D("1"), D("1"))), "1.00000000000000000000");
  EXPECT_EQ(Str(Decimal::Div(D("10"), D("4"))), "2.5000000000000000");
  EXPECT_EQ(Str(Decimal::Div(D("12345678"), D("3"))), "4115226.000000000000");
  EXPECT_EQ(Str(Decimal::Div(D("1.000000000000000000000000"), D("3"))),
            "0.333333333333333333333333");
  EXPECT_EQ(Str(Decimal::Div(D("-7"), D("2"))), "-3.5000000000000000");
  EXPECT_EQ(Str(Decimal::Div(D("1"), D("0"))), "division by zero");
  EXPECT_EQ(Str(Decimal::Div(D("Infinity"), D("0"))), "division by zero");
  EXPECT_EQ(Str(Decimal::Div(D("NaN"), D("0"))), "NaN");
  EXPECT_EQ(Str(Decimal::Div(D("5"), D("Infinity"))), "0");
  EXPECT_EQ(Str(Decimal::Div(D("-Infinity"), D("2"))), "-Infinity");
  EXPECT_EQ(Str(Decimal::Div(D("Infinity"), D("Infinity"))), "NaN");
  EXPECT_EQ(Str(Decimal::Avg(D("10"), 3)), "3.3333333333333333");
  EXPECT_EQ(Str(Decimal::Avg(D("1.5"), 2)), "0.75000000000000000000");
  EXPECT_EQ(Str(Decimal::Mod(D("-7.5"), D("2"))), "-1.5");
  EXPECT_EQ(Str(Decimal::Mod(D("7"), D("-0.3"))), "0.1");
  EXPECT_EQ(Str(Decimal::Mod(D("7"), D("0"))), "division by zero");
}

TEST(DecimalTest, RoundsHalfAwayFromZero) {
  EXPECT_EQ(D("2.5").Round(0).ToString(), "3");
  EXPECT_EQ(D("-2.5").Round(0).ToString(), "-3");
  EXPECT_EQ(D("1.2345").Round(3).ToString(), "1.235");
  EXPECT_EQ(D("1.5").Round(3).ToString(), "1.500");
  EXPECT_EQ(D("1250").Round(-2).ToString(), "1300");
  EXPECT_EQ(D("-1249.9").Round(-2).ToString(), "-1200");
  EXPECT_EQ(D("0.4").Round(0).ToString(), "0");
  EXPECT_EQ(D("-0.4").Round(0).ToString(), "0");
  EXPECT_EQ(D("999.95").Round(1).ToString(), "1000.0");
  EXPECT_EQ(D("1.99").Trunc(1).ToString(), "1.9");
  EXPECT_EQ(D("-1.99").Trunc(0).ToString(), "-1");
}

TEST(DecimalTest, ComparesLikePostgres) {
  EXPECT_EQ(D("1.5"), D("1.50"));
  EXPECT_LT(D("-Infinity"), D("-1e100"));
  EXPECT_LT(D("1e100"), D("Infinity"));
  EXPECT_LT(D("Infinity"), D("NaN"));
  EXPECT_EQ(D("NaN"), D("NaN"));
  EXPECT_LT(D("-2"), D("-1.999"));
  EXPECT_LT(D("0.0999"), D("0.1"));
  EXPECT_EQ(D("0"), D("-0.000"));
  EXPECT_FALSE(D("1.5").IdenticalTo(D("1.50")));
}

TEST(DecimalTest, ConvertsIntegersAndDoubles) {
  EXPECT_EQ(Decimal(INT64_MIN).ToString(), "-9223372036854775808");
  EXPECT_EQ(*Decimal(INT64_MIN).ToInt64(), INT64_MIN);
  EXPECT_EQ(*D("2.5").ToInt64(), 3);
  EXPECT_EQ(*D("-2.5").ToInt64(), -3);
  EXPECT_EQ(D("9223372036854775807.5").ToInt64().status().message(), "bigint out of range");
  EXPECT_FALSE(D("NaN").ToInt64().ok());
  // float8_numeric goes through 15 significant digits.
  EXPECT_EQ(Decimal::FromDouble(0.1).ToString(), "0.1");
  EXPECT_EQ(Decimal::FromDouble(1.0 / 3).ToString(), "0.333333333333333");
  EXPECT_EQ(Decimal::FromDouble(1e20).ToString(), "100000000000000000000");
  EXPECT_EQ(Decimal::FromDouble(1.5e-7).ToString(), "0.00000015");
  EXPECT_EQ(Decimal::FromDouble(-0.0).ToString(), "0");
  EXPECT_EQ(Decimal::FromFloat(0.1f).ToString(), "0.1");
  EXPECT_EQ(D("0.1").ToDouble(), 0.1);
  EXPECT_TRUE(std::isnan(D("NaN").ToDouble()));
}

TEST(DecimalTest, LargeValuesAreExact) {
  std::string big(1000, '9');
  Decimal a = D(big);
  Result<Decimal> sum = Decimal::Add(a, D("1"));
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->ToString(), "1" + std::string(1000, '0'));
  Result<Decimal> q = Decimal::Div(*sum, a);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->ToString(), "1.0000000000000000");
  EXPECT_FALSE(Decimal::Mul(D("1e70000"), D("1e70000")).ok());
}

// Random operands: (a + b) - b == a, (a * b) / b rounds back to a at a's scale, and the
// remainder identity a = trunc(a / b) * b + a % b.
TEST(DecimalTest, RandomIdentities) {
  std::mt19937_64 rng(13);
  auto random_decimal = [&]() {
    std::string s = rng() % 2 ? "-" : "";
    int int_digits = static_cast<int>(rng() % 40);
    int frac_digits = static_cast<int>(rng() % 25);
    for (int i = 0; i < int_digits; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    if (int_digits == 0) s.push_back('0');
    if (frac_digits > 0) s.push_back('.');
    for (int i = 0; i < frac_digits; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return D(s);
  };
  for (int i = 0; i < 5000; ++i) {
    Decimal a = random_decimal(), b = random_decimal();
    Result<Decimal> sum = Decimal::Add(a, b);
    ASSERT_TRUE(sum.ok());
    Result<Decimal> back = Decimal::Sub(*sum, b);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, a) << a.ToString() << " " << b.ToString();
    if (b.is_zero()) continue;
    Result<Decimal> prod = Decimal::Mul(a, b);
    ASSERT_TRUE(prod.ok());
    Result<Decimal> quot = Decimal::Div(*prod, b);
    ASSERT_TRUE(quot.ok());
    EXPECT_EQ(quot->Round(a.scale()), a) << a.ToString() << " " << b.ToString();
    Result<Decimal> m = Decimal::Mod(a, b);
    Result<Decimal> q = Decimal::Div(a, b);
    ASSERT_TRUE(m.ok() && q.ok());
    Decimal t = q->Trunc(0);
    // Div rounds; where rounding crossed an integer, trunc of the exact quotient is one less.
    Result<Decimal> rebuilt = Decimal::Add(*Decimal::Mul(t, b), *m);
    if (!(*rebuilt == a)) {
      Decimal t2 = *Decimal::Sub(t, Decimal(q->is_negative() ? -1 : 1));
      rebuilt = Decimal::Add(*Decimal::Mul(t2, b), *m);
    }
    EXPECT_EQ(*rebuilt, a) << a.ToString() << " % " << b.ToString();
  }
}

}  // namespace
}  // namespace walflow::sql
