// Writers of PostgreSQL's text forms: exact text for known values (what PostgreSQL 15 prints
// for them, e.g. SELECT '-1 day -1 second'::interval), and text the parsers of text_codec.h
// read back to the value written.
#include "pg/text_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "pg/text_codec.h"

namespace walflow::pg {
namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kDay = 86400 * kSec;
constexpr int64_t kMonth = 2629800 * kSec;  // 30.4375 days

template <typename F>
std::string Text(F&& append) {
  std::string out = "prefix:";
  append(&out);
  EXPECT_EQ(out.rfind("prefix:", 0), 0u) << "the writer replaced what was there";
  return out.substr(7);
}

TEST(TextFormatTest, SplitTimestampRoundsTowardsTheEarlierDay) {
  int64_t days = 42, rem = 42;
  SplitTimestamp(0, &days, &rem);
  EXPECT_EQ(days, 0);
  EXPECT_EQ(rem, 0);
  SplitTimestamp(-1, &days, &rem);
  EXPECT_EQ(days, -1);
  EXPECT_EQ(rem, kDay - 1);
  SplitTimestamp(kDay, &days, &rem);
  EXPECT_EQ(days, 1);
  EXPECT_EQ(rem, 0);
  SplitTimestamp(-kDay, &days, &rem);
  EXPECT_EQ(days, -1);
  EXPECT_EQ(rem, 0);
  SplitTimestamp(std::numeric_limits<int64_t>::min(), &days, &rem);
  EXPECT_EQ(days, -106751992);
  EXPECT_EQ(rem, 71945224192);
}

TEST(TextFormatTest, PaddedNumbersAndCalendarDates) {
  EXPECT_EQ(Text([](std::string* o) { AppendPadded(7, 2, o); }), "07");
  EXPECT_EQ(Text([](std::string* o) { AppendPadded(123, 2, o); }), "123");
  EXPECT_EQ(Text([](std::string* o) { AppendPadded(0, 0, o); }), "0");
  EXPECT_EQ(Text([](std::string* o) { AppendCalendarDate(5, 6, 7, o); }), "0005-06-07");
  EXPECT_EQ(Text([](std::string* o) { AppendCalendarDate(10000, 12, 31, o); }), "10000-12-31");
  EXPECT_EQ(Text([](std::string* o) { AppendBool(true, o); }), "t");
  EXPECT_EQ(Text([](std::string* o) { AppendBool(false, o); }), "f");
}

TEST(TextFormatTest, Dates) {
  auto date = [](int64_t days) { return Text([&](std::string* o) { AppendDate(days, o); }); };
  EXPECT_EQ(date(0), "1970-01-01");
  EXPECT_EQ(date(-1), "1969-12-31");
  EXPECT_EQ(date(19783), "2024-03-01");
  EXPECT_EQ(date(11016), "2000-02-29");
  EXPECT_EQ(date(-719162), "0001-01-01");
  EXPECT_EQ(date(-719163), "0001-12-31 BC");  // the day before 1 AD
  EXPECT_EQ(date(-719528), "0001-01-01 BC");
  EXPECT_EQ(date(-735160), "0044-03-15 BC");
  EXPECT_EQ(date(2932896), "9999-12-31");
  EXPECT_EQ(date(2932897), "10000-01-01");
}

TEST(TextFormatTest, DatesReadBackToTheirDayCount) {
  std::mt19937_64 rng(7);
  // PostgreSQL's date range: 4713 BC to 5874897 AD.
  std::uniform_int_distribution<int32_t> days(-2440588, 2147483494 - 2440588);
  for (int i = 0; i < 20000; ++i) {
    const int32_t d = days(rng);
    std::string text;
    AppendDate(d, &text);
    int32_t back = 0;
    ASSERT_TRUE(ParseDate(text, &back)) << text;
    ASSERT_EQ(back, d) << text;
  }
}

TEST(TextFormatTest, TimesOfDay) {
  auto clock = [](int64_t us) { return Text([&](std::string* o) { AppendClock(us, o); }); };
  EXPECT_EQ(clock(0), "00:00:00");
  EXPECT_EQ(clock(1), "00:00:00.000001");
  EXPECT_EQ(clock((13 * 3600 + 45 * 60 + 30) * kSec + 120000), "13:45:30.12");
  EXPECT_EQ(clock(kDay - 1), "23:59:59.999999");
  EXPECT_EQ(clock(kDay), "24:00:00");
  EXPECT_EQ(Text([](std::string* o) { AppendTimeTz(3600 * kSec + 500000, o); }), "01:00:00.5+00");
}

TEST(TextFormatTest, Timestamps) {
  auto ts = [](int64_t us) { return Text([&](std::string* o) { AppendTimestamp(us, o); }); };
  EXPECT_EQ(ts(0), "1970-01-01 00:00:00");
  EXPECT_EQ(ts(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(ts(19783 * kDay + (12 * 3600 + 34 * 60 + 56) * kSec + 123456),
            "2024-03-01 12:34:56.123456");
  // The era follows the clock: "0001-12-31 23:00:00 BC".
  EXPECT_EQ(ts(-719162 * kDay - 3600 * kSec), "0001-12-31 23:00:00 BC");
  EXPECT_EQ(Text([](std::string* o) { AppendTimestamp(-719528, 5 * kSec, o); }),
            "0001-01-01 00:00:05 BC");
  EXPECT_EQ(Text([](std::string* o) { AppendTimestampTz(19783, 0, o); }), "2024-03-01 00:00:00+00");
  EXPECT_EQ(Text([](std::string* o) { AppendTimestampTz(-735160, kDay - 500000, o); }),
            "0044-03-15 23:59:59.5+00 BC");
}

TEST(TextFormatTest, TimestampsReadBackToTheirInstant) {
  std::mt19937_64 rng(11);
  // 4713 BC to the end of int64 µs (year 294247; PostgreSQL goes on to 294276).
  std::uniform_int_distribution<int64_t> micros(-210866803200LL * kSec,
                                                std::numeric_limits<int64_t>::max());
  for (int i = 0; i < 20000; ++i) {
    const int64_t us = micros(rng);
    std::string plain, zoned;
    AppendTimestamp(us, &plain);
    int64_t days, rem;
    SplitTimestamp(us, &days, &rem);
    AppendTimestampTz(days, rem, &zoned);
    int64_t back = 0, back_days = 0, back_rem = 0;
    ASSERT_TRUE(ParseTimestamp(plain, &back)) << plain;
    ASSERT_EQ(back, us) << plain;
    ASSERT_TRUE(ParseTimestampParts(zoned, &back_days, &back_rem)) << zoned;
    ASSERT_EQ(back_days, days) << zoned;
    ASSERT_EQ(back_rem, rem) << zoned;
  }
}

TEST(TextFormatTest, Intervals) {
  auto interval = [](int64_t us) { return Text([&](std::string* o) { AppendInterval(us, o); }); };
  EXPECT_EQ(interval(0), "00:00:00");
  EXPECT_EQ(interval(kDay), "1 day");
  EXPECT_EQ(interval(-kDay), "-1 days");
  EXPECT_EQ(interval(2 * kDay), "2 days");
  EXPECT_EQ(interval(kMonth), "1 mon");
  EXPECT_EQ(interval(12 * kMonth), "1 year");
  EXPECT_EQ(interval(-(kDay + kSec)), "-1 days -00:00:01");
  EXPECT_EQ(interval(14 * kMonth + 3 * kDay + (4 * 3600 + 5 * 60 + 6) * kSec + 789000),
            "1 year 2 mons 3 days 04:05:06.789");
  EXPECT_EQ(interval(-(25 * kMonth)), "-2 years -1 mons");
  EXPECT_EQ(interval(3 * kSec / 2), "00:00:01.5");
  EXPECT_EQ(interval(100 * 3600 * kSec), "4 days 04:00:00");
  // |INT64_MIN| does not fit an int64: written from its unsigned magnitude.
  EXPECT_EQ(interval(std::numeric_limits<int64_t>::min()),
            "-292271 years -8 days -10:00:54.775808");
}

TEST(TextFormatTest, IntervalsReadBackToTheirMicroseconds) {
  std::mt19937_64 rng(13);
  std::vector<int64_t> values = {std::numeric_limits<int64_t>::min(),
                                 std::numeric_limits<int64_t>::max(), 1, -1, kMonth - 1};
  for (int i = 0; i < 20000; ++i) {
    values.push_back(static_cast<int64_t>(rng()) >> (rng() % 60));
  }
  for (int64_t us : values) {
    std::string text;
    AppendInterval(us, &text);
    int64_t back = 0;
    ASSERT_TRUE(ParseInterval(text, &back)) << text;
    ASSERT_EQ(back, us) << text;
  }
}

TEST(TextFormatTest, ByteaHex) {
  EXPECT_EQ(Text([](std::string* o) { AppendByteaHex("", o); }), "\\x");
  EXPECT_EQ(Text([](std::string* o) { AppendByteaHex(std::string("\x00\xff\x10\xab", 4), o); }),
            "\\x00ff10ab");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string text, back;
  AppendByteaHex(all, &text);
  ASSERT_TRUE(DecodeBytea(text, &back));
  EXPECT_EQ(back, all);
}

std::string Numeric(std::initializer_list<uint8_t> unscaled, int32_t scale) {
  std::string bytes(unscaled.begin(), unscaled.end());
  return Text([&](std::string* o) { AppendNumeric(bytes, scale, o); });
}

TEST(TextFormatTest, NumericsFromUnscaledIntegers) {
  EXPECT_EQ(Numeric({0x00}, 0), "0");
  EXPECT_EQ(Numeric({0x00}, 2), "0.00");
  EXPECT_EQ(Numeric({0x00}, -3), "0");
  EXPECT_EQ(Numeric({0x01}, 0), "1");
  EXPECT_EQ(Numeric({0xff}, 0), "-1");
  EXPECT_EQ(Numeric({0x80}, 0), "-128");
  EXPECT_EQ(Numeric({0x00, 0x80}, 0), "128");
  EXPECT_EQ(Numeric({0x01, 0x00}, 0), "256");
  EXPECT_EQ(Numeric({0xcf, 0xc7}, 2), "-123.45");  // -12345 = 0xcfc7
  EXPECT_EQ(Numeric({0x01}, 3), "0.001");
  EXPECT_EQ(Numeric({0xff}, 3), "-0.001");
  EXPECT_EQ(Numeric({0x05}, -2), "500");
  // 2^64 = 18446744073709551616, more than one 32-bit limb and one 10^9 chunk.
  EXPECT_EQ(Numeric({0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 4), "1844674407370955.1616");
  EXPECT_EQ(Numeric({0xff, 0, 0, 0, 0, 0, 0, 0, 0}, 0), "-18446744073709551616");
  // Redundant sign bytes change nothing.
  EXPECT_EQ(Numeric({0x00, 0x00, 0x2a}, 1), "4.2");
  EXPECT_EQ(Numeric({0xff, 0xff, 0xd6}, 1), "-4.2");
}

TEST(TextFormatTest, NumericsReadBackThroughTheirUnscaledValue) {
  std::mt19937_64 rng(17);
  std::vector<std::string> texts = {
      "0", "0.000", "-0.5", "1000000000", "999999999.999999999", "-18446744073709551616"};
  for (int i = 0; i < 2000; ++i) {
    std::string t = rng() % 2 ? "-" : "";
    t += static_cast<char>('1' + rng() % 9);
    for (size_t n = rng() % 120; n > 0; --n) t += static_cast<char>('0' + rng() % 10);
    if (rng() % 2) {
      t += '.';
      for (size_t n = 1 + rng() % 40; n > 0; --n) t += static_cast<char>('0' + rng() % 10);
    }
    texts.push_back(t);
  }
  for (const std::string& t : texts) {
    std::string unscaled, back;
    int32_t scale = -1;
    ASSERT_TRUE(DecimalToUnscaled(t, &unscaled, &scale)) << t;
    AppendNumeric(unscaled, scale, &back);
    ASSERT_EQ(back, t);
  }
}

std::string Element(std::string_view text, char delimiter = ',') {
  return Text([&](std::string* o) { AppendArrayElement(text, delimiter, o); });
}

TEST(TextFormatTest, ArrayElementsQuotedWhereArrayOutQuotesThem) {
  EXPECT_EQ(Element("abc"), "abc");
  EXPECT_EQ(Element("-1.5e3"), "-1.5e3");
  EXPECT_EQ(Element(""), "\"\"");
  EXPECT_EQ(Element("NULL"), "\"NULL\"");
  EXPECT_EQ(Element("null"), "\"null\"");
  EXPECT_EQ(Element("nUlL"), "\"nUlL\"");
  EXPECT_EQ(Element("NUL"), "NUL");
  EXPECT_EQ(Element("NULLS"), "NULLS");
  EXPECT_EQ(Element("a b"), "\"a b\"");
  EXPECT_EQ(Element("tab\there"), "\"tab\there\"");
  EXPECT_EQ(Element("{x}"), "\"{x}\"");
  EXPECT_EQ(Element("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(Element("back\\slash"), "\"back\\\\slash\"");
  EXPECT_EQ(Element("a,b"), "\"a,b\"");
  EXPECT_EQ(Element("a,b", ';'), "a,b");
  EXPECT_EQ(Element("(1,2),(3,4)", ';'), "(1,2),(3,4)");
  EXPECT_EQ(Element("a;b", ';'), "\"a;b\"");
}

TEST(TextFormatTest, ArrayLiteralsReadBackToTheirElements) {
  const std::vector<std::string> elements = {"plain",  "",     "NULL", "a b", "\"q\"",
                                             "x\\y",   "{}",   "a,b",  "é ü", " lead",
                                             "trail ", "null", "\n",   "1;2"};
  for (char delimiter : {',', ';'}) {
    std::string literal = "{";
    for (size_t i = 0; i < elements.size(); ++i) {
      if (i) literal.push_back(delimiter);
      AppendArrayElement(elements[i], delimiter, &literal);
    }
    literal.push_back(delimiter);
    literal.append("NULL}");
    std::vector<ArrayElement> parsed;
    std::string scratch;
    ASSERT_TRUE(ParseArray(literal, &parsed, &scratch, delimiter)) << literal;
    ASSERT_EQ(parsed.size(), elements.size() + 1) << literal;
    for (size_t i = 0; i < elements.size(); ++i) {
      EXPECT_FALSE(parsed[i].is_null) << literal;
      EXPECT_EQ(parsed[i].text, elements[i]) << literal;
    }
    EXPECT_TRUE(parsed.back().is_null);
  }
}

}  // namespace
}  // namespace walflow::pg
