// ALTER TABLE while walflow streams: events after the change use the new columns and
// types, events before it the old ones, and walflow keeps running.
#include <gtest/gtest.h>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

class SchemaChangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("schema");
    pg_.Exec("CREATE TABLE items (id int PRIMARY KEY, qty int, label text)", db_);
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

// The field names and types of the "after" schema of an event written with schemas: true.
std::vector<std::pair<std::string, std::string>> AfterFields(const Json& event) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : event["schema"]["fields"]) {
    if (f["field"] != "after") continue;
    for (const auto& c : f["fields"]) out.emplace_back(c["field"], c["type"]);
  }
  return out;
}

TEST_F(SchemaChangeTest, EventsFollowAddDropRenameAndAlterType) {
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.items"};
  spec.schemas = true;
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  pg_.Exec("INSERT INTO items VALUES (1, 10, 'a')", db_);
  pg_.Exec("ALTER TABLE items ADD COLUMN price numeric(10,2) DEFAULT 0", db_);
  pg_.Exec("INSERT INTO items VALUES (2, 20, 'b', 2.50)", db_);
  pg_.Exec("UPDATE items SET price = 1.25 WHERE id = 1", db_);
  pg_.Exec("ALTER TABLE items RENAME COLUMN label TO title", db_);
  pg_.Exec("INSERT INTO items VALUES (3, 30, 'c', 3)", db_);
  pg_.Exec("ALTER TABLE items DROP COLUMN title", db_);
  pg_.Exec("INSERT INTO items VALUES (4, 40, 4)", db_);
  pg_.Exec("ALTER TABLE items ALTER COLUMN qty TYPE bigint", db_);
  pg_.Exec("INSERT INTO items VALUES (5, 9000000000, 5)", db_);
  pg_.Exec("ALTER TABLE items ALTER COLUMN qty TYPE text", db_);
  pg_.Exec("INSERT INTO items VALUES (6, 'six', 6)", db_);
  pg_.Exec("UPDATE items SET price = price + 1 WHERE id = 5", db_);
  // A change of schema inside the transaction that uses it.
  pg_.Exec(
      "BEGIN; INSERT INTO items VALUES (7, 'seven', 7); ALTER TABLE items ADD COLUMN flag bool; "
      "INSERT INTO items VALUES (8, 'eight', 8, true); COMMIT",
      db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
  auto events = pipeline.Events();
  ASSERT_EQ(events.size(), 10u) << Tail(pipeline.Stderr());

  using Fields = std::vector<std::pair<std::string, std::string>>;
  struct Want {
    Json after;
    Fields fields;
  };
  const Fields v1 = {{"id", "int32"}, {"qty", "int32"}, {"label", "string"}};
  const Fields v2 = {{"id", "int32"}, {"qty", "int32"}, {"label", "string"}, {"price", "string"}};
  const Fields v3 = {{"id", "int32"}, {"qty", "int32"}, {"title", "string"}, {"price", "string"}};
  const Fields v4 = {{"id", "int32"}, {"qty", "int32"}, {"price", "string"}};
  const Fields v5 = {{"id", "int32"}, {"qty", "int64"}, {"price", "string"}};
  const Fields v6 = {{"id", "int32"}, {"qty", "string"}, {"price", "string"}};
  const Fields v7 = {{"id", "int32"}, {"qty", "string"}, {"price", "string"}, {"flag", "boolean"}};
  const std::vector<Want> want = {
      {{{"id", 1}, {"qty", 10}, {"label", "a"}}, v1},
      {{{"id", 2}, {"qty", 20}, {"label", "b"}, {"price", "2.50"}}, v2},
      {{{"id", 1}, {"qty", 10}, {"label", "a"}, {"price", "1.25"}}, v2},
      {{{"id", 3}, {"qty", 30}, {"title", "c"}, {"price", "3.00"}}, v3},
      {{{"id", 4}, {"qty", 40}, {"price", "4.00"}}, v4},
      {{{"id", 5}, {"qty", 9000000000LL}, {"price", "5.00"}}, v5},
      {{{"id", 6}, {"qty", "six"}, {"price", "6.00"}}, v6},
      {{{"id", 5}, {"qty", "9000000000"}, {"price", "6.00"}}, v6},
      {{{"id", 7}, {"qty", "seven"}, {"price", "7.00"}}, v6},
      {{{"id", 8}, {"qty", "eight"}, {"price", "8.00"}, {"flag", true}}, v7},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    EXPECT_EQ(events[i]["payload"]["after"], want[i].after);
    EXPECT_EQ(AfterFields(events[i]), want[i].fields);
  }

  // Still streaming after all that.
  pg_.Exec("INSERT INTO items VALUES (9, 'nine', 9, false)", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  events = pipeline.Events();
  ASSERT_EQ(events.size(), 11u);
  EXPECT_EQ(events[10]["payload"]["after"]["id"], 9);
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
}

// A restart after schema changes: the first Relation message walflow sees describes the
// table as it is now, while the stream resumes with rows written before the change.
TEST_F(SchemaChangeTest, RestartAcrossASchemaChange) {
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.items"};
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO items VALUES (1, 10, 'a')", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  ASSERT_EQ(pipeline.Stop(), 0);

  // While walflow is down: rows before and after an ADD COLUMN and a DROP COLUMN.
  pg_.Exec("INSERT INTO items VALUES (2, 20, 'b')", db_);
  pg_.Exec("ALTER TABLE items ADD COLUMN note text", db_);
  pg_.Exec("INSERT INTO items VALUES (3, 30, 'c', 'n3')", db_);
  pg_.Exec("ALTER TABLE items DROP COLUMN label", db_);
  pg_.Exec("INSERT INTO items VALUES (4, 40, 'n4')", db_);

  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  auto events = pipeline.CatchUpAndStop();
  ASSERT_EQ(events.size(), 4u) << Tail(pipeline.Stderr());
  EXPECT_EQ(events[0]["after"], (Json{{"id", 1}, {"qty", 10}, {"label", "a"}}));
  EXPECT_EQ(events[1]["after"], (Json{{"id", 2}, {"qty", 20}, {"label", "b"}}));
  EXPECT_EQ(events[2]["after"], (Json{{"id", 3}, {"qty", 30}, {"label", "c"}, {"note", "n3"}}));
  EXPECT_EQ(events[3]["after"], (Json{{"id", 4}, {"qty", 40}, {"note", "n4"}}));
}

// A label added to an enum while walflow streams is written as it is at once.
TEST_F(SchemaChangeTest, EnumLabelAddedWhileStreaming) {
  pg_.Exec(
      "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE moods (id int PRIMARY KEY, "
      "m mood, ms mood[])",
      db_);
  PipelineSpec spec;
  spec.db = db_;
  spec.tables = {"public.moods"};
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO moods VALUES (1, 'sad', '{ok}')", db_);
  pg_.Exec("ALTER TYPE mood ADD VALUE 'ecstatic'", db_);
  pg_.Exec("INSERT INTO moods VALUES (2, 'ecstatic', '{sad,ecstatic}')", db_);
  pg_.Exec("UPDATE moods SET m = 'ecstatic' WHERE id = 1", db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp());
  EXPECT_TRUE(pipeline.Running()) << Tail(pipeline.Stderr());
  auto events = pipeline.Events();
  EXPECT_EQ(pipeline.Stop(), 0);
  ASSERT_EQ(events.size(), 3u) << Tail(pipeline.Stderr());
  EXPECT_EQ(events[1]["after"], (Json{{"id", 2}, {"m", "ecstatic"}, {"ms", {"sad", "ecstatic"}}}));
  EXPECT_EQ(events[2]["after"]["m"], "ecstatic");
}

}  // namespace
}  // namespace walflow::test
