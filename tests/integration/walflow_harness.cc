#include "walflow_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <limits>
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

// The `views:` block, or nothing. The SQL is a literal block scalar, kept line for line, so
// that walflow's positions in it are the test's.
std::string ViewsYaml(const std::vector<ViewSpec>& views) {
  if (views.empty()) return "";
  std::string y = "views:\n";
  for (const ViewSpec& v : views) {
    y += "  - name: " + YamlQuote(v.name) + "\n    sql: |\n";
    size_t pos = 0;
    while (pos < v.sql.size()) {
      size_t nl = v.sql.find('\n', pos);
      if (nl == std::string::npos) nl = v.sql.size();
      y += "      " + v.sql.substr(pos, nl - pos) + "\n";
      pos = nl + 1;
    }
    if (!v.key.empty()) {
      y += "    key: [";
      for (size_t i = 0; i < v.key.size(); ++i) y += (i ? ", " : "") + YamlQuote(v.key[i]);
      y += "]\n";
    }
    if (!v.on_error.empty()) y += "    on_error: " + v.on_error + "\n";
    if (!v.dead_letter_path.empty()) {
      y += "    dead_letter_path: " + YamlQuote(v.dead_letter_path) + "\n";
    }
  }
  return y;
}

}  // namespace

std::string QualifiedViewName(const std::string& name) {
  return name.find('.') == std::string::npos ? "views." + name : name;
}

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
    << ViewsYaml(spec.views) << "sinks:\n";
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

ProcessResult WalflowPipeline::RunCommand(const std::string& command,
                                          const std::vector<std::string>& args,
                                          milliseconds timeout) const {
  std::vector<std::string> argv = {WalflowBinary(), command, config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, timeout);
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

// --- ViewReplay ---

ViewReplay::ViewReplay(std::optional<std::vector<std::string>> key) : key_(std::move(key)) {}

std::string ViewReplay::KeyOf(const Json& row) const {
  if (!key_) return row.dump();
  Json key = Json::array();
  for (const std::string& column : *key_) {
    key.push_back(row.contains(column) ? row.at(column)
                                       : Json("<missing key column " + column + ">"));
  }
  return key.dump();
}

void ViewReplay::Anomaly(const Json& value, const std::string& what) {
  std::string op = value.is_object() && value.contains("op") ? value.at("op").dump() : "?";
  anomalies_.push_back("event " + std::to_string(applied_) + " (op " + op + "): " + what +
                       "\n      event: " + value.dump().substr(0, 400));
}

void ViewReplay::Apply(const Json& event) {
  ++applied_;
  const Json& value = event.contains("payload") ? event.at("payload") : event;
  if (!value.is_object() || !value.contains("op") || !value.at("op").is_string()) {
    return Anomaly(value, "not a change event (no op)");
  }
  auto image = [&](const char* name) -> const Json* {
    auto it = value.find(name);
    return it != value.end() && it->is_object() ? &*it : nullptr;
  };
  const Json* before = image("before");
  const Json* after = image("after");
  auto insert = [&](const Json& row) {
    std::string key = KeyOf(row);
    auto [it, inserted] = rows_.emplace(key, row);
    if (!inserted) {
      Anomaly(value, "insert of key " + key + " already held (" + it->second.dump().substr(0, 200) +
                         "): a double delivery or a lost removal");
      it->second = row;
    }
  };
  auto remove = [&](const Json& row) {
    std::string key = KeyOf(row);
    auto it = rows_.find(key);
    if (it == rows_.end())
      return Anomaly(value, "removal of key " + key + " not held: a lost insert");
    if (it->second != row) {
      Anomaly(value, "before differs from the row held for key " + key + ": held " +
                         it->second.dump().substr(0, 200));
    }
    rows_.erase(it);
  };
  const std::string op = value.at("op").get<std::string>();
  if (op == "t") {
    rows_.clear();
  } else if (op == "c" || op == "r") {
    if (!after) return Anomaly(value, "no after image");
    if (before) Anomaly(value, "a before image in an insert");
    insert(*after);
  } else if (op == "u") {
    if (!before || !after) return Anomaly(value, "an update needs before and after images");
    remove(*before);
    insert(*after);
  } else if (op == "d") {
    if (!before) return Anomaly(value, "no before image");
    if (after) Anomaly(value, "an after image in a delete");
    remove(*before);
  } else {
    Anomaly(value, "unknown op");
  }
}

std::vector<Json> ViewReplay::rows() const {
  std::vector<Json> out;
  out.reserve(rows_.size());
  for (const auto& [key, row] : rows_) out.push_back(row);
  return out;
}

// --- Debezium values as PostgreSQL text ---

namespace {

// PostgreSQL type OIDs (pg_type.dat) the conversion knows.
enum PgTypeOid : uint32_t {
  kBoolOid = 16,
  kCharOid = 18,
  kNameOid = 19,
  kInt8Oid = 20,
  kInt2Oid = 21,
  kInt4Oid = 23,
  kTextOid = 25,
  kOidOid = 26,
  kJsonOid = 114,
  kFloat4Oid = 700,
  kFloat8Oid = 701,
  kBpcharOid = 1042,
  kVarcharOid = 1043,
  kDateOid = 1082,
  kTimeOid = 1083,
  kTimestampOid = 1114,
  kTimestampTzOid = 1184,
  kIntervalOid = 1186,
  kNumericOid = 1700,
  kJsonbOid = 3802,
};

bool IsNumericText(const std::string& s) {
  if (s == "NaN" || s == "Infinity" || s == "-Infinity") return true;
  size_t i = s[0] == '-' ? 1 : 0;
  size_t digits = 0, dots = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '.') {
      ++dots;
    } else if (s[i] >= '0' && s[i] <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  return digits > 0 && dots <= 1;
}

// ISO-8601 as walflow writes timestamptz: 2024-01-15T11:45:30.12Z (years 1..9999).
bool IsIsoTimestampUtc(const std::string& s) {
  if (s == "infinity" || s == "-infinity") return true;
  const std::string shape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < shape.size() + 1 || s.back() != 'Z') return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) {
      return false;
    }
  }
  std::string rest = s.substr(shape.size(), s.size() - shape.size() - 1);
  if (rest.empty()) return true;
  if (rest[0] != '.' || rest.size() == 1) return false;
  return std::all_of(rest.begin() + 1, rest.end(), [](char c) { return std::isdigit(c); });
}

// `count` units since `epoch` (an SQL literal of the type), exact for any int64: days,
// seconds and the rest, each multiplied by an interval well inside a double's integers.
std::string SinceEpochSql(const std::string& epoch, int64_t count, int64_t per_second,
                          const char* unit) {
  constexpr int64_t kSecondsPerDay = 86400;
  int64_t seconds = count / per_second, rest = count % per_second;
  if (rest < 0) rest += per_second, --seconds;
  int64_t days = seconds / kSecondsPerDay, in_day = seconds % kSecondsPerDay;
  if (in_day < 0) in_day += kSecondsPerDay, --days;
  return "(" + epoch + " + " + std::to_string(days) + " * interval '1 day' + " +
         std::to_string(in_day) + " * interval '1 second' + " + std::to_string(rest) +
         " * interval '1 " + unit + "')";
}

}  // namespace

std::vector<PgColumn> RelationColumns(PgConnection& conn, const std::string& relation) {
  PgRows rows = conn.Query(
      // format_type(oid, NULL) of char(n) is "character", which is char(1): bpchar keeps all.
      "SELECT attname, atttypid::int8, atttypmod, CASE atttypid WHEN 1042 THEN 'bpchar' "
      "WHEN 1560 THEN 'bit varying' ELSE format_type(atttypid, NULL) END, "
      "format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = " +
      SqlQuote(relation) + "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
  std::vector<PgColumn> columns;
  for (const auto& r : rows) {
    columns.push_back(
        PgColumn{*r[0], static_cast<uint32_t>(std::stoll(*r[1])), std::stoi(*r[2]), *r[3], *r[4]});
  }
  return columns;
}

bool DebeziumValueSql(const Json& v, const PgColumn& column, std::string* sql, std::string* error) {
  const std::string cast = "::" + column.base_type;
  auto refuse = [&](const std::string& expected) {
    *error = "column " + column.name + " (" + column.type + "): " + v.dump().substr(0, 80) +
             " is not " + expected;
    return false;
  };
  if (v.is_null()) {
    *sql = "NULL" + cast;
    return true;
  }
  switch (column.type_oid) {
    case kBoolOid:
      if (!v.is_boolean()) return refuse("a JSON boolean");
      *sql = v.get<bool>() ? "true" : "false";
      return true;
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      if (!v.is_number_integer()) return refuse("a JSON integer");
      *sql = SqlQuote(v.dump()) + cast;
      return true;
    case kFloat4Oid:
    case kFloat8Oid:
      if (v.is_number()) {
        *sql = SqlQuote(v.dump()) + cast;
        return true;
      }
      if (v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity")) {
        *sql = SqlQuote(v.get<std::string>()) + cast;
        return true;
      }
      return refuse("a JSON number or \"NaN\", \"Infinity\", \"-Infinity\"");
    case kNumericOid:
      if (!v.is_string() || !IsNumericText(v.get<std::string>())) {
        return refuse("numeric text in a JSON string (decimal_handling: string)");
      }
      *sql = SqlQuote(v.get<std::string>()) + cast;
      return true;
    case kDateOid: {
      if (!v.is_number_integer()) return refuse("a JSON integer (days since 1970-01-01)");
      int64_t days = v.get<int64_t>();
      if (days == std::numeric_limits<int32_t>::max() ||
          days == std::numeric_limits<int32_t>::min()) {
        *sql = days > 0 ? "'infinity'::date" : "'-infinity'::date";
      } else {
        *sql = "('1970-01-01'::date + " + std::to_string(days) + ")";
      }
      return true;
    }
    case kTimestampOid: {
      if (!v.is_number_integer()) return refuse("a JSON integer (time since 1970-01-01)");
      int64_t n = v.get<int64_t>();
      if (n == std::numeric_limits<int64_t>::max() || n == std::numeric_limits<int64_t>::min()) {
        *sql = n > 0 ? "'infinity'::timestamp" : "'-infinity'::timestamp";
        return true;
      }
      const bool millis = column.typmod >= 0 && column.typmod <= 3;
      *sql = SinceEpochSql("'1970-01-01'::timestamp", n, millis ? 1000 : 1000000,
                           millis ? "millisecond" : "microsecond");
      return true;
    }
    case kTimeOid: {
      if (!v.is_number_integer()) return refuse("a JSON integer (time since midnight)");
      const bool millis = column.typmod >= 0 && column.typmod <= 3;
      *sql = "(" +
             SinceEpochSql("'00:00'::time", v.get<int64_t>(), millis ? 1000 : 1000000,
                           millis ? "millisecond" : "microsecond") +
             ")::time";
      return true;
    }
    case kTimestampTzOid:
      if (!v.is_string() || !IsIsoTimestampUtc(v.get<std::string>())) {
        return refuse("an ISO-8601 UTC timestamp in a JSON string");
      }
      *sql = SqlQuote(v.get<std::string>()) + cast;
      return true;
    case kIntervalOid:
      *error = "column " + column.name +
               ": interval values are not compared (Debezium's microseconds count a month as "
               "30.4375 days, PostgreSQL's text keeps months)";
      return false;
    case kJsonOid:
    case kJsonbOid:
      if (!v.is_string() || !Json::accept(v.get<std::string>())) {
        return refuse("JSON text in a JSON string");
      }
      *sql = SqlQuote(v.get<std::string>()) + cast;
      return true;
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
    case kNameOid:
    case kCharOid:
    default:  // every other type is written as its text form
      if (!v.is_string()) return refuse("a JSON string");
      if (v.get<std::string>().find('\0') != std::string::npos) return refuse("text without NUL");
      *sql = SqlQuote(v.get<std::string>()) + cast;
      return true;
  }
}

std::vector<TextRow> DebeziumRowsAsText(PgConnection& conn, const std::vector<PgColumn>& columns,
                                        const std::vector<Json>& rows,
                                        std::vector<std::string>* problems) {
  constexpr size_t kRowsPerQuery = 500;
  constexpr size_t kMaxProblems = 20;
  auto problem = [&](const std::string& p) {
    if (problems->size() < kMaxProblems) problems->push_back(p);
  };
  std::vector<TextRow> out(rows.size(), TextRow(columns.size()));
  std::vector<std::vector<std::string>> exprs(rows.size());
  std::set<std::string> extra;
  for (size_t r = 0; r < rows.size(); ++r) {
    const Json& row = rows[r];
    for (size_t c = 0; c < columns.size(); ++c) {
      std::string sql, error;
      if (!row.is_object() || !row.contains(columns[c].name)) {
        error = "no column " + columns[c].name + " in " + row.dump().substr(0, 200);
      } else if (DebeziumValueSql(row.at(columns[c].name), columns[c], &sql, &error)) {
        exprs[r].push_back(sql);
        continue;
      }
      problem(error);
      out[r][c] = "<invalid: " + error + ">";
      exprs[r].push_back("NULL::" + columns[c].base_type);
    }
    if (!row.is_object()) continue;
    for (auto it = row.begin(); it != row.end(); ++it) {
      bool known = std::any_of(columns.begin(), columns.end(),
                               [&](const PgColumn& c) { return c.name == it.key(); });
      if (!known && extra.insert(it.key()).second) {
        problem("column " + it.key() + " is not a column of the view (PostgreSQL's columns: " +
                [&] {
                  std::string names;
                  for (const PgColumn& c : columns) names += (names.empty() ? "" : ", ") + c.name;
                  return names;
                }() +
                ")");
      }
    }
  }
  // Converts rows [from, to); a batch the server refuses is retried row by row.
  std::function<void(size_t, size_t)> convert = [&](size_t from, size_t to) {
    std::string values, names = "n", select;
    for (size_t c = 0; c < columns.size(); ++c) {
      names += ", c" + std::to_string(c);
      select += (c ? ", " : "") + std::string("c") + std::to_string(c) + "::text";
    }
    for (size_t r = from; r < to; ++r) {
      values += (r > from ? ", (" : "(") + std::to_string(r);
      for (const std::string& e : exprs[r]) values += ", " + e;
      values += ")";
    }
    try {
      PgRows text = conn.Query("SELECT " + select + " FROM (VALUES " + values + ") AS v(" + names +
                               ") ORDER BY n");
      for (size_t r = from; r < to; ++r) {
        for (size_t c = 0; c < columns.size(); ++c) {
          if (!out[r][c]) out[r][c] = text[r - from][c];
        }
      }
    } catch (const PgError& e) {
      if (to - from > 1) {
        for (size_t r = from; r < to; ++r) convert(r, r + 1);
        return;
      }
      problem("PostgreSQL cannot read " + rows[from].dump().substr(0, 200) + ": " + e.what());
      for (auto& cell : out[from]) cell = "<invalid: unreadable row>";
    }
  };
  if (columns.empty()) return out;
  for (size_t from = 0; from < rows.size(); from += kRowsPerQuery) {
    convert(from, std::min(rows.size(), from + kRowsPerQuery));
  }
  return out;
}

RowsDiff DiffRows(std::vector<TextRow> expected, std::vector<TextRow> actual) {
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  RowsDiff diff;
  auto note = [](std::vector<std::pair<TextRow, size_t>>& side, const TextRow& row) {
    if (!side.empty() && side.back().first == row) {
      ++side.back().second;
    } else {
      side.emplace_back(row, 1);
    }
  };
  size_t e = 0, a = 0;
  while (e < expected.size() || a < actual.size()) {
    if (a == actual.size() || (e < expected.size() && expected[e] < actual[a])) {
      note(diff.only_expected, expected[e++]);
    } else if (e == expected.size() || actual[a] < expected[e]) {
      note(diff.only_actual, actual[a++]);
    } else {
      ++e, ++a;
    }
  }
  return diff;
}

std::string FormatTextRow(const TextRow& row) {
  constexpr size_t kMaxCell = 60;
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += " | ";
    if (!row[i]) {
      out += "NULL";
    } else if (row[i]->size() > kMaxCell) {
      out += row[i]->substr(0, kMaxCell) + "...(" + std::to_string(row[i]->size()) + " chars)";
    } else {
      out += *row[i];
    }
  }
  return out;
}

// --- TableWorkload ---

namespace {

// Values of a column's domain that fit its type modifier (a numeric's integer digits, a
// string's length): few of them, so that rows share groups.
std::vector<std::string> DomainOf(uint32_t oid, int typmod, const std::string& column) {
  switch (oid) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: return {"-1", "0", "1", "2", "3", "5", "10"};
    case kFloat4Oid:
    case kFloat8Oid: return {"-1.5", "0", "0.25", "2", "3.75", "1024", "-0.125"};
    case kNumericOid: {
      std::vector<std::string> all = {"0", "1", "-2.5", "3.25", "10.75", "0.01", "42"};
      if (typmod < 4) return all;
      const int integer_digits = (((typmod - 4) >> 16) & 0xffff) - ((typmod - 4) & 0xffff);
      std::vector<std::string> fit;
      for (const std::string& v : all) {
        size_t start = v[0] == '-' ? 1 : 0;
        size_t dot = v.find('.');
        int digits = static_cast<int>((dot == std::string::npos ? v.size() : dot) - start);
        if (v.substr(start, digits) == "0") digits = 0;
        if (digits <= integer_digits) fit.push_back(v);
      }
      return fit;
    }
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid: return {"a", "b", "c", "ab", "B", ""};
    case kBoolOid: return {"true", "false"};
    case kDateOid: return {"2024-01-01", "2024-01-02", "2024-02-29", "2023-12-31", "2024-01-31"};
    case kTimestampOid:
      return {"2024-01-01 00:00:00", "2024-01-01 12:30:00", "2024-01-02 00:00:00.5",
              "2023-12-31 23:59:59.999999", "2024-02-29 08:00:00"};
    case kTimestampTzOid:
      return {"2024-01-01 00:00:00+00", "2024-01-01 12:30:00+02", "2024-01-02 00:00:00.5+00",
              "2023-12-31 23:59:59.999999-05", "2024-02-29 08:00:00+00"};
    default:
      throw std::runtime_error("random: cannot generate values for column " + column +
                               " (type OID " + std::to_string(oid) + ")");
  }
}

}  // namespace

TableWorkload::TableWorkload(std::string dsn, std::string table, uint32_t seed)
    : conn_(std::make_unique<PgConnection>(dsn)), table_(std::move(table)), rng_(seed) {
  const std::string rel = SqlQuote(table_) + "::regclass";
  PgRows key = conn_->Query(
      "SELECT quote_ident(a.attname), a.atttypid::int8 FROM pg_index i JOIN pg_attribute a ON "
      "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indisprimary AND "
      "i.indrelid = " +
      rel);
  if (key.size() != 1 || !(*key[0][1] == "20" || *key[0][1] == "21" || *key[0][1] == "23")) {
    throw std::runtime_error("random: table " + table_ +
                             " needs a primary key of one integer column");
  }
  key_ = *key[0][0];
  PgRows cols = conn_->Query(
      "SELECT quote_ident(attname), atttypid::int8, atttypmod, attnotnull FROM pg_attribute "
      "WHERE attrelid = " +
      rel +
      " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' "
      "ORDER BY attnum");
  for (const auto& c : cols) {
    if (*c[0] == key_) continue;
    Column column{*c[0], *c[3] == "f", {}};
    std::string type = conn_->Scalar("SELECT format_type(" + *c[1] + ", " + *c[2] + ")");
    const int typmod = std::stoi(*c[2]);
    for (const std::string& v : DomainOf(static_cast<uint32_t>(std::stoll(*c[1])), typmod, *c[0])) {
      // Strings longer than a varchar(n) / char(n) allows are left out.
      if ((std::stoll(*c[1]) == kVarcharOid || std::stoll(*c[1]) == kBpcharOid) && typmod >= 4 &&
          static_cast<int>(v.size()) > typmod - 4) {
        continue;
      }
      column.literals.push_back(SqlQuote(v) + "::" + type);
    }
    if (column.literals.empty()) {
      throw std::runtime_error("random: no value fits column " + column.name + " (" + type + ")");
    }
    columns_.push_back(std::move(column));
  }
  for (const auto& r : conn_->Query("SELECT " + key_ + " FROM " + table_ + " ORDER BY 1")) {
    ids_.push_back(std::stoll(*r[0]));
  }
  next_id_ = ids_.empty() ? 1 : ids_.back() + 1;
}

TableWorkload::~TableWorkload() = default;

std::string TableWorkload::Literal(const Column& c) {
  if (c.nullable && rng_() % 8 == 0) return "NULL";
  return c.literals[rng_() % c.literals.size()];
}

void TableWorkload::RemoveIds(std::vector<int64_t>& ids, const PgRows& removed) {
  std::set<int64_t> gone;
  for (const auto& r : removed) gone.insert(std::stoll(*r[0]));
  ids.erase(std::remove_if(ids.begin(), ids.end(), [&](int64_t id) { return gone.count(id); }),
            ids.end());
}

// One statement over `ids` (the rows present in the transaction), which it updates, except
// for a bulk delete: its ids are read back (RETURNING) by Run().
TableWorkload::Generated TableWorkload::Statement(std::vector<int64_t>& ids) {
  const int choice = static_cast<int>(rng_() % 100);
  auto values = [&](int64_t id) {
    std::string v = "(" + std::to_string(id);
    for (const Column& c : columns_) v += ", " + Literal(c);
    return v + ")";
  };
  std::string names = key_;
  for (const Column& c : columns_) names += ", " + c.name;
  auto pick = [&] { return ids[rng_() % ids.size()]; };
  auto where_equal = [&](const Column& c) {
    std::string v = Literal(c);
    return c.name + (v == "NULL" ? " IS NULL" : " = " + v);
  };
  if (ids.empty() || choice < 40) {
    ids.push_back(next_id_);
    return {"INSERT INTO " + table_ + " (" + names + ") VALUES " + values(next_id_++)};
  }
  if (choice < 48) {
    std::string rows;
    for (int n = 2 + static_cast<int>(rng_() % 4); n > 0; --n) {
      rows += (rows.empty() ? "" : ", ") + values(next_id_);
      ids.push_back(next_id_++);
    }
    return {"INSERT INTO " + table_ + " (" + names + ") VALUES " + rows};
  }
  if (!columns_.empty() && choice < 75) {
    std::string set;
    for (int n = 1 + static_cast<int>(rng_() % 2); n > 0; --n) {
      const Column& c = columns_[rng_() % columns_.size()];
      if (set.find(c.name + " =") != std::string::npos) continue;
      set += (set.empty() ? "" : ", ") + c.name + " = " + Literal(c);
    }
    return {"UPDATE " + table_ + " SET " + set + " WHERE " + key_ + " = " + std::to_string(pick())};
  }
  if (!columns_.empty() && choice < 80) {
    const Column& set = columns_[rng_() % columns_.size()];
    const Column& where = columns_[rng_() % columns_.size()];
    std::string value = Literal(set);
    return {"UPDATE " + table_ + " SET " + set.name + " = " + value + " WHERE " +
            where_equal(where)};
  }
  if (choice < 84) {
    size_t at = rng_() % ids.size();
    int64_t old_id = ids[at];
    ids[at] = next_id_++;
    return {"UPDATE " + table_ + " SET " + key_ + " = " + std::to_string(ids[at]) + " WHERE " +
            key_ + " = " + std::to_string(old_id)};
  }
  if (columns_.empty() || choice < 98) {
    size_t at = rng_() % ids.size();
    int64_t id = ids[at];
    ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at));
    return {"DELETE FROM " + table_ + " WHERE " + key_ + " = " + std::to_string(id)};
  }
  return {"DELETE FROM " + table_ + " WHERE " + where_equal(columns_[rng_() % columns_.size()]) +
              " RETURNING " + key_,
          true};
}

void TableWorkload::Run(int statements) {
  while (statements > 0) {
    const int in_transaction = std::min(statements, 1 + static_cast<int>(rng_() % 4));
    const bool rollback = rng_() % 10 == 0;
    std::vector<int64_t> ids = ids_;
    conn_->Exec("BEGIN");
    for (int i = 0; i < in_transaction; ++i) {
      Generated statement = Statement(ids);
      PgRows removed = conn_->Query(statement.sql);
      if (statement.returns_removed_ids) RemoveIds(ids, removed);
    }
    statements -= in_transaction;
    if (rollback) {
      conn_->Exec("ROLLBACK");  // next_id_ stays: the ids of rolled-back rows are not reused
      continue;
    }
    conn_->Exec("COMMIT");
    ids_ = std::move(ids);
    committed_statements_ += static_cast<uint64_t>(in_transaction);
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
