// What the Parquet sink's integration tests share: the files of a sink's directory (local,
// or downloaded from S3) as a reader that wants exactly the committed data sees them, a
// table's change rows read back with DuckDB, their replay into the table, and the
// comparison of that replay with PostgreSQL's rows, both sides rendered to the same text.
//
// A reader takes the data files whose commit number (<commit:012>-<n:04>.parquet) is at most
// the newest commit record's (_walflow/commits/<commit:012>.json), and replays a table's
// rows in (_lsn, _seq) order: c, r and u upsert, d deletes, t empties the table; a column
// that _unchanged names keeps its previous value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "duckdb_reader.h"
#include "walflow_harness.h"

namespace walflow::test {

// The files under a parquet sink's root, as keys relative to it ("public.t/0000...parquet").
struct LakeListing {
  std::vector<uint64_t> commit_records;  // numbers of the commit records, ascending
  uint64_t newest_commit = 0;            // 0: no commit record
  std::vector<std::string> committed;    // data files of commits <= newest_commit
  std::vector<std::string> uncommitted;  // data files of later commits
  // Files of writes in progress: hidden ".<name>.inprogress" and "<name>.tmp".
  std::vector<std::string> temporary;
  std::vector<std::string> other;  // anything else but the lock file
};

// The data files and commit records of `root`, each list in write order: a data file's
// commit number, then its number within the commit.
LakeListing ListLake(const std::filesystem::path& root);

// The commit number in a data file's name; 0 when the name is not a data file's.
uint64_t LakeFileCommit(const std::string& key);

// The commit record `commit` under `root`, parsed.
Json ReadCommitRecord(const std::filesystem::path& root, uint64_t commit);

// The files of `listing.committed` that hold rows of `qualified` ("public.t"), in write order.
std::vector<std::string> LakeFilesOf(const LakeListing& listing, const std::string& qualified);

// `keys` as absolute paths under `root`.
std::vector<std::string> LakePaths(const std::filesystem::path& root,
                                   const std::vector<std::string>& keys);

// Text forms that differ between PostgreSQL and DuckDB although the values are the same are
// parsed and printed again on both sides.
enum class LakeNormalize {
  kNone,
  kFloat4,  // float: NaN, the shortest round-trip text ("-0", "inf")
  kFloat8,  // double: the same
  kJson,    // parsed and printed by nlohmann::json (spacing, key order, escapes)
};

// How one column of a table is rendered to text on both sides.
struct LakeColumn {
  LakeColumn() = default;
  LakeColumn(std::string name, std::string duckdb = {}, std::string pg = {},
             LakeNormalize normalize = LakeNormalize::kNone)
      : name(std::move(name)), duckdb(std::move(duckdb)), pg(std::move(pg)), normalize(normalize) {}

  std::string name;
  std::string duckdb;  // a DuckDB expression; empty: CAST("name" AS VARCHAR)
  std::string pg;      // a PostgreSQL expression; empty: "name"::text
  LakeNormalize normalize = LakeNormalize::kNone;
};

// Every column of `qualified` in PostgreSQL now, with the default renderings (integers, text,
// varchar, uuid, numerics, booleans as true/false, time, interval ...).
std::vector<LakeColumn> DefaultLakeColumns(PgServer& pg, const std::string& db,
                                           const std::string& qualified);

// One change row.
struct LakeRow {
  std::string file;  // key relative to the root
  int64_t file_row = 0;
  std::string op;
  uint64_t lsn = 0;
  int64_t seq = 0;
  int64_t txid = 0;
  int64_t commit_ts_us = 0;            // microseconds since the epoch
  std::vector<std::string> unchanged;  // _unchanged, parsed
  OracleRow values;                    // column -> rendered text, NULL as nullopt
};

// A table's change rows, in (_lsn, _seq) order, ties in write order.
struct LakeTable {
  std::string qualified;
  std::vector<std::string> files;  // keys, in write order
  std::vector<LakeRow> rows;
};

// Reads the rows of `qualified` from the committed files of `listing` under `root` with
// DuckDB (union_by_name: files of an older schema read as NULL in newer columns). Throws
// std::runtime_error with DuckDB's message when the files cannot be read.
LakeTable ReadLakeTable(const std::filesystem::path& root, const LakeListing& listing,
                        const std::string& qualified, const std::vector<LakeColumn>& columns);

// The replay of `table` keyed by `key_columns` (their texts joined by '|', as ReadTable
// does), and what was inconsistent with exactly-once delivery on the way: a c or r for a
// key present (an initial snapshot reads each row once), a u or d for a key absent, an
// _unchanged column without a previous value or not NULL.
struct LakeReplay {
  OracleTable rows;
  std::vector<std::string> anomalies;
};
LakeReplay ReplayLake(const LakeTable& table, const std::vector<std::string>& key_columns);

// PostgreSQL's rows of `qualified` rendered as `columns` say, keyed like ReplayLake.
OracleTable ReadPgTable(PgServer& pg, const std::string& db, const std::string& qualified,
                        const std::vector<std::string>& key_columns,
                        const std::vector<LakeColumn>& columns);

// Lists `root`, reads and replays `qualified` and compares it with PostgreSQL: no anomaly,
// the same rows. `columns` empty: every column with the default rendering. `out`, when
// given, receives the rows read.
::testing::AssertionResult LakeMatchesTable(PgServer& pg, const std::string& db,
                                            const std::filesystem::path& root,
                                            const std::string& qualified,
                                            const std::vector<std::string>& key_columns,
                                            std::vector<LakeColumn> columns = {},
                                            LakeTable* out = nullptr);

// No two rows of `tables` share (_lsn, _seq) (truncates excepted: one TRUNCATE of several
// tables is one change): a change written twice shows here even when the replay hides it.
::testing::AssertionResult NoDuplicatePositions(const std::vector<LakeTable>& tables);

// The rows as Debezium-style events ({op, before, after, source{schema, table, sequence}},
// values as text), for the harness' Oracle and ExpectExactlyOnce. `sequence` is
// "[_lsn, _seq]". Rows with _unchanged columns are not supported (the events would lack
// the values).
std::vector<Json> LakeEvents(const LakeTable& table);

// Checks the commit records still present against the files: each names files of its own
// commit number that exist, with their byte sizes and the row counts DuckDB reads in their
// footers; positions never go back; every committed file of a commit whose record is
// present is named by it. Call it while walflow is stopped (it deletes old records).
::testing::AssertionResult CommitRecordsConsistent(const std::filesystem::path& root,
                                                   const LakeListing& listing);

// pg_lsn text ("16/B374D848") as a number.
uint64_t ParsePgLsn(const std::string& text);

}  // namespace walflow::test
