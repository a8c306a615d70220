// INSERT, UPDATE, DELETE and TRUNCATE become Debezium events c, u, d and t with the right
// before and after images and source block, in commit order.
#include <gtest/gtest.h>

#include <random>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

class DmlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("dml");
    pg_.Exec(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(10,2));"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, note text);"
        "CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b))",
        db_);
  }

  void StartPipeline(PipelineSpec spec = {}) {
    spec.db = db_;
    if (spec.tables.empty()) spec.tables = {"public.customers", "public.orders", "public.pairs"};
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
    ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
  }

  std::vector<Json> CatchUpAndStop() { return pipeline_->CatchUpAndStop(); }

  // Runs `sql` in its own transaction and returns txid_current() of that transaction.
  int64_t ExecInTransaction(PgConnection& conn, const std::string& sql) {
    conn.Exec("BEGIN");
    conn.Exec(sql);
    int64_t txid = std::stoll(conn.Scalar("SELECT txid_current()"));
    conn.Exec("COMMIT");
    return txid;
  }

  void ExpectOracleMatches(const std::vector<Json>& events) {
    Oracle oracle(OracleKeys{
        {"public.customers", {"id"}}, {"public.orders", {"id"}}, {"public.pairs", {"a", "b"}}});
    oracle.ApplyAll(events);
    EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies()[0];
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.customers", {"id"}));
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.orders", {"id"}));
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.pairs", {"a", "b"}));
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  std::unique_ptr<WalflowPipeline> pipeline_;
};

TEST_F(DmlTest, InsertUpdateDeleteTruncate) {
  ASSERT_NO_FATAL_FAILURE(StartPipeline());
  PgConnection conn = pg_.Connect(db_);
  const int64_t tx_insert =
      ExecInTransaction(conn, "INSERT INTO customers VALUES (1, 'alice', 10.00), (2, 'bob', NULL)");
  const int64_t tx_update =
      ExecInTransaction(conn, "UPDATE customers SET name = 'alice2', balance = 11.50 WHERE id = 1");
  const int64_t tx_delete = ExecInTransaction(conn, "DELETE FROM customers WHERE id = 2");
  const int64_t tx_order =
      ExecInTransaction(conn, "INSERT INTO orders VALUES (100, 1, 'first'), (101, 1, NULL)");
  const int64_t tx_truncate = ExecInTransaction(conn, "TRUNCATE orders");
  const int64_t tx_after =
      ExecInTransaction(conn, "INSERT INTO orders VALUES (102, 1, 'after truncate')");
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 8u) << Tail(pipeline_->Stderr());

  struct Want {
    std::string op, table;
    int64_t txid;
    Json before, after;
  };
  const std::vector<Want> want = {
      {"c", "customers", tx_insert, nullptr, {{"id", 1}, {"name", "alice"}, {"balance", "10.00"}}},
      {"c", "customers", tx_insert, nullptr, {{"id", 2}, {"name", "bob"}, {"balance", nullptr}}},
      // Default replica identity: no before image on UPDATE.
      {"u", "customers", tx_update, nullptr, {{"id", 1}, {"name", "alice2"}, {"balance", "11.50"}}},
      // ... and only the key columns of the old row on DELETE.
      {"d", "customers", tx_delete, {{"id", 2}, {"name", nullptr}, {"balance", nullptr}}, nullptr},
      {"c", "orders", tx_order, nullptr, {{"id", 100}, {"customer_id", 1}, {"note", "first"}}},
      {"c", "orders", tx_order, nullptr, {{"id", 101}, {"customer_id", 1}, {"note", nullptr}}},
      {"t", "orders", tx_truncate, nullptr, nullptr},
      {"c",
       "orders",
       tx_after,
       nullptr,
       {{"id", 102}, {"customer_id", 1}, {"note", "after truncate"}}},
  };
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  int64_t previous_lsn = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i) + ": " + events[i].dump());
    const Json& ev = events[i];
    EXPECT_EQ(ev["op"], want[i].op);
    EXPECT_EQ(ev["before"], want[i].before);
    EXPECT_EQ(ev["after"], want[i].after);
    const Json& src = ev["source"];
    EXPECT_EQ(src["connector"], "postgresql");
    EXPECT_EQ(src["name"], "dbserver1");
    EXPECT_EQ(src["db"], db_);
    EXPECT_EQ(src["schema"], "public");
    EXPECT_EQ(src["table"], want[i].table);
    EXPECT_EQ(src["snapshot"], "false");
    EXPECT_EQ(src["txId"], want[i].txid);
    ASSERT_TRUE(src["lsn"].is_number_integer());
    EXPECT_GT(src["lsn"].get<int64_t>(), previous_lsn) << "lsn grows along the stream";
    previous_lsn = src["lsn"].get<int64_t>();
    // sequence: ["<commit lsn>", "<change lsn>"] as a JSON string, as Debezium writes it.
    ASSERT_TRUE(src["sequence"].is_string());
    Json seq = Json::parse(src["sequence"].get<std::string>());
    ASSERT_EQ(seq.size(), 2u);
    EXPECT_EQ(seq[1].get<std::string>(), std::to_string(src["lsn"].get<int64_t>()));
    EXPECT_GE(std::stoll(seq[0].get<std::string>()), src["lsn"].get<int64_t>())
        << "a transaction commits after its changes";
    EXPECT_NEAR(src["ts_ms"].get<double>(), now_ms, 120000) << "commit time is recent";
    EXPECT_EQ(src["ts_us"].get<int64_t>() / 1000, src["ts_ms"].get<int64_t>());
    EXPECT_GE(ev["ts_ms"].get<int64_t>(), src["ts_ms"].get<int64_t>())
        << "processing time is after the commit";
    EXPECT_TRUE(ev["transaction"].is_null());
  }
  ExpectOracleMatches(events);
}

TEST_F(DmlTest, TruncateOfSeveralTablesAndTablesOutsideThePipeline) {
  pg_.Exec("CREATE TABLE not_captured (id int PRIMARY KEY)", db_);
  ASSERT_NO_FATAL_FAILURE(StartPipeline());
  pg_.Exec("INSERT INTO customers VALUES (1, 'a', 1); INSERT INTO orders VALUES (1, 1, 'x')", db_);
  pg_.Exec("INSERT INTO not_captured VALUES (1)", db_);
  pg_.Exec("TRUNCATE customers, orders, not_captured", db_);
  pg_.Exec("INSERT INTO customers VALUES (2, 'b', 2)", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 5u) << Tail(pipeline_->Stderr());
  EXPECT_EQ(events[2]["op"], "t");
  EXPECT_EQ(events[3]["op"], "t");
  std::set<std::string> truncated = {events[2]["source"]["table"], events[3]["source"]["table"]};
  EXPECT_EQ(truncated, (std::set<std::string>{"customers", "orders"}));
  EXPECT_EQ(events[2]["source"]["txId"], events[3]["source"]["txId"]);
  EXPECT_EQ(events[4]["after"]["id"], 2);
  ExpectOracleMatches(events);
}

// A primary-key change is a delete of the old key and a create of the new one, as
// Debezium emits it (otherwise a consumer keyed by the primary key keeps the old row).
TEST_F(DmlTest, PrimaryKeyChangeIsDeleteThenCreate) {
  ASSERT_NO_FATAL_FAILURE(StartPipeline());
  pg_.Exec("INSERT INTO customers VALUES (1, 'alice', 5)", db_);
  pg_.Exec("INSERT INTO pairs VALUES (1, 1, 'x'), (2, 2, 'y')", db_);
  PgConnection conn = pg_.Connect(db_);
  const int64_t tx = ExecInTransaction(conn, "UPDATE customers SET id = 10 WHERE id = 1");
  // Composite keys: a change to either key column.
  pg_.Exec("UPDATE pairs SET a = 5 WHERE a = 1", db_);
  pg_.Exec("UPDATE pairs SET b = 7 WHERE a = 2", db_);
  // An update that keeps the key stays an update.
  pg_.Exec("UPDATE pairs SET v = 'z' WHERE a = 5", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 10u) << Tail(pipeline_->Stderr());

  EXPECT_EQ(events[3]["op"], "d");
  EXPECT_EQ(events[3]["before"], (Json{{"id", 1}, {"name", nullptr}, {"balance", nullptr}}));
  EXPECT_TRUE(events[3]["after"].is_null());
  EXPECT_EQ(events[4]["op"], "c");
  EXPECT_TRUE(events[4]["before"].is_null());
  EXPECT_EQ(events[4]["after"], (Json{{"id", 10}, {"name", "alice"}, {"balance", "5.00"}}));
  EXPECT_EQ(events[3]["source"]["txId"], tx);
  EXPECT_EQ(events[4]["source"]["txId"], tx);

  EXPECT_EQ(events[5]["op"], "d");
  EXPECT_EQ(events[5]["before"], (Json{{"a", 1}, {"b", 1}, {"v", nullptr}}));
  EXPECT_EQ(events[6]["op"], "c");
  EXPECT_EQ(events[6]["after"], (Json{{"a", 5}, {"b", 1}, {"v", "x"}}));
  EXPECT_EQ(events[7]["op"], "d");
  EXPECT_EQ(events[7]["before"], (Json{{"a", 2}, {"b", 2}, {"v", nullptr}}));
  EXPECT_EQ(events[8]["op"], "c");
  EXPECT_EQ(events[8]["after"], (Json{{"a", 2}, {"b", 7}, {"v", "y"}}));
  EXPECT_EQ(events[9]["op"], "u");
  EXPECT_EQ(events[9]["after"], (Json{{"a", 5}, {"b", 1}, {"v", "z"}}));
  ExpectOracleMatches(events);
}

TEST_F(DmlTest, ReplicaIdentityFullGivesFullBeforeImages) {
  pg_.Exec("ALTER TABLE customers REPLICA IDENTITY FULL", db_);
  ASSERT_NO_FATAL_FAILURE(StartPipeline());
  pg_.Exec("INSERT INTO customers VALUES (1, 'alice', 10.00), (2, 'bob', NULL)", db_);
  pg_.Exec("UPDATE customers SET balance = 20.25 WHERE id = 1", db_);
  pg_.Exec("UPDATE customers SET name = 'bobby', balance = 1 WHERE id = 2", db_);
  pg_.Exec("DELETE FROM customers WHERE id = 1", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 5u) << Tail(pipeline_->Stderr());
  EXPECT_EQ(events[2]["op"], "u");
  EXPECT_EQ(events[2]["before"], (Json{{"id", 1}, {"name", "alice"}, {"balance", "10.00"}}));
  EXPECT_EQ(events[2]["after"], (Json{{"id", 1}, {"name", "alice"}, {"balance", "20.25"}}));
  EXPECT_EQ(events[3]["op"], "u");
  EXPECT_EQ(events[3]["before"], (Json{{"id", 2}, {"name", "bob"}, {"balance", nullptr}}));
  EXPECT_EQ(events[3]["after"], (Json{{"id", 2}, {"name", "bobby"}, {"balance", "1.00"}}));
  EXPECT_EQ(events[4]["op"], "d");
  EXPECT_EQ(events[4]["before"], (Json{{"id", 1}, {"name", "alice"}, {"balance", "20.25"}}));
  EXPECT_TRUE(events[4]["after"].is_null());
  ExpectOracleMatches(events);
}

// Two sessions interleave their statements; the order of their commits, not of their
// statements, decides the order of the events.
TEST_F(DmlTest, EventsFollowCommitOrderAcrossSessions) {
  ASSERT_NO_FATAL_FAILURE(StartPipeline());
  PgConnection s1 = pg_.Connect(db_);
  PgConnection s2 = pg_.Connect(db_);
  std::mt19937 rng(20240601);
  struct Tx {
    int64_t txid;
    std::vector<int64_t> ids;  // in statement order
  };
  std::vector<Tx> commit_order;
  int64_t next_id = 1;
  for (int round = 0; round < 6; ++round) {
    Tx t1, t2;
    s1.Exec("BEGIN");
    s2.Exec("BEGIN");
    t1.txid = std::stoll(s1.Scalar("SELECT txid_current()"));
    t2.txid = std::stoll(s2.Scalar("SELECT txid_current()"));
    for (int k = 0; k < 6; ++k) {
      bool first = rng() % 2 == 0;
      PgConnection& s = first ? s1 : s2;
      Tx& t = first ? t1 : t2;
      int64_t id = next_id++;
      s.Exec("INSERT INTO orders VALUES (" + std::to_string(id) + ", " + std::to_string(round) +
             ", 'round " + std::to_string(round) + "')");
      t.ids.push_back(id);
    }
    // An update from one session of a row the other inserted in an earlier round.
    if (round > 0) s2.Exec("UPDATE orders SET note = 'touched' WHERE id = 1");
    if (round > 0) t2.ids.push_back(-1);
    bool s1_first = rng() % 2 == 0;
    if (s1_first) {
      s1.Exec("COMMIT");
      s2.Exec("COMMIT");
    } else {
      s2.Exec("COMMIT");
      s1.Exec("COMMIT");
    }
    for (Tx* t : s1_first ? std::vector<Tx*>{&t1, &t2} : std::vector<Tx*>{&t2, &t1}) {
      if (!t->ids.empty()) commit_order.push_back(*t);
    }
  }
  auto events = CatchUpAndStop();
  std::vector<std::pair<int64_t, int64_t>> want, got;  // (txid, id or -1 for the update)
  for (const Tx& t : commit_order) {
    for (int64_t id : t.ids) want.emplace_back(t.txid, id);
  }
  for (const Json& ev : events) {
    got.emplace_back(ev["source"]["txId"].get<int64_t>(),
                     ev["op"] == "u" ? -1 : ev["after"]["id"].get<int64_t>());
  }
  EXPECT_EQ(got, want);
  // Commit LSNs (sequence[0]) never go down.
  int64_t last_commit = 0;
  for (const Json& ev : events) {
    int64_t commit =
        std::stoll(Json::parse(ev["source"]["sequence"].get<std::string>())[0].get<std::string>());
    EXPECT_GE(commit, last_commit);
    last_commit = commit;
  }
  ExpectOracleMatches(events);
}

TEST_F(DmlTest, TransactionMetadataNumbersEventsInTheirTransaction) {
  PipelineSpec spec;
  spec.transaction_metadata = true;
  ASSERT_NO_FATAL_FAILURE(StartPipeline(spec));
  PgConnection conn = pg_.Connect(db_);
  const int64_t tx = ExecInTransaction(
      conn,
      "INSERT INTO customers VALUES (1, 'a', 1); INSERT INTO orders VALUES (1, 1, 'x'); "
      "INSERT INTO customers VALUES (2, 'b', 2)");
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 3u);
  std::vector<int> total, per_table;
  for (const Json& ev : events) {
    ASSERT_TRUE(ev["transaction"].is_object()) << ev.dump();
    const std::string id = ev["transaction"]["id"].get<std::string>();
    EXPECT_EQ(id.substr(0, id.find(':')), std::to_string(tx));
    total.push_back(ev["transaction"]["total_order"]);
    per_table.push_back(ev["transaction"]["data_collection_order"]);
  }
  EXPECT_EQ(total, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(per_table, (std::vector<int>{1, 1, 2}));
}

// Names that need quoting in SQL and escaping in JSON: a mixed-case schema, a table name
// with a space, non-ASCII column names. A stored generated column is not published by
// PostgreSQL 15's pgoutput and must not confuse the column layout.
TEST_F(DmlTest, QuotedNamesUnicodeColumnsAndGeneratedColumns) {
  pg_.Exec(
      "CREATE SCHEMA \"Sales\";"
      "CREATE TABLE \"Sales\".\"Order Items\" (\"Id\" int PRIMARY KEY, \"naïve 列\" text, "
      "\"q\"\"uote\" int, total int GENERATED ALWAYS AS (\"q\"\"uote\" * 2) STORED)",
      db_);
  PipelineSpec spec;
  spec.tables = {"\"Sales.Order Items\""};
  ASSERT_NO_FATAL_FAILURE(StartPipeline(spec));
  pg_.Exec("INSERT INTO \"Sales\".\"Order Items\" VALUES (1, 'é', 2)", db_);
  pg_.Exec("UPDATE \"Sales\".\"Order Items\" SET \"q\"\"uote\" = 3", db_);
  pg_.Exec("DELETE FROM \"Sales\".\"Order Items\"", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 3u) << Tail(pipeline_->Stderr());
  EXPECT_EQ(events[0]["source"]["schema"], "Sales");
  EXPECT_EQ(events[0]["source"]["table"], "Order Items");
  EXPECT_EQ(events[0]["after"], (Json{{"Id", 1}, {"naïve 列", "é"}, {"q\"uote", 2}}));
  EXPECT_EQ(events[1]["op"], "u");
  EXPECT_EQ(events[1]["after"], (Json{{"Id", 1}, {"naïve 列", "é"}, {"q\"uote", 3}}));
  EXPECT_EQ(events[2]["op"], "d");
  EXPECT_EQ(events[2]["before"], (Json{{"Id", 1}, {"naïve 列", nullptr}, {"q\"uote", nullptr}}));
}

// A partitioned table is captured through its root (publish_via_partition_root): events
// name the root, and a row moving between partitions is a delete and a create.
TEST_F(DmlTest, PartitionedTableIsCapturedThroughItsRoot) {
  pg_.Exec(
      "CREATE TABLE measurements (id int, region text, value numeric(10,2), "
      "  PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
      "CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');"
      "CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us')",
      db_);
  PipelineSpec spec;
  spec.tables = {"public.measurements"};
  ASSERT_NO_FATAL_FAILURE(StartPipeline(spec));
  pg_.Exec("INSERT INTO measurements VALUES (1, 'eu', 1.5), (2, 'us', 2.5), (3, 'us', 3)", db_);
  pg_.Exec("INSERT INTO measurements_eu VALUES (4, 'eu', 4)", db_);  // into a partition
  pg_.Exec("UPDATE measurements SET value = 1.75 WHERE id = 1", db_);
  pg_.Exec("UPDATE measurements SET region = 'eu' WHERE id = 2", db_);  // moves partition
  pg_.Exec("DELETE FROM measurements WHERE id = 3", db_);
  pg_.Exec("TRUNCATE measurements", db_);
  pg_.Exec("INSERT INTO measurements VALUES (5, 'us', 5)", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 10u) << Tail(pipeline_->Stderr());
  for (const Json& ev : events) EXPECT_EQ(ev["source"]["table"], "measurements") << ev.dump();
  EXPECT_EQ(events[3]["after"], (Json{{"id", 4}, {"region", "eu"}, {"value", "4.00"}}));
  EXPECT_EQ(events[4]["op"], "u");
  EXPECT_EQ(events[5]["op"], "d");
  EXPECT_EQ(events[5]["before"]["id"], 2);
  EXPECT_EQ(events[5]["before"]["region"], "us");
  EXPECT_EQ(events[6]["op"], "c");
  EXPECT_EQ(events[6]["after"], (Json{{"id", 2}, {"region", "eu"}, {"value", "2.50"}}));
  EXPECT_EQ(events[7]["op"], "d");
  EXPECT_EQ(events[8]["op"], "t") << "one truncate, of the root";
  EXPECT_EQ(events[9]["op"], "c");
  Oracle oracle(OracleKeys{{"public.measurements", {"id", "region"}}});
  oracle.ApplyAll(events);
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies()[0];
  EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.measurements", {"id", "region"}));
}

// Without a primary key, REPLICA IDENTITY USING INDEX makes the index columns the key:
// they are the before image of a delete, and changing them is a delete and a create.
TEST_F(DmlTest, ReplicaIdentityIndexWithoutPrimaryKey) {
  pg_.Exec(
      "CREATE TABLE codes (code text NOT NULL, v int, note text);"
      "CREATE UNIQUE INDEX codes_code ON codes (code);"
      "ALTER TABLE codes REPLICA IDENTITY USING INDEX codes_code",
      db_);
  PipelineSpec spec;
  spec.tables = {"public.codes"};
  ASSERT_NO_FATAL_FAILURE(StartPipeline(spec));
  pg_.Exec("INSERT INTO codes VALUES ('a', 1, 'x'), ('z', 26, 'y')", db_);
  pg_.Exec("UPDATE codes SET v = 2 WHERE code = 'a'", db_);
  pg_.Exec("UPDATE codes SET code = 'b' WHERE code = 'a'", db_);
  pg_.Exec("DELETE FROM codes WHERE code = 'b'", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 6u) << Tail(pipeline_->Stderr());
  EXPECT_EQ(events[2]["op"], "u");
  EXPECT_EQ(events[2]["after"], (Json{{"code", "a"}, {"v", 2}, {"note", "x"}}));
  EXPECT_EQ(events[3]["op"], "d");
  EXPECT_EQ(events[3]["before"], (Json{{"code", "a"}, {"v", nullptr}, {"note", nullptr}}));
  EXPECT_EQ(events[4]["op"], "c");
  EXPECT_EQ(events[4]["after"], (Json{{"code", "b"}, {"v", 2}, {"note", "x"}}));
  EXPECT_EQ(events[5]["op"], "d");
  EXPECT_EQ(events[5]["before"], (Json{{"code", "b"}, {"v", nullptr}, {"note", nullptr}}));
  Oracle oracle(OracleKeys{{"public.codes", {"code"}}});
  oracle.ApplyAll(events);
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies()[0];
  EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.codes", {"code"}));
}

// A publication created beforehand FOR ALL TABLES: walflow uses it as it is, and emits
// events only for the tables of its config.
TEST_F(DmlTest, PreexistingPublicationForAllTables) {
  pg_.Exec("CREATE PUBLICATION everything FOR ALL TABLES", db_);
  PipelineSpec spec;
  spec.publication = "everything";
  spec.tables = {"public.orders"};
  ASSERT_NO_FATAL_FAILURE(StartPipeline(spec));
  pg_.Exec("INSERT INTO customers VALUES (1, 'a', 1)", db_);
  pg_.Exec("INSERT INTO orders VALUES (1, 1, 'x')", db_);
  pg_.Exec("UPDATE customers SET name = 'b'", db_);
  pg_.Exec("TRUNCATE customers", db_);
  pg_.Exec("INSERT INTO orders VALUES (2, 1, 'y')", db_);
  auto events = CatchUpAndStop();
  ASSERT_EQ(events.size(), 2u) << Tail(pipeline_->Stderr());
  EXPECT_EQ(events[0]["after"]["id"], 1);
  EXPECT_EQ(events[1]["after"]["id"], 2);
  EXPECT_EQ(pg_.Scalar("SELECT puballtables::text FROM pg_publication WHERE pubname = "
                       "'everything'",
                       db_),
            "true");
}

}  // namespace
}  // namespace walflow::test
