// The Parquet sink in an S3 store: s3rver behind S3's rules (Signature V4, multipart parts
// of at least 5 MiB), started by the S3Server fixture; what the sink wrote is listed and
// downloaded with the fixture's own client (the AWS SDK), read with DuckDB and replayed
// against PostgreSQL. Also: wrong credentials and a missing bucket, a store that is down or
// does not answer for a while, and kill -9 in the middle of a multipart upload.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "lake_test_util.h"
#include "s3_server.h"

namespace walflow::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr char kBucket[] = "lake";
constexpr char kPrefix[] = "cdc/run1";

uint32_t Seed() { return static_cast<uint32_t>(Clock::now().time_since_epoch().count() % 100000); }

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// Lines of the server's log for requests on multipart uploads: upload id -> what happened
// ("part" for each part stored, "complete", "abort").
std::map<std::string, std::vector<std::string>> MultipartActivity(const std::string& log) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    // "<time> METHOD URL STATUS <ms>ms"
    std::istringstream fields(line);
    std::string time, method, url, status;
    if (!(fields >> time >> method >> url >> status)) continue;
    const size_t id_at = url.find("uploadId=");
    if (id_at == std::string::npos || status.rfind("2", 0) != 0) continue;
    std::string id = url.substr(id_at + 9);
    id = id.substr(0, id.find('&'));
    if (method == "PUT" && Contains(url, "partNumber=")) out[id].push_back("part");
    if (method == "POST") out[id].push_back("complete");
    if (method == "DELETE") out[id].push_back("abort");
  }
  return out;
}

// Upload ids with parts stored and neither completed nor aborted, per the server's log.
std::set<std::string> UploadsInProgress(const std::string& log) {
  std::set<std::string> out;
  for (const auto& [id, what] : MultipartActivity(log)) {
    if (std::count(what.begin(), what.end(), "part") > 0 &&
        std::find(what.begin(), what.end(), "complete") == what.end() &&
        std::find(what.begin(), what.end(), "abort") == what.end()) {
      out.insert(id);
    }
  }
  return out;
}

class ParquetS3Test : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg_.CreateDatabase("s3lake"); }

  // Starts the server (its credentials: `options`) and creates the bucket.
  void StartServer(S3ServerOptions options = {}) {
    server_ = std::make_unique<S3Server>(std::move(options));
    server_->Start();
    server_->CreateBucket(kBucket);
  }

  // A pipeline whose only sink is a parquet sink "lake" at s3://lake/cdc/run1 on the server.
  PipelineSpec Spec(const std::vector<std::string>& tables) {
    PipelineSpec spec;
    spec.db = db_;
    for (const auto& t : tables) spec.tables.push_back("public." + t);
    spec.jsonl_sink = false;
    spec.status_interval = "100ms";
    ParquetSinkSpec p;
    p.path = std::string("s3://") + kBucket + "/" + kPrefix;
    p.max_file_age = "1s";
    p.flush_interval = "200ms";
    p.s3_endpoint = server_->endpoint();
    p.s3_region = server_->region();
    p.s3_access_key_id = server_->access_key_id();
    p.s3_secret_access_key = server_->secret_access_key();
    p.s3_timeout = "5s";
    spec.parquet_sinks = {p};
    return spec;
  }

  // Everything under the sink's prefix, downloaded into a new folder of `into`, with the
  // sink's layout (public.t/..., _walflow/commits/...).
  fs::path Download(const TempDir& into, const std::string& name = "lake") {
    const fs::path dir = into.path() / name;
    fs::create_directories(dir);
    server_->Download(kBucket, std::string(kPrefix) + "/", dir);
    return dir;
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
  std::unique_ptr<S3Server> server_;
};

// An initial snapshot and changes: the objects are where the layout says, the commit
// records are there, and the replay of the downloaded files gives the tables.
TEST_F(ParquetS3Test, SnapshotAndChangesReplayFromTheBucket) {
  StartServer();
  pg_.Exec(
      "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), qty int);"
      "INSERT INTO items SELECT g, 'item ' || g, g * 1.25, g % 7 FROM generate_series(1, 500) g;"
      "CREATE TABLE tags (item int, tag text, PRIMARY KEY (item, tag))",
      db_);
  PipelineSpec spec = Spec({"items", "tags"});
  spec.snapshot = "initial";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  pg_.Exec("UPDATE items SET price = price * 2, name = NULL WHERE id % 5 = 0", db_);
  pg_.Exec("DELETE FROM items WHERE id % 9 = 0", db_);
  pg_.Exec("INSERT INTO items VALUES (1000, 'new', 0.01, NULL)", db_);
  pg_.Exec("INSERT INTO tags SELECT g, 'tag ' || (g % 3) FROM generate_series(1, 50) g", db_);
  pg_.Exec(
      "BEGIN; DELETE FROM tags WHERE item < 10; UPDATE items SET qty = -1 WHERE id = 1; "
      "COMMIT",
      db_);
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  for (const auto& key : server_->ListKeys(kBucket)) {
    EXPECT_EQ(key.rfind(std::string(kPrefix) + "/", 0), 0u) << key << " outside the prefix";
  }
  TempDir local("walflow-s3-download");
  const fs::path lake = Download(local);
  const LakeListing listing = ListLake(lake);
  EXPECT_FALSE(listing.commit_records.empty());
  EXPECT_TRUE(listing.uncommitted.empty()) << Join(listing.uncommitted);
  EXPECT_TRUE(listing.temporary.empty() && listing.other.empty())
      << Join(listing.temporary) << " " << Join(listing.other);
  LakeTable items, tags;
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.items", {"id"}, {}, &items));
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.tags", {"item", "tag"}, {}, &tags));
  EXPECT_TRUE(NoDuplicatePositions({items, tags}));
  size_t reads = 0;
  for (const auto& r : items.rows) reads += r.op == "r";
  EXPECT_EQ(reads, 500u);
  EXPECT_TRUE(CommitRecordsConsistent(lake, listing));
  EXPECT_TRUE(server_->ListMultipartUploads(kBucket).empty());

  // `walflow check` reads the position from the bucket. (Its exit code is checked by the
  // local CheckReportsThePosition, where the case that fails it is made deterministic.)
  const std::string position = ReadCommitRecord(lake, listing.newest_commit).value("position", "");
  ProcessResult check = RunProcess({WalflowBinary(), "check", pipeline.config_path()}, seconds(60));
  EXPECT_TRUE(Contains(check.out, std::string("ok   sink lake (s3://") + kBucket + "/" + kPrefix +
                                      ") holds changes up to " + position + "\n"))
      << position << "\n"
      << check.out;
}

// 30 MB of incompressible text in one file with 5 MB parts: the server refuses parts under
// 5 MiB but the last, so a complete object proves the parts; no upload is left open.
TEST_F(ParquetS3Test, LargeFilesUploadInParts) {
  StartServer();
  pg_.Exec("CREATE TABLE blobs (id int PRIMARY KEY, body text)", db_);
  PipelineSpec spec = Spec({"blobs"});
  ParquetSinkSpec& p = spec.parquet_sinks[0];
  p.compression = "none";
  p.s3_part_size = "5MB";
  p.row_group_size = "1MB";
  // The file rolls after the third transaction (a file is durable only once complete).
  p.max_file_size = "25MB";
  p.max_file_age = "60s";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  // 1 MB of hex digits per row, 10 rows per transaction.
  for (int t = 0; t < 3; ++t) {
    pg_.Exec(
        "INSERT INTO blobs SELECT g, (SELECT string_agg(md5(random()::text || g || r), '') "
        "FROM generate_series(1, 32768) r) FROM generate_series(" +
            std::to_string(t * 10 + 1) + ", " + std::to_string(t * 10 + 10) + ") g",
        db_);
  }
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());

  std::vector<S3ObjectInfo> objects = server_->ListObjects(kBucket, std::string(kPrefix) + "/");
  int64_t largest = 0;
  for (const auto& o : objects) {
    if (LakeFileCommit(o.key) > 0) largest = std::max(largest, o.size);
  }
  EXPECT_GT(largest, 25ll << 20) << "the rows should be in one file";
  size_t parts = 0, completed = 0;
  for (const auto& [id, what] : MultipartActivity(server_->Log())) {
    parts += std::count(what.begin(), what.end(), "part");
    completed += std::count(what.begin(), what.end(), "complete");
  }
  std::printf("parquet s3 multipart: largest object %lld bytes, %zu parts in %zu uploads\n",
              static_cast<long long>(largest), parts, completed);
  EXPECT_GE(parts, 5u);
  EXPECT_GE(completed, 1u);
  EXPECT_TRUE(server_->ListMultipartUploads(kBucket).empty());
  TempDir local("walflow-s3-download");
  const fs::path lake = Download(local);
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.blobs", {"id"},
                               {{"id"}, {"body", "md5(body)", "md5(body)"}}));
  EXPECT_TRUE(CommitRecordsConsistent(lake, ListLake(lake)));
}

// Credentials the store refuses: walflow stops at once, says the credentials are refused,
// and never prints a secret.
TEST_F(ParquetS3Test, WrongCredentialsStopWithoutPrintingTheSecret) {
  S3ServerOptions options;
  options.access_key_id = "WALFLOWTESTKEY";
  options.secret_access_key = "real-secret-7c1f0b2e";
  StartServer(options);
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY)", db_);
  PipelineSpec spec = Spec({"t"});
  spec.parquet_sinks[0].s3_secret_access_key = "wrong-secret-93ab6d4c";
  WalflowPipeline pipeline(pg_, spec);
  for (const std::string variant : {"wrong secret", "unknown key id"}) {
    SCOPED_TRACE(variant);
    if (variant == "unknown key id") {
      pipeline.Reconfigure([](PipelineSpec& s) {
        s.parquet_sinks[0].s3_access_key_id = "NOSUCHKEYID";
        s.parquet_sinks[0].s3_secret_access_key = "real-secret-7c1f0b2e";
      });
    }
    const auto started = Clock::now();
    pipeline.Start();
    auto code = pipeline.WaitExit(seconds(30));
    ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
    EXPECT_NE(*code, 0);
    EXPECT_LT(Clock::now() - started, seconds(10)) << "not refused at once";
    const std::string err = pipeline.LastStderr();
    EXPECT_TRUE(Contains(err, "sink lake")) << err;
    EXPECT_TRUE(Contains(err, "credentials")) << err;
    const std::string out = pipeline.process()->Stdout() + err;
    for (const std::string secret : {"wrong-secret-93ab6d4c", "real-secret-7c1f0b2e"}) {
      EXPECT_FALSE(Contains(out, secret)) << "the secret appears in walflow's output:\n" << out;
    }
  }
}

// A bucket that does not exist: walflow stops naming it.
TEST_F(ParquetS3Test, MissingBucketStopsNamingIt) {
  StartServer();
  pg_.Exec("CREATE TABLE t (id int PRIMARY KEY)", db_);
  PipelineSpec spec = Spec({"t"});
  spec.parquet_sinks[0].path = "s3://no-such-bucket/cdc";
  WalflowPipeline pipeline(pg_, spec);
  const auto started = Clock::now();
  pipeline.Start();
  auto code = pipeline.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(pipeline.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_LT(Clock::now() - started, seconds(10));
  const std::string err = pipeline.LastStderr();
  EXPECT_TRUE(Contains(err, "sink lake")) << err;
  EXPECT_TRUE(Contains(err, "'no-such-bucket'")) << err;
  EXPECT_TRUE(Contains(err, "does not exist")) << err;
}

// Runs a RandomWorkload for `duration` while `outage` runs on this thread (the server's
// process must be driven from the thread that started it), then checks exactly once.
void OutageWhileWriting(PgServer& pg, const std::string& db, S3Server& server,
                        WalflowPipeline& pipeline, milliseconds duration,
                        const std::function<void()>& outage) {
  const std::vector<std::string> tables = {"ledger"};
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomWorkload workload(pg.Dsn(db), tables, seed);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const auto until = Clock::now() + duration;
    while (!stop.load() && Clock::now() < until) {
      workload.RunFor(milliseconds(1), &stop);
      std::this_thread::sleep_for(milliseconds(10));
    }
  });
  outage();
  const bool survived = pipeline.Running();
  writer.join();
  ASSERT_TRUE(survived) << "walflow exited during the outage:\n" << Tail(pipeline.Stderr());
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  EXPECT_TRUE(Contains(pipeline.Stderr(), "retrying")) << Tail(pipeline.Stderr());

  TempDir local("walflow-s3-download");
  const fs::path lake = local.path() / "lake";
  fs::create_directories(lake);
  server.Download(kBucket, std::string(kPrefix) + "/", lake);
  const LakeListing listing = ListLake(lake);
  EXPECT_TRUE(listing.uncommitted.empty()) << Join(listing.uncommitted);
  LakeTable table =
      ReadLakeTable(lake, listing, "public.ledger", DefaultLakeColumns(pg, db, "public.ledger"));
  EXPECT_TRUE(NoDuplicatePositions({table}));
  ExpectExactlyOnce(pg, db, LakeEvents(table), tables, workload.committed_changes(),
                    pipeline.Stderr());
  EXPECT_TRUE(server.ListMultipartUploads(kBucket).empty());
  std::printf("parquet s3 outage: %llu transactions, %zu rows in %zu files\n",
              static_cast<unsigned long long>(workload.committed_transactions()), table.rows.size(),
              table.files.size());
}

// The server killed for 6 s while changes are committed, then started again with its
// objects: walflow retries and, in the end, every change is there once.
TEST_F(ParquetS3Test, StoreDownForAWhile) {
  StartServer();
  RandomWorkload::CreateTables(pg_, db_, {"ledger"});
  WalflowPipeline pipeline(pg_, Spec({"ledger"}));
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  OutageWhileWriting(pg_, db_, *server_, pipeline, seconds(12), [&] {
    std::this_thread::sleep_for(seconds(2));
    server_->Stop();
    std::this_thread::sleep_for(seconds(6));
    server_->Start();
  });
}

// The server stopped (SIGSTOP) for 6 s: requests get no answer and must time out after the
// sink's s3.timeout of 2 s (a request is sent at least every max_file_age + flush_interval,
// 1.2 s); once the server answers again, every change is there once.
TEST_F(ParquetS3Test, StoreNotAnsweringTimesOut) {
  StartServer();
  RandomWorkload::CreateTables(pg_, db_, {"ledger"});
  PipelineSpec spec = Spec({"ledger"});
  spec.parquet_sinks[0].s3_timeout = "2s";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());
  std::optional<milliseconds> first_timeout;
  OutageWhileWriting(pg_, db_, *server_, pipeline, seconds(12), [&] {
    std::this_thread::sleep_for(seconds(2));
    const size_t before = pipeline.LastStderr().size();
    const auto paused = Clock::now();
    server_->Pause();
    if (WaitUntil([&] { return Contains(pipeline.LastStderr().substr(before), "WARN  [s3]"); },
                  seconds(6))) {
      first_timeout = std::chrono::duration_cast<milliseconds>(Clock::now() - paused);
    }
    std::this_thread::sleep_until(paused + seconds(6));
    server_->Resume();
  });
  std::printf(
      "parquet s3 paused store: first timeout after %s\n",
      first_timeout ? (std::to_string(first_timeout->count()) + " ms").c_str() : "more than 6 s");
  ASSERT_TRUE(first_timeout.has_value())
      << "no request timed out in the 6 s the store did not answer (s3.timeout 2s):\n"
      << Tail(pipeline.Stderr());
  EXPECT_LE(first_timeout->count(), 1200 + 2000 + 1000) << Tail(pipeline.Stderr());
}

// walflow killed while a multipart upload is open (parts stored, not completed), twice: after
// each restart that upload is gone (the sink aborts unfinished uploads when it opens), and in
// the end no upload is left, no row is there twice, and the replay gives the table.
TEST_F(ParquetS3Test, Kill9DuringMultipartUpload) {
  StartServer();
  pg_.Exec("CREATE TABLE blobs (id int PRIMARY KEY, v int NOT NULL, body text)", db_);
  PipelineSpec spec = Spec({"blobs"});
  ParquetSinkSpec& p = spec.parquet_sinks[0];
  p.compression = "none";
  p.s3_part_size = "5MB";
  p.row_group_size = "1MB";
  p.max_file_age = "4s";
  WalflowPipeline pipeline(pg_, spec);
  ASSERT_TRUE(pipeline.StartAndWaitStreaming());

  // 256 kB rows, two per transaction, and an update now and then.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> changes{0};
  std::thread writer([&] {
    PgConnection conn = pg_.Connect(db_);
    int next = 1;
    while (!stop.load()) {
      conn.Exec(
          "INSERT INTO blobs SELECT g, 0, (SELECT string_agg(md5(random()::text || g || r), "
          "'') FROM generate_series(1, 8192) r) FROM generate_series(" +
          std::to_string(next) + ", " + std::to_string(next + 1) + ") g");
      next += 2;
      changes += 2;
      if (next % 10 == 1) {
        conn.Exec("UPDATE blobs SET v = v + 1 WHERE id = " + std::to_string(next - 5));
        changes += 1;
      }
      std::this_thread::sleep_for(milliseconds(80));
    }
  });

  std::string failure;
  int kills = 0;
  for (int k = 0; k < 2 && failure.empty(); ++k) {
    // Kill once this run has committed a file and has another upload open: the restart
    // resumes after a commit of its own.
    const size_t log_before = server_->Log().size();
    std::set<std::string> open;
    const bool found = WaitUntil(
        [&] {
          const std::string log = server_->Log().substr(log_before);
          const size_t committed =
              log.find(std::string(" PUT /") + kBucket + "/" + kPrefix + "/_walflow/commits/");
          open = committed == std::string::npos ? std::set<std::string>()
                                                : UploadsInProgress(log.substr(committed));
          return !open.empty() || !pipeline.Running();
        },
        seconds(30));
    if (!found || !pipeline.Running()) {
      failure = "no multipart upload in progress within 30 s (walflow " +
                std::string(pipeline.Running() ? "running" : "not running") + ")";
      break;
    }
    pipeline.Kill9();
    ++kills;
    // The upload is still open at the store.
    std::set<std::string> listed;
    for (const auto& u : server_->ListMultipartUploads(kBucket)) listed.insert(u.upload_id);
    for (const auto& id : open) {
      if (!listed.count(id)) failure = "upload " + id + " not listed after the kill";
    }
    pipeline.Start();
    if (!pipeline.process()->WaitForOutput("sink lake (", seconds(30))) {
      failure = "the sink did not open after the restart";
      break;
    }
    for (const auto& u : server_->ListMultipartUploads(kBucket)) {
      if (open.count(u.upload_id)) {
        failure = "upload " + u.upload_id + " of " + u.key + " still open after the restart";
      }
    }
    if (!Contains(pipeline.LastStderr(), "unfinished upload")) {
      failure = "the restart does not say it removed the unfinished upload(s)";
    }
  }
  stop = true;
  writer.join();
  ASSERT_TRUE(failure.empty()) << failure << "\n" << Tail(pipeline.Stderr());
  ASSERT_TRUE(pipeline.WaitForCatchUp(seconds(60)));
  EXPECT_EQ(pipeline.Stop(), 0) << Tail(pipeline.Stderr());
  EXPECT_EQ(kills, 2);
  EXPECT_TRUE(server_->ListMultipartUploads(kBucket).empty());

  TempDir local("walflow-s3-download");
  const fs::path lake = Download(local);
  const LakeListing listing = ListLake(lake);
  EXPECT_TRUE(listing.uncommitted.empty()) << Join(listing.uncommitted);
  LakeTable table;
  EXPECT_TRUE(LakeMatchesTable(pg_, db_, lake, "public.blobs", {"id"},
                               {{"id"}, {"v"}, {"body", "md5(body)", "md5(body)"}}, &table));
  EXPECT_TRUE(NoDuplicatePositions({table}));
  EXPECT_EQ(table.rows.size(), changes.load());
  EXPECT_TRUE(CommitRecordsConsistent(lake, listing));
  std::printf("parquet s3 kill -9: %zu rows in %zu files\n", table.rows.size(), table.files.size());
}

}  // namespace
}  // namespace walflow::test
