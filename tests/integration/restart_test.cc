// walflow stopped cleanly (SIGINT, SIGTERM) and started again: the sink holds every
// change exactly once, whether the changes were made while walflow ran, while it was
// down, or while it was stopping.
#include <gtest/gtest.h>

#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("restart");
    RandomWorkload::CreateTables(pg_, db_, tables_);
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.accounts", "public.transfers"};
    // Small files, so that restarts also cross file boundaries.
    spec.max_file_size = "16KB";
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  const std::vector<std::string> tables_ = {"accounts", "transfers"};
  std::unique_ptr<WalflowPipeline> pipeline_;
};

TEST_F(RestartTest, StopBetweenBatchesKeepsEveryChangeOnce) {
  RandomWorkload workload(pg_.Dsn(db_), tables_, 11);
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
    for (int i = 0; i < 40; ++i) workload.RunTransaction();
    if (round % 2 == 0) {
      // Stop once everything is confirmed...
      ASSERT_TRUE(pipeline_->WaitForCatchUp());
    }
    // ... or right away, with changes maybe still in flight.
    auto code = pipeline_->Stop();
    ASSERT_EQ(code, 0) << Tail(pipeline_->LastStderr());
    EXPECT_NE(pipeline_->LastStderr().find("stopped; sinks durable up to"), std::string::npos)
        << Tail(pipeline_->LastStderr());
    // Changes made while walflow is down.
    for (int i = 0; i < 20; ++i) workload.RunTransaction();
  }
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  auto events = pipeline_->CatchUpAndStop();
  ExpectExactlyOnce(pg_, db_, events, tables_, workload.committed_changes(), pipeline_->Stderr());
  // The small max_file_size rolled files.
  size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(pipeline_->out_dir())) {
    files += f.path().extension() == ".jsonl";
  }
  EXPECT_GT(files, 2u);
}

// SIGINT and SIGTERM while a writer keeps committing: each stop is clean (exit 0), and
// the next run continues where the sink's durable position says.
TEST_F(RestartTest, StopsWhileWritingKeepEveryChangeOnce) {
  // The slot exists from the first start on: nothing before it is captured.
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  std::atomic<bool> stop{false};
  RandomWorkload workload(pg_.Dsn(db_), tables_, 12);
  std::thread writer([&] { workload.RunFor(seconds(60), &stop); });
  std::mt19937 rng(12);
  std::string failure;
  for (int round = 0; round < 6 && failure.empty(); ++round) {
    std::this_thread::sleep_for(milliseconds(300 + rng() % 1200));
    if (!pipeline_->Running()) {
      failure = "round " + std::to_string(round) + ": walflow exited by itself";
      break;
    }
    auto code = pipeline_->Stop();
    if (code != 0) {
      failure = "round " + std::to_string(round) + ": SIGINT gave exit code " +
                (code ? std::to_string(*code) : "none (it did not stop)");
      break;
    }
    if (!pipeline_->StartAndWaitStreaming())
      failure = "round " + std::to_string(round) + ": no restart";
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure << "\n" << Tail(pipeline_->Stderr());
  ASSERT_TRUE(pipeline_->WaitForCatchUp());
  auto events = pipeline_->Events();
  // SIGTERM stops as cleanly as SIGINT.
  pipeline_->process()->Kill(SIGTERM);
  EXPECT_EQ(pipeline_->WaitExit(seconds(30)), 0) << Tail(pipeline_->LastStderr());
  ASSERT_GT(workload.committed_changes(), 100u);
  ExpectExactlyOnce(pg_, db_, events, tables_, workload.committed_changes(), pipeline_->Stderr());
}

// A stop requested while a large transaction is being received waits for its end.
TEST_F(RestartTest, StopDuringALargeTransaction) {
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  PgConnection conn = pg_.Connect(db_);
  conn.Exec("INSERT INTO accounts SELECT g, 0, repeat('p', 200) FROM generate_series(1, 60000) g");
  pipeline_->process()->Kill(SIGINT);
  auto code = pipeline_->WaitExit(seconds(60));
  ASSERT_TRUE(code.has_value()) << "walflow did not stop";
  EXPECT_EQ(*code, 0) << Tail(pipeline_->LastStderr());
  pg_.Exec("INSERT INTO accounts VALUES (-1, 0, 'after')", db_);
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  ASSERT_TRUE(pipeline_->WaitForCatchUp(seconds(60)));
  auto events = pipeline_->Events();
  EXPECT_EQ(pipeline_->Stop(), 0);
  ExpectExactlyOnce(pg_, db_, events, tables_, 60001, pipeline_->Stderr());
}

// The table list changes between runs: a table added to the config is added to the
// publication and captured from then on; a table removed from it is no longer emitted,
// although the publication still covers it.
TEST_F(RestartTest, ChangingTheTableListAcrossRestarts) {
  pg_.Exec("CREATE TABLE extra (id int PRIMARY KEY)", db_);
  pipeline_->Reconfigure([](PipelineSpec& s) { s.tables = {"public.accounts"}; });
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec("INSERT INTO accounts VALUES (1, 0, 'a'); INSERT INTO extra VALUES (1)", db_);
  ASSERT_TRUE(pipeline_->WaitForCatchUp());
  ASSERT_EQ(pipeline_->Stop(), 0);

  pipeline_->Reconfigure([](PipelineSpec& s) { s.tables = {"public.accounts", "public.extra"}; });
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec("INSERT INTO accounts VALUES (2, 0, 'b'); INSERT INTO extra VALUES (2)", db_);
  ASSERT_TRUE(pipeline_->WaitForCatchUp());
  ASSERT_EQ(pipeline_->Stop(), 0);

  pipeline_->Reconfigure([](PipelineSpec& s) { s.tables = {"public.extra"}; });
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  pg_.Exec("INSERT INTO accounts VALUES (3, 0, 'c'); INSERT INTO extra VALUES (3)", db_);
  auto events = pipeline_->CatchUpAndStop();

  std::vector<std::string> got;
  for (const Json& ev : events) {
    got.push_back(ev["source"]["table"].get<std::string>() + " " + ev["after"]["id"].dump());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"accounts 1", "accounts 2", "extra 2", "extra 3"}))
      << Tail(pipeline_->Stderr());
}

// A second SIGINT ends walflow at once (exit 130) without its clean stop; the next run
// recovers like after a crash.
TEST_F(RestartTest, SecondSignalStopsAtOnceAndTheNextRunRecovers) {
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  std::atomic<bool> stop{false};
  RandomWorkload workload(pg_.Dsn(db_), tables_, 13, 50);
  std::thread writer([&] { workload.RunFor(seconds(30), &stop); });
  std::this_thread::sleep_for(milliseconds(1500));
  pipeline_->process()->Kill(SIGINT);
  pipeline_->process()->Kill(SIGINT);
  auto code = pipeline_->WaitExit(seconds(30));
  std::this_thread::sleep_for(milliseconds(500));
  stop = true;
  writer.join();
  ASSERT_TRUE(code.has_value());
  EXPECT_TRUE(*code == 130 || *code == 0) << "exit code " << *code << "\n"
                                          << Tail(pipeline_->LastStderr());
  ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  auto events = pipeline_->CatchUpAndStop();
  ExpectExactlyOnce(pg_, db_, events, tables_, workload.committed_changes(), pipeline_->Stderr());
}

}  // namespace
}  // namespace walflow::test
