#include "format/debezium_values.h"

#include <limits>

#include "format/connect_decimal.h"
#include "format/debezium_reader_internal.h"
#include "format/iso8601.h"
#include "pg/text_codec.h"
#include "pg/text_format.h"

namespace walflow::format {
namespace {

Status ReadInteger(const JsonValue& v, int64_t* n) {
  if (v.type != JsonValue::Type::kNumber) return Expected("an integer", v);
  if (!ParseInt64(v.text, n)) {
    return InvalidArgument("expected an integer, got " +
                           std::string(IsIntegerText(v.text) ? "out-of-range " : "") + "number " +
                           Shown(v.text));
  }
  return Status::OK();
}

Status OutOfRange(const JsonValue& v, const char* what) {
  return InvalidArgument(v.text.substr(0, 64) + " is out of range for " + what);
}

Status AppendDecimalValue(const JsonValue& v, int32_t scale, std::string* out) {
  if (v.type != JsonValue::Type::kString) return Expected("a base64 string", v);
  return AppendBase64Decimal(v.text, scale, out);
}

}  // namespace

bool IsPlaceholder(const ValueType& type, const JsonValue& v, const std::string& placeholder,
                   const std::string& placeholder_base64) {
  switch (type.kind) {
    case ValueKind::kBytes:
      return v.type == JsonValue::Type::kString && v.text == placeholder_base64;
    case ValueKind::kDecimal:
      return type.scale >= 0 && v.type == JsonValue::Type::kString && v.text == placeholder_base64;
    case ValueKind::kArray:
      return v.type == JsonValue::Type::kArray && v.items.size() == 1 &&
             IsPlaceholder(*type.element, v.items[0], placeholder, placeholder_base64);
    case ValueKind::kString:
    case ValueKind::kText:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kXml:
    case ValueKind::kEnum:
    case ValueKind::kZonedTime:
    case ValueKind::kZonedTimestamp:
      return v.type == JsonValue::Type::kString && v.text == placeholder;
    case ValueKind::kBoolean:
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64:
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
    case ValueKind::kDate:
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kInterval: return false;  // the encoder writes null
  }
  return false;
}

Status AppendValueText(const ValueType& type, const JsonValue& v, std::string* out) {
  switch (type.kind) {
    case ValueKind::kBoolean:
      if (v.type != JsonValue::Type::kBoolean) return Expected("a boolean", v);
      pg::AppendBool(v.boolean, out);
      return Status::OK();
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      const int64_t limit = type.kind == ValueKind::kInt16   ? std::numeric_limits<int16_t>::max()
                            : type.kind == ValueKind::kInt32 ? std::numeric_limits<int32_t>::max()
                                                             : std::numeric_limits<int64_t>::max();
      if (n > limit || n < -limit - 1) return OutOfRange(v, type.type_name.c_str());
      out->append(v.text);
      return Status::OK();
    }
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
      if (v.type == JsonValue::Type::kNumber ||
          (v.type == JsonValue::Type::kString && IsSpecialFloat(v.text))) {
        out->append(v.text);
        return Status::OK();
      }
      return Expected("a number", v);
    case ValueKind::kDecimal: {
      if (type.scale >= 0) return AppendDecimalValue(v, type.scale, out);
      if (v.type != JsonValue::Type::kObject) return Expected("a {scale, value} object", v);
      const JsonValue* scale = v.Find("scale");
      const JsonValue* value = v.Find("value");
      if (scale == nullptr || value == nullptr) {
        return InvalidArgument("VariableScaleDecimal without \"scale\" and \"value\"");
      }
      int64_t s;
      WF_RETURN_IF_ERROR(ReadInteger(*scale, &s).WithContext("scale"));
      if (s < -kMaxDecimalScale || s > kMaxDecimalScale) return OutOfRange(*scale, "a scale");
      return AppendDecimalValue(*value, static_cast<int32_t>(s), out);
    }
    case ValueKind::kString:
    case ValueKind::kUuid:
    case ValueKind::kXml:
    case ValueKind::kEnum:
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      out->append(v.text);
      return Status::OK();
    case ValueKind::kJson:
      // A string with a schema; without one, an object or array.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
      } else if (v.type == JsonValue::Type::kObject || v.type == JsonValue::Type::kArray) {
        AppendJson(v, out);
      } else {
        return Expected("a string", v);
      }
      return Status::OK();
    case ValueKind::kText:
      // Structs and maps of types the encoder does not write (geometry), and schemaless
      // columns whose values disagree in type: strings as themselves, the rest as JSON text.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
      } else {
        AppendJson(v, out);
      }
      return Status::OK();
    case ValueKind::kBytes: {
      if (v.type != JsonValue::Type::kString) return Expected("a base64 string", v);
      std::string bytes;
      if (!DecodeBase64(v.text, &bytes)) return InvalidArgument("bad base64 " + Shown(v.text));
      pg::AppendByteaHex(bytes, out);
      return Status::OK();
    }
    case ValueKind::kDate: {
      int64_t days;
      WF_RETURN_IF_ERROR(ReadInteger(v, &days));
      if (days == std::numeric_limits<int32_t>::max()) {
        out->append("infinity");
      } else if (days == std::numeric_limits<int32_t>::min()) {
        out->append("-infinity");
      } else if (days > std::numeric_limits<int32_t>::max() ||
                 days < std::numeric_limits<int32_t>::min()) {
        return OutOfRange(v, "a date");
      } else {
        pg::AppendDate(days, out);
      }
      return Status::OK();
    }
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      const int64_t unit = type.kind == ValueKind::kTimeMillis ? 1000 : 1;
      if (n < 0 || n > pg::kMicrosPerDay / unit) return OutOfRange(v, "a time of day");
      pg::AppendClock(n * unit, out);
      return Status::OK();
    }
    case ValueKind::kZonedTime: {
      int64_t micros;
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      if (!ParseIsoTime(v.text, &micros)) {
        return InvalidArgument(Shown(v.text) + " is not an ISO-8601 time with offset");
      }
      pg::AppendTimeTz(micros, out);
      return Status::OK();
    }
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros: {
      int64_t n;
      WF_RETURN_IF_ERROR(ReadInteger(v, &n));
      // The encoder writes PostgreSQL's infinities as the int64 extremes.
      if (n == std::numeric_limits<int64_t>::max()) {
        out->append("infinity");
        return Status::OK();
      }
      if (n == std::numeric_limits<int64_t>::min()) {
        out->append("-infinity");
        return Status::OK();
      }
      int64_t micros = n;
      if (type.kind == ValueKind::kTimestampMillis &&
          __builtin_mul_overflow(n, int64_t{1000}, &micros)) {
        return OutOfRange(v, "a timestamp");
      }
      pg::AppendTimestamp(micros, out);
      return Status::OK();
    }
    case ValueKind::kZonedTimestamp: {
      if (v.type != JsonValue::Type::kString) return Expected("a string", v);
      if (v.text == "infinity" || v.text == "-infinity") {
        out->append(v.text);
        return Status::OK();
      }
      int64_t days, micros_of_day;
      if (!ParseIsoTimestamp(v.text, &days, &micros_of_day)) {
        return InvalidArgument(Shown(v.text) + " is not an ISO-8601 timestamp with offset");
      }
      pg::AppendTimestampTz(days, micros_of_day, out);
      return Status::OK();
    }
    case ValueKind::kInterval: {
      int64_t micros;
      WF_RETURN_IF_ERROR(ReadInteger(v, &micros));
      pg::AppendInterval(micros, out);
      return Status::OK();
    }
    case ValueKind::kArray: {
      // The encoder writes a multi-dimensional array as its PostgreSQL text.
      if (v.type == JsonValue::Type::kString) {
        out->append(v.text);
        return Status::OK();
      }
      if (v.type != JsonValue::Type::kArray) return Expected("an array", v);
      const char delimiter = pg::ArrayDelimiter(type.element->type_oid.value);
      std::string element;
      out->push_back('{');
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out->push_back(delimiter);
        if (v.items[i].is_null()) {
          out->append("NULL");
          continue;
        }
        element.clear();
        WF_RETURN_IF_ERROR(AppendValueText(*type.element, v.items[i], &element)
                               .WithContext("array element " + std::to_string(i + 1)));
        pg::AppendArrayElement(element, delimiter, out);
      }
      out->push_back('}');
      return Status::OK();
    }
  }
  return Internal("unknown value kind");
}

}  // namespace walflow::format
