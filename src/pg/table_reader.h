// Reading a table's rows for a snapshot: its description as the stream will describe it,
// chunk boundaries (primary-key ranges, or page ranges by ctid for a table without a
// key), and the COPY statement that reads one chunk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "pg/catalog.h"

namespace walflow::pg {

class Connection;

// The text form of each key column of one row, in key order (keys are never NULL).
using KeyValues = std::vector<std::string>;

struct SnapshotTable {
  TableSchemaPtr schema;
  std::string from;                    // FROM clause: ONLY "s"."t" (or "s"."t" if partitioned)
  std::string select_list;             // the columns pgoutput sends, in its order
  std::vector<std::string> key_types;  // format_type() of each key column, for literals
  int64_t estimated_rows = -1;         // the planner's estimate (-1: unknown), for progress
  int64_t pages = 0;                   // size in pages (largest partition), for ctid chunks

  bool has_key() const { return !schema->key_columns.empty(); }
  std::string Qualified() const { return schema->QualifiedName(); }
};

// Describes schema.name with the same column set and key the stream uses. Runs in
// whatever transaction `conn` has open (an imported snapshot, for the initial one).
Result<SnapshotTable> DescribeSnapshotTable(Connection& conn, Catalog* catalog,
                                            const std::string& schema, const std::string& name);

// Rows of a chunk: keys in (lo, hi], either bound open; or, without a key, pages
// [first_page, end_page) by ctid, end_page < 0 open. `limit` > 0 reads the first
// `limit` rows in key order (a chunk whose upper end is found by reading it).
struct ChunkBounds {
  std::optional<KeyValues> lo;
  std::optional<KeyValues> hi;
  bool by_ctid = false;
  int64_t first_page = 0;
  int64_t end_page = -1;
  uint64_t limit = 0;
};

// The keys that split the table into chunks of about `chunk_rows` rows, ascending: from
// the planner's histogram of a single-column key when it is fresh and fine enough (no
// pass over the table), otherwise from one pass over every key.
Result<std::vector<KeyValues>> KeyBoundaries(Connection& conn, const SnapshotTable& table,
                                             uint64_t chunk_rows);

// COPY (SELECT <columns> FROM <table> WHERE <chunk>) TO STDOUT.
std::string ChunkCopySql(const SnapshotTable& table, const ChunkBounds& chunk);

// The key of a row as one string that compares equal exactly when the keys are equal.
// False when a key column is missing from the row (NULL or an unchanged TOAST value).
bool EncodeRowKey(const ChangeBatch& batch, const TableSchema& table, int32_t first_datum,
                  std::string* out);

// The key values of a row (text forms), for chunk bounds.
KeyValues RowKeyValues(const ChangeBatch& batch, const TableSchema& table, int32_t first_datum);

}  // namespace walflow::pg
