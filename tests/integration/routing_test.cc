// from: routing: each sink receives the changes of the tables it selects and nothing else,
// its position still moves with transactions it has nothing of (the slot is confirmed),
// and a kill -9 loses and repeats nothing in either sink.
#include <gtest/gtest.h>

#include <set>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("routing");
    pg_.Exec("CREATE TABLE a (id int PRIMARY KEY, v text)", db_);
    pg_.Exec("CREATE TABLE b (id int PRIMARY KEY, v text)", db_);
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.a", "public.b"};
    spec.from = {"a"};  // a bare name: public.a
    spec.second_sink_flush_interval = "300ms";
    spec.second_sink_from = {"public.b"};
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
  }

  // Inserts ids [from, to) into `table`, one transaction.
  void Insert(const std::string& table, int from, int to) {
    pg_.Exec("INSERT INTO " + table + " SELECT g, 'x' || g FROM generate_series(" +
                 std::to_string(from) + ", " + std::to_string(to - 1) + ") g",
             db_);
  }

  static std::set<int> Ids(const std::vector<Json>& events) {
    std::set<int> ids;
    for (const Json& e : events) ids.insert(e["after"]["id"].get<int>());
    return ids;
  }

  static std::set<int> Range(int from, int to) {
    std::set<int> s;
    for (int i = from; i < to; ++i) s.insert(i);
    return s;
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  std::unique_ptr<WalflowPipeline> pipeline_;
};

TEST_F(RoutingTest, EachSinkHoldsItsTablesOnceAcrossKill9) {
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  Insert("a", 0, 100);
  Insert("b", 0, 50);
  // A transaction touching both, then many that touch only a: files2 has nothing of them,
  // yet its position must follow, or the slot could not be confirmed.
  pg_.Exec("BEGIN; INSERT INTO a VALUES (100, 'both'); INSERT INTO b VALUES (50, 'both'); COMMIT",
           db_);
  for (int i = 0; i < 20; ++i) Insert("a", 101 + i * 10, 111 + i * 10);
  ASSERT_TRUE(pipeline_->WaitForCatchUp()) << Tail(pipeline_->LastStderr());
  pipeline_->Kill9();
  Insert("b", 51, 80);  // while walflow is down
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  Insert("a", 301, 320);
  auto files = pipeline_->CatchUpAndStop();
  auto files2 = pipeline_->EventsIn(pipeline_->second_out_dir());

  EXPECT_TRUE(NoDuplicateEvents(files));
  EXPECT_TRUE(NoDuplicateEvents(files2));
  EXPECT_EQ(EventsOf(files, "public.b").size(), 0u) << "files selects only public.a";
  EXPECT_EQ(EventsOf(files2, "public.a").size(), 0u) << "files2 selects only public.b";
  EXPECT_EQ(Ids(files), Range(0, 320));
  EXPECT_EQ(Ids(files2), Range(0, 80));
}

}  // namespace
}  // namespace walflow::test
