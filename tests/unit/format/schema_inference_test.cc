// Column types of schemaless records: each JSON shape gets its type, before and after widen
// each other, disagreements read as text, and a previous layout's type is kept while it
// still reads every value.
#include "format/schema_inference.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "format/builtin_types.h"

namespace walflow::format {
namespace {

JsonValue Json(std::string_view text) {
  Result<JsonValue> v = ParseJson(text, "row");
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : JsonValue();
}

// "name:type" per column, arrays as "_elem", for compact expectations.
std::string Describe(const std::vector<ColumnSchema>& columns) {
  std::string out;
  for (const ColumnSchema& c : columns) {
    if (!out.empty()) out.push_back(' ');
    out.append(c.name).append(":").append(c.type.type_name);
    if (c.type.kind == ValueKind::kText) out.append("(conflict)");
  }
  return out;
}

ColumnSchema Column(std::string name, ValueType type) {
  ColumnSchema c;
  c.name = std::move(name);
  c.type = std::move(type);
  return c;
}

std::string Inferred(std::string_view before, std::string_view after,
                     const TableSchema* previous = nullptr) {
  JsonValue b = before.empty() ? JsonValue() : Json(before);
  JsonValue a = after.empty() ? JsonValue() : Json(after);
  std::vector<ColumnSchema> columns;
  Status s =
      InferColumns(before.empty() ? nullptr : &b, after.empty() ? nullptr : &a, previous, &columns);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return Describe(columns);
}

TEST(SchemaInferenceTest, EachShapeHasItsType) {
  EXPECT_EQ(Inferred("", R"({"i":1,"f":1.5,"e":1e3,"s":"x","b":true,"n":null})"),
            "i:int8 f:float8 e:float8 s:text b:bool n:text");
  EXPECT_EQ(Inferred("", R"({"d":{"scale":2,"value":"AQ=="},"j":{"a":1},"nan":"NaN"})"),
            "d:numeric j:json nan:text");
  EXPECT_EQ(Inferred("", R"({"ai":[1,2],"af":[1,2.5],"as":["a",null],"an":[]})"),
            "ai:_int8 af:_float8 as:_text an:_text");
  EXPECT_EQ(Inferred("", R"({"nested":[[1]],"objs":[{"a":1}],"mixed":[1,"a"]})"),
            "nested:json objs:json mixed:json");
  EXPECT_EQ(Inferred("", R"({"specials":[1,"NaN"],"strs":["NaN","x"]})"),
            "specials:_float8 strs:_text");
}

TEST(SchemaInferenceTest, DecimalStructsNeedExactlyScaleAndValue) {
  EXPECT_EQ(Inferred("", R"({"a":{"scale":2,"value":"AQ==","x":1}})"), "a:json");
  EXPECT_EQ(Inferred("", R"({"a":{"scale":"2","value":"AQ=="}})"), "a:json");
  EXPECT_EQ(Inferred("", R"({"a":{"scale":2.5,"value":"AQ=="}})"), "a:json");
  EXPECT_EQ(Inferred("", R"({"a":{"scale":2,"value":1}})"), "a:json");
}

TEST(SchemaInferenceTest, BeforeAndAfterWidenEachOther) {
  // after's members first, then those only in before.
  EXPECT_EQ(Inferred(R"({"old":1,"a":1})", R"({"a":2.5,"b":"x"})"), "a:float8 b:text old:int8");
  EXPECT_EQ(Inferred(R"({"a":null})", R"({"a":true})"), "a:bool");
  EXPECT_EQ(Inferred(R"({"a":"NaN"})", R"({"a":1})"), "a:float8");
  EXPECT_EQ(Inferred(R"({"a":"NaN"})", R"({"a":"x"})"), "a:text");
  EXPECT_EQ(Inferred(R"({"a":{"scale":1,"value":"AQ=="}})", R"({"a":{"b":2}})"), "a:json");
  EXPECT_EQ(Inferred(R"({"a":[1]})", R"({"a":[2.5]})"), "a:_float8");
  EXPECT_EQ(Inferred(R"({"a":[1]})", R"({"a":["x"]})"), "a:json");
  EXPECT_EQ(Inferred(R"({"a":[1]})", R"({"a":{"b":1}})"), "a:json");
  EXPECT_EQ(Inferred(R"({"a":[1]})", R"({"a":null})"), "a:_int8");
  EXPECT_EQ(Inferred(R"({"a":1})", R"({"a":"1"})"), "a:text(conflict)");
  EXPECT_EQ(Inferred(R"({"a":[1]})", R"({"a":1})"), "a:text(conflict)");
  EXPECT_EQ(Inferred(R"({"a":true})", R"({"a":1})"), "a:text(conflict)");
}

TEST(SchemaInferenceTest, APreviousTypeIsKeptWhileItReadsEveryValue) {
  TableSchema previous;
  previous.columns = {Column("x", BuiltinScalar(ValueKind::kFloat64, kPgFloat8)),
                      Column("s", BuiltinScalar(ValueKind::kString, kPgText)),
                      // not a type inference makes
                      Column("arr", BuiltinScalar(ValueKind::kDate, kPgDate))};

  // Nulls and integers fit a float8 column; a previous column matched by name, not position.
  EXPECT_EQ(Inferred("", R"({"s":null,"x":3})", &previous), "s:text x:float8");
  EXPECT_EQ(Inferred("", R"({"x":null})", &previous), "x:float8");
  // A string does not fit float8: inferred afresh.
  EXPECT_EQ(Inferred("", R"({"x":"a"})", &previous), "x:text");
  EXPECT_EQ(Inferred("", R"({"s":"NaN"})", &previous), "s:text");
  // Types inference never makes are not kept.
  EXPECT_EQ(Inferred("", R"({"arr":5})", &previous), "arr:int8");
}

TEST(SchemaInferenceTest, AFieldTwiceInOneImageIsRefused) {
  JsonValue after = Json(R"({"a":1,"a":2})");
  std::vector<ColumnSchema> columns;
  Status s = InferColumns(nullptr, &after, nullptr, &columns);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "field \"a\" appears twice in \"after\"");
  // Once in each image is one column.
  EXPECT_EQ(Inferred(R"({"a":1})", R"({"a":2})"), "a:int8");
}

}  // namespace
}  // namespace walflow::format
