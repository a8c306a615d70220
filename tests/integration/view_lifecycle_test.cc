// A view's life in a running pipeline: added later (computed from the rows the table already
// holds, without the other sinks getting them again), its SQL changed (rebuilt: a truncate,
// then its rows), and kill -9 while a slow sink is behind the view (the view's recorded
// output reaches it exactly once).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

constexpr const char* kByCountry =
    "SELECT country, count(*) AS n, sum(balance) AS total, max(balance) AS top "
    "FROM customers GROUP BY country";

class ViewLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("views");
    pg_.Exec(
        "CREATE TABLE customers (id int PRIMARY KEY, country text, balance numeric(12,2));"
        "INSERT INTO customers SELECT g, (ARRAY['PL','DE','FR','ES'])[g % 4 + 1], g * 1.25 "
        "FROM generate_series(1, 2000) g",
        db_);
  }

  PipelineSpec Spec() {
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.customers"};
    spec.snapshot = "initial";
    return spec;
  }

  // The rows of `view` after replaying its events from `dir`, as PostgreSQL text per
  // column of `columns`; anomalies (double or lost deliveries) fail the test.
  std::vector<std::vector<std::optional<std::string>>> Replayed(
      WalflowPipeline& p, const std::string& dir, const std::string& view,
      const std::vector<std::string>& key, const std::vector<std::string>& columns,
      size_t* truncates = nullptr) {
    ViewReplay replay(key);
    for (const Json& e : p.EventsIn(dir)) {
      if (e["source"]["schema"] != "views" || e["source"]["table"] != view) continue;
      if (truncates && e["op"] == "t") ++*truncates;
      replay.Apply(e);
    }
    for (const auto& a : replay.anomalies()) ADD_FAILURE() << view << " in " << dir << ": " << a;
    std::vector<std::vector<std::optional<std::string>>> out;
    for (const Json& row : replay.rows()) {
      std::vector<std::optional<std::string>> r;
      for (const auto& c : columns) r.push_back(JsonAsText(row[c]));
      out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::vector<std::optional<std::string>>> Expected(const std::string& sql,
                                                                size_t ncols) {
    std::string select = "SELECT * FROM (" + sql + ") v";
    PgRows rows = pg_.Query(select, db_);
    std::vector<std::vector<std::optional<std::string>>> out;
    for (auto& r : rows) {
      r.resize(ncols);
      out.push_back(r);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

TEST_F(ViewLifecycleTest, AViewAddedLaterIsBackfilledAndAChangedOneRebuilt) {
  PipelineSpec spec = Spec();
  spec.from = {"public.customers"};
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming());
  pg_.Exec("UPDATE customers SET country = 'DE' WHERE id <= 10", db_);
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0);
  const size_t table_events = p.Events().size();
  ASSERT_EQ(table_events, 2010u);

  // Added while the table holds 2000 rows: the view reads them again, the sink does not.
  p.Reconfigure([](PipelineSpec& s) {
    s.views = {{"by_country", kByCountry, {}, "", ""}};
    s.from = {"public.customers", "by_country"};
  });
  ASSERT_TRUE(p.StartAndWaitStreaming());
  pg_.Exec("DELETE FROM customers WHERE id = 4; INSERT INTO customers VALUES (5000, 'IT', 1)", db_);
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return Replayed(p, p.out_dir(), "by_country", {"country"},
                        {"country", "n", "total", "top"}) == Expected(kByCountry, 4);
      },
      std::chrono::seconds(30)))
      << Tail(p.LastStderr());
  ASSERT_EQ(p.Stop(), 0);
  size_t customers = 0;
  for (const Json& e : p.Events()) customers += e["source"]["table"] == "customers";
  EXPECT_EQ(customers, table_events + 2) << "the backfill is the view's alone";
  EXPECT_TRUE(Contains(p.Stderr(), "reading 1 table(s) (public.customers)")) << Tail(p.Stderr());

  // Its SQL changes: rebuilt from the table; a consumer sees a truncate, then the rows.
  const std::string by_country_2 =
      "SELECT country, count(*) AS n, min(id) AS first_id FROM customers GROUP BY country";
  p.Reconfigure([&](PipelineSpec& s) { s.views = {{"by_country", by_country_2, {}, "", ""}}; });
  ASSERT_TRUE(p.StartAndWaitStreaming());
  pg_.Exec("UPDATE customers SET country = 'PL' WHERE id = 5000", db_);
  ASSERT_TRUE(p.WaitForCatchUp());
  size_t truncates = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        truncates = 0;
        return Replayed(p, p.out_dir(), "by_country", {"country"}, {"country", "n", "first_id"},
                        &truncates) == Expected(by_country_2, 3);
      },
      std::chrono::seconds(30)))
      << Tail(p.LastStderr());
  EXPECT_EQ(truncates, 1u);
  EXPECT_TRUE(Contains(p.LastStderr(), "rebuilding it")) << Tail(p.LastStderr());
  ASSERT_EQ(p.Stop(), 0);

  // peek shows the same rows from the state.
  ProcessResult peek = p.RunCommand("peek", {"by_country"});
  EXPECT_EQ(peek.exit_code, 0) << peek.err;
  EXPECT_TRUE(Contains(peek.out, " country | n   | first_id")) << peek.out;
  EXPECT_TRUE(Contains(peek.out, "(4 rows)")) << peek.out;
}

TEST_F(ViewLifecycleTest, Kill9WithASlowSinkBehindTheViewLosesAndRepeatsNothing) {
  PipelineSpec spec = Spec();
  spec.views = {
      {"by_country", kByCountry, {}, "", ""},
      {"rich", "SELECT id, country, balance FROM customers WHERE balance > 2000", {}, "", ""}};
  spec.from = {"by_country", "rich", "public.customers"};
  spec.second_sink_flush_interval = "2s";  // far behind the view's state at every kill
  spec.second_sink_from = {"by_country", "rich"};
  WalflowPipeline p(pg_, spec);
  TableWorkload work(pg_.Dsn(db_), "public.customers", 7);
  ASSERT_TRUE(p.StartAndWaitStreaming());
  // The workload runs while walflow is killed: the slow sink is behind the views then.
  std::atomic<bool> done{false};
  std::string work_error;
  std::thread writer([&] {
    try {
      while (!done.load()) {
        work.Run(20);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } catch (const std::exception& e) {
      work_error = e.what();
    }
  });
  // At least four kills, and more (up to eight) until one found the slow sink behind the
  // views' state (their recorded output then goes to it again).
  for (int round = 0; round < 8; ++round) {
    if (round >= 4 && Contains(p.Stderr(), "output record(s) kept")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + 150 * (round % 6)));
    p.Kill9();
    if (!p.StartAndWaitStreaming()) {
      ADD_FAILURE() << "round " << round;
      break;
    }
  }
  done.store(true);
  writer.join();
  ASSERT_EQ(work_error, "");
  work.Run(50);
  ASSERT_TRUE(p.WaitForCatchUp(std::chrono::seconds(60))) << Tail(p.LastStderr());
  ASSERT_EQ(p.Stop(), 0);
  // Whether a kill found the slow sink behind the views' state depends on timing; the view
  // operator's unit tests cover that path deterministically, so here it is only reported.
  if (!Contains(p.Stderr(), "output record(s) kept")) {
    std::printf("note: no kill found the slow sink behind the views' state this time\n");
  }
  const auto expected = Expected(kByCountry, 4);
  const auto rich = Expected("SELECT id, country, balance FROM customers WHERE balance > 2000", 3);
  for (const std::string& dir : {p.out_dir(), p.second_out_dir()}) {
    EXPECT_EQ(Replayed(p, dir, "by_country", {"country"}, {"country", "n", "total", "top"}),
              expected)
        << dir;
    EXPECT_EQ(Replayed(p, dir, "rich", {"id"}, {"id", "country", "balance"}), rich) << dir;
  }
}

}  // namespace
}  // namespace walflow::test
