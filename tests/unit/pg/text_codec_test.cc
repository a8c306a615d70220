// Parsers of PostgreSQL's text forms and the encodings of the event format. Expected
// values were computed with PostgreSQL 15 itself (e.g. SELECT '0044-03-15 BC'::date -
// '1970-01-01'::date, extract(epoch from ...)) or by hand where noted.
#include "pg/text_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace walflow::pg {
namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kDay = 86400 * kSec;
constexpr int64_t kMonth = 2629800 * kSec;  // 30.4375 days

std::optional<int32_t> Date(std::string_view t) {
  int32_t d = 0x7eadbeef;
  if (!ParseDate(t, &d)) return std::nullopt;
  return d;
}
std::optional<int64_t> Time(std::string_view t) {
  int64_t v = -42;
  if (!ParseTime(t, &v)) return std::nullopt;
  return v;
}
std::optional<int64_t> TimeTz(std::string_view t) {
  int64_t v = -42;
  if (!ParseTimeTz(t, &v)) return std::nullopt;
  return v;
}
std::optional<int64_t> Timestamp(std::string_view t) {
  int64_t v = -42;
  if (!ParseTimestamp(t, &v)) return std::nullopt;
  return v;
}
std::optional<int64_t> Interval(std::string_view t) {
  int64_t v = -42;
  if (!ParseInterval(t, &v)) return std::nullopt;
  return v;
}

TEST(ParseDateTest, KnownDates) {
  EXPECT_EQ(Date("1970-01-01"), 0);
  EXPECT_EQ(Date("1970-01-02"), 1);
  EXPECT_EQ(Date("1969-12-31"), -1);
  EXPECT_EQ(Date("2000-02-29"), 11016);  // leap day of a year divisible by 400
  EXPECT_EQ(Date("2000-03-01"), 11017);
  EXPECT_EQ(Date("2024-02-29"), 19782);
  EXPECT_EQ(Date("2024-03-01"), 19783);
  EXPECT_EQ(Date("1900-02-28"), -25509);  // 1900 is not a leap year
  EXPECT_EQ(Date("1900-03-01"), -25508);
  EXPECT_EQ(Date("0044-03-15 BC"), -735160);
  EXPECT_EQ(Date("0001-01-01 BC"), -719528);  // year 0 of the proleptic calendar
  EXPECT_EQ(Date("0001-01-01"), -719162);
  EXPECT_EQ(Date("10000-01-01"), 2932897);
  EXPECT_EQ(Date("9999-12-31"), 2932896);
}

TEST(ParseDateTest, RejectsWhatPostgresDoesNotPrint) {
  for (const char* bad :
       {"", "abc", "2024-13-01", "2024-00-10", "2024-01-00", "2024-01-32", "2024/01/01",
        "2024-01-01x", "2024-01-01 AD", "2024-01-01 BCE", "-2024-01-01", "2024-01", "infinity"}) {
    EXPECT_FALSE(Date(bad).has_value()) << bad;
  }
}

TEST(ParseTimeTest, ClockAndFractions) {
  EXPECT_EQ(Time("00:00:00"), 0);
  EXPECT_EQ(Time("13:45:30"), (13 * 3600 + 45 * 60 + 30) * kSec);
  EXPECT_EQ(Time("24:00:00"), kDay);
  EXPECT_EQ(Time("23:59:59.999999"), kDay - 1);
  EXPECT_EQ(Time("00:00:00.1"), 100000);
  EXPECT_EQ(Time("00:00:00.12"), 120000);
  EXPECT_EQ(Time("00:00:00.123"), 123000);
  EXPECT_EQ(Time("00:00:00.1234"), 123400);
  EXPECT_EQ(Time("00:00:00.12345"), 123450);
  EXPECT_EQ(Time("00:00:00.123456"), 123456);
  EXPECT_EQ(Time("00:00:00.000001"), 1);
}

TEST(ParseTimeTest, Rejects) {
  for (const char* bad : {"", "1:00:00", "12:60:00", "12:00", "12:00:61", "12:00:00.",
                          "12:00:00+00", "12:00:00 ", "ab:cd:ef"}) {
    EXPECT_FALSE(Time(bad).has_value()) << bad;
  }
}

TEST(ParseTimeTzTest, OffsetsAreAppliedAndWrapAroundMidnight) {
  EXPECT_EQ(TimeTz("00:00:00+00"), 0);
  EXPECT_EQ(TimeTz("12:00:00.5+00"), 12 * 3600 * kSec + 500000);
  // 04:05:06 at +05:30 is 22:35:06 UTC of the previous day.
  EXPECT_EQ(TimeTz("04:05:06+05:30"), (22 * 3600 + 35 * 60 + 6) * kSec);
  // 23:30 at -08 is 07:30 UTC of the next day.
  EXPECT_EQ(TimeTz("23:30:00-08"), (7 * 3600 + 30 * 60) * kSec);
  EXPECT_EQ(TimeTz("12:00:00+05:45:30"), (43200 - 20730) * kSec);
  EXPECT_EQ(TimeTz("01:00:00+01"), 0);
  EXPECT_EQ(TimeTz("24:00:00+00"), 0);  // in [0, 24h)
  EXPECT_EQ(TimeTz("23:59:59.999999-00:00:01"), 999999);
}

TEST(ParseTimeTzTest, Rejects) {
  for (const char* bad : {"", "12:00:00", "12:00:00Z", "12:00:00+", "12:00:00+5:30x"}) {
    EXPECT_FALSE(TimeTz(bad).has_value()) << bad;
  }
}

TEST(ParseTimestampTest, WithAndWithoutOffset) {
  EXPECT_EQ(Timestamp("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(Timestamp("1970-01-01 00:00:00+00"), 0);
  EXPECT_EQ(Timestamp("2024-01-15 08:15:30.123456+00"), 1705306530123456);
  EXPECT_EQ(Timestamp("2024-01-15 13:45:30.123456+05:30"), 1705306530123456);
  EXPECT_EQ(Timestamp("2024-01-15 00:15:30-08"), 1705306530000000);
  // Without an offset the wall-clock time is taken as is (timestamp without time zone).
  EXPECT_EQ(Timestamp("2024-01-15 13:45:30.123456"), 1705326330123456);
  EXPECT_EQ(Timestamp("1969-12-31 23:59:59.999999"), -1);
  EXPECT_EQ(Timestamp("2000-01-01 00:00:00.1"), 946684800100000);
  EXPECT_EQ(Timestamp("2000-01-01 00:00:00.12"), 946684800120000);
  EXPECT_EQ(Timestamp("2000-01-01 00:00:00.12345"), 946684800123450);
}

TEST(ParseTimestampTest, BeforeChristAndAfterYear9999) {
  EXPECT_EQ(Timestamp("0044-03-15 12:30:00+00 BC"), -63517779000000000);
  EXPECT_EQ(Timestamp("0044-03-15 12:30:00.5 BC"), -63517779000000000 + 500000);
  EXPECT_EQ(Timestamp("0001-01-01 00:00:00 BC"), -719528 * kDay);
  EXPECT_EQ(Timestamp("10000-01-01 00:00:00"), 253402300800000000);
  EXPECT_EQ(Timestamp("10000-01-01 00:00:00+00"), 253402300800000000);
}

TEST(ParseTimestampTest, LatestPostgresTimestampDoesNotWrapAround) {
  // bug reported: PostgreSQL's last timestamp, 294276-12-31 23:59:59.999999, is
  // 9224318015999999999 µs after the Unix epoch, beyond INT64_MAX; ParseTimestamp computes
  // days * 86400000000 + clock in int64 without a check (undefined behaviour) and returns a
  // negative value instead of failing.
  for (const char* t : {"294276-12-31 23:59:59.999999", "294276-12-31 23:59:59.999999+00"}) {
    int64_t v = 0;
    bool ok = ParseTimestamp(t, &v);
    EXPECT_TRUE(!ok || v > 0) << t << " parsed as " << v;
  }
}

TEST(ParseTimestampTest, Rejects) {
  for (const char* bad :
       {"", "2024-01-15", "2024-01-15T08:15:30", "2024-01-15 08:15", "2024-01-15 08:15:30 UTC",
        "2024-01-15 08:15:30+", "infinity", "2024-01-15 08:15:30 BC extra"}) {
    EXPECT_FALSE(Timestamp(bad).has_value()) << bad;
  }
}

TEST(ParseIntervalTest, PostgresStyle) {
  EXPECT_EQ(Interval("00:00:00"), 0);
  EXPECT_EQ(Interval("1 year 2 mons 3 days 04:05:06.789"),
            14 * kMonth + 3 * kDay + (4 * 3600 + 5 * 60 + 6) * kSec + 789000);
  EXPECT_EQ(Interval("1 year 2 mons 3 days 04:05:06.789"), 37091106789000);  // by hand
  EXPECT_EQ(Interval("-1 days +02:00:00"), -kDay + 2 * 3600 * kSec);
  EXPECT_EQ(Interval("-00:00:01.5"), -1500000);
  EXPECT_EQ(Interval("100:00:00"), 100 * 3600 * kSec);
  EXPECT_EQ(Interval("-1 years -2 mons +3 days -04:05:06"),
            -14 * kMonth + 3 * kDay - (4 * 3600 + 5 * 60 + 6) * kSec);
  EXPECT_EQ(Interval("1 day"), kDay);
  EXPECT_EQ(Interval("1 mon"), kMonth);
  EXPECT_EQ(Interval("1 mon"), 2629800000000);  // 30.4375 days, Debezium's MicroDuration
  EXPECT_EQ(Interval("3 years"), 36 * kMonth);
  EXPECT_EQ(Interval("12 mons"), Interval("1 year"));
  EXPECT_EQ(Interval("00:00:00.000001"), 1);
}

TEST(ParseIntervalTest, LargestIntervalsDoNotWrapAround) {
  // bug reported: PostgreSQL accepts intervals up to 178000000 years, but ParseInterval
  // multiplies years * 12 * 2629800 s in int64 µs without a check, which overflows
  // (undefined behaviour) beyond about 292000 years and returns a wrapped, negative value.
  for (const char* big : {"300000 years", "178000000 years"}) {
    int64_t v = 0;
    bool ok = ParseInterval(big, &v);
    EXPECT_TRUE(!ok || v > 0) << big << " parsed as " << v;
  }
  int64_t v = 0;
  bool ok = ParseInterval("-178000000 years", &v);
  EXPECT_TRUE(!ok || v < 0) << "parsed as " << v;
}

TEST(ParseIntervalTest, Rejects) {
  for (const char* bad :
       {"", " ", "1 fortnight", "abc", "1", "1day", "@ 1 day", "P1D", "1 day garbage", "01:00"}) {
    EXPECT_FALSE(Interval(bad).has_value()) << bad;
  }
}

std::optional<std::string> Bytea(std::string_view t) {
  std::string out = "previous";
  if (!DecodeBytea(t, &out)) return std::nullopt;
  return out;
}

TEST(DecodeByteaTest, HexFormat) {
  EXPECT_EQ(Bytea("\\x"), "");
  EXPECT_EQ(Bytea("\\x00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_EQ(Bytea("\\xDEADbeef"), "\xde\xad\xbe\xef");
  EXPECT_FALSE(Bytea("\\x0").has_value());
  EXPECT_FALSE(Bytea("\\x0g").has_value());
  EXPECT_FALSE(Bytea("\\xzz").has_value());
}

TEST(DecodeByteaTest, EscapeFormat) {
  EXPECT_EQ(Bytea(""), "");
  EXPECT_EQ(Bytea("abc"), "abc");
  EXPECT_EQ(Bytea("\\000\\377\\\\A"), std::string("\x00\xff\\A", 4));
  EXPECT_EQ(Bytea("a\\\\b"), "a\\b");
  EXPECT_EQ(Bytea("x\\101"), "xA");
  EXPECT_FALSE(Bytea("a\\").has_value());
  EXPECT_FALSE(Bytea("\\12").has_value());
  EXPECT_FALSE(Bytea("\\8xx").has_value());
  EXPECT_FALSE(Bytea("\\1a1").has_value());
}

struct Unscaled {
  std::string bytes;
  int32_t scale;
  bool operator==(const Unscaled&) const = default;
};
void PrintTo(const Unscaled& u, std::ostream* os) {
  *os << "scale " << u.scale << " bytes";
  for (unsigned char c : u.bytes) *os << " " << std::hex << int(c) << std::dec;
}

std::optional<Unscaled> Decimal(std::string_view t) {
  Unscaled u{"junk", -7};
  if (!DecimalToUnscaled(t, &u.bytes, &u.scale)) return std::nullopt;
  return u;
}

Unscaled U(std::initializer_list<int> bytes, int32_t scale) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return {s, scale};
}

TEST(DecimalToUnscaledTest, SmallValuesAsJavaBigIntegerToByteArray) {
  EXPECT_EQ(Decimal("0"), U({0x00}, 0));
  EXPECT_EQ(Decimal("-0"), U({0x00}, 0));
  EXPECT_EQ(Decimal("0.00"), U({0x00}, 2));
  EXPECT_EQ(Decimal("1"), U({0x01}, 0));
  EXPECT_EQ(Decimal("+5"), U({0x05}, 0));
  EXPECT_EQ(Decimal("-1"), U({0xff}, 0));
  EXPECT_EQ(Decimal("127"), U({0x7f}, 0));
  EXPECT_EQ(Decimal("128"), U({0x00, 0x80}, 0));
  EXPECT_EQ(Decimal("-128"), U({0x80}, 0));
  EXPECT_EQ(Decimal("-129"), U({0xff, 0x7f}, 0));
  EXPECT_EQ(Decimal("255"), U({0x00, 0xff}, 0));
  EXPECT_EQ(Decimal("256"), U({0x01, 0x00}, 0));
  EXPECT_EQ(Decimal("-256"), U({0xff, 0x00}, 0));
  EXPECT_EQ(Decimal("32768"), U({0x00, 0x80, 0x00}, 0));
  EXPECT_EQ(Decimal("-32768"), U({0x80, 0x00}, 0));
  EXPECT_EQ(Decimal("0.001"), U({0x01}, 3));
  EXPECT_EQ(Decimal("000123"), U({0x7b}, 0));
  // 12345678 = 0xBC614E; the high bit of 0xBC needs a leading zero byte.
  EXPECT_EQ(Decimal("12345.678"), U({0x00, 0xbc, 0x61, 0x4e}, 3));
  // -12345678 = 2^32 - 0xBC614E = 0xFF439EB2.
  EXPECT_EQ(Decimal("-12345.678"), U({0xff, 0x43, 0x9e, 0xb2}, 3));
  // Nine-digit chunk boundaries.
  EXPECT_EQ(Decimal("999999999"), U({0x3b, 0x9a, 0xc9, 0xff}, 0));
  EXPECT_EQ(Decimal("1000000000"), U({0x3b, 0x9a, 0xca, 0x00}, 0));
  EXPECT_EQ(Decimal("-1000000000"), U({0xc4, 0x65, 0x36, 0x00}, 0));
  EXPECT_EQ(Decimal("123456789012345678"), U({0x01, 0xb6, 0x9b, 0x4b, 0xa6, 0x30, 0xf3, 0x4e}, 0));
}

TEST(DecimalToUnscaledTest, HugeNumbers) {
  // 2^127 = 170141183460469231731687303715884105728 (39 digits): 0x80 and 15 zero bytes,
  // plus a sign byte; -2^127 is exactly 0x80 and 15 zero bytes.
  std::string pow127(1, '\x80');
  pow127.append(15, '\0');
  EXPECT_EQ(Decimal("170141183460469231731687303715884105728"),
            (Unscaled{std::string(1, '\0') + pow127, 0}));
  EXPECT_EQ(Decimal("-170141183460469231731687303715884105728"), (Unscaled{pow127, 0}));
  EXPECT_EQ(Decimal("-17014118346046923173168730371588410572.8"), (Unscaled{pow127, 1}));
  // 40 digits: 1234567890123456789012345678901234567890 = 0x03A0C92075C0DBF3B8ACBC5F96CE3F0AD2.
  EXPECT_EQ(Decimal("1234567890123456789012345678901234567890"),
            U({0x03, 0xa0, 0xc9, 0x20, 0x75, 0xc0, 0xdb, 0xf3, 0xb8, 0xac, 0xbc, 0x5f, 0x96, 0xce,
               0x3f, 0x0a, 0xd2},
              0));
  EXPECT_EQ(Decimal("-1234567890123456789012345678901234567890"),
            U({0xfc, 0x5f, 0x36, 0xdf, 0x8a, 0x3f, 0x24, 0x0c, 0x47, 0x53, 0x43, 0xa0, 0x69, 0x31,
               0xc0, 0xf5, 0x2e},
              0));
  // numeric(40,2) maximum: 10^40 - 1 = 0x1D6329F1C35CA4BFABB9F560FFFFFFFFFF.
  EXPECT_EQ(Decimal("99999999999999999999999999999999999999.99"),
            U({0x1d, 0x63, 0x29, 0xf1, 0xc3, 0x5c, 0xa4, 0xbf, 0xab, 0xb9, 0xf5, 0x60, 0xff, 0xff,
               0xff, 0xff, 0xff},
              2));
}

// An independent reference: decimal digits to big-endian two's complement, one digit at a
// time, then minimal length as BigInteger.toByteArray.
std::string ReferenceUnscaled(const std::string& digits, bool negative) {
  std::vector<uint8_t> mag{0};
  for (char c : digits) {
    int carry = c - '0';
    for (size_t i = mag.size(); i-- > 0;) {
      int v = mag[i] * 10 + carry;
      mag[i] = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry) {
      mag.insert(mag.begin(), static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  mag.insert(mag.begin(), 0);  // room for the sign
  if (negative) {
    for (auto& b : mag) b = static_cast<uint8_t>(~b);
    for (size_t i = mag.size(); i-- > 0;) {
      if (++mag[i] != 0) break;
    }
  }
  const uint8_t fill = negative ? 0xff : 0x00;
  size_t start = 0;
  while (start + 1 < mag.size() && mag[start] == fill &&
         ((mag[start + 1] & 0x80) != 0) == negative) {
    ++start;
  }
  return std::string(mag.begin() + start, mag.end());
}

TEST(DecimalToUnscaledTest, RandomNumbersMatchAReferenceImplementation) {
  std::mt19937_64 rng(20240115);
  for (int iter = 0; iter < 3000; ++iter) {
    int ndigits = 1 + static_cast<int>(rng() % 80);
    std::string digits;
    for (int i = 0; i < ndigits; ++i) digits.push_back(static_cast<char>('0' + rng() % 10));
    bool negative = rng() % 2;
    int scale = static_cast<int>(rng() % (ndigits + 1));
    std::string text = negative ? "-" : "";
    if (ndigits == scale) text += '0';
    text.append(digits, 0, ndigits - scale);
    if (scale > 0) {
      text += '.';
      text.append(digits, ndigits - scale);
    }
    bool all_zero = digits.find_first_not_of('0') == std::string::npos;
    auto got = Decimal(text);
    ASSERT_TRUE(got.has_value()) << text;
    EXPECT_EQ(got->scale, scale) << text;
    EXPECT_EQ(got->bytes, ReferenceUnscaled(digits, negative && !all_zero)) << text;
  }
}

TEST(DecimalToUnscaledTest, Rejects) {
  for (const char* bad :
       {"", "-", "+", ".", "1.2.3", "abc", "1e5", "NaN", "Infinity", "1,5", " 1", "--1"}) {
    EXPECT_FALSE(Decimal(bad).has_value()) << bad;
  }
}

struct Element {
  bool null;
  std::string text;
  bool operator==(const Element&) const = default;
};
void PrintTo(const Element& e, std::ostream* os) { *os << (e.null ? "NULL" : "'" + e.text + "'"); }

std::optional<std::vector<Element>> Array(std::string_view t) {
  std::vector<ArrayElement> els{{true, "junk"}};
  std::string scratch = "junk";
  if (!ParseArray(t, &els, &scratch)) return std::nullopt;
  std::vector<Element> out;
  for (const auto& e : els) out.push_back({e.is_null, std::string(e.text)});
  return out;
}

TEST(ParseArrayTest, Elements) {
  EXPECT_EQ(Array("{}"), std::vector<Element>{});
  EXPECT_EQ(Array("{1,2,3}"), (std::vector<Element>{{false, "1"}, {false, "2"}, {false, "3"}}));
  EXPECT_EQ(Array("{\"a b\",\"c\\\"d\",\"e\\\\f\",NULL,\"NULL\",\"\"}"),
            (std::vector<Element>{{false, "a b"},
                                  {false, "c\"d"},
                                  {false, "e\\f"},
                                  {true, ""},
                                  {false, "NULL"},
                                  {false, ""}}));
  EXPECT_EQ(Array("{null,NuLl,nullx}"),
            (std::vector<Element>{{true, ""}, {true, ""}, {false, "nullx"}}));
  EXPECT_EQ(Array("{\"{}\",\"a,b\"}"), (std::vector<Element>{{false, "{}"}, {false, "a,b"}}));
  EXPECT_EQ(Array("{ a , b }"), (std::vector<Element>{{false, "a"}, {false, "b"}}));
}

TEST(ParseArrayTest, DimensionDecoration) {
  EXPECT_EQ(Array("[0:2]={1,2,3}"),
            (std::vector<Element>{{false, "1"}, {false, "2"}, {false, "3"}}));
  EXPECT_EQ(Array("[-5:-5]={x}"), (std::vector<Element>{{false, "x"}}));
}

TEST(ParseArrayTest, ManyEscapedElementsStayValid) {
  // The scratch buffer grows while escaped elements are collected; earlier views must
  // still be right at the end.
  std::string text = "{";
  std::vector<Element> expected;
  for (int i = 0; i < 200; ++i) {
    if (i) text += ",";
    std::string v = "v\"" + std::to_string(i) + std::string(i % 17, 'x');
    text += "\"v\\\"" + std::to_string(i) + std::string(i % 17, 'x') + "\"";
    expected.push_back({false, v});
  }
  text += "}";
  EXPECT_EQ(Array(text), expected);
}

TEST(ParseArrayTest, RejectsMultiDimensionalAndMalformed) {
  for (const char* bad : {"", "{", "}", "1,2", "{1,2", "{{1,2},{3,4}}", "[1:2][1:2]={{1,2},{3,4}}",
                          "{\"a}", "{\"a\"b}", "[1:2]{1,2}", "{\"a\\\"}"}) {
    EXPECT_FALSE(Array(bad).has_value()) << bad;
  }
}

std::string Base64(std::string_view in, std::string prefix = "") {
  AppendBase64(in, &prefix);
  return prefix;
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, BinaryBytesAndAppending) {
  EXPECT_EQ(Base64(std::string("\xff\xfe\x00", 3)), "//4A");
  EXPECT_EQ(Base64(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(Base64("foo", "x:"), "x:Zm9v");
}

std::string Iso(int64_t micros) {
  std::string out = ">";
  AppendIsoTimestampUtc(micros, &out);
  return out.substr(1);
}

TEST(IsoTimestampTest, TrimmedFractions) {
  EXPECT_EQ(Iso(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Iso(1705306530123456), "2024-01-15T08:15:30.123456Z");
  EXPECT_EQ(Iso(1705306530120000), "2024-01-15T08:15:30.12Z");
  EXPECT_EQ(Iso(1705306530100000), "2024-01-15T08:15:30.1Z");
  EXPECT_EQ(Iso(1705306530000001), "2024-01-15T08:15:30.000001Z");
  EXPECT_EQ(Iso(1705306530000000), "2024-01-15T08:15:30Z");
  EXPECT_EQ(Iso(1705305600000000), "2024-01-15T08:00:00Z");  // seconds are always printed
}

TEST(IsoTimestampTest, BeforeTheEpoch) {
  EXPECT_EQ(Iso(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(Iso(-kDay), "1969-12-31T00:00:00Z");
  EXPECT_EQ(Iso(-719162 * kDay), "0001-01-01T00:00:00Z");
}

TEST(IsoTimestampTest, YearsOutsideFourDigits) {
  EXPECT_EQ(Iso(253402300799000000), "9999-12-31T23:59:59Z");
  EXPECT_EQ(Iso(253402300800000000), "+10000-01-01T00:00:00Z");
  EXPECT_EQ(Iso(-719528 * kDay), "0000-01-01T00:00:00Z");       // 1 BC
  EXPECT_EQ(Iso(-63517779000000000), "-0043-03-15T12:30:00Z");  // 44 BC
  EXPECT_EQ(Iso(-63517779000000000 + 500000), "-0043-03-15T12:30:00.5Z");
}

TEST(IsoTimeTest, TimeOfDay) {
  std::string out;
  AppendIsoTimeUtc(0, &out);
  EXPECT_EQ(out, "00:00:00Z");
  out.clear();
  AppendIsoTimeUtc((22 * 3600 + 35 * 60 + 6) * kSec, &out);
  EXPECT_EQ(out, "22:35:06Z");
  out.clear();
  AppendIsoTimeUtc(12 * 3600 * kSec + 500000, &out);
  EXPECT_EQ(out, "12:00:00.5Z");
}

TEST(CivilCalendarTest, RoundTripsOverAWideRange) {
  for (int64_t days = -1000000; days <= 3000000; days += 997) {
    int64_t y;
    unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    ASSERT_EQ(DaysFromCivil(y, m, d), days) << y << "-" << m << "-" << d;
    ASSERT_GE(m, 1u);
    ASSERT_LE(m, 12u);
    ASSERT_GE(d, 1u);
    ASSERT_LE(d, 31u);
  }
}

TEST(SmallParsersTest, BoolAndInfinity) {
  bool b = false;
  EXPECT_TRUE(ParseBool("t", &b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(ParseBool("f", &b));
  EXPECT_FALSE(b);
  EXPECT_FALSE(ParseBool("true", &b));
  EXPECT_FALSE(ParseBool("", &b));
  EXPECT_EQ(ParseInfinity("infinity"), Infinity::kPositive);
  EXPECT_EQ(ParseInfinity("-infinity"), Infinity::kNegative);
  EXPECT_EQ(ParseInfinity("Infinity"), Infinity::kNone);
  EXPECT_EQ(ParseInfinity("2024-01-01"), Infinity::kNone);
}

}  // namespace
}  // namespace walflow::pg
