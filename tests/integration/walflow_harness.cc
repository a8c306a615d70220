#include "walflow_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#ifndef WALFLOW_BINARY
#error "WALFLOW_BINARY must name the walflow executable"
#endif

namespace walflow::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

std::string UniqueSlotName() {
  static std::atomic<int> counter{0};
  return "wf_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

std::string QualifiedIdent(const std::string& qualified) {
  auto dot = qualified.find('.');
  std::string out = "\"";
  out.append(qualified, 0, dot).append("\".\"").append(qualified, dot + 1).append("\"");
  return out;
}

}  // namespace

std::string YamlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WalflowBinary() { return WALFLOW_BINARY; }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

int LineOf(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos) return -1;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

std::string Tail(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return "...\n" + text.substr(text.size() - max_chars);
}

bool WaitUntil(const std::function<bool()>& condition, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

namespace {

// A sink's `from:` line, or nothing for every table.
std::string FromYaml(const std::vector<std::string>& from) {
  if (from.empty()) return "";
  std::string line = "    from: [";
  for (size_t i = 0; i < from.size(); ++i) line += (i ? ", " : "") + YamlQuote(from[i]);
  return line + "]\n";
}

}  // namespace

std::string PipelineYaml(const PipelineSpec& spec, const std::filesystem::path& dir) {
  std::string tables;
  for (size_t i = 0; i < spec.tables.size(); ++i) tables += (i ? ", " : "") + spec.tables[i];
  std::ostringstream y;
  y << "source:\n"
    << "  postgres:\n"
    << "    dsn: " << YamlQuote(spec.dsn) << "\n"
    << "    slot: " << spec.slot << "\n"
    << "    publication: " << spec.publication << "\n"
    << "    tables: [" << tables << "]\n"
    << "    snapshot: " << spec.snapshot << "\n"
    << "    snapshot_parallelism: " << spec.snapshot_parallelism << "\n"
    << "    snapshot_chunk_size: " << spec.snapshot_chunk_size << "\n"
    << "    name: " << YamlQuote(spec.name) << "\n"
    << "    heartbeat_interval: " << spec.heartbeat_interval << "\n"
    << "    status_interval: " << spec.status_interval << "\n"
    << "    unavailable_value_placeholder: __debezium_unavailable_value\n"
    << "    spool_memory_limit: " << spec.spool_memory_limit << "\n"
    << "data_dir: " << YamlQuote((dir / "state").string()) << "\n"
    << "log: { level: " << spec.log_level << ", progress_interval: 1s }\n"
    << "sinks:\n";
  if (spec.jsonl_sink) {
    y << "  - name: files\n"
      << "    type: jsonl\n"
      << "    path: " << YamlQuote((dir / "out").string()) << "\n"
      << "    decimal_handling: " << spec.decimal_handling << "\n"
      << "    schemas: " << (spec.schemas ? "true" : "false") << "\n"
      << "    transaction_metadata: " << (spec.transaction_metadata ? "true" : "false") << "\n"
      << "    max_file_size: " << spec.max_file_size << "\n"
      << "    flush_interval: " << spec.flush_interval << "\n";
    y << FromYaml(spec.from);
  }
  if (!spec.second_sink_flush_interval.empty()) {
    y << "  - name: files2\n"
      << "    type: jsonl\n"
      << "    path: " << YamlQuote((dir / "out2").string()) << "\n"
      << "    decimal_handling: " << spec.decimal_handling << "\n"
      << "    max_file_size: " << spec.max_file_size << "\n"
      << "    flush_interval: " << spec.second_sink_flush_interval << "\n";
    y << FromYaml(spec.second_sink_from);
  }
  for (const KafkaSinkSpec& k : spec.kafka_sinks) {
    y << "  - name: " << YamlQuote(k.name) << "\n"
      << "    type: kafka\n"
      << "    brokers: " << YamlQuote(k.brokers) << "\n"
      << "    exactly_once: " << (k.exactly_once ? "true" : "false") << "\n"
      << "    tombstones: " << (k.tombstones ? "true" : "false") << "\n"
      << "    schemas: " << (k.schemas ? "true" : "false") << "\n"
      << "    decimal_handling: " << k.decimal_handling << "\n"
      << "    timeout: " << k.timeout << "\n"
      << "    flush_interval: " << k.flush_interval << "\n";
    if (!k.topic_prefix.empty()) y << "    topic_prefix: " << YamlQuote(k.topic_prefix) << "\n";
    if (!k.transactional_id.empty()) {
      y << "    transactional_id: " << YamlQuote(k.transactional_id) << "\n";
    }
    if (k.topic_partitions > 0) y << "    topic_partitions: " << k.topic_partitions << "\n";
    if (!k.offsets_topic.empty()) y << "    offsets_topic: " << YamlQuote(k.offsets_topic) << "\n";
    if (!k.properties.empty()) {
      y << "    properties:\n";
      for (const auto& [key, value] : k.properties) {
        y << "      " << YamlQuote(key) << ": " << YamlQuote(value) << "\n";
      }
    }
  }
  for (const ParquetSinkSpec& p : spec.parquet_sinks) {
    auto opt = [&y](const char* key, const std::string& value, const char* indent = "    ") {
      if (!value.empty()) y << indent << key << ": " << YamlQuote(value) << "\n";
    };
    y << "  - name: " << YamlQuote(p.name) << "\n"
      << "    type: parquet\n"
      << "    path: " << YamlQuote(p.path.empty() ? (dir / "lake").string() : p.path) << "\n";
    opt("compression", p.compression);
    opt("max_file_size", p.max_file_size);
    opt("max_file_age", p.max_file_age);
    opt("row_group_size", p.row_group_size);
    opt("partition_by", p.partition_by);
    opt("flush_interval", p.flush_interval);
    if (!p.s3_endpoint.empty()) {
      y << "    s3:\n";
      opt("endpoint", p.s3_endpoint, "      ");
      opt("region", p.s3_region, "      ");
      opt("access_key_id", p.s3_access_key_id, "      ");
      opt("secret_access_key", p.s3_secret_access_key, "      ");
      y << "      path_style: true\n";
      opt("part_size", p.s3_part_size, "      ");
      opt("timeout", p.s3_timeout, "      ");
      opt("max_attempts", p.s3_max_attempts, "      ");
    }
  }
  return y.str();
}

// --- WalflowPipeline ---

WalflowPipeline::WalflowPipeline(PgServer& pg, PipelineSpec spec)
    : pg_(pg), spec_(std::move(spec)), dir_("walflow-it") {
  if (spec_.dsn.empty()) spec_.dsn = pg_.Dsn(spec_.db);
  if (spec_.slot.empty()) spec_.slot = UniqueSlotName();
  if (spec_.publication.empty()) spec_.publication = spec_.slot + "_pub";
  WriteFile(config_path(), PipelineYaml(spec_, dir_.path()));
}

WalflowPipeline::~WalflowPipeline() {
  if (process_ && process_->Running()) process_->KillGroup(SIGKILL);
  if (process_) process_->WaitFor(std::chrono::seconds(10));
  process_.reset();
  try {
    if (drop_slot_at_end_) DropSlot();
  } catch (const std::exception&) {
    // The server may be stopped or gone; its slots go with it.
  }
}

void WalflowPipeline::Reconfigure(const std::function<void(PipelineSpec&)>& change) {
  change(spec_);
  WriteFile(config_path(), PipelineYaml(spec_, dir_.path()));
}

void WalflowPipeline::Start() {
  if (process_ && process_->Running()) {
    GTEST_FAIL() << "walflow is already running (pid " << process_->pid() << ")";
  }
  ++runs_;
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{WalflowBinary(), "run", config_path()},
      dir_.path() / ("run-" + std::to_string(runs_) + ".out"),
      dir_.path() / ("run-" + std::to_string(runs_) + ".err"));
}

::testing::AssertionResult WalflowPipeline::StartAndWaitStreaming(milliseconds timeout) {
  Start();
  if (::testing::Test::HasFatalFailure()) return ::testing::AssertionFailure() << "not started";
  bool ok = process_->WaitForOutput("streaming from slot", timeout);
  if (!ok) {
    return ::testing::AssertionFailure()
           << "walflow did not start streaming within " << timeout.count() << " ms"
           << (process_->Running() ? "" : " (it exited)") << "; stderr:\n"
           << Tail(LastStderr());
  }
  return ::testing::AssertionSuccess();
}

bool WalflowPipeline::Running() { return process_ && process_->Running(); }

std::optional<int> WalflowPipeline::Stop(milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->Kill(SIGINT);
  auto code = process_->WaitFor(timeout);
  if (!code) {
    process_->KillGroup(SIGKILL);
    process_->Wait();
  }
  return code;
}

void WalflowPipeline::Kill9() {
  if (!process_) return;
  process_->KillGroup(SIGKILL);
  process_->Wait();
}

std::optional<int> WalflowPipeline::WaitExit(milliseconds timeout) {
  if (!process_) return std::nullopt;
  return process_->WaitFor(timeout);
}

std::string WalflowPipeline::Stderr() const {
  std::string out;
  for (int i = 1; i <= runs_; ++i) {
    out += "---- walflow run " + std::to_string(i) + " stderr ----\n";
    out += ReadWholeFile(dir_.path() / ("run-" + std::to_string(i) + ".err"));
  }
  return out;
}

std::string WalflowPipeline::LastStderr() const { return process_ ? process_->Stderr() : ""; }

::testing::AssertionResult WalflowPipeline::WaitForCatchUp(milliseconds timeout) {
  const std::string target = pg_.Scalar("SELECT pg_current_wal_lsn()", spec_.db);
  const std::string sql = "SELECT coalesce(confirmed_flush_lsn >= " + SqlQuote(target) +
                          "::pg_lsn, false)::text || ' ' || coalesce(confirmed_flush_lsn::text, "
                          "'none') FROM pg_replication_slots WHERE slot_name = " +
                          SqlQuote(spec_.slot);
  std::string last = "slot missing";
  bool caught_up = WaitUntil(
      [&] {
        PgRows rows = pg_.Query(sql, spec_.db);
        if (rows.empty() || !rows[0][0]) return false;
        last = *rows[0][0];
        return last.rfind("true", 0) == 0;
      },
      timeout);
  if (caught_up) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "slot " << spec_.slot << " did not confirm " << target << " within " << timeout.count()
         << " ms (last: " << last << ", walflow "
         << (process_ && process_->Running() ? "running" : "not running") << "); stderr:\n"
         << Tail(Stderr());
}

std::vector<Json> WalflowPipeline::CatchUpAndStop() {
  EXPECT_TRUE(WaitForCatchUp());
  auto events = Events();
  EXPECT_EQ(Stop(), 0) << Tail(Stderr());
  return events;
}

std::vector<std::string> ChangeFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("changes-", 0) == 0 && name.size() > 6 &&
        name.substr(name.size() - 6) == ".jsonl") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Json> WalflowPipeline::EventsIn(const std::string& dir) {
  const std::vector<std::string> names = ChangeFilesIn(dir);
  std::vector<Json> events;
  for (const auto& name : names) {
    std::string text = ReadWholeFile(name);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) {
        // Only a file still being written may end in the middle of a line.
        bool last_file = name == names.back();
        if (!last_file || !Running()) {
          ADD_FAILURE() << name << " ends with an incomplete line: " << text.substr(pos, 200);
        }
        break;
      }
      std::string_view line(text.data() + pos, nl - pos);
      pos = nl + 1;
      try {
        events.push_back(Json::parse(line));
      } catch (const Json::parse_error& e) {
        ADD_FAILURE() << name << ": invalid JSON line (" << e.what()
                      << "): " << std::string(line.substr(0, 300));
      }
    }
  }
  return events;
}

void WalflowPipeline::DropSlot() {
  const std::string name = SqlQuote(spec_.slot);
  WaitUntil(
      [&] {
        PgRows rows = pg_.Query("SELECT active FROM pg_replication_slots WHERE slot_name = " + name,
                                spec_.db);
        if (rows.empty()) return true;
        if (rows[0][0] == "f") {
          pg_.Exec("SELECT pg_drop_replication_slot(" + name + ")", spec_.db);
          return true;
        }
        return false;
      },
      std::chrono::seconds(10));
}

// --- Oracle ---

std::optional<std::string> JsonAsText(const Json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "t" : "f";
  return v.dump();
}

Oracle::Oracle(OracleKeys keys) : keys_(std::move(keys)) {
  for (const auto& [table, cols] : keys_) tables_[table];
}

std::string Oracle::KeyOf(const std::string& table, const Json& row) const {
  std::string key;
  for (const auto& col : keys_.at(table)) {
    if (!row.contains(col)) return "<missing key column " + col + ">";
    key += (key.empty() ? "" : "|") + JsonAsText(row[col]).value_or("NULL");
  }
  return key;
}

void Oracle::SetVersionColumn(const std::string& table, const std::string& column) {
  versions_[table] = column;
}

void Oracle::Apply(const Json& event) {
  ++applied_;
  const Json& value = event.contains("payload") ? event["payload"] : event;
  const std::string table = value["source"]["schema"].get<std::string>() + "." +
                            value["source"]["table"].get<std::string>();
  auto where = [&](const std::string& what) {
    return "event " + std::to_string(applied_) + " (" + value["op"].get<std::string>() + " on " +
           table + "): " + what;
  };
  if (!keys_.count(table)) {
    anomalies_.push_back(where("table not expected"));
    return;
  }
  OracleTable& rows = tables_[table];
  const std::string op = value["op"].get<std::string>();
  auto to_row = [](const Json& j) {
    OracleRow row;
    for (auto it = j.begin(); it != j.end(); ++it) row[it.key()] = JsonAsText(it.value());
    return row;
  };
  if (op == "c" || op == "r" || op == "u") {
    if (!value["after"].is_object()) {
      anomalies_.push_back(where("no after image"));
      return;
    }
    std::string key = KeyOf(table, value["after"]);
    bool present = rows.count(key) > 0;
    if (op == "c" && present)
      anomalies_.push_back(where("create of key " + key + " already present"));
    if (op == "u" && !present) anomalies_.push_back(where("update of key " + key + " not present"));
    OracleRow row = to_row(value["after"]);
    auto version = versions_.find(table);
    if (version != versions_.end()) {
      const std::string& col = version->second;
      std::optional<std::string> now = row[col];
      if (op == "c" && now != "0") {
        anomalies_.push_back(where("create of key " + key + " with " + col + " = " +
                                   now.value_or("NULL") + ", not 0"));
      }
      if (op == "u" && present) {
        std::optional<std::string> before = rows[key][col];
        if (!before || !now || std::stoll(*now) != std::stoll(*before) + 1) {
          anomalies_.push_back(where("update of key " + key + " takes " + col + " from " +
                                     before.value_or("NULL") + " to " + now.value_or("NULL") +
                                     ": an update lost or repeated"));
        }
      }
    }
    rows[key] = std::move(row);
  } else if (op == "d") {
    if (!value["before"].is_object()) {
      anomalies_.push_back(where("no before image"));
      return;
    }
    std::string key = KeyOf(table, value["before"]);
    if (rows.erase(key) == 0) anomalies_.push_back(where("delete of key " + key + " not present"));
  } else if (op == "t") {
    rows.clear();
  } else {
    anomalies_.push_back(where("unknown op"));
  }
}

void Oracle::ApplyAll(const std::vector<Json>& events) {
  for (const Json& e : events) Apply(e);
}

const OracleTable& Oracle::table(const std::string& qualified) const {
  return tables_.at(qualified);
}

OracleTable ReadTable(PgServer& pg, const std::string& db, const std::string& qualified,
                      const std::vector<std::string>& key_columns) {
  PgRows cols = pg.Query(
      "SELECT attname FROM pg_attribute WHERE attrelid = " + SqlQuote(QualifiedIdent(qualified)) +
          "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
      db);
  std::string select;
  std::vector<std::string> names;
  for (const auto& c : cols) {
    names.push_back(*c[0]);
    select += (select.empty() ? "" : ", ") + std::string("\"") + *c[0] + "\"::text";
  }
  PgRows rows = pg.Query("SELECT " + select + " FROM " + QualifiedIdent(qualified), db);
  OracleTable out;
  for (const auto& r : rows) {
    OracleRow row;
    for (size_t i = 0; i < names.size(); ++i) row[names[i]] = r[i];
    std::string key;
    for (const auto& k : key_columns) {
      if (!key.empty()) key += '|';
      key += row[k].value_or("NULL");
    }
    out[key] = std::move(row);
  }
  return out;
}

namespace {

std::string RowText(const OracleRow& row) {
  std::string out = "{";
  for (const auto& [k, v] : row) {
    if (out.size() > 1) out += ", ";
    out.append(k).append("=");
    if (v) {
      out.append("'").append(*v, 0, 80).append(v->size() > 80 ? "...'" : "'");
    } else {
      out.append("NULL");
    }
  }
  return out + "}";
}

}  // namespace

::testing::AssertionResult OracleTablesMatch(const std::string& qualified,
                                             const OracleTable& expected, const OracleTable& actual,
                                             const std::string& source) {
  std::vector<std::string> diffs;
  for (const auto& [key, row] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      diffs.push_back("key " + key + " in PostgreSQL, missing from " + source + ": " +
                      RowText(row));
    } else if (it->second != row) {
      diffs.push_back("key " + key + " differs:\n    PostgreSQL " + RowText(row) + "\n    " +
                      source + " " + RowText(it->second));
    }
  }
  for (const auto& [key, row] : actual) {
    if (!expected.count(key)) {
      diffs.push_back("key " + key + " in " + source + ", not in PostgreSQL: " + RowText(row));
    }
  }
  if (diffs.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << qualified << ": replaying " << source << " gives " << actual.size()
          << " rows, PostgreSQL has " << expected.size() << "; " << diffs.size()
          << " difference(s):";
  for (size_t i = 0; i < diffs.size() && i < 20; ++i) failure << "\n  " << diffs[i];
  return failure;
}

::testing::AssertionResult TableMatches(PgServer& pg, const std::string& db, const Oracle& oracle,
                                        const std::string& qualified,
                                        const std::vector<std::string>& key_columns) {
  return OracleTablesMatch(qualified, ReadTable(pg, db, qualified, key_columns),
                           oracle.table(qualified));
}

::testing::AssertionResult NoDuplicateEvents(const std::vector<Json>& events) {
  std::map<std::string, size_t> seen;
  std::vector<std::string> dups;
  for (size_t i = 0; i < events.size(); ++i) {
    const Json& v = events[i].contains("payload") ? events[i]["payload"] : events[i];
    const Json& row = v["after"].is_object() ? v["after"] : v["before"];
    std::string id = v["source"]["sequence"].dump() + " " + v["op"].get<std::string>() + " " +
                     v["source"]["schema"].get<std::string>() + "." +
                     v["source"]["table"].get<std::string>() + " " +
                     (row.is_object() ? row.dump().substr(0, 200) : "-");
    auto [it, inserted] = seen.emplace(id, i);
    if (!inserted) {
      dups.push_back("events " + std::to_string(it->second) + " and " + std::to_string(i) + ": " +
                     id);
    }
  }
  if (dups.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << dups.size() << " duplicated event(s):";
  for (size_t i = 0; i < dups.size() && i < 10; ++i) failure << "\n  " << dups[i];
  return failure;
}

std::vector<Json> EventsOf(const std::vector<Json>& events, const std::string& table) {
  std::vector<Json> out;
  for (const auto& e : events) {
    const Json& v = e.contains("payload") ? e["payload"] : e;
    if (v["source"]["schema"].get<std::string>() + "." + v["source"]["table"].get<std::string>() ==
        table) {
      out.push_back(e);
    }
  }
  return out;
}

// --- RandomWorkload ---

RandomWorkload::RandomWorkload(std::string dsn, std::vector<std::string> tables, uint32_t seed,
                               int max_statements)
    : dsn_(std::move(dsn)),
      tables_(std::move(tables)),
      rng_(seed),
      max_statements_(max_statements) {
  // Ids are unique across tables and workloads seeded differently.
  next_id_ = static_cast<int64_t>(seed % 1000) * 1000000000LL + 1;
}

void RandomWorkload::CreateTables(PgServer& pg, const std::string& db,
                                  const std::vector<std::string>& tables) {
  for (const auto& t : tables) {
    pg.Exec("CREATE TABLE " + t + " (id bigint PRIMARY KEY, v bigint NOT NULL, payload text)", db);
  }
}

void RandomWorkload::RunTransaction() {
  if (!conn_ || !conn_->ok()) conn_ = std::make_unique<PgConnection>(dsn_);
  std::map<std::string, Live> live = live_;
  int64_t next_id = next_id_;
  const int statements = 1 + static_cast<int>(rng_() % max_statements_);
  const bool rollback = rng_() % 10 == 0;
  uint64_t changes = 0;
  try {
    conn_->Exec("BEGIN");
  } catch (const PgError&) {
    if (conn_->ok()) throw;
    // The server restarted since the last transaction: one new connection.
    conn_ = std::make_unique<PgConnection>(dsn_);
    conn_->Exec("BEGIN");
  }
  for (int s = 0; s < statements; ++s) {
    const std::string& table = tables_[rng_() % tables_.size()];
    auto& ids = live[table].ids;
    int choice = static_cast<int>(rng_() % 10);
    if (ids.size() < 20 || choice < 5) {
      int64_t id = next_id++;
      conn_->Exec("INSERT INTO " + table + " VALUES (" + std::to_string(id) + ", 0, 'p" +
                  std::to_string(rng_() % 100000) + "')");
      ids.push_back(id);
    } else if (choice < 8) {
      size_t at = rng_() % ids.size();
      conn_->Exec("UPDATE " + table + " SET v = v + 1, payload = 'u" +
                  std::to_string(rng_() % 100000) + "' WHERE id = " + std::to_string(ids[at]));
    } else {
      size_t at = rng_() % ids.size();
      conn_->Exec("DELETE FROM " + table + " WHERE id = " + std::to_string(ids[at]));
      ids[at] = ids.back();
      ids.pop_back();
    }
    ++changes;
  }
  if (rollback) {
    conn_->Exec("ROLLBACK");
    next_id_ = next_id;  // ids stay unused: never reused
    return;
  }
  try {
    conn_->Exec("COMMIT");
  } catch (const PgError&) {
    if (!conn_->ok()) in_doubt_ = true;
    throw;
  }
  live_ = std::move(live);
  next_id_ = next_id;
  committed_changes_ += changes;
  ++committed_transactions_;
}

void RandomWorkload::RunFor(std::chrono::milliseconds duration, const std::atomic<bool>* stop,
                            bool tolerate_errors) {
  auto until = Clock::now() + duration;
  while (Clock::now() < until && !(stop && stop->load())) {
    try {
      RunTransaction();
    } catch (const PgError& e) {
      if (!tolerate_errors) {
        ADD_FAILURE() << "workload failed: " << e.what();
        return;
      }
      conn_.reset();
      std::this_thread::sleep_for(milliseconds(200));
    }
  }
}

void ExpectExactlyOnce(PgServer& pg, const std::string& db, const std::vector<Json>& events,
                       const std::vector<std::string>& tables, uint64_t committed_changes,
                       const std::string& context) {
  std::map<std::string, std::vector<std::string>> keys;
  for (const auto& t : tables) keys["public." + t] = {"id"};
  Oracle oracle(keys);
  for (const auto& t : tables) oracle.SetVersionColumn("public." + t, "v");
  oracle.ApplyAll(events);
  std::string anomalies;
  for (size_t i = 0; i < oracle.anomalies().size() && i < 10; ++i) {
    anomalies += "\n  " + oracle.anomalies()[i];
  }
  EXPECT_TRUE(oracle.anomalies().empty())
      << oracle.anomalies().size() << " anomalies:" << anomalies << "\n"
      << Tail(context);
  EXPECT_EQ(events.size(), committed_changes) << "one event per committed change\n"
                                              << Tail(context);
  EXPECT_TRUE(NoDuplicateEvents(events)) << Tail(context);
  for (const auto& t : tables) {
    EXPECT_TRUE(TableMatches(pg, db, oracle, "public." + t, {"id"})) << Tail(context, 2000);
  }
}

int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("UnusedPort: cannot bind a socket");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);  // bound but never listening: connections are refused
  return port;
}

}  // namespace walflow::test
