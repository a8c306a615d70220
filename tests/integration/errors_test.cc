// What walflow does when something is wrong: it stops with a message that says what
// (a slot in use, dropped or invalidated, a missing table, a malformed config), or it
// keeps retrying what may pass (an unreachable or restarting server), never printing a
// password.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("errors");
    pg_.Exec("CREATE TABLE customers (id int PRIMARY KEY, name text)", db_);
  }

  PipelineSpec Spec() {
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.customers"};
    return spec;
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

TEST_F(ErrorsTest, SlotInUseByAnotherProcess) {
  WalflowPipeline first(pg_, Spec());
  ASSERT_TRUE(first.StartAndWaitStreaming());
  PipelineSpec spec = Spec();
  spec.slot = first.slot();
  spec.publication = first.spec().publication;
  WalflowPipeline second(pg_, spec);  // same slot, its own sink and state folders
  second.set_drop_slot_at_end(false);
  second.Start();
  auto code = second.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "the second walflow kept running on a slot in use:\n"
                                << Tail(second.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(Contains(second.Stderr(), first.slot())) << second.Stderr();
  EXPECT_TRUE(Contains(second.Stderr(), "in use")) << second.Stderr();

  // The first one is unaffected.
  pg_.Exec("INSERT INTO customers VALUES (1, 'a')", db_);
  ASSERT_TRUE(first.WaitForCatchUp());
  EXPECT_EQ(first.Events().size(), 1u);
  EXPECT_TRUE(second.Events().empty());
  EXPECT_EQ(first.Stop(), 0);
}

// A client that holds the slot but no longer answers (here: a stopped pg_recvlogical) is
// waited for, not reported as a conflict: once the server lets go, walflow streams.
TEST_F(ErrorsTest, SlotHeldByASilentClientIsWaitedFor) {
  WalflowPipeline pipeline(pg_, Spec());
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());  // creates the slot and publication
  ASSERT_EQ(pipeline.Stop(), 0);

  TempDir tmp("walflow-silent");
  ChildProcess holder(
      {"/usr/lib/postgresql/15/bin/pg_recvlogical", "-d", pg_.Dsn(db_), "--slot", pipeline.slot(),
       "--start", "-o", "proto_version=1", "-o", "publication_names=" + pipeline.spec().publication,
       "-f", "/dev/null", "-s", "1"},
      tmp.File("out"), tmp.File("err"));
  const std::string active =
      "SELECT active FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'";
  auto until = std::chrono::steady_clock::now() + seconds(10);
  while (pg_.Scalar(active, db_) != "t" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(pg_.Scalar(active, db_), "t") << holder.Stderr();
  holder.Kill(SIGSTOP);  // holds the connection, answers nothing
  std::this_thread::sleep_for(seconds(17));

  pipeline.Start();
  ASSERT_TRUE(
      pipeline.process()->WaitForOutput("waiting for the server to release it", seconds(20)))
      << Tail(pipeline.LastStderr());
  EXPECT_TRUE(pipeline.Running()) << Tail(pipeline.LastStderr());
  holder.Kill(SIGKILL);  // the server sees the connection close and frees the slot
  holder.Wait();
  pg_.Exec("INSERT INTO customers VALUES (1, 'a')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60))) << Tail(pipeline.LastStderr());
  EXPECT_EQ(pipeline.Events().size(), 1u);
  EXPECT_EQ(pipeline.Stop(), 0);
}

TEST_F(ErrorsTest, SlotDroppedWhileTheSinkHoldsAPosition) {
  WalflowPipeline pipeline(pg_, Spec());
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO customers VALUES (1, 'a')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  ASSERT_EQ(pipeline.Stop(), 0);
  pg_.Exec("SELECT pg_drop_replication_slot('" + pipeline.slot() + "')", db_);
  pg_.Exec("INSERT INTO customers VALUES (2, 'b')", db_);  // would be lost silently

  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running without its slot:\n"
                                << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, pipeline.slot())) << err;
  EXPECT_TRUE(Contains(err, "does not exist")) << err;
  // It did not quietly create a new slot and carry on.
  EXPECT_EQ(pg_.Scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                           pipeline.slot() + "'",
                       db_),
            "0");
  EXPECT_EQ(pipeline.Events().size(), 1u);
}

// A slot dropped and created again under the same name, or advanced by hand, starts past
// what the sink holds: the changes in between would be missing, and walflow says so.
TEST_F(ErrorsTest, SlotRecreatedOrAdvancedBehindWalflowsBack) {
  WalflowPipeline pipeline(pg_, Spec());
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO customers VALUES (1, 'a')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  ASSERT_EQ(pipeline.Stop(), 0);
  const std::string slot = "'" + pipeline.slot() + "'";

  pg_.Exec("INSERT INTO customers VALUES (2, 'b')", db_);  // in neither slot's future
  // The server's WAL sender lets go of the slot a moment after walflow has exited.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return pg_.Scalar("SELECT active FROM pg_replication_slots WHERE slot_name = " + slot) ==
               "f";
      },
      seconds(10)));
  pg_.Exec("SELECT pg_drop_replication_slot(" + slot + ")", db_);
  pg_.Exec("SELECT pg_create_logical_replication_slot(" + slot + ", 'pgoutput')", db_);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow streamed from a recreated slot:\n"
                                << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(Contains(pipeline.LastStderr(), pipeline.slot())) << pipeline.LastStderr();
  EXPECT_TRUE(Contains(pipeline.LastStderr(), "recreated")) << pipeline.LastStderr();

  // The same for a slot advanced past the sink's position.
  WalflowPipeline other(pg_, Spec());
  ASSERT_TRUE(other.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO customers VALUES (3, 'c')", db_);
  ASSERT_TRUE(other.WaitForCatchUp());
  ASSERT_EQ(other.Stop(), 0);
  pg_.Exec("INSERT INTO customers VALUES (4, 'd')", db_);
  pg_.Exec("SELECT pg_replication_slot_advance('" + other.slot() + "', pg_current_wal_lsn())", db_);
  other.Start();
  code = other.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow streamed from an advanced slot:\n"
                                << Tail(other.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(Contains(other.LastStderr(), "confirmed up to")) << other.LastStderr();
  EXPECT_EQ(other.Events().size(), 1u);
}

TEST_F(ErrorsTest, MissingTableNamesTheTableAndTheConfigLocation) {
  PipelineSpec spec = Spec();
  spec.tables = {"public.customers", "public.no_such_table"};
  WalflowPipeline pipeline(pg_, spec);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, "public.no_such_table")) << err;
  EXPECT_TRUE(Contains(err, "does not exist")) << err;
  const std::string yaml = ReadText(pipeline.config_path());
  const std::string location =
      pipeline.config_path() + ":" + std::to_string(LineOf(yaml, "tables:")) + ":";
  EXPECT_TRUE(Contains(err, location)) << "expected " << location << " in:\n" << err;
  EXPECT_TRUE(Contains(err, "source.postgres.tables[1]")) << err;
}

TEST_F(ErrorsTest, UnreachableServerIsRetriedWithoutShowingThePassword) {
  PipelineSpec spec = Spec();
  spec.dsn = "host=127.0.0.1 port=" + std::to_string(UnusedPort()) + " dbname=" + db_ +
             " user=postgres password=hunter2 connect_timeout=2";
  WalflowPipeline pipeline(pg_, spec);
  pipeline.Start();
  ASSERT_TRUE(pipeline.process()->WaitForOutput("retrying", seconds(15)))
      << Tail(pipeline.Stderr());
  // It keeps at it: a second attempt, still running.
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string err = pipeline.LastStderr();
        size_t first = err.find("retrying");
        return first != std::string::npos && err.find("retrying", first + 1) != std::string::npos;
      },
      seconds(15)))
      << Tail(pipeline.Stderr());
  EXPECT_TRUE(pipeline.Running());
  EXPECT_EQ(pipeline.Stop(), 0) << "a stop request ends the retries cleanly";
  const std::string out = pipeline.Stderr() + pipeline.process()->Stdout();
  EXPECT_FALSE(Contains(out, "hunter2")) << out;
  EXPECT_TRUE(Contains(out, "connect")) << "the log says what fails:\n" << out;
}

TEST_F(ErrorsTest, PasswordNeverShownWhenAuthenticationFails) {
  const std::string role = "secretive_" + db_;
  pg_.Exec("CREATE ROLE " + role + " LOGIN REPLICATION PASSWORD 'right-one' IN ROLE password_auth");
  PipelineSpec spec = Spec();
  spec.dsn = pg_.Dsn(db_, role) + " password=hunter2";
  WalflowPipeline pipeline(pg_, spec);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "authentication failures are not retried:\n"
                                << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  const std::string out = pipeline.Stderr() + pipeline.process()->Stdout();
  EXPECT_FALSE(Contains(out, "hunter2")) << out;
  EXPECT_TRUE(Contains(out, "password authentication failed")) << out;

  auto check = RunProcess({WalflowBinary(), "check", pipeline.config_path()}, seconds(30));
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_FALSE(Contains(check.out + check.err, "hunter2")) << check.out << check.err;
}

// A server whose messages are not in English (lc_messages = de_DE): walflow tells failures
// apart by SQLSTATE, not by message text, so a wrong password still stops it at once and a
// missing database too, while a server that cannot take connections yet is retried. The
// locale is built with localedef into a folder of the test's own (LOCPATH), so the machine
// needs no German locale installed.
TEST(ErrorsInAnotherLanguageTest, FailuresAreClassifiedBySqlStateNotByMessageText) {
  TempDir locales("walflow-locale");
  std::filesystem::permissions(
      locales.path(), std::filesystem::perms::others_read | std::filesystem::perms::others_exec,
      std::filesystem::perm_options::add);
  auto made =
      RunProcess({"/usr/bin/localedef", "-i", "de_DE", "-f", "UTF-8", locales.File("de_DE.UTF-8")},
                 seconds(60));
  if (made.exit_code != 0 && made.exit_code != 1) {  // 1: warnings, the locale is usable
    GTEST_SKIP() << "cannot build a de_DE locale: " << made.err;
  }
  // The server reads it at every start (the restart below too).
  ::setenv("LOCPATH", locales.path().c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("LOCPATH"); }
  } unset;
  PgServer pg;
  pg.Exec("ALTER SYSTEM SET lc_messages = 'de_DE.UTF-8'");
  pg.Exec("SELECT pg_reload_conf()");
  const std::string db = pg.CreateDatabase("sprache");
  pg.Exec("CREATE TABLE customers (id int PRIMARY KEY, name text)", db);
  try {
    pg.Exec("SELECT * FROM no_such_table", db);
    FAIL() << "the query should fail";
  } catch (const PgError& e) {
    ASSERT_TRUE(Contains(e.what(), "existiert nicht")) << "the server speaks German: " << e.what();
  }

  // A wrong password: not retried.
  pg.Exec("CREATE ROLE geheim LOGIN REPLICATION PASSWORD 'right-one' IN ROLE password_auth");
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.customers"};
  spec.dsn = pg.Dsn(db, "geheim") + " password=hunter2";
  {
    WalflowPipeline pipeline(pg, spec);
    pipeline.Start();
    auto code = pipeline.WaitExit(seconds(30));
    ASSERT_TRUE(code.has_value()) << "a wrong password is not retried, in any language:\n"
                                  << Tail(pipeline.Stderr());
    EXPECT_NE(*code, 0);
    const std::string out = pipeline.Stderr();
    EXPECT_FALSE(Contains(out, "hunter2")) << out;
    EXPECT_TRUE(Contains(out, "28P01")) << "the message names the SQLSTATE:\n" << out;
  }
  // A database that does not exist: not retried either.
  spec.dsn = pg.Dsn("keine_solche_db");
  {
    WalflowPipeline pipeline(pg, spec);
    pipeline.set_drop_slot_at_end(false);
    pipeline.Start();
    auto code = pipeline.WaitExit(seconds(30));
    ASSERT_TRUE(code.has_value()) << "a missing database is not retried:\n"
                                  << Tail(pipeline.Stderr());
    EXPECT_NE(*code, 0);
    EXPECT_TRUE(Contains(pipeline.Stderr(), "3D000")) << pipeline.Stderr();
  }
  // Too many connections (53300) passes: walflow retries, then streams once a slot frees up.
  // (More than superuser_reserved_connections plus max_wal_senders, or the server refuses.)
  pg.Exec("ALTER SYSTEM SET max_connections = 20");
  pg.Restart();
  spec.dsn = "";
  std::vector<std::unique_ptr<PgConnection>> hogs;
  try {
    for (int i = 0; i < 60; ++i) hogs.push_back(std::make_unique<PgConnection>(pg.Dsn(db)));
  } catch (const PgError&) {
    // The server is full.
  }
  ASSERT_FALSE(hogs.empty());
  {
    WalflowPipeline pipeline(pg, spec);
    pipeline.Start();
    ASSERT_TRUE(pipeline.process()->WaitForOutput("retrying", seconds(30)))
        << Tail(pipeline.Stderr());
    EXPECT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
    hogs.clear();
    ASSERT_TRUE(pipeline.process()->WaitForOutput("streaming from slot", seconds(60)))
        << Tail(pipeline.Stderr());
    EXPECT_EQ(pipeline.Stop(), 0);
  }
}

TEST_F(ErrorsTest, MalformedConfigExitsWithFileAndLine) {
  TempDir dir("walflow-config");
  struct Case {
    std::string name;
    std::string yaml;
    int line;              // expected line in the message
    std::string mentions;  // expected in the message
  };
  const std::string dsn = pg_.Dsn(db_);
  const std::string good_source =
      "source:\n"
      "  postgres:\n"
      "    dsn: \"" +
      dsn +
      "\"\n"
      "    tables: [public.customers]\n";
  const std::string good_sinks =
      "sinks:\n"
      "  - name: files\n"
      "    type: jsonl\n"
      "    path: " +
      dir.File("out") + "\n";
  const std::vector<Case> cases = {
      {"not_yaml", good_source + "sinks: [\n  - {name: files,\n", 6, "not valid YAML"},
      {"unknown_key", good_source + "    slott: x\n" + good_sinks, 5, "source.postgres.slott"},
      {"bad_duration", good_source + "    status_interval: soon\n" + good_sinks, 5,
       "status_interval"},
      {"bad_decimal", good_source + good_sinks + "    decimal_handling: exact\n", 9,
       "decimal_handling"},
      {"no_tables", "source:\n  postgres:\n    dsn: \"" + dsn + "\"\n    tables: []\n" + good_sinks,
       4, "tables"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + ":\n" + c.yaml);
    const std::string path = dir.File(c.name + ".yaml");
    WriteFile(path, c.yaml);
    auto r = RunProcess({WalflowBinary(), "run", path}, seconds(30));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(Contains(r.err, path + ":" + std::to_string(c.line) + ":")) << r.err;
    if (!c.mentions.empty()) {
      EXPECT_TRUE(Contains(r.err, c.mentions)) << r.err;
    }
  }
  auto missing = RunProcess({WalflowBinary(), "run", dir.File("missing.yaml")}, seconds(30));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, dir.File("missing.yaml"))) << missing.err;
}

// The server restarts (cleanly, then as after a crash) while walflow streams and a writer
// works between the restarts: walflow reconnects and the sink ends up exact.
TEST_F(ErrorsTest, ServerRestartWhileStreaming) {
  PgServer server;  // its own server: restarting it must not disturb other tests
  const std::string db = server.CreateDatabase("restart");
  const std::vector<std::string> tables = {"accounts"};
  RandomWorkload::CreateTables(server, db, tables);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.accounts"};
  WalflowPipeline pipeline(server, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  RandomWorkload workload(server.Dsn(db), tables, 21);
  for (PgStopMode mode : {PgStopMode::kFast, PgStopMode::kImmediate}) {
    for (int i = 0; i < 50; ++i) workload.RunTransaction();
    ASSERT_TRUE(pipeline.WaitForCatchUp());
    for (int i = 0; i < 50; ++i) workload.RunTransaction();
    // Restart right away: some of these are likely not yet confirmed.
    server.Restart(mode);
    for (int i = 0; i < 50; ++i) workload.RunTransaction();
    ASSERT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
    ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  }
  auto events = pipeline.Events();
  EXPECT_EQ(pipeline.Stop(), 0);
  EXPECT_TRUE(Contains(pipeline.Stderr(), "retrying")) << "walflow says it reconnects";
  ExpectExactlyOnce(server, db, events, tables, workload.committed_changes(), pipeline.Stderr());
}

// A slot whose WAL the server removed (max_slot_wal_keep_size) cannot be resumed; walflow
// must say so instead of streaming with a gap.
TEST_F(ErrorsTest, InvalidatedSlotIsReported) {
  PgServer server;
  server.Exec("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  server.Exec("SELECT pg_reload_conf()");
  const std::string db = server.CreateDatabase("lost");
  server.Exec("CREATE TABLE customers (id int PRIMARY KEY, name text)", db);
  server.Exec("CREATE TABLE filler (id bigserial PRIMARY KEY, pad text)", db);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.customers"};
  WalflowPipeline pipeline(server, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  server.Exec("INSERT INTO customers VALUES (1, 'a')", db);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  ASSERT_EQ(pipeline.Stop(), 0);

  const std::string status_sql =
      "SELECT coalesce(wal_status, 'none') FROM pg_replication_slots WHERE slot_name = '" +
      pipeline.slot() + "'";
  std::string status;
  auto deadline = std::chrono::steady_clock::now() + seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    status = server.Scalar(status_sql, db);
    if (status == "lost") break;
    server.Exec(
        "INSERT INTO filler (pad) SELECT repeat(md5(g::text), 30) FROM "
        "generate_series(1, 5000) g",
        db);
    server.Exec("SELECT pg_switch_wal()", db);
    server.Exec("CHECKPOINT", db);
  }
  if (status != "lost") {
    GTEST_SKIP() << "the slot did not reach wal_status = 'lost' within 90 s (last: " << status
                 << ")";
  }
  server.Exec("INSERT INTO customers VALUES (2, 'b')", db);
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running on an invalidated slot:\n"
                                << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, pipeline.slot())) << err;
  EXPECT_TRUE(Contains(err, "invalidated")) << err;
  EXPECT_EQ(pipeline.Events().size(), 1u);
}

}  // namespace
}  // namespace walflow::test
