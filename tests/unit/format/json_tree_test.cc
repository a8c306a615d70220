// The reader's JSON tree: numbers kept as written, members in order, nesting bounded, errors
// naming the byte, and compact text that reads back to the same tree.
#include "format/json_tree.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace walflow::format {
namespace {

JsonValue Parsed(std::string_view text) {
  Result<JsonValue> v = ParseJson(text, "value");
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
  return v.ok() ? std::move(v).value() : JsonValue();
}

std::string Compact(std::string_view text) {
  std::string out;
  AppendJson(Parsed(text), &out);
  return out;
}

TEST(JsonTreeTest, NumbersKeepTheirText) {
  for (const char* n : {"0", "-0", "1.50", "1e+20", "1E5", "-0.0", "123456789012345678901234567890",
                        "-9223372036854775809", "18446744073709551616", "2.5e-308"}) {
    JsonValue v = Parsed(n);
    EXPECT_EQ(v.type, JsonValue::Type::kNumber) << n;
    EXPECT_EQ(v.text, n);
  }
  // Integers inside containers, next to every kind of delimiter.
  JsonValue a = Parsed("[1,-2, 30 ,{\"k\":-40},[5]]");
  ASSERT_EQ(a.items.size(), 5u);
  EXPECT_EQ(a.items[0].text, "1");
  EXPECT_EQ(a.items[1].text, "-2");
  EXPECT_EQ(a.items[2].text, "30");
  EXPECT_EQ(a.items[3].Find("k")->text, "-40");
  EXPECT_EQ(a.items[4].items[0].text, "5");
}

TEST(JsonTreeTest, ObjectsKeepMemberOrderAndDuplicates) {
  JsonValue o = Parsed(R"({"b":1,"a":"x","b":true,"n":null})");
  ASSERT_EQ(o.type, JsonValue::Type::kObject);
  EXPECT_EQ(o.keys, (std::vector<std::string>{"b", "a", "b", "n"}));
  ASSERT_NE(o.Find("b"), nullptr);
  EXPECT_EQ(o.Find("b")->text, "1");  // the first of the two
  EXPECT_EQ(o.Find("a")->text, "x");
  EXPECT_TRUE(o.Find("n")->is_null());
  EXPECT_EQ(o.Find("missing"), nullptr);
  EXPECT_EQ(Parsed("[1]").Find("0"), nullptr);
}

TEST(JsonTreeTest, StringsAreUnescaped) {
  JsonValue s = Parsed(R"("a\"b\\c\u00e9\n")");
  EXPECT_EQ(s.type, JsonValue::Type::kString);
  EXPECT_EQ(s.text, "a\"b\\c\xc3\xa9\n");
}

TEST(JsonTreeTest, CompactTextKeepsNumbersAndOrder) {
  EXPECT_EQ(Compact(R"( { "z" : [ 1.50 , -0 , true , null ] , "a" : { } } )"),
            R"({"z":[1.50,-0,true,null],"a":{}})");
  EXPECT_EQ(Compact(R"("tab\there")"), R"("tab\there")");
  EXPECT_EQ(Compact("[]"), "[]");
  EXPECT_EQ(Compact("false"), "false");
}

TEST(JsonTreeTest, TypeNames) {
  EXPECT_STREQ(JsonTypeName(Parsed("null")), "null");
  EXPECT_STREQ(JsonTypeName(Parsed("true")), "boolean");
  EXPECT_STREQ(JsonTypeName(Parsed("1")), "number");
  EXPECT_STREQ(JsonTypeName(Parsed("\"\"")), "string");
  EXPECT_STREQ(JsonTypeName(Parsed("[]")), "array");
  EXPECT_STREQ(JsonTypeName(Parsed("{}")), "object");
}

TEST(JsonTreeTest, MalformedJsonNamesTheByte) {
  Result<JsonValue> v = ParseJson("{\"a\":}", "key");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message().rfind("key is not JSON at byte 6: ", 0), 0u)
      << v.status().message();
  EXPECT_FALSE(ParseJson("", "value").ok());
  EXPECT_FALSE(ParseJson("[1,]", "value").ok());
  EXPECT_FALSE(ParseJson("{} {}", "value").ok());
  EXPECT_FALSE(ParseJson("01", "value").ok());
}

TEST(JsonTreeTest, NestingIsBounded) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(ParseJson(nested(kMaxJsonDepth), "value").ok());
  Result<JsonValue> deep = ParseJson(nested(kMaxJsonDepth + 1), "value");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), "value is not JSON at byte 65: nested deeper than 64 levels");
  EXPECT_FALSE(ParseJson(std::string(100000, '['), "value").ok());
}

TEST(JsonTreeTest, IntegerText) {
  int64_t n = 0;
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &n));
  EXPECT_EQ(n, std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(ParseInt64("9223372036854775807", &n));
  EXPECT_EQ(n, std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(ParseInt64("9223372036854775808", &n));
  EXPECT_TRUE(IsIntegerText("9223372036854775808"));
  for (const char* t : {"", "-", "+1", "1.0", "1e3", " 1", "0x10", "--1"}) {
    EXPECT_FALSE(IsIntegerText(t)) << t;
    EXPECT_FALSE(ParseInt64(t, &n)) << t;
  }
  uint64_t u = 0;
  EXPECT_TRUE(ParseUint64("18446744073709551615", &u));
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(ParseUint64("18446744073709551616", &u));
  EXPECT_FALSE(ParseUint64("-1", &u));
  EXPECT_FALSE(ParseUint64("-0", &u));
}

TEST(JsonTreeTest, SpecialFloats) {
  EXPECT_TRUE(IsSpecialFloat("NaN"));
  EXPECT_TRUE(IsSpecialFloat("Infinity"));
  EXPECT_TRUE(IsSpecialFloat("-Infinity"));
  for (const char* t : {"nan", "inf", "+Infinity", "-NaN", "infinity", ""}) {
    EXPECT_FALSE(IsSpecialFloat(t)) << t;
  }
}

}  // namespace
}  // namespace walflow::format
