// The pipeline configuration: one YAML file. Every error names the file, line, column
// and key ("pipeline.yaml:7:5: source.postgres.tables[1]: ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/status.h"
#include "format/debezium_json.h"
#include "format/parquet_writer.h"
#include "storage/object_store.h"

namespace walflow::runtime {

// Where a value came from, for messages that refer back to the file.
struct ConfigLocation {
  std::string file;
  int line = 0;  // 1-based
  int column = 0;
  std::string key;  // e.g. "source.postgres.tables[1]"
  std::string ToString() const;
};

struct TableRef {
  std::string schema;
  std::string name;
  ConfigLocation location;
  std::string Qualified() const { return schema + "." + name; }
};

enum class SnapshotMode { kNever, kInitial, kAlways, kInitialOnly };

struct PostgresSourceConfig {
  std::string dsn;
  std::string slot = "walflow";
  std::string publication = "walflow";
  std::vector<TableRef> tables;
  SnapshotMode snapshot = SnapshotMode::kInitial;
  int snapshot_parallelism = 1;                         // connections reading the initial snapshot
  uint64_t snapshot_chunk_size = 50000;                 // rows per chunk
  std::string server_name = "walflow";                  // Debezium's topic.prefix: source.name
  std::chrono::milliseconds heartbeat_interval{10000};  // 0 disables
  std::chrono::milliseconds status_interval{1000};
  std::string unavailable_value_placeholder = "__debezium_unavailable_value";
  uint64_t spool_memory_limit = 4ull << 20;
  bool create_slot = true;
  bool create_publication = true;
  // Debugging aid: appends every pgoutput message received to this file (see
  // pg/stream_capture.h), for a bug report or a replay test. Empty: off.
  std::string capture_file;
  ConfigLocation location;
};

// librdkafka settings passed through as given ("compression.type", "sasl.password", ...).
// Values may be secrets: never log them.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Reads Debezium-format topics in a consumer group instead of PostgreSQL's stream.
struct KafkaSourceConfig {
  std::string brokers;
  std::string group_id = "walflow";
  std::vector<std::string> topics;  // names, or regular expressions starting with '^'
  KafkaProperties properties;
  std::string server_name = "walflow";  // source.name of the events the sinks write
  // Malformed records go to this topic (on the same cluster) and/or this directory.
  std::string dead_letter_topic;
  std::string dead_letter_path;
  ConfigLocation location;
};

enum class SourceType { kPostgres, kKafka };

struct SinkConfig {
  std::string name;
  std::string type;  // "jsonl", "kafka" or "parquet"
  ConfigLocation location;
  // jsonl
  std::string path;
  format::DecimalHandling decimal_handling = format::DecimalHandling::kPrecise;
  bool schemas = false;
  bool transaction_metadata = false;
  uint64_t max_file_size = 64ull << 20;
  std::chrono::milliseconds flush_interval{1000};
  // kafka
  std::string brokers;
  std::string topic_prefix;  // empty: the source's name (Debezium's topic.prefix)
  bool exactly_once = false;
  std::string transactional_id;  // empty: "walflow-<sink name>"
  bool tombstones = true;
  int32_t topic_partitions = -1;          // for topics walflow creates; -1: broker default
  int32_t topic_replication_factor = -1;  // likewise
  std::string offsets_topic = "walflow_offsets";
  std::chrono::milliseconds timeout{30000};  // waiting for the cluster (kafka), the store (s3)
  KafkaProperties properties;
  // parquet (path: a directory or s3://bucket/prefix)
  storage::S3Options s3;
  format::parquet::Compression compression = format::parquet::Compression::kZstd;
  std::chrono::milliseconds max_file_age{60000};
  uint64_t row_group_size = 32ull << 20;
  bool partition_by_commit_date = false;
};

struct PipelineConfig {
  std::string file;
  SourceType source_type = SourceType::kPostgres;
  PostgresSourceConfig postgres;
  KafkaSourceConfig kafka;
  std::vector<SinkConfig> sinks;
  std::string data_dir = ".walflow-state";
  LogLevel log_level = LogLevel::kInfo;
  std::chrono::milliseconds progress_interval{10000};
  size_t queue_batches = 16;  // per sink: how far the reader may run ahead
};

Result<PipelineConfig> LoadConfig(const std::string& path);
// `file` names the text in messages.
Result<PipelineConfig> ParseConfig(const std::string& text, const std::string& file);

// "500ms", "10s", "2m", "1h"; a bare number is seconds.
bool ParseDuration(const std::string& text, std::chrono::milliseconds* out);
// "64MB", "512KB", "1GB", "1048576"; binary units.
bool ParseByteSize(const std::string& text, uint64_t* out);

}  // namespace walflow::runtime
