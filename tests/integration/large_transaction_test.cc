// Transactions larger than logical_decoding_work_mem are streamed by the server in chunks
// before they commit (protocol version 2 streaming); walflow spools them and delivers them
// at commit, complete, in order and once. Rolled-back streamed work delivers nothing.
#include <gtest/gtest.h>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

class LargeTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The smallest value PostgreSQL allows: any transaction beyond ~64 kB of changes is
    // streamed. The walsender started after the reload reads it.
    pg_.Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
    pg_.Exec("SELECT pg_reload_conf()");
    db_ = pg_.CreateDatabase("large");
    pg_.Exec("CREATE TABLE big (id int PRIMARY KEY, v int NOT NULL, pad text)", db_);
    pg_.Exec("CREATE TABLE other (id int PRIMARY KEY, pad text)", db_);
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.big", "public.other"};
    spec.spool_memory_limit = "64KB";  // spooled transactions spill to disk
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
    ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
    ASSERT_TRUE(WaitUntil([&] { return pg_.Scalar("SHOW logical_decoding_work_mem") == "64kB"; },
                          std::chrono::seconds(10)));
  }

  void TearDown() override {
    if (pipeline_ && pipeline_->Running()) {
      EXPECT_EQ(pipeline_->Stop(), 0) << Tail(pipeline_->Stderr());
    }
  }

  // Transactions the server streamed through this pipeline's slot so far.
  int64_t StreamedTransactions() {
    return std::stoll(pg_.Scalar(
        "SELECT coalesce((SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = '" +
            pipeline_->slot() + "'), 0)",
        db_));
  }

  void ExpectMatchesTable(const std::vector<Json>& events) {
    Oracle oracle(OracleKeys{{"public.big", {"id"}}});
    oracle.ApplyAll(events);
    ASSERT_TRUE(oracle.anomalies().empty())
        << oracle.anomalies().size() << " anomalies, first: " << oracle.anomalies()[0];
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.big", {"id"}));
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  std::unique_ptr<WalflowPipeline> pipeline_;
};

TEST_F(LargeTransactionTest, StreamedTransactionArrivesCompleteInOrderOnce) {
  constexpr int kRows = 120000;
  constexpr int kUpdated = 80000;
  PgConnection conn = pg_.Connect(db_);
  conn.Exec("BEGIN");
  const int64_t txid = std::stoll(conn.Scalar("SELECT txid_current()"));
  conn.Exec("INSERT INTO big SELECT g, 0, 'row ' || g FROM generate_series(1, " +
            std::to_string(kRows) + ") g");
  conn.Exec("UPDATE big SET v = v + 1 WHERE id <= " + std::to_string(kUpdated));
  conn.Exec("COMMIT");
  // A small transaction after it, to see that the order holds.
  pg_.Exec("INSERT INTO big VALUES (0, 0, 'after')", db_);

  ASSERT_TRUE(pipeline_->WaitForCatchUp(std::chrono::seconds(120)));
  EXPECT_GE(StreamedTransactions(), 1) << "the server did not stream the transaction";
  auto events = pipeline_->Events();
  ASSERT_EQ(events.size(), static_cast<size_t>(kRows + kUpdated + 1)) << Tail(pipeline_->Stderr());

  int next_insert = 1;
  size_t updates = 0;
  std::vector<bool> updated(kRows + 1, false);
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const Json& ev = events[i];
    ASSERT_EQ(ev["source"]["txId"], txid) << "event " << i;
    if (i < static_cast<size_t>(kRows)) {
      ASSERT_EQ(ev["op"], "c") << "event " << i;
      ASSERT_EQ(ev["after"]["id"], next_insert++) << "inserts arrive in statement order";
    } else {
      ASSERT_EQ(ev["op"], "u") << "event " << i;
      int id = ev["after"]["id"];
      ASSERT_TRUE(id >= 1 && id <= kUpdated && !updated[id]) << "update of id " << id;
      updated[id] = true;
      ASSERT_EQ(ev["after"]["v"], 1);
      ++updates;
    }
  }
  EXPECT_EQ(updates, static_cast<size_t>(kUpdated));
  EXPECT_EQ(events.back()["after"]["id"], 0);
  EXPECT_NE(events.back()["source"]["txId"], txid);
  EXPECT_TRUE(NoDuplicateEvents(events));
  ExpectMatchesTable(events);
}

TEST_F(LargeTransactionTest, RolledBackStreamedTransactionProducesNothing) {
  const int64_t streamed_before = StreamedTransactions();
  PgConnection conn = pg_.Connect(db_);
  conn.Exec("BEGIN");
  conn.Exec("INSERT INTO big SELECT g, 0, repeat('x', 100) FROM generate_series(1, 50000) g");
  // Let the server stream a good part of it before the rollback.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return StreamedTransactions() > streamed_before ||
               std::stoll(pg_.Scalar("SELECT coalesce((SELECT stream_count FROM "
                                     "pg_stat_replication_slots WHERE slot_name = '" +
                                         pipeline_->slot() + "'), 0)",
                                     db_)) > 0;
      },
      std::chrono::seconds(30)))
      << "the server never streamed the open transaction";
  conn.Exec("ROLLBACK");
  pg_.Exec("INSERT INTO big VALUES (-1, 7, 'marker')", db_);
  ASSERT_TRUE(pipeline_->WaitForCatchUp());
  auto events = pipeline_->Events();
  ASSERT_EQ(events.size(), 1u) << "first event: " << (events.empty() ? "" : events[0].dump());
  EXPECT_EQ(events[0]["after"]["id"], -1);
  // Nothing left behind in the slot's spool folder.
  ASSERT_TRUE(std::filesystem::is_directory(pipeline_->data_dir() + "/spool/" + pipeline_->slot()));
  size_t spool_files = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(
           pipeline_->data_dir() + "/spool/" + pipeline_->slot(), ec)) {
    ++spool_files;
  }
  EXPECT_EQ(spool_files, 0u);
}

TEST_F(LargeTransactionTest, RolledBackSavepointsDeliverOnlyTheKeptRows) {
  PgConnection conn = pg_.Connect(db_);
  auto insert = [&](int from, int to) {
    conn.Exec("INSERT INTO big SELECT g, 0, 'p' FROM generate_series(" + std::to_string(from) +
              ", " + std::to_string(to) + ") g");
  };
  conn.Exec("BEGIN");
  insert(1, 20000);  // top-level
  conn.Exec("SAVEPOINT a");
  insert(20001, 40000);  // kept: a is released
  conn.Exec("SAVEPOINT b");
  insert(40001, 60000);  // rolled back, after it was streamed
  conn.Exec("ROLLBACK TO SAVEPOINT b");
  insert(60001, 70000);  // a new subtransaction under a, kept
  conn.Exec("RELEASE SAVEPOINT a");
  conn.Exec("SAVEPOINT c");
  insert(70001, 90000);
  conn.Exec("SAVEPOINT d");
  insert(90001, 95000);
  conn.Exec("RELEASE SAVEPOINT d");
  conn.Exec("ROLLBACK TO SAVEPOINT c");  // c and the released d inside it go
  conn.Exec("UPDATE big SET v = v + 1 WHERE id % 10 = 0");
  conn.Exec("SAVEPOINT e");
  insert(95001, 96000);  // a small kept tail in a subtransaction
  conn.Exec("COMMIT");

  ASSERT_TRUE(pipeline_->WaitForCatchUp(std::chrono::seconds(60)));
  EXPECT_GE(StreamedTransactions(), 1) << "the server did not stream the transaction";
  auto events = pipeline_->Events();
  std::vector<int> inserted;
  size_t updates = 0;
  for (const Json& ev : events) {
    if (ev["op"] == "c") {
      inserted.push_back(ev["after"]["id"]);
    } else if (ev["op"] == "u") {
      ++updates;
    } else {
      ADD_FAILURE() << "unexpected event " << ev.dump();
    }
  }
  std::vector<int> want;
  for (int i = 1; i <= 40000; ++i) want.push_back(i);
  for (int i = 60001; i <= 70000; ++i) want.push_back(i);
  std::vector<int> want_tail;
  for (int i = 95001; i <= 96000; ++i) want_tail.push_back(i);
  ASSERT_EQ(inserted.size(), want.size() + want_tail.size()) << Tail(pipeline_->Stderr());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), inserted.begin()))
      << "inserts of the kept rows, in statement order";
  EXPECT_TRUE(std::equal(want_tail.begin(), want_tail.end(), inserted.end() - want_tail.size()));
  EXPECT_EQ(updates, 5000u);
  ExpectMatchesTable(events);
}

// pgoutput describes a table (Relation message) once per streamed transaction, tagged with
// the subtransaction that first touched it. When that subtransaction is rolled back after it
// was streamed, the description still holds for the rest of the transaction; when the
// rolled-back subtransaction had changed the table, the server describes it again.
TEST_F(LargeTransactionTest, TableDescriptionsInsideRolledBackSubtransactions) {
  PgConnection conn = pg_.Connect(db_);
  auto fill = [&](const std::string& table, int from, int to) {
    conn.Exec("INSERT INTO " + table +
              " (id, pad) SELECT g, repeat('o', 100) FROM "
              "generate_series(" +
              std::to_string(from) + ", " + std::to_string(to) + ") g");
  };
  // 1: the first change to "other" is in a subtransaction rolled back after streaming.
  conn.Exec("BEGIN");
  conn.Exec("INSERT INTO big SELECT g, 0, 'b' FROM generate_series(1, 5000) g");
  conn.Exec("SAVEPOINT s");
  fill("other", 1, 3000);
  conn.Exec("ROLLBACK TO SAVEPOINT s");
  fill("other", 3001, 6000);
  conn.Exec("COMMIT");
  // 2: the rolled-back subtransaction added a column and used it.
  conn.Exec("BEGIN");
  fill("other", 6001, 9000);
  conn.Exec("SAVEPOINT s");
  conn.Exec("ALTER TABLE other ADD COLUMN extra text");
  conn.Exec("INSERT INTO other SELECT g, 'x', 'extra' FROM generate_series(9001, 12000) g");
  conn.Exec("ROLLBACK TO SAVEPOINT s");
  fill("other", 12001, 15000);
  conn.Exec("COMMIT");

  ASSERT_TRUE(pipeline_->WaitForCatchUp(std::chrono::seconds(60)));
  EXPECT_GE(StreamedTransactions(), 2) << "the server did not stream both transactions";
  EXPECT_TRUE(pipeline_->Running()) << Tail(pipeline_->Stderr());
  auto events = pipeline_->Events();
  std::vector<int> other_ids;
  size_t big = 0;
  for (const Json& ev : events) {
    if (ev["source"]["table"] == "big") {
      ++big;
      continue;
    }
    other_ids.push_back(ev["after"]["id"]);
    if (other_ids.size() == 1 || ev["after"]["id"] == 15000) {
      EXPECT_EQ(ev["after"].size(), 2u) << "no column 'extra': " << ev["after"].dump();
    }
  }
  EXPECT_EQ(big, 5000u);
  std::vector<int> want;
  for (int i = 3001; i <= 9000; ++i) want.push_back(i);
  for (int i = 12001; i <= 15000; ++i) want.push_back(i);
  EXPECT_EQ(other_ids.size(), want.size()) << Tail(pipeline_->Stderr());
  EXPECT_TRUE(other_ids == want) << "other: the kept rows, in order";
}

}  // namespace
}  // namespace walflow::test
