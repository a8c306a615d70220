// sql::PlanView: how a SELECT becomes an incremental plan — keys, grouping, names — and the
// errors a user gets for what cannot be a view, each with PostgreSQL's wording where it has
// one and a caret under the position.
#include "sql/planner.h"

#include <gtest/gtest.h>

#include "sql/parser.h"

namespace walflow::sql {
namespace {

PlanInput Customers() {
  PlanInput in;
  in.schema = {"customers",
               "",
               {{"id", SqlType::kInt4},
                {"name", SqlType::kText},
                {"country", SqlType::kText},
                {"balance", SqlType::kNumeric},
                {"age", SqlType::kInt4},
                {"active", SqlType::kBool},
                {"joined", SqlType::kDate}}};
  in.key = {0};
  in.unsupported = {{"token", "uuid"}};
  return in;
}

Result<ViewPlan> Plan(const std::string& sql, const std::vector<std::string>& key = {}) {
  auto stmt = Parse(sql);
  if (!stmt.ok()) return stmt.status();
  PlanInput in = Customers();
  if (stmt->from.alias.size()) in.schema.alias = stmt->from.alias;
  return PlanView(*stmt, sql, in, key);
}

std::string ErrorOf(const std::string& sql, const std::vector<std::string>& key = {}) {
  auto p = Plan(sql, key);
  return p.ok() ? "(planned)" : p.status().message();
}

TEST(Planner, AFilterViewIsKeyedByTheInputKeyItCarries) {
  auto p = Plan(
      "SELECT id AS customer, upper(name), balance * 2 AS doubled FROM customers "
      "WHERE country = 'PL'");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(p->grouped);
  ASSERT_EQ(p->columns.size(), 3u);
  EXPECT_EQ(p->columns[0].name, "customer");
  EXPECT_EQ(p->columns[1].name, "upper");
  EXPECT_EQ(p->columns[2].name, "doubled");
  EXPECT_EQ(p->columns[2].type, SqlType::kNumeric);
  EXPECT_EQ(p->key, (std::vector<int>{0}));
  ASSERT_TRUE(p->where.has_value());
  EXPECT_EQ(p->used_columns, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Planner, AViewWithoutTheInputKeyNeedsIt) {
  EXPECT_NE(ErrorOf("SELECT name FROM customers").find("must include id"), std::string::npos)
      << ErrorOf("SELECT name FROM customers");
  // key: may name more columns, never fewer than the input's key.
  EXPECT_TRUE(Plan("SELECT id, name FROM customers", {"id", "name"}).ok());
  EXPECT_NE(ErrorOf("SELECT id, name FROM customers", {"name"}).find("not unique"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT id FROM customers", {"nope"}).find("not a column"), std::string::npos);
}

TEST(Planner, GroupedViewsHaveAHiddenCountAndTheGroupKey) {
  auto p = Plan(
      "SELECT country, count(*) AS customers, sum(balance) AS balance, avg(age) AS mean_age, "
      "min(joined), max(joined), count(DISTINCT name) AS names, count(*) FILTER (WHERE active) "
      "FROM customers WHERE age > 18 GROUP BY country HAVING count(*) > 1");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->grouped);
  EXPECT_FALSE(p->global);
  EXPECT_EQ(p->key, (std::vector<int>{0}));
  // count(*) of the SELECT list and of HAVING is the hidden one.
  ASSERT_EQ(p->aggregates.size(), 7u);
  EXPECT_EQ(p->aggregates[0].spec.kind, AggregateKind::kCountStar);
  EXPECT_EQ(p->aggregates[3].spec.kind, AggregateKind::kMin);
  EXPECT_EQ(p->aggregates[5].spec.kind, AggregateKind::kCountDistinct);
  EXPECT_TRUE(p->aggregates[6].filter.has_value());
  EXPECT_EQ(p->columns[1].type, SqlType::kInt8);
  EXPECT_EQ(p->columns[2].type, SqlType::kNumeric);
  EXPECT_EQ(p->columns[3].type, SqlType::kNumeric);
  EXPECT_EQ(p->columns[4].name, "min");
  EXPECT_EQ(p->columns[4].type, SqlType::kDate);
  EXPECT_EQ(p->columns[7].name, "count");
  ASSERT_TRUE(p->having.has_value());
}

TEST(Planner, GroupByResolvesOrdinalsAliasesAndExpressions) {
  auto p = Plan("SELECT upper(country) AS c, count(*) FROM customers GROUP BY 1");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->groups.size(), 1u);
  p = Plan("SELECT upper(country) AS c, count(*) FROM customers GROUP BY c");
  ASSERT_TRUE(p.ok()) << p.status().message();
  p = Plan("SELECT upper(country), count(*) FROM customers GROUP BY upper(country)");
  ASSERT_TRUE(p.ok()) << p.status().message();
  // An expression over the group key is fine; a bare other column is PostgreSQL's error.
  p = Plan("SELECT country, lower(country) AS l, count(*) FROM customers GROUP BY country");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(ErrorOf("SELECT country, name, count(*) FROM customers GROUP BY country"),
            "column \"customers.name\" must appear in the GROUP BY clause or be used in an "
            "aggregate function\n  SELECT country, name, count(*) FROM customers GROUP BY "
            "country\n                  ^");
  EXPECT_NE(ErrorOf("SELECT count(*) FROM customers GROUP BY 3").find("not in select list"),
            std::string::npos);
}

TEST(Planner, TheGroupKeyMustBeAnOutputColumn) {
  EXPECT_NE(ErrorOf("SELECT count(*) FROM customers GROUP BY country")
                .find("must also be in the SELECT list"),
            std::string::npos);
}

TEST(Planner, AggregatesWithoutGroupByAreOneGlobalRow) {
  auto p = Plan("SELECT count(*), sum(balance), max(name) FROM customers");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->global);
  EXPECT_TRUE(p->key.empty());
  AggregateRow empty = p->EmptyAggregates();
  ASSERT_EQ(empty.size(), 3u) << "the SELECT list's count(*) is the hidden one";
  EXPECT_EQ(empty[0].int_value(), 0);
  EXPECT_TRUE(empty[1].is_null());
  EXPECT_EQ(empty[1].type(), SqlType::kNumeric);
}

TEST(Planner, DistinctGroupsByEveryColumn) {
  auto p = Plan("SELECT DISTINCT country, age / 10 AS decade FROM customers");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->grouped);
  EXPECT_EQ(p->groups.size(), 2u);
  EXPECT_EQ(p->key, (std::vector<int>{0, 1}));
  EXPECT_EQ(p->columns[1].name, "decade");
  EXPECT_NE(ErrorOf("SELECT DISTINCT country, count(*) FROM customers GROUP BY country")
                .find("not supported yet"),
            std::string::npos);
}

TEST(Planner, NamesAreUniqueAndUnsupportedTypesSaySo) {
  EXPECT_NE(ErrorOf("SELECT id, upper(name), upper(country) FROM customers").find("appears twice"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("SELECT id, token FROM customers"),
            "column \"token\" has type uuid, which views do not support yet\n"
            "  SELECT id, token FROM customers\n"
            "             ^");
  EXPECT_NE(ErrorOf("SELECT * FROM customers").find("name the columns instead of *"),
            std::string::npos);
}

TEST(Planner, StarExpandsToTheInputColumns) {
  PlanInput in = Customers();
  in.unsupported.clear();
  const std::string sql = "SELECT * FROM customers c WHERE c.active";
  auto stmt = Parse(sql);
  ASSERT_TRUE(stmt.ok());
  in.schema.alias = "c";
  auto p = PlanView(*stmt, sql, in);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->columns.size(), 7u);
  EXPECT_EQ(p->columns[6].name, "joined");
}

TEST(Planner, ClausesMustBeBooleanAndAggregatesBelongInSelectOrHaving) {
  EXPECT_NE(ErrorOf("SELECT id FROM customers WHERE age")
                .find("argument of WHERE must be type "
                      "boolean, not type integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT id FROM customers WHERE count(*) > 1")
                .find("aggregate functions are not allowed in WHERE"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT country, count(*) FROM customers GROUP BY country HAVING sum(age)")
                .find("argument of HAVING must be type boolean"),
            std::string::npos);
  EXPECT_NE(ErrorOf("SELECT country, sum(DISTINCT age) FROM customers GROUP BY country")
                .find("sum(DISTINCT …) is not supported yet"),
            std::string::npos);
}

TEST(Planner, DefaultColumnNamesFollowPostgreSQL) {
  auto name = [](const std::string& e) {
    auto s = Parse("SELECT " + e + " FROM t");
    EXPECT_TRUE(s.ok()) << e;
    return DefaultColumnName(std::get<Expr>(s->items[0].value));
  };
  EXPECT_EQ(name("a"), "a");
  EXPECT_EQ(name("t.a"), "a");
  EXPECT_EQ(name("count(*)"), "count");
  EXPECT_EQ(name("a::int"), "a");
  EXPECT_EQ(name("1::int"), "int4");
  EXPECT_EQ(name("a + 1"), "?column?");
  EXPECT_EQ(name("coalesce(a, 1)"), "coalesce");
  EXPECT_EQ(name("CASE WHEN a THEN 1 END"), "case");
  EXPECT_EQ(name("trim(a)"), "btrim");
}

}  // namespace
}  // namespace walflow::sql
