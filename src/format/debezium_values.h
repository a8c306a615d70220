// One Debezium JSON value of a column read as PostgreSQL's text form (pg/text_format.h):
// the text DebeziumJsonEncoder turns back into the same JSON value. The forms per type are
// listed in debezium_reader.h.
#pragma once

#include <string>

#include "core/change.h"
#include "core/status.h"
#include "format/json_tree.h"

namespace walflow::format {

// Whether `v` is the unavailable-value placeholder as the encoder writes it for a column of
// `type`: `placeholder` for strings, `placeholder_base64` (its bytes in base64) for bytes
// and fixed-scale decimals, a one-element array of either for arrays. Types the encoder
// writes as null for an unchanged TOAST value (numbers, dates, times) have none.
bool IsPlaceholder(const ValueType& type, const JsonValue& v, const std::string& placeholder,
                   const std::string& placeholder_base64);

// Appends the PostgreSQL text of the non-null value `v` of a column of `type`.
// InvalidArgument naming what was expected for a value of the wrong JSON type or out of the
// type's range (an array element's error names its position).
Status AppendValueText(const ValueType& type, const JsonValue& v, std::string* out);

}  // namespace walflow::format
