// Kafka Connect field schemas mapped to column types: Debezium's semantic names and Kafka
// Connect's logical types get their PostgreSQL type name, OID and typmod; unknown names fall
// back to their Connect type; malformed schemas are refused with the column named.
#include "format/connect_schema.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walflow::format {
namespace {

JsonValue Json(std::string_view text) {
  Result<JsonValue> v = ParseJson(text, "schema");
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? std::move(v).value() : JsonValue();
}

ValueType Type(std::string_view schema) {
  Result<ValueType> t = TypeFromConnect(Json(schema));
  EXPECT_TRUE(t.ok()) << schema << ": " << t.status().ToString();
  return t.ok() ? std::move(t).value() : ValueType();
}

std::string Refused(std::string_view schema) {
  Result<ValueType> t = TypeFromConnect(Json(schema));
  EXPECT_FALSE(t.ok()) << schema;
  return t.ok() ? "" : t.status().message();
}

struct Expected {
  const char* schema;
  ValueKind kind;
  const char* type_name;
  uint32_t oid;
  int32_t typmod;
};

TEST(ConnectSchemaTest, ScalarTypes) {
  const Expected cases[] = {
      {R"({"type":"boolean"})", ValueKind::kBoolean, "bool", 16, -1},
      {R"({"type":"int8"})", ValueKind::kInt16, "int2", 21, -1},
      {R"({"type":"int16"})", ValueKind::kInt16, "int2", 21, -1},
      {R"({"type":"int32"})", ValueKind::kInt32, "int4", 23, -1},
      {R"({"type":"int64"})", ValueKind::kInt64, "int8", 20, -1},
      {R"({"type":"float"})", ValueKind::kFloat32, "float4", 700, -1},
      {R"({"type":"float32"})", ValueKind::kFloat32, "float4", 700, -1},
      {R"({"type":"double"})", ValueKind::kFloat64, "float8", 701, -1},
      {R"({"type":"string"})", ValueKind::kString, "text", 25, -1},
      {R"({"type":"bytes"})", ValueKind::kBytes, "bytea", 17, -1},
      {R"({"type":"int32","name":"io.debezium.time.Date"})", ValueKind::kDate, "date", 1082, -1},
      {R"({"type":"int32","name":"org.apache.kafka.connect.data.Date"})", ValueKind::kDate, "date",
       1082, -1},
      {R"({"type":"int32","name":"io.debezium.time.Time"})", ValueKind::kTimeMillis, "time", 1083,
       3},
      {R"({"type":"int64","name":"io.debezium.time.MicroTime"})", ValueKind::kTimeMicros, "time",
       1083, -1},
      {R"({"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"})",
       ValueKind::kTimestampMillis, "timestamp", 1114, 3},
      {R"({"type":"int64","name":"io.debezium.time.MicroTimestamp"})", ValueKind::kTimestampMicros,
       "timestamp", 1114, -1},
      {R"({"type":"int64","name":"io.debezium.time.MicroDuration"})", ValueKind::kInterval,
       "interval", 1186, -1},
      {R"({"type":"string","name":"io.debezium.time.ZonedTime"})", ValueKind::kZonedTime, "timetz",
       1266, -1},
      {R"({"type":"string","name":"io.debezium.time.ZonedTimestamp"})", ValueKind::kZonedTimestamp,
       "timestamptz", 1184, -1},
      {R"({"type":"string","name":"io.debezium.data.Uuid"})", ValueKind::kUuid, "uuid", 2950, -1},
      {R"({"type":"string","name":"io.debezium.data.Json"})", ValueKind::kJson, "json", 114, -1},
      {R"({"type":"string","name":"io.debezium.data.Xml"})", ValueKind::kXml, "xml", 142, -1},
      // Names the encoder does not write read by their Connect type.
      {R"({"type":"string","name":"io.debezium.data.Ltree"})", ValueKind::kText, "text", 25, -1},
      {R"({"type":"bytes","name":"io.debezium.data.Bits"})", ValueKind::kBytes, "bytea", 17, -1},
      {R"({"type":"struct","name":"io.debezium.data.geometry.Point"})", ValueKind::kText, "text",
       25, -1},
      {R"({"type":"map"})", ValueKind::kText, "text", 25, -1},
      {R"({"type":"int32","name":"some.Other"})", ValueKind::kInt32, "int4", 23, -1},
  };
  for (const Expected& e : cases) {
    ValueType t = Type(e.schema);
    EXPECT_EQ(t.kind, e.kind) << e.schema;
    EXPECT_EQ(t.type_name, e.type_name) << e.schema;
    EXPECT_EQ(t.type_oid.value, e.oid) << e.schema;
    EXPECT_EQ(t.typmod, e.typmod) << e.schema;
    EXPECT_EQ(t.element, nullptr) << e.schema;
  }
}

TEST(ConnectSchemaTest, Decimals) {
  ValueType fixed = Type(R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal",)"
                         R"("parameters":{"scale":"2","connect.decimal.precision":"10"}})");
  EXPECT_EQ(fixed.kind, ValueKind::kDecimal);
  EXPECT_EQ(fixed.type_name, "numeric");
  EXPECT_EQ(fixed.type_oid.value, 1700u);
  EXPECT_EQ(fixed.precision, 10);
  EXPECT_EQ(fixed.scale, 2);
  EXPECT_EQ(fixed.typmod, (10 << 16 | 2) + 4);

  // Without a precision: scale kept, typmod unconstrained.
  ValueType scale_only = Type(R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal",)"
                              R"("parameters":{"scale":"0"}})");
  EXPECT_EQ(scale_only.scale, 0);
  EXPECT_EQ(scale_only.precision, -1);
  EXPECT_EQ(scale_only.typmod, -1);

  ValueType variable = Type(R"({"type":"struct","name":"io.debezium.data.VariableScaleDecimal"})");
  EXPECT_EQ(variable.kind, ValueKind::kDecimal);
  EXPECT_EQ(variable.scale, -1);
  EXPECT_EQ(variable.precision, -1);
  EXPECT_EQ(variable.typmod, -1);

  for (const char* params : {R"({})", R"({"scale":"-1"})", R"({"scale":"16384"})",
                             R"({"scale":"two"})", R"({"scale":true})"}) {
    EXPECT_EQ(Refused(std::string(R"({"type":"bytes","name":"org.apache.kafka.connect.data.)"
                                  R"(Decimal","parameters":)") +
                      params + "}"),
              "Decimal schema without a valid \"scale\" parameter")
        << params;
  }
  EXPECT_EQ(Type(R"({"type":"bytes","name":"org.apache.kafka.connect.data.Decimal",)"
                 R"("parameters":{"scale":16383}})")
                .scale,
            16383);
}

TEST(ConnectSchemaTest, EnumsCarryTheirLabels) {
  ValueType e =
      Type(R"({"type":"string","name":"io.debezium.data.Enum","parameters":{"allowed":"a,b c,"}})");
  EXPECT_EQ(e.kind, ValueKind::kEnum);
  EXPECT_EQ(e.type_name, "anyenum");
  EXPECT_EQ(e.type_oid.value, 3500u);
  EXPECT_EQ(e.enum_labels, (std::vector<std::string>{"a", "b c", ""}));
  EXPECT_TRUE(Type(R"({"type":"string","name":"io.debezium.data.Enum"})").enum_labels.empty());
}

TEST(ConnectSchemaTest, ArraysGetTheArrayTypeOfTheirElement) {
  ValueType a = Type(R"({"type":"array","items":{"type":"int32"}})");
  EXPECT_EQ(a.kind, ValueKind::kArray);
  EXPECT_EQ(a.type_name, "_int4");
  EXPECT_EQ(a.type_oid.value, 1007u);
  ASSERT_NE(a.element, nullptr);
  EXPECT_EQ(a.element->kind, ValueKind::kInt32);

  ValueType ts =
      Type(R"({"type":"array","items":{"type":"int64","name":"io.debezium.time.Timestamp"}})");
  EXPECT_EQ(ts.type_name, "_timestamp");
  EXPECT_EQ(ts.type_oid.value, 1115u);
  EXPECT_EQ(ts.typmod, 3);  // the element's, as the catalog has it

  ValueType enums = Type(R"({"type":"array","items":{"type":"string",)"
                         R"("name":"io.debezium.data.Enum"}})");
  EXPECT_EQ(enums.type_name, "_anyenum");
  EXPECT_EQ(enums.type_oid.value, 0u);  // anyenum has no array type

  EXPECT_EQ(Refused(R"({"type":"array","items":{"type":"array","items":{"type":"int32"}}})"),
            "arrays of arrays are not supported");
  EXPECT_EQ(Refused(R"({"type":"array"})"), "array schema has no \"items\"");
  EXPECT_EQ(Refused(R"({"type":"array","items":"int32"})"), "array schema has no \"items\"");
}

TEST(ConnectSchemaTest, MalformedFieldSchemas) {
  EXPECT_EQ(Refused(R"({})"), "field schema has no \"type\"");
  EXPECT_EQ(Refused(R"({"type":5})"), "field schema has no \"type\"");
  EXPECT_EQ(Refused(R"({"type":"int128"})"), "unknown Kafka Connect type \"int128\"");
}

TEST(ConnectSchemaTest, ColumnsOfTheRowStruct) {
  JsonValue envelope = Json(R"({"type":"struct","fields":[
      {"field":"before","type":"struct","fields":[{"field":"old","type":"int32"}]},
      {"field":"after","type":"struct","fields":[
        {"field":"id","type":"int32","optional":false},
        {"field":"name","type":"string","optional":true},
        {"field":"day","type":"int32","name":"io.debezium.time.Date"}]},
      {"field":"op","type":"string"}]})");
  std::vector<ColumnSchema> columns;
  ASSERT_TRUE(ColumnsFromSchema(envelope, &columns).ok());
  ASSERT_EQ(columns.size(), 3u);  // "after" wins over "before"
  EXPECT_EQ(columns[0].name, "id");
  EXPECT_FALSE(columns[0].optional);
  EXPECT_EQ(columns[1].name, "name");
  EXPECT_TRUE(columns[1].optional);
  EXPECT_EQ(columns[2].name, "day");
  EXPECT_FALSE(columns[2].optional);  // "optional" missing
  EXPECT_EQ(columns[2].type.kind, ValueKind::kDate);

  JsonValue deletes_only = Json(R"({"fields":[
      {"field":"before","fields":[{"field":"k","type":"int64"}]}]})");
  columns.clear();
  ASSERT_TRUE(ColumnsFromSchema(deletes_only, &columns).ok());
  ASSERT_EQ(columns.size(), 1u);
  EXPECT_EQ(columns[0].type.kind, ValueKind::kInt64);
}

std::string RefusedColumns(std::string_view envelope) {
  std::vector<ColumnSchema> columns;
  Status s = ColumnsFromSchema(Json(envelope), &columns);
  EXPECT_FALSE(s.ok()) << envelope;
  return s.message();
}

TEST(ConnectSchemaTest, MalformedRowStructs) {
  EXPECT_EQ(RefusedColumns(R"({"fields":[{"field":"op","type":"string"}]})"),
            "the value schema has no \"before\"/\"after\" struct");
  EXPECT_EQ(RefusedColumns(R"({"fields":[{"field":"after","fields":{}}]})"),
            "the value schema has no \"before\"/\"after\" struct");
  EXPECT_EQ(RefusedColumns(R"({"fields":[{"field":"after","fields":[{"type":"int32"}]}]})"),
            "value schema: a row field has no name");
  EXPECT_EQ(RefusedColumns(R"({"fields":[{"field":"after","fields":[)"
                           R"({"field":"a","type":"int32"},{"field":"a","type":"string"}]}]})"),
            "value schema: column \"a\" appears twice");
  EXPECT_EQ(RefusedColumns(R"({"fields":[{"field":"after","fields":[{"field":"a"}]}]})"),
            "value schema: column \"a\": field schema has no \"type\"");
}

}  // namespace
}  // namespace walflow::format
