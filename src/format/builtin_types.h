// PostgreSQL's built-in types as walflow ValueTypes, for readers that must name a column's
// type without a catalog (a Debezium event carries no OIDs): name, OID and array type OID
// as src/include/catalog/pg_type.dat has them.
#pragma once

#include <cstdint>

#include "core/change.h"

namespace walflow::format {

struct PgType {
  const char* name;
  uint32_t oid;
  uint32_t array_oid;
};
inline constexpr PgType kPgBool{"bool", 16, 1000};
inline constexpr PgType kPgInt2{"int2", 21, 1005};
inline constexpr PgType kPgInt4{"int4", 23, 1007};
inline constexpr PgType kPgInt8{"int8", 20, 1016};
inline constexpr PgType kPgFloat4{"float4", 700, 1021};
inline constexpr PgType kPgFloat8{"float8", 701, 1022};
inline constexpr PgType kPgNumeric{"numeric", 1700, 1231};
inline constexpr PgType kPgText{"text", 25, 1009};
inline constexpr PgType kPgBytea{"bytea", 17, 1001};
inline constexpr PgType kPgDate{"date", 1082, 1182};
inline constexpr PgType kPgTime{"time", 1083, 1183};
inline constexpr PgType kPgTimetz{"timetz", 1266, 1270};
inline constexpr PgType kPgTimestamp{"timestamp", 1114, 1115};
inline constexpr PgType kPgTimestamptz{"timestamptz", 1184, 1185};
inline constexpr PgType kPgInterval{"interval", 1186, 1187};
inline constexpr PgType kPgUuid{"uuid", 2950, 2951};
inline constexpr PgType kPgJson{"json", 114, 199};
inline constexpr PgType kPgXml{"xml", 142, 143};
// An enum's own type is not in the event; anyenum is the pseudo-type every enum matches.
inline constexpr PgType kPgAnyEnum{"anyenum", 3500, 0};

// A column of type `pg` read as `kind`.
ValueType BuiltinScalar(ValueKind kind, const PgType& pg, int32_t typmod = -1);
// numeric(precision, scale) with its typmod; a negative scale is numeric without constraints
// (precision -1, typmod -1).
ValueType BuiltinNumeric(int32_t precision, int32_t scale);
// An array of `element`, named "_<element>", with the array OID of a type above (0 for any
// other) and, as in the catalog, the element's typmod.
ValueType BuiltinArrayOf(ValueType element);

}  // namespace walflow::format
