// Column types of a Debezium record without a schema, inferred from its JSON values (before
// and after together): integers int8, other numbers float8 (also "NaN"/"Infinity"/
// "-Infinity" among numbers), strings text, booleans bool, {"scale":int,"value":string}
// numeric (VariableScaleDecimal), other objects json, arrays of scalars arrays of the
// element type inferred alike (arrays holding arrays or objects, or elements of different
// JSON types: json). A column null everywhere is text; so is one whose values disagree (a
// number in before, a string in after), read as ValueKind::kText. Dates, timestamps,
// decimals and bytes cannot be told from numbers and strings: they read as what they look
// like.
#pragma once

#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "format/json_tree.h"

namespace walflow::format {

// Fills the empty `columns` with those of one record: the members of `after`, then those
// only in `before` (either may be null). Where `previous` (the table's last layout, or null) has a
// column of the same name whose type reads every value of this record, that type is kept, so a
// nullable column does not change the layout on every record. InvalidArgument for a field
// named twice in one image.
Status InferColumns(const JsonValue* before, const JsonValue* after, const TableSchema* previous,
                    std::vector<ColumnSchema>* columns);

}  // namespace walflow::format
