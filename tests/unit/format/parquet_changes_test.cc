// ChangeRowEncoder: change rows built by hand (PostgreSQL's text forms, as pgoutput sends
// them with walflow's session settings: DateStyle ISO, IntervalStyle postgres, TimeZone
// UTC, extra_float_digits 3) written with ParquetWriter and read back by DuckDB; the
// metadata columns of every operation; values that do not fit their column; SameLayout.
#include "format/parquet_changes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/event_test_util.h"
#include "format/parquet_test_util.h"
#include "temp_dir.h"

namespace walflow::format::parquet {
namespace {

using namespace walflow::format::test;  // NOLINT
using walflow::test::TempDir;
using Opt = std::optional<std::string>;
const Opt kNull = std::nullopt;

ValueType Mood() {
  ValueType t = Type(ValueKind::kEnum, "public.mood", 90001);
  t.enum_labels = {"happy", "sad", "so-so"};
  return t;
}

TableSchemaPtr Table(const std::string& name, std::vector<ColumnSchema> columns) {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16384);
  t->schema = "public";
  t->name = name;
  t->version = 1;
  t->columns = std::move(columns);
  return t;
}

constexpr int64_t kCommitTime = 1705306530123456;  // 2024-01-15 08:15:30.123456 UTC

Change& AddChange(ChangeBatch* b, const TableSchemaPtr& table, ChangeOp op, uint32_t seq,
                  uint64_t commit_lsn = 0x16B374D900ULL, uint32_t xid = 700) {
  b->Retain(table);
  Change& c = b->AddChange();
  c.op = op;
  c.table = table.get();
  c.lsn = Lsn(commit_lsn - 0x100);
  c.commit_lsn = Lsn(commit_lsn);
  c.seq = seq;
  c.xid = Xid(xid);
  c.commit_time_us = kCommitTime;
  return c;
}

std::unique_ptr<ChangeRowEncoder> Encoder(const TableSchema& table) {
  auto e = ChangeRowEncoder::ForTable(table);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

// Encodes every change of `batch` into the file `path`; a row group after every
// `group_rows` changes (0: one row group).
void WriteChanges(ChangeRowEncoder* encoder, const ChangeBatch& batch, const std::string& path,
                  size_t group_rows = 0) {
  ParquetWriter w(encoder->columns(), WriterOptions{});
  std::string bytes;
  size_t n = 0;
  for (const Change& c : batch.changes()) {
    const Status s = encoder->Append(batch, c, &w);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (group_rows > 0 && ++n % group_rows == 0) {
      ASSERT_TRUE(w.FlushRowGroup(&bytes).ok());
    }
  }
  ASSERT_TRUE(w.Finish(&bytes).ok());
  WriteFile(path, bytes);
}

std::string Data(const std::string& file) {
  return "SELECT * FROM read_parquet(" + Sql(file) + ", file_row_number = true)";
}

// ---- Every ValueKind ----------------------------------------------------------------------

TableSchemaPtr AllKindsTable() {
  ValueType date = Type(ValueKind::kDate, "date", 1082);
  return Table(
      "all_kinds",
      {
          Column("id", Type(ValueKind::kInt32, "int4", 23), false),
          Column("c_bool", Type(ValueKind::kBoolean, "bool", 16)),
          Column("c_int2", Type(ValueKind::kInt16, "int2", 21)),
          Column("c_int8", Type(ValueKind::kInt64, "int8", 20)),
          Column("c_float4", Type(ValueKind::kFloat32, "float4", 700)),
          Column("c_float8", Type(ValueKind::kFloat64, "float8", 701)),
          Column("c_num_5_2", DecimalType(5, 2)),
          Column("c_num_9_4", DecimalType(9, 4)),
          Column("c_num_10_0", DecimalType(10, 0)),
          Column("c_num_18_6", DecimalType(18, 6)),
          Column("c_num_19_0", DecimalType(19, 0)),
          Column("c_num_38_10", DecimalType(38, 10)),
          Column("c_num_38_0", DecimalType(38, 0)),
          Column("c_varnum", DecimalType(-1, -1)),
          Column("c_num_50_10", DecimalType(50, 10)),
          Column("c_text", Type(ValueKind::kString, "text", 25)),
          Column("c_bytea", Type(ValueKind::kBytes, "bytea", 17)),
          Column("c_date", date),
          Column("c_time3", Type(ValueKind::kTimeMillis, "time", 1083)),
          Column("c_time", Type(ValueKind::kTimeMicros, "time", 1083)),
          Column("c_timetz", Type(ValueKind::kZonedTime, "timetz", 1266)),
          Column("c_ts3", Type(ValueKind::kTimestampMillis, "timestamp", 1114)),
          Column("c_ts", Type(ValueKind::kTimestampMicros, "timestamp", 1114)),
          Column("c_tstz", Type(ValueKind::kZonedTimestamp, "timestamptz", 1184)),
          Column("c_interval", Type(ValueKind::kInterval, "interval", 1186)),
          Column("c_uuid", Type(ValueKind::kUuid, "uuid", 2950)),
          Column("c_json", Type(ValueKind::kJson, "jsonb", 3802)),
          Column("c_xml", Type(ValueKind::kXml, "xml", 142)),
          Column("c_mood", Mood()),
          Column("c_int_arr", ArrayOf(Type(ValueKind::kInt32, "int4", 23), "_int4", 1007)),
          Column("c_text_arr", ArrayOf(Type(ValueKind::kString, "text", 25), "_text", 1009)),
          Column("c_num_arr", ArrayOf(DecimalType(-1, -1), "_numeric", 1231)),
          Column("c_date_arr", ArrayOf(date, "_date", 1182)),
          Column("c_point", Type(ValueKind::kText, "point", 600)),
      });
}

// Each row: the PostgreSQL text sent, and DuckDB's text of the value read back.
struct KindCase {
  const char* column;
  std::vector<Cell> sent;
  std::vector<Opt> read;
};

std::vector<KindCase> AllKindsCases() {
  const std::string nines38(38, '9');
  return {
      {"id", {"1", "2", "3", "4"}, {"1", "2", "3", "4"}},
      {"c_bool", {"t", "f", Cell::Null(), "t"}, {"true", "false", kNull, "true"}},
      {"c_int2", {"-32768", "32767", "0", Cell::Null()}, {"-32768", "32767", "0", kNull}},
      {"c_int8",
       {"9223372036854775807", "-9223372036854775808", "0", Cell::Null()},
       {"9223372036854775807", "-9223372036854775808", "0", kNull}},
      {"c_float4", {"1.5", "NaN", "-Infinity", "1e-45"}, {"1.5", "nan", "-inf", "1e-45"}},
      {"c_float8", {"0.1", "Infinity", "5e-324", "-0"}, {"0.1", "inf", "5e-324", "-0.0"}},
      {"c_num_5_2",
       {"123.45", "-999.99", "0.00", "999.99"},
       {"123.45", "-999.99", "0.00", "999.99"}},
      {"c_num_9_4",
       {"99999.9999", "-99999.9999", "-0.0001", Cell::Null()},
       {"99999.9999", "-99999.9999", "-0.0001", kNull}},
      {"c_num_10_0",
       {"9999999999", "-9999999999", "0", Cell::Null()},
       {"9999999999", "-9999999999", "0", kNull}},
      {"c_num_18_6",
       {"-123456789012.345678", "999999999999.999999", "0.000001", Cell::Null()},
       {"-123456789012.345678", "999999999999.999999", "0.000001", kNull}},
      {"c_num_19_0",
       {"-9999999999999999999", "9999999999999999999", "9223372036854775808", Cell::Null()},
       {"-9999999999999999999", "9999999999999999999", "9223372036854775808", kNull}},
      {"c_num_38_10",
       {(nines38.substr(0, 28) + "." + nines38.substr(0, 10)).c_str(),
        ("-" + nines38.substr(0, 28) + "." + nines38.substr(0, 10)).c_str(), "-0.0000000001",
        Cell::Null()},
       {nines38.substr(0, 28) + "." + nines38.substr(0, 10),
        "-" + nines38.substr(0, 28) + "." + nines38.substr(0, 10), "-0.0000000001", kNull}},
      {"c_num_38_0",
       {("-" + nines38).c_str(), nines38.c_str(), "-1", Cell::Null()},
       {"-" + nines38, nines38, "-1", kNull}},
      {"c_varnum",
       {"-0.001", "NaN", "123456789012345678901234567890123456789012.5", "Infinity"},
       {"-0.001", "NaN", "123456789012345678901234567890123456789012.5", "Infinity"}},
      {"c_num_50_10",
       {"1.5000000000", "-1234567890123456789012345678901234567890.0123456789", Cell::Null(),
        Cell::Null()},
       {"1.5000000000", "-1234567890123456789012345678901234567890.0123456789", kNull, kNull}},
      {"c_text",
       {"h\xC3\xA9llo \"w\xC3\xB6rld\"\n\\", "", Cell::Null(), "\xF0\x9F\x8E\x89"},
       {"h\xC3\xA9llo \"w\xC3\xB6rld\"\n\\", "", kNull, "\xF0\x9F\x8E\x89"}},
      {"c_bytea",
       {"\\x00ff10", "\\x", Cell::Null(), "\\x5c27"},
       {"\\x00\\xFF\\x10", "", kNull, "\\x5C\\x27"}},
      {"c_date",
       {"2024-02-29", "infinity", "0044-03-15 BC", "-infinity"},
       {"2024-02-29", "infinity", "0044-03-15 (BC)", "-infinity"}},
      {"c_time3",
       {"13:45:30.123", "00:00:00", Cell::Null(), "23:59:59.999"},
       {"13:45:30.123", "00:00:00", kNull, "23:59:59.999"}},
      {"c_time",
       {"13:45:30.123456", "24:00:00", "00:00:00.000001", Cell::Null()},
       {"13:45:30.123456", "24:00:00", "00:00:00.000001", kNull}},
      // timetz is stored in UTC (the offset is not kept).
      {"c_timetz",
       {"04:05:06+05:30", "00:00:00-03:30", "23:59:59.999999+00", "12:00:00+14"},
       {"22:35:06+00", "03:30:00+00", "23:59:59.999999+00", "22:00:00+00"}},
      {"c_ts3",
       {"2024-01-15 13:45:30.123", "-infinity", "1970-01-01 00:00:00", Cell::Null()},
       {"2024-01-15 13:45:30.123", "-infinity", "1970-01-01 00:00:00", kNull}},
      {"c_ts",
       {"2024-01-15 13:45:30.123456", "infinity", "0044-03-15 12:00:00 BC",
        "1969-12-31 23:59:59.999999"},
       {"2024-01-15 13:45:30.123456", "infinity", "0044-03-15 (BC) 12:00:00",
        "1969-12-31 23:59:59.999999"}},
      {"c_tstz",
       {"2024-01-02 03:04:05.123456+00", "-infinity", "0044-03-15 12:00:00+00 BC",
        "2024-03-10 02:30:00-07"},
       {"2024-01-02 03:04:05.123456+00", "-infinity", "0044-03-15 (BC) 12:00:00+00",
        "2024-03-10 09:30:00+00"}},
      {"c_interval",
       {"1 year 2 mons 3 days 04:05:06.789", "-00:00:01", Cell::Null(), "00:00:00"},
       {"1 year 2 mons 3 days 04:05:06.789", "-00:00:01", kNull, "00:00:00"}},
      {"c_uuid",
       {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff", Cell::Null()},
       {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff", kNull}},
      {"c_json",
       {R"({"a": [1, 2], "b": "\u00e9"})", "null", "[]", Cell::Null()},
       {R"({"a": [1, 2], "b": "\u00e9"})", "null", "[]", kNull}},
      {"c_xml", {"<a>1</a>", "", Cell::Null(), Cell::Null()}, {"<a>1</a>", "", kNull, kNull}},
      {"c_mood", {"happy", "so-so", Cell::Null(), "sad"}, {"happy", "so-so", kNull, "sad"}},
      // A two-dimensional value of an int4[] column (PostgreSQL does not enforce the
      // dimensions): its text as a JSON string, as Debezium does.
      {"c_int_arr",
       {"{1,NULL,3}", "{}", "{{1,2},{3,4}}", "{-2147483648}"},
       {"[1,null,3]", "[]", R"("{{1,2},{3,4}}")", "[-2147483648]"}},
      {"c_text_arr",
       {R"({"a b",NULL,"NULL","q\"uote"})", "{}", Cell::Null(), "{x}"},
       {R"(["a b",null,"NULL","q\"uote"])", "[]", kNull, R"(["x"])"}},
      {"c_num_arr",
       {"{1.50,-2,NaN}", Cell::Null(), Cell::Null(), Cell::Null()},
       {R"(["1.50","-2","NaN"])", kNull, kNull, kNull}},
      {"c_date_arr",
       {"{2024-02-29,NULL,1970-01-01}", Cell::Null(), Cell::Null(), Cell::Null()},
       {"[19782,null,0]", kNull, kNull, kNull}},
      {"c_point", {"(1,2)", "(0,0)", Cell::Null(), Cell::Null()}, {"(1,2)", "(0,0)", kNull, kNull}},
  };
}

TEST(ChangeRowEncoderTest, ColumnSpecsOfEveryKind) {
  TableSchemaPtr table = AllKindsTable();
  auto encoder = Encoder(*table);
  ASSERT_NE(encoder, nullptr);
  const auto& specs = encoder->columns();
  ASSERT_EQ(specs.size(), table->columns.size() + 6);
  auto spec = [&](const std::string& name) -> const ColumnSpec& {
    return specs.at(Col(*table, name));
  };
  for (const ColumnSpec& s : specs) {
    if (s.name[0] != '_') {
      EXPECT_TRUE(s.optional) << s.name << ": every table column is OPTIONAL";
    }
  }
  EXPECT_EQ(spec("c_num_5_2").physical, PhysicalType::kInt32);
  EXPECT_EQ(spec("c_num_9_4").physical, PhysicalType::kInt32);
  EXPECT_EQ(spec("c_num_10_0").physical, PhysicalType::kInt64);
  EXPECT_EQ(spec("c_num_18_6").physical, PhysicalType::kInt64);
  EXPECT_EQ(spec("c_num_19_0").physical, PhysicalType::kFixedLenByteArray);
  EXPECT_EQ(spec("c_num_19_0").type_length, 9);
  EXPECT_EQ(spec("c_num_38_10").type_length, 16);
  EXPECT_EQ(spec("c_num_38_10").precision, 38);
  EXPECT_EQ(spec("c_num_38_10").scale, 10);
  EXPECT_EQ(spec("c_varnum").logical, LogicalType::kString);
  EXPECT_EQ(spec("c_num_50_10").logical, LogicalType::kString);
  EXPECT_EQ(spec("c_timetz").utc, true);
  EXPECT_EQ(spec("c_time").utc, false);
  EXPECT_EQ(spec("c_tstz").utc, true);
  EXPECT_EQ(spec("c_ts3").utc, false);
  EXPECT_EQ(spec("c_uuid").type_length, 16);
  EXPECT_EQ(spec("c_bytea").logical, LogicalType::kNone);
  EXPECT_EQ(spec("c_int_arr").logical, LogicalType::kJson);
  EXPECT_EQ(spec("c_point").logical, LogicalType::kString);

  // FIXED_LEN_BYTE_ARRAY lengths: n bytes hold floor(log10(2^(8n-1) - 1)) digits
  // (LogicalTypes.md), so 21 digits fit 9 bytes and 22 need 10.
  const std::pair<int, int> kLengths[] = {
      {19, 9},  {21, 9},  {22, 10}, {23, 10}, {24, 11}, {26, 11}, {27, 12}, {28, 12},
      {29, 13}, {31, 13}, {32, 14}, {33, 14}, {34, 15}, {35, 15}, {36, 16}, {38, 16}};
  for (const auto& [precision, bytes] : kLengths) {
    auto e = Encoder(*Table("t", {Column("n", DecimalType(precision, 2))}));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->columns()[0].type_length, bytes) << "numeric(" << precision << ",2)";
  }
  // Scale beyond the precision (PostgreSQL 15 allows numeric(3,5)): no DECIMAL can hold it.
  auto odd = Encoder(*Table("t", {Column("n", DecimalType(3, 5))}));
  ASSERT_NE(odd, nullptr);
  EXPECT_EQ(odd->columns()[0].logical, LogicalType::kString);
}

TEST(ChangeRowEncoderTest, EveryValueKindReadsBackInDuckDb) {
  TableSchemaPtr table = AllKindsTable();
  const std::vector<KindCase> cases = AllKindsCases();
  ASSERT_EQ(cases.size(), table->columns.size());
  ChangeBatch batch;
  for (size_t r = 0; r < 4; ++r) {
    Row row;
    for (size_t c = 0; c < cases.size(); ++c) {
      ASSERT_EQ(cases[c].column, table->columns[c].name);
      row.push_back(cases[c].sent[r]);
    }
    Change& change = AddChange(&batch, table, ChangeOp::kCreate, static_cast<uint32_t>(r + 1));
    change.after = AddRow(&batch, row);
  }
  auto encoder = Encoder(*table);
  ASSERT_NE(encoder, nullptr);
  TempDir dir("walflow-parquet-changes");
  const std::string file = dir.File("all_kinds.parquet");
  // Row groups of 1 row, then 3: batch boundaries.
  ASSERT_NO_FATAL_FAILURE(WriteChanges(encoder.get(), batch, file, 1));

  DuckDbBatch q;
  q.Add("data", Data(file), "file_row_number");
  q.Add("types", "SELECT typeof(COLUMNS(*)) FROM read_parquet(" + Sql(file) + ") LIMIT 1", "");
  q.Add("schema",
        "SELECT name, type, type_length, repetition_type, converted_type, logical_type, "
        "column_id FROM "
        "parquet_schema(" +
            Sql(file) + ")",
        "column_id");
  auto parts = q.Run();

  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 4u);
  for (const KindCase& k : cases) {
    for (size_t r = 0; r < 4; ++r) {
      EXPECT_EQ(data.At(r, k.column), k.read[r]) << k.column << ", row " << r;
    }
  }

  const DuckDbPart& types = parts["types"];
  ASSERT_EQ(types.rows.size(), 1u);
  const std::vector<std::pair<const char*, const char*>> kTypes = {
      {"id", "INTEGER"},
      {"c_bool", "BOOLEAN"},
      {"c_int2", "SMALLINT"},
      {"c_int8", "BIGINT"},
      {"c_float4", "FLOAT"},
      {"c_float8", "DOUBLE"},
      {"c_num_5_2", "DECIMAL(5,2)"},
      {"c_num_9_4", "DECIMAL(9,4)"},
      {"c_num_10_0", "DECIMAL(10,0)"},
      {"c_num_18_6", "DECIMAL(18,6)"},
      {"c_num_19_0", "DECIMAL(19,0)"},
      {"c_num_38_10", "DECIMAL(38,10)"},
      {"c_num_38_0", "DECIMAL(38,0)"},
      {"c_varnum", "VARCHAR"},
      {"c_num_50_10", "VARCHAR"},
      {"c_text", "VARCHAR"},
      {"c_bytea", "BLOB"},
      {"c_date", "DATE"},
      {"c_time3", "TIME"},
      {"c_time", "TIME"},
      {"c_timetz", "TIME WITH TIME ZONE"},
      {"c_ts3", "TIMESTAMP"},
      {"c_ts", "TIMESTAMP"},
      {"c_tstz", "TIMESTAMP WITH TIME ZONE"},
      {"c_interval", "VARCHAR"},
      {"c_uuid", "UUID"},
      {"c_json", "JSON"},
      {"c_xml", "VARCHAR"},
      {"c_mood", "VARCHAR"},
      {"c_int_arr", "JSON"},
      {"c_text_arr", "JSON"},
      {"c_num_arr", "JSON"},
      {"c_date_arr", "JSON"},
      {"c_point", "VARCHAR"},
      {"_op", "VARCHAR"},
      {"_lsn", "BIGINT"},
      {"_seq", "BIGINT"},
      {"_txid", "BIGINT"},
      {"_commit_ts", "TIMESTAMP WITH TIME ZONE"},
      {"_unchanged", "JSON"},
  };
  ASSERT_EQ(types.columns.size(), kTypes.size());
  for (size_t i = 0; i < kTypes.size(); ++i) {
    EXPECT_EQ(types.columns[i], kTypes[i].first);
    EXPECT_EQ(types.rows[0][i], kTypes[i].second) << kTypes[i].first;
  }

  const DuckDbPart& schema = parts["schema"];
  ASSERT_EQ(schema.rows.size(), kTypes.size() + 1);
  auto row_of = [&](const std::string& name) {
    for (size_t r = 0; r < schema.rows.size(); ++r) {
      if (schema.At(r, "name") == name) return r;
    }
    ADD_FAILURE() << "no schema element " << name;
    return size_t{0};
  };
  EXPECT_EQ(schema.At(row_of("c_mood"), "converted_type"), "ENUM");
  EXPECT_EQ(schema.At(row_of("c_mood"), "logical_type"), "EnumType()");
  EXPECT_EQ(schema.At(row_of("c_json"), "logical_type"), "JsonType()");
  EXPECT_EQ(schema.At(row_of("c_int_arr"), "converted_type"), "JSON");
  EXPECT_EQ(schema.At(row_of("c_varnum"), "converted_type"), "UTF8");
  EXPECT_EQ(schema.At(row_of("c_bytea"), "converted_type"), kNull);
  EXPECT_EQ(schema.At(row_of("c_bytea"), "logical_type"), kNull);
  EXPECT_EQ(schema.At(row_of("c_num_19_0"), "type_length"), "9");
  EXPECT_EQ(schema.At(row_of("c_uuid"), "logical_type"), "UUIDType()");
  for (const char* meta : {"_op", "_lsn", "_seq", "_txid", "_commit_ts"}) {
    EXPECT_EQ(schema.At(row_of(meta), "repetition_type"), "REQUIRED") << meta;
  }
  EXPECT_EQ(schema.At(row_of("_unchanged"), "repetition_type"), "OPTIONAL");
  EXPECT_EQ(schema.At(row_of("_op"), "converted_type"), "UTF8");
  EXPECT_EQ(schema.At(row_of("_lsn"), "type"), "INT64");
  EXPECT_EQ(schema.At(row_of("_commit_ts"), "converted_type"), "TIMESTAMP_MICROS");
}

// ---- The ends of PostgreSQL's date and timestamp ranges -----------------------------------------

TEST(ChangeRowEncoderTest, ExtremeDatesAndTimestamps) {
  TableSchemaPtr table =
      Table("t", {Column("d", Type(ValueKind::kDate, "date", 1082)),
                  Column("ts", Type(ValueKind::kTimestampMicros, "timestamp", 1114)),
                  Column("tstz", Type(ValueKind::kZonedTimestamp, "timestamptz", 1184))});
  ChangeBatch batch;
  AddChange(&batch, table, ChangeOp::kCreate, 1).after =
      AddRow(&batch, {"4714-11-24 BC", "4714-11-24 00:00:00 BC", "4714-11-24 00:00:00+00 BC"});
  AddChange(&batch, table, ChangeOp::kCreate, 2).after =
      AddRow(&batch, {"5874897-12-31", "294247-01-01 00:00:00", "294247-01-01 00:00:00+00"});
  auto encoder = Encoder(*table);
  ASSERT_NE(encoder, nullptr);
  TempDir dir("walflow-parquet-changes");
  const std::string file = dir.File("extremes.parquet");
  ASSERT_NO_FATAL_FAILURE(WriteChanges(encoder.get(), batch, file));
  DuckDbBatch q;
  q.Add("data", Data(file), "file_row_number");
  auto parts = q.Run();
  ASSERT_EQ(parts["data"].rows.size(), 2u);
  EXPECT_EQ(parts["data"].At(0, "d"), "4714-11-24 (BC)");
  EXPECT_EQ(parts["data"].At(0, "ts"), "4714-11-24 (BC) 00:00:00");
  EXPECT_EQ(parts["data"].At(0, "tstz"), "4714-11-24 (BC) 00:00:00+00");
  EXPECT_EQ(parts["data"].At(1, "d"), "5874897-12-31");
  EXPECT_EQ(parts["data"].At(1, "ts"), "294247-01-01 00:00:00");
  EXPECT_EQ(parts["data"].At(1, "tstz"), "294247-01-01 00:00:00+00");

  // PostgreSQL's timestamps go on to 294276-12-31, past int64 microseconds since 1970
  // (294247-01-10): such a value does not fit the column. Stored saturated it would be
  // INT64_MAX, the value that means +infinity, so a finite timestamp would read back as
  // 'infinity'.
  for (const bool zoned : {false, true}) {
    const std::string text =
        zoned ? "294276-12-31 23:59:59.999999+00" : "294276-12-31 23:59:59.999999";
    SCOPED_TRACE(text);
    ChangeBatch b;
    AddChange(&b, table, ChangeOp::kCreate, 1).after =
        AddRow(&b, {"2024-01-01", zoned ? "2024-01-01 00:00:00" : text,
                    zoned ? text : "2024-01-01 00:00:00+00"});
    ParquetWriter w(encoder->columns(), WriterOptions{});
    const Status s = encoder->Append(b, b.changes()[0], &w);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(zoned ? "column tstz (timestamptz)" : "column ts (timestamp)"),
              std::string::npos)
        << s.message();
  }
}

// ---- Metadata columns ----------------------------------------------------------------------

TEST(ChangeRowEncoderTest, MetadataColumnsOfEveryOperation) {
  TableSchemaPtr table = Table("orders", {Column("id", Type(ValueKind::kInt32, "int4", 23), false),
                                          Column("note", Type(ValueKind::kString, "text", 25)),
                                          Column("amount", DecimalType(10, 2)),
                                          Column("we\"ird", Type(ValueKind::kString, "text", 25))});
  ChangeBatch batch;
  const uint64_t kLsn1 = 0x16B374D900ULL, kLsn2 = 0x16B3750000ULL;
  Change* c = &AddChange(&batch, table, ChangeOp::kCreate, 1, kLsn1);
  c->after = AddRow(&batch, {"1", "first", "10.50", "big value"});
  c = &AddChange(&batch, table, ChangeOp::kUpdate, 2, kLsn1);
  c->after = AddRow(&batch, {"1", "second", "11.00", Cell::Toast()});
  c = &AddChange(&batch, table, ChangeOp::kUpdate, 3, kLsn1);
  c->before = AddRow(&batch, {"1", "second", "11.00", Cell::Null()});
  c->after = AddRow(&batch, {"1", Cell::Toast(), "12.00", Cell::Toast()});
  // A delete carries the before image (REPLICA IDENTITY DEFAULT: the key only).
  c = &AddChange(&batch, table, ChangeOp::kDelete, 4, kLsn1);
  c->before = AddRow(&batch, {"1", Cell::Null(), Cell::Null(), Cell::Null()});
  // The next transaction: a truncate (no row), a delete with REPLICA IDENTITY FULL.
  c = &AddChange(&batch, table, ChangeOp::kTruncate, 1, kLsn2, 4294967295u);
  c = &AddChange(&batch, table, ChangeOp::kDelete, 2, kLsn2, 4294967295u);
  c->before = AddRow(&batch, {"2", "gone", "-0.01", "w"});
  c->after = AddRow(&batch, {"99", "an after image a delete must not use", "0", "x"});
  // A snapshot read.
  c = &AddChange(&batch, table, ChangeOp::kRead, 7, 0x10, 0);
  c->commit_time_us = 0;
  c->after = AddRow(&batch, {"3", "snap", Cell::Null(), ""});

  auto encoder = Encoder(*table);
  ASSERT_NE(encoder, nullptr);
  TempDir dir("walflow-parquet-changes");
  const std::string file = dir.File("orders.parquet");
  ASSERT_NO_FATAL_FAILURE(WriteChanges(encoder.get(), batch, file, 2));

  DuckDbBatch q;
  q.Add("data", Data(file), "file_row_number");
  q.Add("meta",
        "SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value, stats_null_count, "
        "column_id FROM parquet_metadata(" +
            Sql(file) + ")",
        "row_group_id, column_id");
  auto parts = q.Run();
  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 7u);
  EXPECT_EQ(data.columns,
            (std::vector<std::string>{"id", "note", "amount", "we\"ird", "_op", "_lsn", "_seq",
                                      "_txid", "_commit_ts", "_unchanged", "file_row_number"}));
  const std::string lsn1 = std::to_string(kLsn1), lsn2 = std::to_string(kLsn2);
  const std::string ts = "2024-01-15 08:15:30.123456+00";
  const std::vector<Cells> expected = {
      {"1", "first", "10.50", "big value", "c", lsn1, "1", "700", ts, kNull, "0"},
      {"1", "second", "11.00", kNull, "u", lsn1, "2", "700", ts, R"(["we\"ird"])", "1"},
      {"1", kNull, "12.00", kNull, "u", lsn1, "3", "700", ts, R"(["note","we\"ird"])", "2"},
      {"1", kNull, kNull, kNull, "d", lsn1, "4", "700", ts, kNull, "3"},
      {kNull, kNull, kNull, kNull, "t", lsn2, "1", "4294967295", ts, kNull, "4"},
      {"2", "gone", "-0.01", "w", "d", lsn2, "2", "4294967295", ts, kNull, "5"},
      {"3", "snap", kNull, "", "r", "16", "7", "0", "1970-01-01 00:00:00+00", kNull, "6"},
  };
  for (size_t r = 0; r < expected.size(); ++r) EXPECT_EQ(data.rows[r], expected[r]) << "row " << r;

  // Four row groups of 2, 2, 2 and 1 rows; _op's statistics per row group.
  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 40u);
  EXPECT_EQ(meta.Where("path_in_schema", "_op").rows,
            (std::vector<Cells>{{"0", "_op", "c", "u", "0", "4"},
                                {"1", "_op", "d", "u", "0", "4"},
                                {"2", "_op", "d", "t", "0", "4"},
                                {"3", "_op", "r", "r", "0", "4"}}));
}

// ---- Values that do not fit, names that clash -------------------------------------------------

TEST(ChangeRowEncoderTest, ValuesThatDoNotFitNameTableColumnAndType) {
  struct Bad {
    ValueType type;
    const char* type_text;  // as the message shows it
    std::string value;
  };
  const std::vector<Bad> cases = {
      {DecimalType(5, 2), "numeric(5,2)", "NaN"},
      {DecimalType(5, 2), "numeric(5,2)", "Infinity"},
      {DecimalType(5, 2), "numeric(5,2)", "12345.678"},
      {DecimalType(5, 2), "numeric(5,2)", "1234.5"},
      {DecimalType(5, 2), "numeric(5,2)", "1.234"},
      {DecimalType(5, 2), "numeric(5,2)", "1e3"},
      // More digits than any DECIMAL(38) holds, before and after the scale's zeros.
      {DecimalType(38, 0), "numeric(38,0)", std::string(39, '9')},
      {DecimalType(10, 5), "numeric(10,5)", "123456789012345678901234567890123456"},
      {Type(ValueKind::kInt32, "int4", 23), "int4", "abc"},
      {Type(ValueKind::kInt32, "int4", 23), "int4", "2147483648"},
      {Type(ValueKind::kInt32, "int4", 23), "int4", "1.5"},
      {Type(ValueKind::kInt64, "int8", 20), "int8", "9223372036854775808"},
      {Type(ValueKind::kFloat64, "float8", 701), "float8", "one"},
      {Type(ValueKind::kBoolean, "bool", 16), "bool", "yes"},
      {Type(ValueKind::kUuid, "uuid", 2950), "uuid", "not-a-uuid"},
      {Type(ValueKind::kUuid, "uuid", 2950), "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"},
      {Type(ValueKind::kUuid, "uuid", 2950), "uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1122"},
      {Type(ValueKind::kBytes, "bytea", 17), "bytea", "\\xzz"},
      {Type(ValueKind::kDate, "date", 1082), "date", "yesterday"},
      {Type(ValueKind::kTimeMicros, "time", 1083), "time", "25:00"},
      {Type(ValueKind::kZonedTimestamp, "timestamptz", 1184), "timestamptz", "2024-01-02T03"},
      {ArrayOf(Type(ValueKind::kInt32, "int4", 23), "_int4", 1007), "_int4", "{1,abc}"},
  };
  for (const Bad& bad : cases) {
    SCOPED_TRACE(std::string(bad.type_text) + " '" + bad.value + "'");
    TableSchemaPtr table =
        Table("t", {Column("id", Type(ValueKind::kInt32, "int4", 23)), Column("c", bad.type)});
    auto encoder = Encoder(*table);
    ASSERT_NE(encoder, nullptr);
    ChangeBatch batch;
    Change& change = AddChange(&batch, table, ChangeOp::kCreate, 1);
    change.after = AddRow(&batch, {"1", bad.value});
    ParquetWriter w(encoder->columns(), WriterOptions{});
    const Status s = encoder->Append(batch, batch.changes()[0], &w);
    ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("public.t"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("column c ("), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(std::string("(") + bad.type_text + ")"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("'" + bad.value + "'"), std::string::npos) << s.message();
  }
}

TEST(ChangeRowEncoderTest, LongBadValuesAreCutInTheMessage) {
  TableSchemaPtr table = Table("t", {Column("n", DecimalType(5, 2))});
  auto encoder = Encoder(*table);
  ASSERT_NE(encoder, nullptr);
  ChangeBatch batch;
  Change& change = AddChange(&batch, table, ChangeOp::kCreate, 1);
  const std::string value = std::string(64, '7') + "EXTRA";
  change.after = AddRow(&batch, {value});
  ParquetWriter w(encoder->columns(), WriterOptions{});
  const Status s = encoder->Append(batch, batch.changes()[0], &w);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'" + std::string(64, '7') + "...'"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("EXTRA"), std::string::npos) << s.message();
}

TEST(ChangeRowEncoderTest, ColumnNamedLikeAMetadataColumnIsRefused) {
  for (const char* name : {"_op", "_lsn", "_seq", "_txid", "_commit_ts", "_unchanged"}) {
    TableSchemaPtr table = Table("t", {Column("id", Type(ValueKind::kInt32, "int4", 23)),
                                       Column(name, Type(ValueKind::kString, "text", 25))});
    auto e = ChangeRowEncoder::ForTable(*table);
    ASSERT_FALSE(e.ok()) << name;
    EXPECT_EQ(e.status().code(), StatusCode::kFailedPrecondition) << name;
    EXPECT_NE(e.status().message().find("public.t"), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find(name), std::string::npos) << e.status().message();
  }
  // Similar names are fine.
  auto ok = ChangeRowEncoder::ForTable(
      *Table("t", {Column("op", Type(ValueKind::kString, "text", 25)),
                   Column("_op_", Type(ValueKind::kString, "text", 25))}));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

// ---- SameLayout -------------------------------------------------------------------------------

TEST(ChangeRowEncoderTest, SameLayout) {
  const auto base = [] {
    return std::vector<ColumnSchema>{
        Column("id", Type(ValueKind::kInt32, "int4", 23), false),
        Column("amount", DecimalType(10, 2)),
        Column("at", Type(ValueKind::kZonedTimestamp, "timestamptz", 1184)),
        Column("mood", Mood()),
        Column("tags", ArrayOf(Type(ValueKind::kString, "text", 25), "_text", 1009)),
        Column("note", Type(ValueKind::kString, "text", 25)),
        Column("big", DecimalType(40, 2)),
    };
  };
  auto encoder = Encoder(*Table("t", base()));
  ASSERT_NE(encoder, nullptr);

  auto with = [&](auto change, const std::string& table_name = "t") {
    std::vector<ColumnSchema> columns = base();
    change(&columns);
    auto t = std::make_shared<TableSchema>(*Table(table_name, columns));
    t->version = 2;
    return encoder->SameLayout(*t);
  };
  auto same = [](std::vector<ColumnSchema>*) {};
  EXPECT_TRUE(with(same));
  EXPECT_TRUE(with([](auto* c) { (*c)[0].optional = true; }));  // DROP NOT NULL
  EXPECT_TRUE(with([](auto* c) { (*c)[3].type.enum_labels.push_back("angry"); }));
  EXPECT_TRUE(with([](auto* c) { (*c)[5].type.type_name = "varchar"; }));
  EXPECT_TRUE(with([](auto* c) { (*c)[6].type = DecimalType(50, 2); }));  // STRING either way
  EXPECT_TRUE(with([](auto* c) { (*c)[0].replica_key = true; }));

  EXPECT_FALSE(with(same, "other"));
  EXPECT_FALSE(with([](auto* c) { (*c)[1].name = "total"; }));
  EXPECT_FALSE(
      with([](auto* c) { c->push_back(Column("extra", Type(ValueKind::kString, "text", 25))); }));
  EXPECT_FALSE(with([](auto* c) { c->pop_back(); }));
  EXPECT_FALSE(with([](auto* c) { std::swap((*c)[1], (*c)[2]); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[0].type = Type(ValueKind::kInt64, "int8", 20); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[1].type = DecimalType(12, 2); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[1].type = DecimalType(10, 3); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[1].type = DecimalType(-1, -1); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[1].type = DecimalType(20, 2); }));  // INT64 -> FLBA
  EXPECT_FALSE(with([](auto* c) {
    (*c)[2].type = Type(ValueKind::kTimestampMicros, "timestamp", 1114);  // UTC -> local
  }));
  EXPECT_FALSE(with([](auto* c) { (*c)[3].type = Type(ValueKind::kString, "text", 25); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[4].type = Type(ValueKind::kJson, "jsonb", 3802); }));
  EXPECT_FALSE(with([](auto* c) { (*c)[5].type = Type(ValueKind::kUuid, "uuid", 2950); }));

  // A schema change that keeps the layout goes on in the same file: rows of both versions
  // read back.
  TableSchemaPtr v1 = Table("t", base());
  std::vector<ColumnSchema> columns = base();
  columns[3].type.enum_labels.push_back("angry");
  auto v2 = std::make_shared<TableSchema>(*Table("t", columns));
  v2->version = 2;
  ASSERT_TRUE(encoder->SameLayout(*v2));
  ChangeBatch batch;
  AddChange(&batch, v1, ChangeOp::kCreate, 1).after =
      AddRow(&batch, {"1", "1.00", "2024-01-01 00:00:00+00", "happy", "{a}", "n", "1.5"});
  AddChange(&batch, v2, ChangeOp::kCreate, 2).after =
      AddRow(&batch, {"2", "2.00", "2024-01-02 00:00:00+00", "angry", "{}", Cell::Null(), "2"});
  TempDir dir("walflow-parquet-changes");
  const std::string file = dir.File("t.parquet");
  ASSERT_NO_FATAL_FAILURE(WriteChanges(encoder.get(), batch, file));
  DuckDbBatch q;
  q.Add("data",
        "SELECT id, amount, \"at\", mood, tags, note, big FROM read_parquet(" + Sql(file) + ")",
        "id");
  auto parts = q.Run();
  EXPECT_EQ(
      parts["data"].rows,
      (std::vector<Cells>{{"1", "1.00", "2024-01-01 00:00:00+00", "happy", R"(["a"])", "n", "1.5"},
                          {"2", "2.00", "2024-01-02 00:00:00+00", "angry", "[]", kNull, "2"}}));
}

}  // namespace
}  // namespace walflow::format::parquet
