// Debezium's JSON event format: the value envelope {before, after, source, op, ts_ms,
// transaction} and the key, with or without the schema part, exactly as Kafka Connect's
// JsonConverter writes them. One encoder serves every sink that writes Debezium events.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "pg/text_codec.h"

namespace walflow::format {

// Debezium's decimal.handling.mode.
enum class DecimalHandling { kPrecise, kString, kDouble };

struct DebeziumOptions {
  std::string server_name = "walflow";  // source.name and the schema name prefix
  std::string database;                 // source.db
  DecimalHandling decimal_handling = DecimalHandling::kPrecise;
  bool schemas = false;               // wrap as {"schema":...,"payload":...}
  bool transaction_metadata = false;  // fill the "transaction" block
  std::string unavailable_value_placeholder = "__debezium_unavailable_value";
};

// The version string written to source.version.
extern const char* const kWalflowVersion;

class DebeziumJsonEncoder {
 public:
  explicit DebeziumJsonEncoder(DebeziumOptions options);

  // Processing time written to the envelope's ts_ms; set once per batch.
  void set_processing_time_us(int64_t us) { now_us_ = us; }

  // Appends the event value of `change`. Fails, naming the table and column, when a value
  // cannot be read as its column type.
  Status AppendValue(const ChangeBatch& batch, const Change& change, std::string* out);

  // Appends the event key (the primary-key columns), or "null" for a table without one.
  Status AppendKey(const ChangeBatch& batch, const Change& change, std::string* out);

  const DebeziumOptions& options() const { return options_; }

  // Appends one value of `type` from its PostgreSQL text form as the event would carry it
  // (for sinks that embed Debezium's JSON form of a value, e.g. arrays in Parquet); false
  // when the text cannot be read as the type.
  bool AppendJsonValue(const ValueType& type, std::string_view text, std::string* out) {
    return AppendTyped(type, text, out);
  }

 private:
  struct TableCache {
    uint32_t version = 0;
    std::string value_schema_prefix;  // {"schema":{...},"payload":
    std::string key_schema_prefix;
    std::vector<std::string> field_keys;  // "\"name\":" per column
    std::string source_prefix;            // constant part of the source block, up to ts_ms
    std::string source_db;                // from the snapshot flag's closing quote to sequence
    std::string source_table;             // schema and table, up to txId
  };

  TableCache& CacheFor(const TableSchema& table);
  Status AppendRow(const ChangeBatch& batch, const TableSchema& table, const TableCache& cache,
                   int32_t first, std::string* out);
  Status AppendDatum(const ChangeBatch& batch, const ColumnSchema& column, const Datum& datum,
                     const TableSchema& table, std::string* out);
  bool AppendTyped(const ValueType& type, std::string_view text, std::string* out);
  void AppendPlaceholder(const ValueType& type, std::string* out);
  // The source block, op and processing timestamps of an event.
  void AppendSourceAndTimes(const Change& change, const TableCache& cache, std::string* out) const;
  void AppendFieldSchema(const ValueType& type, bool optional, const std::string* field,
                         std::string* out) const;

  DebeziumOptions options_;
  int64_t now_us_ = 0;
  std::unordered_map<uint64_t, TableCache> cache_;  // by TableSchema::serial (never reused)
  // Transaction metadata counters: the current transaction and per-table order in it.
  Lsn tx_commit_lsn_;
  uint32_t tx_xid_ = 0;
  std::unordered_map<Oid, uint64_t> tx_table_order_;  // by table, across schema changes
  // The last snapshot row's source block and timestamps, and what they were rendered for.
  struct ReadTailKey {
    uint32_t table_version = 0;  // unique per schema for the life of the process
    SnapshotMark snapshot = SnapshotMark::kNone;
    int64_t commit_time_us = 0;
    Lsn lsn;
    uint32_t xid = 0;
    int64_t now_us = 0;
    bool operator==(const ReadTailKey&) const = default;
  };
  ReadTailKey read_tail_key_;
  std::string read_tail_;
  // Scratch buffers reused between values.
  std::string scratch_;
  std::string array_scratch_;
  std::vector<pg::ArrayElement> elements_;
};

}  // namespace walflow::format
