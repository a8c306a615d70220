// Kafka Connect schemas (JsonConverter's "schema" part) mapped to walflow column types:
// the inverse of DebeziumJsonEncoder's field schemas, plus Kafka Connect's own logical
// types that Debezium writes with time.precision.mode=connect. Each type gets PostgreSQL's
// type name and OID (builtin_types.h); Debezium semantic names the encoder does not write
// (Bits, Ltree, geometry, ...) are read by their Connect type: string, struct and map as
// text, bytes as bytea.
#pragma once

#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "format/json_tree.h"

namespace walflow::format {

// The value type of one field's schema ({"type":"int32","name":"io.debezium.time.Date"}).
// InvalidArgument for a schema without a type, an unknown type, an array without items or of
// arrays, and a Decimal without a scale in [0, kMaxDecimalScale].
Result<ValueType> TypeFromConnect(const JsonValue& field_schema);

// Appends the columns of the row struct of an envelope schema (its "after" field, else its
// "before"): names, types and optionality, in order. InvalidArgument naming the column for a
// field without a name, a name given twice, or a type TypeFromConnect refuses.
Status ColumnsFromSchema(const JsonValue& envelope_schema, std::vector<ColumnSchema>* columns);

}  // namespace walflow::format
