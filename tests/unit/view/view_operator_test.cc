// The view operator driven with hand-made change batches: what it emits per transaction,
// what it keeps, and what it does after a restart — with its real RocksDB state in a
// temporary folder, no server.
#include "view/view_operator.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>

#include "runtime/config.h"
#include "temp_dir.h"

namespace walflow::view {
namespace {

using test::TempDir;

constexpr uint32_t kInt4 = 23, kText = 25, kNumeric = 1700;

TableSchemaPtr CustomersSchema() {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16400);
  t->schema = "public";
  t->name = "customers";
  auto col = [&](std::string name, uint32_t oid) {
    ColumnSchema c;
    c.name = std::move(name);
    c.type.type_oid = Oid(oid);
    c.type.kind = oid == kInt4   ? ValueKind::kInt32
                  : oid == kText ? ValueKind::kString
                                 : ValueKind::kDecimal;
    t->columns.push_back(std::move(c));
  };
  col("id", kInt4);
  col("country", kText);
  col("balance", kNumeric);
  col("note", kText);
  t->columns[0].primary_key_position = 0;
  t->columns[0].replica_key = true;
  t->key_columns = {0};
  return t;
}

const std::vector<InputColumnInfo>& CustomerColumns() {
  static const std::vector<InputColumnInfo> cols = {
      {"id", kInt4, "integer", -1, 0, ""},
      {"country", kText, "text", -1, -1, "C"},
      {"balance", kNumeric, "numeric(12,2)", (12 << 16 | 2) + 4, -1, ""},
      {"note", kText, "text", -1, -1, "C"},
  };
  return cols;
}

Result<std::vector<std::shared_ptr<const CompiledView>>> CompileWith(
    const std::string& views_yaml, const std::vector<InputColumnInfo>& columns) {
  const std::string yaml =
      "source:\n  postgres:\n    dsn: host=x\n    tables: [public.customers]\n"
      "views:\n" +
      views_yaml + "sinks:\n  - name: f\n    type: jsonl\n    path: /tmp/x\n";
  auto config = runtime::ParseConfig(yaml, "test.yaml");
  if (!config.ok()) return config.status();
  return CompileViews(
      *config, [&](const std::string&, const std::string&) -> Result<std::vector<InputColumnInfo>> {
        return columns;
      });
}

std::shared_ptr<const CompiledView> Compile(const std::string& views_yaml) {
  const std::string yaml =
      "source:\n  postgres:\n    dsn: host=x\n    tables: [public.customers]\n"
      "views:\n" +
      views_yaml + "sinks:\n  - name: f\n    type: jsonl\n    path: /tmp/x\n";
  auto config = runtime::ParseConfig(yaml, "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return nullptr;
  auto compiled = CompileViews(
      *config, [](const std::string&, const std::string&) -> Result<std::vector<InputColumnInfo>> {
        return CustomerColumns();
      });
  EXPECT_TRUE(compiled.ok()) << compiled.status().message();
  if (!compiled.ok()) return nullptr;
  return compiled->back();
}

// Rows are {id, country, balance, note}; nullopt = NULL; "~" = unchanged TOAST.
using Row = std::vector<std::optional<std::string>>;

class Tx {
 public:
  Tx(uint64_t commit, std::shared_ptr<ChangeBatch> batch = nullptr)
      : commit_(commit), batch_(batch ? batch : std::make_shared<ChangeBatch>()) {
    batch_->Retain(schema());
  }
  static const TableSchemaPtr& schema() {
    static TableSchemaPtr s = CustomersSchema();
    return s;
  }
  Tx& Insert(const Row& r) { return Add(ChangeOp::kCreate, std::nullopt, r); }
  Tx& Read(const Row& r) { return Add(ChangeOp::kRead, std::nullopt, r); }
  // Default replica identity: no old row unless the key changed.
  Tx& Update(const Row& r, std::optional<Row> old_key = std::nullopt) {
    return Add(ChangeOp::kUpdate, old_key, r);
  }
  Tx& Delete(int id) { return Add(ChangeOp::kDelete, Row{std::to_string(id), {}, {}, {}}, {}); }
  Tx& Truncate() {
    Change& c = batch_->AddChange();
    c.op = ChangeOp::kTruncate;
    Stamp(c);
    return *this;
  }
  // Ends the transaction; end position commit + 8.
  std::shared_ptr<ChangeBatch> End() {
    TxMarker m;
    m.change_end = static_cast<uint32_t>(batch_->changes().size());
    m.commit_lsn = Lsn(commit_);
    m.end_lsn = Lsn(commit_ + 8);
    m.xid = Xid(static_cast<uint32_t>(commit_));
    m.change_count = seq_;
    batch_->AddMarker(m);
    return batch_;
  }
  std::shared_ptr<ChangeBatch> Open() { return batch_; }

 private:
  void Stamp(Change& c) {
    c.table = schema().get();
    c.commit_lsn = Lsn(commit_);
    c.lsn = Lsn(commit_ - 100 + seq_);
    c.seq = ++seq_;
    c.xid = Xid(static_cast<uint32_t>(commit_));
  }
  int32_t AddRow(const Row& r) {
    int32_t first = batch_->AddRow(r.size());
    for (size_t i = 0; i < r.size(); ++i) {
      if (!r[i]) continue;
      if (*r[i] == "~") {
        batch_->DatumAt(first + i).kind = Datum::Kind::kUnchangedToast;
        continue;
      }
      batch_->DatumAt(first + i).kind = Datum::Kind::kText;
      batch_->SetText(first + i, *r[i]);
    }
    return first;
  }
  Tx& Add(ChangeOp op, std::optional<Row> before, std::optional<Row> after) {
    Change& c = batch_->AddChange();
    c.op = op;
    Stamp(c);
    if (before) c.before = AddRow(*before);
    if (after && op != ChangeOp::kDelete) c.after = AddRow(*after);
    return *this;
  }

  uint64_t commit_;
  std::shared_ptr<ChangeBatch> batch_;
  uint32_t seq_ = 0;
};

// The view's changes in a batch, as "op before -> after" with rows joined by '|'.
std::vector<std::string> ViewChanges(const std::vector<ChangeBatchPtr>& batches,
                                     const std::string& view = "views.v") {
  std::vector<std::string> out;
  for (const auto& b : batches) {
    for (const Change& c : b->changes()) {
      if (c.table->QualifiedName() != view) continue;
      auto row = [&](int32_t first) {
        if (first < 0) return std::string("-");
        std::string s;
        for (size_t i = 0; i < c.table->columns.size(); ++i) {
          const Datum& d = b->Row(first)[i];
          if (i) s += '|';
          s.append(d.kind == Datum::Kind::kText ? b->Text(d) : std::string_view("NULL"));
        }
        return s;
      };
      out.push_back(std::string(1, static_cast<char>(c.op)) + " " + row(c.before) + " -> " +
                    row(c.after));
    }
  }
  return out;
}

class ViewOperatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<ViewOperator> Open(
      const std::string& views_yaml,
      std::chrono::milliseconds commit_interval = std::chrono::milliseconds(0)) {
    ViewOperatorOptions o;
    o.state_dir = dir_.File("views");
    o.commit_interval = commit_interval;
    o.sync_commits = false;
    o.dead_letter_dir = dir_.File("dead");
    auto op = std::make_unique<ViewOperator>(Compile(views_yaml), o);
    auto opened = op->Open(sinks_hold_);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    return op;
  }
  std::vector<ChangeBatchPtr> Apply(ViewOperator& op, const ChangeBatchPtr& in) {
    std::vector<ChangeBatchPtr> out;
    Status s = op.Apply(in, &out);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }
  TempDir dir_;
  Lsn sinks_hold_;
};

const char* kByCountry =
    "  - name: v\n    sql: SELECT country, count(*) AS n, sum(balance) AS total, "
    "max(balance) AS top FROM customers GROUP BY country\n";

TEST_F(ViewOperatorTest, GroupsChangeOncePerTransactionAndRowsMoveBetweenThem) {
  auto op = Open(kByCountry);
  auto out = Apply(*op, Tx(1000)
                            .Insert({"1", "PL", "10.50", "a"})
                            .Insert({"2", "PL", "2", "b"})
                            .Insert({"3", "DE", "7", "c"})
                            .End());
  EXPECT_EQ(ViewChanges(out),
            (std::vector<std::string>{"c - -> PL|2|12.50|10.50", "c - -> DE|1|7|7"}));
  // The view's changes come before the transaction's end, after its input changes.
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0]->markers().size(), 1u);
  EXPECT_EQ(out[0]->markers()[0].change_end, 5u);
  EXPECT_EQ(out[0]->changes()[3].seq, 4u);
  EXPECT_EQ(out[0]->changes()[4].seq, 5u);
  // An UPDATE without the old row moves id 1 from PL to DE: the view kept the old row.
  out = Apply(*op, Tx(2000).Update({"1", "DE", "10.50", "a"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"u PL|2|12.50|10.50 -> PL|1|2|2",
                                                        "u DE|1|7|7 -> DE|2|17.50|10.50"}));
  // Deleting the current maximum finds the next; the last row of a group removes it.
  out = Apply(*op, Tx(3000).Delete(1).Delete(2).End());
  EXPECT_EQ(ViewChanges(out),
            (std::vector<std::string>{"u DE|2|17.50|10.50 -> DE|1|7|7", "d PL|1|2|2 -> -"}));
  // A transaction that leaves the view as it was emits nothing.
  out = Apply(*op, Tx(4000).Insert({"9", "FR", "1", "x"}).Delete(9).End());
  EXPECT_TRUE(ViewChanges(out).empty());
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, UnchangedToastValuesComeFromTheKeptRow) {
  auto op = Open("  - name: v\n    sql: SELECT id, length(note) AS len, country FROM customers\n");
  Apply(*op, Tx(1000).Insert({"1", "PL", "1", std::string(9000, 'x')}).End());
  auto out = Apply(*op, Tx(2000).Update({"1", "DE", "1", "~"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"u 1|9000|PL -> 1|9000|DE"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, TruncateRetractsEveryRowAndSnapshotRowsAreUpserts) {
  auto op = Open(kByCountry);
  Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).Insert({"2", "DE", "2", "b"}).End());
  // A re-snapshot reads rows the view holds: nothing changes.
  auto out = Apply(*op, Tx(2000).Read({"1", "PL", "1", "a"}).Read({"2", "DE", "2", "b"}).End());
  EXPECT_TRUE(ViewChanges(out).empty());
  out = Apply(*op, Tx(3000).Truncate().Insert({"5", "PL", "4", "z"}).End());
  EXPECT_EQ(ViewChanges(out),
            (std::vector<std::string>{"u PL|1|1|1 -> PL|1|4|4", "d DE|1|2|2 -> -"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, AGlobalAggregateHasItsRowFromTheStart) {
  auto op = Open("  - name: v\n    sql: SELECT count(*) AS n, sum(balance) AS s FROM customers\n");
  auto out = Apply(*op, Tx(1000).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"c - -> 0|NULL"}));
  out = Apply(*op, Tx(2000).Insert({"1", "PL", "3", "a"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"u 0|NULL -> 1|3"}));
  out = Apply(*op, Tx(3000).Delete(1).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"u 1|3 -> 0|NULL"}));
  ASSERT_TRUE(op->Tick(Lsn(3008), false).ok());  // every sink has them: the records go
  ASSERT_TRUE(op->Close().ok());
  // Reopened, it does not announce its row again.
  op = Open("  - name: v\n    sql: SELECT count(*) AS n, sum(balance) AS s FROM customers\n");
  out = Apply(*op, Tx(4000).End());
  EXPECT_TRUE(ViewChanges(out).empty());
}

TEST_F(ViewOperatorTest, AfterARestartRecordedOutputIsHandedOnAgainNotRecomputed) {
  std::vector<std::string> first;
  {
    auto op = Open(kByCountry);
    for (auto out : {Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End()),
                     Apply(*op, Tx(2000).Insert({"2", "PL", "2", "b"}).End())}) {
      for (auto& c : ViewChanges(out)) first.push_back(c);
    }
    ASSERT_TRUE(op->Close().ok());
    EXPECT_EQ(op->durable(), Lsn(2008));
  }
  // The source replays both (a sink was behind): the view's state has them, so it hands on
  // what it recorded, at the same places in the stream.
  auto op = Open(kByCountry);
  EXPECT_EQ(op->durable(), Lsn(2008));
  std::vector<std::string> again;
  for (auto out : {Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End()),
                   Apply(*op, Tx(2000).Insert({"2", "PL", "2", "b"}).End())}) {
    for (auto& c : ViewChanges(out)) again.push_back(c);
  }
  EXPECT_EQ(again, first);
  // A new transaction is computed from the state.
  auto out = Apply(*op, Tx(3000).Insert({"3", "PL", "3", "c"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"u PL|2|3|2 -> PL|3|6|3"}));
  // Once every sink holds them, the records go.
  ASSERT_TRUE(op->Tick(Lsn(3008), false).ok());
  ASSERT_TRUE(op->Close().ok());
  op = Open(kByCountry);
  out = Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
  EXPECT_TRUE(ViewChanges(out).empty());
}

TEST_F(ViewOperatorTest, RecordsOfPositionsTheSourceDoesNotReplayComeAsTheirOwnTransactions) {
  {
    auto op = Open(kByCountry);
    Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());  // e.g. a snapshot chunk
    ASSERT_TRUE(op->Close().ok());
  }
  auto op = Open(kByCountry);
  auto out = Apply(*op, Tx(5000).Insert({"2", "PL", "2", "b"}).End());
  EXPECT_EQ(ViewChanges(out),
            (std::vector<std::string>{"c - -> PL|1|1|1", "u PL|1|1|1 -> PL|2|3|2"}));
  ASSERT_EQ(out[0]->markers().size(), 2u);
  EXPECT_EQ(out[0]->markers()[0].end_lsn, Lsn(1008));
  EXPECT_EQ(out[0]->markers()[0].change_end, 1u);
  EXPECT_EQ(out[0]->markers()[1].end_lsn, Lsn(5008));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, UncommittedStateIsRecomputedAfterACrash) {
  {
    auto op = Open(kByCountry, std::chrono::hours(1));
    Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
    EXPECT_FALSE(op->durable().valid()) << "not committed yet";
    // Destroyed without Close(): like kill -9, the batch is lost.
  }
  auto op = Open(kByCountry);
  EXPECT_FALSE(op->durable().valid());
  auto out = Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"c - -> PL|1|1|1"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, ATransactionAcrossBatchesIsCommittedOnlyWhole) {
  auto op = Open(kByCountry);
  auto first = Tx(1000);
  first.Insert({"1", "PL", "1", "a"});
  auto out = Apply(*op, first.Open());
  EXPECT_TRUE(ViewChanges(out).empty()) << "nothing before the transaction ends";
  ASSERT_TRUE(op->Tick(Lsn(), false).ok());
  EXPECT_FALSE(op->durable().valid());
  out = Apply(*op, Tx(1000).Insert({"2", "PL", "2", "b"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"c - -> PL|2|3|2"}));
  EXPECT_EQ(op->durable(), Lsn(1008));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, WhenTheInputRunsDryTheStateIsCommittedSoon) {
  auto op = Open(kByCountry, std::chrono::hours(1));
  Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
  ASSERT_TRUE(op->Tick(Lsn(), false).ok());
  EXPECT_FALSE(op->durable().valid()) << "under load only every commit_interval";
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_TRUE(op->Tick(Lsn(), false).ok());
  EXPECT_FALSE(op->durable().valid());
  ASSERT_TRUE(op->Tick(Lsn(), true).ok());
  EXPECT_EQ(op->durable(), Lsn(1008)) << "idle: 50 ms after the last commit";
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, AFailedTransactionLeavesNothingOfItInTheState) {
  const char* kSums =
      "  - name: v\n    sql: SELECT country, count(*) AS n, sum(100 / id) AS s FROM customers "
      "GROUP BY country\n";
  {
    auto op = Open(kSums);
    std::vector<ChangeBatchPtr> out;
    Status s =
        op->Apply(Tx(1000).Insert({"1", "PL", "1", "a"}).Insert({"0", "PL", "1", "b"}).End(), &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_EQ(op->Apply(Tx(2000).Insert({"2", "PL", "1", "c"}).End(), &out).code(),
              StatusCode::kFailedPrecondition)
        << "a view stops at its first error";
    ASSERT_TRUE(op->Close().ok());
    EXPECT_FALSE(op->durable().valid());
  }
  // Started again, the state holds none of the failed transaction's first row.
  auto op = Open(kSums);
  EXPECT_FALSE(op->durable().valid());
  int rows = 0;
  ASSERT_TRUE(op->ForEachRow([&](const std::vector<sql::Value>&) {
                  ++rows;
                  return Status::OK();
                }).ok());
  EXPECT_EQ(rows, 0);
  auto out = Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"c - -> PL|1|100"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, ARuntimeErrorNamesTheViewTheKeyAndThePosition) {
  auto op = Open("  - name: v\n    sql: SELECT id, 100 / id AS inv FROM customers\n");
  std::vector<ChangeBatchPtr> out;
  Status s = op->Apply(Tx(1000).Insert({"0", "PL", "1", "a"}).End(), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("view views.v: c change of public.customers key (id=0) at "),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("on_error: dead_letter"), std::string::npos) << s.message();
}

TEST_F(ViewOperatorTest, ADeadLetterKeepsTheChangeAndTheViewGoesOn) {
  auto op = Open(
      "  - name: v\n    sql: SELECT id, 100 / id AS inv FROM customers\n"
      "    on_error: dead_letter\n");
  auto out = Apply(*op, Tx(1000).Insert({"0", "PL", "1", "a"}).Insert({"4", "PL", "1", "b"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"c - -> 4|25"}));
  std::ifstream f(dir_.File("dead") + "/views.v.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  EXPECT_NE(line.find("\"view\":\"views.v\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"error\":\"division by zero\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"after\":{\"id\":\"0\""), std::string::npos) << line;
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, AChangedDefinitionRebuildsTheViewStartingWithATruncate) {
  {
    auto op = Open(kByCountry);
    Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
    ASSERT_TRUE(op->Close().ok());
  }
  auto op = Open(
      "  - name: v\n    sql: SELECT country, count(*) AS n FROM customers GROUP BY "
      "country\n");
  EXPECT_FALSE(op->durable().valid()) << "rebuilt: empty";
  auto out = Apply(*op, Tx(2000).Read({"1", "PL", "1", "a"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"t - -> -", "c - -> PL|1"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, ASnapshotChunkOthersHoldStillBringsTheViewsOutput) {
  auto op = Open(kByCountry);
  auto chunk = Tx(1000);
  chunk.Read({"1", "PL", "1", "a"});
  auto batch = chunk.End();
  batch->set_held_by({"files"});
  auto out = Apply(*op, batch);
  ASSERT_EQ(out.size(), 2u);
  // The chunk itself, for the sinks that lack it, without its end…
  EXPECT_EQ(out[0]->held_by(), std::vector<std::string>{"files"});
  EXPECT_EQ(out[0]->changes().size(), 1u);
  EXPECT_TRUE(out[0]->markers().empty());
  // …then the view's output with the end, for every sink.
  EXPECT_TRUE(out[1]->held_by().empty());
  EXPECT_EQ(ViewChanges({out[1]}), (std::vector<std::string>{"c - -> PL|1|1|1"}));
  ASSERT_EQ(out[1]->markers().size(), 1u);
  EXPECT_EQ(out[1]->markers()[0].end_lsn, Lsn(1008));
  // A chunk the view holds passes untouched.
  auto again = Tx(2000);
  again.Read({"1", "PL", "1", "a"});
  auto b2 = again.End();
  b2->set_held_by({"view:views.v"});
  out = Apply(*op, b2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].get(), b2.get());
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, ARebuiltViewStartsPastWhatTheSinksHoldWithItsTruncate) {
  {
    auto op = Open(kByCountry);
    Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).End());
    ASSERT_TRUE(op->Tick(Lsn(1008), false).ok());
    ASSERT_TRUE(op->Close().ok());
  }
  // The sinks hold up to 2008; the source replays from 1008 for a slower holder.
  sinks_hold_ = Lsn(2008);
  auto op = Open(
      "  - name: v\n    sql: SELECT country, count(*) AS n FROM customers GROUP BY "
      "country\n");
  auto out = Apply(*op, Tx(2000).Insert({"2", "DE", "1", "b"}).End());
  EXPECT_TRUE(ViewChanges(out).empty()) << "a sink would skip it: the backfill brings it";
  // The backfill's chunk, at a later position: the truncate, then the rows.
  out = Apply(*op, Tx(3000).Read({"1", "PL", "1", "a"}).Read({"2", "DE", "1", "b"}).End());
  EXPECT_EQ(ViewChanges(out), (std::vector<std::string>{"t - -> -", "c - -> PL|1", "c - -> DE|1"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST_F(ViewOperatorTest, PeekListsTheCurrentRows) {
  auto op = Open(kByCountry);
  Apply(*op, Tx(1000).Insert({"1", "PL", "1", "a"}).Insert({"2", "DE", "5", "b"}).End());
  std::vector<std::string> rows;
  ASSERT_TRUE(op->ForEachRow([&](const std::vector<sql::Value>& r) {
                  std::string s;
                  for (const auto& v : r) {
                    if (!s.empty()) s += '|';
                    s += v.ToString();
                  }
                  rows.push_back(s);
                  return Status::OK();
                }).ok());
  EXPECT_EQ(rows, (std::vector<std::string>{"DE|1|5|5", "PL|1|1|1"}));
  ASSERT_TRUE(op->Close().ok());
}

TEST(ViewCompile, TextFollowsTheCollationOfItsColumns) {
  auto cols = CustomerColumns();
  cols[1].collation = "en_US.utf8";  // country; note stays C
  auto compiled = CompileWith(
      "  - name: v\n    sql: SELECT country, max(note) AS n, min(country) AS c, "
      "upper(country) AS u FROM customers WHERE country > 'M' AND note < 'x' GROUP BY country\n",
      cols);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  const sql::ViewPlan& plan = compiled.value()[0]->plan;
  ASSERT_TRUE(plan.where && plan.where->children.size() == 2);
  ASSERT_TRUE(plan.where->children[0].collation);
  EXPECT_EQ(plan.where->children[0].collation->name(), "en_US.utf8");
  EXPECT_FALSE(plan.where->children[1].collation) << "note is C: bytes";
  std::vector<std::string> aggregate_collations;
  for (const auto& a : plan.aggregates) {
    if (a.spec.kind != sql::AggregateKind::kMin && a.spec.kind != sql::AggregateKind::kMax)
      continue;
    aggregate_collations.push_back(a.spec.collation ? a.spec.collation->name() : "C");
  }
  EXPECT_EQ(aggregate_collations, (std::vector<std::string>{"C", "en_US.utf8"}));
  EXPECT_NE(compiled.value()[0]->fingerprint.find("collations: en_US.utf8"), std::string::npos);

  // A locale this machine lacks, or an ICU collation, is a clear error naming the column.
  for (const auto& [collation, expected] :
       {std::pair{"xx_XX.utf8",
                  "views.v: column country: collation \"xx_XX.utf8\" is not a "
                  "locale of this machine's C library"},
        std::pair{"pl-PL-x-icu",
                  "views.v: column country: collation \"pl-PL-x-icu\" is an ICU collation"}}) {
    cols[1].collation = collation;
    auto refused =
        CompileWith("  - name: v\n    sql: SELECT id FROM customers WHERE country > 'M'\n", cols);
    ASSERT_FALSE(refused.ok()) << collation;
    EXPECT_NE(refused.status().message().find(expected), std::string::npos)
        << refused.status().message();
  }
  // Equality and grouping are byte-exact in every deterministic collation: no locale needed.
  EXPECT_TRUE(CompileWith("  - name: v\n    sql: SELECT country, count(*) FROM customers GROUP "
                          "BY country\n",
                          cols)
                  .ok());
  // Two collations in one comparison: PostgreSQL cannot choose either.
  cols[1].collation = "en_US.utf8";
  cols[3].collation = "pl_PL.utf8";
  auto mixed =
      CompileWith("  - name: v\n    sql: SELECT id FROM customers WHERE country < note\n", cols);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("could not determine which collation to use"),
            std::string::npos)
      << mixed.status().message();
}

TEST(ViewCompile, ColumnsPassedOnKeepTheirTypeModifier) {
  auto r = CompileWith(
      "  - name: v\n    sql: SELECT balance, count(*) AS n, sum(balance) AS s FROM customers "
      "GROUP BY balance\n",
      CustomerColumns());
  ASSERT_TRUE(r.ok()) << r.status().message();
  const TableSchema& out = *r->back()->output_schema;
  EXPECT_EQ(out.columns[0].type.precision, 12);
  EXPECT_EQ(out.columns[0].type.scale, 2);
  EXPECT_EQ(out.columns[2].type.scale, -1) << "sum() is numeric without a modifier";
}

TEST(ViewCompile, ErrorsNameTheViewAndTheConfigLine) {
  auto r = CompileWith("  - name: v\n    sql: SELECT id, nope FROM customers\n", CustomerColumns());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "test.yaml:6:5: views[0]: view views.v: column \"nope\" does not exist\n"
            "  SELECT id, nope FROM customers\n"
            "             ^");
}

}  // namespace
}  // namespace walflow::view
