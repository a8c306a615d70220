// Crash safety: walflow is killed with SIGKILL at random moments while a writer commits
// random inserts, updates and deletes on two tables, and started again each time. Once
// it has caught up, the sink must hold every committed change exactly once.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Kill9Test, RandomKillsLoseAndDuplicateNothing) {
  PgServer& pg = PgServer::Shared();
  // Transactions beyond 64 kB of changes are streamed before their commit, so that kills
  // also land while a streamed transaction is spooled.
  pg.Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  pg.Exec("SELECT pg_reload_conf()");
  const std::string db = pg.CreateDatabase("kill9");
  const std::vector<std::string> tables = {"customers", "orders"};
  RandomWorkload::CreateTables(pg, db, tables);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.customers", "public.orders"};
  spec.max_file_size = "64KB";
  spec.flush_interval = "100ms";
  spec.status_interval = "100ms";
  // A second sink that makes its writes durable less often: on restart the stream resumes
  // from the slower sink's position, and the faster one must skip what it holds.
  spec.second_sink_flush_interval = "700ms";
  WalflowPipeline pipeline(pg, spec);

  const uint32_t seed =
      static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  std::atomic<bool> stop{false};
  RandomWorkload workload(pg.Dsn(db), tables, seed);
  // A second writer with transactions of up to 1500 statements (most of them beyond 64 kB,
  // so streamed), so that kills also land while one is being received.
  RandomWorkload bulk(pg.Dsn(db), {"orders"}, seed + 1, 1500);
  std::thread writer([&] { workload.RunFor(seconds(25), &stop); });
  std::thread bulk_writer([&] {
    while (!stop.load()) {
      bulk.RunFor(milliseconds(1), &stop);  // one transaction
      std::this_thread::sleep_for(milliseconds(700));
    }
  });

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
  auto second_events = pipeline.EventsIn(pipeline.second_out_dir());
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.LastStderr());
  std::printf("kill9: seed %u, %d kills, %zu events, %llu + %llu committed transactions\n", seed,
              kills, events.size(),
              static_cast<unsigned long long>(workload.committed_transactions()),
              static_cast<unsigned long long>(bulk.committed_transactions()));
  ASSERT_GT(workload.committed_transactions(), 200u);
  EXPECT_GT(std::stoll(pg.Scalar("SELECT coalesce((SELECT stream_txns FROM "
                                 "pg_stat_replication_slots WHERE slot_name = '" +
                                     pipeline.slot() + "'), 0)",
                                 db)),
            0)
      << "no transaction was streamed";
  {
    SCOPED_TRACE("sink files");
    ExpectExactlyOnce(pg, db, events, tables,
                      workload.committed_changes() + bulk.committed_changes(), pipeline.Stderr());
  }
  {
    SCOPED_TRACE("sink files2");
    ExpectExactlyOnce(pg, db, second_events, tables,
                      workload.committed_changes() + bulk.committed_changes(), pipeline.Stderr());
  }
}

}  // namespace
}  // namespace walflow::test
