// ChangeAssembler driven through its decoder with pgoutput bytes and a fake catalog:
// change events, their positions, transaction markers, streamed transactions (with
// spilling), and batch boundaries.
#include "pg/change_assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "pg/pgoutput_builder.h"
#include "unit_test_util.h"

namespace walflow::pg {
namespace {

// A counter or gauge the assembler reports (no labels).
double MetricOf(const ChangeAssembler& assembler, const char* name) {
  const MetricsSnapshot snapshot = assembler.metrics().Snapshot();
  const MetricSample* sample = snapshot.Find(name, {});
  return sample ? sample->value : -1;
}

using test::N;
using test::T;
using test::U;
using test::WireRelationColumn;

constexpr uint32_t kOrders = 16384;   // public.orders (id int4 PK, note, amount, mood)
constexpr uint32_t kOther = 16400;    // public.other (k int4, v text), no primary key
constexpr uint32_t kSkipped = 16500;  // public.skipped, never in options.tables when filtered
constexpr uint32_t kMood = 90001;     // enum public.mood
constexpr int32_t kNumeric10_2 = (10 << 16 | 2) + 4;

const char* const kNull = "<null>";
const char* const kToast = "<toast>";

std::vector<WireRelationColumn> OrdersColumns() {
  return {{"id", 23, -1, true},
          {"note", 25, -1, false},
          {"amount", 1700, kNumeric10_2, false},
          {"mood", kMood, -1, false}};
}
std::vector<WireRelationColumn> OtherColumns() {
  return {{"k", 23, -1, false}, {"v", 25, -1, false}};
}

std::string RelOrders(std::optional<uint32_t> xid = std::nullopt) {
  return test::WireRelation(kOrders, "public", "orders", 'd', OrdersColumns(), xid);
}
std::string RelOther(std::optional<uint32_t> xid = std::nullopt) {
  return test::WireRelation(kOther, "public", "other", 'd', OtherColumns(), xid);
}

class FakeCatalog : public Catalog {
 public:
  FakeCatalog() {
    PgTypeInfo mood;
    mood.oid = Oid(kMood);
    mood.nspname = "public";
    mood.name = "mood";
    mood.typtype = 'e';
    mood.typcategory = 'E';
    mood.enum_labels = {"happy", "sad"};
    types[kMood] = mood;
    columns[kOrders] = {
        {"id", true, 0}, {"note", false, -1}, {"amount", false, -1}, {"mood", false, -1}};
    columns[kOther] = {{"k", false, -1}, {"v", false, -1}};
  }
  Result<PgTypeInfo> DescribeType(Oid type) override {
    ++describe_type_calls;
    auto it = types.find(type.value);
    if (it == types.end()) return NotFound("no type " + std::to_string(type.value));
    return it->second;
  }
  Result<std::vector<PgColumnInfo>> DescribeColumns(Oid relid) override {
    ++describe_columns_calls;
    if (!fail_columns.ok()) return fail_columns;
    auto it = columns.find(relid.value);
    if (it == columns.end()) return std::vector<PgColumnInfo>{};
    return it->second;
  }

  std::map<uint32_t, PgTypeInfo> types;
  std::map<uint32_t, std::vector<PgColumnInfo>> columns;
  Status fail_columns;
  int describe_type_calls = 0;
  int describe_columns_calls = 0;
};

// One change with its values copied out of the batch.
struct FlatChange {
  char op = 0;
  std::string table;
  // Schema versions are unique in the process, so tests compare their rank among the
  // versions seen by one assembler: 1 for the oldest schema, 2 for the next, ...
  uint32_t version = 0;
  std::vector<std::string> before, after;  // empty when the image is absent
  uint64_t lsn = 0, commit_lsn = 0;
  uint32_t seq = 0, xid = 0;
  int64_t commit_time_us = 0;
  bool operator==(const FlatChange&) const = default;
};

struct FlatMarker {
  size_t change_end = 0;  // over all batches
  uint64_t commit_lsn = 0, end_lsn = 0;
  uint32_t xid = 0;
  int64_t commit_time_us = 0;
  uint32_t change_count = 0;
  bool operator==(const FlatMarker&) const = default;
};

void PrintTo(const FlatChange& c, std::ostream* os) {
  *os << c.op << " " << c.table << " v" << c.version << " lsn=" << std::hex << c.lsn
      << " commit=" << c.commit_lsn << std::dec << " seq=" << c.seq << " xid=" << c.xid
      << " t=" << c.commit_time_us << " before=[";
  for (const auto& v : c.before) *os << v << ",";
  *os << "] after=[";
  for (const auto& v : c.after) *os << v << ",";
  *os << "]";
}
void PrintTo(const FlatMarker& m, std::ostream* os) {
  *os << "marker@" << m.change_end << " commit=" << std::hex << m.commit_lsn << " end=" << m.end_lsn
      << std::dec << " xid=" << m.xid << " t=" << m.commit_time_us << " n=" << m.change_count;
}

std::vector<std::string> RowOf(const ChangeBatch& b, int32_t first, size_t ncols) {
  std::vector<std::string> out;
  if (first < 0) return out;
  const Datum* row = b.Row(first);
  for (size_t i = 0; i < ncols; ++i) {
    switch (row[i].kind) {
      case Datum::Kind::kNull: out.emplace_back(kNull); break;
      case Datum::Kind::kUnchangedToast: out.emplace_back(kToast); break;
      case Datum::Kind::kText: out.emplace_back(b.Text(row[i])); break;
    }
  }
  return out;
}

class Harness {
 public:
  explicit Harness(AssemblerOptions options, Catalog* catalog)
      : assembler_(std::move(options), catalog, [this](std::shared_ptr<ChangeBatch> b) {
          batches.push_back(std::move(b));
          return consumer_status;
        }) {}

  Status Feed(uint64_t wal, const std::string& message) {
    return assembler_.decoder().Consume(Lsn(wal), message);
  }

  ChangeAssembler& assembler() { return assembler_; }

  // Flushes and flattens everything handed on so far, checking batch invariants.
  void Collect() {
    ASSERT_TRUE(assembler_.Flush().ok());
    changes.clear();
    markers.clear();
    for (const auto& b : batches) {
      EXPECT_FALSE(b->empty()) << "an empty batch was handed on";
      const size_t base = changes.size();
      size_t prev_end = 0;
      for (const TxMarker& m : b->markers()) {
        EXPECT_LE(m.change_end, b->changes().size());
        EXPECT_GE(m.change_end, prev_end) << "markers out of order within a batch";
        prev_end = m.change_end;
        markers.push_back({base + m.change_end, m.commit_lsn.value, m.end_lsn.value, m.xid.value,
                           m.commit_time_us, m.change_count});
      }
      for (const Change& c : b->changes()) {
        FlatChange f;
        f.op = static_cast<char>(c.op);
        f.table = c.table->QualifiedName();
        f.version = c.table->version;
        f.before = RowOf(*b, c.before, c.table->columns.size());
        f.after = RowOf(*b, c.after, c.table->columns.size());
        f.lsn = c.lsn.value;
        f.commit_lsn = c.commit_lsn.value;
        f.seq = c.seq;
        f.xid = c.xid.value;
        f.commit_time_us = c.commit_time_us;
        changes.push_back(std::move(f));
      }
    }
    std::vector<uint32_t> versions;
    for (const auto& c : changes) versions.push_back(c.version);
    std::sort(versions.begin(), versions.end());
    versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
    for (auto& c : changes) {
      c.version = static_cast<uint32_t>(
          std::lower_bound(versions.begin(), versions.end(), c.version) - versions.begin() + 1);
    }
  }

  std::vector<std::shared_ptr<ChangeBatch>> batches;
  std::vector<FlatChange> changes;
  std::vector<FlatMarker> markers;
  Status consumer_status;

 private:
  ChangeAssembler assembler_;
};

#define FEED(h, wal, msg) ASSERT_TRUE((h).Feed((wal), (msg)).ok()) << "feeding " #msg

// Unix microseconds of a pgoutput time (µs since 2000-01-01).
int64_t Unix(int64_t pg_us) { return pg_us + test::kPgEpochUnixMicros; }

class ChangeAssemblerTest : public ::testing::Test {
 protected:
  AssemblerOptions Options() {
    AssemblerOptions o;
    o.spool_dir = dir_.path();
    return o;
  }
  test::ScratchDir dir_;
  FakeCatalog catalog_;
};

TEST_F(ChangeAssemblerTest, InsertUpdateDeleteTruncateInOneTransaction) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x100, test::WireBegin(0x200, 5000000, 700));
  FEED(h, 0x100, RelOrders());
  FEED(h, 0x110, test::WireInsert(kOrders, {T("1"), T("first"), T("10.50"), T("happy")}));
  FEED(h, 0x120, test::WireUpdate(kOrders, 0, {}, {T("1"), T("changed"), N(), T("sad")}));
  FEED(h, 0x130, test::WireDelete(kOrders, 'K', {T("1"), N(), N(), N()}));
  FEED(h, 0x140, test::WireTruncate({kOrders}, 0));
  EXPECT_TRUE(h.assembler().in_transaction());
  FEED(h, 0x200, test::WireCommit(0x200, 0x218, 5000001));
  EXPECT_FALSE(h.assembler().in_transaction());
  h.Collect();

  const int64_t t = Unix(5000000);  // the Begin's commit time stamps every change
  const std::vector<FlatChange> expected = {
      {'c', "public.orders", 1, {}, {"1", "first", "10.50", "happy"}, 0x110, 0x200, 1, 700, t},
      {'u', "public.orders", 1, {}, {"1", "changed", kNull, "sad"}, 0x120, 0x200, 2, 700, t},
      {'d', "public.orders", 1, {"1", kNull, kNull, kNull}, {}, 0x130, 0x200, 3, 700, t},
      {'t', "public.orders", 1, {}, {}, 0x140, 0x200, 4, 700, t},
  };
  EXPECT_EQ(h.changes, expected);
  ASSERT_EQ(h.markers.size(), 1u);
  EXPECT_EQ(h.markers[0], (FlatMarker{4, 0x200, 0x218, 700, Unix(5000001), 4}));
  EXPECT_EQ(h.assembler().last_end_lsn(), Lsn(0x218));
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_changes_total"), 4u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_transactions_total"), 1u);
}

TEST_F(ChangeAssemblerTest, SchemaComesFromRelationAndCatalog) {
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOrders());
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), N()}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  ASSERT_EQ(h.batches.size(), 1u);
  const TableSchema& t = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(t.relid, Oid(kOrders));
  EXPECT_EQ(t.schema, "public");
  EXPECT_EQ(t.name, "orders");
  EXPECT_EQ(t.replica_identity, 'd');
  ASSERT_EQ(t.columns.size(), 4u);
  EXPECT_EQ(t.columns[0].name, "id");
  EXPECT_EQ(t.columns[0].type.kind, ValueKind::kInt32);
  EXPECT_FALSE(t.columns[0].optional);  // NOT NULL in the catalog
  EXPECT_TRUE(t.columns[0].replica_key);
  EXPECT_EQ(t.columns[0].primary_key_position, 0);
  EXPECT_EQ(t.columns[1].type.kind, ValueKind::kString);
  EXPECT_TRUE(t.columns[1].optional);
  EXPECT_FALSE(t.columns[1].replica_key);
  EXPECT_EQ(t.columns[2].type.kind, ValueKind::kDecimal);
  EXPECT_EQ(t.columns[2].type.precision, 10);
  EXPECT_EQ(t.columns[2].type.scale, 2);
  EXPECT_EQ(t.columns[3].type.kind, ValueKind::kEnum);
  EXPECT_EQ(t.columns[3].type.type_name, "public.mood");
  EXPECT_EQ(t.columns[3].type.enum_labels, (std::vector<std::string>{"happy", "sad"}));
  EXPECT_EQ(t.key_columns, std::vector<int>{0});
  EXPECT_EQ(catalog_.describe_type_calls, 1);  // only the enum; built-ins need no lookup
}

TEST_F(ChangeAssemblerTest, CompositePrimaryKeyFollowsTheCatalogOrder) {
  catalog_.columns[kOther] = {{"k", true, 1}, {"v", true, 0}};
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  // The server flags the primary key's columns (REPLICA IDENTITY DEFAULT) in attnum order.
  FEED(h, 1,
       test::WireRelation(kOther, "public", "other", 'd',
                          {{"k", 23, -1, true}, {"v", 25, -1, true}}));
  FEED(h, 2, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  const TableSchema& t = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(t.key_columns, (std::vector<int>{1, 0}));
}

TEST_F(ChangeAssemblerTest, ReplicaIdentityIndexServesAsKeyWithoutPrimaryKey) {
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1,
       test::WireRelation(kOther, "public", "other", 'i',
                          {{"k", 23, -1, false}, {"v", 25, -1, true}}));
  FEED(h, 2, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  EXPECT_EQ(h.batches[0]->changes()[0].table->key_columns, std::vector<int>{1});
}

TEST_F(ChangeAssemblerTest, TableWithoutKeyHasNoKeyColumns) {
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOther());
  FEED(h, 2, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  EXPECT_TRUE(h.batches[0]->changes()[0].table->key_columns.empty());
}

TEST_F(ChangeAssemblerTest, WithoutCatalogBuiltinTypesResolveAndOthersFallBackToText) {
  Harness h(Options(), nullptr);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOrders());
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), T("happy")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  const TableSchema& t = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(t.columns[0].type.kind, ValueKind::kInt32);
  EXPECT_EQ(t.columns[2].type.kind, ValueKind::kDecimal);
  EXPECT_EQ(t.columns[3].type.kind, ValueKind::kText);
  // Under REPLICA IDENTITY DEFAULT the key flag marks the primary key: NOT NULL.
  EXPECT_FALSE(t.columns[0].optional);
  EXPECT_EQ(t.key_columns, std::vector<int>{0});
  EXPECT_TRUE(t.columns[1].optional);  // nothing says NOT NULL
  EXPECT_EQ(h.changes[0].after[3], "happy");
}

TEST_F(ChangeAssemblerTest, CatalogFailureNamesTheTable) {
  catalog_.fail_columns = Unavailable("connection lost");
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  Status s = h.Feed(1, RelOrders());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("public.orders"), std::string::npos) << s.message();
}

// A type dropped after the change was written (the slot lags) must not stop the pipeline
// for good: the column is described as text, named as the server's Type message named it.
TEST_F(ChangeAssemblerTest, TypeNoLongerInTheCatalogFallsBackToText) {
  catalog_.types.clear();
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, test::WireType(kMood, "public", "mood"));
  FEED(h, 1, RelOrders());
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), T("happy")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  // Without a Type message the OID is all there is to name it.
  FEED(h, 4, test::WireBegin(0x20, 0, 2));
  FEED(h, 4, RelOther());
  FEED(h, 4,
       test::WireRelation(kOther, "public", "other", 'd',
                          {{"k", 23, -1, false}, {"v", 91234, -1, false}}));
  FEED(h, 5, test::WireInsert(kOther, {T("1"), T("(1,2)")}));
  FEED(h, 6, test::WireCommit(0x20, 0x28, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 2u);
  const TableSchema& orders = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(orders.columns[3].type.kind, ValueKind::kText);
  EXPECT_EQ(orders.columns[3].type.type_oid, Oid(kMood));
  EXPECT_EQ(orders.columns[3].type.type_name, "public.mood");
  EXPECT_EQ(h.changes[0].after[3], "happy");
  const TableSchema& other = *h.batches[0]->changes()[1].table;
  EXPECT_EQ(other.columns[1].type.kind, ValueKind::kText);
  EXPECT_EQ(other.columns[1].type.type_name, "oid 91234");
  EXPECT_EQ(h.changes[1].after[1], "(1,2)");
}

TEST_F(ChangeAssemblerTest, OtherCatalogFailuresForATypeStillStop) {
  // The server is unreachable: retrying later may well pass, so the error is passed on.
  class Unreachable : public FakeCatalog {
   public:
    Result<PgTypeInfo> DescribeType(Oid) override { return Unavailable("connection lost"); }
  } catalog;
  Harness h(Options(), &catalog);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  Status s = h.Feed(1, RelOrders());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("public.orders"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mood"), std::string::npos) << s.message();
}

// The type's name in events is the one the change was decoded with (a Type message), not
// the catalog's current one (ALTER TYPE ... RENAME since).
TEST_F(ChangeAssemblerTest, TypeNameComesFromTheTypeMessage) {
  catalog_.types[kMood].name = "renamed_mood";
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, test::WireType(kMood, "public", "mood"));
  FEED(h, 1, RelOrders());
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), T("happy")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  const TableSchema& t = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(t.columns[3].type.kind, ValueKind::kEnum);
  EXPECT_EQ(t.columns[3].type.type_name, "public.mood");
}

// What walflow learned about a type survives a restart (type_memory_file): a change decoded
// after the type was dropped is described as before, an enum with its labels.
TEST_F(ChangeAssemblerTest, RememberedTypeDescribesChangesAfterItWasDropped) {
  AssemblerOptions o = Options();
  o.type_memory_file = dir_.File("types");
  auto mood_of_first_change = [&](Harness& h) {
    FEED(h, 1, test::WireBegin(0x10, 0, 1));
    FEED(h, 1, test::WireType(kMood, "public", "mood"));
    FEED(h, 1, RelOrders());
    FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), T("sad")}));
    FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
    h.Collect();
    ASSERT_FALSE(h.batches.empty());
    const ValueType& mood = h.batches[0]->changes()[0].table->columns[3].type;
    EXPECT_EQ(mood.kind, ValueKind::kEnum);
    EXPECT_EQ(mood.type_name, "public.mood");
    EXPECT_EQ(mood.enum_labels, (std::vector<std::string>{"happy", "sad"}));
  };
  {
    Harness h(o, &catalog_);
    mood_of_first_change(h);
  }
  catalog_.types.clear();  // DROP TYPE mood, while walflow was down
  {
    Harness h(o, &catalog_);  // a restart: a new assembler reading the same file
    mood_of_first_change(h);
  }
  // Without the file the restart can only fall back to text.
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOrders());
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), N(), N(), T("sad")}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.batches[0]->changes()[0].table->columns[3].type.kind, ValueKind::kText);
  EXPECT_EQ(h.changes[0].after[3], "sad");
}

// Under REPLICA IDENTITY DEFAULT the Relation message's key flags are the primary key as of
// the change; the catalog may have another one by now (ALTER TABLE ... ADD PRIMARY KEY).
TEST_F(ChangeAssemblerTest, PrimaryKeyComesFromTheRelationMessage) {
  catalog_.columns[kOrders] = {
      {"id", false, -1}, {"note", true, 0}, {"amount", false, -1}, {"mood", false, -1}};
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOrders());  // flags id
  FEED(h, 2, test::WireInsert(kOrders, {T("1"), T("n"), N(), N()}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  // Without key flags under the default identity, the table had no primary key then.
  catalog_.columns[kOther] = {{"k", true, 0}, {"v", false, -1}};
  FEED(h, 4, test::WireBegin(0x20, 0, 2));
  FEED(h, 4, RelOther());
  FEED(h, 5, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 6, test::WireCommit(0x20, 0x28, 0));
  h.Collect();
  const TableSchema& orders = *h.batches[0]->changes()[0].table;
  EXPECT_EQ(orders.key_columns, std::vector<int>{0});
  EXPECT_EQ(orders.columns[0].primary_key_position, 0);
  EXPECT_FALSE(orders.columns[0].optional);
  EXPECT_EQ(orders.columns[1].primary_key_position, -1);
  const TableSchema& other = *h.batches[0]->changes()[1].table;
  EXPECT_TRUE(other.key_columns.empty());
}

// NOT NULL is taken from a catalog column only if it has the change's type: a column
// dropped and added again under the same name is another column.
TEST_F(ChangeAssemblerTest, NotNullOnlyFromACatalogColumnOfTheSameType) {
  catalog_.columns[kOther] = {{"k", true, -1, Oid(23)}, {"v", true, -1, Oid(23)}};  // v: int now
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOther());  // v text
  FEED(h, 2, test::WireInsert(kOther, {T("1"), N()}));
  FEED(h, 3, test::WireCommit(0x10, 0x18, 0));
  h.Collect();
  const TableSchema& t = *h.batches[0]->changes()[0].table;
  EXPECT_FALSE(t.columns[0].optional);
  EXPECT_TRUE(t.columns[1].optional);
}

TEST_F(ChangeAssemblerTest, PrimaryKeyChangeBecomesDeleteAndCreate) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOrders());
  FEED(h, 0x20,
       test::WireUpdate(kOrders, 'K', {T("1"), N(), N(), N()},
                        {T("2"), T("moved"), T("1.00"), T("sad")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[0].op, 'd');
  EXPECT_EQ(h.changes[0].before, (std::vector<std::string>{"1", kNull, kNull, kNull}));
  EXPECT_TRUE(h.changes[0].after.empty());
  EXPECT_EQ(h.changes[0].seq, 1u);
  EXPECT_EQ(h.changes[1].op, 'c');
  EXPECT_TRUE(h.changes[1].before.empty());
  EXPECT_EQ(h.changes[1].after, (std::vector<std::string>{"2", "moved", "1.00", "sad"}));
  EXPECT_EQ(h.changes[1].seq, 2u);
  EXPECT_EQ(h.changes[0].lsn, 0x20u);
  EXPECT_EQ(h.changes[1].lsn, 0x20u);
  ASSERT_EQ(h.markers.size(), 1u);
  EXPECT_EQ(h.markers[0].change_count, 2u);
  EXPECT_EQ(h.markers[0].change_end, 2u);
}

TEST_F(ChangeAssemblerTest, ReplicaIdentityIndexChangeWithUnchangedPrimaryKeyIsAnUpdate) {
  // With REPLICA IDENTITY USING INDEX on a unique index other than the primary key, the
  // server sends a 'K' old tuple holding only the index columns (the primary key columns
  // arrive as 'n'). An update that keeps the primary key must stay an update, not become
  // a delete (whose key would be {"id":null}) and a create.
  Harness h(Options(), &catalog_);  // the catalog says: primary key (id)
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10,
       test::WireRelation(kOrders, "public", "orders", 'i',
                          {{"id", 23, -1, false},
                           {"note", 25, -1, true},  // the unique replica identity index
                           {"amount", 1700, kNumeric10_2, false},
                           {"mood", kMood, -1, false}}));
  FEED(h, 0x20,
       test::WireUpdate(kOrders, 'K', {N(), T("old note"), N(), N()},
                        {T("1"), T("new note"), T("1.00"), T("sad")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.changes[0].op, 'u');
  EXPECT_EQ(h.changes[0].after[0], "1");
}

TEST_F(ChangeAssemblerTest, FullRowUpdateWithSameKeyIsAnUpdateWithBefore) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOrders());
  FEED(h, 0x20,
       test::WireUpdate(kOrders, 'O', {T("1"), T("a"), T("1.00"), T("sad")},
                        {T("1"), T("b"), T("1.00"), T("sad")}));
  // A key-only old tuple with an unchanged key: an update, and Debezium has no before.
  FEED(h, 0x30,
       test::WireUpdate(kOrders, 'K', {T("1"), N(), N(), N()},
                        {T("1"), T("c"), T("1.00"), T("sad")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[0].op, 'u');
  EXPECT_EQ(h.changes[0].before, (std::vector<std::string>{"1", "a", "1.00", "sad"}));
  EXPECT_EQ(h.changes[0].after[1], "b");
  EXPECT_EQ(h.changes[1].op, 'u');
  EXPECT_TRUE(h.changes[1].before.empty());
  EXPECT_EQ(h.changes[1].after[1], "c");
}

TEST_F(ChangeAssemblerTest, FullRowUpdateOfKeylessTableIsAnUpdate) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, test::WireRelation(kOther, "public", "other", 'f', OtherColumns()));
  FEED(h, 0x20, test::WireUpdate(kOther, 'O', {T("1"), T("a")}, {T("2"), T("b")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.changes[0].op, 'u');
  EXPECT_EQ(h.changes[0].before, (std::vector<std::string>{"1", "a"}));
  EXPECT_EQ(h.changes[0].after, (std::vector<std::string>{"2", "b"}));
}

TEST_F(ChangeAssemblerTest, UnchangedToastTakesTheValueFromAWholeOldRow) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, test::WireRelation(kOrders, "public", "orders", 'f', OrdersColumns()));
  const std::string big(5000, 'z');
  FEED(h, 0x20,
       test::WireUpdate(kOrders, 'O', {T("1"), T(big), T("1.00"), T("sad")},
                        {T("1"), U(), T("2.00"), T("sad")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.changes[0].op, 'u');
  EXPECT_EQ(h.changes[0].after, (std::vector<std::string>{"1", big, "2.00", "sad"}));
  EXPECT_EQ(h.changes[0].before[1], big);
}

TEST_F(ChangeAssemblerTest, UnchangedToastStaysUnchangedWithKeyOrNoOldTuple) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOrders());
  FEED(h, 0x20, test::WireUpdate(kOrders, 0, {}, {T("1"), U(), T("2.00"), T("sad")}));
  // With a key-only old tuple the server sends no value of the other columns (and the key
  // changed: delete + create; the create still marks the column unchanged).
  FEED(h, 0x30,
       test::WireUpdate(kOrders, 'K', {T("1"), N(), N(), N()}, {T("3"), U(), T("2.00"), T("sad")}));
  // Even a 'K' tuple carrying text in that position must not leak into the new row.
  FEED(h, 0x40,
       test::WireUpdate(kOrders, 'K', {T("3"), T("stale"), N(), N()},
                        {T("4"), U(), T("2.00"), T("sad")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 5u);
  EXPECT_EQ(h.changes[0].op, 'u');
  EXPECT_EQ(h.changes[0].after[1], kToast);
  EXPECT_EQ(h.changes[2].op, 'c');
  EXPECT_EQ(h.changes[2].after[1], kToast);
  EXPECT_EQ(h.changes[4].op, 'c');
  EXPECT_EQ(h.changes[4].after[1], kToast);
}

TEST_F(ChangeAssemblerTest, SecondRelationMessageGivesANewSchemaVersion) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOther());
  FEED(h, 0x20, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  // ALTER TABLE other ADD COLUMN w int8
  FEED(h, 0x200, test::WireBegin(0x300, 0, 6));
  FEED(h, 0x200,
       test::WireRelation(kOther, "public", "other", 'd',
                          {{"k", 23, -1, false}, {"v", 25, -1, false}, {"w", 20, -1, false}}));
  FEED(h, 0x210, test::WireInsert(kOther, {T("2"), T("b"), T("99")}));
  // A row laid out for the old schema no longer fits.
  Status s = h.Feed(0x220, test::WireInsert(kOther, {T("3"), T("c")}));
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("public.other"), std::string::npos) << s.message();
  FEED(h, 0x300, test::WireCommit(0x300, 0x308, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[0].after, (std::vector<std::string>{"1", "a"}));
  EXPECT_EQ(h.changes[1].after, (std::vector<std::string>{"2", "b", "99"}));
  EXPECT_GT(h.changes[1].version, h.changes[0].version);
  // The first change still points at the schema it was decoded with.
  const Change& first = h.batches.front()->changes().front();
  EXPECT_EQ(first.table->columns.size(), 2u);
  const Change& second = h.batches.back()->changes().back();
  EXPECT_EQ(second.table->columns.size(), 3u);
  EXPECT_EQ(second.table->columns[2].type.kind, ValueKind::kInt64);
}

TEST_F(ChangeAssemblerTest, MalformedStreamsAreErrors) {
  {
    Harness h(Options(), &catalog_);
    FEED(h, 1, test::WireBegin(0x10, 0, 1));
    Status s = h.Feed(2, test::WireInsert(kOrders, {T("1"), N(), N(), N()}));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "insert before its Relation message";
    EXPECT_NE(s.message().find(std::to_string(kOrders)), std::string::npos) << s.message();
  }
  {
    Harness h(Options(), &catalog_);
    EXPECT_FALSE(h.Feed(1, test::WireCommit(0x10, 0x18, 0)).ok()) << "commit without begin";
  }
  {
    Harness h(Options(), &catalog_);
    FEED(h, 1, test::WireBegin(0x10, 0, 1));
    EXPECT_FALSE(h.Feed(2, test::WireBegin(0x20, 0, 2)).ok()) << "begin inside a transaction";
  }
  {
    Harness h(Options(), &catalog_);
    FEED(h, 1, test::WireBegin(0x10, 0, 1));
    FEED(h, 1, RelOther());
    Status s = h.Feed(2, test::WireInsert(kOther, {T("1"), test::B("\x01")}));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "binary values were never asked for";
    EXPECT_NE(s.message().find("column v"), std::string::npos) << s.message();
  }
}

TEST_F(ChangeAssemblerTest, ConsumerErrorStopsDecoding) {
  AssemblerOptions o = Options();
  o.batch_max_changes = 1;
  Harness h(o, &catalog_);
  h.consumer_status = Unavailable("sink queue closed");
  FEED(h, 1, test::WireBegin(0x10, 0, 1));
  FEED(h, 1, RelOther());
  Status s = h.Feed(2, test::WireInsert(kOther, {T("1"), T("a")}));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
}

TEST_F(ChangeAssemblerTest, StreamedTransactionCommitsAfterTheOneInBetween) {
  Harness h(Options(), &catalog_);
  // Streamed transaction 800, first segment.
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x100, RelOrders(800));
  FEED(h, 0x110, test::WireInsert(kOrders, {T("10"), T("s1"), T("1.00"), T("happy")}, 800));
  FEED(h, 0x120, test::WireInsert(kOrders, {T("11"), T("s2"), T("1.00"), T("happy")}, 800));
  FEED(h, 0x130, test::WireStreamStop());
  EXPECT_TRUE(h.batches.empty() || h.batches.back()->changes().empty());
  // Transaction 900 commits meanwhile.
  FEED(h, 0x140, test::WireBegin(0x200, 100, 900));
  FEED(h, 0x140, RelOther());
  FEED(h, 0x150, test::WireInsert(kOther, {T("1"), T("x")}));
  FEED(h, 0x200, test::WireCommit(0x200, 0x210, 100));
  // Second segment, then the commit.
  FEED(h, 0x300, test::WireStreamStart(800, false));
  FEED(h, 0x310, test::WireDelete(kOrders, 'K', {T("10"), N(), N(), N()}, 800));
  FEED(h, 0x320, test::WireStreamStop());
  FEED(h, 0x400, test::WireStreamCommit(800, 0x400, 0x410, 200));
  h.Collect();

  const std::vector<FlatChange> expected = {
      // The streamed transaction's Relation message only takes effect at its commit.
      {'c', "public.other", 1, {}, {"1", "x"}, 0x150, 0x200, 1, 900, Unix(100)},
      {'c', "public.orders", 2, {}, {"10", "s1", "1.00", "happy"}, 0x110, 0x400, 1, 800, Unix(200)},
      {'c', "public.orders", 2, {}, {"11", "s2", "1.00", "happy"}, 0x120, 0x400, 2, 800, Unix(200)},
      {'d', "public.orders", 2, {"10", kNull, kNull, kNull}, {}, 0x310, 0x400, 3, 800, Unix(200)},
  };
  EXPECT_EQ(h.changes, expected);
  const std::vector<FlatMarker> markers = {{1, 0x200, 0x210, 900, Unix(100), 1},
                                           {4, 0x400, 0x410, 800, Unix(200), 3}};
  EXPECT_EQ(h.markers, markers);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_streamed_transactions_total"), 1u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_transactions_total"), 2u);
  EXPECT_EQ(h.assembler().last_end_lsn(), Lsn(0x410));
}

TEST_F(ChangeAssemblerTest, StreamAbortOfTheWholeTransactionDropsItsChanges) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x100, RelOrders(800));
  FEED(h, 0x110, test::WireInsert(kOrders, {T("10"), T("s1"), T("1.00"), T("happy")}, 800));
  FEED(h, 0x118, test::WireInsert(kOrders, {T("11"), T("s1"), T("1.00"), T("happy")}, 801));
  FEED(h, 0x120, test::WireStreamStop());
  FEED(h, 0x130, test::WireStreamAbort(800, 800));
  FEED(h, 0x140, test::WireBegin(0x200, 0, 900));
  FEED(h, 0x140, RelOrders());
  FEED(h, 0x150, test::WireInsert(kOrders, {T("1"), T("kept"), T("1.00"), T("happy")}));
  FEED(h, 0x200, test::WireCommit(0x200, 0x210, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 1u);
  EXPECT_EQ(h.changes[0].after[1], "kept");
  EXPECT_EQ(h.changes[0].xid, 900u);
  ASSERT_EQ(h.markers.size(), 1u);
  EXPECT_EQ(h.markers[0].xid, 900u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_aborted_streams_total"), 1u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_streamed_transactions_total"), 0u);
}

TEST_F(ChangeAssemblerTest, StreamAbortOfASubtransactionDropsOnlyItsChanges) {
  Harness h(Options(), &catalog_);
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x110, test::WireRelation(kOther, "public", "other", 'd', OtherColumns(), 800));
  FEED(h, 0x111, test::WireInsert(kOther, {T("1"), T("top")}, 800));
  // SAVEPOINT a; the Relation of orders arrives inside subtransaction 801.
  FEED(h, 0x120, RelOrders(801));
  FEED(h, 0x121, test::WireInsert(kOrders, {T("2"), T("in 801"), T("1.00"), T("sad")}, 801));
  FEED(h, 0x122, test::WireInsert(kOther, {T("3"), T("in 801")}, 801));
  FEED(h, 0x130, test::WireStreamStop());
  // ROLLBACK TO a.
  FEED(h, 0x140, test::WireStreamAbort(800, 801));
  FEED(h, 0x150, test::WireStreamStart(800, false));
  // The server does not resend the Relation of orders for this transaction.
  FEED(h, 0x151, test::WireInsert(kOrders, {T("4"), T("in 802"), T("1.00"), T("sad")}, 802));
  FEED(h, 0x152, test::WireInsert(kOther, {T("5"), T("top again")}, 800));
  FEED(h, 0x160, test::WireStreamStop());
  FEED(h, 0x200, test::WireStreamCommit(800, 0x200, 0x210, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 3u);
  EXPECT_EQ(h.changes[0].after, (std::vector<std::string>{"1", "top"}));
  EXPECT_EQ(h.changes[1].table, "public.orders");
  EXPECT_EQ(h.changes[1].after[1], "in 802");
  EXPECT_EQ(h.changes[2].after, (std::vector<std::string>{"5", "top again"}));
  for (size_t i = 0; i < h.changes.size(); ++i) {
    EXPECT_EQ(h.changes[i].xid, 800u);
    EXPECT_EQ(h.changes[i].seq, i + 1);
    EXPECT_EQ(h.changes[i].commit_lsn, 0x200u);
  }
  ASSERT_EQ(h.markers.size(), 1u);
  EXPECT_EQ(h.markers[0].change_count, 3u);
}

TEST_F(ChangeAssemblerTest, AbortOfUnknownStreamIsIgnored) {
  Harness h(Options(), &catalog_);
  FEED(h, 1, test::WireStreamAbort(12345, 12346));
  FEED(h, 1, test::WireStreamAbort(12345, 12345));
  h.Collect();
  EXPECT_TRUE(h.changes.empty());
  EXPECT_TRUE(h.markers.empty());
}

TEST_F(ChangeAssemblerTest, TablesOutsideTheListAreIgnored) {
  AssemblerOptions o = Options();
  o.tables = {"public.orders"};
  Harness h(o, &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOther());
  FEED(h, 0x10, RelOrders());
  FEED(h, 0x20, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 0x21, test::WireUpdate(kOther, 'O', {T("1"), T("a")}, {T("1"), T("b")}));
  FEED(h, 0x22, test::WireDelete(kOther, 'O', {T("1"), T("b")}));
  FEED(h, 0x30, test::WireInsert(kOrders, {T("1"), N(), N(), N()}));
  FEED(h, 0x40, test::WireTruncate({kOther, kOrders}, 0));
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  // Also inside a streamed transaction.
  FEED(h, 0x200, test::WireStreamStart(900, true));
  FEED(h, 0x200, test::WireRelation(kSkipped, "public", "skipped", 'd', OtherColumns(), 900));
  FEED(h, 0x210, test::WireInsert(kSkipped, {T("1"), T("a")}, 900));
  FEED(h, 0x220, test::WireStreamStop());
  FEED(h, 0x300, test::WireStreamCommit(900, 0x300, 0x308, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 2u);
  EXPECT_EQ(h.changes[0].op, 'c');
  EXPECT_EQ(h.changes[0].table, "public.orders");
  EXPECT_EQ(h.changes[0].seq, 1u);
  EXPECT_EQ(h.changes[1].op, 't');
  EXPECT_EQ(h.changes[1].table, "public.orders");
  EXPECT_EQ(h.changes[1].seq, 2u);
  // Both transactions still end with a marker, so the position advances.
  ASSERT_EQ(h.markers.size(), 2u);
  EXPECT_EQ(h.markers[0].change_count, 2u);
  EXPECT_EQ(h.markers[1].end_lsn, 0x308u);
  EXPECT_EQ(h.markers[1].change_count, 0u);
  EXPECT_EQ(catalog_.describe_columns_calls, 1) << "ignored tables need no catalog lookups";
}

TEST_F(ChangeAssemblerTest, AdvanceIdleEmitsWatermarksOnlyOutsideTransactionsAndForward) {
  Harness h(Options(), &catalog_);
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x50)).ok());
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x50)).ok());  // same position: nothing
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x40)).ok());  // backwards: nothing
  EXPECT_EQ(h.assembler().last_end_lsn(), Lsn(0x50));
  FEED(h, 0x60, test::WireBegin(0x100, 0, 7));
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x70)).ok());  // inside a transaction: nothing
  FEED(h, 0x60, RelOther());
  FEED(h, 0x80, test::WireInsert(kOther, {T("1"), T("a")}));
  FEED(h, 0x100, test::WireCommit(0x100, 0x110, 0));
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x108)).ok());  // behind the commit end
  ASSERT_TRUE(h.assembler().AdvanceIdle(Lsn(0x180)).ok());
  // A non-transactional logical message (the heartbeat) is a watermark too.
  FEED(h, 0x1A0, test::WireLogicalMessage(false, 0x1A0, "walflow", "hb"));
  // A transactional one inside a transaction is not.
  FEED(h, 0x1B0, test::WireBegin(0x1C0, 0, 8));
  FEED(h, 0x1B8, test::WireLogicalMessage(true, 0x1B8, "app", "x"));
  h.Collect();
  const std::vector<FlatMarker> expected = {
      {0, 0x50, 0x50, 0, 0, 0},
      {1, 0x100, 0x110, 7, Unix(0), 1},
      {1, 0x180, 0x180, 0, 0, 0},
      {1, 0x1A0, 0x1A0, 0, 0, 0},
  };
  EXPECT_EQ(h.markers, expected);
  EXPECT_EQ(h.assembler().last_end_lsn(), Lsn(0x1A0));
}

TEST_F(ChangeAssemblerTest, SpoolSpillsToAFileAndIsRemovedAfterCommit) {
  AssemblerOptions o = Options();
  o.spool_memory_limit = 64;
  Harness h(o, &catalog_);
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x100, RelOrders(800));
  for (int i = 0; i < 20; ++i) {
    FEED(h, 0x110 + i,
         test::WireInsert(kOrders, {T(std::to_string(i)), T("row"), T("1.00"), T("sad")}, 800));
  }
  FEED(h, 0x200, test::WireStreamStop());
  EXPECT_EQ(dir_.List(), std::vector<std::string>{"xact-800.spool"});
  FEED(h, 0x300, test::WireStreamCommit(800, 0x300, 0x310, 0));
  EXPECT_TRUE(dir_.List().empty()) << "the spool file outlived its transaction";
  h.Collect();
  ASSERT_EQ(h.changes.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(h.changes[i].after[0], std::to_string(i));
    EXPECT_EQ(h.changes[i].lsn, 0x110u + i);
    EXPECT_EQ(h.changes[i].seq, static_cast<uint32_t>(i + 1));
  }
}

TEST_F(ChangeAssemblerTest, StatsCountSpooledBytes) {
  // bug reported: AssemblerStats::spooled_bytes ("currently held in spools") is never
  // updated by ChangeAssembler; it stays 0 while a streamed transaction is spooled.
  Harness h(Options(), &catalog_);
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x100, RelOrders(800));
  FEED(h, 0x110, test::WireInsert(kOrders, {T("1"), N(), N(), N()}, 800));
  FEED(h, 0x120, test::WireStreamStop());
  EXPECT_GT(MetricOf(h.assembler(), "walflow_source_spooled_bytes"), 0u);
  FEED(h, 0x200, test::WireStreamCommit(800, 0x200, 0x210, 0));
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_spooled_bytes"), 0u);
}

// Bytes the spools hold in memory: what they hold minus what their files hold.
uint64_t SpoolMemory(const ChangeAssembler& a, const test::ScratchDir& dir) {
  uint64_t on_disk = 0;
  for (const auto& name : dir.List()) on_disk += std::filesystem::file_size(dir.File(name));
  return static_cast<uint64_t>(MetricOf(a, "walflow_source_spooled_bytes")) - on_disk;
}

// spool_memory_limit bounds the memory of every open streamed transaction together: many
// concurrent ones, each below the limit, do not multiply it. The largest go to disk first.
TEST_F(ChangeAssemblerTest, SpoolMemoryLimitHoldsForAllOpenStreamsTogether) {
  AssemblerOptions o = Options();
  o.spool_memory_limit = 4096;
  Harness h(o, &catalog_);
  constexpr int kStreams = 64;
  constexpr int kRows = 20;
  const std::string value(100, 'v');
  uint64_t peak = 0;
  uint64_t wal = 0x1000;
  for (int round = 0; round < kRows; ++round) {
    for (int x = 0; x < kStreams; ++x) {
      const uint32_t xid = 1000 + x;
      FEED(h, wal, test::WireStreamStart(xid, round == 0));
      if (round == 0) {
        FEED(h, wal, RelOther(xid));
      }
      // Stream 0 writes ten times as much: it is the first to go to disk.
      for (int k = 0; k < (x == 0 ? 10 : 1); ++k) {
        FEED(h, ++wal, test::WireInsert(kOther, {T(std::to_string(round)), T(value)}, xid));
      }
      FEED(h, ++wal, test::WireStreamStop());
      peak = std::max(peak, SpoolMemory(h.assembler(), dir_));
    }
  }
  EXPECT_LE(peak, 4096u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_spool_memory_bytes"),
            SpoolMemory(h.assembler(), dir_));
  EXPECT_LE(MetricOf(h.assembler(), "walflow_source_spool_memory_bytes"), 4096u);
  const auto files = dir_.List();
  EXPECT_FALSE(files.empty());
  EXPECT_TRUE(std::count(files.begin(), files.end(), "xact-1000.spool")) << "largest first";
  // Every transaction still commits whole, in commit order, from memory or disk.
  for (int x = kStreams - 1; x >= 0; --x) {
    wal += 0x10;
    FEED(h, wal, test::WireStreamCommit(1000 + x, wal, wal + 8, 0));
  }
  EXPECT_TRUE(dir_.List().empty());
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_spooled_bytes"), 0u);
  EXPECT_EQ(MetricOf(h.assembler(), "walflow_source_spool_memory_bytes"), 0u);
  h.Collect();
  ASSERT_EQ(h.changes.size(), static_cast<size_t>((kStreams - 1) * kRows + 10 * kRows));
  EXPECT_EQ(h.changes.front().xid, 1000u + kStreams - 1);
  EXPECT_EQ(h.changes.back().xid, 1000u);
  EXPECT_EQ(h.changes.back().seq, 10u * kRows);
}

TEST_F(ChangeAssemblerTest, SpoolFileIsRemovedAfterAbort) {
  AssemblerOptions o = Options();
  o.spool_memory_limit = 64;
  Harness h(o, &catalog_);
  FEED(h, 0x100, test::WireStreamStart(800, true));
  FEED(h, 0x100, RelOrders(800));
  for (int i = 0; i < 5; ++i) {
    FEED(h, 0x110 + i, test::WireInsert(kOrders, {T(std::to_string(i)), N(), N(), N()}, 800));
  }
  FEED(h, 0x200, test::WireStreamStop());
  EXPECT_FALSE(dir_.List().empty());
  FEED(h, 0x210, test::WireStreamAbort(800, 800));
  EXPECT_TRUE(dir_.List().empty());
}

// The same stream of messages, for the parameterised runs below: an ordinary transaction
// with every kind of row change, a streamed transaction with a subtransaction abort and
// another transaction committing in between, a heartbeat and a truncate.
struct ScenarioResult {
  std::vector<FlatChange> changes;
  std::vector<FlatMarker> markers;
  size_t batches = 0;
};

ScenarioResult RunScenario(AssemblerOptions options, Catalog* catalog) {
  ScenarioResult out;
  Harness h(std::move(options), catalog);
  auto feed = [&](uint64_t wal, const std::string& m) {
    Status s = h.Feed(wal, m);
    EXPECT_TRUE(s.ok()) << s.ToString();
  };
  feed(0x0F00, test::WireBegin(0x1000, 1000, 700));
  feed(0x0F00, RelOrders());
  feed(0x0F00, RelOther());
  feed(0x0F10, test::WireInsert(kOrders, {T("1"), T("first"), T("10.50"), T("happy")}));
  feed(0x0F20, test::WireInsert(kOther, {T("1"), T("x")}));
  feed(0x0F30, test::WireUpdate(kOrders, 'O', {T("1"), T("first"), T("10.50"), T("happy")},
                                {T("1"), U(), T("11.00"), T("sad")}));
  feed(0x0F40, test::WireUpdate(kOrders, 'K', {T("1"), N(), N(), N()},
                                {T("2"), T("second"), T("11.00"), T("sad")}));
  feed(0x0F50, test::WireDelete(kOrders, 'K', {T("2"), N(), N(), N()}));
  feed(0x1000, test::WireCommit(0x1000, 0x1010, 1000));

  feed(0x1100, test::WireStreamStart(800, true));
  feed(0x1100, RelOrders(800));
  feed(0x1110, test::WireInsert(kOrders, {T("10"), T("s1"), T("1.00"), T("happy")}, 800));
  feed(0x1120, test::WireInsert(kOrders, {T("11"), T("sub"), T("1.00"), T("happy")}, 801));
  feed(0x1130, test::WireInsert(kOrders, {T("12"), T("sub"), T("1.00"), T("happy")}, 801));
  feed(0x1140, test::WireStreamStop());

  feed(0x1180, test::WireBegin(0x1200, 2000, 900));
  feed(0x1190, test::WireInsert(kOther, {T("2"), T("y")}));
  feed(0x11A0, test::WireTruncate({kOther}, 0));
  feed(0x1200, test::WireCommit(0x1200, 0x1210, 2000));

  feed(0x1220, test::WireStreamAbort(800, 801));
  feed(0x1300, test::WireStreamStart(800, false));
  feed(0x1300, test::WireInsert(kOrders, {T("13"), T("after abort"), T("2.00"), T("sad")}, 802));
  feed(0x1310,
       test::WireUpdate(kOrders, 0, {}, {T("10"), T("s1 changed"), T("1.00"), T("happy")}, 800));
  feed(0x1320, test::WireStreamStop());
  feed(0x1400, test::WireStreamCommit(800, 0x1400, 0x1410, 3000));

  feed(0x1500, test::WireLogicalMessage(false, 0x1500, "walflow", "heartbeat"));

  feed(0x1600, test::WireBegin(0x1600, 4000, 1000));
  feed(0x1600, test::WireTruncate({kOrders, kOther}, 0));
  feed(0x1600, test::WireCommit(0x1600, 0x1610, 4000));
  h.Collect();
  out.changes = h.changes;
  out.markers = h.markers;
  out.batches = h.batches.size();
  return out;
}

std::vector<FlatChange> ExpectedScenarioChanges() {
  const std::vector<std::string> none;
  const auto t1 = Unix(1000), t2 = Unix(2000), t3 = Unix(3000), t4 = Unix(4000);
  return {
      {'c', "public.orders", 1, none, {"1", "first", "10.50", "happy"}, 0x0F10, 0x1000, 1, 700, t1},
      {'c', "public.other", 2, none, {"1", "x"}, 0x0F20, 0x1000, 2, 700, t1},
      {'u',
       "public.orders",
       1,
       {"1", "first", "10.50", "happy"},
       {"1", "first", "11.00", "sad"},
       0x0F30,
       0x1000,
       3,
       700,
       t1},
      {'d', "public.orders", 1, {"1", kNull, kNull, kNull}, none, 0x0F40, 0x1000, 4, 700, t1},
      {'c', "public.orders", 1, none, {"2", "second", "11.00", "sad"}, 0x0F40, 0x1000, 5, 700, t1},
      {'d', "public.orders", 1, {"2", kNull, kNull, kNull}, none, 0x0F50, 0x1000, 6, 700, t1},
      {'c', "public.other", 2, none, {"2", "y"}, 0x1190, 0x1200, 1, 900, t2},
      {'t', "public.other", 2, none, none, 0x11A0, 0x1200, 2, 900, t2},
      {'c', "public.orders", 3, none, {"10", "s1", "1.00", "happy"}, 0x1110, 0x1400, 1, 800, t3},
      {'c',
       "public.orders",
       3,
       none,
       {"13", "after abort", "2.00", "sad"},
       0x1300,
       0x1400,
       2,
       800,
       t3},
      {'u',
       "public.orders",
       3,
       none,
       {"10", "s1 changed", "1.00", "happy"},
       0x1310,
       0x1400,
       3,
       800,
       t3},
      {'t', "public.orders", 3, none, none, 0x1600, 0x1600, 1, 1000, t4},
      {'t', "public.other", 2, none, none, 0x1600, 0x1600, 2, 1000, t4},
  };
}

std::vector<FlatMarker> ExpectedScenarioMarkers() {
  return {
      {6, 0x1000, 0x1010, 700, Unix(1000), 6},   {8, 0x1200, 0x1210, 900, Unix(2000), 2},
      {11, 0x1400, 0x1410, 800, Unix(3000), 3},  {11, 0x1500, 0x1500, 0, 0, 0},
      {13, 0x1600, 0x1610, 1000, Unix(4000), 2},
  };
}

TEST_F(ChangeAssemblerTest, ScenarioInOneBatch) {
  ScenarioResult r = RunScenario(Options(), &catalog_);
  EXPECT_EQ(r.changes, ExpectedScenarioChanges());
  EXPECT_EQ(r.markers, ExpectedScenarioMarkers());
  EXPECT_EQ(r.batches, 1u);
}

// batch_max_changes, spool_memory_limit
class ChangeAssemblerBatchingTest
    : public ChangeAssemblerTest,
      public ::testing::WithParamInterface<std::tuple<size_t, size_t>> {};

TEST_P(ChangeAssemblerBatchingTest, SameChangesWhateverTheBatchSizeOrSpoolLimit) {
  AssemblerOptions o = Options();
  o.batch_max_changes = std::get<0>(GetParam());
  o.spool_memory_limit = std::get<1>(GetParam());
  ScenarioResult r = RunScenario(o, &catalog_);
  EXPECT_EQ(r.changes, ExpectedScenarioChanges());
  EXPECT_EQ(r.markers, ExpectedScenarioMarkers());
  if (o.batch_max_changes <= 2) {
    EXPECT_GE(r.batches, ExpectedScenarioChanges().size() / 2);
  }
  EXPECT_TRUE(dir_.List().empty()) << "spool files left behind";
}

INSTANTIATE_TEST_SUITE_P(BatchAndSpool, ChangeAssemblerBatchingTest,
                         ::testing::Combine(::testing::Values(size_t{1}, size_t{2}, size_t{3},
                                                              size_t{2048}),
                                            ::testing::Values(size_t{64}, size_t{4} << 20)),
                         [](const auto& info) {
                           return "batch" + std::to_string(std::get<0>(info.param)) + "_spool" +
                                  std::to_string(std::get<1>(info.param));
                         });

// Datum offsets are 32-bit: the assembler starts a new batch before a change would take
// its values past the bound (ChangeBatch::kMaxBytes, lowered here), and a single change that
// cannot fit even an empty batch is an error naming its table.
TEST_F(ChangeAssemblerTest, BatchValueBytesNeverPassTheHardBound) {
  AssemblerOptions o = Options();
  o.batch_max_bytes = size_t{1} << 40;  // the soft limit never flushes here
  o.batch_max_changes = 1 << 20;
  o.batch_hard_max_bytes = 1000;
  Harness h(o, &catalog_);
  FEED(h, 0x10, test::WireBegin(0x100, 0, 5));
  FEED(h, 0x10, RelOther());
  for (int i = 0; i < 10; ++i) {
    FEED(h, 0x20 + i, test::WireInsert(kOther, {T(std::to_string(i)), T(std::string(300, 'v'))}));
  }
  FEED(h, 0x100, test::WireCommit(0x100, 0x108, 0));
  h.Collect();
  ASSERT_EQ(h.changes.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(h.changes[i].after[0], std::to_string(i));
  EXPECT_GE(h.batches.size(), 4u);
  for (const auto& b : h.batches) EXPECT_LE(b->value_bytes(), 1000u);

  FEED(h, 0x200, test::WireBegin(0x300, 0, 6));
  Status s = h.Feed(0x210, test::WireInsert(kOther, {T("big"), T(std::string(2000, 'v'))}));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("public.other"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("bytes"), std::string::npos) << s.message();
}

TEST_F(ChangeAssemblerTest, TinyByteLimitFlushesAfterEveryChange) {
  AssemblerOptions o = Options();
  o.batch_max_bytes = 1;
  ScenarioResult r = RunScenario(o, &catalog_);
  EXPECT_EQ(r.changes, ExpectedScenarioChanges());
  EXPECT_EQ(r.markers, ExpectedScenarioMarkers());
  EXPECT_GT(r.batches, 5u);
}

}  // namespace
}  // namespace walflow::pg
