#include "pg/table_reader.h"

#include <algorithm>

#include "pg/connection.h"
#include "pg/copy_text.h"

namespace walflow::pg {
namespace {

std::string KeyList(const SnapshotTable& t) {
  std::string out;
  for (size_t i = 0; i < t.schema->key_columns.size(); ++i) {
    if (i) out += ", ";
    out += QuoteIdent(t.schema->columns[t.schema->key_columns[i]].name);
  }
  return out;
}

std::string KeyLiteral(const SnapshotTable& t, const KeyValues& key) {
  std::string out = "(";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i) out += ", ";
    out += QuoteLiteral(key[i]) + "::" + t.key_types[i];
  }
  return out + ")";
}

}  // namespace

Result<SnapshotTable> DescribeSnapshotTable(Connection& conn, Catalog* catalog,
                                            const std::string& schema, const std::string& name) {
  const std::string qualified = schema + "." + name;
  WF_ASSIGN_OR_RETURN(
      QueryResult rel,
      conn.Query("SELECT c.oid, c.relreplident, c.relkind, c.reltuples::int8, "
                 "  CASE c.relkind WHEN 'r' THEN pg_relation_size(c.oid) ELSE "
                 "    (SELECT coalesce(max(pg_relation_size(p.relid)), 0) "
                 "       FROM pg_partition_tree(c.oid) p) END "
                 "  / current_setting('block_size')::int8 "
                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                 {schema, name}));
  if (rel.rows.empty()) return NotFound("table " + qualified + " does not exist");
  RelationSpec spec;
  spec.relid = Oid(static_cast<uint32_t>(std::stoul(rel.Text(0, 0))));
  spec.schema = schema;
  spec.name = name;
  spec.replica_identity = rel.Text(0, 1).empty() ? 'd' : rel.Text(0, 1)[0];
  const bool partitioned = rel.Text(0, 2) == "p";
  SnapshotTable t;
  t.estimated_rows = std::stoll(rel.Text(0, 3));  // -1: never analyzed
  t.pages = std::stoll(rel.Text(0, 4));

  // The columns pgoutput sends (not dropped, not generated), with its key flags.
  WF_ASSIGN_OR_RETURN(
      QueryResult cols,
      conn.Query("SELECT a.attname, a.atttypid, a.atttypmod, "
                 "  format_type(a.atttypid, a.atttypmod), "
                 "  CASE c.relreplident "
                 "    WHEN 'f' THEN true "
                 "    WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
                 "                  AND i.indisprimary AND a.attnum = ANY (i.indkey)) "
                 "    WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
                 "                  AND i.indisreplident AND a.attnum = ANY (i.indkey)) "
                 "    ELSE false END "
                 "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                 "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
                 "  AND a.attgenerated = '' ORDER BY a.attnum",
                 {std::to_string(spec.relid.value)}));
  std::vector<std::string> type_names;
  for (size_t i = 0; i < cols.rows.size(); ++i) {
    spec.columns.push_back(
        {cols.Text(i, 0), Oid(static_cast<uint32_t>(std::stoul(cols.Text(i, 1)))),
         static_cast<int32_t>(std::stol(cols.Text(i, 2))), cols.Text(i, 4) == "t"});
    type_names.push_back(cols.Text(i, 3));
  }
  WF_ASSIGN_OR_RETURN(t.schema, BuildTableSchema(spec, catalog));
  t.from = std::string(partitioned ? "" : "ONLY ") + QuoteIdent(schema) + "." + QuoteIdent(name);
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    if (i) t.select_list += ", ";
    t.select_list += QuoteIdent(spec.columns[i].name);
  }
  if (spec.columns.empty()) t.select_list = "";
  for (int k : t.schema->key_columns) t.key_types.push_back(type_names[k]);
  return t;
}

namespace {

// Boundaries from pg_stats' histogram of a one-column key, or nullopt when it cannot
// give chunks of about `chunk_rows`: no statistics, statistics older than a tenth of the
// table's changes, or buckets much larger than a chunk.
using Boundaries = std::optional<std::vector<KeyValues>>;

Result<Boundaries> HistogramBoundaries(Connection& conn, const SnapshotTable& table,
                                       uint64_t chunk_rows) {
  if (table.schema->key_columns.size() != 1 || table.estimated_rows <= 0) return Boundaries();
  const std::string& column = table.schema->columns[table.schema->key_columns[0]].name;
  WF_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query("SELECT s.histogram_bounds::text::text[], coalesce(u.n_mod_since_analyze, 0) "
                 "FROM pg_stats s LEFT JOIN pg_stat_user_tables u "
                 "  ON u.schemaname = s.schemaname AND u.relname = s.tablename "
                 "WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3 "
                 "  AND s.inherited = (SELECT c.relkind = 'p' FROM pg_class c "
                 "    WHERE c.oid = $4::oid)",
                 {table.schema->schema, table.schema->name, column,
                  std::to_string(table.schema->relid.value)}));
  if (r.rows.empty() || !r.At(0, 0)) return Boundaries();
  if (std::stoll(r.Text(0, 1)) * 10 > table.estimated_rows) return Boundaries();
  // The server splits the array's text form into the elements' text forms.
  WF_ASSIGN_OR_RETURN(
      QueryResult bounds,
      conn.Query("SELECT b FROM unnest($1::text[]) WITH ORDINALITY AS u(b, n) ORDER BY n",
                 {r.Text(0, 0)}));
  const size_t buckets = bounds.rows.size() > 1 ? bounds.rows.size() - 1 : 0;
  if (buckets == 0) return Boundaries();
  const double rows_per_bucket = static_cast<double>(table.estimated_rows) / buckets;
  if (rows_per_bucket > 2.0 * chunk_rows) return Boundaries();
  const size_t step = std::max<size_t>(1, static_cast<size_t>(chunk_rows / rows_per_bucket + 0.5));
  std::vector<KeyValues> out;
  for (size_t i = step; i < bounds.rows.size() - 1; i += step) {
    if (!bounds.At(i, 0)) return Boundaries();
    out.push_back({*bounds.At(i, 0)});
  }
  return Boundaries(std::move(out));
}

}  // namespace

Result<std::vector<KeyValues>> KeyBoundaries(Connection& conn, const SnapshotTable& table,
                                             uint64_t chunk_rows) {
  std::vector<KeyValues> out;
  if (!table.has_key()) return out;
  WF_ASSIGN_OR_RETURN(auto from_histogram, HistogramBoundaries(conn, table, chunk_rows));
  if (from_histogram) return std::move(*from_histogram);
  const std::string keys = KeyList(table);
  std::string outer;
  for (size_t i = 0; i < table.schema->key_columns.size(); ++i) {
    if (i) outer += ", ";
    outer += "s." + QuoteIdent(table.schema->columns[table.schema->key_columns[i]].name) + "::text";
  }
  std::string sql = "COPY (SELECT " + outer + " FROM (SELECT " + keys +
                    ", row_number() OVER (ORDER BY " + keys + ") AS walflow_row FROM " +
                    table.from + ") s WHERE s.walflow_row % " + std::to_string(chunk_rows) +
                    " = 0 ORDER BY s.walflow_row) TO STDOUT";
  const size_t nkeys = table.schema->key_columns.size();
  CopyTextDecoder decoder;
  ChangeBatch scratch;
  Status s = conn.CopyOut(sql, [&](std::string_view line) -> Status {
    scratch.Clear();
    WF_ASSIGN_OR_RETURN(int32_t first, decoder.DecodeRow(line, nkeys, &scratch));
    KeyValues key;
    for (size_t i = 0; i < nkeys; ++i) key.emplace_back(scratch.Text(*scratch.Row(first + i)));
    out.push_back(std::move(key));
    return Status::OK();
  });
  if (!s.ok()) return s.WithContext("splitting table " + table.Qualified() + " into chunks");
  return out;
}

std::string ChunkCopySql(const SnapshotTable& table, const ChunkBounds& chunk) {
  std::string where;
  auto add = [&](const std::string& cond) {
    where += (where.empty() ? " WHERE " : " AND ") + cond;
  };
  if (chunk.by_ctid) {
    if (chunk.first_page > 0) add("ctid >= '(" + std::to_string(chunk.first_page) + ",0)'::tid");
    if (chunk.end_page >= 0) add("ctid < '(" + std::to_string(chunk.end_page) + ",0)'::tid");
  } else {
    const std::string keys = "(" + KeyList(table) + ")";
    if (chunk.lo) add(keys + " > " + KeyLiteral(table, *chunk.lo));
    if (chunk.hi) add(keys + " <= " + KeyLiteral(table, *chunk.hi));
  }
  std::string sql = "COPY (SELECT " + table.select_list + " FROM " + table.from + where;
  if (chunk.limit > 0)
    sql += " ORDER BY " + KeyList(table) + " LIMIT " + std::to_string(chunk.limit);
  return sql + ") TO STDOUT";
}

bool EncodeRowKey(const ChangeBatch& batch, const TableSchema& table, int32_t first_datum,
                  std::string* out) {
  out->clear();
  const Datum* row = batch.Row(first_datum);
  for (int k : table.key_columns) {
    if (row[k].kind != Datum::Kind::kText) return false;
    std::string_view text = batch.Text(row[k]);
    out->append(std::to_string(text.size()));
    out->push_back(':');
    out->append(text);
  }
  return true;
}

KeyValues RowKeyValues(const ChangeBatch& batch, const TableSchema& table, int32_t first_datum) {
  KeyValues out;
  const Datum* row = batch.Row(first_datum);
  for (int k : table.key_columns) out.emplace_back(batch.Text(row[k]));
  return out;
}

}  // namespace walflow::pg
