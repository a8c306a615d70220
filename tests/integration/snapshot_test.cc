// Snapshots: the initial snapshot through the slot's exported snapshot (chunked, parallel
// COPY), its resumption after kill -9 with watermarks while streaming, snapshots on request
// (`walflow snapshot`), `snapshot: always` and `initial_only`. The oracle is PostgreSQL:
// the sink's events, replayed, must give exactly the table's rows, with every row read
// once per snapshot and no change lost or repeated around it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "walflow_harness.h"

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

const Json& Payload(const Json& e) { return e.contains("payload") ? e["payload"] : e; }

std::string TableOf(const Json& v) {
  return v["source"]["schema"].get<std::string>() + "." + v["source"]["table"].get<std::string>();
}

// Bytes in the sink's files (a cheap progress probe while walflow runs).
uint64_t SinkBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& f : ChangeFilesIn(dir)) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

// The number of events the jsonl sink in `dir` holds durably: the lines before the offset
// its position file records (a file private to the sink, read here to know what a kill
// must not lose and what a restart must not send again).
uint64_t DurableLines(const std::string& dir) {
  std::ifstream pos(dir + "/.walflow-position");
  std::stringstream text;
  text << pos.rdbuf();
  Json j;
  try {
    j = Json::parse(text.str());
  } catch (const std::exception&) {
    return 0;  // no position yet: nothing durable
  }
  const std::string last = dir + "/" + j.at("file").get<std::string>();
  const auto offset = j.at("offset").get<uint64_t>();
  uint64_t lines = 0;
  for (const auto& f : ChangeFilesIn(dir)) {
    if (f > last) break;
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (f == last) data.resize(std::min<uint64_t>(offset, data.size()));
    lines += static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
  }
  return lines;
}

// Whether the jsonl sink in `dir` holds anything durably yet (cheap: its position only).
bool SinkHoldsSomething(const std::string& dir) {
  std::ifstream pos(dir + "/.walflow-position");
  std::stringstream text;
  text << pos.rdbuf();
  try {
    Json j = Json::parse(text.str());
    return j.at("offset").get<uint64_t>() > 0 || j.at("file") != "changes-00000000001.jsonl";
  } catch (const std::exception&) {
    return false;
  }
}

// Calls `fn` for each line of the sink's files, in order, without holding them in memory.
// Walflow must not be running: a file ending in a partial line fails the test.
void ForEachLine(const std::string& dir, const std::function<void(const std::string&)>& fn) {
  for (const auto& f : ChangeFilesIn(dir)) {
    std::ifstream in(f, std::ios::binary);
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size > 0) {
      in.seekg(-1, std::ios::end);
      char last = 0;
      in.get(last);
      EXPECT_EQ(last, '\n') << f << " ends with an incomplete line";
    }
    in.seekg(0);
    std::string line;
    while (std::getline(in, line)) fn(line);
  }
}

void ForEachEvent(const std::string& dir, const std::function<void(const Json&)>& fn) {
  ForEachLine(dir, [&](const std::string& line) {
    Json e;
    try {
      e = Json::parse(line);
    } catch (const Json::parse_error& err) {
      ADD_FAILURE() << "invalid JSON line (" << err.what() << "): " << line.substr(0, 300);
      return;
    }
    fn(e);
  });
}

// The consistent point logged when walflow created the slot ("created replication slot S at
// 0/16B3748"), as a number; nullopt when the log has none.
std::optional<uint64_t> CreatedSlotLsn(const std::string& log) {
  static const std::regex re("created replication slot \\S+ at ([0-9A-Fa-f]+)/([0-9A-Fa-f]+)");
  std::smatch m;
  if (!std::regex_search(log, m, re)) return std::nullopt;
  return (std::stoull(m[1].str(), nullptr, 16) << 32) | std::stoull(m[2].str(), nullptr, 16);
}

// Polls `condition` every 5 ms (WaitUntil's 50 ms is coarse next to a fast snapshot).
bool PollUntil(const std::function<bool()>& condition, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

std::string KeyText(const Json& row, const std::vector<std::string>& cols) {
  std::string key;
  for (const auto& c : cols) {
    if (!key.empty()) key += '|';
    key += row.contains(c) ? JsonAsText(row[c]).value_or("NULL") : "<missing " + c + ">";
  }
  return key;
}

// Replays events into an Oracle and checks what snapshots promise on top of its checks:
//  * per key, at most one row of the initial snapshot, and none after a streamed change;
//  * a row read while streaming ("incremental") equals the state the stream has built for
//    its key (a stale read would roll a row back) and never brings back a deleted key
//    (keys are never reused in these tests);
//  * no event twice.
// After a restart in the middle of the initial snapshot the stream replays changes of rows
// whose chunk is read only later (as Debezium's incremental snapshot does): updates and
// deletes of keys not delivered yet are then expected (AllowChangesOfUnreadRows).
class SnapshotReplay {
 public:
  explicit SnapshotReplay(OracleKeys keys) : keys_(keys), oracle_(std::move(keys)) {}

  void SetVersionColumn(const std::string& table, const std::string& column) {
    oracle_.SetVersionColumn(table, column);
  }
  void AllowChangesOfUnreadRows() { allow_unread_ = true; }

  void Apply(const Json& event) {
    ++events_;
    const Json& v = Payload(event);
    const std::string table = TableOf(v);
    const std::string op = v["op"].get<std::string>();
    const std::string mark = v["source"]["snapshot"].get<std::string>();
    ++ops_[op];
    ++marks_[mark];
    auto problem = [&](const std::string& what) {
      if (problems_.size() < 20) {
        problems_.push_back("event " + std::to_string(events_) + " (" + op + "/" + mark + " on " +
                            table + "): " + what);
      }
      ++problem_count_;
    };
    if (!keys_.count(table)) {
      problem("unexpected table");
      return;
    }
    const auto& cols = keys_.at(table);
    const Json& row = v["after"].is_object() ? v["after"] : v["before"];
    const std::string key = row.is_object() ? KeyText(row, cols) : "-";
    std::string identity = v["source"]["sequence"].dump() + " " + op + " " + table + " " + key;
    if (!identities_.insert(identity).second) problem("duplicate of an earlier event: " + identity);

    if (op == "r") {
      if (mark == "incremental") {
        ++incremental_[table][key];
        const OracleTable& rows = oracle_.table(table);
        auto it = rows.find(key);
        if (it != rows.end()) {
          OracleRow now;
          for (auto f = v["after"].begin(); f != v["after"].end(); ++f) {
            now[f.key()] = JsonAsText(f.value());
          }
          if (now != it->second) {
            problem("read of key " + key + " differs from the streamed state " + v["after"].dump());
          }
        } else if (deleted_[table].count(key)) {
          problem("read of key " + key + ", deleted earlier: " + v["after"].dump());
        }
      } else {
        if (mark != "true" && mark != "first" && mark != "last") problem("bad snapshot mark");
        if (streamed_) problem("initial snapshot row after streamed changes");
        if (++initial_[table][key] == 2)
          problem("key " + key + " read twice by the initial snapshot");
      }
      Json seq = Json::parse(v["source"]["sequence"].get<std::string>());
      if (!(seq.size() == 2 && seq[0].is_null() && seq[1].is_string())) {
        problem("sequence of a read is not [null, lsn]: " + v["source"]["sequence"].dump());
      }
    } else {
      streamed_ = true;
      if (mark != "false") problem("streamed change with snapshot mark " + mark);
      if (op == "d") deleted_[table].insert(key);
    }
    oracle_.Apply(event);
  }

  // No anomaly or problem.
  ::testing::AssertionResult Clean() const {
    std::vector<std::string> bad = problems_;
    size_t count = problem_count_;
    for (const auto& a : oracle_.anomalies()) {
      bool unread = a.find(" not present") != std::string::npos &&
                    (a.find("update of key") != std::string::npos ||
                     a.find("delete of key") != std::string::npos);
      if (allow_unread_ && unread) continue;
      ++count;
      if (bad.size() < 20) bad.push_back(a);
    }
    if (count == 0) return ::testing::AssertionSuccess();
    auto f = ::testing::AssertionFailure();
    f << count << " problem(s) in " << events_ << " events:";
    for (const auto& b : bad) f << "\n  " << b;
    return f;
  }

  const Oracle& oracle() const { return oracle_; }
  // Rows read by the initial snapshot / while streaming, per table and key.
  const std::map<std::string, uint64_t>& initial(const std::string& t) { return initial_[t]; }
  const std::map<std::string, uint64_t>& incremental(const std::string& t) {
    return incremental_[t];
  }
  uint64_t ops(const std::string& op) { return ops_[op]; }
  uint64_t marks(const std::string& mark) { return marks_[mark]; }
  uint64_t events() const { return events_; }

 private:
  OracleKeys keys_;
  Oracle oracle_;
  bool allow_unread_ = false;
  bool streamed_ = false;
  uint64_t events_ = 0;
  std::vector<std::string> problems_;
  size_t problem_count_ = 0;
  std::set<std::string> identities_;
  std::map<std::string, std::map<std::string, uint64_t>> initial_, incremental_;
  std::map<std::string, std::set<std::string>> deleted_;
  std::map<std::string, uint64_t> ops_, marks_;
};

// Random single-row changes to a table "(id bigint PRIMARY KEY, v bigint NOT NULL, payload
// text)" holding ids 1..`preloaded` (v = 0): updates (v + 1) and deletes of random ids,
// inserts of new ids from `first_new_id` (v = 0), one to four per transaction, some rolled
// back. Records every id a transaction touched. One object per thread.
class ChurnWriter {
 public:
  ChurnWriter(std::string dsn, std::string table, int64_t preloaded, int64_t first_new_id,
              uint32_t seed, milliseconds pause = milliseconds(1))
      : dsn_(std::move(dsn)),
        table_(std::move(table)),
        max_id_(preloaded),
        next_id_(first_new_id),
        rng_(seed),
        pause_(pause) {}

  void Run(const std::atomic<bool>& stop) {
    try {
      PgConnection conn(dsn_);
      while (!stop.load()) {
        conn.Exec("BEGIN");
        const int statements = 1 + static_cast<int>(rng_() % 4);
        for (int s = 0; s < statements; ++s) {
          const int choice = static_cast<int>(rng_() % 10);
          if (choice < 4) {
            const int64_t id = next_id_++;
            conn.Exec("INSERT INTO " + table_ + " VALUES (" + std::to_string(id) + ", 0, 'n" +
                      std::to_string(rng_() % 100000) + "')");
            touched_.insert(id);
          } else {
            const int64_t id = 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(max_id_));
            if (choice < 8) {
              conn.Exec("UPDATE " + table_ + " SET v = v + 1, payload = 'u" +
                        std::to_string(rng_() % 100000) + "' WHERE id = " + std::to_string(id));
            } else {
              conn.Exec("DELETE FROM " + table_ + " WHERE id = " + std::to_string(id));
            }
            touched_.insert(id);
          }
          ++statements_;
        }
        conn.Exec(rng_() % 10 == 0 ? "ROLLBACK" : "COMMIT");
        ++transactions_;
        std::this_thread::sleep_for(pause_);
      }
    } catch (const PgError& e) {
      ADD_FAILURE() << "writer on " << table_ << " failed: " << e.what();
    }
  }

  const std::set<int64_t>& touched() const { return touched_; }
  uint64_t transactions() const { return transactions_; }

 private:
  std::string dsn_;
  std::string table_;
  int64_t max_id_;
  int64_t next_id_;
  std::mt19937_64 rng_;
  milliseconds pause_;
  std::set<int64_t> touched_;
  uint64_t transactions_ = 0;
  uint64_t statements_ = 0;
};

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg_.CreateDatabase("snap"); }

  PipelineSpec Spec(std::vector<std::string> tables, const std::string& mode = "initial") {
    PipelineSpec spec;
    spec.db = db_;
    spec.tables = std::move(tables);
    spec.snapshot = mode;
    return spec;
  }

  // "(id bigint PRIMARY KEY, v bigint NOT NULL, payload text)" with ids 1..rows.
  void CreateChurnTable(const std::string& table, int64_t rows) {
    pg_.Exec("CREATE TABLE " + table + " (id bigint PRIMARY KEY, v bigint NOT NULL, payload text)",
             db_);
    pg_.Exec("INSERT INTO " + table + " SELECT g, 0, 'row ' || g FROM generate_series(1, " +
                 std::to_string(rows) + ") g",
             db_);
    pg_.Exec("ANALYZE " + table, db_);
  }

  // Runs `walflow snapshot CONFIG --table T...`.
  ProcessResult RequestSnapshot(const std::string& config, const std::vector<std::string>& tables) {
    std::vector<std::string> argv = {WalflowBinary(), "snapshot", config};
    for (const auto& t : tables) {
      argv.push_back("--table");
      argv.push_back(t);
    }
    return RunProcess(argv, seconds(30));
  }

  // Waits for catch-up, stops walflow, and reads its events. (Catch-up alone does not
  // wait for snapshot rows: the slot is confirmed up to its consistent point from the
  // moment it is created.)
  std::vector<Json> CatchUpStopAndRead(WalflowPipeline& p) {
    EXPECT_TRUE(p.WaitForCatchUp());
    EXPECT_EQ(p.Stop(), 0) << Tail(p.Stderr());
    return p.Events();
  }

  // After a kill in the middle of the initial snapshot of "churn" and a resumption: the
  // sink in `dir` replays to the table, every row read once (before or after the kill).
  void CheckResumedSnapshot(WalflowPipeline& p, const std::string& dir, const ChurnWriter& writer,
                            bool with_writes, int64_t kRows, uint64_t durable_at_kill,
                            bool completed_before_kill);

  // Replays the sink of `p` (stopped) into `replay`.
  void Replay(WalflowPipeline& p, SnapshotReplay& replay) {
    ForEachEvent(p.out_dir(), [&](const Json& e) { replay.Apply(e); });
  }

  PgServer& pg_ = PgServer::Shared();
  std::string db_;
};

// --- 1. Exact events of small snapshots ---

TEST_F(SnapshotTest, EmptyAndOneRowTables) {
  pg_.Exec("CREATE TABLE empty_t (id int PRIMARY KEY, name text)", db_);
  pg_.Exec("CREATE TABLE one_t (id int PRIMARY KEY, name text)", db_);
  pg_.Exec("INSERT INTO one_t VALUES (1, 'only')", db_);
  WalflowPipeline p(pg_, Spec({"public.empty_t", "public.one_t"}));
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  pg_.Exec("INSERT INTO empty_t VALUES (7, 'streamed')", db_);
  auto events = CatchUpStopAndRead(p);
  ASSERT_EQ(events.size(), 2u) << Tail(p.Stderr());
  const auto point = CreatedSlotLsn(p.Stderr());
  ASSERT_TRUE(point) << Tail(p.Stderr());

  const Json& r = events[0];
  EXPECT_EQ(r["op"], "r");
  EXPECT_TRUE(r["before"].is_null());
  EXPECT_EQ(r["after"], (Json{{"id", 1}, {"name", "only"}}));
  EXPECT_EQ(r["source"]["table"], "one_t");
  EXPECT_EQ(r["source"]["db"], db_);
  EXPECT_EQ(r["source"]["snapshot"], "first") << "the only row is the first one";
  EXPECT_EQ(r["source"]["sequence"], "[null,\"" + std::to_string(*point) + "\"]");
  EXPECT_EQ(r["source"]["lsn"], *point) << "rows of the snapshot sit at the consistent point";
  EXPECT_TRUE(r["transaction"].is_null());

  const Json& c = events[1];
  EXPECT_EQ(c["op"], "c");
  EXPECT_EQ(c["after"], (Json{{"id", 7}, {"name", "streamed"}}));
  EXPECT_EQ(c["source"]["snapshot"], "false");
  EXPECT_GE(c["source"]["lsn"].get<uint64_t>(), *point);

  Oracle oracle({{"public.empty_t", {"id"}}, {"public.one_t", {"id"}}});
  oracle.ApplyAll(events);
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies()[0];
  EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.empty_t", {"id"}));
  EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.one_t", {"id"}));
  EXPECT_NE(p.Stderr().find("[snapshot]"), std::string::npos) << "no snapshot progress logged";
}

// First and last marks across chunks of one row each, read by two workers, with empty
// tables (empty chunks) after the last row: "first" on the very first row, "last" on the
// very last, "true" in between, rows in plan (key) order.
TEST_F(SnapshotTest, FirstAndLastMarksAcrossChunks) {
  pg_.Exec("CREATE TABLE three_t (id int PRIMARY KEY, name text)", db_);
  pg_.Exec("INSERT INTO three_t VALUES (1, 'a'), (2, 'b'), (3, 'c')", db_);
  pg_.Exec("CREATE TABLE empty_a (id int PRIMARY KEY)", db_);
  pg_.Exec("CREATE TABLE empty_b (id text PRIMARY KEY)", db_);
  for (int chunk : {1, 3, 1000}) {
    SCOPED_TRACE("snapshot_chunk_size " + std::to_string(chunk));
    PipelineSpec spec = Spec({"public.three_t", "public.empty_a", "public.empty_b"});
    spec.snapshot_chunk_size = chunk;
    spec.snapshot_parallelism = 2;
    WalflowPipeline p(pg_, spec);
    ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
    auto events = CatchUpStopAndRead(p);
    ASSERT_EQ(events.size(), 3u) << Tail(p.Stderr());
    const char* marks[] = {"first", "true", "last"};
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(events[i]["op"], "r");
      EXPECT_EQ(events[i]["after"]["id"], i + 1);
      EXPECT_EQ(events[i]["source"]["snapshot"], marks[i]) << events[i].dump();
    }
    Oracle oracle(
        {{"public.three_t", {"id"}}, {"public.empty_a", {"id"}}, {"public.empty_b", {"id"}}});
    oracle.ApplyAll(events);
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.three_t", {"id"}));
  }
}

// --- 2. Two million rows, two workers ---

TEST_F(SnapshotTest, TwoMillionRowsInParallelChunks) {
  constexpr int64_t kRows = 2000000;
  auto t0 = Clock::now();
  pg_.Exec("CREATE TABLE big (id bigint PRIMARY KEY, v int)", db_);
  pg_.Exec("INSERT INTO big SELECT g, (g * 7) % 1000003 FROM generate_series(1, " +
               std::to_string(kRows) + ") g",
           db_);
  pg_.Exec("ANALYZE big", db_);
  auto t1 = Clock::now();
  PipelineSpec spec = Spec({"public.big"}, "initial_only");
  spec.snapshot_parallelism = 2;
  spec.snapshot_chunk_size = 100000;
  spec.max_file_size = "256MB";
  WalflowPipeline p(pg_, spec);
  p.Start();
  auto code = p.WaitExit(seconds(240));
  auto t2 = Clock::now();
  ASSERT_EQ(code, 0) << Tail(p.Stderr());

  // One pass over the files, taking op, id, v and the snapshot mark out of each line
  // without a JSON parser; every 100000th line is parsed fully to check that reading.
  std::vector<uint8_t> seen(kRows + 1, 0);
  uint64_t lines = 0, not_read = 0, out_of_range = 0, wrong_v = 0, twice = 0;
  uint64_t first = 0, last = 0, other_mark = 0;
  auto field = [](const std::string& line, const std::string& name) -> std::string_view {
    auto at = line.find(name);
    if (at == std::string::npos) return {};
    at += name.size();
    auto end = line.find_first_of(",\"}", at);
    return std::string_view(line).substr(at, end - at);
  };
  ForEachLine(p.out_dir(), [&](const std::string& line) {
    ++lines;
    std::string_view op = field(line, "\"op\":\"");
    std::string_view mark = field(line, "\"snapshot\":\"");
    int64_t id = std::atoll(std::string(field(line, "\"after\":{\"id\":")).c_str());
    int64_t v = std::atoll(std::string(field(line, ",\"v\":")).c_str());
    if (lines % 100000 == 1) {
      Json e = Json::parse(line);
      EXPECT_EQ(e["op"], std::string(op));
      EXPECT_EQ(e["after"]["id"], id);
      EXPECT_EQ(e["after"]["v"], v);
      EXPECT_EQ(e["source"]["snapshot"], std::string(mark));
    }
    if (op != "r") ++not_read;
    if (id < 1 || id > kRows) {
      ++out_of_range;
      return;
    }
    if (seen[id]++) ++twice;
    if (v != (id * 7) % 1000003) ++wrong_v;
    if (mark == "first") {
      ++first;
      EXPECT_EQ(lines, 1u) << "first mark on line " << lines;
    } else if (mark == "last") {
      ++last;
      EXPECT_EQ(lines, static_cast<uint64_t>(kRows)) << "last mark on line " << lines;
    } else if (mark != "true") {
      ++other_mark;
    }
  });
  auto t3 = Clock::now();
  uint64_t missing = 0;
  for (int64_t id = 1; id <= kRows; ++id) missing += seen[id] == 0;
  EXPECT_EQ(std::to_string(lines), pg_.Scalar("SELECT count(*) FROM big", db_));
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(twice, 0u);
  EXPECT_EQ(not_read, 0u);
  EXPECT_EQ(out_of_range, 0u);
  EXPECT_EQ(wrong_v, 0u);
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(last, 1u);
  EXPECT_EQ(other_mark, 0u);
  // 2 M rows in chunks of about 100 k (bounds from the planner's histogram, or exact).
  const std::regex done(R"(public\.big: 2000000 of ~2000000 rows \(100%\), chunks (\d+)/\1)");
  std::smatch m;
  const std::string log = p.Stderr();
  ASSERT_TRUE(std::regex_search(log, m, done)) << Tail(log);
  EXPECT_GE(std::stoi(m[1]), 15) << "chunks far larger than snapshot_chunk_size";
  EXPECT_LE(std::stoi(m[1]), 30) << "chunks far smaller than snapshot_chunk_size";
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("2M rows: load %.1f s, snapshot %.1f s (%.0f rows/s), check %.1f s\n", secs(t0, t1),
              secs(t1, t2), kRows / secs(t1, t2), secs(t2, t3));
  EXPECT_LT(secs(t1, t2), 120.0) << "the snapshot of 2 M narrow rows took too long";
}

// --- 3. Tables without a key (ctid chunks) and partitioned tables ---

TEST_F(SnapshotTest, KeylessAndPartitionedTables) {
  // A keyless table with holes (deleted rows) and moved rows (updates), analyzed so that
  // chunks are page ranges of ~500 rows; and one never analyzed (no estimate).
  pg_.Exec("CREATE TABLE nokey (n int, payload text)", db_);
  pg_.Exec("INSERT INTO nokey SELECT g, repeat('p', 80) || g FROM generate_series(1, 20000) g",
           db_);
  pg_.Exec("DELETE FROM nokey WHERE n % 7 = 0", db_);
  pg_.Exec("UPDATE nokey SET payload = payload || 'moved' WHERE n % 11 = 0", db_);
  pg_.Exec("VACUUM ANALYZE nokey", db_);
  pg_.Exec("CREATE TABLE nokey_fresh (n int, payload text)", db_);
  pg_.Exec("INSERT INTO nokey_fresh SELECT g, 'f' || g FROM generate_series(1, 7000) g", db_);
  // Partitioned, with a composite key; and partitioned without a key.
  pg_.Exec(
      "CREATE TABLE parted (id int, region text, v text, PRIMARY KEY (id, region)) "
      "PARTITION BY LIST (region);"
      "CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');"
      "CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');"
      "CREATE TABLE parted_rest PARTITION OF parted DEFAULT",
      db_);
  pg_.Exec(
      "INSERT INTO parted SELECT g / 3, (ARRAY['eu', 'us', 'asia'])[g % 3 + 1], 'v' || g "
      "FROM generate_series(0, 8999) g",
      db_);
  pg_.Exec(
      "CREATE TABLE parted_nokey (n int, g int) PARTITION BY RANGE (g);"
      "CREATE TABLE parted_nokey_low PARTITION OF parted_nokey FOR VALUES FROM (0) TO (50);"
      "CREATE TABLE parted_nokey_high PARTITION OF parted_nokey FOR VALUES FROM (50) TO (100)",
      db_);
  pg_.Exec("INSERT INTO parted_nokey SELECT x, x % 100 FROM generate_series(1, 6000) x", db_);
  pg_.Exec("ANALYZE parted; ANALYZE parted_nokey", db_);

  const std::vector<std::string> tables = {"public.nokey", "public.nokey_fresh", "public.parted",
                                           "public.parted_nokey"};
  PipelineSpec spec = Spec(tables);
  spec.snapshot_chunk_size = 500;
  spec.snapshot_parallelism = 2;
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(90)));
  // Streamed changes of partitions carry the root's name too.
  pg_.Exec("INSERT INTO parted VALUES (100000, 'eu', 'new'), (100000, 'mars', 'new')", db_);
  pg_.Exec("UPDATE parted SET v = 'changed' WHERE id = 5", db_);
  pg_.Exec("INSERT INTO parted_nokey VALUES (100000, 99)", db_);
  pg_.Exec("INSERT INTO nokey VALUES (100000, 'streamed')", db_);
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());

  const OracleKeys keys = {{"public.nokey", {"n"}},
                           {"public.nokey_fresh", {"n"}},
                           {"public.parted", {"id", "region"}},
                           {"public.parted_nokey", {"n"}}};
  SnapshotReplay replay(keys);
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean());
  const std::map<std::string, int> streamed_inserts = {{"public.nokey", 1},
                                                       {"public.nokey_fresh", 0},
                                                       {"public.parted", 2},
                                                       {"public.parted_nokey", 1}};
  for (const auto& [table, cols] : keys) {
    SCOPED_TRACE(table);
    const std::string count = pg_.Scalar(
        "SELECT count(*) - " + std::to_string(streamed_inserts.at(table)) + " FROM " + table, db_);
    EXPECT_EQ(std::to_string(replay.initial(table).size()), count)
        << "rows read by the initial snapshot";
    EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), table, cols));
  }
  EXPECT_EQ(replay.marks("first"), 1u);
  EXPECT_EQ(replay.marks("last"), 1u);
  EXPECT_EQ(replay.ops("c"), 4u);
  EXPECT_EQ(replay.ops("u"), 3u);
  // More than one chunk per table (the chunk size is honoured for page ranges too).
  for (const char* t :
       {"public.nokey:", "public.nokey_fresh:", "public.parted:", "public.parted_nokey:"}) {
    std::regex re(std::string(t) + " .*chunks (\\d+)/(\\d+)");
    std::smatch m;
    std::string log = p.Stderr();
    std::string last_total;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it) {
      last_total = (*it)[2].str();
    }
    ASSERT_FALSE(last_total.empty()) << "no progress line for " << t << "\n" << Tail(log);
    EXPECT_GT(std::stoi(last_total), 2)
        << t << " read in " << last_total << " chunk(s) at snapshot_chunk_size 500: a table "
        << "without a key must be split into page ranges too (memory is bounded by the chunk)\n"
        << Tail(log, 3000);
  }
}

// --- 4. Writes during the initial snapshot ---

TEST_F(SnapshotTest, ConcurrentWritesDuringInitialSnapshot) {
  constexpr int64_t kRows = 200000;
  CreateChurnTable("churn", kRows);
  PipelineSpec spec = Spec({"public.churn"});
  spec.snapshot_chunk_size = 2000;
  spec.snapshot_parallelism = 2;
  WalflowPipeline p(pg_, spec);
  std::atomic<bool> stop{false};
  ChurnWriter writer(pg_.Dsn(db_), "churn", kRows, 1000000000, 4242);
  std::thread t([&] { writer.Run(stop); });
  std::this_thread::sleep_for(milliseconds(300));  // writes before, during and after
  auto result = p.StartAndWaitStreaming(seconds(120));
  std::this_thread::sleep_for(seconds(2));
  stop = true;
  t.join();
  ASSERT_TRUE(result);
  ASSERT_TRUE(p.WaitForCatchUp(seconds(60)));
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());

  SnapshotReplay replay(OracleKeys{{"public.churn", {"id"}}});
  replay.SetVersionColumn("public.churn", "v");
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean()) << Tail(p.Stderr(), 2000);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.churn", {"id"}));
  // Every row no transaction touched was read exactly once.
  const auto& initial = replay.initial("public.churn");
  uint64_t untouched_missing = 0;
  for (int64_t id = 1; id <= kRows; ++id) {
    if (!writer.touched().count(id) && !initial.count(std::to_string(id))) ++untouched_missing;
  }
  EXPECT_EQ(untouched_missing, 0u);
  EXPECT_GT(initial.size(), static_cast<size_t>(kRows * 9 / 10));
  EXPECT_EQ(replay.marks("first"), 1u);
  EXPECT_EQ(replay.marks("last"), 1u);
  EXPECT_EQ(replay.marks("incremental"), 0u);
  EXPECT_GT(replay.ops("u") + replay.ops("d") + replay.ops("c"), 100u)
      << "the writer made too few changes after the consistent point to test anything";
  std::printf("concurrent: %llu writer transactions, %zu rows read, %llu c / %llu u / %llu d\n",
              static_cast<unsigned long long>(writer.transactions()), initial.size(),
              static_cast<unsigned long long>(replay.ops("c")),
              static_cast<unsigned long long>(replay.ops("u")),
              static_cast<unsigned long long>(replay.ops("d")));
}

// --- 5. kill -9 in the middle of the initial snapshot ---

enum class Interruption { kKill, kKillWithWrites, kInterrupt, kKillInitialOnly };

const char* InterruptionName(Interruption i) {
  switch (i) {
    case Interruption::kKill: return "Kill9";
    case Interruption::kKillWithWrites: return "Kill9WithWrites";
    case Interruption::kInterrupt: return "CtrlC";
    case Interruption::kKillInitialOnly: return "Kill9InitialOnly";
  }
  return "unknown";
}

void PrintTo(Interruption i, std::ostream* os) { *os << InterruptionName(i); }

class SnapshotKillTest : public SnapshotTest, public ::testing::WithParamInterface<Interruption> {};

// Stopped in the middle of the initial snapshot (kill -9, or Ctrl-C), then started again:
// the chunks the sinks hold are not read again, the others are read while streaming.
// With initial_only, the second run also ends by itself once the snapshot is complete.
TEST_P(SnapshotKillTest, InterruptedInitialSnapshotResumes) {
  const Interruption how = GetParam();
  const bool with_writes = how == Interruption::kKillWithWrites;
  const bool initial_only = how == Interruption::kKillInitialOnly;
  constexpr int64_t kRows = 120000;
  CreateChurnTable("churn", kRows);
  PipelineSpec spec = Spec({"public.churn"}, initial_only ? "initial_only" : "initial");
  spec.snapshot_chunk_size = 1000;
  spec.snapshot_parallelism = 2;
  spec.flush_interval = "50ms";
  spec.max_file_size = "4MB";
  // A second sink that makes its writes durable less often: after the restart it lacks
  // chunks the first one holds, and each must receive exactly those it lacks.
  spec.second_sink_flush_interval = "400ms";
  WalflowPipeline p(pg_, spec);
  std::atomic<bool> stop{false};
  ChurnWriter writer(pg_.Dsn(db_), "churn", kRows, 1000000000, 777);
  std::thread t;
  if (with_writes) t = std::thread([&] { writer.Run(stop); });

  p.Start();
  // Stop at about a fifth of the snapshot (the sink holds ~55 MB at the end) once the first
  // sink made something durable, so that some chunks are durable and most are not.
  const bool some = PollUntil(
      [&] {
        return (SinkBytes(p.out_dir()) > 10000000 && SinkHoldsSomething(p.out_dir())) ||
               !p.Running();
      },
      seconds(60));
  std::map<std::string, uint64_t> durable_at_kill;
  if (how == Interruption::kInterrupt) {
    EXPECT_EQ(p.Stop(), 0) << Tail(p.Stderr());
  } else {
    p.Kill9();
  }
  for (const auto& dir : {p.out_dir(), p.second_out_dir()})
    durable_at_kill[dir] = DurableLines(dir);
  const bool completed_before_kill = p.Stderr().find("initial snapshot read") != std::string::npos;
  ASSERT_TRUE(some) << Tail(p.Stderr());
  if (with_writes) std::this_thread::sleep_for(milliseconds(500));
  if (initial_only) {
    p.Start();
    EXPECT_EQ(p.WaitExit(seconds(90)), 0) << "initial_only did not end by itself after the "
                                             "resumed snapshot\n"
                                          << Tail(p.Stderr());
    p.Kill9();  // if it did not
    ASSERT_FALSE(std::filesystem::exists(p.data_dir() + "/snapshot/" + p.slot() + ".json"));
    ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));  // catch-up below needs it running
  } else {
    auto result = p.StartAndWaitStreaming(seconds(60));
    if (!result) {
      stop = true;
      if (t.joinable()) t.join();
      FAIL() << result.message();
    }
    std::this_thread::sleep_for(seconds(2));
  }
  stop = true;
  if (t.joinable()) t.join();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !p.Running() ||
               !std::filesystem::exists(p.data_dir() + "/snapshot/" + p.slot() + ".json");
      },
      seconds(120)))
      << "the snapshot did not finish\n"
      << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp(seconds(60)));
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());

  for (const std::string& dir : {p.out_dir(), p.second_out_dir()}) {
    SCOPED_TRACE("sink " + dir);
    CheckResumedSnapshot(p, dir, writer, with_writes, kRows, durable_at_kill[dir],
                         completed_before_kill);
  }
}

void SnapshotTest::CheckResumedSnapshot(WalflowPipeline& p, const std::string& dir,
                                        const ChurnWriter& writer, bool with_writes, int64_t kRows,
                                        uint64_t durable_at_kill, bool completed_before_kill) {
  SnapshotReplay replay(OracleKeys{{"public.churn", {"id"}}});
  replay.SetVersionColumn("public.churn", "v");
  if (with_writes) replay.AllowChangesOfUnreadRows();
  ForEachEvent(dir, [&](const Json& e) { replay.Apply(e); });
  EXPECT_TRUE(replay.Clean()) << Tail(p.Stderr(), 3000);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.churn", {"id"}));
  // Each row is read once: by the initial snapshot before the kill or while streaming after.
  const auto& initial = replay.initial("public.churn");
  const auto& incremental = replay.incremental("public.churn");
  uint64_t twice = 0, missing = 0;
  for (int64_t id = 1; id <= kRows; ++id) {
    const std::string k = std::to_string(id);
    const uint64_t n =
        (initial.count(k) ? initial.at(k) : 0) + (incremental.count(k) ? incremental.at(k) : 0);
    if (n > 1) ++twice;
    if (n == 0 && !writer.touched().count(id)) ++missing;
  }
  EXPECT_EQ(twice, 0u) << "rows read twice";
  EXPECT_EQ(missing, 0u) << "untouched rows never read";
  for (const auto& [k, n] : incremental) EXPECT_EQ(n, 1u) << "key " << k;
  EXPECT_FALSE(completed_before_kill) << "the kill came after the snapshot";
  EXPECT_GT(incremental.size(), 0u) << "nothing left to read after the kill?";
  // What was durable at the kill (rows of the initial snapshot only) is kept, and those
  // rows are not sent again; what was not durable is gone.
  if (dir == p.out_dir()) {
    EXPECT_GT(durable_at_kill, 0u) << "no chunk was durable at the kill";
  }
  EXPECT_EQ(initial.size(), durable_at_kill)
      << "rows of the initial snapshot in the sink vs. rows it held durably at the kill";
  std::printf("resumed (%s): %llu rows durable at the stop, %zu read before, %zu after\n",
              dir.c_str(), static_cast<unsigned long long>(durable_at_kill), initial.size(),
              incremental.size());
}

INSTANTIATE_TEST_SUITE_P(Interruptions, SnapshotKillTest,
                         ::testing::Values(Interruption::kKill, Interruption::kKillWithWrites,
                                           Interruption::kInterrupt,
                                           Interruption::kKillInitialOnly),
                         [](const auto& info) { return InterruptionName(info.param); });

// --- 6. Snapshots on request ---

TEST_F(SnapshotTest, OnDemandSnapshotWhileWriting) {
  constexpr int64_t kRows = 5000;
  CreateChurnTable("orders", kRows);
  CreateChurnTable("other", 10);
  PipelineSpec spec = Spec({"public.orders", "public.other"});
  spec.snapshot_chunk_size = 250;  // 20 watermark windows
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  std::atomic<bool> stop{false};
  ChurnWriter writer(pg_.Dsn(db_), "orders", kRows, 1000000000, 99, milliseconds(0));
  std::thread t([&] { writer.Run(stop); });
  std::this_thread::sleep_for(milliseconds(300));
  ProcessResult req = RequestSnapshot(p.config_path(), {"public.orders"});
  const bool done = WaitUntil(
      [&] {
        return !p.Running() || p.Stderr().find("public.orders: snapshot read") != std::string::npos;
      },
      seconds(60));
  std::this_thread::sleep_for(milliseconds(300));
  stop = true;
  t.join();
  ASSERT_EQ(req.exit_code, 0) << req.out << req.err;
  EXPECT_NE(req.out.find("public.orders"), std::string::npos) << req.out;
  ASSERT_TRUE(done) << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());

  SnapshotReplay replay(OracleKeys{{"public.orders", {"id"}}, {"public.other", {"id"}}});
  replay.SetVersionColumn("public.orders", "v");
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean()) << Tail(p.Stderr(), 2000);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.orders", {"id"}));
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.other", {"id"}));
  EXPECT_TRUE(replay.incremental("public.other").empty()) << "only the requested table is read";
  // Every row of the table is read again, except rows changed while their chunk was read
  // (the stream carries those); none twice.
  const auto& incremental = replay.incremental("public.orders");
  PgRows ids = pg_.Query("SELECT id FROM orders", db_);
  uint64_t missing = 0, skipped_touched = 0;
  for (const auto& row : ids) {
    const std::string& k = *row[0];
    if (incremental.count(k)) continue;
    if (writer.touched().count(std::stoll(k))) {
      ++skipped_touched;
    } else {
      ++missing;
      if (missing < 5) ADD_FAILURE() << "row " << k << " was not read again";
    }
  }
  EXPECT_EQ(missing, 0u);
  for (const auto& [k, n] : incremental) EXPECT_EQ(n, 1u) << "key " << k;
  EXPECT_GT(incremental.size(), static_cast<size_t>(kRows / 2));
  EXPECT_GT(writer.transactions(), 50u);
  std::printf("on demand: %zu rows read again, %llu touched rows not read, %llu transactions\n",
              incremental.size(), static_cast<unsigned long long>(skipped_touched),
              static_cast<unsigned long long>(writer.transactions()));
}

TEST_F(SnapshotTest, SnapshotCommandErrorsAndRequestWhileStopped) {
  CreateChurnTable("orders", 300);
  pg_.Exec("CREATE TABLE elsewhere (id int PRIMARY KEY)", db_);
  PipelineSpec spec = Spec({"public.orders"}, "never");
  WalflowPipeline p(pg_, spec);

  // No slot yet.
  ProcessResult no_slot = RequestSnapshot(p.config_path(), {"public.orders"});
  EXPECT_EQ(no_slot.exit_code, 1) << no_slot.out << no_slot.err;
  EXPECT_NE(no_slot.err.find(p.slot()), std::string::npos) << no_slot.err;

  ASSERT_TRUE(p.StartAndWaitStreaming());
  // A table the pipeline does not capture (it exists in the database).
  ProcessResult unknown = RequestSnapshot(p.config_path(), {"public.elsewhere"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(unknown.err.find("public.elsewhere"), std::string::npos) << unknown.err;
  ProcessResult missing = RequestSnapshot(p.config_path(), {"public.orders", "nosuch.table"});
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("nosuch.table"), std::string::npos) << missing.err;
  ProcessResult no_table = RunProcess({WalflowBinary(), "snapshot", p.config_path()}, seconds(30));
  EXPECT_EQ(no_table.exit_code, 2) << no_table.err;
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0);
  EXPECT_EQ(p.Events().size(), 0u) << "a rejected request reads nothing";

  // A request made while walflow is stopped is in the WAL: the next start reads the table.
  // An unqualified name means public.
  ProcessResult ok = RequestSnapshot(p.config_path(), {"orders"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  pg_.Exec("UPDATE orders SET v = v + 1 WHERE id = 7", db_);
  ASSERT_TRUE(p.StartAndWaitStreaming());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !p.Running() ||
               p.LastStderr().find("public.orders: snapshot read") != std::string::npos;
      },
      seconds(30)))
      << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0);
  SnapshotReplay replay(OracleKeys{{"public.orders", {"id"}}});
  replay.SetVersionColumn("public.orders", "v");
  replay.AllowChangesOfUnreadRows();  // the update of row 7 precedes its read
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean());
  EXPECT_EQ(replay.incremental("public.orders").size(), 300u);
  EXPECT_EQ(replay.ops("u"), 1u);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.orders", {"id"}));
}

// A kill in the middle of a snapshot on request, with writes going on: after the restart
// the request goes on where it was (the rows the sinks hold are not read again).
TEST_F(SnapshotTest, KillDuringOnDemandSnapshotResumes) {
  constexpr int64_t kRows = 100000;
  CreateChurnTable("orders", kRows);
  PipelineSpec spec = Spec({"public.orders"});
  spec.snapshot_chunk_size = 500;
  spec.flush_interval = "50ms";
  spec.max_file_size = "4MB";
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  ASSERT_TRUE(p.WaitForCatchUp());
  const uint64_t initial_bytes = SinkBytes(p.out_dir());
  std::atomic<bool> stop{false};
  ChurnWriter writer(pg_.Dsn(db_), "orders", kRows, 1000000000, 31337);
  std::thread t([&] { writer.Run(stop); });
  auto finish_writer = [&] {
    stop = true;
    if (t.joinable()) t.join();
  };
  ProcessResult req = RequestSnapshot(p.config_path(), {"public.orders"});
  if (req.exit_code != 0) finish_writer();
  ASSERT_EQ(req.exit_code, 0) << req.out << req.err;
  // About a third of the second reading of the table.
  const bool some = PollUntil(
      [&] { return SinkBytes(p.out_dir()) > initial_bytes * 4 / 3 || !p.Running(); }, seconds(60));
  p.Kill9();
  const bool done_before_kill =
      p.Stderr().find("public.orders: snapshot read") != std::string::npos;
  if (!some) finish_writer();
  ASSERT_TRUE(some) << Tail(p.Stderr());
  auto result = p.StartAndWaitStreaming(seconds(60));
  const bool done =
      result && WaitUntil(
                    [&] {
                      return !p.Running() || p.LastStderr().find("public.orders: snapshot read") !=
                                                 std::string::npos;
                    },
                    seconds(90));
  finish_writer();
  ASSERT_TRUE(result);
  ASSERT_TRUE(done) << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp(seconds(60)));
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());

  SnapshotReplay replay(OracleKeys{{"public.orders", {"id"}}});
  replay.SetVersionColumn("public.orders", "v");
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean()) << Tail(p.Stderr(), 3000);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.orders", {"id"}));
  const auto& incremental = replay.incremental("public.orders");
  uint64_t twice = 0, missing = 0;
  for (const auto& [k, n] : incremental) twice += n > 1;
  PgRows ids = pg_.Query("SELECT id FROM orders", db_);
  for (const auto& row : ids) {
    if (!incremental.count(*row[0]) && !writer.touched().count(std::stoll(*row[0]))) ++missing;
  }
  EXPECT_EQ(twice, 0u) << "rows read twice by one request";
  EXPECT_EQ(missing, 0u) << "untouched rows not read";
  EXPECT_FALSE(done_before_kill) << "the kill came after the snapshot";
  std::printf("kill during request: %zu rows read, %llu writer transactions\n", incremental.size(),
              static_cast<unsigned long long>(writer.transactions()));
}

// A primary key of type char(n): chunk bounds must keep their full value (a bound cast to
// plain `character` is cut to one character).
TEST_F(SnapshotTest, CharPrimaryKey) {
  pg_.Exec("CREATE TABLE codes (code char(5) PRIMARY KEY, v bigint NOT NULL)", db_);
  pg_.Exec(
      "INSERT INTO codes SELECT 'k' || lpad(g::text, 4, '0'), 0 FROM generate_series(1, 600) g",
      db_);
  PipelineSpec spec = Spec({"public.codes"});
  spec.snapshot_chunk_size = 100;
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  ProcessResult req = RequestSnapshot(p.config_path(), {"public.codes"});
  ASSERT_EQ(req.exit_code, 0) << req.out << req.err;
  const bool done = WaitUntil(
      [&] {
        return !p.Running() || p.Stderr().find("public.codes: snapshot read") != std::string::npos;
      },
      seconds(10));
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());
  SnapshotReplay replay(OracleKeys{{"public.codes", {"code"}}});
  Replay(p, replay);
  EXPECT_TRUE(done) << "the snapshot of codes did not end within 10 s\n" << Tail(p.Stderr(), 2000);
  EXPECT_TRUE(replay.Clean());
  EXPECT_EQ(replay.initial("public.codes").size(), 600u);
  EXPECT_EQ(replay.incremental("public.codes").size(), 600u);
  EXPECT_EQ(replay.marks("incremental"), 600u) << "rows read more than once by one request";
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.codes", {"code"}));
  // The exported snapshot's chunks: 600 rows in chunks of 100 are 6 or 7 chunks, not one.
  EXPECT_NE(p.Stderr().find("public.codes: 600 rows, chunks 7/7"), std::string::npos)
      << Tail(p.Stderr(), 2000);
}

// Keys whose text needs quoting or exact typing in chunk bounds (quotes, backslashes, tabs,
// newlines, unicode, empty strings; timestamptz and float8 parts), a mixed-case table name,
// and a table keyed by a replica identity index instead of a primary key; read by the
// initial snapshot and again on request, in chunks of a few rows.
TEST_F(SnapshotTest, UnusualKeysAndNames) {
  pg_.Exec(
      "CREATE TABLE \"MixedCase\" (\"Name\" text, \"At\" timestamptz, \"F\" float8, v int, "
      "PRIMARY KEY (\"Name\", \"At\", \"F\"))",
      db_);
  pg_.Exec(
      "INSERT INTO \"MixedCase\" SELECT n, t, f, 1 FROM unnest(ARRAY[E'it''s', E'back\\\\slash', "
      "E'tab\\there', E'line\\nbreak', '', ' ', 'é', '日本', 'ZZ', 'a', 'A', E'\\\\N', '''']) n, "
      "unnest(ARRAY['2024-01-01 00:00:00.123456+00', '1999-12-31 23:59:59.999999-05', "
      "'infinity']::timestamptz[]) t, unnest(ARRAY[0.1, 1e-300, -2.5e100]::float8[]) f",
      db_);
  pg_.Exec(
      "CREATE TABLE ri_idx (a int NOT NULL, b text NOT NULL, v int);"
      "CREATE UNIQUE INDEX ri_idx_ba ON ri_idx (b, a);"
      "ALTER TABLE ri_idx REPLICA IDENTITY USING INDEX ri_idx_ba",
      db_);
  pg_.Exec("INSERT INTO ri_idx SELECT g % 17, 'b' || (g % 5), g FROM generate_series(1, 85) g",
           db_);
  const std::vector<std::string> tables = {"public.MixedCase", "public.ri_idx"};
  PipelineSpec spec = Spec(tables);
  spec.snapshot_chunk_size = 7;
  spec.snapshot_parallelism = 2;
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  ProcessResult req = RequestSnapshot(p.config_path(), tables);
  ASSERT_EQ(req.exit_code, 0) << req.out << req.err;
  const bool done = WaitUntil(
      [&] {
        const std::string log = p.Stderr();
        return !p.Running() || (log.find("public.MixedCase: snapshot read") != std::string::npos &&
                                log.find("public.ri_idx: snapshot read") != std::string::npos);
      },
      seconds(10));
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());
  const OracleKeys keys = {{"public.MixedCase", {"Name", "At", "F"}},
                           {"public.ri_idx", {"b", "a"}}};
  SnapshotReplay replay(keys);
  Replay(p, replay);
  EXPECT_TRUE(done) << "the requested snapshots did not end\n" << Tail(p.Stderr(), 2000);
  EXPECT_TRUE(replay.Clean());
  EXPECT_EQ(replay.initial("public.MixedCase").size(), 13u * 3 * 3);
  EXPECT_EQ(replay.incremental("public.MixedCase").size(), 13u * 3 * 3);
  EXPECT_EQ(replay.initial("public.ri_idx").size(), 85u);
  EXPECT_EQ(replay.incremental("public.ri_idx").size(), 85u);
  EXPECT_EQ(replay.marks("incremental"), 13u * 3 * 3 + 85u) << "rows read twice by one request";
  // Timestamps and floats are held as Debezium encodes them, so only ri_idx compares as text.
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.ri_idx", {"b", "a"}));
  // Both ways of reading see the same keys.
  std::set<std::string> initial_keys, incremental_keys;
  for (const auto& [k, n] : replay.initial("public.MixedCase")) initial_keys.insert(k);
  for (const auto& [k, n] : replay.incremental("public.MixedCase")) incremental_keys.insert(k);
  EXPECT_EQ(initial_keys, incremental_keys);
}

// A table without a primary key but with REPLICA IDENTITY FULL (every column is the
// identity), holding NULLs and duplicate rows: the snapshot has every row.
TEST_F(SnapshotTest, ReplicaIdentityFullTableWithNulls) {
  pg_.Exec("CREATE TABLE rif (n int, note text)", db_);
  pg_.Exec("ALTER TABLE rif REPLICA IDENTITY FULL", db_);
  pg_.Exec(
      "INSERT INTO rif SELECT CASE WHEN g % 50 = 0 THEN NULL ELSE g END, "
      "CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 3000) g",
      db_);
  pg_.Exec("INSERT INTO rif VALUES (7, 'dup'), (7, 'dup'), (NULL, NULL)", db_);
  PipelineSpec spec = Spec({"public.rif"});
  spec.snapshot_chunk_size = 500;
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  auto events = CatchUpStopAndRead(p);
  std::multiset<std::string> got, want;
  for (const auto& e : events) {
    EXPECT_EQ(e["op"], "r");
    got.insert(JsonAsText(e["after"]["n"]).value_or("NULL") + "|" +
               JsonAsText(e["after"]["note"]).value_or("NULL"));
  }
  for (const auto& r : pg_.Query("SELECT n::text, note FROM rif", db_)) {
    want.insert(r[0].value_or("NULL") + "|" + r[1].value_or("NULL"));
  }
  EXPECT_EQ(got.size(), want.size()) << Tail(p.Stderr(), 2000);
  std::vector<std::string> lost, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(), std::back_inserter(lost));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  EXPECT_TRUE(lost.empty()) << lost.size() << " row(s) missing, e.g. " << lost[0];
  EXPECT_TRUE(extra.empty()) << extra.size() << " row(s) too many, e.g. " << extra[0];
}

// --- 7. The same values through the snapshot and through the stream ---

TEST_F(SnapshotTest, SnapshotAndStreamEncodeValuesAlike) {
  pg_.Exec("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'très bien')", db_);
  pg_.Exec("CREATE DOMAIN posint AS int CHECK (VALUE > 0)", db_);
  pg_.Exec(
      "CREATE TABLE vals (id int PRIMARY KEY, c_bool bool, c_int2 int2, c_int8 int8, "
      "c_float4 float4, c_float8 float8, c_num numeric, c_num102 numeric(10,2), c_money_like "
      "numeric(20,6), c_text text, c_varchar varchar(30), c_char char(5), c_bytea bytea, "
      "c_date date, c_time time, c_time3 time(3), c_timetz timetz, c_ts timestamp, "
      "c_ts3 timestamp(3), c_tstz timestamptz, c_interval interval, c_uuid uuid, c_json json, "
      "c_jsonb jsonb, c_enum mood, c_int4arr int4[], c_textarr text[], c_numarr numeric(5,1)[], "
      "c_inet inet, c_domain posint, c_dropped int, "
      "c_gen int GENERATED ALWAYS AS (length(c_text)) STORED)",
      db_);
  pg_.Exec("ALTER TABLE vals DROP COLUMN c_dropped", db_);
  const std::string cols =
      "c_bool, c_int2, c_int8, c_float4, c_float8, c_num, c_num102, c_money_like, c_text, "
      "c_varchar, c_char, c_bytea, c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_tstz, "
      "c_interval, c_uuid, c_json, c_jsonb, c_enum, c_int4arr, c_textarr, c_numarr, c_inet, "
      "c_domain";
  const char* const rows[] = {
      "(1, true, 12345, 1234567890123, 3.14, 2.718281828459045, "
      "3.14159265358979323846, 12.50, 123.456789, 'hello', 'varchar', 'ab', '\\x0001feff', "
      "'2024-02-29', '13:45:30.123456', '13:45:30.123', '13:45:30.5+02', "
      "'2024-01-15 13:45:30.123456', '2024-01-15 13:45:30.123', '2024-01-15 13:45:30.12+01', "
      "'1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
      "'{\"a\": [1, 2.5, \"x\"], \"b\": null}', '{\"b\": 1, \"a\": \"y\"}', 'happy', '{1,2,3}', "
      "'{\"a\",\"b c\"}', '{1.5,-2.0}', '192.168.0.1/24', 42)",
      // NULL everywhere
      "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
      "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
      // COPY's escapes: tabs, newlines, carriage returns, backslashes, \N and \x as text,
      // control characters, unicode; inside arrays and JSON too
      "(3, false, -32768, -9223372036854775808, 'NaN', '-Infinity', 'NaN', -99999999.99, 0, "
      "E'tab\\there\\nnew line\\r\\ncrlf back\\\\slash \\\\N \\\\x41 \\\\t lit \\b\\f\\v "
      "h\\u00e9llo \\u65e5\\u672c \\U0001F389 \"dq\" ''sq''', "
      "E'\\\\N', E'\\\\', '\\x5c4e0a09', "
      "'infinity', '24:00:00', '00:00:00', '23:59:59.999999-11', 'infinity', '-infinity', "
      "'infinity', '-1 years -2 mons +3 days -04:05:06', '00000000-0000-0000-0000-000000000000', "
      "E'{\"k\": \"tab\\\\there \\\\\\\\ back\", \"n\": \"line\\\\nbreak\"}', "
      "E'{\"k\": \"\\\\u00e9 \\u00e9 \\U0001F389\", \"t\": \"a\\\\tb\", \"q\": \"a\\\\\"b\"}', "
      "'très bien', '{-1,NULL,2147483647}', "
      "E'{\"with\\\\\\\\back\",\"tab\\there\",\"nl\\nhere\",\"\\\\\"q\\\\\"\",NULL,\"NULL\",\"\"}',"
      " "
      "'{NULL}', '::1', 1)",
      // extremes and BC dates
      "(4, true, 32767, 9223372036854775807, '-Infinity', 1e308, "
      "'-1234567890123456789012345678901234567890.123456789', 0.01, -99999999999999.999999, "
      "repeat(E'x\\t', 3000), '', '     ', '\\x', '0044-03-15 BC', '00:00:00.000001', "
      "'23:59:59.999', '00:00:00+14', '0044-03-15 12:00:00 BC', '1969-12-31 23:59:59.999', "
      "'1969-07-20 20:17:40.000001-03', '1000 years 11 mons 30 days 23:59:59.999999', "
      "'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', 'null', 'sad', '{}', '{}', '{9999.9}', "
      "'2001:db8::/32', 2147483647)",
  };
  constexpr int kRowCount = sizeof(rows) / sizeof(rows[0]);
  for (const char* r : rows) pg_.Exec("INSERT INTO vals (id, " + cols + ") VALUES " + r, db_);

  PipelineSpec spec = Spec({"public.vals"});
  spec.snapshot_chunk_size = 2;
  spec.decimal_handling = "precise";  // bytes, scale: the most mapping logic
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  pg_.Exec(
      "INSERT INTO vals (id, " + cols + ") SELECT id + 100, " + cols + " FROM vals WHERE id < 100",
      db_);
  auto events = CatchUpStopAndRead(p);
  ASSERT_EQ(events.size(), 2u * kRowCount) << Tail(p.Stderr());
  std::map<int, Json> read, created;
  for (const auto& e : events) {
    const int id = e["after"]["id"].get<int>();
    if (e["op"] == "r") read[id] = e["after"];
    if (e["op"] == "c") created[id - 100] = e["after"];
  }
  ASSERT_EQ(read.size(), static_cast<size_t>(kRowCount));
  ASSERT_EQ(created.size(), static_cast<size_t>(kRowCount));
  for (auto& [id, snap] : read) {
    SCOPED_TRACE("row " + std::to_string(id));
    ASSERT_TRUE(created.count(id));
    Json stream = created[id];
    snap.erase("id");
    stream.erase("id");
    EXPECT_FALSE(snap.contains("c_dropped"));
    EXPECT_EQ(snap.size(), stream.size())
        << "snapshot " << snap.dump() << "\nstream " << stream.dump();
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      ASSERT_TRUE(snap.contains(it.key())) << it.key() << " missing from the snapshot row";
      EXPECT_EQ(snap[it.key()], it.value()) << "column " << it.key();
    }
  }
  // The text with COPY's escapes, byte for byte as PostgreSQL holds it.
  for (int id : {3, 4}) {
    EXPECT_EQ(read[id]["c_text"],
              Json(pg_.Scalar("SELECT c_text FROM vals WHERE id = " + std::to_string(id), db_)));
  }
  EXPECT_EQ(read[3]["c_varchar"], "\\N");
  EXPECT_EQ(read[3]["c_char"], "\\    ");
  EXPECT_TRUE(read[2]["c_text"].is_null());
}

// --- 8. initial_only, initial on restart, always ---

TEST_F(SnapshotTest, InitialOnlyThenInitialThenAlways) {
  constexpr int64_t kRows = 5000;
  CreateChurnTable("items", kRows);
  PipelineSpec spec = Spec({"public.items"}, "initial_only");
  spec.snapshot_chunk_size = 1000;
  WalflowPipeline p(pg_, spec);

  // initial_only: the snapshot, then exit 0; the slot stays for a later run.
  p.Start();
  EXPECT_EQ(p.WaitExit(seconds(60)), 0) << Tail(p.Stderr());
  EXPECT_EQ(
      pg_.Scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + p.slot() + "'",
                 db_),
      "1");
  {
    SnapshotReplay replay(OracleKeys{{"public.items", {"id"}}});
    Replay(p, replay);
    EXPECT_TRUE(replay.Clean());
    EXPECT_EQ(replay.initial("public.items").size(), static_cast<size_t>(kRows));
    EXPECT_EQ(replay.events(), static_cast<uint64_t>(kRows));
    EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.items", {"id"}));
  }

  // Changes made after it are streamed by the next run; `initial` with a sink that holds
  // the snapshot reads nothing again.
  pg_.Exec("UPDATE items SET v = v + 1 WHERE id = 10", db_);
  p.Reconfigure([](PipelineSpec& s) { s.snapshot = "initial"; });
  ASSERT_TRUE(p.StartAndWaitStreaming());
  pg_.Exec("INSERT INTO items VALUES (9000001, 0, 'new')", db_);
  ASSERT_TRUE(p.WaitForCatchUp());
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_EQ(p.Stop(), 0);
  {
    SnapshotReplay replay(OracleKeys{{"public.items", {"id"}}});
    replay.SetVersionColumn("public.items", "v");
    Replay(p, replay);
    EXPECT_TRUE(replay.Clean());
    EXPECT_EQ(replay.events(), static_cast<uint64_t>(kRows) + 2);
    EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.items", {"id"}));
  }

  // always: every start reads every table again while streaming.
  p.Reconfigure([](PipelineSpec& s) { s.snapshot = "always"; });
  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE("always, run " + std::to_string(run));
    pg_.Exec("UPDATE items SET v = v + 1 WHERE id = " + std::to_string(20 + run), db_);
    ASSERT_TRUE(p.StartAndWaitStreaming());
    ASSERT_TRUE(WaitUntil(
        [&] {
          return !p.Running() ||
                 p.LastStderr().find("public.items: snapshot read") != std::string::npos;
        },
        seconds(60)))
        << Tail(p.Stderr());
    ASSERT_TRUE(p.WaitForCatchUp());
    ASSERT_EQ(p.Stop(), 0);
    SnapshotReplay replay(OracleKeys{{"public.items", {"id"}}});
    replay.SetVersionColumn("public.items", "v");
    Replay(p, replay);
    EXPECT_TRUE(replay.Clean());
    EXPECT_EQ(replay.marks("incremental"), static_cast<uint64_t>(run * (kRows + 1)));
    EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.items", {"id"}));
  }
}

// `initial` with a slot that exists and sinks that are all empty reads the tables while
// streaming.
TEST_F(SnapshotTest, InitialWithExistingSlotAndEmptySinksBackfills) {
  CreateChurnTable("items", 3000);
  PipelineSpec spec = Spec({"public.items"});
  spec.snapshot_chunk_size = 700;
  WalflowPipeline p(pg_, spec);
  // The publication first: pgoutput cannot decode changes made before it existed.
  pg_.Exec("CREATE PUBLICATION " + p.spec().publication +
               " FOR TABLE items WITH (publish_via_partition_root = true)",
           db_);
  pg_.Exec("SELECT pg_create_logical_replication_slot('" + p.slot() + "', 'pgoutput')", db_);
  pg_.Exec("UPDATE items SET v = v + 1 WHERE id = 1", db_);  // after the slot: streamed
  ASSERT_TRUE(p.StartAndWaitStreaming());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !p.Running() || p.Stderr().find("public.items: snapshot read") != std::string::npos;
      },
      seconds(60)))
      << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0);
  EXPECT_NE(p.Stderr().find("every sink is empty"), std::string::npos) << Tail(p.Stderr());
  SnapshotReplay replay(OracleKeys{{"public.items", {"id"}}});
  replay.SetVersionColumn("public.items", "v");
  replay.AllowChangesOfUnreadRows();  // the update of row 1 comes before its read
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean());
  EXPECT_EQ(replay.incremental("public.items").size(), 3000u);
  EXPECT_EQ(replay.initial("public.items").size(), 0u);
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.items", {"id"}));
}

// --- 9. A keyless table cannot be resumed ---

TEST_F(SnapshotTest, KeylessTableKilledMidSnapshotCannotResume) {
  pg_.Exec("CREATE TABLE big_nokey (n int, payload text)", db_);
  pg_.Exec("INSERT INTO big_nokey SELECT g, repeat('z', 40) FROM generate_series(1, 300000) g",
           db_);
  pg_.Exec("ANALYZE big_nokey", db_);
  PipelineSpec spec = Spec({"public.big_nokey"});
  spec.snapshot_chunk_size = 2000;
  spec.flush_interval = "100ms";
  WalflowPipeline p(pg_, spec);
  p.Start();
  ASSERT_TRUE(
      PollUntil([&] { return SinkBytes(p.out_dir()) > 300000 || !p.Running(); }, seconds(60)));
  p.Kill9();
  if (p.Stderr().find("initial snapshot read") != std::string::npos) {
    GTEST_SKIP() << "the snapshot finished before the kill";
  }
  p.Start();
  auto code = p.WaitExit(seconds(60));
  ASSERT_TRUE(code.has_value()) << "walflow kept running\n" << Tail(p.LastStderr());
  EXPECT_EQ(*code, 1);
  const std::string err = p.LastStderr();
  EXPECT_NE(err.find("public.big_nokey"), std::string::npos) << Tail(err);
  EXPECT_NE(err.find("has no primary key or replica identity index"), std::string::npos)
      << Tail(err);
}

// --- 10. A table the role may not read ---

TEST_F(SnapshotTest, PermissionDeniedNamesTheTable) {
  pg_.Exec("CREATE TABLE allowed (id int PRIMARY KEY, v text)", db_);
  pg_.Exec("CREATE TABLE denied (id int PRIMARY KEY, v text)", db_);
  pg_.Exec("INSERT INTO allowed SELECT g, 'a' || g FROM generate_series(1, 100) g", db_);
  pg_.Exec("INSERT INTO denied SELECT g, 'd' || g FROM generate_series(1, 100) g", db_);
  const std::string role = "wf_limited_" + db_;
  pg_.Exec("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role +
               "') THEN CREATE ROLE " + role + " LOGIN REPLICATION; END IF; END $$",
           db_);
  pg_.Exec("GRANT SELECT ON allowed TO " + role, db_);
  PipelineSpec spec = Spec({"public.allowed", "public.denied"});
  spec.dsn = pg_.Dsn(db_, role);
  WalflowPipeline p(pg_, spec);
  // The publication needs the tables' owner: made beforehand, as an operator would.
  pg_.Exec("CREATE PUBLICATION " + p.spec().publication +
               " FOR TABLE allowed, denied WITH (publish_via_partition_root = true)",
           db_);
  p.Start();
  auto code = p.WaitExit(seconds(60));
  ASSERT_TRUE(code.has_value()) << "walflow kept running\n" << Tail(p.LastStderr());
  EXPECT_EQ(*code, 1);
  const std::string err = p.LastStderr();
  EXPECT_NE(err.find("permission denied"), std::string::npos) << Tail(err);
  EXPECT_NE(err.find("public.denied"), std::string::npos) << Tail(err);
  EXPECT_EQ(p.Events().size(), 0u) << "nothing of a failed snapshot";

  // Granted, the next start reads both tables (the slot exists now, the sink is empty).
  pg_.Exec("GRANT SELECT ON denied TO " + role, db_);
  ASSERT_TRUE(p.StartAndWaitStreaming());
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = p.LastStderr();
        return !p.Running() ||
               (log.find("public.allowed: snapshot read") != std::string::npos &&
                log.find("public.denied: snapshot read") != std::string::npos) ||
               log.find("initial snapshot read") != std::string::npos;
      },
      seconds(60)))
      << Tail(p.Stderr());
  ASSERT_TRUE(p.WaitForCatchUp());
  ASSERT_EQ(p.Stop(), 0) << Tail(p.Stderr());
  SnapshotReplay replay(OracleKeys{{"public.allowed", {"id"}}, {"public.denied", {"id"}}});
  Replay(p, replay);
  EXPECT_TRUE(replay.Clean());
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.allowed", {"id"}));
  EXPECT_TRUE(TableMatches(pg_, db_, replay.oracle(), "public.denied", {"id"}));
}

}  // namespace
}  // namespace walflow::test

namespace walflow::test {
namespace {

// A table dropped while the initial snapshot reads the tables before it: the snapshot
// skips it with a warning naming it and delivers every other row; nothing stops.
TEST_F(SnapshotTest, TableDroppedDuringInitialSnapshotIsSkipped) {
  pg_.Exec("CREATE TABLE first_t (id bigint PRIMARY KEY, payload text)", db_);
  pg_.Exec("INSERT INTO first_t SELECT g, repeat('p', 200) FROM generate_series(1, 500000) g", db_);
  pg_.Exec("ANALYZE first_t", db_);
  // Without a key: planning reads nothing of it, so no lock holds the DROP back.
  pg_.Exec("CREATE TABLE doomed_t (a int, b text)", db_);
  pg_.Exec("INSERT INTO doomed_t SELECT g, 'x' FROM generate_series(1, 1000) g", db_);
  PipelineSpec spec = Spec({"public.first_t", "public.doomed_t"});
  spec.snapshot_chunk_size = 2000;  // 250 chunks of first_t before doomed_t's turn
  WalflowPipeline p(pg_, spec);
  p.Start();
  ASSERT_TRUE(WaitUntil([&] { return SinkBytes(p.out_dir()) > 0; }, seconds(60)))
      << Tail(p.Stderr());
  pg_.Exec("DROP TABLE doomed_t", db_);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const std::string log = p.Stderr();
        return log.find("doomed_t was dropped") != std::string::npos ||
               log.find("initial snapshot read") != std::string::npos;
      },
      seconds(60)))
      << Tail(p.Stderr());
  if (p.Stderr().find("doomed_t was dropped") == std::string::npos) {
    GTEST_SKIP() << "the snapshot read doomed_t before the DROP";
  }
  ASSERT_TRUE(p.Running()) << Tail(p.Stderr());
  auto events = CatchUpStopAndRead(p);
  Oracle oracle(OracleKeys{{"public.first_t", {"id"}}});
  size_t doomed = 0;
  for (const Json& e : events) {
    if (e["source"]["table"] == "doomed_t") {
      ++doomed;
    } else {
      oracle.Apply(e);
    }
  }
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies()[0];
  EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.first_t", {"id"}));
  EXPECT_EQ(doomed, 0u) << "rows of a table dropped before its turn";
  EXPECT_NE(p.Stderr().find("WARN"), std::string::npos);
}

}  // namespace
}  // namespace walflow::test

namespace walflow::test {
namespace {

// A sink added to a pipeline whose sink already holds data is filled while streaming:
// it ends up with the table's rows; the old sink receives no row twice.
TEST_F(SnapshotTest, SinkAddedLaterIsFilledWhileStreaming) {
  pg_.Exec("CREATE TABLE items (id int PRIMARY KEY, v int)", db_);
  pg_.Exec("INSERT INTO items SELECT g, 0 FROM generate_series(1, 5000) g", db_);
  PipelineSpec spec = Spec({"public.items"});
  spec.snapshot_chunk_size = 700;
  WalflowPipeline p(pg_, spec);
  ASSERT_TRUE(p.StartAndWaitStreaming(seconds(60)));
  pg_.Exec("UPDATE items SET v = 1 WHERE id <= 100", db_);
  const size_t first_run = CatchUpStopAndRead(p).size();
  ASSERT_EQ(first_run, 5100u) << Tail(p.Stderr());

  p.Reconfigure([](PipelineSpec& s) { s.second_sink_flush_interval = "200ms"; });
  pg_.Exec("INSERT INTO items SELECT g, 2 FROM generate_series(5001, 5200) g", db_);
  p.Start();
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {
      pg_.Exec("UPDATE items SET v = v + 1 WHERE id = " + std::to_string(1 + i * 97), db_);
      pg_.Exec("DELETE FROM items WHERE id = " + std::to_string(5200 - i), db_);
    }
  });
  writer.join();
  ASSERT_TRUE(
      WaitUntil([&] { return p.Stderr().find("public.items: snapshot read") != std::string::npos; },
                seconds(60)))
      << Tail(p.Stderr());
  EXPECT_NE(p.Stderr().find("files2 empty while the others hold data"), std::string::npos)
      << Tail(p.Stderr());
  auto old_sink = CatchUpStopAndRead(p);
  auto new_sink = p.EventsIn(p.second_out_dir());

  size_t reads_in_old = 0;
  for (const Json& e : old_sink) reads_in_old += e["op"] == "r";
  EXPECT_EQ(reads_in_old, 5000u) << "the old sink got rows of the new sink's backfill";
  for (const auto* events : {&old_sink, &new_sink}) {
    Oracle oracle(OracleKeys{{"public.items", {"id"}}});
    std::map<int, int> reads;
    for (const Json& e : *events) {
      oracle.Apply(e);
      if (e["op"] == "r") ++reads[e["after"]["id"].get<int>()];
    }
    EXPECT_TRUE(oracle.anomalies().empty() || events == &new_sink)
        << oracle.anomalies()[0];  // the new sink sees changes of rows it gets only later
    EXPECT_TRUE(TableMatches(pg_, db_, oracle, "public.items", {"id"}));
    for (const auto& [id, n] : reads) EXPECT_EQ(n, 1) << "id " << id << " read twice";
  }
}

}  // namespace
}  // namespace walflow::test
