// Date/time arithmetic and the jsonb operators against a real PostgreSQL 15: every
// expression of a corpus over every row of a table of edge values (month ends, leap days,
// both ends of the date and timestamp ranges, ±infinity, extreme intervals and factors, JSON
// documents with duplicate keys, escapes, nesting and numbers in many spellings), evaluated
// here and in PostgreSQL; type and text of each cell, or its error message, must match.
// Operator resolution is part of it: unknown literals, mixed types and ambiguous calls.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pg_server.h"
#include "sql/binder.h"
#include "sql/evaluator.h"
#include "sql/parser.h"
#include "sql/value.h"

// GCC 12 warns falsely on chains of std::string operator+ (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

namespace walflow::sql {
namespace {

using test::PgConnection;
using test::PgServer;

PgConnection& Session() {
  static PgConnection* conn = [] {
    auto* c = new PgConnection(PgServer::Shared().Connect());
    c->Exec(
        "SET TimeZone = 'UTC'; SET DateStyle = ISO; SET IntervalStyle = postgres; "
        "SET extra_float_digits = 3");
    return c;
  }();
  return *conn;
}

// Cells are separated by the ASCII record separator: a text may hold newlines.
std::vector<std::string> Cells(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string cell;
  while (std::getline(in, cell, '\x1e')) {
    // An error's first line, as here.
    if (cell.rfind("error: ", 0) == 0) cell = cell.substr(0, cell.find('\n'));
    out.push_back(cell);
  }
  return out;
}

// Month ends and leap days (for month arithmetic's clamping), the epochs, BC years, the last
// timestamp and the first, and ±infinity.
const char* const kTimestamps[] = {
    "2026-01-31 10:15:30.123456",
    "2024-02-29 00:00:00",
    "2026-03-02 01:00:00",
    "2026-03-01 00:00:00",
    "2000-01-01 00:00:00",
    "1999-12-31 23:59:59.5",
    "2023-01-31 23:59:59.999999",
    "1970-01-01 00:00:00",
    "1900-02-28 12:00:00",
    "2100-12-31 00:00:00.000001",
    "0001-01-01 00:00:00",
    "0001-12-31 23:59:59 BC",
    "0005-02-29 06:00:00 BC",
    "4714-11-24 00:00:00 BC",
    "4714-12-31 23:59:59.999999 BC",
    "294276-12-31 23:59:59.999999",
    "294276-11-30 00:00:00",
    "infinity",
    "-infinity",
    "2026-08-31 23:00:00",
    "2025-10-31 12:34:56.789",
    "1600-02-29 00:00:00",
};

// Every valid date range end (5874897-12-31 and 4714-11-24 BC), the last date with a
// timestamp (294276-12-31) and the first without, month ends, ±infinity.
const char* const kDates[] = {
    "2026-01-31",   "2024-02-29", "2000-01-01",    "5874897-12-31", "4714-11-24 BC", "294276-12-31",
    "294277-01-01", "infinity",   "-infinity",     "0001-01-01",    "0001-12-31 BC", "1970-01-01",
    "2023-03-31",   "2026-12-31", "5874897-01-01", "4714-11-25 BC", "2024-12-31",
};

// Mixed signs, fractions, months that clamp, the extremes of each field and of the span.
const char* const kIntervals[] = {
    "1 mon",
    "-1 mons",
    "1 year 2 mons 3 days 04:05:06.789",
    "1 day",
    "-1 days +01:00:00",
    "00:00:00",
    "29 days 23:59:59.999999",
    "178956970 years 7 mons",
    "-178956970 years -8 mons",
    "2147483647 days",
    "-2147483648 days",
    "2562047788:00:54.775807",
    "-2562047788:00:54.775807",
    "1 mon 2147483647 days",
    "1 year",
    "-1 years -1 mons",
    "11 mons 30 days",
    "00:00:00.000001",
    "1 day -00:00:00.000001",
    "3 mons 100 days 1000:00:00",
    "-11 mons +40 days -00:00:00.5",
    "24:00:00",
    "106751991 days 04:00:54.775807",
};

const char* const kIntegers[] = {
    "0",   "1",          "-1",       "2147483647", "-2147483648", "30",
    "365", "2145031948", "-2451545", nullptr,      "7",           "-1000000",
};

// Factors that spill month and day fractions down, overflow, NaN and infinities.
const char* const kFloats[] = {
    "0",
    "1",
    "-1",
    "0.5",
    "1.5",
    "1e-10",
    "10000000000",
    "NaN",
    "Infinity",
    "-Infinity",
    "0.999999",
    "3",
    "7",
    "-0.5",
    "1e+300",
    "2.5",
    nullptr,
    "1.0000000001",
    "0.3333333333333333",
    "-0",
    "1e-300",
    "0.9999999999",
};

const char* const kNumerics[] = {"1.5", "-0.25", "0", "100000000000000000000", "3", nullptr, "NaN"};

// JSON as a source sends it (a jsonb column's text is PostgreSQL's output form; a json
// column's is as written), and texts that are no JSON, for the casts.
const char* const kJsonTexts[] = {
    R"({"b":1,"a":2})",
    R"({"a": {"c": [1, 2.50, "x"], "b": null}, "aa": true})",
    R"([1, "two", null, {"k": "v"}, [3]])",
    R"("just a string")",
    "42",
    "1.50",
    "1e2",
    "-0",
    "null",
    "true",
    "{}",
    "[]",
    R"({"a": "x\ny", "b": "\u00e9\ttab \"q\" \\ \/", "c": "\ud83d\ude00", "k": "\u001f"})",
    R"({"dup": 1, "dup": 2, "dup": [3]})",
    R"({"": "empty key", "a b": 1, "k": {"": []}})",
    "[[[]]]",
    R"({"num": 123456789012345678901234567890.123456789, "e": 1E-7, "neg": -1.0e+3})",
    R"({"aaa":1,"bb":2,"c":3,"ab":4,"ba":5, "a":0})",
    " [ 1 , 2 ] ",
    " {\"k\": \"\", \"x\": [], \"y\": {}} ",
    R"([0.0, -0.000, 1E400, 5e-5, 12.3400])",
    R"({"a": false, "b": [true, false, null]})",
};
const char* const kNotJson[] = {
    "not json",   R"({"a":1,})", R"("\u0000")", "[1, 2",       "",
    R"({"a" 1})", "01",          "1.",          R"("\ud800")", R"("\x")",
    "nul",        R"({"a":1}})", "[1 2]",       R"("a)",       "{1: 2}",
};

const char* const kKeys[] = {"a", "b", "aa", "", "dup", "missing", "k", "num", nullptr, "c"};
const char* const kIndexes[] = {"0",   "1",           "-1",         "2",     "-5", "4",
                                "100", "-2147483648", "2147483647", nullptr, "-2", "3"};

template <typename T, size_t N>
const char* Pick(const T (&values)[N], size_t i) {
  return values[i % N];
}

// The table both sides evaluate over.
struct ArithTable {
  InputSchema schema{"ar",
                     "",
                     {{"id", SqlType::kInt4},
                      {"d", SqlType::kDate},
                      {"d2", SqlType::kDate},
                      {"ts", SqlType::kTimestamp},
                      {"ts2", SqlType::kTimestamp},
                      {"tz", SqlType::kTimestampTz},
                      {"iv", SqlType::kInterval},
                      {"iv2", SqlType::kInterval},
                      {"n", SqlType::kInt4},
                      {"f", SqlType::kFloat8},
                      {"num", SqlType::kNumeric},
                      {"j", SqlType::kJsonb},
                      {"jt", SqlType::kText},
                      {"k", SqlType::kText},
                      {"x", SqlType::kInt4}}};
  const char* pg_types =
      "id int4, d date, d2 date, ts timestamp, ts2 timestamp, tz timestamptz, "
      "iv interval, iv2 interval, n int4, f float8, num numeric, j jsonb, "
      "jt text, k text, x int4";
  std::vector<std::vector<const char*>> texts;  // per row, in schema order; nullptr is NULL
  std::vector<std::string> owned;               // storage of derived texts
  std::vector<std::vector<Value>> rows;
};

std::string TimestampTzText(const std::string& ts) {
  if (ts.find("infinity") != std::string::npos) return ts;
  bool bc = ts.ends_with(" BC");
  std::string local = bc ? ts.substr(0, ts.size() - 3) : ts;
  return local + "+00" + (bc ? " BC" : "");
}

std::string SqlLiteral(const char* text) {
  if (text == nullptr) return "NULL";
  std::string out = "'";
  for (const char* p = text; *p; ++p) out += *p == '\'' ? std::string("''") : std::string(1, *p);
  return out + "'";
}

const ArithTable& Table() {
  static const ArithTable* table = [] {
    auto* t = new ArithTable;
    constexpr size_t kRows = 34;
    t->owned.reserve(kRows);
    for (size_t i = 0; i < kRows; ++i)
      t->owned.push_back(TimestampTzText(Pick(kTimestamps, i * 5)));
    for (size_t i = 0; i < kRows; ++i) {
      // The jt column holds the valid texts on even rows and the others on odd ones; j holds
      // a valid document (as the server stores it) on every row but the last.
      const char* jt = i % 2 == 0 ? Pick(kJsonTexts, i / 2) : Pick(kNotJson, i / 2);
      const char* j = i + 1 == kRows ? nullptr : Pick(kJsonTexts, i * 3 + 1);
      t->texts.push_back({nullptr, Pick(kDates, i), Pick(kDates, i * 3 + 2), Pick(kTimestamps, i),
                          Pick(kTimestamps, i * 7 + 3), t->owned[i].c_str(), Pick(kIntervals, i),
                          Pick(kIntervals, i * 5 + 2), Pick(kIntegers, i), Pick(kFloats, i),
                          Pick(kNumerics, i), j, jt, Pick(kKeys, i), Pick(kIndexes, i)});
    }
    std::string values;
    for (size_t i = 0; i < kRows; ++i) {
      values += i ? ",(" : "(";
      values += std::to_string(i + 1);
      for (size_t c = 1; c < t->texts[i].size(); ++c) values += "," + SqlLiteral(t->texts[i][c]);
      values += ")";
    }
    Session().Exec(std::string("CREATE TEMP TABLE ar (") + t->pg_types +
                   "); INSERT INTO ar VALUES " + values);
    // jsonb arrives from a source in the server's output form.
    test::PgRows stored = Session().Query("SELECT j::text FROM ar ORDER BY id");
    for (size_t i = 0; i < kRows; ++i) {
      std::vector<Value> row;
      for (size_t c = 0; c < t->texts[i].size(); ++c) {
        SqlType type = t->schema.columns[c].type;
        if (c == 0) {
          row.push_back(Value::Int4(static_cast<int32_t>(i + 1)));
        } else if (type == SqlType::kJsonb) {
          row.push_back(stored[i][0] ? *Value::Parse(type, *stored[i][0]) : Value::Null(type));
        } else if (t->texts[i][c] == nullptr) {
          row.push_back(Value::Null(type));
        } else {
          Result<Value> v = ParseInput(type, t->texts[i][c]);
          EXPECT_TRUE(v.ok()) << t->texts[i][c] << ": " << v.status().ToString();
          row.push_back(v.ok() ? *v : Value::Null(type));
        }
      }
      t->rows.push_back(std::move(row));
    }
    // Each row's "type|value" (NULL as NULL), or "error: message" for that row alone.
    Session().Exec(R"sql(
      CREATE FUNCTION pg_temp.ar_cells(expr text) RETURNS SETOF text LANGUAGE plpgsql AS $$
      DECLARE
        cells text[];
        cell text;
        row_id int4;
        one_row constant text := 'SELECT pg_typeof(x)::text || ''|'' || coalesce(x::text, '
            '''NULL'') FROM (SELECT (%s) AS x FROM ar WHERE id = $1) s';
      BEGIN
        BEGIN
          EXECUTE format('SELECT array_agg(pg_typeof(x)::text || ''|'' || '
                         'coalesce(x::text, ''NULL'') ORDER BY id) '
                         'FROM (SELECT id, (%s) AS x FROM ar) s', expr) INTO cells;
          RETURN QUERY SELECT unnest(cells);
          RETURN;
        EXCEPTION WHEN others THEN
          NULL;  -- some row fails: take them one by one
        END;
        FOR row_id IN SELECT id FROM ar ORDER BY id LOOP
          BEGIN
            EXECUTE format(one_row, expr) INTO cell USING row_id;
          EXCEPTION WHEN others THEN
            cell := 'error: ' || SQLERRM;
          END;
          RETURN NEXT cell;
        END LOOP;
      END $$)sql");
    return t;
  }();
  return *table;
}

std::vector<std::string> CellsHere(const std::string& expr) {
  const ArithTable& table = Table();
  std::string sql = "SELECT " + expr + " FROM ar";
  auto first_line = [](const std::string& m) { return "error: " + m.substr(0, m.find('\n')); };
  std::vector<std::string> cells;
  Result<SelectStatement> stmt = Parse(sql);
  Result<BoundExpr> bound =
      stmt.ok() ? Bind(std::get<Expr>(stmt->items[0].value), table.schema, sql, {"SELECT", false})
                : Result<BoundExpr>(stmt.status());
  for (const std::vector<Value>& row : table.rows) {
    if (!bound.ok()) {
      cells.push_back(first_line(bound.status().message()));
      continue;
    }
    Result<Value> v = Evaluate(*bound, row);
    if (!v.ok()) {
      cells.push_back(first_line(v.status().message()));
    } else {
      std::string text = v->is_null()                  ? "NULL"
                         : v->type() == SqlType::kBool ? (v->bool_value() ? "true" : "false")
                                                       : v->ToString();
      cells.push_back(std::string(SqlTypeName(bound->type)) + "|" + text);
    }
  }
  return cells;
}

std::vector<std::string> CellsInPostgres(const std::string& expr) {
  Table();
  return Cells(Session().Scalar("SELECT string_agg(c, E'\\x1e') FROM pg_temp.ar_cells(" +
                                SqlLiteral(expr.c_str()) + ") c"));
}

std::vector<std::string> DateTimeCorpus() {
  std::vector<std::string> c;
  // Each operator over each pair of operand kinds where one is a date/time type: what
  // resolves, to which types, and the results.
  const char* operands[] = {"d",    "ts",  "tz",      "iv",           "n",
                            "f",    "num", "n::int2", "n::int8",      "k",
                            "NULL", "'3'", "'1 day'", "'2026-01-01'", "'2026-01-31 10:00:00'"};
  auto temporal = [](std::string_view o) {
    return o == "d" || o == "ts" || o == "tz" || o == "iv";
  };
  for (const char* a : operands) {
    for (const char* b : operands) {
      if (!temporal(a) && !temporal(b)) continue;
      for (const char* op : {"+", "-", "*", "/"}) {
        c.push_back(std::string(a) + " " + op + " " + b);
      }
    }
  }
  const char* more[] = {
      "d - d2",
      "d2 - d",
      "ts - ts2",
      "ts2 - ts",
      "tz - ts",
      "ts - d",
      "d - ts",
      "tz - d",
      "d2 - tz",
      "iv + iv2",
      "iv - iv2",
      "iv2 - iv",
      "ts + iv2",
      "ts - iv2",
      "tz + iv2",
      "tz - iv2",
      "d + iv2",
      "d - iv2",
      "iv2 + d",
      "iv2 + ts",
      "iv2 + tz",
      "d + x",
      "d - x",
      "x + d",
      "ts + iv - iv",
      "ts - iv + iv",
      "(ts + iv) - ts",
      "(d + n) - d",
      "d + 1",
      "d - 1",
      "1 + d",
      "d + 365",
      "d + '1'::int2",
      "d + 1::int8",
      "d + 1.5",
      "d * 2",
      "d % 2",
      "iv % 2",
      "ts % iv",
      "-iv",
      "-iv2",
      "- (iv * f)",
      "-d",
      "-ts",
      "- '1 day'",
      "- NULL",
      "iv * 1.5",
      "1.5 * iv",
      "iv * 2",
      "2 * iv",
      "iv * 0.5",
      "iv / 3",
      "iv / 7",
      "iv / 0",
      "iv / 0.0",
      "iv / -0.5",
      "iv * 'NaN'",
      "iv * '1e-7'",
      "iv2 * f",
      "iv2 / f",
      "f * iv2",
      "iv * num",
      "num * iv",
      "iv / num",
      "iv * x",
      "iv / x",
      "'1 mon'::interval * 0.5",
      "'1 mon 1 day'::interval * 1.5",
      "'1 mon'::interval / 7",
      "'1 mon 2147483647 days'::interval * 0.9999999999",
      "'1 mon 2147483647 days'::interval / 1.0000000001",
      "'2147483647 days'::interval * 1.0000000001",
      "'-2147483648 days'::interval * -1",
      "'2562047788:00:54.775807'::interval * 1",
      "'29 days 23:59:59.999999'::interval * 1.000001",
      "'2026-01-31'::date + '1 mon'::interval",
      "'2026-01-31'::date + '1 month'",
      "'2026-01-31 10:00:00'::timestamp + '1 mon'",
      "'2024-02-29 00:00:00'::timestamp + '1 year'",
      "'2024-02-29 00:00:00'::timestamp - '12 mons'",
      "'2026-03-31 00:00:00+00'::timestamptz - '1 mon'::interval",
      "'2026-03-02 01:00:00'::timestamp - '2026-03-01 00:00:00'::timestamp",
      "'2026-03-01 00:00:00'::timestamp - '2026-03-02 01:00:00'",
      "ts - '2026-01-01'",
      "tz - '2026-01-01 00:00:00+00'",
      "'2026-01-01' - ts",
      "d - '2026-01-01'",
      "d - 'x'",
      "d + 'x'::text",
      "d + k",
      "k + d",
      "ts + k",
      "iv * k",
      "ts + NULL",
      "NULL - ts",
      "NULL + iv",
      "d + NULL",
      "iv + '1 day'",
      "'1 day' + iv",
      "iv - '2026-01-01'",
      "'3' + '4'",
      "NULL * NULL",
      "ts + iv > ts",
      "d + 1 > d",
      "(ts - ts2) < '1 day'",
      "(d + iv)::date",
      "(ts - ts2)::text",
      "extract(epoch from ts - ts2)",
      "date_trunc('day', ts + iv)",
      "extract(year from d + n)",
      "(tz + iv)::timestamp",
      "CASE WHEN d - d2 > 0 THEN d - d2 ELSE d2 - d END",
      "COALESCE(ts + iv, ts)",
      "ts + iv IS NULL",
      "ts + (iv * 2)",
      "d + (iv / 2)",
      "(iv + iv2) * 0.5",
      "ts + '1 day' + '1 mon'",
      "d + n + 1",
      "d - 2451545",
      "'4714-11-24 BC'::date - 1",
      "'5874897-12-31'::date + 1",
      "'294276-12-31'::date + '1 day'::interval",
      "'294277-01-01'::date + '0'::interval",
      "'294277-01-01'::date - ts",
      "'infinity'::timestamp - 'infinity'::timestamp",
      "'infinity'::date - 'infinity'::date",
      "'infinity'::date + 1",
      "'-infinity'::timestamp + '1 day'",
      "'infinity'::timestamptz - '1 mon'::interval",
      "'294276-12-31 23:59:59.999999'::timestamp - '4714-11-24 00:00:00 BC'",
      "'4714-11-24 00:00:00 BC'::timestamp - '294276-12-31 23:59:59.999999'",
      "'294276-12-31 23:59:59.999999'::timestamp + '2562047788:00:54.775807'",
      "'4714-11-24 00:00:00 BC'::timestamp - '2562047788:00:54.775807'::interval",
      "ts + '178956970 years 7 mons'",
      "ts + '-178956970 years -8 mons'",
  };
  for (const char* e : more) c.push_back(e);
  return c;
}

std::vector<std::string> JsonbCorpus() {
  const char* c[] = {
      "j",
      "j::text",
      "jt::jsonb",
      "CAST(jt AS jsonb)",
      "(jt::jsonb)::text",
      "jt::jsonb = j",
      "j -> k",
      "j ->> k",
      "j -> x",
      "j ->> x",
      "j -> 'a'",
      "j ->> 'a'",
      "j -> 'b'",
      "j ->> 'b'",
      "j -> 'c'",
      "j ->> 'c'",
      "j -> 'k'",
      "j ->> 'k'",
      "j -> ''",
      "j -> 'dup'",
      "j ->> 'dup'",
      "j -> 'num'",
      "j ->> 'num'",
      "j -> 'e'",
      "j -> 'neg'",
      "j -> 'a' -> 'c'",
      "j -> 'a' -> 'c' -> 1",
      "j -> 'a' -> 'c' ->> 2",
      "j -> 'a' ->> 'b'",
      "j -> 'a' -> 'b'",
      "j -> 0",
      "j ->> 0",
      "j -> 1",
      "j ->> 1",
      "j -> -1",
      "j ->> -1",
      "j -> 3 -> 'k'",
      "j -> 4 -> 0",
      "j -> NULL",
      "j ->> NULL",
      "j -> x::int2",
      "j -> n",
      "j -> x::int8",
      "j -> 1.5",
      "j -> 'a'::text",
      "j -> k || 'x'",
      "jt::jsonb -> k",
      "jt::jsonb ->> x",
      "(j -> k) = (j -> k)",
      "(j ->> k) = 'x'",
      "(j ->> 'a')::int4",
      "length(j ->> k)",
      "upper(j ->> 0)",
      "k -> 'a'",
      "jt -> 'a'",
      "n -> 0",
      "d -> 'a'",
      "'{\"a\":1}' -> 'a'",
      "'{\"a\":1}' -> 2",
      "'{\"a\":1}' ->> k",
      "NULL -> 'a'",
      "'{\"a\": [1, 2.50]}'::jsonb -> 'a'",
      "'[1, 2]'::jsonb ->> 1",
      "'\"x\"'::jsonb -> 0",
      "'\"x\"'::jsonb ->> -1",
      "'5'::jsonb -> 1",
      "'{\"b\":1,\"a\":2}'::jsonb",
      "'  [1,2.50, 1e2, -0, 1E-2]  '::jsonb",
      "'{\"aa\":1,\"b\":2,\"a\":3,\"ab\":4}'::jsonb",
      "'{\"a\":1,\"a\":2}'::jsonb -> 'a'",
      "'\"\\u00e9\\t\\u001f\\/\"'::jsonb",
      "'\"\\ud83d\\ude00\"'::jsonb ->> 0",
      "'{\"a\":1,}'::jsonb",
      "'nul'::jsonb",
      "''::jsonb",
      "'\"\\u0000\"'::jsonb",
      "'[1e100000]'::jsonb",
      "j = j",
      "j = '{\"a\":2,\"b\":1}'",
      "j = '{\"b\":1.0,\"a\":2.00}'",
      "j <> '[]'",
      "j = '42'",
      "j = 'not json'",
      "j = k",
      "j IN ('{}', '[]', '42')",
      "j NOT IN ('{}', NULL)",
      "j IS DISTINCT FROM '1.50'",
      "j IS NOT DISTINCT FROM '1.5'",
      "NULLIF(j, '{}')",
      "COALESCE(j, '{\"z\": 0}')",
      "COALESCE(j -> 'zz', j -> 0, '\"none\"')",
      "CASE j WHEN '[]' THEN 1 WHEN 'true' THEN 2 ELSE 0 END",
      "CASE WHEN j ->> 'a' IS NULL THEN 'none' ELSE j ->> 'a' END",
      "j::text = jt",
      "j < j",
      "j - 'a'",
      "j - 0",
      "j || j",
      "j::int4",
      "'1'::jsonb::numeric",
      "n::jsonb",
      "k::jsonb",
  };
  return std::vector<std::string>(std::begin(c), std::end(c));
}

// Our cell against PostgreSQL's; a refusal by design ("not supported yet") where
// PostgreSQL answers is counted apart, not a mismatch.
struct Comparison {
  size_t expressions = 0, cells = 0, errors = 0, refused = 0, mismatches = 0;
  std::vector<std::string> refusals;

  void Run(const std::vector<std::string>& corpus) {
    for (const std::string& expr : corpus) {
      ++expressions;
      std::vector<std::string> ours = CellsHere(expr);
      std::vector<std::string> theirs = CellsInPostgres(expr);
      ASSERT_EQ(ours.size(), theirs.size()) << expr;
      bool refused_here = false;
      for (size_t i = 0; i < ours.size(); ++i) {
        ++cells;
        errors += theirs[i].rfind("error: ", 0) == 0;
        if (ours[i] == theirs[i]) continue;
        if (ours[i].find("is not supported yet") != std::string::npos) {
          ++refused;
          refused_here = true;
          continue;
        }
        ++mismatches;
        const auto& texts = Table().texts[i];
        auto text = [&](size_t c) { return texts[c] ? texts[c] : "NULL"; };
        ADD_FAILURE() << expr << " on row " << i + 1 << " (d " << text(1) << ", ts " << text(3)
                      << ", iv " << text(6) << ", f " << text(9) << ", jt " << text(12)
                      << ")\n  here:       " << ours[i] << "\n  PostgreSQL: " << theirs[i];
      }
      if (refused_here) refusals.push_back(expr);
    }
  }
};

TEST(PgOracleArithTest, DateTimeArithmeticMatchesPostgres) {
  Comparison c;
  c.Run(DateTimeCorpus());
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_GT(c.expressions, 500u);
  EXPECT_TRUE(c.refusals.empty()) << c.refusals.front();
  std::cout << c.expressions << " date/time expressions over " << Table().rows.size()
            << " rows: " << c.cells << " cells compared, " << c.errors << " of them errors\n";
}

TEST(PgOracleArithTest, JsonbOperatorsMatchPostgres) {
  Comparison c;
  c.Run(JsonbCorpus());
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_GT(c.expressions, 100u);
  std::string refusals;
  for (const std::string& r : c.refusals) refusals += " [" + r + "]";
  std::cout << c.expressions << " jsonb expressions over " << Table().rows.size()
            << " rows: " << c.cells << " cells compared, " << c.errors << " of them errors, "
            << c.refused << " refused by design:" << refusals << "\n";
}

}  // namespace
}  // namespace walflow::sql
