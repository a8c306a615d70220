// DebeziumReader: events written by DebeziumJsonEncoder read back and encoded again give the
// same bytes (every ValueKind, every decimal mode, with and without schemas); events typed
// by hand as Debezium's Java connector writes them read as documented; malformed records
// are refused without touching the batch; table schemas are cached per layout.
#include "format/debezium_reader.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "format/debezium_json.h"
#include "format/event_test_util.h"
#include "pg/catalog.h"
#include "pg/text_codec.h"

namespace walflow::format {
namespace {

using namespace walflow::format::test;  // NOLINT

using Json = nlohmann::ordered_json;

// ---- Tables and batches built as the source builds them ------------------------------

// A built-in type resolved as the stream resolves it.
ValueType Builtin(uint32_t oid, int32_t typmod = -1) {
  Result<ValueType> t = pg::ResolveType(Oid(oid), typmod, nullptr);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? t.value() : ValueType();
}

int32_t NumericTypmod(int32_t precision, int32_t scale) { return ((precision << 16) | scale) + 4; }

ValueType Mood() {
  ValueType t;
  t.kind = ValueKind::kEnum;
  t.type_name = "public.mood";
  t.type_oid = Oid(90001);
  t.enum_labels = {"happy", "sad", "so-so"};
  return t;
}

// One column of every ValueKind, and arrays of most of them.
TableSchemaPtr AllTypesTable() {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16384);
  t->schema = "public";
  t->name = "all_types";
  t->version = 1;
  t->columns = {
      Column("id", Builtin(23), false),
      Column("c_bool", Builtin(16)),
      Column("c_int2", Builtin(21)),
      Column("c_int8", Builtin(20)),
      Column("c_float4", Builtin(700)),
      Column("c_float8", Builtin(701)),
      Column("c_numeric", Builtin(1700, NumericTypmod(10, 2))),
      Column("c_varnum", Builtin(1700)),
      Column("c_text", Builtin(25)),
      Column("c_bytea", Builtin(17)),
      Column("c_date", Builtin(1082)),
      Column("c_time3", Builtin(1083, 3)),
      Column("c_time", Builtin(1083)),
      Column("c_timetz", Builtin(1266)),
      Column("c_ts3", Builtin(1114, 3)),
      Column("c_ts", Builtin(1114)),
      Column("c_tstz", Builtin(1184)),
      Column("c_interval", Builtin(1186)),
      Column("c_uuid", Builtin(2950)),
      Column("c_json", Builtin(3802)),
      Column("c_xml", Builtin(142)),
      Column("c_mood", Mood()),
      Column("c_point", Builtin(600)),  // no catalog: the text fallback
      Column("c_varchar", Builtin(1043)),
      Column("c_int_arr", Builtin(1007)),
      Column("c_text_arr", Builtin(1009)),
      Column("c_num_arr", Builtin(1231, NumericTypmod(10, 2))),
      Column("c_varnum_arr", Builtin(1231)),
      Column("c_date_arr", Builtin(1182)),
      Column("c_tstz_arr", Builtin(1185)),
      Column("c_interval_arr", Builtin(1187)),
      Column("c_bool_arr", Builtin(1000)),
      Column("c_float8_arr", Builtin(1022)),
      Column("c_bytea_arr", Builtin(1001)),
      Column("c_uuid_arr", Builtin(2951)),
      Column("c_jsonb_arr", Builtin(3807)),
      Column("c_ts_arr", Builtin(1115)),
      Column("c_time_arr", Builtin(1183)),
      Column("c_timetz_arr", Builtin(1270)),
      Column("c_mood_arr", ArrayOf(Mood(), "public._mood", 90002)),
  };
  t->columns[0].primary_key_position = 0;
  t->columns[0].replica_key = true;
  t->key_columns = {0};
  return t;
}

// Values as PostgreSQL prints them (DateStyle ISO, IntervalStyle postgres, TimeZone UTC).
Row TypicalRow() {
  return {"1",
          "t",
          "-32768",
          "9223372036854775807",
          "1.5",
          "-2e-05",
          "12345.67",
          "-0.001",
          "h\xc3\xa9llo \"w\xc3\xb6rld\"\n\\",
          "\\x00ff10",
          "2024-02-29",
          "13:45:30.123",
          "13:45:30.123456",
          "04:05:06+05:30",
          "2024-01-15 13:45:30.123",
          "2024-01-15 13:45:30.123456",
          "2024-01-15 13:45:30.123456+05:30",
          "1 year 2 mons 3 days 04:05:06.789",
          "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
          "{\"a\": [1, 2]}",
          "<a>1</a>",
          "happy",
          "(1,2)",
          "v",
          "{1,NULL,3}",
          "{\"a b\",NULL,\"NULL\"}",
          "{1.50,-2.25,NULL}",
          "{1.5,-0.0001,100}",
          "{2024-01-01,\"0044-03-15 BC\"}",
          "{\"2024-01-15 13:45:30.123456+00\",infinity}",
          "{\"1 day\",-00:00:01}",
          "{t,f,NULL}",
          "{1.5,NaN,-Infinity,1e+300}",
          "{\"\\\\x00ff\",\"\\\\x\"}",
          "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
          "{\"{\\\"k\\\": 1}\",\"[1, 2]\"}",
          "{\"1969-12-31 23:59:59.9995\"}",
          "{00:00:00,23:59:59.999999}",
          "{12:00:00+00,01:02:03.5-07}",
          "{happy,so-so}"};
}

// Extremes: ranges' ends, years BC and far ahead, huge decimals, unicode, quoting.
Row EdgeRow() {
  return {"2",
          "f",
          "32767",
          "-9223372036854775808",
          "-0",
          "1e+308",
          "-99999999.99",
          "-123456789012345678901234567890.123456789012345678901234567890",
          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 tab\t nul" + std::string(1, '\0') +
              "end \x01\x7f",
          "\\x",
          "0044-03-15 BC",
          "00:00:00",
          "24:00:00",
          "23:59:59.999999-12:00",
          "1969-12-31 23:59:59.9995",
          "0001-01-01 00:00:00 BC",
          "294276-12-31 23:59:59.999999+00",
          "-178000000 years",  // beyond MicroDuration's int64: saturates
          "00000000-0000-0000-0000-000000000000",
          "[]",
          "<x a=\"1\">\xe2\x82\xac</x>",
          "so-so",
          "(-1.5,2e-10)",
          "",
          "{}",
          "{\"\",\"a,b\",\"q\\\"uote\",\"back\\\\slash\",\" lead\",\"{brace}\",\xc3\xbcn\xc3\xaf,"
          "\"null\"}",
          "{}",
          "{NULL}",
          "{infinity,-infinity}",
          "{-infinity}",
          "{\"-1 years -2 mons -3 days -04:05:06.789\",\"1 mon\"}",
          Cell::Null(),
          "{-0,0.0001}",
          Cell::Null(),
          Cell::Null(),
          Cell::Null(),
          "{\"0001-01-01 00:00:00 BC\"}",
          Cell::Null(),
          Cell::Null(),
          "{}"};
}

// NaN, infinities and the encoder's text fallback for multi-dimensional arrays.
Row SpecialRow() {
  Row row = TypicalRow();
  auto table = AllTypesTable();
  row[0] = "3";
  row[Col(*table, "c_float4")] = "NaN";
  row[Col(*table, "c_float8")] = "-Infinity";
  row[Col(*table, "c_numeric")] = "NaN";
  row[Col(*table, "c_varnum")] = "Infinity";
  row[Col(*table, "c_date")] = "infinity";
  row[Col(*table, "c_ts")] = "-infinity";
  row[Col(*table, "c_ts3")] = "infinity";
  row[Col(*table, "c_tstz")] = "infinity";
  row[Col(*table, "c_int_arr")] = "{{1,2},{3,4}}";
  row[Col(*table, "c_text_arr")] = "[2:3]={x,y}";
  return row;
}

Row NullRow(const char* id) {
  Row row(AllTypesTable()->columns.size(), Cell::Null());
  row[0] = id;
  return row;
}

// Variable-length columns the server left out of an update.
Row ToastRow() {
  Row row = TypicalRow();
  auto table = AllTypesTable();
  for (const ColumnSchema& c : table->columns) {
    if (c.type.kind == ValueKind::kArray || c.type.kind == ValueKind::kString ||
        c.type.kind == ValueKind::kText || c.type.kind == ValueKind::kDecimal ||
        c.type.kind == ValueKind::kBytes || c.type.kind == ValueKind::kJson ||
        c.type.kind == ValueKind::kXml || c.type.kind == ValueKind::kEnum ||
        c.type.kind == ValueKind::kUuid) {
      row[Col(*table, c.name)] = Cell::Toast();
    }
  }
  return row;
}

TableSchemaPtr CompositeKeyTable() {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16400);
  t->schema = "sales";
  t->name = "order_lines";
  t->version = 7;
  t->columns = {Column("line", Builtin(21), false), Column("note", Builtin(25)),
                Column("order_id", Builtin(2950), false),
                Column("amount", Builtin(1700, NumericTypmod(12, 3)))};
  t->columns[2].primary_key_position = 0;
  t->columns[0].primary_key_position = 1;
  t->key_columns = {2, 0};
  return t;
}

TableSchemaPtr KeylessTable() {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16500);
  t->schema = "public";
  t->name = "log";
  t->version = 1;
  t->columns = {Column("msg", Builtin(25)), Column("at", Builtin(1184))};
  return t;
}

constexpr int64_t kCommitTime = 1705306530123456;  // 2024-01-15T08:15:30.123456Z
constexpr int64_t kNow = 1705306531000000;

Change& AddChange(ChangeBatch* b, const TableSchemaPtr& table, ChangeOp op, uint32_t seq) {
  b->Retain(table);
  Change& c = b->AddChange();
  c.op = op;
  c.table = table.get();
  c.lsn = Lsn(0x16B374D848ULL + seq * 8);
  c.commit_lsn = Lsn(0x16B374D900ULL);
  c.seq = seq;
  c.xid = Xid(700);
  c.commit_time_us = kCommitTime;
  return c;
}

// Every kind of change the stream and the snapshot produce.
void BuildEveryChange(ChangeBatch* b, bool schemaless) {
  auto all = AllTypesTable();
  uint32_t seq = 0;
  AddChange(b, all, ChangeOp::kCreate, ++seq).after = AddRow(b, TypicalRow());
  AddChange(b, all, ChangeOp::kCreate, ++seq).after = AddRow(b, EdgeRow());
  AddChange(b, all, ChangeOp::kCreate, ++seq).after = AddRow(b, SpecialRow());
  AddChange(b, all, ChangeOp::kCreate, ++seq).after = AddRow(b, NullRow("4"));
  Change& u1 = AddChange(b, all, ChangeOp::kUpdate, ++seq);
  u1.before = AddRow(b, TypicalRow());
  u1.after = AddRow(b, EdgeRow());
  AddChange(b, all, ChangeOp::kUpdate, ++seq).after = AddRow(b, ToastRow());
  Change& u2 = AddChange(b, all, ChangeOp::kUpdate, ++seq);
  u2.before = AddRow(b, TypicalRow());
  u2.after = AddRow(b, ToastRow());
  if (!schemaless) {
    // Without a schema, a column that is an array in one image and the text of a
    // multi-dimensional array in the other reads as text: the array comes back a string.
    Change& u3 = AddChange(b, all, ChangeOp::kUpdate, ++seq);
    u3.before = AddRow(b, EdgeRow());
    u3.after = AddRow(b, SpecialRow());
  }
  AddChange(b, all, ChangeOp::kDelete, ++seq).before = AddRow(b, EdgeRow());
  AddChange(b, all, ChangeOp::kDelete, ++seq).before = AddRow(b, NullRow("5"));
  for (SnapshotMark mark : {SnapshotMark::kFirst, SnapshotMark::kTrue, SnapshotMark::kNone,
                            SnapshotMark::kLast, SnapshotMark::kIncremental}) {
    Change& r = AddChange(b, all, ChangeOp::kRead, ++seq);
    r.snapshot = mark;
    r.after = AddRow(b, mark == SnapshotMark::kLast ? EdgeRow() : TypicalRow());
  }
  AddChange(b, all, ChangeOp::kTruncate, ++seq);
  auto composite = CompositeKeyTable();
  AddChange(b, composite, ChangeOp::kCreate, ++seq).after =
      AddRow(b, {"3", "n", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "-1.500"});
  AddChange(b, all, ChangeOp::kCreate, ++seq).after = AddRow(b, TypicalRow());
  Change& cd = AddChange(b, composite, ChangeOp::kDelete, ++seq);
  cd.before = AddRow(b, {"3", Cell::Null(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", Cell::Null()});
  auto keyless = KeylessTable();
  AddChange(b, keyless, ChangeOp::kCreate, ++seq).after =
      AddRow(b, {"started", "2024-01-15 13:45:30+00"});
  // The next transaction.
  Change& next = AddChange(b, all, ChangeOp::kCreate, 1);
  next.after = AddRow(b, TypicalRow());
  next.xid = Xid(701);
  next.commit_lsn = Lsn(0x16B374DA00ULL);
  next.commit_time_us = -86400000000LL;  // before 1970
}

DebeziumOptions Opts(bool schemas, DecimalHandling mode, bool tx) {
  DebeziumOptions o;
  o.server_name = "wf";
  o.database = "app";
  o.schemas = schemas;
  o.decimal_handling = mode;
  o.transaction_metadata = tx;
  return o;
}

std::string Topic(const TableSchema& t) { return "wf." + t.schema + "." + t.name; }

struct Record {
  std::string topic, key, value;
};

std::vector<Record> Encode(const DebeziumOptions& options, const ChangeBatch& b) {
  DebeziumJsonEncoder enc(options);
  enc.set_processing_time_us(kNow);
  std::vector<Record> out;
  for (const Change& c : b.changes()) {
    Record r;
    r.topic = Topic(*c.table);
    Status s = enc.AppendKey(b, c, &r.key);
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = enc.AppendValue(b, c, &r.value);
    EXPECT_TRUE(s.ok()) << s.ToString();
    out.push_back(std::move(r));
  }
  return out;
}

const char* ModeName(DecimalHandling m) {
  switch (m) {
    case DecimalHandling::kPrecise: return "precise";
    case DecimalHandling::kString: return "string";
    case DecimalHandling::kDouble: return "double";
  }
  return "?";
}

// ---- 1. Round trip ----------------------------------------------------------------------

// encode -> read -> encode gives the same bytes, reading into one batch and into one batch
// per record (batch boundaries must not matter).
TEST(DebeziumReaderRoundTripTest, EveryChangeEveryModeSameBytes) {
  for (bool schemas : {true, false}) {
    for (DecimalHandling mode :
         {DecimalHandling::kPrecise, DecimalHandling::kString, DecimalHandling::kDouble}) {
      for (bool tx : {false, true}) {
        SCOPED_TRACE(std::string("schemas=") + (schemas ? "true" : "false") +
                     " decimal=" + ModeName(mode) + " tx=" + (tx ? "true" : "false"));
        const DebeziumOptions options = Opts(schemas, mode, tx);
        ChangeBatch original;
        BuildEveryChange(&original, !schemas);
        const std::vector<Record> records = Encode(options, original);

        DebeziumReader reader;
        ChangeBatch read;
        std::vector<std::unique_ptr<ChangeBatch>> singles;
        DebeziumReader single_reader;
        for (const Record& r : records) {
          bool added = false;
          Status s = reader.Append(r.topic, r.key, r.value, &read, &added);
          ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << r.value;
          ASSERT_TRUE(added);
          singles.push_back(std::make_unique<ChangeBatch>());
          ASSERT_TRUE(
              single_reader.Append(r.topic, r.key, r.value, singles.back().get(), &added).ok());
        }
        ASSERT_EQ(read.changes().size(), records.size());

        DebeziumJsonEncoder again(options);
        again.set_processing_time_us(kNow);
        DebeziumJsonEncoder again_single(options);
        again_single.set_processing_time_us(kNow);
        for (size_t i = 0; i < records.size(); ++i) {
          SCOPED_TRACE("change " + std::to_string(i) + ": " + records[i].value);
          std::string value, key, single_value;
          ASSERT_TRUE(again.AppendValue(read, read.changes()[i], &value).ok());
          ASSERT_TRUE(again.AppendKey(read, read.changes()[i], &key).ok());
          EXPECT_EQ(value, records[i].value);
          EXPECT_EQ(key, records[i].key);
          ASSERT_TRUE(
              again_single.AppendValue(*singles[i], singles[i]->changes()[0], &single_value).ok());
          EXPECT_EQ(single_value, records[i].value);
          // Parsed, field by field, for a readable failure.
          Json want = Json::parse(records[i].value), got = Json::parse(value);
          if (schemas) {
            want = want["payload"];
            got = got["payload"];
          }
          for (const char* field : {"op", "source", "before", "after", "transaction"}) {
            EXPECT_EQ(got[field], want[field]) << field;
          }
        }
      }
    }
  }
}

// With a schema, the types read back are the ones the stream resolves from the catalog,
// except where Debezium's mapping merges types (jsonb -> json, varchar -> text, enum, the
// text fallback).
TEST(DebeziumReaderRoundTripTest, TypesWithSchemaAreTheCatalogTypes) {
  auto table = AllTypesTable();
  ChangeBatch b;
  AddChange(&b, table, ChangeOp::kCreate, 1).after = AddRow(&b, TypicalRow());
  std::vector<Record> records = Encode(Opts(true, DecimalHandling::kPrecise, false), b);
  DebeziumReader reader;
  ChangeBatch read;
  bool added;
  ASSERT_TRUE(
      reader.Append(records[0].topic, records[0].key, records[0].value, &read, &added).ok());
  const TableSchema& got = *read.changes()[0].table;
  ASSERT_EQ(got.columns.size(), table->columns.size());
  EXPECT_EQ(got.schema, "public");
  EXPECT_EQ(got.name, "all_types");
  EXPECT_EQ(got.key_columns, std::vector<int>{0});
  EXPECT_EQ(got.columns[0].primary_key_position, 0);
  EXPECT_FALSE(got.columns[0].optional);
  std::function<void(const ValueType&, const ValueType&)> same = [&](const ValueType& a,
                                                                     const ValueType& e) {
    EXPECT_EQ(a.kind, e.kind);
    EXPECT_EQ(a.type_name, e.type_name);
    EXPECT_EQ(a.type_oid, e.type_oid);
    EXPECT_EQ(a.typmod, e.typmod);
    EXPECT_EQ(a.precision, e.precision);
    EXPECT_EQ(a.scale, e.scale);
    ASSERT_EQ(a.element == nullptr, e.element == nullptr);
    if (a.element) same(*a.element, *e.element);
  };
  for (size_t i = 0; i < got.columns.size(); ++i) {
    const ColumnSchema& e = table->columns[i];
    const ColumnSchema& a = got.columns[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(a.name, e.name);
    EXPECT_EQ(a.optional, e.optional);
    if (e.name == "c_json") {
      same(a.type, Builtin(114));
    } else if (e.name == "c_jsonb_arr") {
      same(a.type, Builtin(199));
    } else if (e.name == "c_varchar") {
      same(a.type, Builtin(25));
    } else if (e.name == "c_point") {
      EXPECT_EQ(a.type.kind, ValueKind::kString);
    } else if (e.name == "c_mood" || e.name == "c_mood_arr") {
      const ValueType& t = e.name == "c_mood" ? a.type : *a.type.element;
      EXPECT_EQ(t.kind, ValueKind::kEnum);
      EXPECT_EQ(t.enum_labels, Mood().enum_labels);
    } else {
      same(a.type, e.type);
    }
  }
}

// The text read is PostgreSQL's own text for the values whose JSON carries all of it.
TEST(DebeziumReaderRoundTripTest, TextFormsArePostgresText) {
  auto table = AllTypesTable();
  ChangeBatch b;
  AddChange(&b, table, ChangeOp::kCreate, 1).after = AddRow(&b, TypicalRow());
  AddChange(&b, table, ChangeOp::kCreate, 2).after = AddRow(&b, EdgeRow());
  std::vector<Record> records = Encode(Opts(true, DecimalHandling::kPrecise, false), b);
  DebeziumReader reader;
  ChangeBatch read;
  for (const Record& r : records) {
    bool added;
    ASSERT_TRUE(reader.Append(r.topic, r.key, r.value, &read, &added).ok());
  }
  const std::vector<std::pair<Row, int32_t>> rows = {{TypicalRow(), read.changes()[0].after},
                                                     {EdgeRow(), read.changes()[1].after}};
  // Where the text read differs from the source's: offsets become UTC, and a timestamp(3)
  // and a saturated interval keep what the JSON carried.
  const std::map<std::string, std::string> rewritten = {
      {"04:05:06+05:30", "22:35:06+00"},
      {"23:59:59.999999-12:00", "11:59:59.999999+00"},
      {"2024-01-15 13:45:30.123456+05:30", "2024-01-15 08:15:30.123456+00"},
      {"1969-12-31 23:59:59.9995", "1969-12-31 23:59:59.999"},
      {"{12:00:00+00,01:02:03.5-07}", "{12:00:00+00,08:02:03.5+00}"},
  };
  int checked = 0;
  for (const auto& [cells, first] : rows) {
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string& name = table->columns[i].name;
      SCOPED_TRACE(name + " = " + cells[i].text);
      const Datum& d = read.Row(first)[i];
      if (cells[i].kind == Cell::kNull) {
        EXPECT_EQ(d.kind, Datum::Kind::kNull);
        continue;
      }
      ASSERT_EQ(d.kind, Datum::Kind::kText);
      ++checked;
      if (cells[i].text == "-178000000 years") {
        int64_t micros;
        ASSERT_TRUE(pg::ParseInterval(read.Text(d), &micros)) << read.Text(d);
        EXPECT_EQ(micros, std::numeric_limits<int64_t>::min());
        continue;
      }
      auto it = rewritten.find(cells[i].text);
      EXPECT_EQ(read.Text(d), it != rewritten.end() ? it->second : cells[i].text);
    }
  }
  EXPECT_EQ(checked, 74);
}

TEST(DebeziumReaderRoundTripTest, UnchangedToastIsReadAsUnchangedToast) {
  auto table = AllTypesTable();
  for (bool schemas : {true, false}) {
    for (DecimalHandling mode :
         {DecimalHandling::kPrecise, DecimalHandling::kString, DecimalHandling::kDouble}) {
      SCOPED_TRACE(std::string(schemas ? "schema " : "no schema ") + ModeName(mode));
      ChangeBatch b;
      AddChange(&b, table, ChangeOp::kUpdate, 1).after = AddRow(&b, ToastRow());
      DebeziumOptions options = Opts(schemas, mode, false);
      options.unavailable_value_placeholder = "__wf_unavailable";
      std::vector<Record> records = Encode(options, b);
      DebeziumReader reader({.unavailable_value_placeholder = "__wf_unavailable"});
      ChangeBatch read;
      bool added;
      ASSERT_TRUE(
          reader.Append(records[0].topic, records[0].key, records[0].value, &read, &added).ok());
      const Datum* row = read.Row(read.changes()[0].after);
      const Row toast = ToastRow();
      for (size_t i = 0; i < toast.size(); ++i) {
        const ColumnSchema& c = table->columns[i];
        if (toast[i].kind != Cell::kToast) continue;
        // The encoder writes null where a type cannot carry the placeholder (arrays of
        // fixed-size elements carry [null]).
        bool carries = true;
        if (c.type.kind == ValueKind::kDecimal) {
          carries = mode == DecimalHandling::kString ||
                    (mode == DecimalHandling::kPrecise && c.type.scale >= 0);
        }
        if (c.type.kind == ValueKind::kArray) {
          const ValueKind e = c.type.element->kind;
          carries = e == ValueKind::kString || e == ValueKind::kBytes || e == ValueKind::kJson ||
                    e == ValueKind::kUuid || e == ValueKind::kEnum ||
                    e == ValueKind::kZonedTimestamp || e == ValueKind::kZonedTime ||
                    (e == ValueKind::kDecimal &&
                     (mode == DecimalHandling::kString ||
                      (mode == DecimalHandling::kPrecise && c.type.element->scale >= 0)));
        }
        // Without a schema only the plain placeholder string is recognisable.
        if (!schemas && carries) {
          const bool base64 =
              c.type.kind == ValueKind::kBytes ||
              (c.type.kind == ValueKind::kDecimal && mode == DecimalHandling::kPrecise) ||
              c.type.kind == ValueKind::kArray;
          carries = !base64 || (c.type.kind == ValueKind::kArray &&
                                c.type.element->kind != ValueKind::kBytes &&
                                c.type.element->kind != ValueKind::kDecimal);
        }
        if (!carries) continue;
        EXPECT_EQ(row[i].kind, Datum::Kind::kUnchangedToast) << c.name;
      }
    }
  }
}

// Many random values of the types whose conversion does arithmetic, checked against the
// parsers the encoder uses.
TEST(DebeziumReaderRoundTripTest, RandomDecimalsReadBackToTheirText) {
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->name = "nums";
  t->version = 1;
  t->columns = {Column("v", Builtin(1700)), Column("f", Builtin(1700, NumericTypmod(60, 7)))};
  std::mt19937_64 rng(42);
  ChangeBatch b;
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) {
    std::string digits;
    const int n = 1 + static_cast<int>(rng() % (i < 200 ? 20 : 120));
    for (int k = 0; k < n; ++k) digits.push_back(static_cast<char>('0' + rng() % 10));
    size_t nz = 0;
    while (nz + 1 < digits.size() && digits[nz] == '0') ++nz;
    digits.erase(0, nz);
    const size_t scale = rng() % 12;
    std::string text = digits;
    if (scale > 0) {
      std::string frac;
      for (size_t k = 0; k < scale; ++k) frac.push_back(static_cast<char>('0' + rng() % 10));
      text += "." + frac;
    }
    if (rng() % 2 && text.find_first_not_of("0.") != std::string::npos) text = "-" + text;
    std::string fixed = (rng() % 2 ? "-" : "") + std::to_string(rng() % 100000) + "." +
                        std::to_string(1000000 + rng() % 9000000);
    if (fixed == "-0.0000000") fixed = "0.0000000";
    texts.push_back(text);
    texts.push_back(fixed);
    AddChange(&b, t, ChangeOp::kCreate, i + 1).after = AddRow(&b, {text, fixed});
  }
  std::vector<Record> records = Encode(Opts(true, DecimalHandling::kPrecise, false), b);
  DebeziumReader reader;
  ChangeBatch read;
  for (size_t i = 0; i < records.size(); ++i) {
    bool added;
    ASSERT_TRUE(reader.Append("wf.public.nums", "", records[i].value, &read, &added).ok());
    const Datum* row = read.Row(read.changes()[i].after);
    EXPECT_EQ(read.Text(row[0]), texts[2 * i]);
    EXPECT_EQ(read.Text(row[1]), texts[2 * i + 1]);
  }
}

// A record with one column, as Debezium writes it with a schema.
std::string OneColumnEvent(const std::string& field_schema, const std::string& value) {
  const std::string row =
      R"({"type":"struct","fields":[)" + field_schema + R"(],"optional":true,"field":"after"})";
  return R"({"schema":{"type":"struct","fields":[)" + row +
         R"(,{"type":"string","optional":false,"field":"op"}],"optional":false},)"
         R"("payload":{"before":null,"after":{"v":)" +
         value + R"(},"source":{"schema":"public","table":"t"},"op":"c"}})";
}

// Reads a one-column event and returns the column's text ("<null>", "<toast>").
std::string ReadOne(DebeziumReader* reader, const std::string& field_schema,
                    const std::string& value, Status* status = nullptr) {
  ChangeBatch b;
  bool added = false;
  Status s = reader->Append("t", "", OneColumnEvent(field_schema, value), &b, &added);
  if (status != nullptr) *status = s;
  if (!s.ok()) return "<error: " + s.message() + ">";
  const Datum& d = b.Row(b.changes()[0].after)[0];
  switch (d.kind) {
    case Datum::Kind::kNull: return "<null>";
    case Datum::Kind::kUnchangedToast: return "<toast>";
    case Datum::Kind::kText: break;
  }
  return std::string(b.Text(d));
}

TEST(DebeziumReaderRoundTripTest, RandomTemporalValuesReadBackExactly) {
  DebeziumReader reader;
  std::mt19937_64 rng(7);
  const std::string interval = R"({"type":"int64","optional":true,"name":"io.debezium.time.)"
                               R"(MicroDuration","version":1,"field":"v"})";
  const std::string ts = R"({"type":"int64","optional":true,"name":"io.debezium.time.)"
                         R"(MicroTimestamp","version":1,"field":"v"})";
  const std::string tstz = R"({"type":"string","optional":true,"name":"io.debezium.time.)"
                           R"(ZonedTimestamp","version":1,"field":"v"})";
  const std::string date = R"({"type":"int32","optional":true,"name":"io.debezium.time.Date",)"
                           R"("version":1,"field":"v"})";
  std::vector<int64_t> intervals = {0,
                                    1,
                                    -1,
                                    kCommitTime,
                                    std::numeric_limits<int64_t>::max(),
                                    std::numeric_limits<int64_t>::min(),
                                    2629800000000LL,
                                    -2629800000000LL * 12,
                                    86400000000LL};
  for (int i = 0; i < 300; ++i) intervals.push_back(static_cast<int64_t>(rng()) >> (rng() % 60));
  for (int64_t us : intervals) {
    SCOPED_TRACE(us);
    std::string text = ReadOne(&reader, interval, std::to_string(us));
    int64_t back;
    ASSERT_TRUE(pg::ParseInterval(text, &back)) << text;
    EXPECT_EQ(back, us) << text;
  }
  // Timestamps within PostgreSQL's range (4713 BC to 294276 AD).
  const int64_t lo = -210866803200000000LL, hi = 9223371331200000000LL;
  for (int i = 0; i < 300; ++i) {
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    int64_t us = static_cast<int64_t>(static_cast<uint64_t>(lo) + rng() % span);
    if (i % 3 == 0) us = us / 1000000 * 1000000;
    SCOPED_TRACE(us);
    std::string text = ReadOne(&reader, ts, std::to_string(us));
    int64_t back;
    ASSERT_TRUE(pg::ParseTimestamp(text, &back)) << text;
    EXPECT_EQ(back, us) << text;
    std::string iso = "\"";
    pg::AppendIsoTimestampUtc(us, &iso);
    iso += "\"";
    text = ReadOne(&reader, tstz, iso);
    ASSERT_TRUE(pg::ParseTimestamp(text, &back)) << text;
    EXPECT_EQ(back, us) << text;
    const int32_t days = static_cast<int32_t>(us / 86400000000LL);
    text = ReadOne(&reader, date, std::to_string(days));
    int32_t back_days;
    ASSERT_TRUE(pg::ParseDate(text, &back_days)) << text;
    EXPECT_EQ(back_days, days) << text;
  }
}

// ---- 2. Events as Debezium's Java connector writes them ------------------------------

// Debezium's documented PostgreSQL example (the customers table), with its envelope schema.
const char* kCustomersSchema = R"({
  "type": "struct",
  "fields": [
    {"type": "struct", "fields": [
      {"type": "int32", "optional": false, "default": 0, "field": "id"},
      {"type": "string", "optional": false, "field": "first_name"},
      {"type": "string", "optional": false, "field": "last_name"},
      {"type": "string", "optional": false, "field": "email"}],
     "optional": true, "name": "PostgreSQL_server.inventory.customers.Value", "field": "before"},
    {"type": "struct", "fields": [
      {"type": "int32", "optional": false, "default": 0, "field": "id"},
      {"type": "string", "optional": false, "field": "first_name"},
      {"type": "string", "optional": false, "field": "last_name"},
      {"type": "string", "optional": false, "field": "email"}],
     "optional": true, "name": "PostgreSQL_server.inventory.customers.Value", "field": "after"},
    {"type": "struct", "fields": [
      {"type": "string", "optional": false, "field": "version"},
      {"type": "string", "optional": false, "field": "connector"},
      {"type": "string", "optional": false, "field": "name"},
      {"type": "int64", "optional": false, "field": "ts_ms"},
      {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
       "parameters": {"allowed": "true,last,false,incremental"}, "default": "false",
       "field": "snapshot"},
      {"type": "string", "optional": false, "field": "db"},
      {"type": "string", "optional": true, "field": "sequence"},
      {"type": "int64", "optional": true, "field": "ts_us"},
      {"type": "int64", "optional": true, "field": "ts_ns"},
      {"type": "string", "optional": false, "field": "schema"},
      {"type": "string", "optional": false, "field": "table"},
      {"type": "int64", "optional": true, "field": "txId"},
      {"type": "int64", "optional": true, "field": "lsn"},
      {"type": "int64", "optional": true, "field": "xmin"}],
     "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source"},
    {"type": "string", "optional": false, "field": "op"},
    {"type": "int64", "optional": true, "field": "ts_ms"},
    {"type": "int64", "optional": true, "field": "ts_us"},
    {"type": "int64", "optional": true, "field": "ts_ns"},
    {"type": "struct", "fields": [
      {"type": "string", "optional": false, "field": "id"},
      {"type": "int64", "optional": false, "field": "total_order"},
      {"type": "int64", "optional": false, "field": "data_collection_order"}],
     "optional": true, "name": "event.block", "version": 1, "field": "transaction"}],
  "optional": false,
  "name": "PostgreSQL_server.inventory.customers.Envelope",
  "version": 1
})";

const char* kCustomersKey = R"({
  "schema": {"type": "struct", "name": "PostgreSQL_server.public.customers.Key",
             "optional": false,
             "fields": [{"field": "id", "type": "int32", "optional": false}]},
  "payload": {"id": 1}
})";

std::string CustomersSource(const char* snapshot, const char* sequence, int64_t lsn) {
  return std::string(R"({"version": "2.7.4.Final", "connector": "postgresql",
    "name": "PostgreSQL_server", "ts_ms": 1559033904863, "snapshot": ")") +
         snapshot + R"(", "db": "postgres", "sequence": ")" + sequence +
         R"(", "ts_us": 1559033904863123, "ts_ns": 1559033904863123000, "schema": "public",
    "table": "customers", "txId": 555, "lsn": )" +
         std::to_string(lsn) + R"(, "xmin": null})";
}

std::string CustomersEvent(bool with_schema, const std::string& payload) {
  if (!with_schema) return payload;
  return std::string(R"({"schema": )") + kCustomersSchema + R"(, "payload": )" + payload + "}";
}

std::string CellText(const ChangeBatch& b, int32_t row, int col) {
  const Datum& d = b.Row(row)[col];
  if (d.kind == Datum::Kind::kNull) return "<null>";
  if (d.kind == Datum::Kind::kUnchangedToast) return "<toast>";
  return std::string(b.Text(d));
}

std::vector<std::string> RowTexts(const ChangeBatch& b, int32_t row, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(CellText(b, row, static_cast<int>(i)));
  return out;
}

TEST(DebeziumReaderJavaConnectorTest, CustomersCreateUpdateDeleteTruncate) {
  const std::string seq = R"([\"24023119\",\"24023128\"])";
  for (bool with_schema : {true, false}) {
    SCOPED_TRACE(with_schema ? "with schema" : "without schema");
    DebeziumReader reader;
    ChangeBatch b;
    bool added = false;
    const std::string create =
        R"({"before": null, "after": {"id": 1, "first_name": "Anne", "last_name": "Kretchmar",
            "email": "annek@noanswer.org"}, "source": )" +
        CustomersSource("false", seq.c_str(), 24023128) +
        R"(, "op": "c", "ts_ms": 1559033904863, "ts_us": 1559033904863769,
            "ts_ns": 1559033904863769000, "transaction": null})";
    Status s = reader.Append("PostgreSQL_server.inventory.customers", kCustomersKey,
                             CustomersEvent(with_schema, create), &b, &added);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(added);
    const Change& c = b.changes()[0];
    EXPECT_EQ(c.op, ChangeOp::kCreate);
    EXPECT_EQ(c.snapshot, SnapshotMark::kNone);
    EXPECT_EQ(c.before, -1);
    EXPECT_EQ(c.lsn, Lsn(24023128));
    EXPECT_EQ(c.commit_lsn, Lsn(24023119));
    EXPECT_EQ(c.xid, Xid(555));
    EXPECT_EQ(c.commit_time_us, 1559033904863123);
    EXPECT_EQ(c.seq, 0u);
    const TableSchema& t = *c.table;
    EXPECT_EQ(t.QualifiedName(), "public.customers");
    ASSERT_EQ(t.columns.size(), 4u);
    EXPECT_EQ(t.columns[0].name, "id");
    EXPECT_EQ(t.columns[0].type.kind, with_schema ? ValueKind::kInt32 : ValueKind::kInt64);
    EXPECT_EQ(t.columns[0].type.type_name, with_schema ? "int4" : "int8");
    EXPECT_EQ(t.columns[0].type.type_oid, Oid(with_schema ? 23 : 20));
    EXPECT_EQ(t.columns[0].optional, !with_schema);
    EXPECT_EQ(t.columns[0].primary_key_position, 0);
    EXPECT_EQ(t.columns[3].name, "email");
    EXPECT_EQ(t.columns[3].type.kind, ValueKind::kString);
    EXPECT_EQ(t.columns[3].type.type_oid, Oid(25));
    EXPECT_EQ(t.key_columns, std::vector<int>{0});
    EXPECT_EQ(RowTexts(b, c.after, 4),
              (std::vector<std::string>{"1", "Anne", "Kretchmar", "annek@noanswer.org"}));

    const std::string update =
        R"({"before": {"id": 1, "first_name": "Anne", "last_name": "Kretchmar",
            "email": "annek@noanswer.org"},
            "after": {"id": 1, "first_name": "Anne Marie", "last_name": "Kretchmar",
            "email": "annek@noanswer.org"}, "source": )" +
        CustomersSource("false", R"([\"24023128\",\"24023200\"])", 24023200) +
        R"(, "op": "u", "ts_ms": 1465584025523,
            "transaction": {"id": "556:24023200", "total_order": 3,
                            "data_collection_order": 1}})";
    ASSERT_TRUE(
        reader.Append("", kCustomersKey, CustomersEvent(with_schema, update), &b, &added).ok());
    const Change& u = b.changes()[1];
    EXPECT_EQ(u.op, ChangeOp::kUpdate);
    EXPECT_EQ(u.table, &t) << "same layout, same schema";
    EXPECT_EQ(u.seq, 3u);
    EXPECT_EQ(CellText(b, u.before, 1), "Anne");
    EXPECT_EQ(CellText(b, u.after, 1), "Anne Marie");

    const std::string del =
        R"({"before": {"id": 1, "first_name": null, "last_name": null, "email": null},
            "after": null, "source": )" +
        CustomersSource("false", R"([\"24023200\",\"46523128\"])", 46523128) +
        R"(, "op": "d", "ts_ms": 1465581902461, "transaction": null})";
    // Without a schema a non-null column cannot have null here: use a nullable layout.
    ASSERT_TRUE(
        reader.Append("", kCustomersKey, CustomersEvent(with_schema, del), &b, &added).ok());
    const Change& d = b.changes()[2];
    EXPECT_EQ(d.op, ChangeOp::kDelete);
    EXPECT_EQ(d.after, -1);
    EXPECT_EQ(d.table, &t) << "nulls keep the layout";
    EXPECT_EQ(RowTexts(b, d.before, 4),
              (std::vector<std::string>{"1", "<null>", "<null>", "<null>"}));

    // The tombstone after a delete.
    ASSERT_TRUE(reader.Append("", kCustomersKey, "", &b, &added).ok());
    EXPECT_FALSE(added);

    const std::string truncate =
        R"({"source": )" + CustomersSource("false", R"([\"46523128\",\"46523200\"])", 46523200) +
        R"(, "op": "t", "ts_ms": 1559033904961})";
    ASSERT_TRUE(reader.Append("", "", CustomersEvent(with_schema, truncate), &b, &added).ok());
    ASSERT_TRUE(added);
    const Change& tr = b.changes()[3];
    EXPECT_EQ(tr.op, ChangeOp::kTruncate);
    EXPECT_EQ(tr.before, -1);
    EXPECT_EQ(tr.after, -1);
    EXPECT_EQ(tr.table, &t) << "a truncate keeps the table's schema";
    EXPECT_EQ(b.changes().size(), 4u);
  }
}

TEST(DebeziumReaderJavaConnectorTest, SnapshotReadsAndOldStyleEvents) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  for (auto [text, mark] :
       {std::pair{"first", SnapshotMark::kFirst}, std::pair{"true", SnapshotMark::kTrue},
        std::pair{"first_in_data_collection", SnapshotMark::kTrue},
        std::pair{"last_in_data_collection", SnapshotMark::kTrue},
        std::pair{"last", SnapshotMark::kLast},
        std::pair{"incremental", SnapshotMark::kIncremental}}) {
    SCOPED_TRACE(text);
    const std::string read =
        R"({"before": null, "after": {"id": 7, "first_name": "A", "last_name": "B",
            "email": "c"}, "source": )" +
        CustomersSource(text, R"([null,\"24023128\"])", 24023128) +
        R"(, "op": "r", "ts_ms": 1559033904863})";
    ASSERT_TRUE(reader.Append("", kCustomersKey, CustomersEvent(true, read), &b, &added).ok());
    const Change& c = b.changes().back();
    EXPECT_EQ(c.op, ChangeOp::kRead);
    EXPECT_EQ(c.snapshot, mark);
    EXPECT_EQ(c.commit_lsn, Lsn(24023128)) << "a snapshot row has no commit: its lsn";
  }
  // Debezium 0.x: boolean snapshot, ts_ms only, no sequence.
  const std::string old = R"({"before": null, "after": {"id": 1}, "source": {
      "version": "0.9.5.Final", "connector": "postgresql", "name": "foo", "db": "foo",
      "ts_ms": 1601213844074, "txId": 644, "lsn": 28581784, "schema": "bar", "table": "events",
      "snapshot": true, "last_snapshot_record": null, "xmin": null},
      "op": "r", "ts_ms": 1601213844598})";
  ASSERT_TRUE(reader.Append("x", "", old, &b, &added).ok());
  const Change& c = b.changes().back();
  EXPECT_EQ(c.snapshot, SnapshotMark::kTrue);
  EXPECT_EQ(c.commit_time_us, 1601213844074000);
  EXPECT_EQ(c.lsn, Lsn(28581784));
  EXPECT_EQ(c.commit_lsn, Lsn(28581784));
  EXPECT_EQ(c.table->QualifiedName(), "bar.events");
  // txid_current() of a snapshot carries the epoch above the 32-bit xid.
  const std::string epoch = R"({"after": {"id": 1}, "source": {"schema": "bar",
      "table": "events", "txId": 4294967887}, "op": "r"})";
  ASSERT_TRUE(reader.Append("x", "", epoch, &b, &added).ok());
  EXPECT_EQ(b.changes().back().xid, Xid(591));
}

// Debezium's semantic types, as the Java connector writes them for PostgreSQL columns.
TEST(DebeziumReaderJavaConnectorTest, SemanticTypes) {
  const std::string schema = R"({"type": "struct", "fields": [
    {"type": "struct", "optional": true, "field": "after", "fields": [
      {"type": "int32", "optional": false, "field": "id"},
      {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
       "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "10"},
       "field": "price"},
      {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "scale"},
                                    {"type": "bytes", "optional": false, "field": "value"}],
       "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
       "doc": "Variable scaled decimal", "field": "ratio"},
      {"type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1,
       "field": "born"},
      {"type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp",
       "version": 1, "field": "seen"},
      {"type": "int64", "optional": true, "name": "io.debezium.time.Timestamp", "version": 1,
       "field": "seen_ms"},
      {"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp",
       "version": 1, "field": "at"},
      {"type": "int64", "optional": true, "name": "io.debezium.time.MicroTime", "version": 1,
       "field": "t"},
      {"type": "int32", "optional": true, "name": "io.debezium.time.Time", "version": 1,
       "field": "t_ms"},
      {"type": "string", "optional": true, "name": "io.debezium.time.ZonedTime", "version": 1,
       "field": "tz"},
      {"type": "int64", "optional": true, "name": "io.debezium.time.MicroDuration",
       "version": 1, "field": "dur"},
      {"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1,
       "field": "doc"},
      {"type": "string", "optional": true, "name": "io.debezium.data.Uuid", "version": 1,
       "field": "uid"},
      {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
       "parameters": {"allowed": "happy,sad"}, "field": "mood"},
      {"type": "bytes", "optional": true, "name": "io.debezium.data.Bits", "version": 1,
       "parameters": {"length": "8"}, "field": "flags"},
      {"type": "array", "items": {"type": "string", "optional": true}, "optional": true,
       "field": "tags"},
      {"type": "struct", "fields": [{"type": "double", "optional": false, "field": "x"},
                                    {"type": "double", "optional": false, "field": "y"},
                                    {"type": "bytes", "optional": true, "field": "wkb"},
                                    {"type": "int32", "optional": true, "field": "srid"}],
       "optional": true, "name": "io.debezium.data.geometry.Point", "version": 1,
       "field": "loc"},
      {"type": "boolean", "optional": true, "field": "ok"},
      {"type": "int16", "optional": true, "field": "small"},
      {"type": "float", "optional": true, "field": "f4"},
      {"type": "double", "optional": true, "field": "f8"},
      {"type": "string", "optional": true, "name": "io.debezium.data.Ltree", "version": 1,
       "field": "path"}]},
    {"type": "string", "optional": false, "field": "op"}], "optional": false})";
  const std::string payload = R"({"before": null, "after": {
      "id": 1, "price": "AN4=", "ratio": {"scale": 3, "value": "/w=="}, "born": 19782,
      "seen": 1705326330123456, "seen_ms": -1, "at": "2024-01-15T08:15:30.5+05:30",
      "t": 49530123456, "t_ms": 49530123, "tz": "22:35:06Z", "dur": 37091106789000,
      "doc": "{\"a\":1}", "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "mood": "sad",
      "flags": "AQ==", "tags": ["a", "b c", null], "loc": {"x": 1.5, "y": 2, "wkb": "AQE=",
      "srid": null}, "ok": true, "small": -5, "f4": 1.25, "f8": "NaN", "path": "a.b"},
      "source": {"schema": "public", "table": "things", "lsn": 1, "txId": 2, "ts_ms": 3},
      "op": "c"})";
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  Status s =
      reader.Append("srv.public.things", R"({"id": 1})",
                    R"({"schema": )" + schema + R"(, "payload": )" + payload + "}", &b, &added);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const Change& c = b.changes()[0];
  const TableSchema& t = *c.table;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"id", "1"},
      {"price", "2.22"},
      {"ratio", "-0.001"},
      {"born", "2024-02-29"},
      {"seen", "2024-01-15 13:45:30.123456"},
      {"seen_ms", "1969-12-31 23:59:59.999"},
      {"at", "2024-01-15 02:45:30.5+00"},
      {"t", "13:45:30.123456"},
      {"t_ms", "13:45:30.123"},
      {"tz", "22:35:06+00"},
      {"dur", "1 year 2 mons 3 days 04:05:06.789"},
      {"doc", "{\"a\":1}"},
      {"uid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {"mood", "sad"},
      {"flags", "\\x01"},
      {"tags", "{a,\"b c\",NULL}"},
      {"loc", R"({"x":1.5,"y":2,"wkb":"AQE=","srid":null})"},
      {"ok", "t"},
      {"small", "-5"},
      {"f4", "1.25"},
      {"f8", "NaN"},
      {"path", "a.b"},
  };
  ASSERT_EQ(t.columns.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(t.columns[i].name, expected[i].first);
    EXPECT_EQ(CellText(b, c.after, static_cast<int>(i)), expected[i].second) << expected[i].first;
  }
  auto type = [&](const char* name) { return t.columns[Col(t, name)].type; };
  EXPECT_EQ(type("price").kind, ValueKind::kDecimal);
  EXPECT_EQ(type("price").precision, 10);
  EXPECT_EQ(type("price").scale, 2);
  EXPECT_EQ(type("price").typmod, NumericTypmod(10, 2));
  EXPECT_EQ(type("ratio").kind, ValueKind::kDecimal);
  EXPECT_EQ(type("ratio").scale, -1);
  EXPECT_EQ(type("born").type_oid, Oid(1082));
  EXPECT_EQ(type("seen").kind, ValueKind::kTimestampMicros);
  EXPECT_EQ(type("seen_ms").kind, ValueKind::kTimestampMillis);
  EXPECT_EQ(type("at").type_name, "timestamptz");
  EXPECT_EQ(type("t").kind, ValueKind::kTimeMicros);
  EXPECT_EQ(type("t_ms").kind, ValueKind::kTimeMillis);
  EXPECT_EQ(type("tz").type_oid, Oid(1266));
  EXPECT_EQ(type("dur").type_oid, Oid(1186));
  EXPECT_EQ(type("doc").kind, ValueKind::kJson);
  EXPECT_EQ(type("uid").type_oid, Oid(2950));
  EXPECT_EQ(type("mood").enum_labels, (std::vector<std::string>{"happy", "sad"}));
  EXPECT_EQ(type("flags").kind, ValueKind::kBytes);
  EXPECT_EQ(type("tags").kind, ValueKind::kArray);
  EXPECT_EQ(type("tags").type_oid, Oid(1009));
  EXPECT_EQ(type("tags").element->kind, ValueKind::kString);
  EXPECT_EQ(type("loc").kind, ValueKind::kText);
  EXPECT_EQ(type("f4").kind, ValueKind::kFloat32);
  EXPECT_EQ(type("path").kind, ValueKind::kText);
  EXPECT_EQ(t.key_columns, std::vector<int>{0});
}

TEST(DebeziumReaderJavaConnectorTest, RecordsThatAreNotRowChangesAreSkipped) {
  DebeziumReader reader;
  ChangeBatch b;
  const std::vector<std::string> skipped = {
      "",      // tombstone
      "null",  // a null value written out
      R"({"schema":null,"payload":null})",
      // heartbeat
      R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,)"
      R"("field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.Heartbeat"},)"
      R"("payload":{"ts_ms":1700000000000}})",
      R"({"ts_ms":1700000000000})",
      // transaction metadata
      R"({"status":"BEGIN","id":"571:53195829","ts_ms":1486500577125,"event_count":null,)"
      R"("data_collections":null})",
      R"({"status":"END","id":"571:53195832","ts_ms":1486500577691,"event_count":2,)"
      R"("data_collections":[{"data_collection":"s1.a","event_count":1}]})",
      // schema change
      R"({"source":{"server":"srv"},"databaseName":"inventory","ddl":"ALTER TABLE t ADD c int",)"
      R"("tableChanges":[]})",
      // logical decoding message
      R"({"source":{"schema":"","table":""},"op":"m","ts_ms":1,"message":{"prefix":"p",)"
      R"("content":"AQ=="}})",
  };
  for (const std::string& value : skipped) {
    SCOPED_TRACE(value);
    bool added = true;
    Status s = reader.Append("srv.public.t", "", value, &b, &added);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(added);
  }
  EXPECT_TRUE(b.empty());
}

TEST(DebeziumReaderJavaConnectorTest, TableNameFromTheTopicWithoutSource) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  const std::string value = R"({"after":{"i":1},"op":"c"})";
  for (auto [topic, name] :
       {std::pair{"srv.inventory.orders", "inventory.orders"},
        std::pair{"a.b.srv.inventory.orders", "inventory.orders"},
        std::pair{"orders", "public.orders"}, std::pair{"srv.orders", "public.orders"}}) {
    ASSERT_TRUE(reader.Append(topic, "", value, &b, &added).ok());
    EXPECT_EQ(b.changes().back().table->QualifiedName(), name) << topic;
  }
  Status s = reader.Append("", "", value, &b, &added);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no source.schema/source.table"), std::string::npos) << s.message();
}

TEST(DebeziumReaderJavaConnectorTest, CompositeKeyInKeyOrder) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  const std::string value =
      R"({"after":{"line":3,"note":"n","order_id":"x"},"source":{"schema":"sales",)"
      R"("table":"order_lines"},"op":"c"})";
  ASSERT_TRUE(reader.Append("", R"({"order_id":"x","line":3})", value, &b, &added).ok());
  const TableSchema& t = *b.changes()[0].table;
  EXPECT_EQ(t.key_columns, (std::vector<int>{2, 0}));
  EXPECT_EQ(t.columns[2].primary_key_position, 0);
  EXPECT_EQ(t.columns[0].primary_key_position, 1);
  EXPECT_EQ(t.columns[1].primary_key_position, -1);
  EXPECT_TRUE(t.columns[0].replica_key);
  EXPECT_FALSE(t.columns[1].replica_key);
  // A null key: no key columns.
  for (const char* key : {"", "null", R"({"schema":null,"payload":null})"}) {
    ASSERT_TRUE(reader.Append("", key, value, &b, &added).ok());
    EXPECT_TRUE(b.changes().back().table->key_columns.empty()) << key;
  }
}

// ---- 3. Malformed records --------------------------------------------------------------

// The good event with "after" replaced.
std::string WithAfter(const std::string& after, const std::string& op = "c") {
  return std::string(R"({"schema":{"type":"struct","fields":[{"type":"struct","fields":[)") +
         R"({"type":"int32","optional":false,"field":"id"},)"
         R"({"type":"double","optional":true,"field":"price"},)"
         R"({"type":"bytes","optional":true,"field":"raw"},)"
         R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal",)"
         R"("parameters":{"scale":"2"},"field":"amount"}],"optional":true,"field":"after"},)"
         R"({"type":"string","optional":false,"field":"op"}],"optional":false},"payload":{)"
         R"("before":{"id":1,"price":2.5,"raw":"AQ==","amount":"AN4="},"after":)" +
         after + R"(,"source":{"schema":"public","table":"t"},"op":")" + op + R"("}})";
}

class DebeziumReaderMalformedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Something already in the batch, which a failed record must leave as it is.
    bool added;
    ASSERT_TRUE(reader_.Append("", "{\"id\":1}", Good(), &batch_, &added).ok());
    changes_ = batch_.changes().size();
    bytes_ = batch_.byte_size();
    table_ = batch_.changes()[0].table;
  }

  static std::string Good() {
    return WithAfter(R"({"id":1,"price":2.5,"raw":"AQ==","amount":"AN4="})");
  }

  // Expects `value` to be refused with a message containing each of `parts`, and the batch
  // and the reader's schema cache unchanged.
  void ExpectRefused(const std::string& value, const std::vector<std::string>& parts,
                     const std::string& key = "{\"id\":1}") {
    SCOPED_TRACE(value);
    bool added = true;
    Status s = reader_.Append("srv.public.t", key, value, &batch_, &added);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_FALSE(added);
    for (const std::string& part : parts) {
      EXPECT_NE(s.message().find(part), std::string::npos)
          << "'" << part << "' not in: " << s.message();
    }
    EXPECT_EQ(batch_.changes().size(), changes_);
    EXPECT_EQ(batch_.byte_size(), bytes_);
    // The reader still reads, with the schema it had.
    ChangeBatch other;
    ASSERT_TRUE(reader_.Append("", "{\"id\":1}", Good(), &other, &added).ok());
    EXPECT_EQ(other.changes()[0].table, table_);
  }

  DebeziumReader reader_;
  ChangeBatch batch_;
  size_t changes_ = 0, bytes_ = 0;
  const TableSchema* table_ = nullptr;
};

TEST_F(DebeziumReaderMalformedTest, EveryProblemIsNamed) {
  ExpectRefused("{\"before\": null, \"after\": x}", {"not JSON", "at byte 27"});
  ExpectRefused("{\"op\":\"c\"} trailing", {"not JSON", "at byte"});
  ExpectRefused("[1,2]", {"value is a JSON array, not an object"});
  ExpectRefused("\"text\"", {"value is a JSON string"});
  ExpectRefused(R"({"before":null,"after":{"id":1},"source":{}})", {"no \"op\" field"});
  ExpectRefused(R"({"after":{"id":1},"op":"x"})", {"unknown op \"x\""});
  ExpectRefused(R"({"after":{"id":1},"op":7})", {"op", "expected a string, got number"});
  ExpectRefused(R"({"before":null,"after":null,"op":"c"})", {"field \"after\" missing for op c"});
  ExpectRefused(R"({"before":{"id":1},"op":"u"})", {"field \"after\" missing for op u"});
  ExpectRefused(R"({"after":{"id":1},"op":"d"})", {"field \"before\" missing for op d"});
  ExpectRefused(R"({"after":[1],"op":"c"})", {"field \"after\" is a JSON array"});
  ExpectRefused(WithAfter(R"({"id":1,"price":"abc"})"),
                {"public.t", "column \"price\": expected a number, got string"});
  ExpectRefused(WithAfter(R"({"id":"1"})"), {"column \"id\": expected an integer, got string"});
  ExpectRefused(WithAfter(R"({"id":1.5})"), {"column \"id\"", "expected an integer", "1.5"});
  ExpectRefused(WithAfter(R"({"id":3000000000})"),
                {"column \"id\"", "3000000000 is out of range for int4"});
  ExpectRefused(WithAfter(R"({"id":1,"raw":"AQ="})"), {"column \"raw\"", "bad base64"});
  ExpectRefused(WithAfter(R"({"id":1,"raw":"A!=="})"), {"column \"raw\"", "bad base64"});
  ExpectRefused(WithAfter(R"({"id":1,"amount":"%%%%"})"), {"column \"amount\"", "bad base64"});
  ExpectRefused(WithAfter(R"({"id":1,"amount":12})"),
                {"column \"amount\"", "expected a base64 string, got number"});
  ExpectRefused(WithAfter(R"({"id":1,"extra":2})"), {"field \"extra\"", "not in the value schema"});
  ExpectRefused(WithAfter(R"({"id":1,"id":2})"), {"field \"id\" appears twice"});
  ExpectRefused(WithAfter(R"({"id":1})"), {"key field \"nope\" is not a column of public.t"},
                R"({"nope":1})");
  ExpectRefused(WithAfter(R"({"id":1})"), {"key is not JSON"}, "{");
  ExpectRefused(WithAfter(R"({"id":1})"), {"key is a JSON array"}, "[1]");
  std::string deep(100, '[');
  ExpectRefused(deep, {"not JSON", "nested deeper than 64 levels"});
  ExpectRefused(R"({"after":{"i":1},"source":{"lsn":"12"},"op":"c"})",
                {"source.lsn", "expected an integer, got string"});
  ExpectRefused(R"({"after":{"i":1},"source":{"snapshot":"maybe"},"op":"r"})",
                {"unknown source.snapshot \"maybe\""});
  ExpectRefused(R"({"after":{"i":1,"i":2},"op":"c"})", {"field \"i\" appears twice in \"after\""});
  ExpectRefused(std::string("{\"after\":{\"s\":\"\xff\"},\"op\":\"c\"}"), {"not JSON"});
}

// ---- 4. Table schemas ------------------------------------------------------------------

TEST(DebeziumReaderSchemaCacheTest, SameLayoutSamePointerNewLayoutNewVersion) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  const std::string int_field = R"({"type":"int32","optional":false,"field":"v"})";
  auto append = [&](const std::string& fields, const std::string& value) {
    Status s = reader.Append("t", "", OneColumnEvent(fields, value), &b, &added);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return b.changes().back().table;
  };
  const TableSchema* v1 = append(int_field, "1");
  EXPECT_EQ(append(int_field, "2"), v1);
  EXPECT_EQ(append(int_field, "null"), v1);
  // A new column.
  const TableSchema* v2 =
      append(int_field + R"(,{"type":"string","optional":true,"field":"w"})", "1");
  EXPECT_NE(v2, v1);
  EXPECT_GT(v2->version, v1->version);
  EXPECT_EQ(v2->relid, v1->relid) << "the same table";
  EXPECT_EQ(v2->columns.size(), 2u);
  // A changed type, nullability, decimal scale: each a new version.
  const TableSchema* v3 = append(R"({"type":"int64","optional":false,"field":"v"})", "1");
  EXPECT_GT(v3->version, v2->version);
  const TableSchema* v4 = append(R"({"type":"int64","optional":true,"field":"v"})", "1");
  EXPECT_GT(v4->version, v3->version);
  const std::string dec = R"({"type":"bytes","optional":true,"name":)"
                          R"("org.apache.kafka.connect.data.Decimal","parameters":{"scale":"%"},)"
                          R"("field":"v"})";
  auto with_scale = [&](const char* s) {
    std::string f = dec;
    f.replace(f.find('%'), 1, s);
    return f;
  };
  const TableSchema* v5 = append(with_scale("2"), "\"AN4=\"");
  const TableSchema* v6 = append(with_scale("3"), "\"AN4=\"");
  EXPECT_GT(v6->version, v5->version);
  EXPECT_EQ(append(with_scale("3"), "\"AN4=\""), v6);
  // Back to the first layout: a new version again (only the last layout is cached).
  const TableSchema* v7 = append(int_field, "1");
  EXPECT_NE(v7, v1);
  EXPECT_GT(v7->version, v6->version);
  // The batch keeps every schema its changes point to.
  EXPECT_EQ(b.changes()[0].table, v1);
  EXPECT_EQ(b.changes()[0].table->columns[0].type.kind, ValueKind::kInt32);
}

TEST(DebeziumReaderSchemaCacheTest, VersionsAreUniqueAcrossTables) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  std::vector<uint32_t> versions;
  std::vector<Oid> relids;
  for (const char* table : {"a", "b", "a", "c"}) {
    const std::string v = R"({"after":{"i":1},"source":{"schema":"s","table":")" +
                          std::string(table) + R"("},"op":"c"})";
    ASSERT_TRUE(reader.Append("", "", v, &b, &added).ok());
    versions.push_back(b.changes().back().table->version);
    relids.push_back(b.changes().back().table->relid);
  }
  EXPECT_EQ(versions[0], versions[2]);
  EXPECT_NE(versions[0], versions[1]);
  EXPECT_NE(versions[1], versions[3]);
  EXPECT_NE(versions[0], versions[3]);
  EXPECT_EQ(relids[0], relids[2]);
  EXPECT_NE(relids[0], relids[1]);
  EXPECT_NE(relids[1], relids[3]);
}

TEST(DebeziumReaderSchemaCacheTest, SchemalessInferenceAndNullableColumns) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  auto append = [&](const std::string& after, const std::string& before = "null") {
    const std::string v = R"({"before":)" + before + R"(,"after":)" + after +
                          R"(,"source":{"schema":"public","table":"t"},"op":"u"})";
    Status s = reader.Append("", R"({"id":1})", v, &b, &added);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return b.changes().empty() ? nullptr : b.changes().back().table;
  };
  const TableSchema* t1 =
      append(R"({"id":1,"f":1.5,"s":"x","b":true,"n":null,"o":{"k":[1]},)"
             R"("d":{"scale":2,"value":"AN4="},"a":[1,null,2],"fa":[1,"NaN",2.5],"sa":[],)"
             R"("na":[[1]],"x":"NaN"})");
  ASSERT_NE(t1, nullptr);
  auto kind = [&](const TableSchema* t, const char* name) {
    return t->columns[Col(*t, name)].type.kind;
  };
  EXPECT_EQ(kind(t1, "id"), ValueKind::kInt64);
  EXPECT_EQ(kind(t1, "f"), ValueKind::kFloat64);
  EXPECT_EQ(kind(t1, "s"), ValueKind::kString);
  EXPECT_EQ(kind(t1, "b"), ValueKind::kBoolean);
  EXPECT_EQ(kind(t1, "n"), ValueKind::kString);
  EXPECT_EQ(kind(t1, "o"), ValueKind::kJson);
  EXPECT_EQ(kind(t1, "d"), ValueKind::kDecimal);
  EXPECT_EQ(kind(t1, "a"), ValueKind::kArray);
  EXPECT_EQ(t1->columns[Col(*t1, "a")].type.element->kind, ValueKind::kInt64);
  EXPECT_EQ(t1->columns[Col(*t1, "fa")].type.element->kind, ValueKind::kFloat64);
  EXPECT_EQ(t1->columns[Col(*t1, "sa")].type.element->kind, ValueKind::kString);
  EXPECT_EQ(kind(t1, "na"), ValueKind::kJson);
  EXPECT_EQ(kind(t1, "x"), ValueKind::kString);
  const int32_t row = b.changes().back().after;
  EXPECT_EQ(CellText(b, row, Col(*t1, "o")), R"({"k":[1]})");
  EXPECT_EQ(CellText(b, row, Col(*t1, "d")), "2.22");
  EXPECT_EQ(CellText(b, row, Col(*t1, "fa")), "{1,NaN,2.5}");
  EXPECT_EQ(CellText(b, row, Col(*t1, "na")), "[[1]]");
  EXPECT_EQ(t1->key_columns, std::vector<int>{0});
  // Integers in a float column, nulls anywhere: the layout stays.
  const std::string same =
      R"({"id":2,"f":3,"s":null,"b":null,"n":null,"o":null,"d":null,"a":[],"fa":[7],)"
      R"("sa":null,"na":null,"x":"Infinity"})";
  EXPECT_EQ(append(same), t1);
  // A value the column's type cannot read: the type is inferred again.
  const TableSchema* t2 =
      append(R"({"id":2,"f":3,"s":null,"b":null,"n":5,"o":null,"d":null,"a":[],"fa":[7],)"
             R"("sa":null,"na":null,"x":"y"})");
  EXPECT_NE(t2, t1);
  EXPECT_GT(t2->version, t1->version);
  EXPECT_EQ(kind(t2, "n"), ValueKind::kInt64);
  EXPECT_EQ(kind(t2, "f"), ValueKind::kFloat64) << "kept from the previous layout";
  const TableSchema* t3 =
      append(R"({"id":2,"f":3,"s":null,"b":null,"n":"now text","o":null,"d":null,"a":[],"fa":[7],)"
             R"("sa":null,"na":null,"x":"y"})");
  EXPECT_GT(t3->version, t2->version);
  EXPECT_EQ(kind(t3, "n"), ValueKind::kString);
  // Values that disagree in type: text, non-strings as their JSON text.
  const TableSchema* mixed = append(R"({"id":3,"m":"x","k":[1]})", R"({"id":3,"m":1.5,"k":"{}"})");
  EXPECT_EQ(kind(mixed, "m"), ValueKind::kText);
  EXPECT_EQ(kind(mixed, "k"), ValueKind::kText);
  EXPECT_EQ(CellText(b, b.changes().back().before, 1), "1.5");
  EXPECT_EQ(CellText(b, b.changes().back().after, 1), "x");
  EXPECT_EQ(CellText(b, b.changes().back().before, 2), "{}");
  EXPECT_EQ(CellText(b, b.changes().back().after, 2), "[1]");
  // Columns only in before come after those of after.
  const TableSchema* t4 = append(R"({"id":3})", R"({"id":3,"gone":"x"})");
  ASSERT_EQ(t4->columns.size(), 2u);
  EXPECT_EQ(t4->columns[1].name, "gone");
  EXPECT_EQ(CellText(b, b.changes().back().after, 1), "<null>");
}

// Without a schema, an update from a one-dimensional array to a multi-dimensional one
// (which the encoder writes as its text) is not refused: the column reads as text.
TEST(DebeziumReaderSchemaCacheTest, SchemalessArrayAndArrayTextInOneRecord) {
  auto table = AllTypesTable();
  ChangeBatch b;
  Change& u = AddChange(&b, table, ChangeOp::kUpdate, 1);
  u.before = AddRow(&b, EdgeRow());
  u.after = AddRow(&b, SpecialRow());
  std::vector<Record> records = Encode(Opts(false, DecimalHandling::kPrecise, false), b);
  DebeziumReader reader;
  ChangeBatch read;
  bool added;
  Status s = reader.Append(records[0].topic, records[0].key, records[0].value, &read, &added);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const Change& c = read.changes()[0];
  const int col = Col(*c.table, "c_int_arr");
  EXPECT_EQ(c.table->columns[col].type.kind, ValueKind::kText);
  EXPECT_EQ(CellText(read, c.before, col), "[]");
  EXPECT_EQ(CellText(read, c.after, col), "{{1,2},{3,4}}");
}

TEST(DebeziumReaderSchemaCacheTest, TombstoneAddsNothing) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added = true;
  ASSERT_TRUE(reader.Append("srv.public.t", R"({"id":1})", "", &b, &added).ok());
  EXPECT_FALSE(added);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.byte_size(), 0u);
}

TEST(DebeziumReaderSchemaCacheTest, TruncateOfAnUnknownTableWithoutSchemaHasNoColumns) {
  DebeziumReader reader;
  ChangeBatch b;
  bool added;
  ASSERT_TRUE(
      reader.Append("", "", R"({"source":{"schema":"s","table":"t"},"op":"t"})", &b, &added).ok());
  ASSERT_TRUE(added);
  EXPECT_TRUE(b.changes()[0].table->columns.empty());
  // The first row defines the layout; the truncate after it keeps it.
  ASSERT_TRUE(reader
                  .Append("", "",
                          R"({"after":{"i":1},"source":{"schema":"s","table":"t"},)"
                          R"("op":"c"})",
                          &b, &added)
                  .ok());
  ASSERT_TRUE(
      reader.Append("", "", R"({"source":{"schema":"s","table":"t"},"op":"t"})", &b, &added).ok());
  EXPECT_EQ(b.changes()[2].table, b.changes()[1].table);
}

}  // namespace
}  // namespace walflow::format
