// The Kafka source against librdkafka's mock cluster (walflow-kafka-mock, one per test):
// Debezium records (walflow's own, through a PostgreSQL → Kafka → jsonl round trip, and
// hand-written as Debezium's Java PostgreSQL connector documents them) become the same
// events in jsonl sinks; every record arrives exactly once in every sink across kill -9
// and consumer-group rebalances; malformed records go to the dead letters; brokers that
// are down do not lose anything; configuration mistakes stop walflow with a clear message.
//
// A change is identified by table, op, key and source.lsn: every record the tests produce
// has its own LSN, and a sink must hold each exactly once.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "duckdb_reader.h"
#include "kafka_cluster.h"
#include "walflow_harness.h"

namespace walflow::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

uint32_t Seed() {
  return static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count() %
                               100000);
}

// --- Producing records ---

// A librdkafka producer for test input: idempotent (no record lost, doubled or reordered
// when brokers come and go), records acknowledged by all replicas. Send() may be called
// from one thread while another thread runs the test.
class TestProducer {
 public:
  explicit TestProducer(const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    const std::pair<const char*, const char*> settings[] = {
        {"bootstrap.servers", bootstrap.c_str()},
        {"enable.idempotence", "true"},
        {"linger.ms", "2"},
        {"message.timeout.ms", "120000"},
        {"log_level", "2"},
    };
    for (const auto& [key, value] : settings) {
      if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("test producer: ") + key + ": " + err);
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &TestProducer::OnDelivery);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("test producer: ") + err);
    }
  }
  ~TestProducer() {
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
  }
  TestProducer(const TestProducer&) = delete;
  TestProducer& operator=(const TestProducer&) = delete;

  // Queues one record; `partition` -1 lets librdkafka choose. nullopt is a null key or
  // value (a tombstone).
  void Send(const std::string& topic, int32_t partition, const std::optional<std::string>& key,
            const std::optional<std::string>& value) {
    // (The RD_KAFKA_V_* macros cast their arguments: pass plain variables.)
    const int32_t to = partition < 0 ? RD_KAFKA_PARTITION_UA : partition;
    const void* key_data = key ? key->data() : nullptr;
    const size_t key_size = key ? key->size() : 0;
    void* value_data = value ? const_cast<char*>(value->data()) : nullptr;
    const size_t value_size = value ? value->size() : 0;
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(to),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key_data, key_size),
          RD_KAFKA_V_VALUE(value_data, value_size), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk_, 50);
        continue;
      }
      if (err) throw std::runtime_error("test producer: " + topic + ": " + rd_kafka_err2str(err));
      break;
    }
    rd_kafka_poll(rk_, 0);
  }

  // Waits until every record is acknowledged; false on timeout or a failed delivery.
  ::testing::AssertionResult Flush(milliseconds timeout = seconds(30)) {
    rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
    if (err) {
      return ::testing::AssertionFailure()
             << "test producer: " << rd_kafka_outq_len(rk_)
             << " record(s) not acknowledged: " << rd_kafka_err2str(err);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_ > 0) {
      return ::testing::AssertionFailure()
             << "test producer: " << failures_ << " record(s) failed, last: " << last_error_;
    }
    return ::testing::AssertionSuccess();
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (!m->err) return;
    auto* self = static_cast<TestProducer*>(opaque);
    std::lock_guard<std::mutex> lock(self->mu_);
    ++self->failures_;
    self->last_error_ = rd_kafka_err2str(m->err);
  }

  rd_kafka_t* rk_ = nullptr;
  std::mutex mu_;
  uint64_t failures_ = 0;   // GUARDED_BY(mu_)
  std::string last_error_;  // GUARDED_BY(mu_)
};

// A change's identity in a sink's events: table, op, key and source.lsn.
std::string ChangeIdentity(const std::string& table, const std::string& op, int64_t id,
                           uint64_t lsn) {
  return table + " " + op + " id=" + std::to_string(id) + " lsn=" + std::to_string(lsn);
}

std::string EventIdentity(const Json& event) {
  const Json& v = event.contains("payload") ? event["payload"] : event;
  const Json& row = v["after"].is_object() ? v["after"] : v["before"];
  std::string key = row.is_object() && row.contains("id") ? row["id"].dump() : "?";
  return v["source"]["schema"].get<std::string>() + "." + v["source"]["table"].get<std::string>() +
         " " + v["op"].get<std::string>() + " id=" + key + " lsn=" + v["source"]["lsn"].dump();
}

// Writes a stream of Debezium change events, as walflow's own Kafka sink writes them
// (no schema), for tables "(id bigint PRIMARY KEY, v bigint, note text)" spread over the
// partitions of their topics: inserts of new ids, updates that add one to v, deletes
// followed by a tombstone. A key's records all go to partition id % partitions of its
// table's topic, in order. Remembers the identity of every change it sent. Not
// thread-safe.
class ChangeStream {
 public:
  // `topics`: topic -> table ("public.orders"), each with `partitions` partitions.
  ChangeStream(std::map<std::string, std::string> topics, int partitions, uint32_t seed)
      : partitions_(partitions), rng_(seed) {
    for (auto& [topic, table] : topics) tables_.push_back({topic, table, {}});
  }

  // Sends `n` changes (and a tombstone after each delete).
  void Send(TestProducer& producer, int n) {
    for (int i = 0; i < n; ++i) SendOne(producer);
  }

  const std::vector<std::string>& identities() const { return identities_; }
  size_t records() const { return records_; }
  OracleKeys keys() const {
    OracleKeys keys;
    for (const auto& t : tables_) keys[t.table] = {"id"};
    return keys;
  }
  std::vector<std::string> tables() const {
    std::vector<std::string> out;
    for (const auto& t : tables_) out.push_back(t.table);
    return out;
  }
  // Rows the events should replay to: id -> v, by table.
  const std::map<std::string, std::map<int64_t, int64_t>>& live() const { return live_; }

 private:
  struct Table {
    std::string topic;
    std::string table;
    std::vector<int64_t> ids;
  };

  void SendOne(TestProducer& producer) {
    Table& t = tables_[rng_() % tables_.size()];
    const int choice = static_cast<int>(rng_() % 10);
    int64_t id;
    std::string op;
    if (t.ids.size() < 10 || choice < 5) {
      id = next_id_++;
      op = "c";
      t.ids.push_back(id);
    } else {
      size_t at = rng_() % t.ids.size();
      id = t.ids[at];
      op = choice < 8 ? "u" : "d";
      if (op == "d") {
        t.ids[at] = t.ids.back();
        t.ids.pop_back();
      }
    }
    auto& rows = live_[t.table];
    const uint64_t lsn = next_lsn_;
    next_lsn_ += 1 + rng_() % 64;
    const std::string schema = t.table.substr(0, t.table.find('.'));
    const std::string table = t.table.substr(t.table.find('.') + 1);
    auto row = [&](int64_t v) {
      return Json{{"id", id}, {"v", v}, {"note", "n" + std::to_string(rng_() % 100000)}};
    };
    Json value;
    if (op == "c") {
      rows[id] = 0;
      value["before"] = nullptr;
      value["after"] = row(0);
    } else if (op == "u") {
      value["before"] = nullptr;
      value["after"] = row(++rows[id]);
    } else {
      value["before"] = row(rows[id]);
      value["after"] = nullptr;
      rows.erase(id);
    }
    const int64_t ts_ms = 1700000000000 + static_cast<int64_t>(lsn / 8);
    value["source"] = {
        {"version", "0.1.0-walflow"},
        {"connector", "postgresql"},
        {"name", "upstream"},
        {"ts_ms", ts_ms},
        {"snapshot", "false"},
        {"db", "shop"},
        {"sequence", "[\"" + std::to_string(lsn) + "\",\"" + std::to_string(lsn) + "\"]"},
        {"schema", schema},
        {"table", table},
        {"txId", 1000 + lsn % 100000},
        {"lsn", lsn},
        {"xmin", nullptr}};
    value["op"] = op;
    value["ts_ms"] = ts_ms + 3;
    value["transaction"] = nullptr;
    const std::string key = Json{{"id", id}}.dump();
    const int32_t partition = static_cast<int32_t>(id % partitions_);
    producer.Send(t.topic, partition, key, value.dump());
    ++records_;
    if (op == "d") {
      producer.Send(t.topic, partition, key, std::nullopt);
      ++records_;
    }
    identities_.push_back(ChangeIdentity(t.table, op, id, lsn));
  }

  int partitions_;
  std::mt19937_64 rng_;
  std::vector<Table> tables_;
  std::map<std::string, std::map<int64_t, int64_t>> live_;
  std::vector<std::string> identities_;
  int64_t next_id_ = 1;
  uint64_t next_lsn_ = 0x1000000;
  size_t records_ = 0;
};

// --- walflow with a Kafka source ---

struct JsonlSinkSpec {
  std::string name = "files";
  std::string flush_interval = "200ms";
  std::string decimal_handling = "precise";
};

// The YAML of a pipeline with a Kafka source; paths under the process's folder.
struct KafkaSourceSpec {
  std::string brokers;  // required
  std::string group_id = "walflow";
  std::vector<std::string> topics;  // required
  std::string name = "dbserver1";
  // Short session timeout, so that the group forgets a member killed with SIGKILL within
  // seconds instead of 45.
  std::vector<std::pair<std::string, std::string>> properties = {{"session.timeout.ms", "6000"},
                                                                 {"heartbeat.interval.ms", "500"}};
  std::string dead_letter_topic;
  bool dead_letter_file = false;  // <dir>/dead-letters
  std::vector<JsonlSinkSpec> sinks = {JsonlSinkSpec{}};
  // A parquet sink "lake" in <dir>/lake besides the jsonl sinks.
  bool parquet_sink = false;
  std::string progress_interval = "1s";
  // Extra text appended under `source:` (for configuration errors).
  std::string extra_source_yaml;
};

// A walflow process with a Kafka source and jsonl sinks, in its own temporary folder: sink
// `name` writes to <dir>/<name>, state in <dir>/state. Each Start() runs `walflow run`
// anew with the same config. Use from the test's main thread (ChildProcess's rule).
class SourceProcess {
 public:
  explicit SourceProcess(KafkaSourceSpec spec) : spec_(std::move(spec)), dir_("walflow-ks") {
    WriteFile(config_path(), Yaml());
  }
  ~SourceProcess() {
    if (process_ && process_->Running()) process_->KillGroup(SIGKILL);
    if (process_) process_->WaitFor(seconds(10));
  }
  SourceProcess(const SourceProcess&) = delete;
  SourceProcess& operator=(const SourceProcess&) = delete;

  // Changes the spec and rewrites the config file (for the next Start()).
  void Reconfigure(const std::function<void(KafkaSourceSpec&)>& change) {
    change(spec_);
    WriteFile(config_path(), Yaml());
  }

  std::string config_path() const { return dir_.File("pipeline.yaml"); }
  std::string sink_dir(const std::string& sink = "files") const { return dir_.File(sink); }
  std::string dead_letter_dir() const { return dir_.File("dead-letters"); }

  std::string Yaml() const {
    std::ostringstream y;
    y << "source:\n"
      << "  kafka:\n"
      << "    brokers: " << YamlQuote(spec_.brokers) << "\n"
      << "    group_id: " << YamlQuote(spec_.group_id) << "\n"
      << "    topics: [";
    for (size_t i = 0; i < spec_.topics.size(); ++i) {
      y << (i ? ", " : "") << YamlQuote(spec_.topics[i]);
    }
    y << "]\n"
      << "    name: " << YamlQuote(spec_.name) << "\n";
    if (!spec_.properties.empty()) {
      y << "    properties:\n";
      for (const auto& [k, v] : spec_.properties) {
        y << "      " << YamlQuote(k) << ": " << YamlQuote(v) << "\n";
      }
    }
    if (!spec_.dead_letter_topic.empty() || spec_.dead_letter_file) {
      y << "    dead_letter:\n";
      if (!spec_.dead_letter_topic.empty()) {
        y << "      topic: " << YamlQuote(spec_.dead_letter_topic) << "\n";
      }
      if (spec_.dead_letter_file) y << "      path: " << YamlQuote(dead_letter_dir()) << "\n";
    }
    y << spec_.extra_source_yaml;
    y << "sinks:\n";
    for (const JsonlSinkSpec& s : spec_.sinks) {
      y << "  - name: " << YamlQuote(s.name) << "\n"
        << "    type: jsonl\n"
        << "    path: " << YamlQuote(sink_dir(s.name)) << "\n"
        << "    decimal_handling: " << s.decimal_handling << "\n"
        << "    flush_interval: " << s.flush_interval << "\n";
    }
    if (spec_.parquet_sink) {
      y << "  - name: lake\n"
        << "    type: parquet\n"
        << "    path: " << YamlQuote(sink_dir("lake")) << "\n"
        << "    max_file_age: 300ms\n"
        << "    flush_interval: 100ms\n";
    }
    y << "data_dir: " << YamlQuote(dir_.File("state")) << "\n"
      << "log: { level: info, progress_interval: " << spec_.progress_interval << " }\n";
    return y.str();
  }

  void Start() {
    if (process_ && process_->Running()) {
      GTEST_FAIL() << "walflow is already running (pid " << process_->pid() << ")";
    }
    ++runs_;
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{WalflowBinary(), "run", config_path()},
        dir_.path() / ("run-" + std::to_string(runs_) + ".out"),
        dir_.path() / ("run-" + std::to_string(runs_) + ".err"));
  }
  // Starts walflow and waits until it was assigned partitions.
  ::testing::AssertionResult StartAndWaitAssigned(milliseconds timeout = seconds(30)) {
    Start();
    if (::testing::Test::HasFatalFailure()) return ::testing::AssertionFailure() << "not started";
    if (process_->WaitForOutput("assigned", timeout)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "walflow was not assigned partitions within " << timeout.count() << " ms"
           << (process_->Running() ? "" : " (it exited)") << "; stderr:\n"
           << Tail(LastStderr());
  }
  bool Running() { return process_ && process_->Running(); }
  // SIGINT, then waits; nullopt (and SIGKILL) when it did not stop within `timeout`.
  std::optional<int> Stop(milliseconds timeout = seconds(30)) {
    if (!process_) return std::nullopt;
    process_->Kill(SIGINT);
    auto code = process_->WaitFor(timeout);
    if (!code) {
      process_->KillGroup(SIGKILL);
      process_->Wait();
    }
    return code;
  }
  void Kill9() {
    if (!process_) return;
    process_->KillGroup(SIGKILL);
    process_->Wait();
  }
  std::optional<int> WaitExit(milliseconds timeout) {
    return process_ ? process_->WaitFor(timeout) : std::nullopt;
  }
  ChildProcess* process() { return process_.get(); }

  // stderr of every run so far, runs separated by a header line.
  std::string Stderr() const {
    std::string out;
    for (int i = 1; i <= runs_; ++i) {
      out += "---- walflow run " + std::to_string(i) + " stderr ----\n";
      out += ReadWholeFile(dir_.path() / ("run-" + std::to_string(i) + ".err"));
    }
    return out;
  }
  std::string LastStderr() const { return process_ ? process_->Stderr() : ""; }

  // Every event in the sink's files, in file order. A partial last line is a failure once
  // walflow has stopped, and skipped while it runs.
  std::vector<Json> Events(const std::string& sink = "files") {
    const std::vector<std::string> names = ChangeFilesIn(sink_dir(sink));
    std::vector<Json> events;
    for (const auto& name : names) {
      std::string text = ReadWholeFile(name);
      size_t pos = 0;
      while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
          if (name != names.back() || !Running()) {
            ADD_FAILURE() << name << " ends with an incomplete line: " << text.substr(pos, 200);
          }
          break;
        }
        Json j = Json::parse(text.begin() + pos, text.begin() + nl, nullptr, false);
        if (j.is_discarded()) {
          ADD_FAILURE() << name << ": invalid JSON line: " << text.substr(pos, 300);
        } else {
          events.push_back(std::move(j));
        }
        pos = nl + 1;
      }
    }
    return events;
  }

  // The number of complete lines in the sink's files (cheaper than Events()).
  size_t CountEvents(const std::string& sink = "files") const {
    size_t n = 0;
    for (const auto& name : ChangeFilesIn(sink_dir(sink))) {
      const std::string text = ReadWholeFile(name);
      n += static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
    }
    return n;
  }

  // The "source" field of the sink's .walflow-position: what it holds of each partition.
  std::string HeldOffsets(const std::string& sink = "files") const {
    std::string text = ReadWholeFile(sink_dir(sink) + "/.walflow-position");
    size_t p = text.find("\"source\":\"");
    if (p == std::string::npos) return "";
    p += 10;
    return text.substr(p, text.find('"', p) - p);
  }

 private:
  KafkaSourceSpec spec_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int runs_ = 0;
};

// Waits until the sink holds at least `n` events.
::testing::AssertionResult WaitForEvents(SourceProcess& p, size_t n, milliseconds timeout,
                                         const std::string& sink = "files") {
  size_t have = 0;
  if (WaitUntil(
          [&] {
            have = p.CountEvents(sink);
            return have >= n;
          },
          timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "sink " << sink << " holds " << have << " event(s) after "
                                       << timeout.count() << " ms, expected " << n << "; walflow "
                                       << (p.Running() ? "running" : "not running") << "; stderr:\n"
                                       << Tail(p.Stderr());
}

// Each identity of `expected` appears exactly once among `events`, and nothing else does.
::testing::AssertionResult EachOnce(const std::vector<Json>& events,
                                    const std::vector<std::string>& expected) {
  std::map<std::string, int> count;
  for (const auto& id : expected) count[id] = 0;
  std::vector<std::string> unexpected;
  for (const auto& e : events) {
    std::string id = EventIdentity(e);
    auto it = count.find(id);
    if (it == count.end()) {
      unexpected.push_back(id);
    } else {
      ++it->second;
    }
  }
  std::vector<std::string> missing, repeated;
  for (const auto& [id, n] : count) {
    if (n == 0) missing.push_back(id);
    if (n > 1) repeated.push_back(id + " (" + std::to_string(n) + " times)");
  }
  if (missing.empty() && repeated.empty() && unexpected.empty()) {
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure();
  failure << events.size() << " event(s) for " << expected.size()
          << " change(s): " << missing.size() << " missing, " << repeated.size() << " repeated, "
          << unexpected.size() << " unexpected";
  auto list = [&](const char* what, const std::vector<std::string>& ids) {
    for (size_t i = 0; i < ids.size() && i < 8; ++i) failure << "\n  " << what << " " << ids[i];
  };
  list("missing", missing);
  list("repeated", repeated);
  list("unexpected", unexpected);
  return failure;
}

// No identity appears twice among `events` (what one sink holds).
::testing::AssertionResult AtMostOnce(const std::vector<Json>& events) {
  std::map<std::string, int> count;
  for (const auto& e : events) ++count[EventIdentity(e)];
  std::vector<std::string> repeated;
  for (const auto& [id, n] : count) {
    if (n > 1) repeated.push_back(id + " (" + std::to_string(n) + " times)");
  }
  if (repeated.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << repeated.size() << " change(s) written more than once by one sink:";
  for (size_t i = 0; i < repeated.size() && i < 8; ++i) failure << "\n  " << repeated[i];
  return failure;
}

// Replays `events` (each key's events in order) and compares with the rows the stream
// left: no anomaly (a lost or repeated update shows as one), the same ids and versions.
::testing::AssertionResult ReplaysTo(const std::vector<Json>& events, const ChangeStream& stream) {
  Oracle oracle(stream.keys());
  for (const auto& t : stream.tables()) oracle.SetVersionColumn(t, "v");
  oracle.ApplyAll(events);
  if (!oracle.anomalies().empty()) {
    auto failure = ::testing::AssertionFailure();
    failure << oracle.anomalies().size() << " anomalies:";
    for (size_t i = 0; i < oracle.anomalies().size() && i < 8; ++i) {
      failure << "\n  " << oracle.anomalies()[i];
    }
    return failure;
  }
  for (const auto& t : stream.tables()) {
    std::map<int64_t, int64_t> replayed;
    for (const auto& [key, row] : oracle.table(t)) {
      replayed[std::stoll(key)] = std::stoll(row.at("v").value_or("-1"));
    }
    auto it = stream.live().find(t);
    const std::map<int64_t, int64_t> expected =
        it == stream.live().end() ? std::map<int64_t, int64_t>() : it->second;
    if (replayed != expected) {
      return ::testing::AssertionFailure() << t << ": replaying gives " << replayed.size()
                                           << " rows, the stream left " << expected.size();
    }
  }
  return ::testing::AssertionSuccess();
}

// Lines of `text` that contain every one of `needles`.
int CountLines(const std::string& text, const std::vector<std::string>& needles) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    bool all = true;
    for (const auto& needle : needles) all = all && line.find(needle) != std::string::npos;
    n += all;
  }
  return n;
}

// The partition counts of the "assigned N partition(s)" lines, in order.
std::vector<int> Assignments(const std::string& stderr_text) {
  std::vector<int> out;
  static const std::regex kAssigned("assigned ([0-9]+) partition");
  for (std::sregex_iterator it(stderr_text.begin(), stderr_text.end(), kAssigned), end; it != end;
       ++it) {
    out.push_back(std::stoi((*it)[1]));
  }
  return out;
}

// --- 1. Round trip through walflow's own Kafka sink ---

// PostgreSQL → walflow (Kafka sink, exactly once, with schemas) → topics → walflow (Kafka
// source) → jsonl: the events replay to PostgreSQL's table and carry the same op, before,
// after and source block as the events the first walflow wrote to its own jsonl sink.
TEST(KafkaSourceTest, RoundTripThroughWalflowKafkaSink) {
  KafkaCluster cluster;
  cluster.Start(3);
  PgServer& pg = PgServer::Shared();
  const std::string db = pg.CreateDatabase("ks_roundtrip");
  pg.Exec(
      "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), "
      "qty integer, small smallint, ratio double precision, code varchar(8), uid uuid, "
      "doc jsonb);"
      "ALTER TABLE items REPLICA IDENTITY FULL;"
      "CREATE TABLE readings (id integer PRIMARY KEY, day date, at timestamp, atz timestamptz, "
      "t time, raw bytea, tags text[], nums integer[], n numeric, span interval, flag boolean)",

      db);
  PipelineSpec spec;
  spec.db = db;
  spec.tables = {"public.items", "public.readings"};
  spec.status_interval = "100ms";
  spec.decimal_handling = "string";
  KafkaSinkSpec k;
  k.brokers = cluster.bootstrap();
  k.exactly_once = true;
  k.schemas = true;
  k.decimal_handling = "precise";
  k.flush_interval = "100ms";
  spec.kafka_sinks = {k};
  WalflowPipeline upstream(pg, spec);
  ASSERT_TRUE(upstream.StartAndWaitStreaming());

  pg.Exec(
      "INSERT INTO items VALUES "
      "(1, 'apple', 1.50, 10, 1, 0.25, 'A1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
      "'{\"a\": 1}'), "
      "(2, 'pear', 2.25, 0, -2, -1.5, 'B', NULL, '[1, 2]'), "
      "(3, 'fig', NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
      "(4, 'kiwi \"quoted\" \\ ü', 0.99, 7, 32767, 1e-5, 'K', "
      "'00000000-0000-0000-0000-000000000001', '{\"nested\": {\"x\": [true, null]}}'), "
      "(5, 'plum', 3.00, 1, 0, 100, 'P', NULL, 'null')",
      db);
  pg.Exec("UPDATE items SET price = 1.75, qty = qty + 1, doc = '{\"a\": 2}' WHERE id = 1", db);
  pg.Exec("UPDATE items SET code = 'B2', name = NULL WHERE id = 2", db);
  pg.Exec("DELETE FROM items WHERE id = 3", db);
  pg.Exec(
      "BEGIN; INSERT INTO items VALUES (6, 'date', 4.10, 2, 6, 6.5, 'D', NULL, '{}'); "
      "UPDATE items SET qty = 3 WHERE id = 6; DELETE FROM items WHERE id = 5; COMMIT",
      db);
  pg.Exec(
      "INSERT INTO readings VALUES "
      "(1, '2024-03-01', '2024-03-01 12:34:56.123456', '2024-03-01 12:34:56+02', '23:59:59.5', "
      "'\\x00ff10', '{a,\"b c\",NULL}', '{1,2,3}', 123.456, '1 year 2 mons 3 days 04:05:06.5', "
      "true), "
      "(2, '1970-01-01', '1999-12-31 23:59:59', NULL, '00:00', '\\x', '{}', NULL, -0.5, "
      "'-1 days', false), "
      "(3, NULL, NULL, '2000-01-01 00:00:00+00', NULL, NULL, NULL, '{}', 1e20, NULL, NULL)",
      db);
  pg.Exec("UPDATE readings SET n = 7, tags = '{x}', flag = NULL WHERE id = 1", db);
  pg.Exec("DELETE FROM readings WHERE id = 2", db);
  ASSERT_TRUE(upstream.WaitForCatchUp());
  const std::vector<Json> expected = upstream.Events();
  EXPECT_EQ(upstream.Stop(), 0) << Tail(upstream.Stderr());
  ASSERT_EQ(expected.size(), 16u);

  KafkaSourceSpec source;
  source.brokers = cluster.bootstrap();
  source.topics = {"dbserver1.public.items", "dbserver1.public.readings"};
  JsonlSinkSpec sink;
  sink.decimal_handling = "string";
  source.sinks = {sink};
  SourceProcess downstream(source);
  ASSERT_TRUE(downstream.StartAndWaitAssigned());
  ASSERT_TRUE(WaitForEvents(downstream, expected.size(), seconds(30)));
  std::this_thread::sleep_for(milliseconds(500));  // anything more would be a duplicate
  EXPECT_EQ(downstream.Stop(), 0) << Tail(downstream.Stderr());
  const std::vector<Json> events = downstream.Events();
  EXPECT_EQ(events.size(), expected.size()) << Tail(downstream.Stderr());

  Oracle oracle(OracleKeys{{"public.items", {"id"}}, {"public.readings", {"id"}}});
  oracle.ApplyAll(events);
  EXPECT_TRUE(oracle.anomalies().empty()) << oracle.anomalies().front();
  EXPECT_TRUE(TableMatches(pg, db, oracle, "public.items", {"id"}));

  std::map<std::string, Json> by_identity;
  for (const auto& e : events) {
    EXPECT_TRUE(by_identity.emplace(EventIdentity(e), e).second)
        << "delivered twice: " << EventIdentity(e);
  }
  for (const Json& want : expected) {
    const std::string id = EventIdentity(want);
    SCOPED_TRACE(id);
    auto it = by_identity.find(id);
    if (it == by_identity.end()) {
      ADD_FAILURE() << "missing from the Kafka source's sink: " << want.dump();
      continue;
    }
    const Json& got = it->second;
    EXPECT_EQ(got["op"], want["op"]);
    EXPECT_EQ(got["before"], want["before"])
        << "want " << want["before"].dump() << "\ngot  " << got["before"].dump();
    EXPECT_EQ(got["after"], want["after"])
        << "want " << want["after"].dump() << "\ngot  " << got["after"].dump();
    for (const char* field : {"lsn", "sequence", "txId", "ts_ms", "ts_us", "schema", "table",
                              "snapshot", "connector", "name"}) {
      EXPECT_EQ(got["source"][field], want["source"][field]) << "source." << field;
    }
    EXPECT_EQ(got["source"]["db"], "dbserver1") << "source.db is the source's name";
  }
}

// --- 2. Records as Debezium's PostgreSQL connector writes them ---

// Kafka Connect's JsonConverter with schemas.enable=true: {"schema":...,"payload":...}.
// The customers table and its events follow Debezium's PostgreSQL connector
// documentation (create, update and delete of customer 1, REPLICA IDENTITY DEFAULT, so
// that before holds the key only); snapshot reads and a table of typed columns (logical
// types Date, MicroTimestamp, Decimal, Json) come with them.
const char kCustomersKeySchema[] =
    R"({"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],)"
    R"("optional":false,"name":"PostgreSQL_server.public.customers.Key"})";

std::string CustomersValueSchema() {
  const std::string row =
      R"({"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},)"
      R"({"type":"string","optional":false,"field":"first_name"},)"
      R"({"type":"string","optional":false,"field":"last_name"},)"
      R"({"type":"string","optional":false,"field":"email"}],"optional":true,)"
      R"("name":"PostgreSQL_server.public.customers.Value",)";
  return R"({"type":"struct","fields":[)" + row + R"("field":"before"},)" + row +
         R"("field":"after"},)"
         R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
         R"({"type":"string","optional":false,"field":"connector"},)"
         R"({"type":"string","optional":false,"field":"name"},)"
         R"({"type":"int64","optional":false,"field":"ts_ms"},)"
         R"({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,)"
         R"("parameters":{"allowed":"true,last,false,incremental"},"default":"false",)"
         R"("field":"snapshot"},)"
         R"({"type":"string","optional":false,"field":"db"},)"
         R"({"type":"string","optional":true,"field":"sequence"},)"
         R"({"type":"string","optional":false,"field":"schema"},)"
         R"({"type":"string","optional":false,"field":"table"},)"
         R"({"type":"int64","optional":true,"field":"txId"},)"
         R"({"type":"int64","optional":true,"field":"lsn"},)"
         R"({"type":"int64","optional":true,"field":"xmin"}],"optional":false,)"
         R"("name":"io.debezium.connector.postgresql.Source","field":"source"},)"
         R"({"type":"string","optional":false,"field":"op"},)"
         R"({"type":"int64","optional":true,"field":"ts_ms"},)"
         R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
         R"({"type":"int64","optional":false,"field":"total_order"},)"
         R"({"type":"int64","optional":false,"field":"data_collection_order"}],)"
         R"("optional":true,"name":"event.block","version":1,"field":"transaction"}],)"
         R"("optional":false,"name":"PostgreSQL_server.public.customers.Envelope","version":1})";
}

std::string ProductsValueSchema() {
  const std::string row =
      R"({"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},)"
      R"({"type":"string","optional":true,"field":"name"},)"
      R"({"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,)"
      R"("field":"released"},)"
      R"({"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp",)"
      R"("version":1,"field":"updated_at"},)"
      R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal",)"
      R"("version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},)"
      R"("field":"price"},)"
      R"({"type":"boolean","optional":true,"field":"in_stock"},)"
      R"({"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,)"
      R"("field":"attrs"},)"
      R"({"type":"double","optional":true,"field":"weight"}],"optional":true,)"
      R"("name":"PostgreSQL_server.public.products.Value",)";
  return R"({"type":"struct","fields":[)" + row + R"("field":"before"},)" + row +
         R"("field":"after"},)"
         R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
         R"({"type":"string","optional":false,"field":"connector"},)"
         R"({"type":"string","optional":false,"field":"name"},)"
         R"({"type":"int64","optional":false,"field":"ts_ms"},)"
         R"({"type":"string","optional":true,"field":"snapshot"},)"
         R"({"type":"string","optional":false,"field":"db"},)"
         R"({"type":"string","optional":true,"field":"sequence"},)"
         R"({"type":"string","optional":false,"field":"schema"},)"
         R"({"type":"string","optional":false,"field":"table"},)"
         R"({"type":"int64","optional":true,"field":"txId"},)"
         R"({"type":"int64","optional":true,"field":"lsn"},)"
         R"({"type":"int64","optional":true,"field":"xmin"}],"optional":false,)"
         R"("name":"io.debezium.connector.postgresql.Source","field":"source"},)"
         R"({"type":"string","optional":false,"field":"op"},)"
         R"({"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,)"
         R"("name":"PostgreSQL_server.public.products.Envelope","version":1})";
}

std::string Source(const std::string& table, const std::string& snapshot, int64_t ts_ms,
                   const std::string& sequence, int64_t tx, int64_t lsn) {
  return R"({"version":"2.5.4.Final","connector":"postgresql","name":"PostgreSQL_server",)"
         R"("ts_ms":)" +
         std::to_string(ts_ms) + R"(,"snapshot":)" + snapshot + R"(,"db":"postgres","sequence":)" +
         sequence + R"(,"schema":"public","table":")" + table + R"(","txId":)" +
         std::to_string(tx) + R"(,"lsn":)" + std::to_string(lsn) + R"(,"xmin":null})";
}

struct DebeziumRecord {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// What the sink must write for a record: op, before, after and source fields.
struct ExpectedEvent {
  std::string op;
  Json before;
  Json after;
  int64_t lsn;
  int64_t ts_ms;
  int64_t tx;
  std::string snapshot;
  std::string table;
  Json sequence;  // null: not checked (the record's first element is not a number)
};

// A row as the sink writes it equals `want` where `want` has a field; the sink's other
// fields (columns of the schema the record left out) are null.
::testing::AssertionResult SameRow(const Json& want, const Json& got) {
  if (want.is_null() || got.is_null()) {
    if (want == got) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "want " << want.dump() << ", got " << got.dump();
  }
  for (auto it = want.begin(); it != want.end(); ++it) {
    if (!got.contains(it.key()) || got[it.key()] != it.value()) {
      return ::testing::AssertionFailure()
             << "field " << it.key() << ": want " << it.value().dump() << ", got "
             << (got.contains(it.key()) ? got[it.key()].dump() : "nothing") << "\n  want "
             << want.dump() << "\n  got  " << got.dump();
    }
  }
  for (auto it = got.begin(); it != got.end(); ++it) {
    if (!want.contains(it.key()) && !it.value().is_null()) {
      return ::testing::AssertionFailure()
             << "field " << it.key() << " not in the record: " << it.value().dump() << "\n  want "
             << want.dump() << "\n  got  " << got.dump();
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(KafkaSourceTest, DebeziumConnectorRecordsWithAndWithoutSchema) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::string customers = "PostgreSQL_server.public.customers";
  const std::string products = "PostgreSQL_server.public.products";
  const std::string orders = "PostgreSQL_server.public.orders";
  for (const auto& t : {customers, products, orders}) cluster.CreateTopic(t, 1);

  std::vector<DebeziumRecord> records;
  std::vector<ExpectedEvent> expected;
  const std::string cust_schema = CustomersValueSchema();
  auto cust_key = [&](int id) {
    return R"({"schema":)" + std::string(kCustomersKeySchema) + R"(,"payload":{"id":)" +
           std::to_string(id) + "}}";
  };
  auto cust = [&](const std::string& payload) {
    return R"({"schema":)" + cust_schema + R"(,"payload":)" + payload + "}";
  };
  const Json anne = {{"id", 1},
                     {"first_name", "Anne"},
                     {"last_name", "Kretchmar"},
                     {"email", "annek@noanswer.org"}};
  Json anne_marie = anne;
  anne_marie["first_name"] = "Anne Marie";
  const Json bob = {{"id", 2},
                    {"first_name", "Bob"},
                    {"last_name", "O'Brien \"Jr\""},
                    {"email", "bob@example.com"}};
  // Snapshot reads: "snapshot" as Debezium 2.x writes it ("true", "last") and, for the
  // last one, as a boolean (Debezium 1.x).
  records.push_back({customers, cust_key(2),
                     cust(R"({"before":null,"after":)" + bob.dump() + R"(,"source":)" +
                          Source("customers", R"("true")", 1559033904000,
                                 R"("[null,\"23000000\"]")", 554, 23000000) +
                          R"(,"op":"r","ts_ms":1559033904100,"transaction":null})")});
  expected.push_back(
      {"r", nullptr, bob, 23000000, 1559033904000, 554, "true", "customers", nullptr});
  const Json carol = {{"id", 3},
                      {"first_name", "Carol"},
                      {"last_name", "Ünïcode ✓"},
                      {"email", "carol@example.com"}};
  records.push_back(
      {customers, cust_key(3),
       cust(R"({"before":null,"after":)" + carol.dump() + R"(,"source":)" +
            Source("customers", "true", 1559033904001, R"("[null,\"23000001\"]")", 554, 23000001) +
            R"(,"op":"r","ts_ms":1559033904101,"transaction":null})")});
  expected.push_back(
      {"r", nullptr, carol, 23000001, 1559033904001, 554, "true", "customers", nullptr});
  // Debezium's documented create, update and delete events.
  records.push_back({customers, cust_key(1),
                     cust(R"({"before":null,"after":)" + anne.dump() + R"(,"source":)" +
                          Source("customers", R"("false")", 1559033904863,
                                 R"("[\"24023119\",\"24023128\"]")", 555, 24023128) +
                          R"(,"op":"c","ts_ms":1559033904863,"transaction":null})")});
  expected.push_back({"c", nullptr, anne, 24023128, 1559033904863, 555, "false", "customers",
                      "[\"24023119\",\"24023128\"]"});
  records.push_back({customers, cust_key(1),
                     cust(R"({"before":{"id":1},"after":)" + anne_marie.dump() + R"(,"source":)" +
                          Source("customers", R"("false")", 1559033904863,
                                 R"("[\"24023128\",\"24023200\"]")", 556, 24023200) +
                          R"(,"op":"u","ts_ms":1465584025523,"transaction":null})")});
  expected.push_back({"u",
                      {{"id", 1}},
                      anne_marie,
                      24023200,
                      1559033904863,
                      556,
                      "false",
                      "customers",
                      "[\"24023128\",\"24023200\"]"});
  records.push_back({customers, cust_key(1),
                     cust(R"({"before":{"id":1},"after":null,"source":)" +
                          Source("customers", R"("false")", 1559033905000,
                                 R"("[\"24023200\",\"46523128\"]")", 556, 46523128) +
                          R"(,"op":"d","ts_ms":1465581902461,"transaction":null})")});
  expected.push_back({"d",
                      {{"id", 1}},
                      nullptr,
                      46523128,
                      1559033905000,
                      556,
                      "false",
                      "customers",
                      "[\"24023200\",\"46523128\"]"});
  records.push_back({customers, cust_key(1), std::nullopt});  // the delete's tombstone

  // Typed columns, with a schema.
  const std::string prod_schema = ProductsValueSchema();
  auto prod_key = [&](int id) {
    return R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,)"
           R"("field":"id"}],"optional":false,"name":"PostgreSQL_server.public.products.Key"},)"
           R"("payload":{"id":)" +
           std::to_string(id) + "}}";
  };
  auto prod = [&](const std::string& payload) {
    return R"({"schema":)" + prod_schema + R"(,"payload":)" + payload + "}";
  };
  // price 12.34 is the unscaled 1234 = 0x04D2 ("BNI="), 0.99 is 99 = 0x63 ("Yw==").
  const Json lamp = {{"id", 10},
                     {"name", "lamp"},
                     {"released", 19783},
                     {"updated_at", 1709296496123456},
                     {"price", "BNI="},
                     {"in_stock", true},
                     {"attrs", R"({"color": "red", "sizes": [1, 2]})"},
                     {"weight", 1.25}};
  Json lamp2 = lamp;
  lamp2["price"] = "Yw==";
  lamp2["in_stock"] = false;
  lamp2["attrs"] = nullptr;
  lamp2["released"] = -1;
  records.push_back({products, prod_key(10),
                     prod(R"({"before":null,"after":)" + lamp.dump() + R"(,"source":)" +
                          Source("products", R"("false")", 1709296500000,
                                 R"("[\"30000000\",\"30000100\"]")", 700, 30000100) +
                          R"(,"op":"c","ts_ms":1709296500010})")});
  expected.push_back({"c", nullptr, lamp, 30000100, 1709296500000, 700, "false", "products",
                      "[\"30000000\",\"30000100\"]"});
  records.push_back(
      {products, prod_key(10),
       prod(R"({"before":)" + lamp.dump() + R"(,"after":)" + lamp2.dump() + R"(,"source":)" +
            Source("products", R"("false")", 1709296501000, R"("[\"30000100\",\"30000200\"]")", 701,
                   30000200) +
            R"(,"op":"u","ts_ms":1709296501010})")});
  expected.push_back({"u", lamp, lamp2, 30000200, 1709296501000, 701, "false", "products",
                      "[\"30000100\",\"30000200\"]"});

  // JsonConverter with schemas.enable=false: the bare envelope; REPLICA IDENTITY FULL.
  auto plain_key = [](int id) { return R"({"id":)" + std::to_string(id) + "}"; };
  const Json o1 = {{"id", 100},    {"customer", "Anne"}, {"qty", 3},
                   {"total", 9.5}, {"paid", false},      {"note", nullptr}};
  Json o1b = o1;
  o1b["paid"] = true;
  o1b["note"] = "left at the door";
  const Json o2 = {{"id", 101},      {"customer", "Bob"}, {"qty", -1},
                   {"total", 0.125}, {"paid", true},      {"note", "gift"}};
  records.push_back({orders, plain_key(100),
                     R"({"before":null,"after":)" + o1.dump() + R"(,"source":)" +
                         Source("orders", R"("false")", 1700000000000,
                                R"("[\"40000000\",\"40000008\"]")", 800, 40000008) +
                         R"(,"op":"c","ts_ms":1700000000100,"transaction":null})"});
  expected.push_back({"c", nullptr, o1, 40000008, 1700000000000, 800, "false", "orders",
                      "[\"40000000\",\"40000008\"]"});
  records.push_back({orders, plain_key(101),
                     R"({"before":null,"after":)" + o2.dump() + R"(,"source":)" +
                         Source("orders", R"("false")", 1700000000000,
                                R"("[\"40000000\",\"40000016\"]")", 800, 40000016) +
                         R"(,"op":"c","ts_ms":1700000000100,"transaction":null})"});
  expected.push_back({"c", nullptr, o2, 40000016, 1700000000000, 800, "false", "orders",
                      "[\"40000000\",\"40000016\"]"});
  records.push_back({orders, plain_key(100),
                     R"({"before":)" + o1.dump() + R"(,"after":)" + o1b.dump() + R"(,"source":)" +
                         Source("orders", R"("false")", 1700000001000,
                                R"("[\"40000016\",\"40000100\"]")", 801, 40000100) +
                         R"(,"op":"u","ts_ms":1700000001100,"transaction":null})"});
  expected.push_back({"u", o1, o1b, 40000100, 1700000001000, 801, "false", "orders",
                      "[\"40000016\",\"40000100\"]"});
  records.push_back({orders, plain_key(101),
                     R"({"before":)" + o2.dump() + R"(,"after":null,"source":)" +
                         Source("orders", R"("false")", 1700000002000,
                                R"("[\"40000100\",\"40000200\"]")", 802, 40000200) +
                         R"(,"op":"d","ts_ms":1700000002100,"transaction":null})"});
  expected.push_back({"d", o2, nullptr, 40000200, 1700000002000, 802, "false", "orders",
                      "[\"40000100\",\"40000200\"]"});
  records.push_back({orders, plain_key(101), std::nullopt});
  records.push_back({orders, plain_key(101), std::string()});  // an empty value: a tombstone too

  TestProducer producer(cluster.bootstrap());
  for (const auto& r : records) producer.Send(r.topic, 0, r.key, r.value);
  ASSERT_TRUE(producer.Flush());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {"^PostgreSQL_server\\.public\\..*"};  // a pattern
  spec.dead_letter_file = true;
  SourceProcess walflow(spec);
  ASSERT_TRUE(walflow.StartAndWaitAssigned());
  ASSERT_TRUE(WaitForEvents(walflow, expected.size(), seconds(30)));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  const std::vector<Json> events = walflow.Events();
  ASSERT_EQ(events.size(), expected.size()) << Tail(walflow.Stderr());
  EXPECT_FALSE(std::filesystem::exists(walflow.dead_letter_dir() + "/dead-letters.jsonl") &&
               std::filesystem::file_size(walflow.dead_letter_dir() + "/dead-letters.jsonl") > 0)
      << ReadWholeFile(walflow.dead_letter_dir() + "/dead-letters.jsonl");

  // Each table's events in order (one partition per topic); tables interleave freely.
  std::map<std::string, std::vector<Json>> got_by_table;
  for (const auto& e : events) got_by_table[e["source"]["table"].get<std::string>()].push_back(e);
  std::map<std::string, size_t> next;
  for (const ExpectedEvent& want : expected) {
    SCOPED_TRACE(want.table + " " + want.op + " lsn " + std::to_string(want.lsn));
    const size_t i = next[want.table]++;
    ASSERT_LT(i, got_by_table[want.table].size());
    const Json& got = got_by_table[want.table][i];
    EXPECT_EQ(got["op"], want.op) << got.dump();
    EXPECT_TRUE(SameRow(want.before, got["before"])) << "before";
    EXPECT_TRUE(SameRow(want.after, got["after"])) << "after";
    const Json& s = got["source"];
    EXPECT_EQ(s["lsn"], want.lsn) << s.dump();
    EXPECT_EQ(s["ts_ms"], want.ts_ms) << s.dump();
    EXPECT_EQ(s["ts_us"], want.ts_ms * 1000) << s.dump();
    EXPECT_EQ(s["txId"], want.tx) << s.dump();
    EXPECT_EQ(s["snapshot"], want.snapshot) << s.dump();
    EXPECT_EQ(s["schema"], "public") << s.dump();
    EXPECT_EQ(s["table"], want.table) << s.dump();
    EXPECT_EQ(s["name"], "dbserver1") << s.dump();
    EXPECT_EQ(s["db"], "dbserver1") << s.dump();
    if (!want.sequence.is_null()) {
      EXPECT_EQ(s["sequence"], want.sequence) << s.dump();
    }
  }
  // The tombstones (three) are read and skipped.
  EXPECT_NE(walflow.Stderr().find(std::to_string(records.size()) + " record(s) read"),
            std::string::npos)
      << Tail(walflow.Stderr());
}

// --- 3. kill -9 with two sinks ---

// Records are produced (in bursts of 2500 every 0.4 s) while walflow, with a fast (50ms) and
// a slow (2s) jsonl sink, is killed with SIGKILL and started again, three times or until a
// kill finds the sinks holding different records (at most four): each sink ends with every
// change exactly once, each key's changes in order. (A sink whose queue runs dry makes its
// data durable within 50 ms whatever its flush interval, so the sinks differ only when a
// kill lands in a burst.)
// The changes in the parquet sink's files as "table op id=ID" and each record's
// place "table id=ID offset=N" (_lsn is the Kafka offset + 1; a key stays in one partition).
struct LakeChanges {
  std::multiset<std::string> changes;
  std::multiset<std::string> records;
};
LakeChanges ReadLake(const std::string& dir) {
  LakeChanges out;
  if (!std::filesystem::exists(dir)) return out;
  QueryResult r = DuckDbQuery(
      "SELECT regexp_extract(filename, '([^/]+)/[0-9]+-[0-9]+[.]parquet$', 1), _op, id, _lsn "
      "FROM read_parquet(" +
      DuckDbString(dir + "/*/*.parquet") +
      ", filename = true, "
      "union_by_name = true)");
  for (const auto& row : r.rows) {
    const std::string table = row[0].value_or("?"), id = row[2].value_or("?");
    out.changes.insert(table + " " + row[1].value_or("?") + " id=" + id);
    out.records.insert(table + " id=" + id + " offset=" + row[3].value_or("?"));
  }
  return out;
}

TEST(KafkaSourceTest, Kill9WithTwoSinksExactlyOnce) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::map<std::string, std::string> topics = {{"shop.public.orders", "public.orders"},
                                                     {"shop.public.customers", "public.customers"}};
  for (const auto& [topic, table] : topics) cluster.CreateTopic(topic, 3);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ChangeStream stream(topics, 3, seed);
  TestProducer producer(cluster.bootstrap());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {"shop.public.orders", "shop.public.customers"};
  spec.properties = {{"session.timeout.ms", "3000"}, {"heartbeat.interval.ms", "300"}};
  spec.sinks = {JsonlSinkSpec{"fast", "50ms"}, JsonlSinkSpec{"slow", "2s"}};
  spec.parquet_sink = true;  // whose position lags its writes until it rolls its files
  SourceProcess walflow(spec);
  ASSERT_TRUE(walflow.StartAndWaitAssigned());

  // Bursts, so that the slow sink has a backlog to write when walflow is killed.
  std::atomic<bool> stop{false};
  std::atomic<int> bursts{0};
  std::thread writer([&] {
    while (!stop.load()) {
      stream.Send(producer, 2500);
      ++bursts;
      for (int i = 0; i < 40 && !stop.load(); ++i) std::this_thread::sleep_for(milliseconds(10));
    }
  });
  std::mt19937 rng(seed);
  std::string unexpected_exit;
  std::vector<std::string> held_at_kill;
  int sinks_differed = 0;  // kills at which the two sinks held different records
  // Three kills at least; up to four until one finds the sinks holding different records.
  int kills = 0;
  for (; kills < 3 || (kills < 4 && sinks_differed == 0); ++kills) {
    // Killed once consuming has resumed, at a random moment after that.
    if (!walflow.process()->WaitForOutput("assigned", seconds(20))) {
      unexpected_exit = "walflow was not assigned partitions after restart";
      break;
    }
    std::this_thread::sleep_for(milliseconds(500 + rng() % 1500));
    // Shortly after a burst: the slow sink has not made all of it durable yet.
    const int burst = bursts.load();
    WaitUntil([&] { return bursts.load() > burst; }, seconds(5));
    std::this_thread::sleep_for(milliseconds(20 + rng() % 150));
    if (!walflow.Running()) {
      unexpected_exit = "walflow exited by itself (code " +
                        std::to_string(walflow.process()->exit_code().value_or(-1)) + ")";
      break;
    }
    walflow.Kill9();
    const std::string fast = walflow.HeldOffsets("fast"), slow = walflow.HeldOffsets("slow");
    held_at_kill.push_back("fast " + fast + " | slow " + slow);
    sinks_differed += fast != slow;
    if (rng() % 2) std::this_thread::sleep_for(milliseconds(rng() % 500));
    walflow.Start();
  }
  std::this_thread::sleep_for(seconds(1));
  stop = true;
  writer.join();
  ASSERT_TRUE(unexpected_exit.empty()) << unexpected_exit << "\n" << Tail(walflow.Stderr());
  ASSERT_TRUE(producer.Flush());
  for (const auto& h : held_at_kill) std::printf("held at kill: %s\n", h.c_str());
  std::printf("the sinks held different records at %d of %d kills\n", sinks_differed, kills);

  const size_t n = stream.identities().size();
  ASSERT_TRUE(WaitForEvents(walflow, n, seconds(40), "fast"));
  ASSERT_TRUE(WaitForEvents(walflow, n, seconds(20), "slow"));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  std::printf("kafka source kill -9: seed %u, %zu records, %zu changes\n", seed, stream.records(),
              n);
  for (const char* sink : {"fast", "slow"}) {
    SCOPED_TRACE(std::string("sink ") + sink);
    const std::vector<Json> events = walflow.Events(sink);
    EXPECT_TRUE(EachOnce(events, stream.identities())) << Tail(walflow.Stderr(), 3000);
    EXPECT_TRUE(ReplaysTo(events, stream));
  }
  // The parquet sink: every change once, no record twice.
  std::multiset<std::string> expected;
  for (const std::string& identity : stream.identities()) {
    expected.insert(identity.substr(0, identity.rfind(" lsn=")));
  }
  const LakeChanges lake = ReadLake(walflow.sink_dir("lake"));
  EXPECT_EQ(lake.changes.size(), n);
  EXPECT_TRUE(lake.changes == expected) << "the parquet sink's changes differ from those sent";
  EXPECT_EQ(std::set<std::string>(lake.records.begin(), lake.records.end()).size(),
            lake.records.size())
      << "a record is in the parquet sink twice";
}

// --- 4. Consumer group scale-out ---

// How far a consumer group's committed offsets are behind the end of a topic, read with
// OffsetFetch and ListOffsets (without joining the group).
class GroupLag {
 public:
  GroupLag(const std::string& bootstrap, const std::string& group) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"bootstrap.servers", bootstrap},
          {"group.id", group},
          {"enable.auto.commit", "false"},
          {"log_level", "2"}}) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error("group lag: " + key + ": " + err);
      }
    }
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("group lag: ") + err);
    }
  }
  ~GroupLag() { rd_kafka_destroy(rk_); }
  GroupLag(const GroupLag&) = delete;
  GroupLag& operator=(const GroupLag&) = delete;

  // Records not yet committed over all partitions of `topic`; -1 when it cannot tell.
  int64_t Of(const std::string& topic, int partitions) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
    int64_t lag = 0;
    if (rd_kafka_committed(rk_, list, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) lag = -1;
    for (int p = 0; p < partitions && lag >= 0; ++p) {
      int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &low, &high, 5000) ||
          list->elems[p].err) {
        lag = -1;
        break;
      }
      const int64_t committed = list->elems[p].offset < 0 ? low : list->elems[p].offset;
      lag += high - committed;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return lag;
  }

 private:
  rd_kafka_t* rk_ = nullptr;
};

// Two walflow processes in one group, each with its own jsonl sink: the second joins
// mid-stream, the first leaves (SIGINT) later while records keep coming. Together their
// sinks hold every change exactly once, no sink holds a change twice, and both were
// assigned partitions.
//
// The mock cluster refuses offset commits while the group is joining (REBALANCE_IN_PROGRESS;
// Kafka accepts them from members of the current generation), so the commit a member makes
// when its partitions are revoked fails there. Before the second member joins, production
// pauses until the group has committed everything: otherwise the partitions moving to it
// would start from the last periodic commit, and it would read again what the first
// member's sink holds. The scale-in runs under continuous production: the leaving member
// commits before it leaves, and the remaining member gets its own partitions back.
TEST(KafkaSourceTest, ConsumerGroupScaleOutAndIn) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::string topic = "shop.public.orders";
  cluster.CreateTopic(topic, 4);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ChangeStream stream({{topic, "public.orders"}}, 4, seed);
  TestProducer producer(cluster.bootstrap());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.group_id = "scale";
  spec.topics = {topic};
  SourceProcess first(spec);
  SourceProcess second(spec);
  ASSERT_TRUE(first.StartAndWaitAssigned());

  std::atomic<bool> stop{false}, paused{false};
  std::thread writer([&] {
    while (!stop.load()) {
      if (!paused.load()) stream.Send(producer, 10);
      std::this_thread::sleep_for(milliseconds(10));
    }
  });
  std::this_thread::sleep_for(seconds(3));
  paused = true;
  GroupLag lag(cluster.bootstrap(), spec.group_id);
  int64_t last_lag = -1;
  const bool committed_all = WaitUntil(
      [&] {
        if (!producer.Flush(seconds(5))) return false;
        last_lag = lag.Of(topic, 4);
        return last_lag == 0;
      },
      seconds(15));
  second.Start();
  const bool second_assigned = WaitUntil(
      [&] {
        std::vector<int> a = Assignments(second.Stderr());
        return !a.empty() && a.back() > 0 && Assignments(first.Stderr()).size() >= 2;
      },
      seconds(25));
  paused = false;
  std::this_thread::sleep_for(seconds(3));
  const std::optional<int> first_exit = first.Stop();
  const bool second_took_all = WaitUntil(
      [&] {
        std::vector<int> a = Assignments(second.Stderr());
        return !a.empty() && a.back() == 4;
      },
      seconds(25));
  std::this_thread::sleep_for(seconds(2));
  stop = true;
  writer.join();
  ASSERT_TRUE(producer.Flush());
  EXPECT_TRUE(committed_all) << "the group did not commit everything it read within 15 s (lag "
                             << last_lag << "):\n"
                             << Tail(first.Stderr());
  EXPECT_TRUE(second_assigned) << "no rebalance giving the second member partitions:\n"
                               << Tail(first.Stderr(), 2000) << Tail(second.Stderr(), 2000);
  EXPECT_EQ(first_exit, 0) << Tail(first.Stderr());
  EXPECT_TRUE(second_took_all) << "the second member did not take all 4 partitions:\n"
                               << Tail(second.Stderr());

  const std::vector<int> first_assigned = Assignments(first.Stderr());
  const std::vector<int> second_assigned_counts = Assignments(second.Stderr());
  EXPECT_TRUE(!first_assigned.empty() && first_assigned.front() == 4) << Tail(first.Stderr());
  if (first_assigned.size() >= 2) {  // after the second joined, the first kept part
    EXPECT_GT(first_assigned.back(), 0);
    EXPECT_LT(first_assigned.back(), 4);
  }

  const size_t n = stream.identities().size();
  WaitUntil([&] { return first.CountEvents() + second.CountEvents() >= n; }, seconds(30));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(second.Stop(), 0) << Tail(second.Stderr());
  std::vector<Json> a = first.Events(), b = second.Events();
  std::printf("kafka source group: seed %u, %zu changes, first %zu, second %zu; first assigned",
              seed, n, a.size(), b.size());
  for (int p : first_assigned) std::printf(" %d", p);
  std::printf(", second assigned");
  for (int p : second_assigned_counts) std::printf(" %d", p);
  std::printf("\n");
  EXPECT_GT(a.size(), 0u);
  EXPECT_GT(b.size(), 0u);
  EXPECT_TRUE(AtMostOnce(a)) << "first member's sink\n" << Tail(first.Stderr(), 3000);
  EXPECT_TRUE(AtMostOnce(b)) << "second member's sink\n" << Tail(second.Stderr(), 3000);
  std::vector<Json> all = a;
  all.insert(all.end(), b.begin(), b.end());
  EXPECT_TRUE(EachOnce(all, stream.identities()));
  // Partitions only moved from the first member to the second: replaying the first's
  // events, then the second's, keeps each key's order.
  EXPECT_TRUE(ReplaysTo(all, stream));
}

// --- 5. Malformed records ---

// Records that are not Debezium change events (not JSON, JSON without an envelope, an
// unknown op, op c without after, a JSON array), among good ones: the good ones arrive,
// each bad one is in the dead-letter file and topic with its reason, partition and offset,
// the count is logged, walflow keeps running, and nothing is read again after a restart.
TEST(KafkaSourceTest, MalformedRecordsGoToDeadLetters) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::string topic = "dl.public.items";
  cluster.CreateTopic(topic, 2);
  cluster.CreateTopic("walflow_dlq", 1);
  auto good = [](int id, uint64_t lsn) {
    Json v = {{"before", nullptr},
              {"after", {{"id", id}, {"v", 0}, {"note", "ok"}}},
              {"source",
               {{"version", "x"},
                {"connector", "postgresql"},
                {"name", "up"},
                {"ts_ms", 1700000000000},
                {"snapshot", "false"},
                {"db", "shop"},
                {"schema", "public"},
                {"table", "items"},
                {"txId", 9},
                {"lsn", lsn}}},
              {"op", "c"},
              {"ts_ms", 1700000000001}};
    return v.dump();
  };
  struct Bad {
    int32_t partition;
    int64_t offset;
    std::optional<std::string> key;
    std::string value;
    std::string reason_hint;  // a word the reason should contain
  };
  // In the order of (partition, offset).
  const std::vector<Bad> bad = {
      {0, 1, R"({"id":2})", "this is not JSON {", ""},
      {0, 3, std::nullopt, R"({"hello":"world","n":[1,2]})", ""},
      {0, 4, R"({"id":4})",
       R"({"before":null,"after":{"id":4},"source":{"schema":"public","table":"items",)"
       R"("lsn":5000,"ts_ms":1},"op":"x","ts_ms":1})",
       "x"},
      {0, 5, R"({"id":5})",
       R"({"before":null,"source":{"schema":"public","table":"items","lsn":5001,"ts_ms":1},)"
       R"("op":"c","ts_ms":1})",
       "after"},
      {1, 1, R"({"id":9})", "[1,2,3]", ""},  // the last record of its partition
  };
  // Partition 0: good, bad, good, bad, bad, bad, good; partition 1: good, bad.
  TestProducer producer(cluster.bootstrap());
  producer.Send(topic, 0, R"({"id":1})", good(1, 1000));
  producer.Send(topic, 0, bad[0].key, bad[0].value);
  producer.Send(topic, 0, R"({"id":3})", good(3, 1002));
  for (size_t i = 1; i <= 3; ++i) producer.Send(topic, 0, bad[i].key, bad[i].value);
  producer.Send(topic, 0, R"({"id":6})", good(6, 1006));
  producer.Send(topic, 1, R"({"id":7})", good(7, 1007));
  producer.Send(topic, 1, bad[4].key, bad[4].value);
  ASSERT_TRUE(producer.Flush());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {topic};
  spec.dead_letter_topic = "walflow_dlq";
  spec.dead_letter_file = true;
  SourceProcess walflow(spec);
  ASSERT_TRUE(walflow.StartAndWaitAssigned());
  ASSERT_TRUE(WaitForEvents(walflow, 4, seconds(30)));
  // It counts them, keeps running, and a later good record still arrives.
  EXPECT_TRUE(walflow.process()->WaitForOutput("5 dead letter(s)", seconds(10)))
      << "no progress line counting the dead letters:\n"
      << Tail(walflow.Stderr());
  ASSERT_TRUE(walflow.Running()) << Tail(walflow.Stderr());
  producer.Send(topic, 0, R"({"id":8})", good(8, 1008));
  ASSERT_TRUE(producer.Flush());
  ASSERT_TRUE(WaitForEvents(walflow, 5, seconds(20)));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  const std::string err = walflow.Stderr();
  EXPECT_GE(CountLines(err, {"stopped", "5 dead letter(s)"}), 1) << Tail(err);
  EXPECT_GE(CountLines(err, {"dead letter", topic, "offset 4"}), 1) << Tail(err);

  std::set<int64_t> ids;
  for (const auto& e : walflow.Events()) ids.insert(e["after"]["id"].get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{1, 3, 6, 7, 8}));

  // The file: one JSON line per bad record (partitions interleave freely).
  const std::string file = walflow.dead_letter_dir() + "/dead-letters.jsonl";
  std::vector<Json> lines;
  {
    std::istringstream in(ReadWholeFile(file));
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << "dead-letter line is not JSON: " << line;
      ASSERT_TRUE(j["partition"].is_number() && j["offset"].is_number()) << line;
      lines.push_back(std::move(j));
    }
  }
  std::sort(lines.begin(), lines.end(), [](const Json& a, const Json& b) {
    return std::make_pair(a["partition"].get<int>(), a["offset"].get<int64_t>()) <
           std::make_pair(b["partition"].get<int>(), b["offset"].get<int64_t>());
  });
  ASSERT_EQ(lines.size(), bad.size()) << ReadWholeFile(file);
  std::map<std::pair<int32_t, int64_t>, std::string> reasons;
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("bad record " + std::to_string(i) + ": " + bad[i].value);
    const Json& l = lines[i];
    EXPECT_EQ(l["topic"], topic) << l.dump();
    EXPECT_EQ(l["partition"], bad[i].partition) << l.dump();
    EXPECT_EQ(l["offset"], bad[i].offset) << l.dump();
    ASSERT_TRUE(l["error"].is_string()) << l.dump();
    EXPECT_FALSE(l["error"].get<std::string>().empty());
    reasons[{bad[i].partition, bad[i].offset}] = l["error"].get<std::string>();
    if (!bad[i].reason_hint.empty()) {
      EXPECT_NE(l["error"].get<std::string>().find(bad[i].reason_hint), std::string::npos)
          << "the reason does not mention '" << bad[i].reason_hint << "': " << l["error"];
    }
    if (bad[i].key) {
      EXPECT_EQ(l["key"], *bad[i].key) << l.dump();
    } else {
      EXPECT_TRUE(l["key"].is_null()) << l.dump();
    }
    EXPECT_EQ(l["value"], bad[i].value) << l.dump();
  }

  // The topic: the same records, the reason and origin in headers.
  std::vector<KafkaRecord> dlq = ReadTopic(cluster.bootstrap(), "walflow_dlq");
  ASSERT_EQ(dlq.size(), bad.size());
  std::set<std::pair<int32_t, int64_t>> origins;
  for (KafkaRecord& r : dlq) {
    SCOPED_TRACE("dead-letter record at offset " + std::to_string(r.offset));
    ASSERT_TRUE(r.headers.count("walflow.error") && r.headers.count("walflow.partition") &&
                r.headers.count("walflow.offset") && r.headers.count("walflow.topic"));
    EXPECT_EQ(r.headers["walflow.topic"], topic);
    const std::pair<int32_t, int64_t> origin = {std::stoi(r.headers["walflow.partition"]),
                                                std::stoll(r.headers["walflow.offset"])};
    origins.insert(origin);
    auto it = std::find_if(bad.begin(), bad.end(), [&](const Bad& b) {
      return b.partition == origin.first && b.offset == origin.second;
    });
    ASSERT_NE(it, bad.end()) << "no bad record at partition " << origin.first << " offset "
                             << origin.second;
    EXPECT_EQ(r.key, it->key);
    EXPECT_EQ(r.value, it->value);
    EXPECT_EQ(r.headers["walflow.error"], reasons[origin]);
  }
  EXPECT_EQ(origins.size(), bad.size());

  // The dead letters count as consumed: a restart in the same group, and one in a new group
  // (which starts where the sink's recorded offsets say), read nothing again.
  ASSERT_TRUE(walflow.StartAndWaitAssigned());
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(walflow.Stop(), 0);
  walflow.Reconfigure([](KafkaSourceSpec& s) { s.group_id = "walflow-new-group"; });
  ASSERT_TRUE(walflow.StartAndWaitAssigned());
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(walflow.Stop(), 0);
  EXPECT_EQ(walflow.Events().size(), 5u) << Tail(walflow.Stderr());
  EXPECT_EQ(ReadTopic(cluster.bootstrap(), "walflow_dlq").size(), bad.size());
  EXPECT_EQ(CountLines(ReadWholeFile(file), {"{"}), static_cast<int>(bad.size()))
      << ReadWholeFile(file);
}

// --- 6. Brokers down ---

// No broker reachable when walflow starts: it stays up and warns, naming the brokers; once
// they are back, every record arrives. Then all brokers go down for a few seconds (less than
// the session timeout) while records are produced: nothing is lost or doubled.
// Produces 10 records every `pause` for `before`, with all brokers down for `down`, and
// `after` once they are back; returns whether walflow was still running at the end of the
// outage.
bool ProduceThroughOutage(KafkaCluster& cluster, TestProducer& producer, ChangeStream& stream,
                          SourceProcess& walflow, milliseconds pause, seconds before, seconds down,
                          seconds after) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      stream.Send(producer, 10);
      std::this_thread::sleep_for(pause);
    }
  });
  std::this_thread::sleep_for(before);
  cluster.SetDown();
  std::this_thread::sleep_for(down);
  const bool survived = walflow.Running();
  cluster.SetUp();
  std::this_thread::sleep_for(after);
  stop = true;
  writer.join();
  return survived;
}

TEST(KafkaSourceTest, BrokersDownAtStartAndMidStream) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::map<std::string, std::string> topics = {{"shop.public.orders", "public.orders"}};
  cluster.CreateTopic("shop.public.orders", 3);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ChangeStream stream(topics, 3, seed);
  TestProducer producer(cluster.bootstrap());
  stream.Send(producer, 200);
  ASSERT_TRUE(producer.Flush());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {"shop.public.orders"};
  spec.properties = {};  // librdkafka's session timeout: the outage is shorter
  SourceProcess walflow(spec);
  cluster.SetDown();
  walflow.Start();
  const std::string broker = cluster.bootstrap().substr(0, cluster.bootstrap().find(','));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return CountLines(walflow.Stderr(), {"WARN", "[source]", broker}) >= 1;
      },
      seconds(25)))
      << "no warning naming the brokers:\n"
      << Tail(walflow.Stderr());
  ASSERT_TRUE(walflow.Running()) << Tail(walflow.Stderr());
  EXPECT_TRUE(walflow.Events().empty());
  std::printf("warning: %s\n",
              [&] {
                std::istringstream in(walflow.Stderr());
                std::string line;
                while (std::getline(in, line)) {
                  if (line.find("WARN") != std::string::npos &&
                      line.find("[source]") != std::string::npos &&
                      line.find(broker) != std::string::npos) {
                    return line;
                  }
                }
                return std::string();
              }()
                  .c_str());
  cluster.SetUp();
  ASSERT_TRUE(WaitForEvents(walflow, stream.identities().size(), seconds(40)));

  // Down for a few seconds while records are produced.
  const bool survived = ProduceThroughOutage(cluster, producer, stream, walflow, milliseconds(20),
                                             seconds(2), seconds(4), seconds(2));
  ASSERT_TRUE(survived) << "walflow exited while the brokers were down:\n"
                        << Tail(walflow.Stderr());
  ASSERT_TRUE(producer.Flush(seconds(40)));
  const size_t n = stream.identities().size();
  ASSERT_TRUE(WaitForEvents(walflow, n, seconds(40)));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  const std::vector<Json> events = walflow.Events();
  std::printf("kafka source outage: seed %u, %zu changes, %zu events\n", seed, n, events.size());
  EXPECT_TRUE(EachOnce(events, stream.identities())) << Tail(walflow.Stderr(), 3000);
  EXPECT_TRUE(ReplaysTo(events, stream));
}

// All brokers down for longer than the session timeout while records are produced: the
// group forgets the member, which loses its partitions and joins again. Its sink must not
// write twice what it already holds.
TEST(KafkaSourceTest, BrokersDownLongerThanSessionTimeout) {
  KafkaCluster cluster;
  cluster.Start(3);
  const std::string topic = "shop.public.orders";
  cluster.CreateTopic(topic, 3);
  const uint32_t seed = Seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ChangeStream stream({{topic, "public.orders"}}, 3, seed);
  TestProducer producer(cluster.bootstrap());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {topic};
  spec.properties = {{"session.timeout.ms", "4000"}, {"heartbeat.interval.ms", "300"}};
  SourceProcess walflow(spec);
  ASSERT_TRUE(walflow.StartAndWaitAssigned());
  const bool survived = ProduceThroughOutage(cluster, producer, stream, walflow, milliseconds(10),
                                             seconds(3), seconds(8), seconds(3));
  ASSERT_TRUE(survived) << Tail(walflow.Stderr());
  ASSERT_TRUE(producer.Flush(seconds(40)));
  const size_t n = stream.identities().size();
  ASSERT_TRUE(WaitForEvents(walflow, n, seconds(40)));
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  const std::vector<Json> events = walflow.Events();
  std::printf("kafka source long outage: seed %u, %zu changes, %zu events, assigned %zu times\n",
              seed, n, events.size(), Assignments(walflow.Stderr()).size());
  EXPECT_TRUE(EachOnce(events, stream.identities())) << Tail(walflow.Stderr(), 4000);
  EXPECT_TRUE(ReplaysTo(events, stream));
}

// partition.assignment.strategy is a librdkafka setting walflow passes through. With a
// cooperative strategy, walflow must either deliver the records or refuse the setting at
// start naming it; consuming nothing while it runs is neither.
TEST(KafkaSourceTest, CooperativeAssignmentDeliversOrIsRefused) {
  KafkaCluster cluster;
  cluster.Start(1);
  const std::string topic = "shop.public.orders";
  cluster.CreateTopic(topic, 2);
  ChangeStream stream({{topic, "public.orders"}}, 2, Seed());
  TestProducer producer(cluster.bootstrap());
  stream.Send(producer, 20);
  ASSERT_TRUE(producer.Flush());

  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {topic};
  spec.properties = {{"partition.assignment.strategy", "cooperative-sticky"},
                     {"session.timeout.ms", "6000"}};
  SourceProcess walflow(spec);
  walflow.Start();
  bool delivered = false;
  std::optional<int> exit_code;
  WaitUntil(
      [&] {
        delivered = walflow.CountEvents() >= stream.identities().size();
        if (!walflow.Running()) exit_code = walflow.process()->exit_code();
        return delivered || exit_code.has_value();
      },
      seconds(20));
  if (exit_code) {
    EXPECT_NE(*exit_code, 0);
    EXPECT_NE(walflow.Stderr().find("partition.assignment.strategy"), std::string::npos)
        << "walflow exited without naming the setting:\n"
        << Tail(walflow.Stderr());
    return;
  }
  EXPECT_TRUE(delivered) << "walflow runs with a cooperative assignment strategy but delivered "
                         << walflow.CountEvents() << " of " << stream.identities().size()
                         << " changes in 20 s:\n"
                         << Tail(walflow.Stderr());
  EXPECT_EQ(walflow.Stop(), 0) << Tail(walflow.Stderr());
  if (delivered) {
    EXPECT_TRUE(EachOnce(walflow.Events(), stream.identities()));
  }
}

// --- 7. Configuration errors ---

// A source with both postgres and kafka: exit 2 naming the file and the problem.
TEST(KafkaSourceTest, BothSourcesIsAConfigError) {
  KafkaSourceSpec spec;
  spec.brokers = "127.0.0.1:" + std::to_string(UnusedPort());
  spec.topics = {"t"};
  SourceProcess p(spec);
  std::string yaml = p.Yaml();
  yaml.replace(yaml.find("source:\n"), 8,
               "source:\n  postgres:\n    dsn: \"host=127.0.0.1 dbname=x\"\n"
               "    slot: s\n    publication: p\n    tables: [public.t]\n");
  WriteFile(p.config_path(), yaml);
  ProcessResult r = RunProcess({WalflowBinary(), "run", p.config_path()}, seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pipeline.yaml"), std::string::npos) << "the message names the file\n"
                                                            << r.err;
}

// A librdkafka setting that does not exist: walflow exits non-zero naming it, not its value.
TEST(KafkaSourceTest, UnknownPropertyExitsNamingIt) {
  KafkaCluster cluster;
  cluster.Start(1);
  KafkaSourceSpec spec;
  spec.brokers = cluster.bootstrap();
  spec.topics = {"t"};
  spec.properties = {{"fetch.wait.max.ms", "50"}, {"no.such.consumer.setting", "s3cr3t"}};
  SourceProcess p(spec);
  p.Start();
  std::optional<int> code = p.WaitExit(seconds(30));
  ASSERT_TRUE(code.has_value()) << "walflow kept running:\n" << Tail(p.Stderr());
  EXPECT_NE(*code, 0);
  EXPECT_NE(p.Stderr().find("no.such.consumer.setting"), std::string::npos) << Tail(p.Stderr());
  EXPECT_EQ(p.Stderr().find("s3cr3t"), std::string::npos) << Tail(p.Stderr());
}

}  // namespace
}  // namespace walflow::test
