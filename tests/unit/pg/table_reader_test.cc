// The server-free parts of the snapshot table reader: string literals, the COPY statement
// of a chunk, and the row keys the watermark method compares.
#include "pg/table_reader.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace walflow::pg {
namespace {

ColumnSchema Column(const std::string& name, ValueKind kind, const std::string& type_name) {
  ColumnSchema c;
  c.name = name;
  c.type.kind = kind;
  c.type.type_name = type_name;
  return c;
}

// public.orders (id int4, region text, note text) with the given key columns.
TableSchemaPtr Orders(std::vector<int> key_columns) {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16384);
  t->schema = "public";
  t->name = "orders";
  t->version = 1;
  t->columns = {Column("id", ValueKind::kInt32, "int4"),
                Column("region", ValueKind::kString, "text"),
                Column("note", ValueKind::kString, "text")};
  for (size_t i = 0; i < key_columns.size(); ++i) {
    t->columns[key_columns[i]].primary_key_position = static_cast<int>(i);
    t->columns[key_columns[i]].replica_key = true;
  }
  t->key_columns = std::move(key_columns);
  return t;
}

// A SnapshotTable as DescribeSnapshotTable would build it for Orders(key_columns).
SnapshotTable OrdersTable(std::vector<int> key_columns) {
  SnapshotTable t;
  t.schema = Orders(key_columns);
  t.from = "ONLY \"public\".\"orders\"";
  t.select_list = "\"id\", \"region\", \"note\"";
  const std::vector<std::string> types = {"integer", "text", "text"};
  for (int k : key_columns) t.key_types.push_back(types[k]);
  return t;
}

const std::string kSelect =
    "COPY (SELECT \"id\", \"region\", \"note\" FROM ONLY \"public\".\"orders\"";

// ---- QuoteLiteral ------------------------------------------------------------------

TEST(QuoteLiteralTest, DoublesSingleQuotes) {
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteLiteral("abc"), "'abc'");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("'"), "''''");
  EXPECT_EQ(QuoteLiteral("''x''"), "'''''x'''''");
}

TEST(QuoteLiteralTest, OtherCharactersAreKeptAsTheyAre) {
  // With standard_conforming_strings on (the default) a backslash is an ordinary character.
  EXPECT_EQ(QuoteLiteral("a\\b"), "'a\\b'");
  EXPECT_EQ(QuoteLiteral("\"q\""), "'\"q\"'");
  EXPECT_EQ(QuoteLiteral("tab\there\nnl"), "'tab\there\nnl'");
  EXPECT_EQ(QuoteLiteral("h\xc3\xa9 \xf0\x9f\x98\x80"), "'h\xc3\xa9 \xf0\x9f\x98\x80'");
  EXPECT_EQ(QuoteLiteral("00000000-walflow_snap-1"), "'00000000-walflow_snap-1'");
}

// ---- ChunkCopySql -------------------------------------------------------------------

TEST(ChunkCopySqlTest, WholeTable) {
  EXPECT_EQ(ChunkCopySql(OrdersTable({0}), ChunkBounds{}), kSelect + ") TO STDOUT");
}

TEST(ChunkCopySqlTest, KeyRangeIsOpenBelowAndClosedAbove) {
  SnapshotTable t = OrdersTable({0});
  ChunkBounds lo_only;
  lo_only.lo = KeyValues{"5"};
  EXPECT_EQ(ChunkCopySql(t, lo_only), kSelect + " WHERE (\"id\") > ('5'::integer)) TO STDOUT");

  ChunkBounds hi_only;
  hi_only.hi = KeyValues{"9"};
  EXPECT_EQ(ChunkCopySql(t, hi_only), kSelect + " WHERE (\"id\") <= ('9'::integer)) TO STDOUT");

  ChunkBounds both;
  both.lo = KeyValues{"5"};
  both.hi = KeyValues{"9"};
  EXPECT_EQ(ChunkCopySql(t, both), kSelect +
                                       " WHERE (\"id\") > ('5'::integer)"
                                       " AND (\"id\") <= ('9'::integer)) TO STDOUT");
}

TEST(ChunkCopySqlTest, CompositeKeyComparesRows) {
  SnapshotTable t = OrdersTable({1, 0});  // key (region, id)
  ChunkBounds b;
  b.lo = KeyValues{"O'Brien", "7"};
  b.hi = KeyValues{"z\\one", "-1"};
  EXPECT_EQ(ChunkCopySql(t, b), kSelect +
                                    " WHERE (\"region\", \"id\") > ('O''Brien'::text, '7'::integer)"
                                    " AND (\"region\", \"id\") <= ('z\\one'::text, '-1'::integer))"
                                    " TO STDOUT");
}

TEST(ChunkCopySqlTest, LimitReadsTheFirstRowsInKeyOrder) {
  SnapshotTable t = OrdersTable({1, 0});
  ChunkBounds b;
  b.limit = 4096;
  EXPECT_EQ(ChunkCopySql(t, b), kSelect + " ORDER BY \"region\", \"id\" LIMIT 4096) TO STDOUT");
  b.lo = KeyValues{"eu", "12"};
  EXPECT_EQ(ChunkCopySql(t, b), kSelect +
                                    " WHERE (\"region\", \"id\") > ('eu'::text, '12'::integer)"
                                    " ORDER BY \"region\", \"id\" LIMIT 4096) TO STDOUT");
}

TEST(ChunkCopySqlTest, QuotedIdentifiers) {
  SnapshotTable t;
  auto schema = std::make_shared<TableSchema>();
  schema->schema = "My Schema";
  schema->name = "we\"ird";
  schema->columns = {Column("Key \"1\"", ValueKind::kString, "text"),
                     Column("v", ValueKind::kString, "text")};
  schema->key_columns = {0};
  t.schema = schema;
  t.from = "\"My Schema\".\"we\"\"ird\"";  // a partitioned table: no ONLY
  t.select_list = "\"Key \"\"1\"\"\", \"v\"";
  t.key_types = {"character varying"};
  ChunkBounds b;
  b.hi = KeyValues{"k"};
  b.limit = 10;
  EXPECT_EQ(ChunkCopySql(t, b),
            "COPY (SELECT \"Key \"\"1\"\"\", \"v\" FROM \"My Schema\".\"we\"\"ird\""
            " WHERE (\"Key \"\"1\"\"\") <= ('k'::character varying)"
            " ORDER BY \"Key \"\"1\"\"\" LIMIT 10) TO STDOUT");
}

TEST(ChunkCopySqlTest, PageRangesByCtid) {
  SnapshotTable t = OrdersTable({});
  ChunkBounds b;
  b.by_ctid = true;
  EXPECT_EQ(ChunkCopySql(t, b), kSelect + ") TO STDOUT");  // pages [0, end of table)
  b.end_page = 128;
  EXPECT_EQ(ChunkCopySql(t, b), kSelect + " WHERE ctid < '(128,0)'::tid) TO STDOUT");
  b.first_page = 128;
  b.end_page = 256;
  EXPECT_EQ(ChunkCopySql(t, b),
            kSelect + " WHERE ctid >= '(128,0)'::tid AND ctid < '(256,0)'::tid) TO STDOUT");
  b.end_page = -1;
  EXPECT_EQ(ChunkCopySql(t, b), kSelect + " WHERE ctid >= '(128,0)'::tid) TO STDOUT");
}

TEST(ChunkCopySqlTest, CtidChunkIgnoresKeyBounds) {
  SnapshotTable t = OrdersTable({0});
  ChunkBounds b;
  b.by_ctid = true;
  b.lo = KeyValues{"1"};
  b.first_page = 3;
  b.end_page = 4;
  EXPECT_EQ(ChunkCopySql(t, b),
            kSelect + " WHERE ctid >= '(3,0)'::tid AND ctid < '(4,0)'::tid) TO STDOUT");
}

// ---- EncodeRowKey and RowKeyValues ---------------------------------------------------

// A row of Orders: nullopt is NULL.
int32_t AddRow(ChangeBatch* b, const std::vector<std::optional<std::string>>& cells) {
  int32_t first = b->AddRow(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i]) b->SetText(first + static_cast<int32_t>(i), *cells[i]);
  }
  return first;
}

std::optional<std::string> Key(const TableSchema& t,
                               const std::vector<std::optional<std::string>>& cells) {
  ChangeBatch b;
  AddRow(&b, {"padding", "so that", "the row is not first"});
  int32_t first = AddRow(&b, cells);
  std::string out = "left over from before";
  if (!EncodeRowKey(b, t, first, &out)) return std::nullopt;
  return out;
}

TEST(EncodeRowKeyTest, EqualKeysGiveEqualStrings) {
  auto t = Orders({0, 1});
  auto a = Key(*t, {"1", "eu", "first note"});
  auto b = Key(*t, {"1", "eu", std::nullopt});  // non-key columns do not matter
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, "left over from before");
  EXPECT_EQ(a->find("left over"), std::string::npos) << *a;
}

TEST(EncodeRowKeyTest, DifferentKeysGiveDifferentStrings) {
  auto t = Orders({0, 1});
  const std::vector<std::vector<std::optional<std::string>>> rows = {
      {"a", "bc", "n"},  {"ab", "c", "n"}, {"abc", "", "n"},  {"", "abc", "n"},  {"1", "eu", "n"},
      {"1", "eu ", "n"}, {"1", "EU", "n"}, {"2", "eu", "n"},  {"1:", "2", "n"},  {"1", ":2", "n"},
      {"", "", "n"},     {"1:a", "", "n"}, {"1", "1:a", "n"}, {"a\t", "b", "n"}, {"a", "\tb", "n"},
  };
  std::set<std::string> seen;
  for (const auto& r : rows) {
    auto k = Key(*t, r);
    ASSERT_TRUE(k) << *r[0] << "," << *r[1];
    EXPECT_TRUE(seen.insert(*k).second) << "(" << *r[0] << ", " << *r[1] << ") collides: " << *k;
  }
}

TEST(EncodeRowKeyTest, LengthPrefixesKeepColumnsApart) {
  // The same concatenated bytes split differently between the key columns.
  auto t = Orders({0, 1});
  EXPECT_NE(*Key(*t, {"a", "bc", "x"}), *Key(*t, {"ab", "c", "x"}));
  EXPECT_NE(*Key(*t, {"", "ab", "x"}), *Key(*t, {"ab", "", "x"}));
  // A value that looks like an encoded column.
  EXPECT_NE(*Key(*t, {"1:a", "1:b", "x"}), *Key(*t, {"a", "1:b", "x"}));
}

TEST(EncodeRowKeyTest, FollowsKeyOrder) {
  auto region_first = Orders({1, 0});
  auto id_first = Orders({0, 1});
  // Same values, the key columns taken in a different order.
  EXPECT_NE(*Key(*region_first, {"1", "eu", "x"}), *Key(*id_first, {"1", "eu", "x"}));
  EXPECT_EQ(*Key(*region_first, {"1", "eu", "x"}), *Key(*id_first, {"eu", "1", "x"}));
}

TEST(EncodeRowKeyTest, MissingKeyColumnIsFalse) {
  auto t = Orders({0, 1});
  EXPECT_FALSE(Key(*t, {std::nullopt, "eu", "x"}));
  EXPECT_FALSE(Key(*t, {"1", std::nullopt, "x"}));
  EXPECT_TRUE(Key(*t, {"1", "eu", std::nullopt}));  // a NULL outside the key is fine

  // An unchanged TOAST value (a key column pgoutput did not send) is missing too.
  ChangeBatch b;
  int32_t first = AddRow(&b, {"1", std::nullopt, "x"});
  b.DatumAt(first + 1).kind = Datum::Kind::kUnchangedToast;
  std::string out;
  EXPECT_FALSE(EncodeRowKey(b, *t, first, &out));
}

TEST(EncodeRowKeyTest, UnicodeAndEmbeddedBytes) {
  auto t = Orders({1});
  const std::string nul_inside("a\0b", 3);
  auto k1 = Key(*t, {"1", "h\xc3\xa9", "x"});
  auto k2 = Key(*t, {"1", "he", "x"});
  auto k3 = Key(*t, {"1", nul_inside, "x"});
  auto k4 = Key(*t, {"1", "a", "x"});
  ASSERT_TRUE(k1 && k2 && k3 && k4);
  EXPECT_NE(*k1, *k2);
  EXPECT_NE(*k3, *k4);
  EXPECT_NE(k3->find(nul_inside), std::string::npos);
}

TEST(RowKeyValuesTest, KeyColumnsInKeyOrder) {
  ChangeBatch b;
  AddRow(&b, {"0", "padding", "row"});
  int32_t first = AddRow(&b, {"42", "O'Brien\t\xc3\xa9", "note"});
  EXPECT_EQ(RowKeyValues(b, *Orders({0}), first), (KeyValues{"42"}));
  EXPECT_EQ(RowKeyValues(b, *Orders({1, 0}), first), (KeyValues{"O'Brien\t\xc3\xa9", "42"}));
  EXPECT_EQ(RowKeyValues(b, *Orders({}), first), KeyValues{});
}

TEST(RowKeyValuesTest, FeedTheNextChunkBound) {
  // The last key of one chunk becomes the exclusive lower bound of the next.
  SnapshotTable t = OrdersTable({1, 0});
  ChangeBatch b;
  int32_t first = AddRow(&b, {"7", "it's", "n"});
  ChunkBounds next;
  next.lo = RowKeyValues(b, *t.schema, first);
  next.limit = 2;
  EXPECT_EQ(ChunkCopySql(t, next), kSelect +
                                       " WHERE (\"region\", \"id\") > ('it''s'::text, '7'::integer)"
                                       " ORDER BY \"region\", \"id\" LIMIT 2) TO STDOUT");
}

}  // namespace
}  // namespace walflow::pg
