// `walflow check CONFIG` prints one line per prerequisite ("ok   ...", "warn ...",
// "FAIL ...") and exits 0 when all pass, 1 when one fails.
#include <gtest/gtest.h>

#include <sstream>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::seconds;

struct CheckOutput {
  int exit_code = -1;
  std::vector<std::string> lines;
  std::string text;

  // Lines starting with `tag` ("ok", "warn", "FAIL") that contain `needle`.
  size_t Count(const std::string& tag, const std::string& needle) const {
    size_t n = 0;
    for (const auto& l : lines) {
      if (l.rfind(tag, 0) == 0 && l.find(needle) != std::string::npos) ++n;
    }
    return n;
  }
};

CheckOutput RunCheck(const std::string& config) {
  ProcessResult r = RunProcess({WalflowBinary(), "check", config}, seconds(60));
  CheckOutput out;
  out.exit_code = r.exit_code;
  out.text = r.out + (r.err.empty() ? "" : "\n[stderr]\n" + r.err);
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) out.lines.push_back(line);
  return out;
}

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("check");
    pg_.Exec(
        "CREATE TABLE customers (id int PRIMARY KEY, name text);"
        "CREATE TABLE no_key (id int, name text)",
        db_);
  }

  // A pipeline for `tables` (not started: `check` only reads its config).
  std::unique_ptr<WalflowPipeline> Pipeline(std::vector<std::string> tables,
                                            const std::string& user = "postgres") {
    PipelineSpec spec;
    spec.db = db_;
    spec.dsn = pg_.Dsn(db_, user);
    spec.tables = std::move(tables);
    return std::make_unique<WalflowPipeline>(pg_, spec);
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

TEST_F(CheckTest, PassesOnAGoodSetup) {
  auto pipeline = Pipeline({"public.customers"});
  CheckOutput out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("FAIL", ""), 0u) << out.text;
  EXPECT_EQ(out.Count("ok", "wal_level = logical"), 1u) << out.text;
  EXPECT_EQ(out.Count("ok", "public.customers"), 1u) << out.text;
  EXPECT_EQ(out.Count("ok", "REPLICATION"), 1u) << out.text;
  EXPECT_EQ(out.Count("ok", "replication connection"), 1u) << out.text;
  EXPECT_EQ(out.lines.empty() ? "" : out.lines.back(), "check passed") << out.text;
  for (const auto& line : out.lines) {
    if (line == "check passed") continue;
    EXPECT_TRUE(line.rfind("ok   ", 0) == 0 || line.rfind("warn ", 0) == 0) << line;
  }

  // While walflow streams on the slot: a warning, still a pass.
  ASSERT_TRUE(pipeline->StartAndWaitStreaming());
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("warn", pipeline->slot()), 1u) << out.text;
  EXPECT_EQ(pipeline->Stop(), 0);
  // Once it has stopped, the slot and publication exist and check says so.
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("ok", "replication slot " + pipeline->slot() + " exists"), 1u) << out.text;
  EXPECT_EQ(out.Count("ok", "covers every table"), 1u) << out.text;
}

TEST_F(CheckTest, ReportsWhatTheSinksHoldAndASlotThatLostIt) {
  auto pipeline = Pipeline({"public.customers"});
  CheckOutput out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.Count("ok", "is empty"), 1u) << out.text;

  ASSERT_TRUE(pipeline->StartAndWaitStreaming());
  pg_.Exec("INSERT INTO customers VALUES (1, 'a')", db_);
  ASSERT_TRUE(pipeline->WaitForCatchUp());
  EXPECT_EQ(pipeline->Stop(), 0);
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("ok", "holds changes up to"), 1u) << out.text;

  // The slot is gone while the sink holds a position: run would refuse, so check fails.
  pipeline->DropSlot();
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.Count("FAIL", "does not exist, but the sinks hold changes"), 1u) << out.text;
}

TEST_F(CheckTest, FailsForAMissingTable) {
  auto pipeline = Pipeline({"public.customers", "public.nope"});
  CheckOutput out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.Count("FAIL", "public.nope"), 1u) << out.text;
  EXPECT_EQ(out.Count("FAIL", "source.postgres.tables[1]"), 1u)
      << "the failure points into the config\n"
      << out.text;
  EXPECT_EQ(out.Count("ok", "public.customers"), 1u) << out.text;
  EXPECT_EQ(out.lines.back(), "check failed");
}

TEST_F(CheckTest, FailsForATableWithoutPrimaryKeyOrIdentity) {
  auto pipeline = Pipeline({"public.customers", "public.no_key"});
  CheckOutput out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.Count("FAIL", "public.no_key"), 1u) << out.text;
  EXPECT_EQ(out.Count("FAIL", "primary key"), 1u) << out.text;

  // REPLICA IDENTITY FULL is enough.
  pg_.Exec("ALTER TABLE no_key REPLICA IDENTITY FULL", db_);
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("ok", "public.no_key"), 1u) << out.text;
}

TEST_F(CheckTest, FailsForARoleWithoutReplication) {
  const std::string role = "plain_" + db_;
  pg_.Exec("CREATE ROLE " + role + " LOGIN");
  pg_.Exec("GRANT SELECT ON customers TO " + role, db_);
  auto pipeline = Pipeline({"public.customers"}, role);
  CheckOutput out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.Count("FAIL", "role " + role + " lacks the REPLICATION privilege"), 1u) << out.text;
  // The server refuses its replication connection too.
  EXPECT_EQ(out.Count("FAIL", "replication connection"), 1u) << out.text;

  pg_.Exec("ALTER ROLE " + role + " REPLICATION");
  out = RunCheck(pipeline->config_path());
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.Count("FAIL", ""), 0u) << out.text;
}

TEST_F(CheckTest, FailsForAMalformedConfig) {
  TempDir dir("walflow-check");
  const std::string path = dir.File("bad.yaml");
  WriteFile(path, "source:\n  postgres:\n    dsn: x\n    tables: [a]\n    bogus: 1\nsinks: []\n");
  CheckOutput out = RunCheck(path);
  EXPECT_EQ(out.exit_code, 2) << "a config error, as for walflow run\n" << out.text;
  EXPECT_EQ(out.Count("FAIL", path + ":5:"), 1u) << out.text;
}

// wal_level needs a server restart to change: a server of its own.
TEST(CheckWalLevelTest, FailsWhenWalLevelIsNotLogical) {
  PgServer server;
  server.Exec("ALTER SYSTEM SET wal_level = replica");
  server.Restart();
  ASSERT_EQ(server.Scalar("SHOW wal_level"), "replica");
  const std::string db = server.CreateDatabase("wal");
  server.Exec("CREATE TABLE customers (id int PRIMARY KEY)", db);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.customers"};
  WalflowPipeline pipeline(server, spec);
  CheckOutput out = RunCheck(pipeline.config_path());
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.Count("FAIL", "wal_level = replica"), 1u) << out.text;

  // walflow run fails with the same cause instead of retrying.
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_NE(pipeline.LastStderr().find("wal_level"), std::string::npos) << pipeline.Stderr();
}

}  // namespace
}  // namespace walflow::test
