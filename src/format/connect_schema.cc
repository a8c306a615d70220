#include "format/connect_schema.h"

#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "format/builtin_types.h"
#include "format/connect_decimal.h"
#include "format/debezium_reader_internal.h"

namespace walflow::format {
namespace {

// A Kafka Connect parameter ("scale": "2") as an integer; parameter values are strings.
bool IntParameter(const JsonValue& schema, std::string_view name, int32_t* out) {
  const JsonValue* params = schema.Find("parameters");
  const JsonValue* v = params != nullptr ? params->Find(name) : nullptr;
  if (v == nullptr ||
      (v->type != JsonValue::Type::kString && v->type != JsonValue::Type::kNumber)) {
    return false;
  }
  int64_t n;
  if (!ParseInt64(v->text, &n) || n < std::numeric_limits<int32_t>::min() ||
      n > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(n);
  return true;
}

// The value type of a field's Kafka Connect schema: the inverse of the encoder's
// AppendFieldSchema, and Kafka Connect's own logical types, which Debezium writes in
// time.precision.mode=connect.
Result<ValueType> FieldType(const JsonValue& schema, bool is_element) {
  const JsonValue* type = schema.Find("type");
  if (type == nullptr || type->type != JsonValue::Type::kString) {
    return InvalidArgument("field schema has no \"type\"");
  }
  const JsonValue* name_value = schema.Find("name");
  const std::string_view name =
      name_value != nullptr && name_value->type == JsonValue::Type::kString
          ? std::string_view(name_value->text)
          : std::string_view();
  const std::string_view t = type->text;
  if (t == "boolean") return BuiltinScalar(ValueKind::kBoolean, kPgBool);
  if (t == "int8" || t == "int16") return BuiltinScalar(ValueKind::kInt16, kPgInt2);
  if (t == "int32") {
    if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") {
      return BuiltinScalar(ValueKind::kDate, kPgDate);
    }
    if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time") {
      return BuiltinScalar(ValueKind::kTimeMillis, kPgTime, 3);
    }
    return BuiltinScalar(ValueKind::kInt32, kPgInt4);
  }
  if (t == "int64") {
    if (name == "io.debezium.time.MicroTime") return BuiltinScalar(ValueKind::kTimeMicros, kPgTime);
    if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
      return BuiltinScalar(ValueKind::kTimestampMillis, kPgTimestamp, 3);
    }
    if (name == "io.debezium.time.MicroTimestamp") {
      return BuiltinScalar(ValueKind::kTimestampMicros, kPgTimestamp);
    }
    if (name == "io.debezium.time.MicroDuration")
      return BuiltinScalar(ValueKind::kInterval, kPgInterval);
    return BuiltinScalar(ValueKind::kInt64, kPgInt8);
  }
  if (t == "float" || t == "float32") return BuiltinScalar(ValueKind::kFloat32, kPgFloat4);
  if (t == "double" || t == "float64") return BuiltinScalar(ValueKind::kFloat64, kPgFloat8);
  if (t == "string") {
    if (name.empty()) return BuiltinScalar(ValueKind::kString, kPgText);
    if (name == "io.debezium.time.ZonedTime")
      return BuiltinScalar(ValueKind::kZonedTime, kPgTimetz);
    if (name == "io.debezium.time.ZonedTimestamp") {
      return BuiltinScalar(ValueKind::kZonedTimestamp, kPgTimestamptz);
    }
    if (name == "io.debezium.data.Uuid") return BuiltinScalar(ValueKind::kUuid, kPgUuid);
    if (name == "io.debezium.data.Json") return BuiltinScalar(ValueKind::kJson, kPgJson);
    if (name == "io.debezium.data.Xml") return BuiltinScalar(ValueKind::kXml, kPgXml);
    if (name == "io.debezium.data.Enum") {
      ValueType e = BuiltinScalar(ValueKind::kEnum, kPgAnyEnum);
      const JsonValue* params = schema.Find("parameters");
      const JsonValue* allowed = params != nullptr ? params->Find("allowed") : nullptr;
      if (allowed != nullptr && allowed->type == JsonValue::Type::kString &&
          !allowed->text.empty()) {
        size_t start = 0;
        while (true) {
          size_t comma = allowed->text.find(',', start);
          e.enum_labels.push_back(allowed->text.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
      return e;
    }
    return BuiltinScalar(ValueKind::kText, kPgText);  // Ltree, Interval as ISO text, ...
  }
  if (t == "bytes") {
    if (name == "org.apache.kafka.connect.data.Decimal") {
      int32_t scale, precision = -1;
      if (!IntParameter(schema, "scale", &scale) || scale < 0 || scale > kMaxDecimalScale) {
        return InvalidArgument("Decimal schema without a valid \"scale\" parameter");
      }
      IntParameter(schema, "connect.decimal.precision", &precision);
      return BuiltinNumeric(precision, scale);
    }
    return BuiltinScalar(ValueKind::kBytes, kPgBytea);  // also io.debezium.data.Bits
  }
  if (t == "array") {
    if (is_element) return InvalidArgument("arrays of arrays are not supported");
    const JsonValue* items = schema.Find("items");
    if (items == nullptr || items->type != JsonValue::Type::kObject) {
      return InvalidArgument("array schema has no \"items\"");
    }
    WF_ASSIGN_OR_RETURN(ValueType element, FieldType(*items, true));
    return BuiltinArrayOf(std::move(element));
  }
  if (t == "struct") {
    if (name == "io.debezium.data.VariableScaleDecimal") return BuiltinNumeric(-1, -1);
    return BuiltinScalar(ValueKind::kText, kPgText);  // geometry and others: their JSON text
  }
  if (t == "map") return BuiltinScalar(ValueKind::kText, kPgText);
  return InvalidArgument("unknown Kafka Connect type \"" + type->text + "\"");
}

}  // namespace

Result<ValueType> TypeFromConnect(const JsonValue& field_schema) {
  return FieldType(field_schema, false);
}

Status ColumnsFromSchema(const JsonValue& envelope_schema, std::vector<ColumnSchema>* columns) {
  const JsonValue* fields = envelope_schema.Find("fields");
  const JsonValue* row = nullptr;
  if (fields != nullptr) {
    for (const char* image : {"after", "before"}) {
      for (const JsonValue& f : fields->items) {
        const JsonValue* name = f.Find("field");
        const JsonValue* row_fields = f.Find("fields");
        if (row == nullptr && name != nullptr && name->text == image && row_fields != nullptr &&
            row_fields->type == JsonValue::Type::kArray) {
          row = row_fields;
        }
      }
    }
  }
  if (row == nullptr) return InvalidArgument("the value schema has no \"before\"/\"after\" struct");
  std::unordered_map<std::string_view, size_t> seen;
  for (const JsonValue& f : row->items) {
    const JsonValue* name = f.Find("field");
    if (name == nullptr || name->type != JsonValue::Type::kString) {
      return InvalidArgument("value schema: a row field has no name");
    }
    if (!seen.emplace(name->text, columns->size()).second) {
      return InvalidArgument("value schema: column " + Quoted(name->text) + " appears twice");
    }
    ColumnSchema c;
    c.name = name->text;
    Result<ValueType> type = TypeFromConnect(f);
    if (!type.ok()) {
      return type.status().WithContext("value schema: column " + Quoted(c.name));
    }
    c.type = std::move(type).value();
    const JsonValue* optional = f.Find("optional");
    c.optional =
        optional != nullptr && optional->type == JsonValue::Type::kBoolean && optional->boolean;
    columns->push_back(std::move(c));
  }
  return Status::OK();
}

}  // namespace walflow::format
