// What the integration tests share: a walflow pipeline run as a child process against a
// PgServer (config file, start, clean stop, kill -9, catch-up), the events its jsonl sink
// wrote, and the oracle that replays those events and compares them with PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pg_server.h"

namespace walflow::test {

using Json = nlohmann::json;

// A `type: kafka` sink in the pipeline's YAML. Empty strings and zero counts leave the
// setting to walflow's default.
struct KafkaSinkSpec {
  std::string name = "bus";
  std::string brokers;  // required
  std::string topic_prefix;
  bool exactly_once = false;
  std::string transactional_id;
  bool tombstones = true;
  bool schemas = false;
  std::string decimal_handling = "string";
  int topic_partitions = 0;
  std::string offsets_topic;
  std::string timeout = "10s";
  std::string flush_interval = "200ms";
  // librdkafka settings (`properties:`), in order.
  std::vector<std::pair<std::string, std::string>> properties;
};

// A view in the pipeline's `views:` list. Empty strings leave the setting to walflow.
struct ViewSpec {
  std::string name;  // "by_country" (schema "views") or "analytics.by_country"
  std::string sql;
  std::vector<std::string> key;  // `key:` (views without GROUP BY); empty: the input's key
  std::string on_error;          // "stop" or "dead_letter"
  std::string dead_letter_path;
};

// "views.by_country" for "by_country"; a qualified name unchanged.
std::string QualifiedViewName(const std::string& name);

// The YAML a test runs walflow with; the defaults are the fast settings tests want.
// A `type: parquet` sink in the pipeline's YAML. `path` empty: <dir>/lake. Empty strings
// leave the setting to walflow's default; `s3_endpoint` set writes the s3 block.
struct ParquetSinkSpec {
  std::string name = "lake";
  std::string path;  // a directory or s3://bucket/prefix
  std::string compression;
  std::string max_file_size;
  std::string max_file_age = "1s";
  std::string row_group_size;
  std::string partition_by;
  std::string flush_interval = "200ms";
  std::string s3_endpoint;
  std::string s3_region;
  std::string s3_access_key_id;
  std::string s3_secret_access_key;
  std::string s3_part_size;
  std::string s3_timeout;
  std::string s3_max_attempts;
};

struct PipelineSpec {
  std::string db;                   // required
  std::string dsn;                  // empty: the server's DSN for `db`
  std::string slot;                 // empty: a name unique in this process
  std::string publication;          // empty: "<slot>_pub"
  std::vector<std::string> tables;  // required, e.g. {"public.orders"}
  std::string name = "dbserver1";
  std::string heartbeat_interval = "1s";
  std::string status_interval = "200ms";
  std::string spool_memory_limit = "64KB";
  std::string decimal_handling = "string";
  bool schemas = false;
  bool transaction_metadata = false;
  std::string max_file_size = "64MB";
  std::string flush_interval = "200ms";
  std::string log_level = "info";
  // source.postgres.snapshot: never (the default here, so stream tests see only their
  // own changes), initial, always or initial_only.
  std::string snapshot = "never";
  int snapshot_parallelism = 1;
  int snapshot_chunk_size = 50000;
  // When set, a second jsonl sink "files2" writes to <dir>/out2 with this flush interval:
  // the slot then advances at the slower sink's pace, and each sink must skip on restart
  // what it already holds.
  std::string second_sink_flush_interval;
  // `from:` of the jsonl sinks "files" and "files2" (empty: every table).
  std::vector<std::string> from;
  std::vector<std::string> second_sink_from;
  // Whether the jsonl sink "files" is configured; false for a pipeline whose only sinks
  // are `kafka_sinks` (Events() is then empty).
  bool jsonl_sink = true;
  // Kafka sinks, after the jsonl sinks.
  std::vector<KafkaSinkSpec> kafka_sinks;
  // Parquet sinks, after the Kafka sinks.
  std::vector<ParquetSinkSpec> parquet_sinks;
  // `views:`, in order (none: no `views:` key).
  std::vector<ViewSpec> views;
};

// The jsonl sink's files in `dir` (full paths), in write order.
std::vector<std::string> ChangeFilesIn(const std::string& dir);

// A double-quoted YAML scalar.
std::string YamlQuote(const std::string& s);
// The whole file, or "" if it cannot be read.
std::string ReadWholeFile(const std::filesystem::path& path);

// The YAML text of `spec` with its paths under `dir` (sink: dir/out, state: dir/state).
std::string PipelineYaml(const PipelineSpec& spec, const std::filesystem::path& dir);

// A walflow pipeline in its own temporary folder. Each Start() runs `walflow run` anew
// with the same config, sink folder and state. The destructor kills a process still
// running and drops the slot, so that tests sharing a server do not run out of slots.
// Use from the test's main thread (ChildProcess's rule).
class WalflowPipeline {
 public:
  WalflowPipeline(PgServer& pg, PipelineSpec spec);
  ~WalflowPipeline();
  WalflowPipeline(const WalflowPipeline&) = delete;
  WalflowPipeline& operator=(const WalflowPipeline&) = delete;

  const PipelineSpec& spec() const { return spec_; }
  const std::string& slot() const { return spec_.slot; }
  std::string config_path() const { return dir_.File("pipeline.yaml"); }
  std::string out_dir() const { return dir_.File("out"); }
  std::string second_out_dir() const { return dir_.File("out2"); }
  std::string data_dir() const { return dir_.File("state"); }
  const TempDir& dir() const { return dir_; }

  // Changes the spec and rewrites the config file (for the next Start()).
  void Reconfigure(const std::function<void(PipelineSpec&)>& change);

  // Starts `walflow run CONFIG`. Fails the test (fatal) if a previous run is still alive.
  void Start();
  // Starts it and waits until it streams (the slot is active), so that what the test
  // writes next is captured. Returns false with the log in the failure otherwise.
  ::testing::AssertionResult StartAndWaitStreaming(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running();
  // SIGINT, then waits for the exit; returns the exit code, or nullopt (and kills it)
  // when it did not stop within `timeout`.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGKILL to walflow's process group, and reaps it.
  void Kill9();
  // Waits for the current run to end by itself.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  ChildProcess* process() { return process_.get(); }

  // Runs `walflow COMMAND CONFIG ARGS...` to completion (e.g. "check", or "peek" with
  // {view, "--json"}), beside any run in progress.
  ProcessResult RunCommand(const std::string& command, const std::vector<std::string>& args = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  // stderr of every run so far, in order, runs separated by a header line.
  std::string Stderr() const;
  // stderr of the current (last) run only.
  std::string LastStderr() const;

  // Records pg_current_wal_lsn() and waits until the slot's confirmed_flush_lsn reaches
  // it: every transaction committed before the call is then durable in the sink.
  ::testing::AssertionResult WaitForCatchUp(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Waits for catch-up, reads every event, then stops walflow; each step failing fails the
  // test (a stop must exit 0).
  std::vector<Json> CatchUpAndStop();

  // Every event in the sink's files, in file order. Lines must all be complete and valid
  // JSON (a partial last line fails the test), except while walflow is running, where a
  // partial last line is skipped.
  std::vector<Json> Events() { return EventsIn(out_dir()); }
  // The same for the sink writing to `dir`.
  std::vector<Json> EventsIn(const std::string& dir);

  // Drops the slot if it exists (waits up to 10 s for it to become inactive).
  void DropSlot();
  // Whether the destructor drops the slot (true by default); false for a second pipeline
  // that borrows another one's slot.
  void set_drop_slot_at_end(bool drop) { drop_slot_at_end_ = drop; }

 private:
  PgServer& pg_;
  PipelineSpec spec_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int runs_ = 0;
  bool drop_slot_at_end_ = true;
};

// A JSON value as PostgreSQL's text form of the same value, for the oracle: strings as
// they are, numbers as printed, booleans as t/f, null as nullopt.
std::optional<std::string> JsonAsText(const Json& value);

// Rows of a table as the oracle holds them: key (the key columns' text joined) -> column
// name -> text.
using OracleRow = std::map<std::string, std::optional<std::string>>;
using OracleTable = std::map<std::string, OracleRow>;

// Replays Debezium events into tables, as a consumer keyed by primary key would:
// c/r upsert `after`, u upserts `after`, d deletes `before`'s key, t clears the table.
// Also checks that the events are consistent with exactly-once delivery of a workload
// that never reuses a key: no c for a key present, no u or d for a key absent.
// The key columns of each table, by "schema.table".
using OracleKeys = std::map<std::string, std::vector<std::string>>;

class Oracle {
 public:
  explicit Oracle(OracleKeys keys);

  // `column` of `table` starts at 0 on insert and grows by exactly one on every update:
  // a lost or repeated update then shows as an anomaly.
  void SetVersionColumn(const std::string& table, const std::string& column);

  void Apply(const Json& event);
  void ApplyAll(const std::vector<Json>& events);

  const OracleTable& table(const std::string& qualified) const;
  // Inconsistencies seen so far ("event 17: c for public.t key 5 already present").
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  size_t applied() const { return applied_; }

 private:
  std::string KeyOf(const std::string& table, const Json& row) const;

  std::map<std::string, std::vector<std::string>> keys_;
  std::map<std::string, std::string> versions_;
  std::map<std::string, OracleTable> tables_;
  std::vector<std::string> anomalies_;
  size_t applied_ = 0;
};

// The table's rows read from PostgreSQL with every column cast to text, keyed like the
// oracle's.
OracleTable ReadTable(PgServer& pg, const std::string& db, const std::string& qualified,
                      const std::vector<std::string>& key_columns);

// Compares rows replayed from a sink (`actual`, read from `source`, e.g. "the events")
// with PostgreSQL's (`expected`); the failure lists the first differences.
::testing::AssertionResult OracleTablesMatch(const std::string& qualified,
                                             const OracleTable& expected, const OracleTable& actual,
                                             const std::string& source = "the events");

// Compares the oracle's replay of `table` with PostgreSQL's rows; the failure lists the
// first differences.
::testing::AssertionResult TableMatches(PgServer& pg, const std::string& db, const Oracle& oracle,
                                        const std::string& qualified,
                                        const std::vector<std::string>& key_columns);

// Every event's (source.sequence, op, table, key) appears once: the same change
// delivered twice shows up here even when it would not change the replayed state.
::testing::AssertionResult NoDuplicateEvents(const std::vector<Json>& events);

// Events of one table, in order.
std::vector<Json> EventsOf(const std::vector<Json>& events, const std::string& table);

// A random mix of INSERT, UPDATE and DELETE on tables "(id bigint PRIMARY KEY, v bigint NOT
// NULL, payload text)" in transactions of one to `max_statements` statements, some rolled back. Ids
// are never reused and every update adds one to v, so that the oracle can check each key's history
// (Oracle::SetVersionColumn(table, "v")). Counts the changes of committed transactions. One object
// per thread.
class RandomWorkload {
 public:
  RandomWorkload(std::string dsn, std::vector<std::string> tables, uint32_t seed,
                 int max_statements = 5);

  // Creates the tables.
  static void CreateTables(PgServer& pg, const std::string& db,
                           const std::vector<std::string>& tables);

  // Runs one transaction. Throws PgError when the server fails; the transaction's outcome
  // is then unknown only if the failure hit the COMMIT (see in_doubt()).
  void RunTransaction();
  // Runs transactions until `stop` is set or `duration` passes; reconnects after a server
  // error when `tolerate_errors`, failing the test otherwise.
  void RunFor(std::chrono::milliseconds duration, const std::atomic<bool>* stop = nullptr,
              bool tolerate_errors = false);

  // Changes in committed transactions (one event each).
  uint64_t committed_changes() const { return committed_changes_; }
  uint64_t committed_transactions() const { return committed_transactions_; }
  // True if a COMMIT failed without a reply: the count may then be off by that transaction.
  bool in_doubt() const { return in_doubt_; }

 private:
  struct Live {
    std::vector<int64_t> ids;
  };
  std::string dsn_;
  std::vector<std::string> tables_;
  std::mt19937_64 rng_;
  int max_statements_;
  std::unique_ptr<PgConnection> conn_;
  std::map<std::string, Live> live_;
  int64_t next_id_ = 1;
  uint64_t committed_changes_ = 0;
  uint64_t committed_transactions_ = 0;
  bool in_doubt_ = false;
};

// Checks a RandomWorkload's outcome: the events replay, without anomalies, to exactly
// PostgreSQL's tables; one event per committed change; no event twice.
void ExpectExactlyOnce(PgServer& pg, const std::string& db, const std::vector<Json>& events,
                       const std::vector<std::string>& tables, uint64_t committed_changes,
                       const std::string& context);

// --- Views: replaying their events and comparing them with PostgreSQL's answer ---

// Rows in PostgreSQL's text form, one entry per column (NULL is nullopt).
using TextRow = std::vector<std::optional<std::string>>;

// Replays one view's change events as a consumer keyed by the view's key would: c and r
// insert `after`, u removes the key of `before` and inserts `after`, d removes the key of
// `before`, t clears. Records what exactly-once delivery cannot produce: an insert of a key
// already held (a double delivery or a lost removal), a removal of a key not held (a lost
// insert), a `before` that differs from the row held, a malformed event.
class ViewReplay {
 public:
  // `key`: the view's key columns (empty for a view of at most one row); nullopt: the whole
  // row is the key (a view's rows are distinct).
  explicit ViewReplay(std::optional<std::vector<std::string>> key);

  // One event: a jsonl line, the value or {schema, payload}.
  void Apply(const Json& event);

  // The rows held (`after` objects), in key order.
  std::vector<Json> rows() const;
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  size_t applied() const { return applied_; }

 private:
  std::string KeyOf(const Json& row) const;
  void Anomaly(const Json& value, const std::string& what);

  std::optional<std::vector<std::string>> key_;
  std::map<std::string, Json> rows_;
  std::vector<std::string> anomalies_;
  size_t applied_ = 0;
};

// A column of a PostgreSQL relation, with what converting Debezium values of it needs.
struct PgColumn {
  std::string name;
  uint32_t type_oid = 0;
  int typmod = -1;
  std::string base_type;  // format_type(oid, NULL): "numeric", "timestamp without time zone"
  std::string type;       // format_type(oid, typmod): "numeric(12,2)"
};

// The columns of `relation` (an SQL name, e.g. "views.by_country"), in order. Throws PgError.
std::vector<PgColumn> RelationColumns(PgConnection& conn, const std::string& relation);

// An SQL expression of `column`'s type (without its modifier, so that a wrong scale shows)
// for `value` as a jsonl sink with decimal_handling: string writes it (docs/events.md):
// numbers for integers and floats, numeric as a string, date as days and timestamp as µs
// (ms for timestamp(0..3)) since 1970-01-01, timestamptz as ISO-8601, bool, text. Returns
// false, with the reason in *error, for JSON that no value of the type is written as.
bool DebeziumValueSql(const Json& value, const PgColumn& column, std::string* sql,
                      std::string* error);

// Rows of Debezium values (objects by column name) in PostgreSQL's text form of each column,
// the conversion done by the server. A missing or extra column, or a value DebeziumValueSql
// refuses, is appended to *problems and its cell holds "<invalid ...>". Throws PgError.
std::vector<TextRow> DebeziumRowsAsText(PgConnection& conn, const std::vector<PgColumn>& columns,
                                        const std::vector<Json>& rows,
                                        std::vector<std::string>* problems);

// Rows of one side that the other lacks, as a multiset: (row, how many more times).
struct RowsDiff {
  std::vector<std::pair<TextRow, size_t>> only_expected;
  std::vector<std::pair<TextRow, size_t>> only_actual;
  bool empty() const { return only_expected.empty() && only_actual.empty(); }
};
RowsDiff DiffRows(std::vector<TextRow> expected, std::vector<TextRow> actual);

// "DE | 3 | 12.50", NULL as NULL, long values cut.
std::string FormatTextRow(const TextRow& row);

// A random mix of INSERT, UPDATE and DELETE statements on any table with a one-column
// integer primary key that accepts given values: values from small domains per column type
// (groups collide), NULL in nullable columns, single-row and bulk statements (a whole group
// moved or deleted), primary-key updates, in transactions of one to four statements of
// which about one in ten is rolled back. The statements depend only on the seed and the
// table's contents at construction. Columns of other types than int2/4/8, numeric,
// float4/8, text, varchar, char, bool, date, timestamp and timestamptz are refused.
class TableWorkload {
 public:
  // Reads the table's columns and keys. Throws std::runtime_error for a table it cannot
  // generate changes for, PgError when the server fails.
  TableWorkload(std::string dsn, std::string table, uint32_t seed);
  ~TableWorkload();

  // Runs `statements` statements. Throws PgError (with the statement) when one fails.
  void Run(int statements);
  uint64_t committed_statements() const { return committed_statements_; }

 private:
  struct Column {
    std::string name;  // quoted
    bool nullable = true;
    std::vector<std::string> literals;
  };
  struct Generated {
    std::string sql;
    bool returns_removed_ids = false;
  };
  std::string Literal(const Column& c);
  Generated Statement(std::vector<int64_t>& ids);
  void RemoveIds(std::vector<int64_t>& ids, const PgRows& removed);

  std::unique_ptr<PgConnection> conn_;
  std::string table_;
  std::string key_;              // the primary-key column, quoted
  std::vector<Column> columns_;  // the others (generated columns left out)
  std::mt19937_64 rng_;
  std::vector<int64_t> ids_;  // rows present, in a deterministic order
  int64_t next_id_ = 1;
  uint64_t committed_statements_ = 0;
};

// A TCP port on 127.0.0.1 that nothing listens on (at the time of the call).
int UnusedPort();

// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// The path of the walflow binary under test.
std::string WalflowBinary();

// Writes `text` to `path` (creating or replacing it).
void WriteFile(const std::string& path, const std::string& text);

// At most the last `max_chars` of `text`, for failure messages.
std::string Tail(const std::string& text, size_t max_chars = 4000);
inline bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}
// The 1-based number of the first line of `text` containing `needle`; -1 if none.
int LineOf(const std::string& text, const std::string& needle);

}  // namespace walflow::test
