#include "state/view_state.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "unit_test_util.h"

extern char** environ;

namespace walflow::state {
namespace {

using test::ScratchDir;

std::unique_ptr<ViewStateStore> OpenOrDie(const std::string& dir, const std::string& name,
                                          const StoreOptions& options = {}) {
  auto store = ViewStateStore::Open(dir, name, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::optional<std::string> GetOrDie(const ViewStateStore& store, Family family,
                                    std::string_view key, const StateBatch* batch = nullptr) {
  auto value = store.Get(family, key, batch);
  EXPECT_TRUE(value.ok()) << value.status().ToString();
  return value.ok() ? *value : std::nullopt;
}

std::vector<std::string> Keys(StateIterator& it, bool backward = false) {
  std::vector<std::string> keys;
  if (backward) {
    for (it.SeekToLast(); it.Valid(); it.Prev()) keys.emplace_back(it.key());
  } else {
    for (it.SeekToFirst(); it.Valid(); it.Next()) keys.emplace_back(it.key());
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return keys;
}

std::vector<std::string> Records(const ViewStateStore& store, uint64_t from) {
  auto out = store.ReadOutput(from, 1000000);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> records;
  if (!out.ok()) return records;
  for (const OutputRecord& r : *out) records.push_back(std::to_string(r.sequence) + "=" + r.record);
  return records;
}

using Strings = std::vector<std::string>;

TEST(ViewStateTest, CommitsAndReopensAfterCleanClose) {
  ScratchDir dir;
  {
    auto store = OpenOrDie(dir.path(), "views.by_country");
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->input_position(), Lsn());
    EXPECT_EQ(store->next_output_sequence(), 1u);
    StateBatch batch = store->NewBatch();
    batch.Put(Family::kInputRows, "row1", "PL,Warsaw");
    batch.Put(Family::kGroups, "PL", "count=1");
    batch.Put(Family::kMeta, "fingerprint", "sql-v1");
    batch.AppendOutput("+PL,1");
    batch.SetInputPosition(Lsn(0x100));
    ASSERT_TRUE(store->Commit(std::move(batch)).ok());
    EXPECT_EQ(store->input_position(), Lsn(0x100));
    EXPECT_EQ(store->next_output_sequence(), 2u);
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("views.by_country")));
  auto store = OpenOrDie(dir.path(), "views.by_country");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->input_position(), Lsn(0x100));
  EXPECT_EQ(store->next_output_sequence(), 2u);
  EXPECT_EQ(GetOrDie(*store, Family::kInputRows, "row1"), "PL,Warsaw");
  EXPECT_EQ(GetOrDie(*store, Family::kGroups, "PL"), "count=1");
  EXPECT_EQ(GetOrDie(*store, Family::kMeta, "fingerprint"), "sql-v1");
  EXPECT_EQ(GetOrDie(*store, Family::kGroups, "row1"), std::nullopt);  // families are apart
  EXPECT_EQ(Records(*store, 1), Strings({"1=+PL,1"}));

  StateBatch batch = store->NewBatch();
  batch.Delete(Family::kInputRows, "row1");
  batch.SetInputPosition(Lsn(0x200));
  ASSERT_TRUE(store->Commit(std::move(batch)).ok());
  EXPECT_EQ(GetOrDie(*store, Family::kInputRows, "row1"), std::nullopt);
  EXPECT_EQ(store->next_output_sequence(), 2u);
}

TEST(ViewStateTest, ReadsInsideABatchSeeItsOwnWrites) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);
  StateBatch first = store->NewBatch();
  for (std::string k : {"g1/a", "g1/c", "g1/e", "g2/a"}) first.Put(Family::kMultisets, k, "1");
  ASSERT_TRUE(store->Commit(std::move(first)).ok());

  StateBatch batch = store->NewBatch();
  batch.Put(Family::kMultisets, "g1/b", "1");
  batch.Put(Family::kMultisets, "g1/c", "2");
  batch.Delete(Family::kMultisets, "g1/e");
  batch.Put(Family::kMultisets, "g1/f", "1");
  batch.Put(Family::kMultisets, "g0/z", "1");  // below the scanned range, only in the batch
  batch.Put(Family::kMultisets, "g2/b", "1");  // above it

  EXPECT_EQ(GetOrDie(*store, Family::kMultisets, "g1/c", &batch), "2");
  EXPECT_EQ(GetOrDie(*store, Family::kMultisets, "g1/c"), "1");
  EXPECT_EQ(GetOrDie(*store, Family::kMultisets, "g1/e", &batch), std::nullopt);
  EXPECT_EQ(GetOrDie(*store, Family::kMultisets, "g1/e"), "1");

  auto it = store->ScanPrefix(Family::kMultisets, "g1/", &batch);
  EXPECT_EQ(Keys(*it), Strings({"g1/a", "g1/b", "g1/c", "g1/f"}));
  EXPECT_EQ(Keys(*it, /*backward=*/true), Strings({"g1/f", "g1/c", "g1/b", "g1/a"}));
  it->SeekToLast();  // the group's max, including the batch's
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "g1/f");
  it->Seek("g1/bb");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "g1/c");
  EXPECT_EQ(it->value(), "2");

  auto committed = store->ScanPrefix(Family::kMultisets, "g1/");
  EXPECT_EQ(Keys(*committed), Strings({"g1/a", "g1/c", "g1/e"}));

  ASSERT_TRUE(store->Commit(std::move(batch)).ok());
  auto after = store->ScanPrefix(Family::kMultisets, "g1/");
  EXPECT_EQ(Keys(*after), Strings({"g1/a", "g1/b", "g1/c", "g1/f"}));
}

// A group that exists only in the batch, with or without committed keys around it: its
// last key (a max) is found backwards as well as forwards.
TEST(ViewStateTest, BackwardScanOfKeysOnlyInTheBatch) {
  for (int around = 0; around < 4; ++around) {
    SCOPED_TRACE("around " + std::to_string(around));
    ScratchDir dir;
    auto store = OpenOrDie(dir.path(), "v");
    ASSERT_NE(store, nullptr);
    if (around & 1) {
      StateBatch committed = store->NewBatch();
      committed.Put(Family::kMultisets, "g0/x", "1");
      committed.Put(Family::kMultisets, "g2/x", "1");
      ASSERT_TRUE(store->Commit(std::move(committed)).ok());
    }
    StateBatch batch = store->NewBatch();
    batch.Put(Family::kMultisets, "g1/a", "1");
    batch.Put(Family::kMultisets, "g1/b", "1");
    if (around & 2) batch.Put(Family::kMultisets, "g3/a", "1");  // above, in the batch
    auto it = store->ScanPrefix(Family::kMultisets, "g1/", &batch);
    EXPECT_EQ(Keys(*it, /*backward=*/true), Strings({"g1/b", "g1/a"}));
    it->SeekToLast();
    ASSERT_TRUE(it->Valid());
    EXPECT_EQ(it->key(), "g1/b");
  }
}

TEST(ViewStateTest, ScansHonourBounds) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);
  StateBatch batch = store->NewBatch();
  const std::string ff("\xff", 1);
  for (std::string k : {std::string("a"), std::string("b1"), std::string("b2"), std::string("c"),
                        ff, ff + "x", ff + ff}) {
    batch.Put(Family::kGroups, k, "v");
  }
  ASSERT_TRUE(store->Commit(std::move(batch)).ok());

  EXPECT_EQ(Keys(*store->Scan(Family::kGroups, "b", "c")), Strings({"b1", "b2"}));
  EXPECT_EQ(Keys(*store->Scan(Family::kGroups, "b", "c"), true), Strings({"b2", "b1"}));
  EXPECT_EQ(Keys(*store->Scan(Family::kGroups, "", "b2")), Strings({"a", "b1"}));
  EXPECT_EQ(Keys(*store->Scan(Family::kGroups, "c", "")), Strings({"c", ff, ff + "x", ff + ff}));
  EXPECT_EQ(Keys(*store->ScanPrefix(Family::kGroups, ff), true), Strings({ff + ff, ff + "x", ff}));
  EXPECT_EQ(Keys(*store->ScanPrefix(Family::kGroups, "b")), Strings({"b1", "b2"}));
  EXPECT_TRUE(Keys(*store->ScanPrefix(Family::kGroups, "d")).empty());
  EXPECT_TRUE(Keys(*store->ScanPrefix(Family::kGroups, "d"), true).empty());
  EXPECT_EQ(ViewStateStore::PrefixEnd("ab"), "ac");
  EXPECT_EQ(ViewStateStore::PrefixEnd("a" + ff), "b");
  EXPECT_EQ(ViewStateStore::PrefixEnd(ff + ff), "");

  auto it = store->Scan(Family::kGroups, "b", "c");
  it->Seek("a");  // clamped to the lower bound
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b1");
  it->Seek("b3");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST(ViewStateTest, OutputIsReadFromASequenceAndTrimmed) {
  ScratchDir dir;
  {
    auto store = OpenOrDie(dir.path(), "v");
    ASSERT_NE(store, nullptr);
    for (int b = 1; b <= 4; ++b) {
      StateBatch batch = store->NewBatch();
      batch.AppendOutput("b" + std::to_string(b) + "x");
      batch.AppendOutput("b" + std::to_string(b) + "y");
      batch.SetInputPosition(Lsn(b));
      ASSERT_TRUE(store->Commit(std::move(batch)).ok());
    }
    EXPECT_EQ(store->next_output_sequence(), 9u);
    EXPECT_EQ(Records(*store, 6), Strings({"6=b3y", "7=b4x", "8=b4y"}));
    auto two = store->ReadOutput(2, 2);
    ASSERT_TRUE(two.ok());
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[0].sequence, 2u);
    EXPECT_EQ((*two)[1].record, "b2x");
    ASSERT_TRUE(store->Trim(5).ok());
    EXPECT_EQ(Records(*store, 1), Strings({"6=b3y", "7=b4x", "8=b4y"}));
  }
  auto store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Records(*store, 0), Strings({"6=b3y", "7=b4x", "8=b4y"}));
  ASSERT_TRUE(store->Trim(1000).ok());  // beyond the end: everything committed
  EXPECT_TRUE(Records(*store, 0).empty());
  store.reset();
  store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->next_output_sequence(), 9u);  // never reused after a full trim
  StateBatch batch = store->NewBatch();
  batch.AppendOutput("b5x");
  ASSERT_TRUE(store->Commit(std::move(batch)).ok());
  EXPECT_EQ(Records(*store, 0), Strings({"9=b5x"}));
}

TEST(ViewStateTest, RefusesMisuse) {
  ScratchDir dir;
  EXPECT_EQ(ViewStateStore::Open(dir.path(), "a/b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ViewStateStore::Open(dir.path(), "..").status().code(), StatusCode::kInvalidArgument);
  auto store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);

  auto second = ViewStateStore::Open(dir.path(), "v");  // the LOCK file
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError);
  EXPECT_NE(second.status().message().find(dir.File("v")), std::string::npos)
      << second.status().message();

  StateBatch reserved = store->NewBatch();
  reserved.Put(Family::kMeta, std::string("\0input_position", 15), "x");
  EXPECT_EQ(store->Commit(std::move(reserved)).code(), StatusCode::kInvalidArgument);
  StateBatch output = store->NewBatch();
  output.Put(Family::kOutput, "k", "v");
  EXPECT_EQ(store->Commit(std::move(output)).code(), StatusCode::kInvalidArgument);

  StateBatch ahead = store->NewBatch();
  ahead.SetInputPosition(Lsn(50));
  ASSERT_TRUE(store->Commit(std::move(ahead)).ok());
  StateBatch behind = store->NewBatch();
  behind.Put(Family::kGroups, "g", "1");
  behind.SetInputPosition(Lsn(49));
  EXPECT_EQ(store->Commit(std::move(behind)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetOrDie(*store, Family::kGroups, "g"), std::nullopt);
  EXPECT_EQ(store->input_position(), Lsn(50));

  store.reset();
  ASSERT_TRUE(ViewStateStore::Destroy(dir.path(), "v").ok());
  EXPECT_FALSE(std::filesystem::exists(dir.File("v")));
  store = OpenOrDie(dir.path(), "v");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->input_position(), Lsn());
}

// 200k input rows with a 1 MiB memtable budget: most of the state is in SST files.
TEST(ViewStateTest, StateLargerThanTheMemtable) {
  ScratchDir dir;
  StoreOptions options;
  options.memtable_bytes = 1u << 20;
  constexpr int kRows = 200000;
  constexpr int kPerBatch = 20000;
  auto key = [](int i) {
    char buf[16];
    snprintf(buf, sizeof buf, "r%08d", i);
    return std::string(buf);
  };
  const std::string payload(40, 'p');
  {
    auto store = OpenOrDie(dir.path(), "big", options);
    ASSERT_NE(store, nullptr);
    for (int b = 0; b < kRows / kPerBatch; ++b) {
      StateBatch batch = store->NewBatch();
      for (int i = b * kPerBatch; i < (b + 1) * kPerBatch; ++i) {
        batch.Put(Family::kInputRows, key(i), payload + std::to_string(i));
      }
      batch.SetInputPosition(Lsn(b + 1));
      ASSERT_TRUE(store->Commit(std::move(batch)).ok());
    }
  }
  int sst_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.File("big"))) {
    if (e.path().extension() == ".sst") ++sst_files;
  }
  EXPECT_GT(sst_files, 1);
  auto store = OpenOrDie(dir.path(), "big", options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->input_position(), Lsn(kRows / kPerBatch));
  auto it = store->Scan(Family::kInputRows, "", "");
  int count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() != key(count)) {
      ADD_FAILURE() << "at " << count << ": " << it->key();
      break;
    }
    ++count;
  }
  EXPECT_TRUE(it->status().ok());
  EXPECT_EQ(count, kRows);
  for (int i : {0, 12345, 99999, kRows - 1}) {
    EXPECT_EQ(GetOrDie(*store, Family::kInputRows, key(i)), payload + std::to_string(i));
  }
  auto range = store->Scan(Family::kInputRows, key(150000), key(150003));
  EXPECT_EQ(Keys(*range, true), Strings({key(150002), key(150001), key(150000)}));
}

// ---- kill -9 at random moments

// Batch `i` (from 1) of the crash workload: five row puts, one delete, a running total and
// two output records. The child writes it; the parent replays it to know what to expect.
template <typename PutFn, typename DeleteFn>
void CrashBatchOps(uint64_t i, PutFn put, DeleteFn del) {
  auto row_key = [](uint64_t n) {
    char buf[16];
    snprintf(buf, sizeof buf, "k%05d", static_cast<int>(n % 5000));
    return std::string(buf);
  };
  for (uint64_t j = 0; j < 5; ++j) {
    put(Family::kInputRows, row_key(i * 7 + j * 13), std::to_string(i) + "." + std::to_string(j));
  }
  del(Family::kInputRows, row_key(i * 11 + 3));
  put(Family::kGroups, "total", std::to_string(i));
}

constexpr const char* kCrashDirEnv = "WALFLOW_STATE_CRASH_DIR";
constexpr const char* kCrashFdEnv = "WALFLOW_STATE_CRASH_FD";

// Not a test of its own: the child process of KilledAtRandomMoments runs it (it skips
// otherwise). It commits batches until killed and reports each committed one on a pipe.
TEST(ViewStateCrashChild, CommitLoop) {
  const char* dir = std::getenv(kCrashDirEnv);
  const char* fd_text = std::getenv(kCrashFdEnv);
  if (dir == nullptr || fd_text == nullptr) GTEST_SKIP() << "run by KilledAtRandomMoments";
  const int fd = std::atoi(fd_text);
  StoreOptions options;
  options.memtable_bytes = 256u << 10;  // flushes happen during the run too
  auto opened = ViewStateStore::Open(dir, "crash", options);
  if (!opened.ok()) _exit(2);
  std::unique_ptr<ViewStateStore> store = std::move(opened).value();
  for (uint64_t i = store->input_position().value + 1;; ++i) {
    StateBatch batch = store->NewBatch();
    CrashBatchOps(
        i, [&](Family f, const std::string& k, const std::string& v) { batch.Put(f, k, v); },
        [&](Family f, const std::string& k) { batch.Delete(f, k); });
    batch.AppendOutput("out" + std::to_string(i) + "a");
    batch.AppendOutput("out" + std::to_string(i) + "b");
    batch.SetInputPosition(Lsn(i));
    if (!store->Commit(std::move(batch)).ok()) _exit(3);
    if (i % 50 == 0 && !store->Trim(2 * (i - 20)).ok()) _exit(4);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

// Starts this test binary again as the child, returns its pid and the read end of the pipe.
std::pair<pid_t, int> StartCrashChild(const std::string& dir) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  env.push_back(std::string(kCrashDirEnv) + "=" + dir);
  env.push_back(std::string(kCrashFdEnv) + "=" + std::to_string(fds[1]));
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int null_fd = open("/dev/null", O_WRONLY);  // keep the child's gtest output out of ours
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    execle("/proc/self/exe", "state_unit_test", "--gtest_filter=ViewStateCrashChild.CommitLoop",
           static_cast<char*>(nullptr), envp.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

TEST(ViewStateTest, KilledAtRandomMomentsKeepsExactlyTheCommittedBatches) {
  ScratchDir dir;
  std::mt19937 rng(20240613);
  uint64_t last_reported = 0;
  for (int round = 0; round < 5; ++round) {
    auto [pid, fd] = StartCrashChild(dir.path());
    ASSERT_GT(pid, 0);
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 20000), 1) << "the child committed nothing";
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
    uint64_t i = 0;
    while (read(fd, &i, sizeof i) == sizeof i) last_reported = i;
    close(fd);

    StoreOptions options;
    options.memtable_bytes = 256u << 10;
    auto store = OpenOrDie(dir.path(), "crash", options);
    ASSERT_NE(store, nullptr);
    const uint64_t position = store->input_position().value;
    // Nothing reported committed is lost; at most the batch in flight is there beyond it.
    ASSERT_GE(position, last_reported);
    ASSERT_LE(position, last_reported + 1);

    std::map<std::pair<Family, std::string>, std::string> expected;
    for (uint64_t b = 1; b <= position; ++b) {
      CrashBatchOps(
          b,
          [&](Family f, const std::string& k, const std::string& v) {
            expected[{f, k}] = v;
          },
          [&](Family f, const std::string& k) {
            expected.erase({f, k});
          });
    }
    std::map<std::pair<Family, std::string>, std::string> actual;
    for (Family f : {Family::kInputRows, Family::kGroups}) {
      auto it = store->Scan(f, "", "");
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        actual[{f, std::string(it->key())}] = std::string(it->value());
      }
      ASSERT_TRUE(it->status().ok());
    }
    ASSERT_EQ(actual, expected) << "after round " << round << " at position " << position;

    // The output is a contiguous run ending at the last batch, at least 40 records long.
    EXPECT_EQ(store->next_output_sequence(), 2 * position + 1);
    auto out = store->ReadOutput(0, 1000000);
    ASSERT_TRUE(out.ok());
    ASSERT_FALSE(out->empty());
    EXPECT_EQ(out->back().sequence, 2 * position);
    EXPECT_GE(out->size(), std::min<uint64_t>(2 * position, 40));
    for (size_t k = 0; k < out->size(); ++k) {
      const OutputRecord& r = (*out)[k];
      ASSERT_EQ(r.sequence, out->front().sequence + k);
      uint64_t b = (r.sequence + 1) / 2;
      ASSERT_EQ(r.record, "out" + std::to_string(b) + (r.sequence % 2 == 1 ? "a" : "b"));
    }
    std::cout << "[ crash    ] round " << round << ": killed at batch " << position
              << " (last reported " << last_reported << ")\n";
  }
}

// Prints what a synced commit costs on this machine (no assertion).
TEST(ViewStateTest, CommitThroughput) {
  ScratchDir dir;
  for (bool sync : {true, false}) {
    StoreOptions options;
    options.sync_commits = sync;
    auto store = OpenOrDie(dir.path(), sync ? "sync" : "nosync", options);
    ASSERT_NE(store, nullptr);
    const auto start = std::chrono::steady_clock::now();
    const auto budget = std::chrono::milliseconds(sync ? 1500 : 300);
    uint64_t batches = 0;
    while (std::chrono::steady_clock::now() - start < budget) {
      ++batches;
      StateBatch batch = store->NewBatch();
      for (int j = 0; j < 10; ++j) {
        batch.Put(Family::kInputRows, "row" + std::to_string((batches * 10 + j) % 100000),
                  "value-of-a-row-of-about-forty-bytes-long");
      }
      batch.Put(Family::kGroups, std::to_string(batches % 100), std::to_string(batches));
      batch.AppendOutput("an output change of some sixty bytes or so, like a json row");
      batch.SetInputPosition(Lsn(batches));
      ASSERT_TRUE(store->Commit(std::move(batch)).ok());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[ bench    ] " << (sync ? "sync=true " : "sync=false") << ": " << batches
              << " batches (11 puts + 1 output) in " << seconds
              << " s = " << static_cast<uint64_t>(batches / seconds) << " batches/s\n";
  }
}

}  // namespace
}  // namespace walflow::state
