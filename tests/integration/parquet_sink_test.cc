// The Parquet sink in a local directory, read back with DuckDB (an independent reader) and
// checked against PostgreSQL: every type's values, DML with snapshots and truncates, TOAST,
// schema changes, exactly once across kill -9, file sizes and ages, codecs and date
// partitions, bad input, and `walflow check`. The oracle is PostgreSQL: replaying a table's
// committed rows in (_lsn, _seq) order must give its rows, value by value.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "lake_test_util.h"

namespace walflow::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

uint32_t Seed() { return static_cast<uint32_t>(Clock::now().time_since_epoch().count() % 100000); }

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// Rows of the table summed over the commit records present (which name each file once).
uint64_t RowsInCommitRecords(const fs::path& root, const std::string& qualified) {
  uint64_t rows = 0;
  for (uint64_t c : ListLake(root).commit_records) {
    const Json record = ReadCommitRecord(root, c);
    for (const auto& f : record.value("files", Json::array())) {
      if (f.value("table", "") == qualified) rows += f.value("rows", uint64_t{0});
    }
  }
  return rows;
}

// A file left by an interrupted run, to tell it from a new file of the same name.
struct LeftFile {
  std::string key;
  ino_t inode = 0;
};

std::vector<LeftFile> Leftovers(const fs::path& root) {
  LakeListing l = ListLake(root);
  std::vector<LeftFile> out;
  for (const auto* list : {&l.uncommitted, &l.temporary}) {
    for (const auto& key : *list) {
      struct stat st;
      if (::stat((root / key).c_str(), &st) == 0) out.push_back({key, st.st_ino});
    }
  }
  return out;
}

// Leftovers still there (the same file, not a new one under the same name).
std::vector<std::string> StillThere(const fs::path& root, const std::vector<LeftFile>& left) {
  std::vector<std::string> out;
  for (const auto& f : left) {
    struct stat st;
    if (::stat((root / f.key).c_str(), &st) == 0 && st.st_ino == f.inode) out.push_back(f.key);
  }
  return out;
}

class ParquetSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg_.CreateDatabase("parquet"); }

  // A pipeline whose only sink is a parquet sink "lake" in <dir>/lake.
  PipelineSpec Spec(const std::vector<std::string>& tables) {
    PipelineSpec spec;
    spec.db = db_;
    for (const auto& t : tables) spec.tables.push_back("public." + t);
    spec.jsonl_sink = false;
    spec.status_interval = "100ms";
    ParquetSinkSpec p;
    p.max_file_age = "1s";
    p.flush_interval = "200ms";
    spec.parquet_sinks = {p};
    return spec;
  }

  static fs::path Lake(const WalflowPipeline& p) { return p.dir().path() / "lake"; }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

// --- Types ---

struct TypeCase {
  std::string type;         // PostgreSQL type
  std::string duckdb_type;  // the type DuckDB reads the Parquet column as
  LakeColumn render;
};

// Timestamps compare as microseconds since the epoch (exact, BC included), infinities as text.
LakeColumn EpochColumn(const std::string& c) {
  return {c,
          "CASE WHEN isinf(" + c + ") THEN CAST(" + c + " AS VARCHAR) ELSE CAST(epoch_us(" + c +
              ") AS VARCHAR) END",
          "CASE WHEN NOT isfinite(" + c + ") THEN " + c + "::text ELSE (extract(epoch FROM " + c +
              ") * 1000000)::bigint::text END"};
}

const std::vector<std::pair<std::string, TypeCase>>& TypeCases() {
  static const std::vector<std::pair<std::string, TypeCase>> cases = [] {
    std::vector<std::pair<std::string, TypeCase>> v;
    auto add = [&](const std::string& name, const std::string& type, const std::string& duck,
                   LakeColumn render = {}) {
      if (render.name.empty()) render.name = name;
      v.push_back({name, {type, duck, render}});
    };
    add("c_int2", "int2", "SMALLINT");
    add("c_int4", "int4", "INTEGER");
    add("c_int8", "int8", "BIGINT");
    add("c_float4", "float4", "FLOAT", {"c_float4", "", "", LakeNormalize::kFloat4});
    add("c_float8", "float8", "DOUBLE", {"c_float8", "", "", LakeNormalize::kFloat8});
    add("c_num52", "numeric(5,2)", "DECIMAL(5,2)");
    add("c_num92", "numeric(9,2)", "DECIMAL(9,2)");
    add("c_num184", "numeric(18,4)", "DECIMAL(18,4)");
    add("c_num192", "numeric(19,2)", "DECIMAL(19,2)");
    add("c_num3810", "numeric(38,10)", "DECIMAL(38,10)");
    add("c_num", "numeric", "VARCHAR");
    add("c_text", "text", "VARCHAR");
    add("c_varchar", "varchar(30)", "VARCHAR");
    // bpchar's output keeps the padding; ::text would strip it.
    add("c_char", "char(6)", "VARCHAR",
        {"c_char", "", "CASE WHEN c_char IS NOT NULL THEN format('%s', c_char) END"});
    add("c_bool", "bool", "BOOLEAN");
    add("c_bytea", "bytea", "BLOB", {"c_bytea", "hex(c_bytea)", "upper(encode(c_bytea, 'hex'))"});
    add("c_date", "date", "DATE",
        {"c_date", "replace(CAST(c_date AS VARCHAR), ' (BC)', ' BC')", ""});
    add("c_time", "time", "TIME");
    add("c_timetz", "timetz", "TIME WITH TIME ZONE",
        {"c_timetz", "CAST(CAST(c_timetz AS TIME) AS VARCHAR)",
         "((c_timetz AT TIME ZONE 'UTC')::time)::text"});
    add("c_ts", "timestamp", "TIMESTAMP", EpochColumn("c_ts"));
    add("c_tstz", "timestamptz", "TIMESTAMP WITH TIME ZONE", EpochColumn("c_tstz"));
    add("c_interval", "interval", "VARCHAR");
    add("c_uuid", "uuid", "UUID");
    add("c_json", "json", "JSON", {"c_json", "", "", LakeNormalize::kJson});
    add("c_jsonb", "jsonb", "JSON", {"c_jsonb", "", "", LakeNormalize::kJson});
    add("c_enum", "mood", "VARCHAR");
    add("c_int4arr", "int4[]", "JSON",
        {"c_int4arr", "", "array_to_json(c_int4arr)::text", LakeNormalize::kJson});
    add("c_textarr", "text[]", "JSON",
        {"c_textarr", "", "array_to_json(c_textarr)::text", LakeNormalize::kJson});
    return v;
  }();
  return cases;
}

// INSERT of one row: id and SQL expressions by column, the others NULL.
std::string InsertRow(int id, const std::map<std::string, std::string>& values) {
  std::string cols = "id", exprs = std::to_string(id);
  for (const auto& [name, c] : TypeCases()) {
    cols += ", " + name;
    auto it = values.find(name);
    exprs += ", " + (it == values.end() ? std::string("NULL") : it->second);
  }
  for (const auto& [name, e] : values) {
    bool known = false;
    for (const auto& [n, c] : TypeCases()) known |= n == name;
    if (!known) ADD_FAILURE() << "no column " << name;
  }
  return "INSERT INTO all_types (" + cols + ") VALUES (" + exprs + ")";
}

const char* const kAllBytes =
    "(SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY b), 'hex') "
    "FROM generate_series(0, 255) b)";

TEST_F(ParquetSinkTest, EveryTypeRoundTripsThroughDuckDb) {
  std::string create =
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'très bien');"
      "CREATE TABLE all_types (id int PRIMARY KEY";
  for (const auto& [name, c] : TypeCases()) create += ", " + name + " " + c.type;
  pg_.Exec(create + ")", db_);
  WalflowPipeline pipeline(pg_, Spec({"all_types"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  // 1: ordinary values; 2: NULL everywhere; 3: minimums and special values; 4: maximums,
  // unicode, quoting, all 256 bytes; 5: 5 MB of text, a 1200-digit numeric, BC; 6: limits
  // of float and date, just before the epoch.
  const std::vector<std::pair<int, std::map<std::string, std::string>>> rows = {
      {1,
       {{"c_int2", "12345"},
        {"c_int4", "123456789"},
        {"c_int8", "1234567890123"},
        {"c_float4", "3.14"},
        {"c_float8", "0.1"},
        {"c_num52", "12.5"},
        {"c_num92", "1234567.89"},
        {"c_num184", "12345678901234.5678"},
        {"c_num192", "12345678901234567.89"},
        {"c_num3810", "'1234567890123456789012345678.0123456789'"},
        {"c_num", "3.14159265358979323846264338327950288419716939937510"},
        {"c_text", "'hello world'"},
        {"c_varchar", "'varchar'"},
        {"c_char", "'ab'"},
        {"c_bool", "true"},
        {"c_bytea", R"('\x0001feff')"},
        {"c_date", "'2024-02-29'"},
        {"c_time", "'13:45:30.123456'"},
        {"c_timetz", "'13:45:30.5+02'"},
        {"c_ts", "'2024-01-15 13:45:30.123456'"},
        {"c_tstz", "'2024-01-15 13:45:30.12+01'"},
        {"c_interval", "'1 year 2 mons 3 days 04:05:06.789'"},
        {"c_uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"},
        {"c_json", R"('{"a": [1, 2.5, "x"], "b": null}')"},
        {"c_jsonb", R"('{"b": 1, "a": "y"}')"},
        {"c_enum", "'happy'"},
        {"c_int4arr", "'{1,2,3}'"},
        {"c_textarr", R"('{"a","b c"}')"}}},
      {2, {}},
      {3,
       {{"c_int2", "-32768"},
        {"c_int4", "-2147483648"},
        {"c_int8", "-9223372036854775808"},
        {"c_float4", "'NaN'"},
        {"c_float8", "'NaN'"},
        {"c_num52", "-999.99"},
        {"c_num92", "-9999999.99"},
        {"c_num184", "-99999999999999.9999"},
        {"c_num192", "-99999999999999999.99"},
        {"c_num3810", "'-9999999999999999999999999999.9999999999'"},
        {"c_num", "'NaN'"},
        {"c_text", "''"},
        {"c_varchar", "''"},
        {"c_char", "''"},
        {"c_bool", "false"},
        {"c_bytea", R"('\x')"},
        {"c_date", "'infinity'"},
        {"c_time", "'24:00:00'"},
        {"c_timetz", "'23:59:59.999999-11'"},
        {"c_ts", "'infinity'"},
        {"c_tstz", "'-infinity'"},
        {"c_interval", "'-1 years -2 mons +3 days -04:05:06'"},
        {"c_uuid", "'00000000-0000-0000-0000-000000000000'"},
        {"c_json", "'[]'"},
        {"c_jsonb", "'null'"},
        {"c_enum", "'sad'"},
        {"c_int4arr", "'{}'"},
        {"c_textarr", R"('{NULL,"",x}')"}}},
      {4,
       {{"c_int2", "32767"},
        {"c_int4", "2147483647"},
        {"c_int8", "9223372036854775807"},
        {"c_float4", "'-Infinity'"},
        {"c_float8", "'-0'"},
        {"c_num52", "999.99"},
        {"c_num92", "9999999.99"},
        {"c_num184", "99999999999999.9999"},
        {"c_num192", "99999999999999999.99"},
        {"c_num3810", "'9999999999999999999999999999.9999999999'"},
        {"c_num", "'Infinity'"},
        {"c_text",
         R"(E'h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F389 "double" ''single'' back\\slash\nnew line\ttab \u0001 end')"},
        {"c_varchar", R"(E'\u00fcmlaut \u2713 \U0001F680')"},
        {"c_char", R"(E'\u00df\U0001F389')"},
        {"c_bytea", kAllBytes},
        {"c_date", "'-infinity'"},
        {"c_time", "'00:00:00'"},
        {"c_timetz", "'00:00:00+14'"},
        {"c_ts", "'-infinity'"},
        {"c_tstz", "'infinity'"},
        {"c_interval", "'-00:00:00.000001'"},
        {"c_uuid", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"},
        {"c_json", R"(E'{"k": "\\u00e9 \u00e9 \U0001F389", "q": "a\\"b"}')"},
        {"c_jsonb", R"(E'{"k": "\\u00e9 \u00e9 \U0001F389", "n": 1.50}')"},
        {"c_enum", "'très bien'"},
        {"c_int4arr", "'{-1,NULL,2147483647}'"},
        {"c_textarr",
         R"(E'{"with \\"quote\\"","comma, inside","back\\\\slash","{braces}","\U0001F389","NULL",NULL}')"}}},
      {5,
       {{"c_int2", "0"},
        {"c_float4", "'3.4028235e38'"},
        {"c_float8", "'1.7976931348623157e308'"},
        {"c_num52", "-0.5"},
        {"c_num92", "0.01"},
        {"c_num3810", "'0.0000000001'"},
        {"c_num", "('-' || repeat('9', 1000) || '.' || repeat('1', 200))::numeric"},
        // 5 MiB: three ASCII bytes, a 3-byte and a 4-byte character, 524288 times.
        {"c_text", R"(repeat(E'abc\u20ac\U0001F600', 524288))"},
        {"c_date", "'0044-03-15 BC'"},
        {"c_time", "'23:59:59.999999'"},
        {"c_timetz", "'12:00:00.000001+05:30'"},
        {"c_ts", "'0044-03-15 12:00:00 BC'"},
        {"c_tstz", "'0044-03-15 12:00:00+00 BC'"},
        {"c_interval", "'178000000 years'"},
        {"c_json", R"('"just a string"')"},
        {"c_jsonb", R"('[1, "two", {"three": 3}]')"},
        {"c_enum", "'ok'"},
        {"c_int4arr", "'{0}'"}}},
      {6,
       {{"c_float4", "'1.4e-45'"},
        {"c_float8", "'5e-324'"},
        {"c_num", "'0.000000000000000000000000000001'"},
        {"c_date", "'5874897-12-31'"},
        {"c_ts", "'9999-12-31 23:59:59.999999'"},
        {"c_tstz", "'1969-12-31 23:59:59.999999+00'"},
        {"c_time", "'00:00:00.000001'"},
        {"c_bool", "true"}}},
  };
  std::string tx = "BEGIN;";
  for (const auto& [id, values] : rows) {
    if (id == 5) continue;
    tx += InsertRow(id, values) + ";";
  }
  pg_.Exec(tx + "COMMIT", db_);
  pg_.Exec(InsertRow(5, rows[4].second), db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));

  std::vector<LakeColumn> columns = {{"id"}};
  for (const auto& [name, c] : TypeCases()) columns.push_back(c.render);
  {
    SCOPED_TRACE("after the inserts");
    EXPECT_TRUE(LakeMatchesTable(pg_, db_, Lake(pipeline), "public.all_types", {"id"}, columns));
  }

  // Updates of every kind of value, an update that leaves the 5 MB value out (TOAST), a
  // delete, a key change, and an insert updated in its own transaction.
  pg_.Exec(
      "UPDATE all_types SET c_float8 = '-Infinity', c_float4 = '-0', c_num3810 = -0.0000000001, "
      "c_text = 'updated', c_tstz = '1970-01-01 00:00:00+00', c_int4arr = NULL, "
      "c_json = '{\"nested\": {\"deep\": [true, false, null]}}' WHERE id = 1",
      db_);
  pg_.Exec("UPDATE all_types SET c_int2 = c_int2 + 1 WHERE id = 5", db_);
  std::string copy_cols;
  for (const auto& [name, c] : TypeCases()) copy_cols += (copy_cols.empty() ? "" : ", ") + name;
  pg_.Exec("UPDATE all_types SET (" + copy_cols + ") = (SELECT " + copy_cols +
               " FROM all_types WHERE id = 4) WHERE id = 2",
           db_);
  pg_.Exec("DELETE FROM all_types WHERE id = 3", db_);
  pg_.Exec("BEGIN;" +
               InsertRow(7, {{"c_float4", "'Infinity'"},
                             {"c_float8", "'Infinity'"},
                             {"c_text", "'seven'"},
                             {"c_bytea", kAllBytes},
                             {"c_interval", "'00:00:00'"}}) +
               ";UPDATE all_types SET c_text = NULL, c_bool = true WHERE id = 7;"
               "DELETE FROM all_types WHERE id = 6;COMMIT",
           db_);
  pg_.Exec("UPDATE all_types SET id = 8 WHERE id = 4", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  LakeTable table;
  {
    SCOPED_TRACE("after the updates and deletes");
    EXPECT_TRUE(
        LakeMatchesTable(pg_, db_, Lake(pipeline), "public.all_types", {"id"}, columns, &table));
  }
  // The delete carries the key only (REPLICA IDENTITY DEFAULT).
  size_t deletes = 0;
  for (const LakeRow& r : table.rows) {
    if (r.op != "d") continue;
    ++deletes;
    for (const auto& [col, value] : r.values) {
      if (col == "id") continue;
      EXPECT_FALSE(value.has_value()) << "delete row, column " << col;
    }
  }
  EXPECT_EQ(deletes, 3u) << "ids 3, 6 and 4 (its key changed to 8)";

  // DuckDB's types for the columns.
  const LakeListing listing = ListLake(Lake(pipeline));
  QueryResult schema = DuckDbQuery(
      "SELECT * FROM read_parquet(" +
      DuckDbParquetList(LakePaths(Lake(pipeline), LakeFilesOf(listing, "public.all_types"))) +
      ", union_by_name = true) LIMIT 0");
  std::map<std::string, std::string> types;
  for (size_t i = 0; i < schema.columns.size(); ++i) types[schema.columns[i]] = schema.types[i];
  std::map<std::string, std::string> expected = {
      {"id", "INTEGER"},     {"_op", "VARCHAR"},  {"_lsn", "BIGINT"},
      {"_seq", "BIGINT"},    {"_txid", "BIGINT"}, {"_commit_ts", "TIMESTAMP WITH TIME ZONE"},
      {"_unchanged", "JSON"}};
  for (const auto& [name, c] : TypeCases()) expected[name] = c.duckdb_type;
  EXPECT_EQ(types, expected);
  EXPECT_TRUE(CommitRecordsConsistent(Lake(pipeline), listing));
}

// --- DML ---

// Random inserts, updates, deletes and key changes over two tables (one with a composite
// key), some rolled back, a TRUNCATE half-way, after an initial snapshot.
TEST_F(ParquetSinkTest, RandomDmlReplaysToTheTables) {
  pg_.Exec(
      "CREATE TABLE accounts (id bigint PRIMARY KEY, v bigint NOT NULL, payload text);"
      "CREATE TABLE order_lines (order_id int, line int, sku text NOT NULL, qty int,"
      " PRIMARY KEY (order_id, line));"
      "INSERT INTO accounts SELECT -g, 0, 'snap ' || g FROM generate_series(1, 50) g;"
      "INSERT INTO order_lines SELECT o, l, 'sku-' || o || '-' || l, l FROM "
      "generate_series(1, 10) o, generate_series(1, 3) l",
      db_);
  PipelineSpec spec = Spec({"accounts", "order_lines"});
  spec.snapshot = "initial";
  spec.parquet_sinks[0].max_file_age = "500ms";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  ASSERT_TRUE(pipeline.process()->WaitForOutput("initial snapshot read", seconds(30)))
      << Tail(pipeline.Stderr());

  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  PgConnection conn = pg_.Connect(db_);
  std::vector<int64_t> accounts;
  for (int i = 1; i <= 50; ++i) accounts.push_back(-i);
  std::vector<std::pair<int, int>> lines;
  for (int o = 1; o <= 10; ++o) {
    for (int l = 1; l <= 3; ++l) lines.push_back({o, l});
  }
  int64_t next_account = 1;
  int next_order = 100;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int t = 0; t < 40; ++t) {
    if (t == 20) {
      conn.Exec("TRUNCATE order_lines");
      lines.clear();
      continue;
    }
    auto acc = accounts;
    auto lin = lines;
    conn.Exec("BEGIN");
    const int statements = 1 + static_cast<int>(rng() % 6);
    for (int s = 0; s < statements; ++s) {
      const int choice = static_cast<int>(rng() % 9);
      if (choice == 0 || acc.empty()) {
        const int64_t id = next_account++;
        conn.Exec("INSERT INTO accounts VALUES (" + std::to_string(id) + ", 0, 'p" +
                  std::to_string(rng() % 1000) + "')");
        acc.push_back(id);
      } else if (choice == 1) {
        conn.Exec("UPDATE accounts SET v = v + 1, payload = NULL WHERE id = " +
                  std::to_string(acc[pick(acc.size())]));
      } else if (choice == 2) {
        const size_t at = pick(acc.size());
        conn.Exec("DELETE FROM accounts WHERE id = " + std::to_string(acc[at]));
        acc.erase(acc.begin() + static_cast<long>(at));
      } else if (choice <= 4 || lin.empty()) {
        const int order = next_order++;
        for (int l = 1; l <= 2; ++l) {
          conn.Exec("INSERT INTO order_lines VALUES (" + std::to_string(order) + ", " +
                    std::to_string(l) + ", 'n" + std::to_string(rng() % 100) + "', 1)");
          lin.push_back({order, l});
        }
      } else if (choice == 5) {
        const auto [o, l] = lin[pick(lin.size())];
        conn.Exec("UPDATE order_lines SET qty = qty + 1, sku = sku || '+' WHERE order_id = " +
                  std::to_string(o) + " AND line = " + std::to_string(l));
      } else if (choice == 6) {
        // A key change: a delete of the old key and a create of the new one.
        const size_t at = pick(lin.size());
        const auto [o, l] = lin[at];
        conn.Exec("UPDATE order_lines SET line = line + 1000 WHERE order_id = " +
                  std::to_string(o) + " AND line = " + std::to_string(l));
        lin[at].second = l + 1000;
      } else {
        const size_t at = pick(lin.size());
        conn.Exec("DELETE FROM order_lines WHERE order_id = " + std::to_string(lin[at].first) +
                  " AND line = " + std::to_string(lin[at].second));
        lin.erase(lin.begin() + static_cast<long>(at));
      }
    }
    if (rng() % 8 == 0) {
      conn.Exec("ROLLBACK");
    } else {
      conn.Exec("COMMIT");
      accounts = std::move(acc);
      lines = std::move(lin);
    }
    if (t % 10 == 0) std::this_thread::sleep_for(milliseconds(300));  // several files
  }
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const fs::path lake = Lake(pipeline);
  LakeTable acc_rows, line_rows;
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.accounts", {"id"}, {}, &acc_rows));
  EXPECT_TRUE(
      LakeMatchesTable(pg_, db_, lake, "public.order_lines", {"order_id", "line"}, {}, &line_rows));
  EXPECT_TRUE(NoDuplicatePositions({acc_rows, line_rows}));

  // The snapshot: one r row per row present at the start, before every change.
  uint64_t first_change = UINT64_MAX, last_read = 0;
  std::map<std::string, size_t> reads;
  size_t truncates = 0;
  for (const LakeTable* t : {&acc_rows, &line_rows}) {
    for (const LakeRow& r : t->rows) {
      if (r.op == "r") {
        ++reads[t->qualified];
        last_read = std::max(last_read, r.lsn);
      } else {
        first_change = std::min(first_change, r.lsn);
      }
      if (r.op == "t") ++truncates;
    }
  }
  EXPECT_EQ(reads["public.accounts"], 50u);
  EXPECT_EQ(reads["public.order_lines"], 30u);
  EXPECT_LT(last_read, first_change) << "snapshot rows must come before the stream's";
  EXPECT_EQ(truncates, 1u);

  // Within a transaction _seq counts from 1 without a gap (over both tables), and the
  // transaction's rows share _txid and _commit_ts.
  std::map<uint64_t, std::set<int64_t>> seqs;
  std::map<uint64_t, std::set<std::pair<int64_t, int64_t>>> txids;
  std::map<uint64_t, size_t> rows_at;
  for (const LakeTable* t : {&acc_rows, &line_rows}) {
    for (const LakeRow& r : t->rows) {
      if (r.op == "r") continue;
      seqs[r.lsn].insert(r.seq);
      txids[r.lsn].insert({r.txid, r.commit_ts_us});
      ++rows_at[r.lsn];
    }
  }
  for (const auto& [lsn, s] : seqs) {
    EXPECT_EQ(*s.begin(), 1) << "transaction at lsn " << lsn;
    EXPECT_EQ(*s.rbegin(), static_cast<int64_t>(s.size()))
        << "transaction at lsn " << lsn << ": _seq has gaps";
    EXPECT_EQ(rows_at[lsn], s.size()) << "transaction at lsn " << lsn << ": _seq repeats";
    EXPECT_EQ(txids[lsn].size(), 1u) << "transaction at lsn " << lsn << ": several _txid";
  }
  EXPECT_GT(seqs.size(), 20u);

  // _lsn never goes back in file order, the files' names sorting in write order; _seq grows
  // within a transaction in a file.
  for (const LakeTable* t : {&acc_rows, &line_rows}) {
    std::vector<std::string> by_name = t->files;
    std::sort(by_name.begin(), by_name.end());
    EXPECT_EQ(by_name, t->files) << t->qualified << ": names do not sort in write order";
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < by_name.size(); ++i) index[by_name[i]] = i;
    std::vector<const LakeRow*> in_file_order;
    for (const LakeRow& r : t->rows) in_file_order.push_back(&r);
    std::sort(in_file_order.begin(), in_file_order.end(), [&](const LakeRow* a, const LakeRow* b) {
      return std::make_pair(index[a->file], a->file_row) <
             std::make_pair(index[b->file], b->file_row);
    });
    for (size_t i = 1; i < in_file_order.size(); ++i) {
      const LakeRow& a = *in_file_order[i - 1];
      const LakeRow& b = *in_file_order[i];
      EXPECT_TRUE(a.lsn < b.lsn || (a.lsn == b.lsn && a.seq < b.seq))
          << t->qualified << ": " << a.file << "#" << a.file_row << " (lsn " << a.lsn << " seq "
          << a.seq << ") before " << b.file << "#" << b.file_row << " (lsn " << b.lsn << " seq "
          << b.seq << ")";
    }
    EXPECT_GT(t->files.size(), 1u) << t->qualified;
  }
  EXPECT_TRUE(CommitRecordsConsistent(lake, ListLake(lake)));
}

// --- TOAST ---

// An update that leaves a large (TOASTed) value out: the column is NULL, _unchanged names it,
// and the replay keeps the value it had.
TEST_F(ParquetSinkTest, UnchangedToastedValueKeepsItsValue) {
  pg_.Exec("CREATE TABLE docs (id int PRIMARY KEY, big text, small int)", db_);
  WalflowPipeline pipeline(pg_, Spec({"docs"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  // 192 kB of hex digits: stored out of line.
  const std::string big =
      "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 6000) g)";
  pg_.Exec("INSERT INTO docs VALUES (1, " + big + ", 0), (2, NULL, 0), (3, 'short', 0)", db_);
  pg_.Exec("UPDATE docs SET small = small + 1", db_);
  pg_.Exec("UPDATE docs SET big = " + big + " WHERE id = 1", db_);
  pg_.Exec("UPDATE docs SET small = small + 1 WHERE id = 1", db_);
  EXPECT_EQ(pg_.Scalar("SELECT pg_column_size(big) < octet_length(big) OR "
                       "pg_column_size(big) > 2000 FROM docs WHERE id = 1",
                       db_),
            "t");
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const std::vector<LakeColumn> columns = {{"id"}, {"big", "md5(big)", "md5(big)"}, {"small"}};
  LakeTable table;
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, Lake(pipeline), "public.docs", {"id"}, columns, &table));
  std::vector<std::string> history;  // id 1: op, big NULL?, _unchanged
  for (const LakeRow& r : table.rows) {
    const std::string unchanged = Join(r.unchanged);
    if (r.values.at("id") == "1") {
      history.push_back(r.op + (r.values.at("big") ? " big" : " NULL") + " [" + unchanged + "]");
    } else {
      EXPECT_TRUE(r.unchanged.empty()) << "id " << *r.values.at("id") << ": " << unchanged;
    }
  }
  EXPECT_EQ(history,
            (std::vector<std::string>{"c big []", "u NULL [big]", "u big []", "u NULL [big]"}));
}

// --- Schema changes ---

// Columns added, retyped and dropped mid-stream: each layout starts a new file, every file
// stays readable, and the replay over all of them gives the table.
TEST_F(ParquetSinkTest, SchemaChangesStartNewFiles) {
  pg_.Exec("CREATE TABLE evolving (id int PRIMARY KEY, a int, b text)", db_);
  WalflowPipeline pipeline(pg_, Spec({"evolving"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO evolving VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three')", db_);
  pg_.Exec("ALTER TABLE evolving ADD COLUMN c numeric(10,2)", db_);
  pg_.Exec("INSERT INTO evolving VALUES (4, 40, 'four', 4.25), (5, 50, NULL, -5.5)", db_);
  pg_.Exec("UPDATE evolving SET c = 1.25 WHERE id = 1", db_);
  pg_.Exec("ALTER TABLE evolving ALTER COLUMN a TYPE bigint", db_);
  pg_.Exec("INSERT INTO evolving VALUES (6, 5000000000, 'six', 6)", db_);
  pg_.Exec("UPDATE evolving SET a = a + 1 WHERE id = 2", db_);
  pg_.Exec("ALTER TABLE evolving DROP COLUMN b", db_);
  pg_.Exec("INSERT INTO evolving VALUES (7, 7, 7.77)", db_);
  pg_.Exec("DELETE FROM evolving WHERE id = 3", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const fs::path lake = Lake(pipeline);
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.evolving", {"id"}));
  const std::vector<std::string> files = LakeFilesOf(ListLake(lake), "public.evolving");
  ASSERT_GE(files.size(), 4u) << Join(files);
  // Each file's own schema: column -> physical type (precision for decimals).
  QueryResult schema = DuckDbQuery(
      "SELECT file_name, name, type, CAST(precision AS VARCHAR) || ',' || CAST(scale AS VARCHAR) "
      "FROM parquet_schema(" +
      DuckDbParquetList(LakePaths(lake, files)) + ") WHERE name IN ('a', 'b', 'c')");
  std::map<std::string, std::map<std::string, std::string>> layouts;
  for (const auto& r : schema.rows) {
    std::string file = fs::path(r[0].value_or("")).filename().string();
    layouts[file][r[1].value_or("")] =
        r[2].value_or("") + (r[1] == "c" ? " " + r[3].value_or("") : "");
  }
  std::set<std::string> seen;
  for (const auto& [file, cols] : layouts) {
    std::string layout;
    for (const auto& [c, t] : cols) layout += c + ":" + t + " ";
    seen.insert(layout);
  }
  const std::set<std::string> expected = {
      "a:INT32 b:BYTE_ARRAY ", "a:INT32 b:BYTE_ARRAY c:INT64 10,2 ",
      "a:INT64 b:BYTE_ARRAY c:INT64 10,2 ", "a:INT64 c:INT64 10,2 "};
  EXPECT_EQ(seen, expected) << "one file per layout, in " << Join(files);
  // Every file reads on its own.
  for (const auto& f : files) {
    QueryResult r =
        DuckDbQuery("SELECT count(*) FROM read_parquet(" + DuckDbString((lake / f).string()) + ")");
    EXPECT_NE(r.rows.at(0).at(0), "0") << f;
  }
}

// --- Exactly once ---

// walflow killed with SIGKILL in the middle of the initial snapshot (of a table the writer
// does not touch) and then three times at random moments while a writer commits: every
// change and snapshot row is in the committed files once (and in the jsonl sink beside),
// and after each restart nothing an interrupted run left is visible.
TEST_F(ParquetSinkTest, ExactlyOnceAcrossKill9) {
  const std::vector<std::string> tables = {"customers", "orders"};
  RandomWorkload::CreateTables(pg_, db_, {"customers", "orders", "archive"});
  constexpr int kSnapshotRows = 300000;
  pg_.Exec("INSERT INTO archive SELECT g, 0, 'snapshot row ' || g FROM generate_series(1, " +
               std::to_string(kSnapshotRows) + ") g",
           db_);
  PipelineSpec spec = Spec({"customers", "orders", "archive"});
  spec.snapshot = "initial";
  spec.snapshot_chunk_size = 5000;
  // A jsonl sink beside it that makes its writes durable less often: the stream resumes at
  // the slower sink's position, and the parquet sink must skip what it holds.
  spec.jsonl_sink = true;
  spec.flush_interval = "700ms";
  // Files roll every few thousand snapshot rows, so that some are durable at the kill, and
  // row groups are flushed early, so that kills leave temporary files behind.
  spec.parquet_sinks[0].max_file_size = "1MB";
  spec.parquet_sinks[0].row_group_size = "64KB";
  WalflowPipeline pipeline(pg_, spec);
  const fs::path lake = Lake(pipeline);
  const std::string snapshot_state = pipeline.data_dir() + "/snapshot/" + pipeline.slot() + ".json";
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  // Restarts walflow after a kill: what the killed run left must be gone once the sink is
  // open (it is opened before anything is streamed).
  int leftovers_seen = 0;
  auto restart = [&]() -> ::testing::AssertionResult {
    const std::vector<LeftFile> left = Leftovers(lake);
    leftovers_seen += static_cast<int>(left.size());
    pipeline.Start();
    if (!pipeline.process()->WaitForOutput("sink lake (", seconds(30))) {
      return ::testing::AssertionFailure() << "the sink did not open:\n" << Tail(pipeline.Stderr());
    }
    const std::vector<std::string> still = StillThere(lake, left);
    if (!still.empty()) {
      return ::testing::AssertionFailure()
             << "left by the killed run and still there after the restart: " << Join(still);
    }
    return ::testing::AssertionSuccess();
  };

  // Kill 1: during the initial snapshot, once part of it is durable and while a file is
  // being written.
  pipeline.Start();
  bool in_snapshot = false;
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < 20 && !in_snapshot; ++i) {
          const LakeListing l = ListLake(lake);
          in_snapshot = l.newest_commit > 0 && !l.temporary.empty() && fs::exists(snapshot_state);
          if (!in_snapshot) std::this_thread::sleep_for(milliseconds(2));
        }
        return in_snapshot || !pipeline.Running() ||
               (ListLake(lake).newest_commit > 0 && !fs::exists(snapshot_state));
      },
      seconds(60)));
  pipeline.Kill9();
  EXPECT_TRUE(in_snapshot) << Tail(pipeline.Stderr());
  ASSERT_TRUE(restart());
  EXPECT_TRUE(pipeline.process()->WaitForOutput("finishing an interrupted snapshot", seconds(10)))
      << Tail(pipeline.LastStderr());
  // The rest of the snapshot is delivered before the writer starts: chunks read again while
  // streaming would also read rows the writer inserted (legitimately, as r rows).
  ASSERT_TRUE(WaitUntil([&] { return !fs::exists(snapshot_state); }, seconds(60)))
      << Tail(pipeline.Stderr());

  RandomWorkload workload(pg_.Dsn(db_), tables, seed);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      workload.RunFor(milliseconds(1), &stop);  // one transaction
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  std::string failure;
  for (int kill = 0; kill < 3 && failure.empty(); ++kill) {
    std::this_thread::sleep_for(milliseconds(1500 + rng() % 2500));
    if (!pipeline.Running()) {
      failure = "walflow exited by itself (code " +
                std::to_string(pipeline.process()->exit_code().value_or(-1)) + ")";
      break;
    }
    pipeline.Kill9();
    if (rng() % 2) std::this_thread::sleep_for(milliseconds(rng() % 300));
    auto restarted = restart();
    if (!restarted) failure = restarted.message();
  }
  std::this_thread::sleep_for(seconds(1));
  stop = true;
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure << "\n" << Tail(pipeline.Stderr());
  ASSERT_FALSE(workload.in_doubt());
  ASSERT_GT(workload.committed_transactions(), 100u);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  const std::vector<Json> jsonl = pipeline.Events();
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  {
    SCOPED_TRACE("jsonl sink");
    std::vector<Json> changes = EventsOf(jsonl, "public.customers");
    for (Json& e : EventsOf(jsonl, "public.orders")) changes.push_back(std::move(e));
    ExpectExactlyOnce(pg_, db_, changes, tables, workload.committed_changes(), pipeline.Stderr());
    EXPECT_EQ(EventsOf(jsonl, "public.archive").size(), static_cast<size_t>(kSnapshotRows));
  }

  const LakeListing listing = ListLake(lake);
  EXPECT_TRUE(listing.uncommitted.empty())
      << "files without a commit record: " << Join(listing.uncommitted);
  EXPECT_TRUE(listing.temporary.empty()) << "temporary files: " << Join(listing.temporary);
  EXPECT_TRUE(listing.other.empty()) << Join(listing.other);
  std::vector<LakeTable> read;
  std::vector<Json> events;
  for (const auto& t : tables) {
    read.push_back(
        ReadLakeTable(lake, listing, "public." + t, DefaultLakeColumns(pg_, db_, "public." + t)));
    for (Json& e : LakeEvents(read.back())) events.push_back(std::move(e));
  }
  LakeTable archive;
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.archive", {"id"}, {}, &archive));
  EXPECT_EQ(archive.rows.size(), static_cast<size_t>(kSnapshotRows)) << "one r row per row";
  read.push_back(std::move(archive));
  std::printf(
      "parquet kill -9: seed %u, %llu transactions, %zu changes, %zu files, %d files "
      "left by killed runs\n",
      seed, static_cast<unsigned long long>(workload.committed_transactions()), events.size(),
      listing.committed.size(), leftovers_seen);
  EXPECT_GT(leftovers_seen, 0) << "no kill left a file behind: the cleanup went untested";
  EXPECT_TRUE(NoDuplicatePositions(read));
  ExpectExactlyOnce(pg_, db_, events, tables, workload.committed_changes(), pipeline.Stderr());
  EXPECT_TRUE(CommitRecordsConsistent(lake, listing));
}

// walflow killed while it completes the files of a commit and before it writes the commit
// record (files visible without a record), three times: the restart removes those files and
// writes their rows again, once.
TEST_F(ParquetSinkTest, KillBetweenFilesAndTheirCommitRecord) {
  std::vector<std::string> tables;
  for (int i = 0; i < 12; ++i) tables.push_back("t" + std::to_string(i));
  RandomWorkload::CreateTables(pg_, db_, tables);
  PipelineSpec spec = Spec(tables);
  spec.parquet_sinks[0].max_file_age = "500ms";
  WalflowPipeline pipeline(pg_, spec);
  const fs::path lake = Lake(pipeline);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomWorkload workload(pg_.Dsn(db_), tables, seed, 12);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      workload.RunFor(milliseconds(1), &stop);  // one transaction
      std::this_thread::sleep_for(milliseconds(3));
    }
  });
  std::string failure;
  int caught = 0;
  for (int attempt = 0; attempt < 6 && caught < 3 && failure.empty(); ++attempt) {
    // Polls for data files past the newest commit record, and kills at once.
    const bool seen = WaitUntil(
        [&] {
          for (int i = 0; i < 200; ++i) {
            if (!ListLake(lake).uncommitted.empty()) return true;
            std::this_thread::sleep_for(milliseconds(1));
          }
          return !pipeline.Running();
        },
        seconds(5));
    if (!pipeline.Running()) {
      failure = "walflow exited by itself";
      break;
    }
    pipeline.Kill9();
    const std::vector<LeftFile> left = Leftovers(lake);
    size_t uncommitted = 0;
    for (const auto& f : left) uncommitted += LakeFileCommit(f.key) > 0;
    if (seen && uncommitted > 0) ++caught;
    pipeline.Start();
    if (!pipeline.process()->WaitForOutput("sink lake (", seconds(30))) {
      failure = "the sink did not open after the restart";
      break;
    }
    const std::vector<std::string> still = StillThere(lake, left);
    if (!still.empty()) failure = "still there after the restart: " + Join(still);
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure << "\n" << Tail(pipeline.Stderr());
  ASSERT_FALSE(workload.in_doubt());
  EXPECT_GE(caught, 1) << "no kill landed between the files and their commit record";
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const LakeListing listing = ListLake(lake);
  EXPECT_TRUE(listing.uncommitted.empty()) << Join(listing.uncommitted);
  EXPECT_TRUE(listing.temporary.empty()) << Join(listing.temporary);
  std::vector<LakeTable> read;
  std::vector<Json> events;
  for (const auto& t : tables) {
    read.push_back(
        ReadLakeTable(lake, listing, "public." + t, DefaultLakeColumns(pg_, db_, "public." + t)));
    for (Json& e : LakeEvents(read.back())) events.push_back(std::move(e));
  }
  std::printf(
      "parquet kill between files and record: seed %u, %d of the kills caught files "
      "without a record, %llu transactions, %zu files\n",
      seed, caught, static_cast<unsigned long long>(workload.committed_transactions()),
      listing.committed.size());
  EXPECT_TRUE(NoDuplicatePositions(read));
  ExpectExactlyOnce(pg_, db_, events, tables, workload.committed_changes(), pipeline.Stderr());
}

// --- File sizes and ages ---

// At a high rate, files roll at about max_file_size: a handful of files near 1 MB, not
// thousands of small ones.
TEST_F(ParquetSinkTest, FilesRollNearMaxFileSize) {
  pg_.Exec("CREATE TABLE bulk (id bigint PRIMARY KEY, payload text)", db_);
  PipelineSpec spec = Spec({"bulk"});
  spec.parquet_sinks[0].compression = "none";
  spec.parquet_sinks[0].max_file_size = "1MB";
  // Long enough for every file to fill at this rate; the last one is completed by age.
  spec.parquet_sinks[0].max_file_age = "4s";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  // 12 MB: 600 transactions of 20 rows of 1 kB.
  constexpr int kTransactions = 600, kRowsPerTransaction = 20;
  PgConnection conn = pg_.Connect(db_);
  const auto started = Clock::now();
  for (int t = 0; t < kTransactions; ++t) {
    const int first = t * kRowsPerTransaction + 1;
    conn.Exec(
        "INSERT INTO bulk SELECT g, (SELECT string_agg(md5(g::text || '/' || r), '') FROM "
        "generate_series(1, 32) r) FROM generate_series(" +
        std::to_string(first) + ", " + std::to_string(first + kRowsPerTransaction - 1) + ") g");
  }
  const double write_secs = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const fs::path lake = Lake(pipeline);
  const LakeListing listing = ListLake(lake);
  const std::vector<std::string> files = LakeFilesOf(listing, "public.bulk");
  std::vector<uint64_t> sizes;
  std::string shown;
  for (const auto& f : files) {
    sizes.push_back(fs::file_size(lake / f));
    shown += std::to_string(sizes.back() / 1024) + "k ";
  }
  std::printf("parquet sizes: 12 MB in %.1f s -> %zu files: %s\n", write_secs, files.size(),
              shown.c_str());
  EXPECT_GE(files.size(), 8u) << shown;
  EXPECT_LE(files.size(), 16u) << shown;
  // All but the last (completed at the stop) between 0.9 and 1.5 MB.
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    EXPECT_GE(sizes[i], 900u * 1024) << files[i] << "; all: " << shown;
    EXPECT_LE(sizes[i], 1536u * 1024) << files[i] << "; all: " << shown;
  }
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.bulk", {"id"},
                               {{"id"}, {"payload", "md5(payload)", "md5(payload)"}}));
  EXPECT_TRUE(CommitRecordsConsistent(lake, listing));
}

// At one row a second, a row is in a committed file within max_file_age plus the flush
// interval (and some slack for a busy machine).
TEST_F(ParquetSinkTest, SlowTrickleAppearsWithinMaxFileAge) {
  pg_.Exec("CREATE TABLE trickle (id int PRIMARY KEY, note text)", db_);
  WalflowPipeline pipeline(pg_, Spec({"trickle"}));  // max_file_age 1s, flush_interval 200ms
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  const fs::path lake = Lake(pipeline);
  std::vector<long> latencies;
  std::string shown;
  for (int i = 1; i <= 6; ++i) {
    const auto t0 = Clock::now();
    pg_.Exec(
        "INSERT INTO trickle VALUES (" + std::to_string(i) + ", 'row " + std::to_string(i) + "')",
        db_);
    ASSERT_TRUE(WaitUntil(
        [&] { return RowsInCommitRecords(lake, "public.trickle") >= static_cast<uint64_t>(i); },
        seconds(15)))
        << "row " << i << " not committed within 15 s\n"
        << Tail(pipeline.Stderr());
    latencies.push_back(
        static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count()));
    shown += std::to_string(latencies.back()) + " ms ";
    std::this_thread::sleep_until(t0 + seconds(1));
  }
  std::printf("parquet trickle: rows committed after %s\n", shown.c_str());
  for (long ms : latencies) EXPECT_LE(ms, 1000 + 200 + 1500) << shown;
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  const size_t files = LakeFilesOf(ListLake(lake), "public.trickle").size();
  EXPECT_GE(files, 2u);
  EXPECT_LE(files, 7u);
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.trickle", {"id"}));
}

// Four sinks in one pipeline: no compression, snappy, zstd, and date partitions. Each replays
// to the table; parquet_metadata shows the codec; the partitioned files read with
// hive_partitioning and their date is their rows' commit date.
TEST_F(ParquetSinkTest, CodecsAndDatePartitions) {
  pg_.Exec("CREATE TABLE measures (id int PRIMARY KEY, label text, value float8)", db_);
  PipelineSpec spec = Spec({"measures"});
  TempDir lakes("walflow-lakes");
  spec.parquet_sinks.clear();
  const std::vector<std::pair<std::string, std::string>> codecs = {
      {"none", "UNCOMPRESSED"}, {"snappy", "SNAPPY"}, {"zstd", "ZSTD"}};
  for (const auto& [codec, name] : codecs) {
    ParquetSinkSpec p;
    p.name = "lake_" + codec;
    p.path = lakes.File(codec);
    p.compression = codec;
    spec.parquet_sinks.push_back(p);
  }
  ParquetSinkSpec dated;
  dated.name = "lake_dated";
  dated.path = lakes.File("dated");
  dated.partition_by = "commit_date";
  spec.parquet_sinks.push_back(dated);
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec(
      "INSERT INTO measures SELECT g, repeat('label ' || (g % 7), 20), g * 1.5 FROM "
      "generate_series(1, 300) g",
      db_);
  pg_.Exec("UPDATE measures SET value = 'NaN', label = NULL WHERE id % 6 = 0", db_);
  pg_.Exec("DELETE FROM measures WHERE id % 10 = 0", db_);
  pg_.Exec("INSERT INTO measures VALUES (1000, 'late', '-Infinity')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  const std::vector<LakeColumn> columns = {
      {"id"}, {"label"}, {"value", "", "", LakeNormalize::kFloat8}};
  for (const auto& [codec, name] : codecs) {
    SCOPED_TRACE("compression " + codec);
    const fs::path root = lakes.path() / codec;
    EXPECT_TRUE(LakeMatchesTable(pg_, db_, root, "public.measures", {"id"}, columns));
    QueryResult r = DuckDbQuery(
        "SELECT DISTINCT compression FROM parquet_metadata(" +
        DuckDbParquetList(LakePaths(root, LakeFilesOf(ListLake(root), "public.measures"))) + ")");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0][0], name);
  }

  SCOPED_TRACE("partition_by commit_date");
  const fs::path root = lakes.path() / "dated";
  const LakeListing listing = ListLake(root);
  const std::vector<std::string> files = LakeFilesOf(listing, "public.measures");
  ASSERT_FALSE(files.empty());
  std::set<std::string> dirs;
  for (const auto& f : files) dirs.insert(fs::path(f).parent_path().filename().string());
  for (const auto& d : dirs) {
    EXPECT_TRUE(d.size() == 15 && d.rfind("date=", 0) == 0 && d[9] == '-' && d[12] == '-') << d;
  }
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, root, "public.measures", {"id"}, columns));
  QueryResult r = DuckDbQuery(
      "SELECT CAST(date AS VARCHAR), count(*), count(*) FILTER (WHERE CAST(_commit_ts AS DATE) "
      "<> CAST(date AS DATE)) FROM read_parquet(" +
      DuckDbParquetList(LakePaths(root, files)) + ", hive_partitioning = true) GROUP BY 1");
  uint64_t rows = 0;
  std::set<std::string> dates;
  for (const auto& row : r.rows) {
    dates.insert("date=" + row[0].value_or(""));
    rows += std::stoull(row[1].value_or("0"));
    EXPECT_EQ(row[2], "0") << "rows of another commit date in date=" << row[0].value_or("");
  }
  EXPECT_EQ(dates, dirs);
  EXPECT_EQ(rows, 300u + 50u + 30u + 1u);
}

// --- Bad input ---

// A path whose parent is a regular file (root can write anywhere else): walflow stops with an
// error that names the sink and the path.
TEST_F(ParquetSinkTest, UnwritablePathStopsNamingTheSink) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY)", db_);
  TempDir tmp("walflow-notadir");
  const std::string file = tmp.File("a-file");
  WriteFile(file, "not a directory");
  PipelineSpec spec = Spec({"t"});
  spec.parquet_sinks[0].path = file + "/lake";
  WalflowPipeline pipeline(pg_, spec);
  const auto started = Clock::now();
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_EQ(*code, 1) << Tail(pipeline.Stderr());
  EXPECT_LT(Clock::now() - started, seconds(15));
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, "sink lake")) << err;
  EXPECT_TRUE(Contains(err, file)) << err;

  // `walflow check` says the same.
  ProcessResult check = RunProcess({WalflowBinary(), "check", pipeline.config_path()}, seconds(60));
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_TRUE(Contains(check.out, "FAIL sink lake")) << check.out;
}

// An unknown codec is a config error: exit 2, naming the file, the line and the key.
TEST_F(ParquetSinkTest, UnknownCompressionIsAConfigError) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY)", db_);
  PipelineSpec spec = Spec({"t"});
  spec.parquet_sinks[0].compression = "lz4";
  WalflowPipeline pipeline(pg_, spec);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_EQ(*code, 2);
  const std::string err = pipeline.LastStderr();
  const int line = LineOf(ReadWholeFile(pipeline.config_path()), "compression:");
  ASSERT_GT(line, 0);
  EXPECT_TRUE(Contains(err, pipeline.config_path() + ":" + std::to_string(line) + ":")) << err;
  EXPECT_TRUE(Contains(err, "compression")) << err;
  EXPECT_TRUE(Contains(err, "lz4")) << err;
  EXPECT_TRUE(Contains(err, "zstd")) << "the error should list the codecs: " << err;
}

// 'NaN' in a numeric(5,2) column has no DECIMAL value: walflow stops naming the sink, the table
// and the column, the files hold exactly the changes before that transaction, the slot is
// not advanced past it, and a restart stops on the same change again.
TEST_F(ParquetSinkTest, ValueThatDoesNotFitStopsWithoutLosingAnything) {
  pg_.Exec("CREATE TABLE prices (id int PRIMARY KEY, price numeric(5,2))", db_);
  WalflowPipeline pipeline(pg_, Spec({"prices"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO prices VALUES (1, 1.50), (2, 2.50)", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  PgConnection conn = pg_.Connect(db_);
  conn.Exec("BEGIN; INSERT INTO prices VALUES (3, 3.00); INSERT INTO prices VALUES (4, 'NaN')");
  const std::string failed_xid = conn.Scalar("SELECT pg_current_xact_id()");
  conn.Exec("COMMIT");
  pg_.Exec("INSERT INTO prices VALUES (5, 5.00)", db_);

  // The slot still holds the failed transaction: peeking at it (walflow has stopped) shows its
  // changes.
  auto failed_transaction_in_slot = [&] {
    return pg_.Scalar("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('" +
                          pipeline.slot() +
                          "', NULL, NULL, 'proto_version', '1', 'publication_names', '" +
                          pipeline.spec().publication + "') WHERE xid = '" + failed_xid + "'",
                      db_) != "0";
  };
  const fs::path lake = Lake(pipeline);
  auto expect_stopped = [&](const std::string& run) {
    SCOPED_TRACE(run);
    auto code = pipeline.WaitExit(seconds(30));
    ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
    EXPECT_EQ(*code, 1);
    const std::string err = pipeline.LastStderr();
    EXPECT_TRUE(Contains(err, "sink lake")) << err;
    EXPECT_TRUE(Contains(err, "public.prices")) << err;
    EXPECT_TRUE(Contains(err, "column price")) << err;
    EXPECT_TRUE(Contains(err, "NaN")) << err;
    // The server may take a moment to see the connection gone.
    ASSERT_TRUE(WaitUntil(
        [&] {
          return pg_.Scalar("SELECT active FROM pg_replication_slots WHERE slot_name = '" +
                                pipeline.slot() + "'",
                            db_) == "f";
        },
        seconds(10)));
    EXPECT_TRUE(failed_transaction_in_slot()) << "the slot moved past the failed transaction";
    const LakeListing listing = ListLake(lake);
    EXPECT_TRUE(listing.uncommitted.empty()) << Join(listing.uncommitted);
    LakeTable table = ReadLakeTable(lake, listing, "public.prices",
                                    DefaultLakeColumns(pg_, db_, "public.prices"));
    std::vector<std::string> ids;
    for (const auto& r : table.rows) ids.push_back(r.op + *r.values.at("id"));
    EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c2"}));
  };
  expect_stopped("first run");
  pipeline.Start();
  expect_stopped("after a restart");
  EXPECT_TRUE(ListLake(lake).temporary.empty()) << Join(ListLake(lake).temporary);
}

// A column whose name is a metadata column's: walflow stops at the first row of the table,
// naming the sink, the table and the column.
TEST_F(ParquetSinkTest, ColumnNamedLikeAMetadataColumnStops) {
  pg_.Exec("CREATE TABLE clash (id int PRIMARY KEY, _lsn text)", db_);
  WalflowPipeline pipeline(pg_, Spec({"clash"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO clash VALUES (1, 'x')", db_);
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_EQ(*code, 1);
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, "sink lake")) << err;
  EXPECT_TRUE(Contains(err, "public.clash")) << err;
  EXPECT_TRUE(Contains(err, "_lsn")) << err;
  const LakeListing listing = ListLake(Lake(pipeline));
  EXPECT_TRUE(listing.committed.empty() && listing.uncommitted.empty() && listing.temporary.empty())
      << Join(listing.committed) << " " << Join(listing.uncommitted) << " "
      << Join(listing.temporary);
}

// --- walflow check ---

TEST_F(ParquetSinkTest, CheckReportsThePosition) {
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY, note text)", db_);
  WalflowPipeline pipeline(pg_, Spec({"t"}));
  const std::string where = "sink lake (" + Lake(pipeline).string() + ")";
  ProcessResult check = RunProcess({WalflowBinary(), "check", pipeline.config_path()}, seconds(60));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(Contains(check.out, "ok   " + where + " is empty")) << check.out;

  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO t SELECT g, 'n' FROM generate_series(1, 10) g", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  // A transaction without rows for the sink (a table outside the publication; walflow's
  // heartbeats do the same at random moments): the slot may move past it.
  pg_.Exec("CREATE TABLE unpublished (id int); INSERT INTO unpublished VALUES (1)", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  const LakeListing listing = ListLake(Lake(pipeline));
  ASSERT_GT(listing.newest_commit, 0u);
  const std::string position =
      ReadCommitRecord(Lake(pipeline), listing.newest_commit).value("position", "");
  check = RunProcess({WalflowBinary(), "check", pipeline.config_path()}, seconds(60));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(Contains(check.out, "ok   " + where + " holds changes up to " + position + "\n"))
      << "position " << position << ":\n"
      << check.out;
  // What the sink holds is what it made the slot confirm.
  const std::string confirmed =
      pg_.Scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" +
                     pipeline.slot() + "'",
                 db_);
  EXPECT_LE(ParsePgLsn(confirmed), ParsePgLsn(position))
      << "after a clean stop, the newest commit record (" << position
      << ") is behind the slot's confirmed position (" << confirmed << ")";
}

}  // namespace
}  // namespace walflow::test
