// Debezium JSON events read back into walflow change events: the inverse of
// DebeziumJsonEncoder, for a source that consumes Debezium-format Kafka topics written by
// walflow or by Debezium's PostgreSQL connector, with or without Kafka Connect's
// {"schema":...,"payload":...} wrapper.
//
// Change fields. op c/u/d/r/t gives ChangeOp ('t' carries no rows). source.snapshot "true",
// "first", "last", "incremental" give that SnapshotMark ("first_in_data_collection",
// "last_in_data_collection" and a boolean true read as kTrue; "false" as kNone). lsn is
// source.lsn. commit_lsn is the first element of source.sequence when it holds a number,
// else source.lsn: walflow writes its transaction's commit LSN there; Debezium writes the
// LSN of the last commit it processed before the event (the previous transaction's),
// which is equally shared by all events of a transaction and never decreases, so it still
// groups and orders events. xid is the low 32 bits of source.txId (Debezium's snapshot
// writes txid_current(), which carries the epoch above them). commit_time_us is source.ts_us,
// else source.ts_ms * 1000. seq is transaction.total_order when the event has a
// transaction block, else 0 (the caller may renumber).
//
// Table. source.schema and source.table name it; without them the topic does
// ("<prefix>.<schema>.<table>": the last two parts; fewer than three parts: schema "public",
// the last part as the table). The key's field names, in order, are the key columns.
// TableSchema::relid is a number the reader assigns per table name (events carry no OID).
// A table keeps its TableSchema (the same pointer) while its layout is unchanged; a new
// layout gets a new TableSchema with a larger version. Versions are unique per reader.
//
// Column types with a schema: the Kafka Connect type and Debezium semantic name of each
// field, mapped back as the encoder maps them (io.debezium.time.*, io.debezium.data.Uuid,
// Json, Xml, Enum, org.apache.kafka.connect.data.Decimal and Date/Time/Timestamp,
// io.debezium.data.VariableScaleDecimal), with PostgreSQL's type name and OID; names the
// encoder does not write (Bits, Ltree, geometry, ...) are read by their Connect type
// (string and struct as text, bytes as bytea). A decimal written as a string or double
// (decimal.handling.mode) reads as what it is written as.
//
// Column types without a schema are inferred from the JSON values of the record (before
// and after): integers int8, other numbers float8 (also for "NaN"/"Infinity"/"-Infinity"
// among numbers), strings text, booleans bool, {"scale":int,"value":base64} numeric
// (VariableScaleDecimal), other objects json (their JSON text), arrays of scalars arrays
// of the element type inferred the same way (arrays holding arrays or objects: json). A
// column null everywhere is text; so is one whose values disagree (a number in before, a
// string in after): strings as themselves, other values as their JSON text. Where the table's
// previous layout already has a type that reads every value of the record, that type is kept, so a
// nullable column does not change the layout on every record. Dates, timestamps, decimals and bytes
// cannot be told apart from numbers and strings: they read as what they look like.
//
// Values become PostgreSQL's text form (DateStyle ISO, IntervalStyle postgres, UTC), the
// text DebeziumJsonEncoder turns back into the same JSON value: dates "2024-03-01" (" BC"
// before year 1, "infinity" for Debezium's int32 extremes), timestamps
// "2024-03-01 12:34:56.123456" (fraction without trailing zeros; "+00" for zoned ones),
// intervals "1 year 2 mons 3 days 04:05:06.789" (MicroDuration's 30.4375-day month),
// decimals "-123.45" (any length), bytea "\x0102", booleans "t"/"f", numbers as written,
// arrays as array literals ({1,NULL,"a b"}). The placeholder string, written as the
// encoder writes it for the column's type, reads as unchanged TOAST; JSON null as NULL.
//
// Not thread-safe: one reader per consumer.
//
// The pieces: json_tree.h parses the record, connect_schema.h and schema_inference.h give
// the column types, debezium_values.h the values' text (written by pg/text_format.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/change.h"
#include "core/status.h"

namespace walflow::format {

struct DebeziumReaderOptions {
  // Debezium's unavailable.value.placeholder: the value of a column that is unchanged TOAST.
  std::string unavailable_value_placeholder = "__debezium_unavailable_value";
};

class DebeziumReader {
 public:
  explicit DebeziumReader(DebeziumReaderOptions options = {});

  // Appends the change carried by one Kafka record to `batch`: one Change and its rows,
  // with its TableSchema retained by the batch. `topic` names the table when the event
  // does not; `key` is the record key (empty for a null key). Sets *added = false and
  // returns OK for a tombstone (empty or null value) and for records that are not row
  // changes (heartbeats, transaction metadata, schema changes, logical decoding messages,
  // op "m"). Returns InvalidArgument naming the problem for a malformed record, and then
  // leaves `batch` as it was; the message does not name the topic or offset, which the
  // caller adds.
  Status Append(std::string_view topic, std::string_view key, std::string_view value,
                ChangeBatch* batch, bool* added);

 private:
  struct TableState {
    Oid relid;
    TableSchemaPtr schema;  // the layout of the last record read, null until one is
  };

  // Returns the cached schema of `table` when `layout` equals it, else caches `layout` as a
  // new version.
  TableSchemaPtr Intern(TableState* state, TableSchema layout);

  DebeziumReaderOptions options_;
  std::string placeholder_base64_;  // the placeholder as bytes and fixed-scale decimals carry it
  std::map<std::pair<std::string, std::string>, TableState> tables_;  // by (schema, table)
  uint32_t last_version_ = 0;
  uint32_t last_relid_ = 0;
  // A record's values in text form, and its datums pointing into text_, until it is
  // appended (kept between calls to reuse their capacity).
  std::string text_;
  std::vector<Datum> before_;
  std::vector<Datum> after_;
};

}  // namespace walflow::format
