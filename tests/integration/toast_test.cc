// Large values stored out of line (TOAST) that an UPDATE does not change are not sent by
// the server unless the table has REPLICA IDENTITY FULL: the event then carries the
// placeholder, never an empty string or null, and with FULL the real value.
#include <gtest/gtest.h>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

constexpr const char* kPlaceholder = "__debezium_unavailable_value";

class ToastTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("toast");
    pg_.Exec(
        "CREATE TABLE docs (id int PRIMARY KEY, counter int NOT NULL, body text, "
        "tags text[], blob bytea)",
        db_);
  }

  // > 100 kB of hex digits from md5(random()): incompressible enough to stay out of line.
  static std::string BigValueSql(int chunks = 4000) {
    return "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, " +
           std::to_string(chunks) + "))";
  }

  void Run(bool full_identity) {
    if (full_identity) pg_.Exec("ALTER TABLE docs REPLICA IDENTITY FULL", db_);
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = {"public.docs"};
    pipeline_ = std::make_unique<WalflowPipeline>(pg_, spec);
    ASSERT_TRUE(pipeline_->StartAndWaitStreaming());
    pg_.Exec("INSERT INTO docs VALUES (1, 0, " + BigValueSql() + ", ARRAY[" + BigValueSql(2000) +
                 ", 'small'], decode(" + BigValueSql(2000) + ", 'hex'))",
             db_);
    pg_.Exec("INSERT INTO docs VALUES (2, 0, 'small body', NULL, NULL)", db_);
    // Is the value really out of line? (pg_column_size is the stored, compressed size.)
    ASSERT_GT(std::stoll(pg_.Scalar("SELECT pg_column_size(body) FROM docs WHERE id = 1", db_)),
              100000);
    body_ = pg_.Scalar("SELECT body FROM docs WHERE id = 1", db_);
    tags_ = Json::parse(pg_.Scalar("SELECT array_to_json(tags) FROM docs WHERE id = 1", db_));
    blob_ = pg_.Scalar("SELECT replace(encode(blob, 'base64'), E'\\n', '') FROM docs WHERE id = 1",
                       db_);
    pg_.Exec("UPDATE docs SET counter = counter + 1 WHERE id = 1", db_);
    pg_.Exec("UPDATE docs SET counter = counter + 1 WHERE id = 2", db_);
    pg_.Exec("UPDATE docs SET counter = counter + 1, body = body || 'x' WHERE id = 1", db_);
    pg_.Exec("DELETE FROM docs WHERE id = 1", db_);
    ASSERT_TRUE(pipeline_->WaitForCatchUp());
    events_ = pipeline_->Events();
    EXPECT_EQ(pipeline_->Stop(), 0) << Tail(pipeline_->Stderr());
    ASSERT_EQ(events_.size(), 6u) << Tail(pipeline_->Stderr());
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  // Row 1 as inserted, read back from PostgreSQL.
  std::string body_;
  Json tags_;
  std::string blob_;
  std::unique_ptr<WalflowPipeline> pipeline_;
  std::vector<Json> events_;
};

TEST_F(ToastTest, DefaultIdentityGivesThePlaceholderForUnchangedValues) {
  ASSERT_NO_FATAL_FAILURE(Run(/*full_identity=*/false));
  const Json& insert = events_[0]["after"];
  EXPECT_EQ(insert["body"], body_);
  EXPECT_EQ(insert["tags"], tags_);
  EXPECT_EQ(insert["blob"], blob_);

  const Json& update = events_[2];
  EXPECT_EQ(update["op"], "u");
  EXPECT_TRUE(update["before"].is_null());
  EXPECT_EQ(update["after"]["counter"], 1);
  EXPECT_EQ(update["after"]["body"], kPlaceholder) << "an unchanged TOAST value";
  EXPECT_EQ(update["after"]["tags"], Json::array({kPlaceholder}));
  // bytea: the placeholder's bytes, base64-encoded like any bytea value.
  EXPECT_EQ(update["after"]["blob"], "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==");

  // A small value lives inline and is always sent.
  EXPECT_EQ(events_[3]["after"]["body"], "small body");

  // A changed value is sent in full.
  const Json& changed = events_[4]["after"];
  EXPECT_EQ(changed["counter"], 2);
  EXPECT_EQ(changed["body"], body_ + "x");
  EXPECT_EQ(changed["tags"], Json::array({kPlaceholder}));

  EXPECT_EQ(events_[5]["op"], "d");
  EXPECT_EQ(events_[5]["before"]["id"], 1);
}

TEST_F(ToastTest, FullIdentityGivesTheRealValue) {
  ASSERT_NO_FATAL_FAILURE(Run(/*full_identity=*/true));
  const Json& insert = events_[0]["after"];
  const std::string& body = body_;
  EXPECT_EQ(insert["body"], body_);
  EXPECT_EQ(insert["tags"], tags_);
  EXPECT_EQ(insert["blob"], blob_);

  const Json& update = events_[2];
  EXPECT_EQ(update["op"], "u");
  EXPECT_EQ(update["after"]["counter"], 1);
  EXPECT_EQ(update["after"]["body"], body);
  EXPECT_EQ(update["after"]["tags"], tags_);
  EXPECT_EQ(update["after"]["blob"], blob_);
  EXPECT_EQ(update["before"]["counter"], 0);
  EXPECT_EQ(update["before"]["body"], body);

  const Json& changed = events_[4];
  EXPECT_EQ(changed["after"]["body"], body + "x");
  EXPECT_EQ(changed["after"]["tags"], tags_);
  EXPECT_EQ(changed["before"]["body"], body);

  // The delete's before image is the whole row.
  EXPECT_EQ(events_[5]["op"], "d");
  EXPECT_EQ(events_[5]["before"]["body"], body + "x");
  EXPECT_EQ(events_[5]["before"]["tags"], tags_);
  EXPECT_EQ(events_[5]["before"]["blob"], blob_);
}

}  // namespace
}  // namespace walflow::test
