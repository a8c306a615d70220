// ToSql and Describe, and the round trip Parse(ToSql(e)) == e over a corpus of expressions.
#include "sql/ast.h"

#include <gtest/gtest.h>

#include "sql/parser.h"

namespace walflow::sql {
namespace {

Expr ParseExpr(const std::string& text) {
  auto parsed = Parse("SELECT " + text + " FROM t");
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
  if (!parsed.ok()) return Expr{Constant{}, -1};
  return std::get<Expr>(parsed->items.at(0).value);
}

TEST(ToSqlTest, WritesEveryKindParenthesized) {
  const std::pair<const char*, const char*> kCases[] = {
      {"a + b * 2", "(a + (b * 2))"},
      {"(a + b) * 2", "((a + b) * 2)"},
      {"t.a || 'x''y'", "(t.a || 'x''y')"},
      {"a - -3", "(a - (-3))"},
      {"-a", "(- a)"},
      {"NOT a AND b OR c", "(((NOT a) AND b) OR c)"},
      {"a IS NOT NULL", "(a IS NOT NULL)"},
      {"a IS DISTINCT FROM b", "(a IS DISTINCT FROM b)"},
      {"a NOT IN (1, 2)", "(a NOT IN (1, 2))"},
      {"a BETWEEN 1 AND 2", "(a BETWEEN 1 AND 2)"},
      {"a NOT ILIKE 'x%'", "(a NOT ILIKE 'x%')"},
      {"CASE a WHEN 1 THEN 'one' ELSE 'many' END", "CASE a WHEN 1 THEN 'one' ELSE 'many' END"},
      {"CASE WHEN a > 0 THEN 1 END", "CASE WHEN (a > 0) THEN 1 END"},
      {"coalesce(a, 0)", "COALESCE(a, 0)"},
      {"nullif(a, 0)", "NULLIF(a, 0)"},
      {"greatest(a, b)", "GREATEST(a, b)"},
      {"a::int", "CAST(a AS int4)"},
      {"'2026-01-01'::date", "CAST('2026-01-01' AS date)"},
      {"DATE '2026-01-01'", "CAST('2026-01-01' AS date)"},
      {"interval '5 minutes'", "CAST('5 minutes' AS interval)"},
      {"CAST(a AS numeric(10, 2))", "CAST(a AS numeric(10, 2))"},
      {"'x'::char", "CAST('x' AS bpchar(1))"},
      {"'x'::\"char\"", "CAST('x' AS \"char\")"},
      {"count(*) FILTER (WHERE a > 1)", "count(*) FILTER (WHERE (a > 1))"},
      {"count(DISTINCT a)", "count(DISTINCT a)"},
      {"extract(year FROM d)", "pg_catalog.extract('year', d)"},
      {"left(name, 2)", "left(name, 2)"},
      {"j->'k'->>'v'", "((j -> 'k') ->> 'v')"},
      {"\"Weird Name\" + \"select\"", "(\"Weird Name\" + \"select\")"},
      {"TRUE AND NULL", "(TRUE AND NULL)"},
      {"1.50 + 9999999999999", "(1.50 + 9999999999999)"},
  };
  for (const auto& [input, expected] : kCases) {
    EXPECT_EQ(ToSql(ParseExpr(input)), expected) << input;
  }
}

TEST(ToSqlTest, WritesAStatement) {
  auto parsed = Parse(
      "select distinct country, count(*) as n, t.* from public.customers c where active "
      "group by country having count(*) > 0");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(ToSql(*parsed),
            "SELECT DISTINCT country, count(*) AS n, t.* FROM public.customers AS c WHERE active "
            "GROUP BY country HAVING (count(*) > 0)");
  EXPECT_EQ(Describe(*parsed),
            "SELECT DISTINCT of 3 columns from public.customers AS c, WHERE, GROUP BY 1, HAVING");
}

TEST(DescribeTest, NamesKindSqlAndPosition) {
  auto parsed = Parse("SELECT a + 1 FROM t");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(Describe(std::get<Expr>(parsed->items[0].value)), "BinaryExpr (a + 1) @9");
}

// The printed SQL is the oracle's query: it must mean what was parsed.
TEST(RoundTripTest, ParseOfToSqlIsTheSameTree) {
  const char* const kCorpus[] = {
      "a",
      "t.a",
      "\"MixedCase\"",
      "\"select\"",
      "\"a\"\"b\"",
      "1",
      "0",
      "-7",
      "-(7)",
      "- - 7",
      "2147483648",
      "-9223372036854775808",
      "99999999999999999999",
      "1.5",
      "-0.25",
      "1e10",
      "'it''s'",
      "''",
      "'back\\slash'",
      "TRUE",
      "FALSE",
      "NULL",
      "a + b - c * d / e % f",
      "a - (b - c)",
      "a || b || 'x'",
      "a = 1 AND b <> 2 AND c != 3 OR d < 4 AND e <= 5 OR f > 6 AND g >= 7",
      "a AND (b AND c)",
      "(a OR b) AND NOT (c OR d)",
      "NOT NOT a",
      "- a * b",
      "-'3'",
      "a IS NULL",
      "a IS NOT NULL",
      "a IS DISTINCT FROM b",
      "a IS NOT DISTINCT FROM b + 1",
      "a IN (1, 2, 3)",
      "a NOT IN ('x', NULL)",
      "a BETWEEN b AND c + 1",
      "a NOT BETWEEN -1 AND 1",
      "a LIKE 'x%'",
      "a NOT LIKE '_y'",
      "a ILIKE b",
      "a NOT ILIKE 'Z%'",
      "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END",
      "CASE a WHEN 1 THEN 'x' END",
      "CASE a + 1 WHEN b THEN c ELSE NULL END",
      "COALESCE(a, b, 0)",
      "NULLIF(a, '')",
      "GREATEST(a, 1, b)",
      "LEAST(a, b)",
      "CAST(a AS int8)",
      "a::bigint::text",
      "a::numeric(12,3)",
      "a::varchar(10)",
      "'x'::char(3)",
      "'x'::\"char\"",
      "a::timestamp with time zone",
      "a::double precision",
      "'2026-01-01'::date",
      "DATE '2026-01-01'",
      "TIMESTAMP '2026-01-01 10:00'",
      "interval '5 minutes'",
      "'1 day'::interval",
      "a::jsonb -> 'k' ->> 'v'",
      "j -> 0",
      "count(*)",
      "count(a)",
      "count(DISTINCT a)",
      "sum(a) FILTER (WHERE b > 0)",
      "count(*) FILTER (WHERE a IS NULL)",
      "avg(DISTINCT a) FILTER (WHERE NOT b)",
      "bool_and(a)",
      "upper(name)",
      "lower(name) || upper(name)",
      "length(name)",
      "substr(name, 1, 3)",
      "substring(name, 1, 3)",
      "substring(name FROM 2 FOR 3)",
      "trim(name)",
      "trim(both 'x' FROM name)",
      "replace(name, 'a', 'b')",
      "split_part(name, ',', 2)",
      "left(name, 2)",
      "right(name, 2)",
      "concat(a, b, 'c')",
      "abs(a)",
      "round(a, 2)",
      "floor(a)",
      "ceil(a)",
      "mod(a, 3)",
      "date_trunc('hour', ts)",
      "extract(year FROM d)",
      "EXTRACT(epoch FROM ts)",
      "date_part('dow', d)",
      "date_bin('15 minutes', ts, TIMESTAMP '2001-01-01')",
      "position('a' IN name)",
      "ts AT TIME ZONE 'UTC'",
      "pg_catalog.upper(name)",
      "myschema.f(a)",
      "f()",
      "\"My Func\"(a)",
      "CASE WHEN a IN (1, 2) AND b BETWEEN 1 AND 2 THEN COALESCE(c, d)::text ELSE 'n' END",
  };
  for (const char* text : kCorpus) {
    Expr parsed = ParseExpr(text);
    std::string sql = ToSql(parsed);
    Expr again = ParseExpr(sql);
    EXPECT_EQ(again, parsed) << text << " printed as " << sql << " reparsed as " << ToSql(again);
  }
}

TEST(RoundTripTest, EqualityIgnoresLocationsButNotContent) {
  EXPECT_EQ(ParseExpr("a+1"), ParseExpr("a   +   1"));
  EXPECT_NE(ParseExpr("a + 1"), ParseExpr("a + 2"));
  EXPECT_NE(ParseExpr("a + 1"), ParseExpr("a - 1"));
  EXPECT_NE(ParseExpr("count(a)"), ParseExpr("count(DISTINCT a)"));
  EXPECT_NE(ParseExpr("a::numeric(10,2)"), ParseExpr("a::numeric(10,3)"));
  EXPECT_NE(ParseExpr("CASE WHEN a THEN 1 END"), ParseExpr("CASE WHEN a THEN 1 ELSE 2 END"));
}

}  // namespace
}  // namespace walflow::sql
