#include "format/schema_inference.h"

#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "format/builtin_types.h"
#include "format/debezium_reader_internal.h"

namespace walflow::format {
namespace {

// The JSON shape of a column's values, widened over all of them.
enum class Shape : uint8_t {
  kNone,  // only nulls seen
  kBoolean,
  kInteger,
  kFloat,
  kSpecialFloat,  // "NaN", "Infinity", "-Infinity": a float among numbers, else a string
  kString,
  kDecimalStruct,  // {"scale":..,"value":..}: VariableScaleDecimal
  kJson,           // any other object, or an array PostgreSQL's arrays cannot hold
  kArray,
  kConflict,  // values of different JSON types (a number and a string): read as text
};

struct ColumnShape {
  Shape shape = Shape::kNone;
  Shape element = Shape::kNone;  // kArray
  bool operator==(const ColumnShape&) const = default;
};

Shape JoinScalar(Shape a, Shape b) {
  if (a == b || b == Shape::kNone) return a;
  if (a == Shape::kNone) return b;
  auto numeric = [](Shape s) {
    return s == Shape::kInteger || s == Shape::kFloat || s == Shape::kSpecialFloat;
  };
  auto either = [&](Shape x, Shape y) { return (a == x && b == y) || (a == y && b == x); };
  if (numeric(a) && numeric(b)) return Shape::kFloat;
  if (either(Shape::kSpecialFloat, Shape::kString)) return Shape::kString;
  if (either(Shape::kDecimalStruct, Shape::kJson)) return Shape::kJson;
  return Shape::kConflict;
}

ColumnShape Join(ColumnShape a, ColumnShape b) {
  if (a.shape == Shape::kArray && b.shape == Shape::kArray) {
    Shape e = JoinScalar(a.element, b.element);
    return e == Shape::kConflict ? ColumnShape{Shape::kJson} : ColumnShape{Shape::kArray, e};
  }
  auto json_like = [](Shape s) { return s == Shape::kJson || s == Shape::kDecimalStruct; };
  if ((a.shape == Shape::kArray && json_like(b.shape)) ||
      (b.shape == Shape::kArray && json_like(a.shape))) {
    return {Shape::kJson};
  }
  if (a.shape == Shape::kArray) return b.shape == Shape::kNone ? a : ColumnShape{Shape::kConflict};
  if (b.shape == Shape::kArray) return a.shape == Shape::kNone ? b : ColumnShape{Shape::kConflict};
  return {JoinScalar(a.shape, b.shape)};
}

bool IsDecimalStruct(const JsonValue& v) {
  if (v.keys.size() != 2) return false;
  const JsonValue* scale = v.Find("scale");
  const JsonValue* value = v.Find("value");
  return scale != nullptr && value != nullptr && scale->type == JsonValue::Type::kNumber &&
         IsIntegerText(scale->text) && value->type == JsonValue::Type::kString;
}

Shape ScalarShape(const JsonValue& v) {
  int64_t n;
  switch (v.type) {
    case JsonValue::Type::kNull: return Shape::kNone;
    case JsonValue::Type::kBoolean: return Shape::kBoolean;
    case JsonValue::Type::kNumber: return ParseInt64(v.text, &n) ? Shape::kInteger : Shape::kFloat;
    case JsonValue::Type::kString:
      return IsSpecialFloat(v.text) ? Shape::kSpecialFloat : Shape::kString;
    case JsonValue::Type::kObject: return IsDecimalStruct(v) ? Shape::kDecimalStruct : Shape::kJson;
    case JsonValue::Type::kArray: break;
  }
  return Shape::kJson;
}

ColumnShape ShapeOf(const JsonValue& v) {
  if (v.type != JsonValue::Type::kArray) return {ScalarShape(v)};
  ColumnShape s{Shape::kArray};
  for (const JsonValue& item : v.items) {
    Shape e = item.type == JsonValue::Type::kArray ? Shape::kJson : ScalarShape(item);
    if (e == Shape::kJson) return {Shape::kJson};
    s.element = JoinScalar(s.element, e);
    if (s.element == Shape::kConflict) return {Shape::kJson};
  }
  return s;
}

ValueType ScalarTypeOf(Shape s) {
  switch (s) {
    case Shape::kBoolean: return BuiltinScalar(ValueKind::kBoolean, kPgBool);
    case Shape::kInteger: return BuiltinScalar(ValueKind::kInt64, kPgInt8);
    case Shape::kFloat: return BuiltinScalar(ValueKind::kFloat64, kPgFloat8);
    case Shape::kDecimalStruct: return BuiltinNumeric(-1, -1);
    case Shape::kJson: return BuiltinScalar(ValueKind::kJson, kPgJson);
    case Shape::kConflict: return BuiltinScalar(ValueKind::kText, kPgText);
    case Shape::kNone:
    case Shape::kSpecialFloat:
    case Shape::kString:
    case Shape::kArray: break;
  }
  return BuiltinScalar(ValueKind::kString, kPgText);
}

ValueType TypeOf(ColumnShape s) {
  if (s.shape == Shape::kArray) return BuiltinArrayOf(ScalarTypeOf(s.element));
  return ScalarTypeOf(s.shape);
}

// The shape of the values an inferred type reads, for types inference produces.
std::optional<ColumnShape> ShapeOfType(const ValueType& t) {
  switch (t.kind) {
    case ValueKind::kBoolean: return ColumnShape{Shape::kBoolean};
    case ValueKind::kInt64: return ColumnShape{Shape::kInteger};
    case ValueKind::kFloat64: return ColumnShape{Shape::kFloat};
    case ValueKind::kString: return ColumnShape{Shape::kString};
    case ValueKind::kJson: return ColumnShape{Shape::kJson};
    case ValueKind::kDecimal:
      if (t.scale < 0) return ColumnShape{Shape::kDecimalStruct};
      return std::nullopt;
    case ValueKind::kArray: {
      std::optional<ColumnShape> e = ShapeOfType(*t.element);
      if (!e || e->shape == Shape::kArray) return std::nullopt;
      return ColumnShape{Shape::kArray, e->shape};
    }
    default: return std::nullopt;
  }
}

}  // namespace

Status InferColumns(const JsonValue* before, const JsonValue* after, const TableSchema* previous,
                    std::vector<ColumnSchema>* columns) {
  std::unordered_map<std::string_view, size_t> index;
  std::vector<ColumnShape> shapes;
  for (const auto& [image, row] : {std::pair{"after", after}, std::pair{"before", before}}) {
    if (row == nullptr) continue;
    std::vector<bool> seen(shapes.size(), false);
    for (size_t i = 0; i < row->keys.size(); ++i) {
      auto [it, added] = index.emplace(row->keys[i], shapes.size());
      if (added) {
        ColumnSchema c;
        c.name = row->keys[i];
        columns->push_back(std::move(c));
        shapes.emplace_back();
        seen.push_back(false);
      }
      if (seen[it->second]) {
        return InvalidArgument("field " + Quoted(row->keys[i]) + " appears twice in \"" + image +
                               "\"");
      }
      seen[it->second] = true;
      shapes[it->second] = Join(shapes[it->second], ShapeOf(row->items[i]));
    }
  }
  for (size_t i = 0; i < columns->size(); ++i) {
    ColumnSchema& c = (*columns)[i];
    // Keep the type of the previous layout where it reads every value of this record.
    const ColumnSchema* old = nullptr;
    if (previous != nullptr) {
      if (i < previous->columns.size() && previous->columns[i].name == c.name) {
        old = &previous->columns[i];
      } else {
        for (const ColumnSchema& o : previous->columns) {
          if (o.name == c.name) old = &o;
        }
      }
    }
    std::optional<ColumnShape> old_shape;
    if (old != nullptr) old_shape = ShapeOfType(old->type);
    c.type = old_shape && Join(*old_shape, shapes[i]) == *old_shape ? old->type : TypeOf(shapes[i]);
  }
  return Status::OK();
}

}  // namespace walflow::format
