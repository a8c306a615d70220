// Crash safety: walflow is killed with SIGKILL at random moments while a writer commits
// random inserts, updates and deletes on two tables, and started again each time. Once
// it has caught up, the sink must hold every committed change exactly once.
#include <gtest/gtest.h>

#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Kill9Test, RandomKillsLoseAndDuplicateNothing) {
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("kill9");
  const std::vector<std::string> tables = {"customers", "orders"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.customers", "public.orders"};
  spec.max_file_size = "64KB";
  spec.flush_interval = "100ms";
  spec.status_interval = "100ms";
  WalflowPipeline pipeline(pg, spec);

  const uint32_t seed = static_cast<uint32_t>(
      std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  std::atomic<bool> stop{false};
  RandomWorkload workload(pg.Dsn(db), tables, seed);
  // A second writer with transactions of up to 300 statements, so that kills also land
  // while one is being received.
  RandomWorkload bulk(pg.Dsn(db), {"orders"}, seed + 1, 300);
  std::thread writer([&] { workload.RunFor(seconds(25), &stop); });
  std::thread bulk_writer([&] { bulk.RunFor(seconds(25), &stop); });

  const auto until = std::chrono::steady_clock::now() + seconds(25);
  int kills = 0;
  std::string unexpected_exit;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(1000 + rng() % 2000));
    if (!pipeline.Running()) {
      unexpected_exit = "walflow exited by itself (code " +
                        std::to_string(pipeline.process()->exit_code().value_or(-1)) + ")";
      break;
    }
    pipeline.Kill9();
    ++kills;
    if (rng() % 2) std::this_thread::sleep_for(milliseconds(rng() % 500));
    pipeline.Start();
  }
  stop = true;
  writer.join();
  bulk_writer.join();
  ASSERT_TRUE(unexpected_exit.empty()) << unexpected_exit << "\n" << Tail(pipeline.Stderr());
  EXPECT_GE(kills, 6);

  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  auto events = pipeline.Events();
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.LastStderr());
  ASSERT_GT(workload.committed_transactions(), 200u);
  ExpectExactlyOnce(pg, db, events, tables,
                    workload.committed_changes() + bulk.committed_changes(), pipeline.Stderr());
}

}  // namespace
}  // namespace walflow::test
