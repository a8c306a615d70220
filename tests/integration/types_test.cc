// Every PostgreSQL type walflow maps round-trips into Debezium JSON: rows with ordinary
// values, NULLs, special numbers, unicode, quoting, extreme numerics and dates are inserted,
// and each field of each event is compared with a value PostgreSQL computes itself (days
// since the epoch, microseconds from extract(epoch ...), base64 from encode(...), ...).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::seconds;

// How an expected value (PostgreSQL text, or NULL) and the event's field compare.
enum class Compare {
  kBool,         // 'true'/'false' -> JSON boolean
  kInteger,      // decimal text -> JSON integer with exactly these digits
  kFloat,        // float text -> JSON number of the same value; NaN/Infinity as strings
  kString,       // text -> JSON string, byte for byte
  kJsonExact,    // JSON text -> equal JSON value
  kDecimal,      // numeric text -> per decimal_handling (scale from the column)
  kDecimalArray  // JSON array of numeric texts -> array of decimals (element scale)
};

struct ColumnCase {
  std::string name;
  std::string type;
  std::string expected_sql;  // an expression over the row giving the expected text
  Compare compare;
  int scale = -1;  // kDecimal / kDecimalArray: the column's scale, -1 unconstrained
};

// Walflow's sentinels for infinite dates and timestamps (Debezium has no better encoding
// for them in an integer field): the extreme values of the field's integer type.
constexpr const char* kInt32Max = "2147483647";
constexpr const char* kInt32Min = "-2147483648";
constexpr const char* kInt64Max = "9223372036854775807";
constexpr const char* kInt64Min = "-9223372036854775808";

std::vector<ColumnCase> Columns() {
  const std::string date_sql = std::string("CASE WHEN c_date = 'infinity' THEN '") + kInt32Max +
                               "' WHEN c_date = '-infinity' THEN '" + kInt32Min +
                               "' ELSE (c_date - DATE '1970-01-01')::text END";
  auto ts_sql = [](const std::string& col, const std::string& factor, bool floor) {
    std::string v = "extract(epoch FROM " + col + ") * " + factor;
    if (floor) v = "floor(" + v + ")";
    return "CASE WHEN " + col + " = 'infinity' THEN '" + kInt64Max + "' WHEN " + col +
           " = '-infinity' THEN '" + kInt64Min + "' ELSE (" + v + ")::bigint::text END";
  };
  const std::string interval_sql =
      "((extract(year FROM c_interval) * 12 + extract(month FROM c_interval)) * 2629800000000 "
      "+ extract(day FROM c_interval) * 86400000000 + extract(hour FROM c_interval) * "
      "3600000000 + extract(minute FROM c_interval) * 60000000 + extract(microseconds FROM "
      "c_interval))::bigint::text";
  return {
      {"c_bool", "bool", "c_bool::text", Compare::kBool},
      {"c_int2", "int2", "c_int2::text", Compare::kInteger},
      {"c_int4", "int4", "c_int4::text", Compare::kInteger},
      {"c_int8", "int8", "c_int8::text", Compare::kInteger},
      {"c_float4", "float4", "c_float4::text", Compare::kFloat},
      {"c_float8", "float8", "c_float8::text", Compare::kFloat},
      {"c_num102", "numeric(10,2)", "c_num102::text", Compare::kDecimal, 2},
      {"c_num", "numeric", "c_num::text", Compare::kDecimal, -1},
      {"c_text", "text", "c_text", Compare::kString},
      {"c_varchar", "varchar(20)", "c_varchar::text", Compare::kString},
      {"c_char", "char(5)", "rpad(c_char::text, 5)", Compare::kString},
      {"c_bytea", "bytea", "replace(encode(c_bytea, 'base64'), E'\\n', '')", Compare::kString},
      {"c_date", "date", date_sql, Compare::kInteger},
      {"c_time", "time", "(extract(epoch FROM c_time) * 1000000)::bigint::text", Compare::kInteger},
      {"c_time3", "time(3)", "(extract(epoch FROM c_time3) * 1000)::bigint::text",
       Compare::kInteger},
      // HH:MM:SS.ffffff in UTC; the test trims the fraction and appends Z.
      {"c_timetz", "timetz",
       "to_char(DATE '2000-01-01' + (c_timetz AT TIME ZONE 'UTC')::time, 'HH24:MI:SS.US')",
       Compare::kString},
      {"c_ts", "timestamp", ts_sql("c_ts", "1000000", false), Compare::kInteger},
      {"c_ts3", "timestamp(3)", ts_sql("c_ts3", "1000", true), Compare::kInteger},
      // YYYY-MM-DDTHH:MI:SS.ffffff AD|BC in UTC; the test turns it into Java's ISO form.
      {"c_tstz", "timestamptz",
       "CASE WHEN c_tstz IN ('infinity', '-infinity') THEN c_tstz::text ELSE "
       "to_char(c_tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US BC') END",
       Compare::kString},
      {"c_interval", "interval", interval_sql, Compare::kInteger},
      {"c_uuid", "uuid", "c_uuid::text", Compare::kString},
      {"c_json", "json", "c_json::text", Compare::kString},
      {"c_jsonb", "jsonb", "c_jsonb::text", Compare::kString},
      {"c_enum", "mood", "c_enum::text", Compare::kString},
      {"c_int4arr", "int4[]", "array_to_json(c_int4arr)::text", Compare::kJsonExact},
      {"c_textarr", "text[]", "array_to_json(c_textarr)::text", Compare::kJsonExact},
      {"c_numarr", "numeric(5,1)[]",
       "CASE WHEN c_numarr IS NULL THEN NULL ELSE array_to_json(ARRAY(SELECT x::text FROM "
       "unnest(c_numarr) x))::text END",
       Compare::kDecimalArray, 1},
      // format() uses the output function (inet::text would add /32 to a host address).
      {"c_inet", "inet", "CASE WHEN c_inet IS NOT NULL THEN format('%s', c_inet) END",
       Compare::kString},
      // Domains map as their base type (with the domain's typmod); arrays of enums.
      {"c_domain", "posint", "c_domain::text", Compare::kInteger},
      {"c_price", "price", "c_price::text", Compare::kDecimal, 3},
      {"c_enumarr", "mood[]", "array_to_json(c_enumarr)::text", Compare::kJsonExact},
  };
}

// Rows covering ordinary values, NULLs, special values, unicode and quoting, extremes.
// Columns in the order of Columns(), after id.
const char* const kRows[] = {
    // 1: ordinary values
    "(1, true, 12345, 123456789, 1234567890123, 3.14, 2.718281828459045, 12.50, "
    "3.14159265358979323846, 'hello world', 'varchar', 'ab', '\\x0001feff', '2024-02-29', "
    "'13:45:30.123456', '13:45:30.123', '13:45:30.5+02', '2024-01-15 13:45:30.123456', "
    "'2024-01-15 13:45:30.123', '2024-01-15 13:45:30.12+01', "
    "'1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
    "'{\"a\": [1, 2.5, \"x\"], \"b\": null}', '{\"b\": 1, \"a\": \"y\"}', 'happy', '{1,2,3}', "
    "'{\"a\",\"b c\"}', '{1.5,-2.0}', '192.168.0.1/24', 42, 12.345, '{happy,sad}')",
    // 2: NULL everywhere
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL)",
    // 3: special values, minimums, empty strings and arrays
    "(3, false, -32768, -2147483648, -9223372036854775808, 'NaN', 'Infinity', -99999999.99, "
    "'NaN', '', '', '', '\\x', 'infinity', '24:00:00', '00:00:00', '23:59:59.999999-11', "
    "'infinity', '-infinity', 'infinity', '-1 years -2 mons +3 days -04:05:06', "
    "'00000000-0000-0000-0000-000000000000', '[]', 'null', 'sad', '{}', '{NULL,\"\",x}', "
    "'{NULL}', '::1', 1, 'NaN', '{}')",
    // 4: unicode, quotes, backslashes, control characters, maximums
    "(4, true, 32767, 2147483647, 9223372036854775807, '-Infinity', '-0', 0.01, 'Infinity', "
    "E'h\\u00e9llo w\\u00f6rld \\u2014 \\u65e5\\u672c\\u8a9e \\U0001F389 \"double\" "
    "''single'' back\\\\slash\\nnew line\\ttab \\u0001 end', "
    "E'\\u00fcmlaut \\u2713 \\U0001F680', E'\\u00df\\U0001F389', '\\xdeadbeef00', '-infinity', "
    "'00:00:00.000001', '23:59:59.999', '00:00:00+14', '-infinity', 'infinity', '-infinity', "
    "'-00:00:00.000001', 'ffffffff-ffff-ffff-ffff-ffffffffffff', "
    "E'{\"k\": \"\\\\u00e9 \\u00e9 \\U0001F389\", \"q\": \"a\\\\\"b\"}', "
    "E'{\"k\": \"\\\\u00e9 \\u00e9 \\U0001F389\", \"n\": 1.50}', 'très bien', "
    "'{-1,NULL,2147483647}', "
    "E'{\"with \\\\\"quote\\\\\"\",\"comma, inside\",\"back\\\\\\\\slash\",\"{braces}\","
    "\"\\U0001F389\",\"NULL\",NULL}', '{9999.9,-9999.9}', '2001:db8::/32', 2147483647, -99999.999, "
    "'{\"très bien\",NULL}')",
    // 5: extreme numerics, dates before Christ
    "(5, false, 0, 0, 0, 1.17549435e-38, 1e308, -0.50, "
    "'-1234567890123456789012345678901234567890.123456789', repeat('x', 1000), "
    "'12345678901234567890', 'abcde', '\\x00', '0044-03-15 BC', '12:00:00', '12:00:00.5', "
    "'12:00:00.000001+05:30', '0044-03-15 12:00:00 BC', '1900-01-01 00:00:00.001', "
    "'0044-03-15 12:00:00+00 BC', '-1000 years -11 mons', "
    "'01234567-89ab-cdef-0123-456789abcdef', '\"just a string\"', "
    "'[1, \"two\", {\"three\": 3}]', 'ok', '{0}', '{\"  leading and trailing  \"}', "
    "'{0.5,-0.5,0.0}', '10.0.0.1', 7, 0, '{ok}')",
    // 6: just before the epoch, 40-digit numeric
    "(6, true, -1, -1, -1, -1.5, -1e-300, 99999999.99, "
    "'1234567890123456789012345678901234567890', ' ', 'x', 'x', '\\xff', '1969-12-31', "
    "'00:00:00.999999', '00:00:00.001', '12:00:00-05:30', '1969-12-31 23:59:59.999999', "
    "'1969-12-31 23:59:59.999', '1969-07-20 20:17:40.000001-03', '00:00:00', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{}', '{}', 'sad', '{0,0}', '{\" \"}', '{}', "
    "'0.0.0.0/0', 1, 0.001, '{}')",
    // 7: the far past and future
    "(7, false, 1, 1, 1, 3.4028235e38, -1.7976931348623157e308, 0, '0.00000000000000000001', "
    "'z', 'z', 'z', '\\x7f80', '4713-01-01 BC', '23:59:59.999999', '23:59:59.999', "
    "'00:00:00-12', '200000-12-31 23:59:59.999999', '0001-01-01 00:00:00 BC', "
    "'10000-01-01 00:00:00+00', '1000 years 11 mons 30 days 23:59:59.999999', "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1', '1', 'happy', '{}', '{}', '{}', '::', 1, 1, "
    "'{sad,ok,happy}')",
    // 8: the numerics that exist only in unconstrained numeric, NaN in a constrained one
    "(8, NULL, NULL, NULL, NULL, NULL, NULL, 'NaN', '-Infinity', NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL)",
};

// --- Independent decoders of walflow's encodings ---

std::string Base64Decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) throw std::runtime_error("invalid base64: " + in);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The decimal digits of a big-endian two's-complement integer (Java's BigInteger bytes).
std::string TwosComplementToDecimal(std::string bytes) {
  if (bytes.empty()) return "<empty>";
  bool negative = static_cast<uint8_t>(bytes[0]) & 0x80;
  if (negative) {  // magnitude = ~x + 1
    for (auto& b : bytes) b = static_cast<char>(~static_cast<uint8_t>(b));
    for (size_t i = bytes.size(); i-- > 0;) {
      uint8_t v = static_cast<uint8_t>(bytes[i]) + 1;
      bytes[i] = static_cast<char>(v);
      if (v != 0) break;
    }
  }
  // Repeated division of the base-256 number by 10.
  std::vector<uint8_t> num(bytes.begin(), bytes.end());
  std::string digits;
  while (true) {
    bool zero = true;
    for (uint8_t b : num) zero &= b == 0;
    if (zero) break;
    int rem = 0;
    for (auto& b : num) {
      int cur = rem * 256 + b;
      b = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  if (digits.empty()) digits = "0";
  std::reverse(digits.begin(), digits.end());
  return (negative ? "-" : "") + digits;
}

// "-1234" with scale 2 -> "-12.34", as PostgreSQL prints a numeric.
std::string WithScale(const std::string& unscaled, int scale) {
  bool negative = !unscaled.empty() && unscaled[0] == '-';
  std::string digits = negative ? unscaled.substr(1) : unscaled;
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits = std::string(scale - digits.size() + 1, '0') + digits;
    }
    digits.insert(digits.size() - scale, ".");
  }
  return (negative ? "-" : "") + digits;
}

// "13:45:30.500000" -> "13:45:30.5Z"
std::string IsoTimeFromPg(std::string text) {
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text + "Z";
}

// "0044-03-15T12:00:00.000000 BC" -> "-0043-03-15T12:00:00Z" (Java's ISO_OFFSET_DATE_TIME:
// astronomical years, a sign beyond four digits).
std::string IsoTimestampFromPg(const std::string& text) {
  if (text == "infinity" || text == "-infinity") return text;
  auto space = text.rfind(' ');
  std::string era = text.substr(space + 1);
  std::string main = text.substr(0, space);
  auto dash = main.find('-');
  long year = std::stol(main.substr(0, dash));
  if (era == "BC") year = 1 - year;
  std::string rest = main.substr(dash);  // "-MM-DDTHH:MI:SS.ffffff"
  auto dot = rest.find('.');
  std::string frac = rest.substr(dot + 1);
  rest = rest.substr(0, dot);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  char buf[32];
  if (year > 9999) {
    std::snprintf(buf, sizeof buf, "+%ld", year);
  } else if (year < 0) {
    std::snprintf(buf, sizeof buf, "-%04ld", -year);
  } else {
    std::snprintf(buf, sizeof buf, "%04ld", year);
  }
  return buf + rest + (frac.empty() ? "" : "." + frac) + "Z";
}

bool IsSpecial(const std::string& t) { return t == "NaN" || t == "Infinity" || t == "-Infinity"; }

class TypesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("types");
    pg_.Exec("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'très bien')", db_);
    pg_.Exec("CREATE DOMAIN posint AS int CHECK (VALUE > 0)", db_);
    pg_.Exec("CREATE DOMAIN price AS numeric(8,3)", db_);
    std::string ddl = "CREATE TABLE types (id int PRIMARY KEY";
    for (const auto& c : Columns()) ddl += ", " + c.name + " " + c.type;
    pg_.Exec(ddl + ")", db_);
  }

  // Checks the row image `image` of row `id` against PostgreSQL's expected values.
  void CheckRow(const Json& image, int id, const std::string& decimal_handling) {
    ASSERT_TRUE(image.is_object()) << image.dump();
    EXPECT_EQ(image["id"], id);
    std::string select;
    for (const auto& c : Columns()) select += (select.empty() ? "" : ", ") + c.expected_sql;
    PgRows rows = pg_.Query(
        "SELECT " + select + " FROM types_expected WHERE id = " + std::to_string(id), db_);
    ASSERT_EQ(rows.size(), 1u);
    const auto columns = Columns();
    for (size_t i = 0; i < columns.size(); ++i) {
      SCOPED_TRACE("row " + std::to_string(id) + ", column " + columns[i].name + " (" +
                   columns[i].type + "), decimal_handling " + decimal_handling);
      ASSERT_TRUE(image.contains(columns[i].name)) << image.dump();
      CheckValue(columns[i], rows[0][i], image[columns[i].name], decimal_handling);
    }
    EXPECT_EQ(image.size(), columns.size() + 1) << "unexpected fields: " << image.dump();
  }

  void CheckDecimal(const std::string& expected, const Json& actual, int scale,
                    const std::string& mode) {
    if (mode == "string") {
      EXPECT_EQ(actual, Json(expected));
    } else if (mode == "double") {
      if (IsSpecial(expected)) {
        EXPECT_EQ(actual, Json(expected));
        return;
      }
      ASSERT_TRUE(actual.is_number()) << actual.dump();
      double want = std::strtod(expected.c_str(), nullptr);
      double got = actual.get<double>();
      EXPECT_NEAR(got, want, std::abs(want) * 1e-15) << "expected " << expected;
    } else {  // precise
      if (IsSpecial(expected)) {
        EXPECT_TRUE(actual.is_null()) << actual.dump();
        return;
      }
      if (scale >= 0) {
        ASSERT_TRUE(actual.is_string()) << actual.dump();
        EXPECT_EQ(
            WithScale(TwosComplementToDecimal(Base64Decode(actual.get<std::string>())), scale),
            expected)
            << actual.dump();
      } else {
        ASSERT_TRUE(actual.is_object() && actual.contains("scale") && actual.contains("value"))
            << actual.dump();
        EXPECT_EQ(
            WithScale(TwosComplementToDecimal(Base64Decode(actual["value"].get<std::string>())),
                      actual["scale"].get<int>()),
            expected)
            << actual.dump();
      }
    }
  }

  void CheckValue(const ColumnCase& c, const std::optional<std::string>& expected,
                  const Json& actual, const std::string& mode) {
    if (!expected) {
      EXPECT_TRUE(actual.is_null()) << actual.dump();
      return;
    }
    const std::string& e = *expected;
    switch (c.compare) {
      case Compare::kBool: EXPECT_EQ(actual, Json(e == "true")) << actual.dump(); break;
      case Compare::kInteger:
        EXPECT_TRUE(actual.is_number_integer()) << actual.dump();
        EXPECT_EQ(actual.dump(), e);
        break;
      case Compare::kFloat:
        if (IsSpecial(e)) {
          EXPECT_EQ(actual, Json(e));
        } else {
          ASSERT_TRUE(actual.is_number()) << actual.dump();
          EXPECT_EQ(actual.get<double>(), std::strtod(e.c_str(), nullptr))
              << actual.dump() << " vs " << e;
        }
        break;
      case Compare::kString:
        if (c.name == "c_timetz") {
          EXPECT_EQ(actual, Json(IsoTimeFromPg(e)));
        } else if (c.name == "c_tstz") {
          EXPECT_EQ(actual, Json(IsoTimestampFromPg(e)));
        } else {
          EXPECT_EQ(actual, Json(e));
        }
        break;
      case Compare::kJsonExact: EXPECT_EQ(actual, Json::parse(e)); break;
      case Compare::kDecimal: CheckDecimal(e, actual, c.scale, mode); break;
      case Compare::kDecimalArray: {
        Json want = Json::parse(e);
        ASSERT_TRUE(actual.is_array()) << actual.dump();
        ASSERT_EQ(actual.size(), want.size()) << actual.dump() << " vs " << e;
        for (size_t i = 0; i < want.size(); ++i) {
          if (want[i].is_null()) {
            EXPECT_TRUE(actual[i].is_null()) << actual.dump();
          } else {
            CheckDecimal(want[i].get<std::string>(), actual[i], c.scale, mode);
          }
        }
        break;
      }
    }
  }

  // A copy of the rows as inserted, for computing expected values after the DELETE.
  void SnapshotExpected() { pg_.Exec("CREATE TABLE types_expected AS SELECT * FROM types", db_); }

  void RunRoundTrip(const std::string& decimal_handling, bool with_deletes) {
    PipelineSpec spec;
    spec.decimal_handling = decimal_handling;
    // Expected values are computed from types_expected, filled before any delete.
    auto events = [&] {
      spec.db = db_;
      spec.tables = {"public.types"};
      pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
      EXPECT_TRUE(pipeline_->StartAndWaitStreaming());
      for (const char* row : kRows) pg_.Exec(std::string("INSERT INTO types VALUES ") + row, db_);
      SnapshotExpected();
      if (with_deletes) {
        pg_.Exec("ALTER TABLE types REPLICA IDENTITY FULL", db_);
        pg_.Exec("DELETE FROM types", db_);
      }
      EXPECT_TRUE(pipeline_->WaitForCatchUp());
      auto ev = pipeline_->Events();
      EXPECT_EQ(pipeline_->Stop(), 0) << Tail(pipeline_->Stderr());
      return ev;
    }();
    const size_t n = std::size(kRows);
    ASSERT_EQ(events.size(), with_deletes ? 2 * n : n) << Tail(pipeline_->Stderr());
    for (size_t i = 0; i < n; ++i) {
      const Json& ev = events[i];
      EXPECT_EQ(ev["op"], "c");
      EXPECT_TRUE(ev["before"].is_null());
      CheckRow(ev["after"], static_cast<int>(i + 1), decimal_handling);
    }
    if (with_deletes) {
      // REPLICA IDENTITY FULL: the before image of a delete carries every column, encoded
      // exactly as the after image of the insert.
      for (size_t i = 0; i < n; ++i) {
        const Json& ev = events[n + i];
        EXPECT_EQ(ev["op"], "d");
        EXPECT_TRUE(ev["after"].is_null());
        CheckRow(ev["before"], ev["before"]["id"].get<int>(), decimal_handling);
      }
    }
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  std::unique_ptr<WalflowPipeline> pipeline_;
};

TEST_F(TypesTest, RoundTripWithDecimalString) { RunRoundTrip("string", /*with_deletes=*/true); }

TEST_F(TypesTest, RoundTripWithDecimalDouble) { RunRoundTrip("double", /*with_deletes=*/false); }

TEST_F(TypesTest, RoundTripWithDecimalPrecise) { RunRoundTrip("precise", /*with_deletes=*/false); }

// Settings a database or role may carry change PostgreSQL's text output (DateStyle,
// IntervalStyle, TimeZone, extra_float_digits, bytea_output); walflow must read the values
// the same whatever they are.
TEST_F(TypesTest, DatabaseSessionDefaultsDoNotChangeTheEvents) {
  // This test's own connection to db_ is already open, with the server defaults.
  pg_.Exec("ALTER DATABASE " + db_ + " SET DateStyle = 'SQL, DMY'; ALTER DATABASE " + db_ +
           " SET IntervalStyle = 'iso_8601'; ALTER DATABASE " + db_ +
           " SET TimeZone = 'Asia/Kathmandu'; ALTER DATABASE " + db_ +
           " SET extra_float_digits = -3; ALTER DATABASE " + db_ + " SET bytea_output = 'escape'");
  ASSERT_EQ(pg_.Connect(db_).Scalar("SHOW DateStyle"), "SQL, DMY");
  RunRoundTrip("precise", /*with_deletes=*/true);
}

// With schemas: true every event is {"schema":..., "payload":...}; the schema lists each
// column with Debezium's type names.
TEST_F(TypesTest, SchemasListDebeziumTypes) {
  PipelineSpec spec;
  spec.decimal_handling = "precise";
  spec.schemas = true;
  spec.db = db_;
  spec.tables = {"public.types"};
  pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec(std::string("INSERT INTO types VALUES ") + kRows[0], db_);
  pg_.Exec(std::string("INSERT INTO types VALUES ") + kRows[1], db_);
  auto events = pipeline_->CatchUpAndStop();
  ASSERT_EQ(events.size(), 2u) << Tail(pipeline_->Stderr());

  const Json& ev = events[0];
  ASSERT_TRUE(ev.contains("schema") && ev.contains("payload")) << ev.dump().substr(0, 500);
  const Json& schema = ev["schema"];
  EXPECT_EQ(schema["type"], "struct");
  EXPECT_EQ(schema["name"], "dbserver1.public.types.Envelope");
  std::map<std::string, Json> envelope;
  for (const auto& f : schema["fields"]) envelope[f["field"].get<std::string>()] = f;
  for (const char* field : {"before", "after", "source", "op", "ts_ms", "transaction"}) {
    EXPECT_TRUE(envelope.count(field)) << "envelope schema lacks " << field;
  }
  EXPECT_EQ(envelope["source"]["name"], "io.debezium.connector.postgresql.Source");
  const Json& after = envelope["after"];
  EXPECT_EQ(after["name"], "dbserver1.public.types.Value");
  EXPECT_EQ(after["optional"], true);

  struct Expected {
    std::string type;
    std::string name;  // empty: no logical name
  };
  const std::map<std::string, Expected> expected = {
      {"id", {"int32", ""}},
      {"c_bool", {"boolean", ""}},
      {"c_int2", {"int16", ""}},
      {"c_int4", {"int32", ""}},
      {"c_int8", {"int64", ""}},
      {"c_float4", {"float", ""}},
      {"c_float8", {"double", ""}},
      {"c_num102", {"bytes", "org.apache.kafka.connect.data.Decimal"}},
      {"c_num", {"struct", "io.debezium.data.VariableScaleDecimal"}},
      {"c_text", {"string", ""}},
      {"c_varchar", {"string", ""}},
      {"c_char", {"string", ""}},
      {"c_bytea", {"bytes", ""}},
      {"c_date", {"int32", "io.debezium.time.Date"}},
      {"c_time", {"int64", "io.debezium.time.MicroTime"}},
      {"c_time3", {"int32", "io.debezium.time.Time"}},
      {"c_timetz", {"string", "io.debezium.time.ZonedTime"}},
      {"c_ts", {"int64", "io.debezium.time.MicroTimestamp"}},
      {"c_ts3", {"int64", "io.debezium.time.Timestamp"}},
      {"c_tstz", {"string", "io.debezium.time.ZonedTimestamp"}},
      {"c_interval", {"int64", "io.debezium.time.MicroDuration"}},
      {"c_uuid", {"string", "io.debezium.data.Uuid"}},
      {"c_json", {"string", "io.debezium.data.Json"}},
      {"c_jsonb", {"string", "io.debezium.data.Json"}},
      {"c_enum", {"string", "io.debezium.data.Enum"}},
      {"c_int4arr", {"array", ""}},
      {"c_textarr", {"array", ""}},
      {"c_numarr", {"array", ""}},
      {"c_inet", {"string", ""}},
      {"c_domain", {"int32", ""}},
      {"c_price", {"bytes", "org.apache.kafka.connect.data.Decimal"}},
      {"c_enumarr", {"array", ""}},
  };
  ASSERT_EQ(after["fields"].size(), expected.size()) << after.dump();
  std::vector<std::string> order;
  for (const auto& f : after["fields"]) {
    std::string field = f["field"].get<std::string>();
    order.push_back(field);
    SCOPED_TRACE("field " + field + ": " + f.dump());
    auto it = expected.find(field);
    ASSERT_NE(it, expected.end());
    EXPECT_EQ(f["type"], it->second.type);
    if (it->second.name.empty()) {
      EXPECT_FALSE(f.contains("name"));
    } else {
      EXPECT_EQ(f["name"], it->second.name);
    }
    EXPECT_EQ(f["optional"], field != "id");
  }
  std::vector<std::string> want_order = {"id"};
  for (const auto& c : Columns()) want_order.push_back(c.name);
  EXPECT_EQ(order, want_order) << "fields follow the table's column order";

  auto field = [&](const std::string& name) {
    for (const auto& f : after["fields"]) {
      if (f["field"] == name) return f;
    }
    return Json();
  };
  EXPECT_EQ(field("c_num102")["parameters"]["scale"], "2");
  EXPECT_EQ(field("c_num102")["parameters"]["connect.decimal.precision"], "10");
  EXPECT_EQ(field("c_enum")["parameters"]["allowed"], "sad,ok,happy,très bien");
  EXPECT_EQ(field("c_int4arr")["items"]["type"], "int32");
  EXPECT_EQ(field("c_textarr")["items"]["type"], "string");
  EXPECT_EQ(field("c_numarr")["items"]["type"], "bytes");
  EXPECT_EQ(field("c_numarr")["items"]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(field("c_numarr")["items"]["parameters"]["scale"], "1");
  EXPECT_EQ(field("c_price")["parameters"]["scale"], "3");
  EXPECT_EQ(field("c_enumarr")["items"]["name"], "io.debezium.data.Enum");
  std::vector<std::string> scale_value;
  const Json variable_scale = field("c_num");
  for (const auto& f : variable_scale["fields"]) scale_value.push_back(f["field"]);
  EXPECT_EQ(scale_value, (std::vector<std::string>{"scale", "value"}));
  Json before_schema = envelope["before"], after_schema = envelope["after"];
  before_schema.erase("field");
  after_schema.erase("field");
  EXPECT_EQ(before_schema, after_schema) << "before and after share the row schema";

  // The payload is the plain event: same values as without schemas.
  const Json& payload = ev["payload"];
  EXPECT_EQ(payload["op"], "c");
  EXPECT_EQ(payload["source"]["table"], "types");
  SnapshotExpected();
  CheckRow(payload["after"], 1, "precise");
  CheckRow(events[1]["payload"]["after"], 2, "precise");
}

// The extremes of PostgreSQL's ranges: timestamps up to 294276 AD lie beyond the int64
// microseconds since 1970, and intervals of millions of years beyond int64 microseconds.
// The integer encodings cannot hold them; they must at least not wrap to the opposite sign.
class ExtremeValuesTest : public TypesTest {
 protected:
  Json Capture() {
    pg_.Exec(
        "CREATE TABLE extremes (id int PRIMARY KEY, ts timestamp, tstz timestamptz, "
        "iv interval)",
        db_);
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.extremes"};
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
    EXPECT_TRUE(pipeline_->StartAndWaitStreaming());
    pg_.Exec(
        "INSERT INTO extremes VALUES "
        "(1, '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', "
        "'178000000 years'), "
        "(2, '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '-178000000 years')",
        db_);
    auto events = pipeline_->CatchUpAndStop();
    EXPECT_EQ(events.size(), 2u) << Tail(pipeline_->Stderr());
    Json out = Json::array();
    for (const auto& ev : events) out.push_back(ev["after"]);
    return out;
  }
};

TEST_F(ExtremeValuesTest, IntegerEncodingsDoNotWrap) {
  Json rows = Capture();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_GT(rows[0]["ts"].get<int64_t>(), 0) << rows[0].dump();
  EXPECT_GT(rows[0]["iv"].get<int64_t>(), 0) << rows[0].dump();
  EXPECT_EQ(rows[1]["ts"], -210863520000000000LL);
  EXPECT_LT(rows[1]["iv"].get<int64_t>(), 0) << rows[1].dump();
  EXPECT_EQ(rows[1]["tstz"], "-4712-01-01T00:00:00Z");
}

// A timestamptz is written as an ISO-8601 string, which can represent every PostgreSQL
// timestamp (Java's Instant goes to year 1000000000): no clamping to the int64 range.
TEST_F(ExtremeValuesTest, ZonedTimestampBeyondInt64KeepsItsDate) {
  Json rows = Capture();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["tstz"], "+294276-12-31T23:59:59.999999Z");
}

// Types without a mapping of their own are written as PostgreSQL's text output (docs:
// "the text fallback"), arrays of them as JSON arrays of those strings; a lower-bound
// decoration on a one-dimensional array is dropped; a multi-dimensional array is written
// as its text form.
TEST_F(TypesTest, TextFallbackAndArrayForms) {
  pg_.Exec(
      "CREATE TYPE pair AS (n int, s text);"
      "CREATE TABLE fallback (id int PRIMARY KEY, r int4range, m money, c pair, bits varbit, "
      "pts point[], lower_bound int[], matrix int[][], ranges int4range[])",
      db_);
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.fallback"};
  pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec(
      "INSERT INTO fallback VALUES (1, '[1,10)', 12.5, ROW(1, 'a b, \"c\"'), B'1010', "
      "ARRAY['(1,2)'::point, '(3.5,-4)'], '[0:2]={7,8,9}', '{{1,2},{3,4}}', "
      "ARRAY['[1,2)'::int4range, 'empty'])",
      db_);
  auto events = pipeline_->CatchUpAndStop();
  ASSERT_EQ(events.size(), 1u) << Tail(pipeline_->Stderr());
  const Json& after = events[0]["after"];
  PgRows want = pg_.Query(
      "SELECT format('%s', r), format('%s', m), format('%s', c), format('%s', bits), "
      "array_to_json(ARRAY(SELECT format('%s', x) FROM unnest(pts) x))::text, "
      "array_to_json(ARRAY(SELECT x FROM unnest(lower_bound) x))::text, format('%s', matrix), "
      "array_to_json(ARRAY(SELECT format('%s', x) FROM unnest(ranges) x))::text "
      "FROM fallback",
      db_);
  ASSERT_EQ(want.size(), 1u);
  EXPECT_EQ(after["r"], *want[0][0]);
  EXPECT_EQ(after["m"], *want[0][1]);
  EXPECT_EQ(after["c"], *want[0][2]);
  EXPECT_EQ(after["bits"], *want[0][3]);
  EXPECT_EQ(after["pts"], Json::parse(*want[0][4]));
  EXPECT_EQ(after["lower_bound"], Json::parse(*want[0][5]));
  EXPECT_EQ(after["matrix"], *want[0][6]);
  EXPECT_EQ(after["ranges"], Json::parse(*want[0][7]));
}

// box is the built-in type whose arrays separate elements with ';' (pg_type.typdelim),
// since a box's text contains commas: '{(1,1),(0,0);(3,3),(2,2)}' has two elements.
TEST_F(TypesTest, ArraysOfATypeWithAnotherDelimiter) {
  pg_.Exec("CREATE TABLE boxes (id int PRIMARY KEY, b box[])", db_);
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.boxes"};
  pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec("INSERT INTO boxes VALUES (1, '{(1,1),(0,0);(3,3),(2,2)}'), (2, '{(1,1),(0,0)}')", db_);
  auto events = pipeline_->CatchUpAndStop();
  ASSERT_EQ(events.size(), 2u) << Tail(pipeline_->Stderr());
  for (int id = 1; id <= 2; ++id) {
    Json want = Json::parse(
        pg_.Scalar("SELECT array_to_json(ARRAY(SELECT format('%s', x) FROM unnest(b) x)) FROM "
                   "boxes WHERE id = " +
                       std::to_string(id),
                   db_));
    EXPECT_EQ(events[id - 1]["after"]["b"], want);
  }
}

}  // namespace
}  // namespace walflow::test
