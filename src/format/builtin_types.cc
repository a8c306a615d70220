#include "format/builtin_types.h"

#include <memory>
#include <utility>

namespace walflow::format {
namespace {

constexpr const PgType* kPgTypes[] = {
    &kPgBool,     &kPgInt2,  &kPgInt4, &kPgInt8, &kPgFloat4, &kPgFloat8,    &kPgNumeric,
    &kPgText,     &kPgBytea, &kPgDate, &kPgTime, &kPgTimetz, &kPgTimestamp, &kPgTimestamptz,
    &kPgInterval, &kPgUuid,  &kPgJson, &kPgXml,  &kPgAnyEnum};

}  // namespace

ValueType BuiltinScalar(ValueKind kind, const PgType& pg, int32_t typmod) {
  ValueType t;
  t.kind = kind;
  t.type_name = pg.name;
  t.type_oid = Oid(pg.oid);
  t.typmod = typmod;
  return t;
}

ValueType BuiltinNumeric(int32_t precision, int32_t scale) {
  int32_t typmod = precision >= 0 && scale >= 0 ? ((precision << 16) | scale) + 4 : -1;
  ValueType t = BuiltinScalar(ValueKind::kDecimal, kPgNumeric, typmod);
  t.precision = scale >= 0 ? precision : -1;
  t.scale = scale;
  return t;
}

ValueType BuiltinArrayOf(ValueType element) {
  ValueType t;
  t.kind = ValueKind::kArray;
  t.type_name = "_" + element.type_name;
  for (const PgType* pg : kPgTypes) {
    if (pg->oid == element.type_oid.value) t.type_oid = Oid(pg->array_oid);
  }
  t.typmod = element.typmod;
  t.element = std::make_shared<const ValueType>(std::move(element));
  return t;
}

}  // namespace walflow::format
