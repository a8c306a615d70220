// The catalog moves on while the slot lags: columns, enums and domains dropped after the
// changes that used them were committed. walflow describes those changes from what their
// Relation and Type messages say (the server decodes them with the catalog as it was) and
// never stops for good on a type that no longer exists: the old changes are delivered.
#include <gtest/gtest.h>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

class CatalogHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg_.CreateDatabase("history"); }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

TEST_F(CatalogHistoryTest, ChangesWrittenBeforeTheirTypesWereDroppedAreStillDelivered) {
  pg_.Exec(
      "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
      "CREATE DOMAIN positive AS int CHECK (VALUE > 0);"
      "CREATE TABLE feelings (id int PRIMARY KEY, m mood NOT NULL, ms mood[], p positive, "
      "  note text)",
      db_);
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.feelings"};
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO feelings VALUES (1, 'sad', '{sad,ok}', 1, 'one')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  ASSERT_EQ(pipeline.Stop(), 0);

  // While walflow is down: changes that use the types, then the types go away.
  pg_.Exec("INSERT INTO feelings VALUES (2, 'ok', '{happy}', 2, 'two')", db_);
  pg_.Exec("UPDATE feelings SET m = 'happy', p = 5 WHERE id = 1", db_);
  pg_.Exec("INSERT INTO feelings VALUES (3, 'happy', NULL, NULL, 'three')", db_);
  pg_.Exec("ALTER TABLE feelings DROP COLUMN m, DROP COLUMN ms, DROP COLUMN p", db_);
  pg_.Exec("DROP TYPE mood; DROP DOMAIN positive", db_);
  // The primary key changes too: old changes keep the key their Relation message names.
  pg_.Exec("ALTER TABLE feelings DROP CONSTRAINT feelings_pkey", db_);
  pg_.Exec("ALTER TABLE feelings ADD PRIMARY KEY (note)", db_);
  pg_.Exec("INSERT INTO feelings VALUES (4, 'four')", db_);

  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  ASSERT_TRUE(pipeline.WaitForCatchUp()) << Tail(pipeline.Stderr());
  EXPECT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
  auto events = pipeline.Events();
  ASSERT_EQ(events.size(), 5u) << Tail(pipeline.Stderr());
  EXPECT_EQ(events[0]["after"]["m"], "sad");
  // The enum, its array and the domain, as the catalog no longer describes them: their
  // values in PostgreSQL's text form.
  EXPECT_EQ(events[1]["after"]["id"], 2);
  EXPECT_EQ(events[1]["after"]["m"], "ok");
  EXPECT_EQ(events[1]["after"]["note"], "two");
  EXPECT_TRUE(events[1]["after"]["ms"] == Json("{happy}") ||
              events[1]["after"]["ms"] == Json::array({"happy"}))
      << events[1].dump();
  EXPECT_TRUE(events[1]["after"]["p"] == Json("2") || events[1]["after"]["p"] == Json(2))
      << events[1].dump();
  EXPECT_EQ(events[2]["op"], "u");
  EXPECT_EQ(events[2]["after"]["m"], "happy");
  EXPECT_EQ(events[3]["after"]["m"], "happy");
  EXPECT_EQ(events[3]["after"]["ms"], nullptr);
  EXPECT_EQ(events[4]["after"], (Json{{"id", 4}, {"note", "four"}}));
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, "public.feelings")) << err;
  EXPECT_TRUE(Contains(err, "no longer")) << "a warning says what was not described:\n" << err;

  // And it keeps streaming.
  pg_.Exec("INSERT INTO feelings VALUES (5, 'five')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_EQ(pipeline.Events().size(), 6u);
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
}

}  // namespace
}  // namespace walflow::test
