// The Parquet layout of a table's change rows, and the conversion of one change into one
// row: the table's columns (the after image; the before image for a delete) and the
// metadata columns
//   _op         c, u, d, r (snapshot read) or t (truncate)         STRING, required
//   _lsn        commit LSN of the transaction (snapshot: the chunk) INT64, required
//   _seq        order within the transaction, from 1                INT64, required
//   _txid       transaction id                                      INT64, required
//   _commit_ts  commit time                                         TIMESTAMP(µs, UTC)
//   _unchanged  JSON array of the columns PostgreSQL did not send   JSON, NULL if none
//               (unchanged TOASTed values of an update: those columns are NULL here and
//               keep their previous value)
// Replaying a table's rows in (_lsn, _seq) order yields the table.
//
// Column types (all OPTIONAL: deletes carry only the key, truncates no column):
//   boolean → BOOLEAN; int2/int4/int8 → INT32/INT32/INT64 (INTEGER(16/32/64, signed));
//   float4 → FLOAT; float8 → DOUBLE; numeric(p,s) with p ≤ 38 → DECIMAL(p,s) on INT32
//   (p ≤ 9), INT64 (p ≤ 18) or FIXED_LEN_BYTE_ARRAY; other numerics → STRING;
//   date → DATE; time → TIME(µs, local); timetz → TIME(µs, UTC); timestamp → TIMESTAMP(µs,
//   local); timestamptz → TIMESTAMP(µs, UTC); ±infinity dates and timestamps as the
//   largest/smallest value (DuckDB reads them as infinity); uuid → UUID; json/jsonb →
//   JSON; enums → ENUM; bytea → BYTE_ARRAY; arrays → JSON (Debezium's rendering of the
//   elements); interval, xml and every other type → STRING (PostgreSQL's text form).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "format/debezium_json.h"
#include "format/parquet_writer.h"

namespace walflow::format::parquet {

class ChangeRowEncoder {
 public:
  // FailedPrecondition when a column's name clashes with a metadata column.
  static Result<std::unique_ptr<ChangeRowEncoder>> ForTable(const TableSchema& table);

  const std::vector<ColumnSpec>& columns() const { return specs_; }
  // Whether `table` (a later version of the schema) has the same Parquet layout.
  bool SameLayout(const TableSchema& table) const;

  // Appends `change` as one row. InvalidArgument naming the table and column when a value
  // does not fit the column's type; the writer must then be discarded.
  Status Append(const ChangeBatch& batch, const Change& change, ParquetWriter* writer);

 private:
  struct Column {
    std::string name;
    ValueType type;
    std::string pg_type;  // for messages: "numeric(10,2)"
  };
  ChangeRowEncoder();
  Status AppendValue(size_t index, std::string_view text, ParquetWriter* writer);

  std::string table_name_;
  std::vector<Column> columns_;
  std::vector<ColumnSpec> specs_;
  DebeziumJsonEncoder json_;  // arrays
  std::string scratch_;
};

}  // namespace walflow::format::parquet
