// What snapshots hold in memory, run in this process against a real PostgreSQL: the
// exported snapshot's chunks of wide rows ahead of a slow delivery (bounded in bytes, not
// only in rows), and the keys the watermark method remembers while a chunk is in flight
// (bounded by the chunk, whatever the write rate).
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

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
  o.dsn = pg.Dsn(db);
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

}  // namespace
}  // namespace walflow::runtime
