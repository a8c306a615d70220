// What snapshots hold in memory, run in this process against a real PostgreSQL: the
// exported snapshot's chunks of wide rows ahead of a slow delivery (bounded in bytes, not
// only in rows), and the keys the watermark method remembers while a chunk is in flight
// (bounded by the chunk, whatever the write rate).
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "pg/catalog.h"
#include "pg/connection.h"
#include "pg_server.h"
#include "runtime/snapshot.h"
#include "temp_dir.h"

namespace walflow::runtime {
namespace {

using std::chrono::milliseconds;
using walflow::test::PgConnection;
using walflow::test::PgServer;
using walflow::test::TempDir;

// This process's resident set, in bytes (VmRSS).
uint64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// The highest resident set seen while it lives, sampled every 2 ms.
class PeakResident {
 public:
  PeakResident() : base_(ResidentBytes()), peak_(base_) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        const uint64_t now = ResidentBytes();
        if (now > peak_.load()) peak_.store(now);
        std::this_thread::sleep_for(milliseconds(2));
      }
    });
  }
  ~PeakResident() { Stop(); }
  // Bytes above the resident set at construction.
  uint64_t Stop() {
    if (thread_.joinable()) {
      stop_.store(true);
      thread_.join();
    }
    return peak_.load() - base_;
  }

 private:
  const uint64_t base_;
  std::atomic<uint64_t> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

constexpr uint64_t kMiB = 1 << 20;

// 1500 rows of 100 kB (150 MB of COPY text; compressed in the table) in chunks of 600 rows
// (60 MB each), read by two connections for a delivery slower than the reading: before
// the byte bound, the readers held up to three whole chunks (~180 MB).
TEST(SnapshotMemoryTest, WideRowsAheadOfASlowDeliveryStayUnderTheByteLimit) {
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("snapmem");
  pg.Exec("CREATE TABLE wide (id bigint PRIMARY KEY, payload text)", db);
  pg.Exec("INSERT INTO wide SELECT g, repeat(md5(g::text), 3200) FROM generate_series(1, 1500) g",
          db);
  pg.Exec("ANALYZE wide", db);
  PgConnection exporter(pg.Dsn(db));
  exporter.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  const std::string snapshot = exporter.Scalar("SELECT pg_export_snapshot()");

  TempDir dir;
  ExportedSnapshotOptions o;
  o.dsn = Secret(pg.Dsn(db));
  o.snapshot_name = snapshot;
  o.consistent_point = Lsn(1ull << 40);
  o.tables = {{"public", "wide"}};
  o.parallelism = 2;
  o.chunk_rows = 600;
  o.state_path = dir.File("state.json");
  o.progress_interval = milliseconds(0);
  o.max_bytes_held = 24 * kMiB;

  uint64_t rows = 0, markers = 0, bytes = 0;
  SnapshotState state;
  // Blocks of a batch's size from mmap and back to the system when freed, so that the
  // resident set follows what is held (glibc would otherwise raise the threshold and keep
  // freed batches in its heap).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  PeakResident peak;
  Status s = RunExportedSnapshot(
      o,
      [&](std::shared_ptr<ChangeBatch> batch) {
        rows += batch->changes().size();
        markers += batch->markers().size();
        bytes += batch->byte_size();
        std::this_thread::sleep_for(milliseconds(40));  // a sink slower than the readers
        return Status::OK();
      },
      &state);
  const uint64_t held = peak.Stop();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(rows, 1500u);
  EXPECT_EQ(markers, 3u) << "one transaction per chunk";
  EXPECT_EQ(state.chunks.size(), 3u);
  EXPECT_GT(bytes, 140 * kMiB);
  // The limit, a batch in the making per reader, one being delivered and slack for the
  // allocator.
  EXPECT_LT(held, 64 * kMiB) << "peak resident bytes above the start: " << held / kMiB << " MiB";
}

// The watermark method driven by hand: the reader thread of an IncrementalSnapshot reads
// "public.t" (ids 1..100) between watermarks it writes into the WAL; the test reads them
// back through a test_decoding slot and plays the stream thread (Observe, OnMessage).
class WatermarkWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg_.CreateDatabase("snapwin");
    pg_.Exec("CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL)", db_);
    pg_.Exec("INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g", db_);
    pg_.Exec("SELECT pg_create_logical_replication_slot('" + slot_ + "', 'test_decoding')", db_);
    auto conn = pg::Connection::Open(pg_.Dsn(db_), pg::Connection::Kind::kSql, "test");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    pg::SqlCatalog catalog(conn_.get());
    auto table = pg::DescribeSnapshotTable(*conn_, &catalog, "public", "t");
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    schema_ = table->schema;
  }
  void TearDown() override { pg_.Exec("SELECT pg_drop_replication_slot('" + slot_ + "')", db_); }

  IncrementalSnapshotOptions Options() {
    IncrementalSnapshotOptions o;
    o.dsn = Secret(pg_.Dsn(db_));
    o.slot = "winslot";
    o.chunk_rows = 1000;
    o.state_path = dir_.File("state.json");
    o.tables = {"public.t"};
    return o;
  }

  // The id of the next watermark of `kind` the reader wrote, waiting up to 30 s.
  std::string NextWatermark(const std::string& kind) {
    static const std::regex re(
        "prefix: walflow_snapshot, sz: \\d+ content:winslot\\t(\\w+)\\t(\\d+)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      while (!seen_.empty()) {
        auto [k, id] = seen_.front();
        seen_.erase(seen_.begin());
        if (k == kind) return id;
      }
      for (const auto& row : pg_.Query(
               "SELECT data FROM pg_logical_slot_get_changes('" + slot_ + "', NULL, NULL)", db_)) {
        std::smatch m;
        const std::string data = row[0].value_or("");
        if (std::regex_search(data, m, re)) seen_.push_back({m[1].str(), m[2].str()});
      }
      if (seen_.empty()) std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "no " << kind << " watermark within 30 s";
    return "";
  }

  Status Watermark(IncrementalSnapshot& snap, const std::string& kind, const std::string& id,
                   Lsn commit) {
    const std::string content = "winslot\t" + kind + "\t" + id;
    pg::LogicalMessage m;
    m.transactional = true;
    m.lsn = commit;
    m.prefix = kWatermarkPrefix;
    m.content = content;
    return snap.OnMessage(
        m, commit, Xid(1000), 0, [] { return Status::OK(); },
        [&](std::shared_ptr<ChangeBatch> batch) {
          for (const Change& c : batch->changes()) {
            delivered_.push_back(std::string(batch->Text(batch->Row(c.after)[0])));
          }
          return Status::OK();
        });
  }

  // Updates of ids first .. first + count - 1, committed at `commit`, in batches.
  void ObserveUpdates(IncrementalSnapshot& snap, int64_t first, int64_t count, Lsn commit) {
    for (int64_t done = 0; done < count;) {
      ChangeBatch batch;
      batch.Retain(schema_);
      for (int i = 0; i < 4096 && done < count; ++i, ++done) {
        const int32_t row = batch.AddRow(2);
        batch.SetText(row, std::to_string(first + done));
        batch.SetText(row + 1, "1");
        Change& c = batch.AddChange();
        c.op = ChangeOp::kUpdate;
        c.table = schema_.get();
        c.after = row;
        c.commit_lsn = commit;
      }
      snap.Observe(batch);
    }
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  const std::string slot_ = "watermarks";
  TempDir dir_;
  std::unique_ptr<pg::Connection> conn_;
  TableSchemaPtr schema_;
  std::vector<std::pair<std::string, std::string>> seen_;
  std::vector<std::string> delivered_;
};

// A million keys of the table change during the window, two of them in the chunk: only
// those two are remembered (and dropped from the chunk), not the million.
TEST_F(WatermarkWindowTest, KeysOutsideTheChunkAreNotRemembered) {
  IncrementalSnapshot snap(Options(), SnapshotState{}, {{"files", Lsn(0)}}, Lsn());
  ASSERT_TRUE(snap.AddTable("public.t").ok());
  ASSERT_TRUE(snap.Start().ok());
  ASSERT_TRUE(Watermark(snap, "low", NextWatermark("low"), Lsn(100)).ok());
  const std::string high = NextWatermark("high");  // the chunk is read
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  malloc_trim(0);
  PeakResident peak;
  ObserveUpdates(snap, 1000000, 1000000, Lsn(200));
  ObserveUpdates(snap, 5, 1, Lsn(200));
  ObserveUpdates(snap, 7, 1, Lsn(200));
  const uint64_t grown = peak.Stop();
  ASSERT_TRUE(Watermark(snap, "high", high, Lsn(300)).ok());
  EXPECT_EQ(delivered_.size(), 98u);
  EXPECT_EQ(std::count(delivered_.begin(), delivered_.end(), "5"), 0);
  EXPECT_EQ(std::count(delivered_.begin(), delivered_.end(), "7"), 0);
  EXPECT_EQ(std::count(delivered_.begin(), delivered_.end(), "8"), 1);
  EXPECT_LT(grown, 16 * kMiB) << "grew by " << grown / kMiB << " MiB";
  EXPECT_TRUE(snap.error().ok()) << snap.error().ToString();
}

// While the chunk is still being read (its index locked), changed keys are remembered up to
// max_pending_key_bytes; past it the window is given up and the chunk read again.
TEST_F(WatermarkWindowTest, TooManyKeysWhileTheChunkIsReadMeansReadingItAgain) {
  IncrementalSnapshotOptions o = Options();
  o.max_pending_key_bytes = 1 * kMiB;
  IncrementalSnapshot snap(o, SnapshotState{}, {{"files", Lsn(0)}}, Lsn());
  PgConnection locker(pg_.Dsn(db_));
  // The chunk's SELECT plans with the key's index and waits; the catalog queries before
  // the low watermark do not.
  locker.Exec("BEGIN; REINDEX INDEX t_pkey");
  ASSERT_TRUE(snap.AddTable("public.t").ok());
  ASSERT_TRUE(snap.Start().ok());
  ASSERT_TRUE(Watermark(snap, "low", NextWatermark("low"), Lsn(100)).ok());
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  malloc_trim(0);
  PeakResident peak;
  ObserveUpdates(snap, 1000000, 1000000, Lsn(200));
  const uint64_t grown = peak.Stop();
  locker.Exec("COMMIT");
  ASSERT_TRUE(Watermark(snap, "high", NextWatermark("high"), Lsn(300)).ok());
  EXPECT_TRUE(delivered_.empty()) << "the window was given up";
  EXPECT_FALSE(snap.finished());
  // The chunk again, with no change meanwhile: every row.
  ASSERT_TRUE(Watermark(snap, "low", NextWatermark("low"), Lsn(400)).ok());
  ASSERT_TRUE(Watermark(snap, "high", NextWatermark("high"), Lsn(500)).ok());
  EXPECT_EQ(delivered_.size(), 100u);
  EXPECT_LT(grown, 16 * kMiB) << "grew by " << grown / kMiB << " MiB";
  EXPECT_TRUE(snap.error().ok()) << snap.error().ToString();
}

}  // namespace
}  // namespace walflow::runtime
