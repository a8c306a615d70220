// sql::Bind: result types as PostgreSQL resolves them, and errors with PostgreSQL's
// messages and a caret under the position.
#include "sql/binder.h"

#include <gtest/gtest.h>

#include "sql/parser.h"

namespace walflow::sql {
namespace {

InputSchema Schema() {
  return {"t",
          "",
          {{"id", SqlType::kInt4},
           {"i2", SqlType::kInt2},
           {"b", SqlType::kInt8},
           {"n", SqlType::kNumeric},
           {"f", SqlType::kFloat8},
           {"r", SqlType::kFloat4},
           {"s", SqlType::kText},
           {"d", SqlType::kDate},
           {"ok", SqlType::kBool},
           {"j", SqlType::kJsonb}}};
}

Result<BoundExpr> BindSelect(const std::string& expr, const std::string& from = "t",
                             BindOptions options = {"SELECT", true}) {
  std::string sql = "SELECT " + expr + " FROM " + from;
  Result<SelectStatement> stmt = Parse(sql);
  if (!stmt.ok()) return stmt.status();
  InputSchema schema = Schema();
  schema.alias = stmt->from.alias;
  return Bind(std::get<Expr>(stmt->items[0].value), schema, sql, options);
}

SqlType TypeOf(const std::string& expr) {
  Result<BoundExpr> b = BindSelect(expr);
  EXPECT_TRUE(b.ok()) << expr << ": " << b.status().ToString();
  return b.ok() ? b->type : SqlType::kJsonb;
}

std::string ErrorOf(const std::string& expr, const std::string& from = "t",
                    BindOptions options = {"SELECT", true}) {
  Result<BoundExpr> b = BindSelect(expr, from, options);
  return b.ok() ? "ok" : b.status().message();
}

TEST(BinderTest, ConstantsTakePostgresTypes) {
  EXPECT_EQ(TypeOf("1"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("3000000000"), SqlType::kInt8);
  EXPECT_EQ(TypeOf("1.5"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("'abc'"), SqlType::kText);
  EXPECT_EQ(TypeOf("true"), SqlType::kBool);
  EXPECT_EQ(TypeOf("d > '2026-01-01'"), SqlType::kBool);
}

TEST(BinderTest, OperatorsPromoteAsPostgres) {
  EXPECT_EQ(TypeOf("i2 + i2"), SqlType::kInt2);
  EXPECT_EQ(TypeOf("i2 + id"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("id * b"), SqlType::kInt8);
  EXPECT_EQ(TypeOf("id + n"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("n / f"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("r + r"), SqlType::kFloat4);
  EXPECT_EQ(TypeOf("r + id"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("s || id"), SqlType::kText);
  EXPECT_EQ(TypeOf("id || 'x'"), SqlType::kText);
  EXPECT_EQ(TypeOf("'1' + id"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("-n"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("CASE WHEN ok THEN id ELSE b END"), SqlType::kInt8);
  EXPECT_EQ(TypeOf("COALESCE(id, 1.5)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("GREATEST(i2, f)"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("NULLIF(s, 'a')"), SqlType::kText);
  EXPECT_EQ(TypeOf("length(s)"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("round(n, 2)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("round(f)"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("mod(id, b)"), SqlType::kInt8);
  EXPECT_EQ(TypeOf("abs(i2)"), SqlType::kInt2);
  EXPECT_EQ(TypeOf("n::numeric(10,2)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("CAST(s AS int)"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("id IN (1, 2.5)"), SqlType::kBool);
}

TEST(BinderTest, ColumnsResolveByAliasOrTable) {
  Result<BoundExpr> b = BindSelect("x.s", "t AS x");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->kind, BoundExpr::Kind::kColumn);
  EXPECT_EQ(b->column, 6);
  EXPECT_TRUE(BindSelect("t.s").ok());
  EXPECT_EQ(ErrorOf("t.s", "t AS x"),
            "missing FROM-clause entry for table \"t\"\n  SELECT t.s FROM t AS x\n         ^");
}

TEST(BinderTest, ErrorsNamePostgresMessagesWithCaret) {
  EXPECT_EQ(ErrorOf("1 + nope"),
            "column \"nope\" does not exist\n  SELECT 1 + nope FROM t\n"
            "             ^");
  EXPECT_EQ(ErrorOf("s + 1"),
            "operator does not exist: text + integer\n  SELECT s + 1 FROM t\n           ^");
  EXPECT_EQ(ErrorOf("id = s"),
            "operator does not exist: integer = text\n  SELECT id = s FROM t\n            ^");
  EXPECT_EQ(ErrorOf("date_bin(d)"),
            "function date_bin(date) does not exist\n  SELECT date_bin(d) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("lower(id)"),
            "function lower(integer) does not exist\n  SELECT lower(id) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("id + 'x'"),
            "invalid input syntax for type integer: \"x\"\n  SELECT id + 'x' FROM t\n"
            "              ^");
  EXPECT_EQ(ErrorOf("CASE WHEN ok THEN 1 ELSE 'a'::text END"),
            "CASE types integer and text cannot be matched\n"
            "  SELECT CASE WHEN ok THEN 1 ELSE 'a'::text END FROM t\n"
            "                                  ^");
  EXPECT_EQ(ErrorOf("NOT id"),
            "argument of NOT must be type boolean, not type integer\n  SELECT NOT id FROM t\n"
            "             ^");
  EXPECT_EQ(ErrorOf("j - 'a'"),
            "operator is not supported yet: jsonb - text\n  SELECT j - 'a' FROM t\n           ^");
  EXPECT_EQ(ErrorOf("d::int"),
            "cannot cast type date to integer\n  SELECT d::int FROM t\n          ^");
  EXPECT_EQ(ErrorOf("d + b"),
            "operator does not exist: date + bigint\n"
            "  SELECT d + b FROM t\n           ^");
}

// Operators over date/time and jsonb operands: PostgreSQL's candidates and its choice among
// them (func_select_candidate), unknown literals typed by the choice.
TEST(BinderTest, DateTimeAndJsonbOperatorsResolveAsPostgres) {
  EXPECT_EQ(TypeOf("d + 1"), SqlType::kDate);
  EXPECT_EQ(TypeOf("1 + d"), SqlType::kDate);
  EXPECT_EQ(TypeOf("d + i2"), SqlType::kDate);  // smallint goes to integer
  EXPECT_EQ(TypeOf("d - d"), SqlType::kInt4);
  EXPECT_EQ(TypeOf("d - '2026-01-01'"), SqlType::kInt4);  // date - date, exactly
  EXPECT_EQ(TypeOf("d + '1 day'::interval"), SqlType::kTimestamp);
  EXPECT_EQ(TypeOf("'1 day'::interval + d"), SqlType::kTimestamp);
  EXPECT_EQ(TypeOf("d::timestamp + '1 day'"), SqlType::kTimestamp);
  EXPECT_EQ(TypeOf("d::timestamptz - '1 mon'::interval"), SqlType::kTimestampTz);
  EXPECT_EQ(TypeOf("d::timestamp - '2026-01-01'"), SqlType::kInterval);
  EXPECT_EQ(TypeOf("d::timestamptz - d"), SqlType::kInterval);
  EXPECT_EQ(TypeOf("'1 day'::interval * n"), SqlType::kInterval);  // numeric goes to float8
  EXPECT_EQ(TypeOf("2 * '1 day'::interval"), SqlType::kInterval);
  EXPECT_EQ(TypeOf("'1 day'::interval / '2'"), SqlType::kInterval);
  EXPECT_EQ(TypeOf("'1 day'::interval - '1 hour'"), SqlType::kInterval);
  // date - timestamp is timestamp - timestamp, the date cast.
  Result<BoundExpr> diff = BindSelect("d - d::timestamp");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ(diff->type, SqlType::kInterval);
  EXPECT_EQ(diff->children[0].kind, BoundExpr::Kind::kCast);
  EXPECT_EQ(diff->children[0].type, SqlType::kTimestamp);
  EXPECT_EQ(ErrorOf("d + '3'"),
            "operator is not unique: date + unknown\n  SELECT d + '3' FROM t\n           ^");
  EXPECT_EQ(ErrorOf("NULL + d"),
            "operator is not unique: unknown + date\n  SELECT NULL + d FROM t\n              ^");
  EXPECT_EQ(ErrorOf("d + s"),
            "operator does not exist: date + text\n  SELECT d + s FROM t\n           ^");
  EXPECT_EQ(ErrorOf("d * 2"),
            "operator does not exist: date * integer\n  SELECT d * 2 FROM t\n           ^");
  EXPECT_EQ(ErrorOf("d - 'x'"),
            "invalid input syntax for type date: \"x\"\n  SELECT d - 'x' FROM t\n"
            "             ^");
  EXPECT_EQ(ErrorOf("'1' + '2'"),
            "operator is not unique: unknown + unknown\n  SELECT '1' + '2' FROM t\n"
            "             ^");
  EXPECT_EQ(ErrorOf("- '1 day'"),
            "operator is not unique: - unknown\n  SELECT - '1 day' FROM t\n         ^");

  EXPECT_EQ(TypeOf("j -> 'a'"), SqlType::kJsonb);
  EXPECT_EQ(TypeOf("j -> 0"), SqlType::kJsonb);
  EXPECT_EQ(TypeOf("j ->> 'a'"), SqlType::kText);
  EXPECT_EQ(TypeOf("j ->> i2"), SqlType::kText);
  EXPECT_EQ(TypeOf("j -> NULL"), SqlType::kJsonb);  // the text variant: string wins
  EXPECT_EQ(TypeOf("j = '{\"a\": 1}'"), SqlType::kBool);
  EXPECT_EQ(TypeOf("j IN ('[]', '{}')"), SqlType::kBool);
  Result<BoundExpr> literal = BindSelect("'{\"b\":1,\"a\":[1.50,1e2]}'::jsonb");
  ASSERT_TRUE(literal.ok()) << literal.status().ToString();
  EXPECT_EQ(literal->constant.ToString(), "{\"a\": [1.50, 100], \"b\": 1}");
  EXPECT_EQ(ErrorOf("j -> b"),
            "operator does not exist: jsonb -> bigint\n  SELECT j -> b FROM t\n           ^");
  EXPECT_EQ(ErrorOf("s -> 'a'"),
            "operator does not exist: text -> unknown\n  SELECT s -> 'a' FROM t\n           ^");
  EXPECT_EQ(ErrorOf("'{}' -> 0"),
            "operator is not unique: unknown -> integer\n  SELECT '{}' -> 0 FROM t\n"
            "              ^");
  EXPECT_EQ(ErrorOf("j = s"),
            "operator does not exist: jsonb = text\n  SELECT j = s FROM t\n           ^");
  EXPECT_EQ(ErrorOf("j < j"),
            "operator is not supported yet: jsonb < jsonb\n  SELECT j < j FROM t\n           ^");
  EXPECT_EQ(ErrorOf("'{\"a\":1,}'::jsonb"),
            "invalid input syntax for type json\n  SELECT '{\"a\":1,}'::jsonb FROM t\n"
            "         ^\nDETAIL:  Expected string, but found \"}\".");
}

TEST(BinderTest, DateTimeFunctionsResolveAsPostgres) {
  InputSchema schema = Schema();
  EXPECT_EQ(TypeOf("date_trunc('day', d)"), SqlType::kTimestampTz);
  EXPECT_EQ(TypeOf("date_trunc(s, '1 day'::interval)"), SqlType::kInterval);
  EXPECT_EQ(TypeOf("extract(year from d)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("date_part('year', d)"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("date_bin('01:00:00', d, d)"), SqlType::kTimestampTz);
  EXPECT_EQ(TypeOf("date_bin('01:00:00', d, '2000-01-01 00:00:00'::timestamp)"),
            SqlType::kTimestamp);
  EXPECT_EQ(TypeOf("date_bin('01:00:00', '2000-01-01 00:00:00', NULL)"), SqlType::kTimestampTz);
  // date_part(text, date) is date_part($1, $2::timestamp): the date is cast.
  Result<BoundExpr> part = BindSelect("date_part('dow', d)");
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(part->function, ScalarFunction::kDatePart);
  EXPECT_EQ(part->children[1].kind, BoundExpr::Kind::kCast);
  EXPECT_EQ(part->children[1].type, SqlType::kTimestamp);
  EXPECT_EQ(ErrorOf("extract(day from s)"),
            "function pg_catalog.extract(unknown, text) does not exist\n"
            "  SELECT extract(day from s) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("date_trunc('day', NULL)"),
            "function date_trunc(unknown, unknown) is not unique\n"
            "  SELECT date_trunc('day', NULL) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("date_trunc(id, d)"),
            "function date_trunc(integer, date) does not exist\n"
            "  SELECT date_trunc(id, d) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("date_bin(s, d, d)"),
            "function date_bin(text, date, date) does not exist\n"
            "  SELECT date_bin(s, d, d) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("date_bin('01:00:00', id, d)"),
            "function date_bin(unknown, integer, date) does not exist\n"
            "  SELECT date_bin('01:00:00', id, d) FROM t\n         ^");
}

TEST(BinderTest, AggregatesAreMarkedOrRefused) {
  Result<BoundExpr> b = BindSelect("count(DISTINCT s) FILTER (WHERE ok) + 1");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->ContainsAggregate());
  const BoundExpr& agg = b->children[0];
  EXPECT_EQ(agg.kind, BoundExpr::Kind::kAggregate);
  EXPECT_EQ(agg.aggregate, AggregateFunction::kCount);
  EXPECT_TRUE(agg.distinct);
  EXPECT_TRUE(agg.has_filter);
  EXPECT_EQ(b->type, SqlType::kInt8);
  EXPECT_EQ(TypeOf("sum(id)"), SqlType::kInt8);
  EXPECT_EQ(TypeOf("sum(b)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("avg(id)"), SqlType::kNumeric);
  EXPECT_EQ(TypeOf("avg(f)"), SqlType::kFloat8);
  EXPECT_EQ(TypeOf("min(d)"), SqlType::kDate);
  EXPECT_EQ(TypeOf("count(*)"), SqlType::kInt8);
  EXPECT_EQ(ErrorOf("sum(id)", "t", {"WHERE", false}),
            "aggregate functions are not allowed in WHERE\n  SELECT sum(id) FROM t\n"
            "         ^");
  EXPECT_EQ(ErrorOf("sum(max(id))"),
            "aggregate function calls cannot be nested\n"
            "  SELECT sum(max(id)) FROM t\n             ^");
  EXPECT_EQ(ErrorOf("sum(s)"),
            "function sum(text) does not exist\n  SELECT sum(s) FROM t\n         ^");
  EXPECT_EQ(ErrorOf("lower(DISTINCT s)"),
            "DISTINCT specified, but lower is not an aggregate function\n"
            "  SELECT lower(DISTINCT s) FROM t\n         ^");
}

}  // namespace
}  // namespace walflow::sql
