// A parsed JSON document as a tree that keeps every number as written, so a float column
// reads back to the same text ("-0", "1.50", "1e+20") and an integer of any length can be
// range-checked by the caller. Nesting is bounded (kMaxJsonDepth) so hostile input cannot
// exhaust the stack. The Debezium reader's view of a Kafka record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace walflow::format {

// Deeper JSON than any Debezium event needs is refused.
inline constexpr int kMaxJsonDepth = 64;

struct JsonValue {
  enum class Type : uint8_t { kNull, kBoolean, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;               // kString: the value; kNumber: the number as written
  std::vector<std::string> keys;  // kObject: member names, in order (duplicates kept)
  std::vector<JsonValue> items;   // kArray: the elements; kObject: the member values

  bool is_null() const { return type == Type::kNull; }
  // The first member named `key`, or nullptr (also for a non-object).
  const JsonValue* Find(std::string_view key) const {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

// "null", "boolean", "number", "string", "array" or "object", for messages.
const char* JsonTypeName(const JsonValue& v);

// Parses the whole of `text`. A malformed document, or one nested deeper than
// kMaxJsonDepth, is InvalidArgument "<what> is not JSON at byte <n>: <reason>".
Result<JsonValue> ParseJson(std::string_view text, const char* what);

// Compact JSON text of `v`, numbers as written, strings escaped as Jackson escapes them.
void AppendJson(const JsonValue& v, std::string* out);

// Whether `t` is an optional '-' and one or more ASCII digits.
bool IsIntegerText(std::string_view t);
// `t` as an integer when it is integer text within range.
bool ParseInt64(std::string_view t, int64_t* out);
bool ParseUint64(std::string_view t, uint64_t* out);
// Jackson's quoted spellings of the non-finite floats: "NaN", "Infinity", "-Infinity".
bool IsSpecialFloat(std::string_view t);

}  // namespace walflow::format
