// sql::KeyEncoder: byte order of encodings equals tuple order, and decoding gives the
// values back; exhaustively over small numerics and randomly (fixed seeds) over tuples.
#include "sql/key_encoding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace walflow::sql {
namespace {

int Sign(int v) { return (v > 0) - (v < 0); }

int ByteCompare(const std::string& a, const std::string& b) { return Sign(a.compare(b)); }

int TupleCompare(const std::vector<Value>& a, const std::vector<Value>& b, NullOrder nulls) {
  for (size_t i = 0; i < a.size(); ++i) {
    int c;
    if (a[i].is_null() || b[i].is_null()) {
      c = a[i].is_null() == b[i].is_null() ? 0 : (a[i].is_null() ? 1 : -1);
      if (nulls == NullOrder::kNullsFirst) c = -c;
    } else {
      c = Value::Compare(a[i], b[i]);
      // Equal spans with different fields encode apart, ordered by months then days.
      if (c == 0 && a[i].type() == SqlType::kInterval) {
        const Interval &x = a[i].interval_value(), &y = b[i].interval_value();
        c = x.months != y.months ? (x.months < y.months ? -1 : 1)
                                 : (x.days != y.days ? (x.days < y.days ? -1 : 1) : 0);
      }
    }
    if (c != 0) return Sign(c);
  }
  return 0;
}

Decimal D(std::string_view s) { return *Decimal::Parse(s); }

TEST(KeyEncodingTest, SmallNumericsExhaustively) {
  std::vector<Decimal> values = {Decimal::NaN(), Decimal::Infinity(false), Decimal::Infinity(true)};
  for (int mantissa = -1100; mantissa <= 1100; mantissa += 7) {
    for (int scale = 0; scale <= 5; ++scale) {
      std::string s = std::to_string(std::abs(mantissa));
      if (static_cast<int>(s.size()) <= scale) s.insert(0, scale + 1 - s.size(), '0');
      if (scale > 0) s.insert(s.size() - scale, ".");
      if (mantissa < 0) s.insert(0, "-");
      values.push_back(D(s));
      values.push_back(D(s + "e7"));
      values.push_back(D(s + "e-9"));
    }
  }
  KeyEncoder enc;
  std::vector<std::string> keys;
  for (const Decimal& d : values) keys.push_back(enc.Encode(std::vector<Value>{Value::Numeric(d)}));
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      ASSERT_EQ(ByteCompare(keys[i], keys[j]), Sign(Decimal::Compare(values[i], values[j])))
          << values[i].ToString() << " vs " << values[j].ToString();
    }
    SqlType t = SqlType::kNumeric;
    Result<std::vector<Value>> back = enc.Decode(std::span(&t, 1), keys[i]);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ((*back)[0].numeric_value(), values[i]);
  }
}

TEST(KeyEncodingTest, ExactBytes) {
  KeyEncoder last(NullOrder::kNullsLast), first(NullOrder::kNullsFirst);
  std::vector<Value> t = {Value::Int4(1), Value::Text(std::string("a\0b", 3)),
                          Value::Null(SqlType::kInt8)};
  EXPECT_EQ(last.Encode(t), std::string("\x01\x80\0\0\0\0\0\0\x01"
                                        "\x01"
                                        "a\0\xFF"
                                        "b\0\x01"
                                        "\x02",
                                        17));
  EXPECT_EQ(first.Encode(t).back(), '\0');
  EXPECT_EQ(last.Encode(std::vector<Value>{Value::Numeric(D("1.5"))}),
            last.Encode(std::vector<Value>{Value::Numeric(D("1.500"))}));
  EXPECT_EQ(last.Encode(std::vector<Value>{Value::Float8(-0.0)}),
            last.Encode(std::vector<Value>{Value::Float8(0.0)}));
  SqlType types[] = {SqlType::kInt4, SqlType::kText, SqlType::kInt8};
  Result<std::vector<Value>> back = last.Decode(types, last.Encode(t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)[1].text_value(), std::string("a\0b", 3));
  EXPECT_TRUE((*back)[2].is_null());
  EXPECT_FALSE(last.Decode(types, last.Encode(t).substr(0, 12)).ok());
  EXPECT_FALSE(last.Decode(types, last.Encode(t) + "x").ok());
}

Value RandomValue(SqlType type, std::mt19937_64& rng) {
  if (rng() % 10 == 0) return Value::Null(type);
  auto pick = [&](uint64_t n) { return rng() % n; };
  switch (type) {
    case SqlType::kInt8: {
      static const int64_t edge[] = {INT64_MIN, INT64_MAX, 0, -1, 1};
      return Value::Int8(pick(4) == 0 ? edge[pick(5)] : static_cast<int64_t>(rng()) >> pick(64));
    }
    case SqlType::kInt4: return Value::Int4(static_cast<int32_t>(rng()) >> pick(32));
    case SqlType::kBool: return Value::Bool(pick(2) == 1);
    case SqlType::kFloat8: {
      static const double edge[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 5e-324, -5e-324, 1.0};
      if (pick(4) == 0) return Value::Float8(edge[pick(8)]);
      return Value::Float8(std::ldexp(static_cast<double>(static_cast<int64_t>(rng())),
                                      static_cast<int>(pick(200)) - 100));
    }
    case SqlType::kNumeric: {
      if (pick(20) == 0) {
        static const char* edge[] = {"NaN", "Infinity", "-Infinity", "0", "0.000"};
        return Value::Numeric(D(edge[pick(5)]));
      }
      std::string s = pick(2) ? "-" : "";
      int digits = 1 + static_cast<int>(pick(30));
      for (int i = 0; i < digits; ++i)
        s.push_back(static_cast<char>('0' + (pick(3) == 0 ? 0 : pick(10))));
      s += "e" + std::to_string(static_cast<int>(pick(60)) - 40);
      return Value::Numeric(D(s));
    }
    case SqlType::kText: {
      std::string s;
      int n = static_cast<int>(pick(6));
      for (int i = 0; i < n; ++i) {
        static const char alphabet[] = {'\0', '\x01', 'a', 'b', '\xFF', '\xFE'};
        s.push_back(alphabet[pick(6)]);
      }
      return Value::Text(s);
    }
    case SqlType::kDate: return Value::Date(static_cast<int32_t>(rng()) >> pick(32));
    case SqlType::kTimestamp: return Value::Timestamp(static_cast<int64_t>(rng()) >> pick(64));
    case SqlType::kInterval: {
      Interval i{static_cast<int32_t>(pick(40)) - 20, static_cast<int32_t>(pick(1200)) - 600,
                 static_cast<int64_t>(rng() % 200000000000ULL) - 100000000000LL};
      return Value::MakeInterval(i);
    }
    default: return Value::Null(type);
  }
}

void CheckRandomTuples(NullOrder nulls, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const SqlType all[] = {SqlType::kInt8,   SqlType::kInt4,      SqlType::kBool,
                         SqlType::kFloat8, SqlType::kNumeric,   SqlType::kText,
                         SqlType::kDate,   SqlType::kTimestamp, SqlType::kInterval};
  KeyEncoder enc(nulls);
  for (int schema = 0; schema < 40; ++schema) {
    std::vector<SqlType> types(1 + rng() % 3);
    for (SqlType& t : types) t = all[rng() % std::size(all)];
    std::vector<std::vector<Value>> tuples;
    for (int i = 0; i < 150; ++i) {
      std::vector<Value> t;
      for (SqlType type : types) t.push_back(RandomValue(type, rng));
      // Duplicate a prefix now and then so that later columns decide.
      if (!tuples.empty() && rng() % 3 == 0) t[0] = tuples[rng() % tuples.size()][0];
      tuples.push_back(std::move(t));
    }
    std::vector<std::string> keys;
    for (const auto& t : tuples) keys.push_back(enc.Encode(t));
    for (size_t i = 0; i < tuples.size(); ++i) {
      for (size_t j = 0; j < tuples.size(); ++j) {
        ASSERT_EQ(ByteCompare(keys[i], keys[j]), TupleCompare(tuples[i], tuples[j], nulls))
            << "schema " << schema << " " << tuples[i][0].ToString() << " vs "
            << tuples[j][0].ToString();
      }
      Result<std::vector<Value>> back = enc.Decode(types, keys[i]);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      ASSERT_EQ(TupleCompare(*back, tuples[i], nulls), 0);
      for (size_t c = 0; c < types.size(); ++c) {
        if (types[c] == SqlType::kInterval && !tuples[i][c].is_null()) {
          EXPECT_EQ((*back)[c].interval_value(), tuples[i][c].interval_value());
        }
        if (types[c] == SqlType::kText && !tuples[i][c].is_null()) {
          EXPECT_EQ((*back)[c].text_value(), tuples[i][c].text_value());
        }
      }
    }
  }
}

TEST(KeyEncodingTest, RandomTuplesNullsLast) { CheckRandomTuples(NullOrder::kNullsLast, 1); }
TEST(KeyEncodingTest, RandomTuplesNullsFirst) { CheckRandomTuples(NullOrder::kNullsFirst, 2); }

}  // namespace
}  // namespace walflow::sql
