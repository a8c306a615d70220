// An order-preserving ("memcomparable") encoding of tuples of Values for RocksDB keys:
// memcmp of two encodings orders as the tuples do column by column under Value::Compare
// (for values of the same column type), so range scans serve min/max and group keys.
// Every column's encoding is self-delimiting, so a tuple's encoding is a prefix of any
// longer tuple's that starts with the same values.
//
// Per column: a null byte (NULL sorts first or last) or 0x01 followed by the value:
//   integers, date, timestamps  big-endian with the sign bit flipped (int2/int4/int8 and
//                               timestamps 8 bytes, date 4)
//   bool                        one byte
//   float4/float8               8 bytes of the double, -0 as 0, every NaN as one NaN above
//                               +Infinity
//   numeric                     a class byte (-Inf, negative, zero, positive, +Inf, NaN),
//                               then for finite non-zero values the exponent and the
//                               significant digits two per byte (complemented if negative)
//                               and a terminator. The display scale is not kept: 1.5 and
//                               1.50 encode alike, and decode to the smallest scale.
//   text, jsonb                 bytes with 0x00 as 0x00 0xFF, terminated by 0x00 0x01
//   interval                    the span (16 bytes) then months and days, so intervals
//                               order by span; equal spans with different fields differ.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sql/value.h"

namespace walflow::sql {

enum class NullOrder { kNullsFirst, kNullsLast };

class KeyEncoder {
 public:
  // PostgreSQL's default for ascending order is NULLS LAST.
  explicit KeyEncoder(NullOrder nulls = NullOrder::kNullsLast) : nulls_(nulls) {}

  // Appends one column's encoding. Values of int types encode alike (8 bytes), so a column
  // may mix int2/int4/int8; other columns must keep one type.
  void Append(const Value& v, std::string* out) const;
  std::string Encode(std::span<const Value> tuple) const;

  // Reads one column of type `type` from the front of `*in` and advances it.
  Result<Value> DecodeOne(SqlType type, std::string_view* in) const;
  // Reads a whole tuple of the given column types; fails if bytes are left over.
  Result<std::vector<Value>> Decode(std::span<const SqlType> types, std::string_view in) const;

 private:
  NullOrder nulls_;
};

}  // namespace walflow::sql
