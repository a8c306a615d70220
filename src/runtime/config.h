// The pipeline configuration: one YAML file. Every error names the file, line, column
// and key ("pipeline.yaml:7:5: source.postgres.tables[1]: ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config_reader.h"
#include "core/log.h"
#include "core/status.h"
#include "kafka/client.h"
#include "sink/registry.h"
#include "sql/ast.h"

namespace walflow::runtime {

using ::walflow::ConfigLocation;
using ::walflow::ParseByteSize;
using ::walflow::ParseDuration;

struct TableRef {
  std::string schema;
  std::string name;
  ConfigLocation location;
  // Captured only because a view reads it (not in source.postgres.tables): sinks without
  // from: do not receive it.
  bool for_views = false;
  std::string Qualified() const { return schema + "." + name; }
};

enum class SnapshotMode { kNever, kInitial, kAlways, kInitialOnly };

struct PostgresSourceConfig {
  Secret dsn;  // libpq conninfo; may hold a password (print it with pg::MaskDsn)
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
using KafkaProperties = kafka::Properties;

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

enum class ViewErrorPolicy { kStop, kDeadLetter };

// One entry of `views:`. The SQL is parsed here (errors name the view and point into the
// SQL); names and types are resolved when the pipeline starts (view/compile.h).
struct ViewConfig {
  std::string schema = "views";  // a bare name is in schema "views"
  std::string name;
  std::string sql;
  std::shared_ptr<const sql::SelectStatement> statement;
  std::vector<std::string> key;  // key: output columns (views without GROUP BY)
  ViewErrorPolicy on_error = ViewErrorPolicy::kStop;
  std::string dead_letter_path;  // on_error: dead_letter; default <data_dir>/dead-letters/<view>
  // The FROM item: a table of the source or another view (qualified).
  std::string input;
  bool input_is_view = false;
  ConfigLocation location;
  std::string Qualified() const { return schema + "." + name; }
};

struct PipelineConfig {
  std::string file;
  SourceType source_type = SourceType::kPostgres;
  PostgresSourceConfig postgres;
  KafkaSourceConfig kafka;
  // Each sink's options, read by its type (sink/registry.h).
  std::vector<std::shared_ptr<const sink::SinkSpec>> sinks;
  // In dependency order: a view comes after the views it reads.
  std::vector<ViewConfig> views;
  std::string data_dir = ".walflow-state";
  LogLevel log_level = LogLevel::kInfo;
  std::chrono::milliseconds progress_interval{10000};
  size_t queue_batches = 16;  // per sink: how far the reader may run ahead
};

// The view named `name` as a from: entry or a FROM item names it ("by_country",
// "views.by_country"), or null.
const ViewConfig* FindView(const PipelineConfig& config, const std::string& name);

Result<PipelineConfig> LoadConfig(const std::string& path);
// `file` names the text in messages.
Result<PipelineConfig> ParseConfig(const std::string& text, const std::string& file);

}  // namespace walflow::runtime
