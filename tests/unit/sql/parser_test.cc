// sql::Parse: the trees of supported SQL, the positions, and the exact errors (with their
// carets) for syntax errors and every construct views refuse.
#include "sql/parser.h"

#include <gtest/gtest.h>

namespace walflow::sql {
namespace {

SelectStatement MustParse(const std::string& sql) {
  auto parsed = Parse(sql);
  EXPECT_TRUE(parsed.ok()) << sql << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : SelectStatement{};
}

const Expr& ItemExpr(const SelectStatement& s, size_t i) {
  return std::get<Expr>(s.items.at(i).value);
}

Expr ParseExpr(const std::string& text) {
  return ItemExpr(MustParse("SELECT " + text + " FROM t"), 0);
}

std::string ErrorOf(const std::string& sql) {
  auto parsed = Parse(sql);
  if (parsed.ok()) return "parsed: " + ToSql(*parsed);
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << sql;
  return parsed.status().message();
}

TEST(ParseTest, CustomersByCountryFromIssue13) {
  SelectStatement s = MustParse(
      R"(SELECT country, count(*) AS customers, sum(balance) AS balance, avg(age) AS mean_age,
       min(joined) AS first_joined, max(joined) AS last_joined, count(DISTINCT city) AS cities
FROM public.customers WHERE active GROUP BY country HAVING count(*) > 0
)");
  EXPECT_FALSE(s.distinct);
  ASSERT_EQ(s.items.size(), 7u);
  EXPECT_EQ(ItemExpr(s, 0), (Expr{ColumnRef{"", "country"}}));
  EXPECT_EQ(s.items[0].alias, "");
  const auto* count = ItemExpr(s, 1).As<FunctionCall>();
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->name, "count");
  EXPECT_TRUE(count->star);
  EXPECT_TRUE(count->args.empty());
  EXPECT_FALSE(count->distinct);
  EXPECT_EQ(s.items[1].alias, "customers");
  const char* const kAliases[] = {
      "", "customers", "balance", "mean_age", "first_joined", "last_joined", "cities"};
  const char* const kSql[] = {"country",     "count(*)",    "sum(balance)",        "avg(age)",
                              "min(joined)", "max(joined)", "count(DISTINCT city)"};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(s.items[i].alias, kAliases[i]);
    EXPECT_EQ(ToSql(ItemExpr(s, i)), kSql[i]);
  }
  const auto* cities = ItemExpr(s, 6).As<FunctionCall>();
  ASSERT_NE(cities, nullptr);
  EXPECT_TRUE(cities->distinct);
  EXPECT_EQ(cities->args.at(0), (Expr{ColumnRef{"", "city"}}));
  EXPECT_EQ(s.from, (TableRef{"public", "customers", ""}));
  ASSERT_TRUE(s.where.has_value());
  EXPECT_EQ(*s.where, (Expr{ColumnRef{"", "active"}}));
  ASSERT_EQ(s.group_by.size(), 1u);
  EXPECT_EQ(s.group_by[0], (Expr{ColumnRef{"", "country"}}));
  ASSERT_TRUE(s.having.has_value());
  const auto* having = s.having->As<BinaryExpr>();
  ASSERT_NE(having, nullptr);
  EXPECT_EQ(having->op, BinaryOperator::kGreater);
  EXPECT_EQ(having->left->As<FunctionCall>()->name, "count");
  EXPECT_EQ(*having->right, (Expr{Constant{ConstantKind::kInteger, "0", 0}}));
}

TEST(ParseTest, PolishCustomersFromIssue13) {
  SelectStatement s = MustParse(
      "SELECT id, upper(name) AS name, balance * 2 AS doubled FROM customers WHERE country = "
      "'PL'");
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(ItemExpr(s, 0), (Expr{ColumnRef{"", "id"}}));
  FunctionCall upper;
  upper.name = "upper";
  upper.args.push_back(Expr{ColumnRef{"", "name"}});
  EXPECT_EQ(ItemExpr(s, 1), Expr{upper});
  EXPECT_EQ(s.items[1].alias, "name");
  EXPECT_EQ(ItemExpr(s, 2),
            (Expr{BinaryExpr{BinaryOperator::kMultiply, Expr{ColumnRef{"", "balance"}},
                             Expr{Constant{ConstantKind::kInteger, "2", 2}}}}));
  EXPECT_EQ(s.items[2].alias, "doubled");
  EXPECT_EQ(s.from, (TableRef{"", "customers", ""}));
  EXPECT_EQ(*s.where, (Expr{BinaryExpr{BinaryOperator::kEqual, Expr{ColumnRef{"", "country"}},
                                       Expr{Constant{ConstantKind::kString, "PL", 0}}}}));
  EXPECT_TRUE(s.group_by.empty());
  EXPECT_FALSE(s.having.has_value());
}

TEST(ParseTest, DistinctStarAliasesAndNames) {
  SelectStatement s = MustParse("SELECT DISTINCT *, c.*, \"Odd\" FROM Sales.Orders AS c");
  EXPECT_TRUE(s.distinct);
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(std::get<Star>(s.items[0].value), Star{""});
  EXPECT_EQ(std::get<Star>(s.items[1].value), Star{"c"});
  EXPECT_EQ(ItemExpr(s, 2), (Expr{ColumnRef{"", "Odd"}}));
  EXPECT_EQ(s.from, (TableRef{"sales", "orders", "c"}));
  EXPECT_EQ(MustParse("SELECT a FROM t x").from, (TableRef{"", "t", "x"}));
}

TEST(ParseTest, Constants) {
  EXPECT_EQ(ParseExpr("42"), (Expr{Constant{ConstantKind::kInteger, "42", 42}}));
  EXPECT_EQ(ParseExpr("0"), (Expr{Constant{ConstantKind::kInteger, "0", 0}}));
  EXPECT_EQ(ParseExpr("-42"), (Expr{Constant{ConstantKind::kInteger, "-42", -42}}));
  EXPECT_EQ(ParseExpr("- ( 42 )"), (Expr{Constant{ConstantKind::kInteger, "-42", -42}}));
  EXPECT_EQ(ParseExpr("-2147483648"),
            (Expr{Constant{ConstantKind::kInteger, "-2147483648", -2147483648LL}}));
  EXPECT_EQ(ParseExpr("9223372036854775807"),
            (Expr{Constant{ConstantKind::kInteger, "9223372036854775807", INT64_MAX}}));
  EXPECT_EQ(ParseExpr("9223372036854775808"),
            (Expr{Constant{ConstantKind::kNumeric, "9223372036854775808", 0}}));
  EXPECT_EQ(ParseExpr("12.50"), (Expr{Constant{ConstantKind::kNumeric, "12.50", 0}}));
  EXPECT_EQ(ParseExpr("-0.5"), (Expr{Constant{ConstantKind::kNumeric, "-0.5", 0}}));
  EXPECT_EQ(ParseExpr("1e-3"), (Expr{Constant{ConstantKind::kNumeric, "1e-3", 0}}));
  EXPECT_EQ(ParseExpr("'it''s'"), (Expr{Constant{ConstantKind::kString, "it's", 0}}));
  EXPECT_EQ(ParseExpr("''"), (Expr{Constant{ConstantKind::kString, "", 0}}));
  EXPECT_EQ(ParseExpr("true"), (Expr{Constant{ConstantKind::kBool, "true", 0}}));
  EXPECT_EQ(ParseExpr("false"), (Expr{Constant{ConstantKind::kBool, "false", 0}}));
  EXPECT_EQ(ParseExpr("null"), (Expr{Constant{ConstantKind::kNull, "", 0}}));
}

TEST(ParseTest, TypedLiteralsAndCasts) {
  auto cast = [](const char* text) {
    Expr e = ParseExpr(text);
    return e.As<CastExpr>() != nullptr ? *e.As<CastExpr>() : CastExpr{Expr{Constant{}}, {}};
  };
  CastExpr date = cast("'2026-01-01'::date");
  EXPECT_EQ(*date.operand, (Expr{Constant{ConstantKind::kString, "2026-01-01", 0}}));
  EXPECT_EQ(date.type, (TypeName{"", "date", {}}));
  EXPECT_EQ(cast("DATE '2026-01-01'"), date);
  EXPECT_EQ(cast("CAST('2026-01-01' AS date)"), date);
  EXPECT_EQ(cast("interval '5 minutes'").type, (TypeName{"", "interval", {}}));
  EXPECT_EQ(cast("a::int").type, (TypeName{"", "int4", {}}));
  EXPECT_EQ(cast("a::integer").type, (TypeName{"", "int4", {}}));
  EXPECT_EQ(cast("a::bigint").type, (TypeName{"", "int8", {}}));
  EXPECT_EQ(cast("a::double precision").type, (TypeName{"", "float8", {}}));
  EXPECT_EQ(cast("a::timestamp with time zone").type, (TypeName{"", "timestamptz", {}}));
  EXPECT_EQ(cast("a::numeric(10, 2)").type, (TypeName{"", "numeric", {10, 2}}));
  EXPECT_EQ(cast("a::varchar(5)").type, (TypeName{"", "varchar", {5}}));
  EXPECT_EQ(cast("a::jsonb").type, (TypeName{"", "jsonb", {}}));
  EXPECT_EQ(cast("a::text::int8").type, (TypeName{"", "int8", {}}));
  EXPECT_EQ(cast("a::myschema.money2").type, (TypeName{"myschema", "money2", {}}));
}

TEST(ParseTest, Operators) {
  const std::pair<const char*, BinaryOperator> kOps[] = {{"+", BinaryOperator::kAdd},
                                                         {"-", BinaryOperator::kSubtract},
                                                         {"*", BinaryOperator::kMultiply},
                                                         {"/", BinaryOperator::kDivide},
                                                         {"%", BinaryOperator::kModulo},
                                                         {"||", BinaryOperator::kConcat},
                                                         {"=", BinaryOperator::kEqual},
                                                         {"<>", BinaryOperator::kNotEqual},
                                                         {"!=", BinaryOperator::kNotEqual},
                                                         {"<", BinaryOperator::kLess},
                                                         {"<=", BinaryOperator::kLessEqual},
                                                         {">", BinaryOperator::kGreater},
                                                         {">=", BinaryOperator::kGreaterEqual},
                                                         {"->", BinaryOperator::kJsonField},
                                                         {"->>", BinaryOperator::kJsonFieldText}};
  for (const auto& [text, op] : kOps) {
    Expr e = ParseExpr(std::string("a ") + text + " b");
    EXPECT_EQ(e, (Expr{BinaryExpr{op, Expr{ColumnRef{"", "a"}}, Expr{ColumnRef{"", "b"}}}}))
        << text;
  }
  EXPECT_EQ(ParseExpr("-a"), (Expr{UnaryExpr{UnaryOperator::kNegate, Expr{ColumnRef{"", "a"}}}}));
  EXPECT_EQ(ToSql(ParseExpr("a + b * c - d")), "((a + (b * c)) - d)");
}

TEST(ParseTest, LogicAndPredicates) {
  Expr a{ColumnRef{"", "a"}}, b{ColumnRef{"", "b"}}, c{ColumnRef{"", "c"}};
  Expr conjunction = ParseExpr("a AND b AND c");
  const auto* and3 = conjunction.As<LogicalExpr>();
  ASSERT_NE(and3, nullptr);
  EXPECT_EQ(and3->op, LogicalOperator::kAnd);
  EXPECT_EQ(and3->operands, (std::vector<Expr>{a, b, c}));
  EXPECT_EQ(
      ParseExpr("a OR NOT b"),
      (Expr{LogicalExpr{LogicalOperator::kOr, {a, Expr{UnaryExpr{UnaryOperator::kNot, b}}}}}));
  EXPECT_EQ(ParseExpr("a IS NULL"), (Expr{IsNullExpr{a, false}}));
  EXPECT_EQ(ParseExpr("a IS NOT NULL"), (Expr{IsNullExpr{a, true}}));
  EXPECT_EQ(ParseExpr("a IS DISTINCT FROM b"), (Expr{IsDistinctExpr{a, b, false}}));
  EXPECT_EQ(ParseExpr("a IS NOT DISTINCT FROM b"), (Expr{IsDistinctExpr{a, b, true}}));
  EXPECT_EQ(ParseExpr("a IN (b, c)"), (Expr{InListExpr{a, {b, c}, false}}));
  EXPECT_EQ(ParseExpr("a NOT IN (b)"), (Expr{InListExpr{a, {b}, true}}));
  EXPECT_EQ(ParseExpr("a BETWEEN b AND c"), (Expr{BetweenExpr{a, b, c, false}}));
  EXPECT_EQ(ParseExpr("a NOT BETWEEN b AND c"), (Expr{BetweenExpr{a, b, c, true}}));
  EXPECT_EQ(ParseExpr("a LIKE b"), (Expr{LikeExpr{a, b, false, false}}));
  EXPECT_EQ(ParseExpr("a NOT LIKE b"), (Expr{LikeExpr{a, b, false, true}}));
  EXPECT_EQ(ParseExpr("a ILIKE b"), (Expr{LikeExpr{a, b, true, false}}));
  EXPECT_EQ(ParseExpr("a NOT ILIKE b"), (Expr{LikeExpr{a, b, true, true}}));
}

TEST(ParseTest, CaseAndConditionals) {
  Expr a{ColumnRef{"", "a"}}, b{ColumnRef{"", "b"}}, c{ColumnRef{"", "c"}};
  Expr one{Constant{ConstantKind::kInteger, "1", 1}};
  CaseExpr searched;
  searched.whens.push_back(CaseWhen{a, one});
  searched.otherwise = b;
  EXPECT_EQ(ParseExpr("CASE WHEN a THEN 1 ELSE b END"), Expr{searched});
  CaseExpr simple;
  simple.operand = a;
  simple.whens.push_back(CaseWhen{one, b});
  simple.whens.push_back(CaseWhen{c, c});
  EXPECT_EQ(ParseExpr("CASE a WHEN 1 THEN b WHEN c THEN c END"), Expr{simple});
  EXPECT_EQ(ParseExpr("coalesce(a, b, c)"),
            (Expr{ConditionalExpr{ConditionalKind::kCoalesce, {a, b, c}}}));
  EXPECT_EQ(ParseExpr("NULLIF(a, b)"), (Expr{ConditionalExpr{ConditionalKind::kNullIf, {a, b}}}));
  EXPECT_EQ(ParseExpr("greatest(a, b)"),
            (Expr{ConditionalExpr{ConditionalKind::kGreatest, {a, b}}}));
  EXPECT_EQ(ParseExpr("least(a, b)"), (Expr{ConditionalExpr{ConditionalKind::kLeast, {a, b}}}));
}

TEST(ParseTest, FunctionsAndAggregates) {
  Expr sum = ParseExpr("sum(DISTINCT x) FILTER (WHERE x > 0)");
  const auto* f = sum.As<FunctionCall>();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "sum");
  EXPECT_TRUE(f->distinct);
  EXPECT_FALSE(f->star);
  ASSERT_TRUE(f->filter.has_value());
  EXPECT_EQ(ToSql(**f->filter), "(x > 0)");
  Expr count = ParseExpr("count(*) FILTER (WHERE x)");
  const auto* star = count.As<FunctionCall>();
  EXPECT_TRUE(star->star);
  EXPECT_EQ(**star->filter, (Expr{ColumnRef{"", "x"}}));
  Expr extract_call = ParseExpr("extract(year FROM d)");
  const auto* extract = extract_call.As<FunctionCall>();
  EXPECT_EQ(extract->schema, "pg_catalog");
  EXPECT_EQ(extract->name, "extract");
  EXPECT_EQ(extract->args, (std::vector<Expr>{Expr{Constant{ConstantKind::kString, "year", 0}},
                                              Expr{ColumnRef{"", "d"}}}));
  EXPECT_EQ(ParseExpr("EXTRACT(YEAR FROM d)"), ParseExpr("extract(year FROM d)"));
  EXPECT_EQ(ToSql(ParseExpr("date_trunc('day', ts)")), "date_trunc('day', ts)");
  EXPECT_EQ(ToSql(ParseExpr("trim(name)")), "pg_catalog.btrim(name)");
  EXPECT_EQ(ToSql(ParseExpr("j->'a'->>'b'")), "((j -> 'a') ->> 'b')");
  EXPECT_EQ(ToSql(ParseExpr("t.a")), "t.a");
  EXPECT_EQ(ParseExpr("t.a"), (Expr{ColumnRef{"t", "a"}}));
}

TEST(ParseTest, GroupByKeepsOrdinalsAndExpressions) {
  SelectStatement s = MustParse("SELECT a % 10, count(*) FROM t GROUP BY 1, b + 1");
  ASSERT_EQ(s.group_by.size(), 2u);
  EXPECT_EQ(s.group_by[0], (Expr{Constant{ConstantKind::kInteger, "1", 1}}));
  EXPECT_EQ(ToSql(s.group_by[1]), "(b + 1)");
}

TEST(ParseTest, PositionsAreByteOffsets) {
  std::string sql = "SELECT a + 1 AS x, count(*) FROM s.t WHERE b IS NULL AND c";
  SelectStatement s = MustParse(sql);
  EXPECT_EQ(s.items[0].location, 7);
  EXPECT_EQ(ItemExpr(s, 0).location, 9);  // the operator
  EXPECT_EQ(ItemExpr(s, 0).As<BinaryExpr>()->left->location, 7);
  EXPECT_EQ(ItemExpr(s, 0).As<BinaryExpr>()->right->location, 11);
  EXPECT_EQ(ItemExpr(s, 1).location, 19);
  EXPECT_EQ(s.from.location, 33);
  EXPECT_EQ(s.where->location, 53);                                 // AND
  EXPECT_EQ(s.where->As<LogicalExpr>()->operands[0].location, 45);  // IS
  EXPECT_EQ(s.where->As<LogicalExpr>()->operands[1].location, 57);
  EXPECT_EQ(ParseExpr("DATE '2026-01-01'").location, 7);
  EXPECT_EQ(ParseExpr("a::date").location, 8);
  EXPECT_EQ(ParseExpr("-5").location, 7);
  Expr cast = ParseExpr("a::date");
  EXPECT_EQ(cast.As<CastExpr>()->type.location, 10);
  // Bytes, not characters: 'ü' is two bytes.
  EXPECT_EQ(ItemExpr(MustParse("SELECT 'ü', a FROM t"), 1).location, 13);
}

TEST(ParseErrorTest, SyntaxErrorsShowTheCaret) {
  EXPECT_EQ(ErrorOf("SELEC a FROM t"),
            "syntax error at or near \"SELEC\"\n"
            "  SELEC a FROM t\n"
            "  ^");
  EXPECT_EQ(ErrorOf("SELECT a FROM t WHERE"),
            "syntax error at end of input\n"
            "  SELECT a FROM t WHERE\n"
            "                       ^");
  EXPECT_EQ(ErrorOf("SELECT a,\n  b c d\nFROM t"),
            "syntax error at or near \"d\"\n"
            "  line 2:   b c d\n"
            "                ^");
  EXPECT_EQ(ErrorOf("SELECT 'ünï' + FROM t"),
            "syntax error at or near \"FROM\"\n"
            "  SELECT 'ünï' + FROM t\n"
            "                 ^");
  EXPECT_EQ(ErrorOf(""), "empty SQL: a view is one SELECT statement");
  EXPECT_EQ(ErrorOf("  -- nothing\n"), "empty SQL: a view is one SELECT statement");
}

struct RefusedCase {
  const char* sql;
  const char* message;  // the first line
  int column;           // of the caret, in the SQL
};

TEST(ParseErrorTest, UnsupportedConstructsNameThemselvesWithTheCaret) {
  const RefusedCase kCases[] = {
      {"SELECT a FROM t JOIN u ON t.id = u.id", "unsupported: JOIN (a view reads one table)", 16},
      {"SELECT a FROM t LEFT OUTER JOIN u USING (id)", "unsupported: JOIN (a view reads one table)",
       27},
      {"SELECT a FROM t, u", "unsupported: more than one FROM item (a view reads one table)", 17},
      {"SELECT a FROM (SELECT 1 AS a) s", "unsupported: subquery in FROM", 15},
      {"SELECT a FROM generate_series(1, 3) a", "unsupported: function in FROM", 14},
      {"SELECT a FROM t WHERE a IN (SELECT b FROM u)", "unsupported: subquery", 24},
      {"SELECT a FROM t WHERE EXISTS (SELECT 1)", "unsupported: subquery", 22},
      {"SELECT (SELECT 1) FROM t", "unsupported: subquery", 7},
      {"SELECT sum(a) OVER (PARTITION BY b) FROM t", "unsupported: window function (OVER)", 7},
      {"SELECT a FROM t UNION SELECT b FROM u", "unsupported: UNION (a view reads one table)", 16},
      {"SELECT a FROM t INTERSECT SELECT b FROM u",
       "unsupported: INTERSECT (a view reads one table)", 16},
      {"SELECT a FROM t EXCEPT ALL SELECT b FROM u", "unsupported: EXCEPT (a view reads one table)",
       16},
      {"SELECT a FROM t ORDER BY a DESC",
       "unsupported: ORDER BY (a view is a set of rows without order)", 16},
      {"SELECT a FROM t LIMIT 10", "unsupported: LIMIT", 16},
      {"SELECT a FROM t OFFSET 5", "unsupported: OFFSET", 16},
      {"SELECT a FROM t FETCH FIRST 3 ROWS ONLY", "unsupported: LIMIT", 16},
      {"WITH c AS (SELECT 1) SELECT * FROM c", "unsupported: WITH (common table expressions)", 0},
      {"SELECT now() FROM t",
       "unsupported: now() (not deterministic: a view's rows must not depend on when a change "
       "is applied)",
       7},
      {"SELECT a FROM t WHERE b < random()",
       "unsupported: random() (not deterministic: a view's rows must not depend on when a "
       "change is applied)",
       26},
      {"SELECT clock_timestamp() FROM t",
       "unsupported: clock_timestamp() (not deterministic: a view's rows must not depend on "
       "when a change is applied)",
       7},
      {"SELECT a FROM t WHERE ts > current_timestamp - interval '1 hour'",
       "unsupported: CURRENT_TIMESTAMP (not deterministic: a view's rows must not depend on "
       "when a change is applied)",
       27},
      {"SELECT current_date FROM t",
       "unsupported: CURRENT_DATE (not deterministic: a view's rows must not depend on when a "
       "change is applied)",
       7},
      {"SELECT age(d) FROM t",
       "unsupported: age() (not deterministic: a view's rows must not depend on when a change is "
       "applied)",
       7},
      {"SELECT DISTINCT ON (a) a, b FROM t", "unsupported: DISTINCT ON", 7},
      {"SELECT a FROM t GROUP BY ROLLUP (a)",
       "unsupported: GROUPING SETS, ROLLUP, CUBE and GROUP BY ()", 25},
      {"SELECT 1", "unsupported: SELECT without FROM (a view reads one table)", 0},
      {"SELECT 1 FROM t; SELECT 2 FROM t",
       "unsupported: more than one statement (a view is one SELECT)", 16},
      {"INSERT INTO t VALUES (1)", "unsupported: InsertStmt (a view is one SELECT statement)", 0},
      {"SELECT a FROM t FOR UPDATE", "unsupported: FOR UPDATE/SHARE", 16},
      {"SELECT string_agg(a, ',' ORDER BY a) FROM t", "unsupported: ORDER BY in an aggregate", 25},
      {"SELECT a ^ 2 FROM t", "unsupported: operator ^", 9},
      {"SELECT a FROM t WHERE a = ANY (b)", "unsupported: ANY (...)", 24},
      {"SELECT a FROM t WHERE a SIMILAR TO 'x'", "unsupported: SIMILAR TO", 24},
      {"SELECT a FROM t WHERE a LIKE 'x' ESCAPE '!'", "unsupported: LIKE ... ESCAPE", 24},
      {"SELECT a FROM t WHERE a BETWEEN SYMMETRIC 1 AND 2", "unsupported: BETWEEN SYMMETRIC", 24},
      {"SELECT a IS TRUE FROM t", "unsupported: IS [NOT] TRUE/FALSE/UNKNOWN", 9},
      {"SELECT ARRAY[1] FROM t", "unsupported: ARRAY[...]", 7},
      {"SELECT a[1] FROM t", "unsupported: subscript or field selection", 7},
      {"SELECT $1 FROM t", "unsupported: parameter ($n)", 7},
      {"SELECT a COLLATE \"C\" FROM t", "unsupported: COLLATE", 9},
      {"SELECT a::int[] FROM t", "unsupported: array type", 10},
      {"SELECT interval '5' minute FROM t", "unsupported: interval fields or precision", 7},
      {"SELECT s.t.a FROM s.t", "unsupported: column reference with a schema (write table.column)",
       7},
      {"SELECT count(a.*) FROM t a", "unsupported: * here (only in the SELECT list and count(*))",
       13},
      {"SELECT a FROM db.s.t", "unsupported: table name with a database (write schema.table)", 14},
      {"SELECT a FROM t AS x (a, b)", "unsupported: column names in a table alias", 14},
  };
  for (const RefusedCase& c : kCases) {
    std::string expected = std::string(c.message) + "\n  " + c.sql + "\n  " +
                           std::string(static_cast<size_t>(c.column), ' ') + "^";
    EXPECT_EQ(ErrorOf(c.sql), expected) << c.sql;
  }
}

TEST(ParseErrorTest, MultiLineSqlShowsTheLineAndItsNumber) {
  EXPECT_EQ(ErrorOf("SELECT a,\n       b\nFROM t\n  JOIN u ON true\n"),
            "unsupported: JOIN (a view reads one table)\n"
            "  line 4:   JOIN u ON true\n"
            "            ^");
  EXPECT_EQ(ErrorOf("SELECT a\nFROM t\nWHERE b > now()"),
            "unsupported: now() (not deterministic: a view's rows must not depend on when a "
            "change is applied)\n"
            "  line 3: WHERE b > now()\n"
            "                    ^");
}

TEST(ParseErrorTest, KeywordsInsideLiteralsDoNotMoveTheCaret) {
  EXPECT_EQ(ErrorOf("SELECT 'JOIN' AS \"JOIN\" /* JOIN */ FROM t JOIN u ON true"),
            "unsupported: JOIN (a view reads one table)\n"
            "  SELECT 'JOIN' AS \"JOIN\" /* JOIN */ FROM t JOIN u ON true\n"
            "                                            ^");
}

TEST(ParseErrorTest, CaretCountsCharactersOfMultiByteText) {
  EXPECT_EQ(ErrorOf("SELECT 'ü' FROM t JOIN u ON true"),
            "unsupported: JOIN (a view reads one table)\n"
            "  SELECT 'ü' FROM t JOIN u ON true\n"
            "                    ^");
}

TEST(FormatSqlErrorTest, ClampsAndMarksTheEnd) {
  EXPECT_EQ(FormatSqlError("m", "SELECT", 99), "m\n  SELECT\n        ^");
  EXPECT_EQ(FormatSqlError("m", "SELECT", -1), "m\n  SELECT\n  ^");
  EXPECT_EQ(FormatSqlError("m", "a\n\tb", 3), "m\n  line 2: \tb\n          \t^");
}

}  // namespace
}  // namespace walflow::sql
