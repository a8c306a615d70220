// What walflow tells the server: the slot is confirmed only up to what the sink has made
// durable, never more, and it keeps advancing while the captured tables are idle.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class ConfirmationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("confirm");
    pg_.Exec(
        "CREATE TABLE captured (id bigint PRIMARY KEY, v text);"
        "CREATE TABLE elsewhere (id bigint PRIMARY KEY, v text)",
        db_);
  }

  // The durable LSN the sink recorded, as PostgreSQL's pg_lsn text ("0/0" when none).
  std::string SinkDurableLsn(const WalflowPipeline& p) {
    std::ifstream in(p.out_dir() + "/.walflow-position");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const std::string key = "\"durable_lsn\":\"";
    auto at = text.find(key);
    if (at == std::string::npos) return "0/0";
    at += key.size();
    return text.substr(at, text.find('"', at) - at);
  }

  std::string ConfirmedLsn(const WalflowPipeline& p) {
    auto rows = pg_.Query(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" + p.slot() + "'",
        db_);
    return rows.empty() || !rows[0][0] ? "0/0" : *rows[0][0];
  }

  bool LsnAtLeast(const std::string& a, const std::string& b) {
    return pg_.Scalar("SELECT '" + a + "'::pg_lsn >= '" + b + "'::pg_lsn", db_) == "t";
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

TEST_F(ConfirmationTest, TheSlotIsNeverConfirmedPastWhatTheSinkMadeDurable) {
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.captured"};
  spec.flush_interval = "300ms";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  // Where the slot was created: confirmed before the sink holds anything.
  const std::string created = ConfirmedLsn(pipeline);

  std::atomic<bool> done{false};
  std::thread writer([&] {
    PgConnection conn(pg_.Dsn(db_));
    for (int i = 0; i < 300 && !done; ++i) {
      conn.Exec("INSERT INTO captured SELECT g, md5(g::text) FROM generate_series(" +
                std::to_string(i * 100) + ", " + std::to_string(i * 100 + 99) + ") g");
    }
  });
  // The position file is written before the server is told, and only grows: a confirmed
  // LSN read first can never be ahead of the durable LSN read after it.
  int samples = 0, advancing = 0;
  std::string last;
  auto until = Clock::now() + seconds(8);
  while (Clock::now() < until) {
    std::string confirmed = ConfirmedLsn(pipeline);
    std::string durable = SinkDurableLsn(pipeline);
    bool ok = confirmed == created || LsnAtLeast(durable, confirmed);
    EXPECT_TRUE(ok) << "slot confirmed " << confirmed << " but the sink holds only " << durable;
    if (!ok) break;
    if (confirmed != last) ++advancing;
    last = confirmed;
    ++samples;
    std::this_thread::sleep_for(milliseconds(20));
  }
  done = true;
  writer.join();
  EXPECT_GT(samples, 50);
  EXPECT_GT(advancing, 3) << "the confirmed position should move while the sink writes";
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Stop(), 0);
  EXPECT_EQ(pipeline.Events().size(), std::stoul(pg_.Scalar("SELECT count(*) FROM captured", db_)));
}

TEST_F(ConfirmationTest, IdleCapturedTablesDoNotHoldWalBack) {
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.captured"};
  spec.heartbeat_interval = "500ms";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO captured VALUES (1, 'one')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());

  // Other tables write a lot of WAL; the captured one stays idle.
  pg_.Exec("INSERT INTO elsewhere SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g",
           db_);
  const std::string end = pg_.Scalar("SELECT pg_current_wal_lsn()", db_);
  auto until = Clock::now() + seconds(20);
  while (!LsnAtLeast(ConfirmedLsn(pipeline), end) && Clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(LsnAtLeast(ConfirmedLsn(pipeline), end))
      << "the slot stayed at " << ConfirmedLsn(pipeline) << ", behind " << end;
  // The WAL it no longer needs is released: the slot retains little.
  const std::string retained = pg_.Scalar(
      "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots "
      "WHERE slot_name = '" +
          pipeline.slot() + "'",
      db_);
  EXPECT_LT(std::stod(retained), 1024.0 * 1024.0) << retained << " bytes still behind";
  EXPECT_EQ(pipeline.Stop(), 0);
  EXPECT_EQ(pipeline.Events().size(), 1u) << "only the captured table's change";
}

}  // namespace
}  // namespace walflow::test
