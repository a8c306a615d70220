// Change events: typed table schemas, rows and the batches that carry them from the
// source to the sinks. A batch owns the bytes of all its values, so moving a change
// costs no heap allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace walflow {

// How a column's values are represented in events (Debezium's type mapping). Resolved
// once per table schema from the PostgreSQL type, never per value.
enum class ValueKind : uint8_t {
  kBoolean,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kDecimal,          // numeric; rendering depends on decimal_handling
  kString,           // text, varchar, char, name and the text fallback
  kBytes,            // bytea
  kDate,             // io.debezium.time.Date: days since 1970-01-01
  kTimeMillis,       // io.debezium.time.Time: time(0..3), ms since midnight
  kTimeMicros,       // io.debezium.time.MicroTime: time(4..6), µs since midnight
  kZonedTime,        // io.debezium.time.ZonedTime: timetz as ISO-8601 in UTC
  kTimestampMillis,  // io.debezium.time.Timestamp: timestamp(0..3)
  kTimestampMicros,  // io.debezium.time.MicroTimestamp: timestamp(4..6)
  kZonedTimestamp,   // io.debezium.time.ZonedTimestamp: timestamptz as ISO-8601 in UTC
  kInterval,         // io.debezium.time.MicroDuration
  kUuid,             // io.debezium.data.Uuid
  kJson,             // io.debezium.data.Json (json and jsonb)
  kXml,              // io.debezium.data.Xml
  kEnum,             // io.debezium.data.Enum
  kArray,            // one-dimensional array of `element`
  kText,             // any other type: its PostgreSQL text form, as a string
};

const char* ValueKindName(ValueKind kind);

struct ValueType {
  ValueKind kind = ValueKind::kText;
  Oid type_oid;
  int32_t typmod = -1;
  std::string type_name;  // e.g. "int4", "public.mood", for logs and schema parameters
  // kDecimal: precision and scale from the typmod; scale < 0 means unconstrained
  // (io.debezium.data.VariableScaleDecimal).
  int32_t precision = -1;
  int32_t scale = -1;
  std::vector<std::string> enum_labels;      // kEnum, and kArray of kEnum
  std::shared_ptr<const ValueType> element;  // kArray
};

struct ColumnSchema {
  std::string name;
  ValueType type;
  bool optional = true;           // false when the column is NOT NULL
  bool replica_key = false;       // part of the replica identity (pgoutput's flag)
  int primary_key_position = -1;  // position in the primary key, -1 if not part of it
};

// A table's column layout at one point of the stream. A new Relation message for the
// same table creates a new TableSchema with a larger version; events keep a pointer to
// the schema they were decoded with.
// Unique within the process for every schema object made (copies share it): a cache keyed
// by it cannot confuse a freed schema with a new one at the same address.
uint64_t NextTableSchemaSerial();

struct TableSchema {
  uint64_t serial = NextTableSchemaSerial();
  Oid relid;
  std::string schema;
  std::string name;
  char replica_identity = 'd';  // d(efault), n(othing), f(ull), i(ndex)
  uint32_t version = 0;
  std::vector<ColumnSchema> columns;
  std::vector<int> key_columns;  // indexes of the Debezium key columns, in key order

  std::string QualifiedName() const { return schema + "." + name; }
};

using TableSchemaPtr = std::shared_ptr<const TableSchema>;

enum class ChangeOp : char {
  kCreate = 'c',
  kUpdate = 'u',
  kDelete = 'd',
  kTruncate = 't',
  kRead = 'r',
};

// One column value: NULL, the text form PostgreSQL sent (stored in the batch's bytes),
// or "unchanged TOAST" (the server did not send a value that did not change). Offsets are
// 32-bit so that a Datum stays 12 bytes: a batch never holds more than
// ChangeBatch::kMaxBytes bytes of values (its builders check HasRoomFor before a row).
struct Datum {
  enum class Kind : uint8_t { kNull, kUnchangedToast, kText };
  Kind kind = Kind::kNull;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// Debezium's source.snapshot of a snapshot row: the first and last row of the initial
// snapshot say so, every other read says "true", and rows read while the stream runs
// (watermark method) say "incremental". Stream changes say "false".
enum class SnapshotMark : uint8_t { kNone, kTrue, kFirst, kLast, kIncremental };

struct Change {
  ChangeOp op = ChangeOp::kCreate;
  SnapshotMark snapshot = SnapshotMark::kNone;
  const TableSchema* table = nullptr;  // kept alive by the batch
  int32_t before = -1;                 // index of the first Datum of the before image, or -1
  int32_t after = -1;                  // index of the first Datum of the after image, or -1
  Lsn lsn;                             // WAL position of this change
  Lsn commit_lsn;                      // commit record of its transaction: orders events
                                       // (snapshot rows: their chunk's position)
  uint32_t seq = 0;                    // order within the transaction, from 1
  Xid xid;
  int64_t commit_time_us = 0;  // commit time, µs since the Unix epoch
};

// The end of a transaction (or a watermark: a point of the stream with nothing before
// it left to deliver). A sink's durable position is the end_lsn of the last marker it
// made durable; all changes of a transaction precede its marker in the batch stream.
struct TxMarker {
  uint32_t change_end = 0;  // index one past the transaction's last change in this batch
  Lsn commit_lsn;
  // The order of the stream the sinks record as their durable position. PostgreSQL: the
  // transaction's end LSN. A partitioned source (Kafka): a sequence of the records handed
  // to the sinks, monotone across runs; its real position is source_offset below and the
  // batch's source_state, never this number.
  Lsn end_lsn;
  Xid xid;
  int64_t commit_time_us = 0;
  uint32_t change_count = 0;  // changes in the whole transaction (0 for a watermark)
  // Partitioned sources (Kafka): the offset of the record this marker ends, in the batch's
  // source_stream; -1 for PostgreSQL, whose position is the LSN.
  int64_t source_offset = -1;
};

class ChangeBatch {
 public:
  ChangeBatch() = default;
  ChangeBatch(const ChangeBatch&) = delete;
  ChangeBatch& operator=(const ChangeBatch&) = delete;

  const std::vector<Change>& changes() const { return changes_; }
  std::vector<Change>& mutable_changes() { return changes_; }
  const std::vector<TxMarker>& markers() const { return markers_; }
  size_t byte_size() const { return bytes_.size() + changes_.size() * sizeof(Change); }
  bool empty() const { return changes_.empty() && markers_.empty(); }

  // The most value bytes one batch holds: every offset and length fits a Datum's 32 bits.
  static constexpr size_t kMaxBytes = UINT32_MAX;
  // Bytes of values held, and whether `bytes` more fit under kMaxBytes. A builder checks
  // before a row and starts a new batch when it does not fit.
  size_t value_bytes() const { return bytes_.size(); }
  bool HasRoomFor(size_t bytes) const { return bytes <= kMaxBytes - bytes_.size(); }

  const Datum* Row(int32_t first) const { return datums_.data() + first; }
  std::string_view Text(const Datum& d) const { return {bytes_.data() + d.offset, d.length}; }

  // Building (source side only).
  void Retain(const TableSchemaPtr& schema);
  Change& AddChange() { return changes_.emplace_back(); }
  // Starts a row of `ncols` datums and returns the index of the first one.
  int32_t AddRow(size_t ncols);
  Datum& DatumAt(int32_t index) { return datums_[index]; }
  // Requires HasRoomFor(text.size()): a value that does not fit is a bug of the builder
  // and stops the process with a message rather than wrap an offset.
  void SetText(int32_t index, std::string_view text);
  void AddMarker(const TxMarker& marker) { markers_.push_back(marker); }
  // A batch holding this one's values, schemas, holders and source position but no changes
  // or markers: an operator re-adds the changes (their datum indexes stay valid) with its
  // own output in between.
  std::shared_ptr<ChangeBatch> CloneValues() const;
  std::vector<TxMarker>& mutable_markers() { return markers_; }
  void Clear();

  // A snapshot chunk read again after a restart: the sinks named here already hold it
  // (from an earlier delivery) and skip the batch.
  const std::vector<std::string>& held_by() const { return held_by_; }
  void set_held_by(std::vector<std::string> sinks) { held_by_ = std::move(sinks); }

  // Sources with a position per partition (Kafka). A batch holds records of one partition
  // (`source_stream`, "topic:partition"), one marker per record carrying the record's
  // source_offset; `source_state` is where the source stands after the batch (see
  // runtime/source_offsets.h). Both empty for PostgreSQL, whose position is the LSN.
  const std::string& source_stream() const { return source_stream_; }
  const std::string& source_state() const { return source_state_; }
  void set_source_position(std::string stream, std::string state) {
    source_stream_ = std::move(stream);
    source_state_ = std::move(state);
  }

 private:
  std::vector<Change> changes_;
  std::vector<Datum> datums_;
  std::string bytes_;
  std::vector<TxMarker> markers_;
  std::vector<TableSchemaPtr> schemas_;
  std::vector<std::string> held_by_;
  std::string source_stream_;
  std::string source_state_;
};

using ChangeBatchPtr = std::shared_ptr<const ChangeBatch>;

}  // namespace walflow
