// walflow command line: run a pipeline, check its prerequisites.
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/signal_watcher.h"
#include "cli/view_commands.h"
#include "core/log.h"
#include "core/metrics.h"
#include "format/debezium_json.h"
#include "pg/connection.h"
#include "pg/setup.h"
#include "pg/table_reader.h"
#include "runtime/config.h"
#include "runtime/controller.h"
#include "runtime/pipeline.h"
#include "runtime/snapshot.h"

namespace {

using walflow::Status;
using walflow::runtime::PipelineConfig;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void PrintUsage(FILE* to) {
  std::fprintf(to,
               "walflow %s: PostgreSQL change data capture to Debezium-format sinks\n"
               "\n"
               "usage:\n"
               "  walflow run CONFIG [--log-level LEVEL]   stream changes until stopped (Ctrl-C)\n"
               "  walflow check CONFIG                     check the config and the database\n"
               "  walflow snapshot CONFIG --table S.T ...  re-read tables while the pipeline "
               "streams\n"
               "  walflow peek CONFIG VIEW [--json]        print a view's current rows (pipeline "
               "stopped)\n"
               "  walflow version\n"
               "\n"
               "Exit codes: 0 success (check: all passed), 1 error or failed check, 2 usage or "
               "config error.\n",
               walflow::format::kWalflowVersion);
}

int RunCommand(const std::string& config_path, const std::string& log_level) {
  auto config = walflow::runtime::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "walflow: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  walflow::SetLogLevel(config->log_level);
  if (!log_level.empty()) {
    walflow::LogLevel level;
    if (!walflow::ParseLogLevel(log_level, &level)) {
      std::fprintf(stderr, "walflow: unknown log level '%s'\n", log_level.c_str());
      return kExitUsage;
    }
    walflow::SetLogLevel(level);
  }
  walflow::runtime::Controller controller;
  walflow::MetricsRegistry metrics;
  // Before any other thread starts: they inherit the blocked signals.
  walflow::cli::SignalWatcher signals(controller);
  WF_LOG_INFO("walflow", "walflow {} starting pipeline {}", walflow::format::kWalflowVersion,
              config_path);
  const PipelineConfig& cfg = *config;
  walflow::runtime::Pipeline pipeline(cfg, controller, metrics,
                                      walflow::cli::ViewOperators(cfg, &metrics));
  Status s = pipeline.Run();
  if (!s.ok()) {
    WF_LOG_ERROR("walflow", "{}", s.message());
    return kExitFailure;
  }
  return kExitOk;
}

int CheckCommand(const std::string& config_path) {
  auto config = walflow::runtime::LoadConfig(config_path);
  if (!config.ok()) {
    std::printf("FAIL config: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (config->source_type == walflow::runtime::SourceType::kKafka) {
    std::printf("ok   config %s: kafka source (%zu topic(s), group %s), %zu sink(s)\n",
                config_path.c_str(), config->kafka.topics.size(), config->kafka.group_id.c_str(),
                config->sinks.size());
    std::printf("check passed (brokers and sinks are checked when the pipeline starts)\n");
    return kExitOk;
  }
  std::printf("ok   config %s: %zu table(s), %zu sink(s)\n", config_path.c_str(),
              config->postgres.tables.size(), config->sinks.size());
  walflow::SetLogLevel(walflow::LogLevel::kError);
  auto conn = walflow::pg::Connection::Open(config->postgres.dsn.Reveal(),
                                            walflow::pg::Connection::Kind::kSql, "walflow-check");
  if (!conn.ok()) {
    std::printf("FAIL connection: %s\n", conn.status().message().c_str());
    return kExitFailure;
  }
  std::printf("ok   connected to %s as database %s\n",
              walflow::pg::MaskDsn(config->postgres.dsn.Reveal()).c_str(),
              (*conn)->database().c_str());
  walflow::pg::SetupSpec spec;
  spec.slot = config->postgres.slot;
  spec.publication = config->postgres.publication;
  spec.create_slot = config->postgres.create_slot;
  spec.create_publication = config->postgres.create_publication;
  for (const auto& t : config->postgres.tables) {
    spec.tables.push_back({t.schema, t.name, t.location.ToString()});
  }
  bool failed = false;
  for (const auto& line : walflow::pg::CheckPrerequisites(**conn, spec)) {
    const char* tag = "ok  ";
    if (line.outcome == walflow::pg::CheckLine::Outcome::kWarn) tag = "warn";
    if (line.outcome == walflow::pg::CheckLine::Outcome::kFail) {
      tag = "FAIL";
      failed = true;
    }
    std::printf("%s %s\n", tag, line.text.c_str());
  }
  failed = !walflow::cli::CheckViews(*config, conn->get()) || failed;
  // Sinks: writable, and what they already hold must still be streamable from the slot.
  walflow::Lsn held;  // smallest position a sink holds
  for (const auto& sink : config->sinks) {
    walflow::sink::SinkCheck c = sink->Check();
    std::printf("%s %s\n", c.ok ? "ok  " : "FAIL", c.text.c_str());
    failed = failed || !c.ok;
    if (c.held.valid() && (!held.valid() || c.held < held)) held = c.held;
  }
  // A snapshot in progress: its chunks sit at positions just below the consistent point.
  const std::string state_path = config->data_dir + "/snapshot/" + config->postgres.slot + ".json";
  auto snapshot = walflow::runtime::SnapshotState::Load(state_path);
  if (!snapshot.ok()) {
    std::printf("FAIL snapshot state: %s\n", snapshot.status().message().c_str());
    failed = true;
  } else if (!snapshot->empty()) {
    std::set<std::string> tables;
    for (const auto& c : snapshot->chunks) tables.insert(c.table);
    for (const auto& j : snapshot->jobs) tables.insert(j.table);
    std::string names;
    for (const auto& t : tables) names += (names.empty() ? "" : ", ") + t;
    std::printf(
        "ok   snapshot in progress (%s): %zu chunk(s) not yet durable in every sink, %zu "
        "table(s) being read: %s\n",
        state_path.c_str(), snapshot->chunks.size(), snapshot->jobs.size(), names.c_str());
    const walflow::Lsn point = snapshot->consistent_point;
    if (held.valid() && point.valid() && held < point) held = point;
  }
  if (held.valid()) {
    auto slot = walflow::pg::DescribeSlot(**conn, spec.slot);
    if (slot.ok() && !slot->exists) {
      std::printf(
          "FAIL replication slot %s does not exist, but the sinks hold changes up to %s: "
          "changes since then are lost\n",
          spec.slot.c_str(), held.ToString().c_str());
      failed = true;
    } else if (slot.ok() && slot->confirmed_flush > held) {
      std::printf("FAIL replication slot %s is confirmed up to %s, past what the sinks hold (%s)\n",
                  spec.slot.c_str(), slot->confirmed_flush.ToString().c_str(),
                  held.ToString().c_str());
      failed = true;
    }
  }
  // The replication connection itself (replication=database: it matches pg_hba.conf lines
  // for the database, and needs the REPLICATION privilege).
  auto repl = walflow::pg::Connection::Open(
      config->postgres.dsn.Reveal(), walflow::pg::Connection::Kind::kReplication, "walflow-check");
  if (repl.ok()) {
    std::printf("ok   replication connection accepted\n");
  } else {
    std::printf("FAIL replication connection: %s\n", repl.status().message().c_str());
    failed = true;
  }
  std::printf("%s\n", failed ? "check failed" : "check passed");
  return failed ? kExitFailure : kExitOk;
}

// Asks the pipeline to re-read tables: a message written into the WAL, which the running
// pipeline (or its next start) reads from its slot, so the request cannot be lost.
int SnapshotCommand(const std::string& config_path, const std::vector<std::string>& tables) {
  auto config = walflow::runtime::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "walflow: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (config->source_type != walflow::runtime::SourceType::kPostgres) {
    std::fprintf(stderr, "walflow: snapshot re-reads PostgreSQL tables; %s reads Kafka\n",
                 config_path.c_str());
    return kExitUsage;
  }
  if (tables.empty()) {
    std::fprintf(stderr, "walflow: snapshot needs at least one --table SCHEMA.TABLE\n");
    return kExitUsage;
  }
  const auto& pgc = config->postgres;
  std::vector<std::string> qualified;
  for (const std::string& t : tables) {
    std::string q = t.find('.') == std::string::npos ? "public." + t : t;
    bool known = false;
    for (const auto& ref : pgc.tables) known = known || ref.Qualified() == q;
    if (!known) {
      std::fprintf(stderr, "walflow: table %s is not in the pipeline %s (source.postgres.tables)\n",
                   q.c_str(), config_path.c_str());
      return kExitUsage;
    }
    qualified.push_back(q);
  }
  walflow::SetLogLevel(walflow::LogLevel::kError);
  auto conn = walflow::pg::Connection::Open(pgc.dsn.Reveal(), walflow::pg::Connection::Kind::kSql,
                                            "walflow-snapshot-request");
  if (!conn.ok()) {
    std::fprintf(stderr, "walflow: %s\n", conn.status().message().c_str());
    return kExitFailure;
  }
  auto slot = walflow::pg::DescribeSlot(**conn, pgc.slot);
  if (!slot.ok() || !slot->exists) {
    std::fprintf(stderr,
                 "walflow: replication slot %s does not exist: the pipeline has not run yet "
                 "(its initial snapshot will read every table)\n",
                 pgc.slot.c_str());
    return kExitFailure;
  }
  for (const std::string& q : qualified) {
    // The watermark method matches rows by key: a table without one cannot be read
    // consistently while the stream runs.
    const auto dot = q.find('.');
    walflow::pg::SqlCatalog catalog(conn->get());
    auto table =
        walflow::pg::DescribeSnapshotTable(**conn, &catalog, q.substr(0, dot), q.substr(dot + 1));
    if (!table.ok()) {
      std::fprintf(stderr, "walflow: %s\n", table.status().message().c_str());
      return kExitFailure;
    }
    if (!table->has_key()) {
      std::fprintf(stderr,
                   "walflow: table %s has no primary key or replica identity index; it cannot be "
                   "re-read while the stream runs (rows are matched by key)\n",
                   q.c_str());
      return kExitFailure;
    }
  }
  for (const std::string& q : qualified) {
    auto r = (*conn)->Query(
        "SELECT pg_logical_emit_message(true, $1, $2)",
        {walflow::runtime::kSignalPrefix, walflow::runtime::SnapshotRequest(pgc.slot, q)});
    if (!r.ok()) {
      std::fprintf(stderr, "walflow: requesting a snapshot of %s: %s\n", q.c_str(),
                   r.status().message().c_str());
      return kExitFailure;
    }
    std::printf("requested a snapshot of %s at %s; pipeline %s re-reads it while streaming\n",
                q.c_str(), r->Text(0, 0).c_str(), pgc.slot.c_str());
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "help" || command == "--help" || command == "-h") {
    PrintUsage(stdout);
    return kExitOk;
  }
  if (command == "version" || command == "--version") {
    std::printf("walflow %s\n", walflow::format::kWalflowVersion);
    return kExitOk;
  }
  if ((command == "run" || command == "check") && argc >= 3) {
    std::string config = argv[2];
    std::string log_level;
    for (int i = 3; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--log-level" && i + 1 < argc) {
        log_level = argv[++i];
      } else {
        std::fprintf(stderr, "walflow: unknown argument '%s'\n", a.c_str());
        PrintUsage(stderr);
        return kExitUsage;
      }
    }
    return command == "run" ? RunCommand(config, log_level) : CheckCommand(config);
  }
  if (command == "peek" && argc >= 4) {
    bool json = false;
    for (int i = 4; i < argc; ++i) {
      if (std::string(argv[i]) == "--json") {
        json = true;
      } else {
        std::fprintf(stderr, "walflow: unknown argument '%s'\n", argv[i]);
        return kExitUsage;
      }
    }
    return walflow::cli::PeekCommand(argv[2], argv[3], json);
  }
  if (command == "snapshot" && argc >= 3) {
    std::vector<std::string> tables;
    for (int i = 3; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--table" && i + 1 < argc) {
        tables.push_back(argv[++i]);
      } else {
        std::fprintf(stderr, "walflow: unknown argument '%s'\n", a.c_str());
        PrintUsage(stderr);
        return kExitUsage;
      }
    }
    return SnapshotCommand(argv[2], tables);
  }
  PrintUsage(stderr);
  return kExitUsage;
}
