#include "runtime/pg_source.h"

#include <algorithm>

#include "core/log.h"
#include "pg/heartbeat.h"
#include "pg/replication_protocol.h"
#include "pg/setup.h"
#include "pg/text_codec.h"
#include "runtime/progress.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kApplicationName = "walflow";
// How long the reader waits for more of the stream before handing on a part-filled batch.
constexpr milliseconds kBatchLinger{5};
// How long a stop waits for the transaction in hand to end.
constexpr std::chrono::seconds kStopGrace{30};

}  // namespace

// The source's metrics, declared once here.
struct PostgresSource::Metrics {
  Gauge* received;
  Gauge* confirmed;
  Gauge* server_end;
  Gauge* lag_bytes;

  explicit Metrics(MetricsRegistry& r) {
    received =
        r.DeclareGauge("walflow_source_received_lsn", "Last WAL position received from the server.")
            .value()
            ->With({});
    confirmed = r.DeclareGauge("walflow_source_confirmed_lsn",
                               "WAL position confirmed to the server (durable in every sink).")
                    .value()
                    ->With({});
    server_end = r.DeclareGauge("walflow_source_server_wal_end_lsn",
                                "The server's end of WAL, as of its last message.")
                     .value()
                     ->With({});
    lag_bytes = r.DeclareGauge("walflow_source_lag_bytes",
                               "WAL between the server's end and what is confirmed.")
                    .value()
                    ->With({});
  }
};

// What one attempt holds: connections, the slot's starting point, the stream's state.
struct PostgresSource::Attempt {
  std::unique_ptr<pg::Connection> sql;
  std::unique_ptr<pg::Connection> repl;
  SnapshotState snapshot_state;
  std::vector<std::pair<std::string, Lsn>> sink_positions;  // an empty sink: Lsn(0)
  Lsn start;  // smallest position held by a sink that holds anything
  Lsn floor;  // smallest position over all sinks, an empty one counting as 0
  bool exported = false;
  std::string snapshot_name;
  Lsn from;
  std::string spool_dir;
  pg::StreamCaptureWriter capture;
  std::unique_ptr<pg::Heartbeat> heartbeat;
  std::unique_ptr<IncrementalSnapshot> incremental;
  std::unique_ptr<pg::SqlCatalog> catalog;
  std::unique_ptr<pg::ChangeAssembler> assembler;
  Graph* graph = nullptr;
  Lsn received;
  Lsn server_end;
  Lsn last_flush_sent;
  Clock::time_point next_status;
  Clock::time_point next_progress;
  Clock::time_point last_progress;
  uint64_t last_events = 0;
};

PostgresSource::PostgresSource(const PipelineConfig& config, Controller& controller,
                               MetricsRegistry& metrics)
    : config_(config),
      pg_(config.postgres),
      controller_(controller),
      registry_(metrics),
      metrics_(std::make_unique<Metrics>(metrics)),
      state_path_(config.data_dir + "/snapshot/" + config.postgres.slot + ".json") {
  for (const TableRef& t : pg_.tables) table_names_.insert(t.Qualified());
}

PostgresSource::~PostgresSource() = default;

std::string PostgresSource::Describe() const {
  return "postgres slot " + pg_.slot + " (publication " + pg_.publication + ", " +
         std::to_string(pg_.tables.size()) + " table(s))";
}

Result<std::string> PostgresSource::Connect() {
  run_ = std::make_unique<Attempt>();
  WF_ASSIGN_OR_RETURN(run_->sql, pg::Connection::Open(pg_.dsn.Reveal(), pg::Connection::Kind::kSql,
                                                      kApplicationName));
  if (run_->sql->server_version_num() < 140000) {
    return FailedPrecondition("PostgreSQL " + run_->sql->server_version() +
                              " is not supported: walflow needs 14 or later");
  }
  return run_->sql->database();
}

Status PostgresSource::PlanStart(const Graph& graph) {
  Attempt& a = *run_;
  bool first = true;
  for (const SinkHolding& h : graph.holdings()) {
    if (h.durable.valid() && (!a.start.valid() || h.durable < a.start)) a.start = h.durable;
    const Lsn d = h.durable.valid() ? h.durable : Lsn(0);
    if (first || d < a.floor) a.floor = d;
    first = false;
    a.sink_positions.emplace_back(h.name, d);
  }
  // Snapshot progress: chunks delivered below the slot's consistent point are positions
  // before the stream's; the stream itself starts at that point.
  WF_RETURN_IF_ERROR(storage::CreateDirectories(config_.data_dir + "/snapshot"));
  WF_ASSIGN_OR_RETURN(a.snapshot_state, SnapshotState::Load(state_path_));
  if (a.snapshot_state.consistent_point.valid() && a.start.valid() &&
      a.start < a.snapshot_state.consistent_point) {
    a.start = a.snapshot_state.consistent_point;
  }
  return Status::OK();
}

Status PostgresSource::PrepareSlot() {
  Attempt& a = *run_;
  pg::SetupSpec spec;
  spec.slot = pg_.slot;
  spec.publication = pg_.publication;
  spec.create_slot = pg_.create_slot;
  spec.create_publication = pg_.create_publication;
  for (const TableRef& t : pg_.tables)
    spec.tables.push_back({t.schema, t.name, t.location.ToString()});
  WF_RETURN_IF_ERROR(pg::CheckTablesExist(*a.sql, spec.tables));
  WF_RETURN_IF_ERROR(pg::EnsurePublication(*a.sql, spec));
  if (streamed_before_) {
    WF_ASSIGN_OR_RETURN(pg::SlotInfo held, pg::DescribeSlot(*a.sql, spec.slot));
    if (held.exists && held.active) {
      return Unavailable("replication slot " + spec.slot + " is still held by pid " +
                         held.active_pid +
                         " (walflow's previous connection, until the server notices it is gone)");
    }
  }
  WF_ASSIGN_OR_RETURN(pg::SlotInfo existing, pg::DescribeSlot(*a.sql, spec.slot));
  // A slot created now comes with an exported snapshot: the consistent initial snapshot.
  a.exported = !existing.exists && !a.start.valid() && spec.create_slot &&
               pg_.snapshot != SnapshotMode::kNever;
  if (!a.exported) {
    WF_ASSIGN_OR_RETURN(pg::SlotInfo slot, pg::EnsureSlot(*a.sql, spec, a.start));
    a.from = a.start.valid() ? a.start : slot.confirmed_flush;
    return Status::OK();
  }
  WF_ASSIGN_OR_RETURN(
      a.repl,
      pg::Connection::Open(pg_.dsn.Reveal(), pg::Connection::Kind::kReplication, kApplicationName));
  WF_ASSIGN_OR_RETURN(pg::QueryResult created,
                      a.repl->Query("CREATE_REPLICATION_SLOT " + pg::QuoteIdent(pg_.slot) +
                                    " LOGICAL pgoutput EXPORT_SNAPSHOT"));
  auto point = Lsn::Parse(created.Text(0, 1));
  if (!point) return Internal("CREATE_REPLICATION_SLOT returned no consistent point");
  a.from = *point;
  a.snapshot_name = created.Text(0, 2);
  a.snapshot_state = SnapshotState{};
  WF_LOG_INFO("pg", "created replication slot {} at {}", pg_.slot, a.from.ToString());
  return Status::OK();
}

Status PostgresSource::PrepareSpool() {
  Attempt& a = *run_;
  // Per slot: pipelines started from one folder share the default data_dir, never a slot.
  a.spool_dir = config_.data_dir + "/spool/" + pg_.slot;
  WF_RETURN_IF_ERROR(storage::CreateDirectories(a.spool_dir));
  WF_ASSIGN_OR_RETURN(auto stale, storage::ListDirectory(a.spool_dir));
  for (const auto& f : stale) WF_RETURN_IF_ERROR(storage::RemoveFile(a.spool_dir + "/" + f));
  if (!pg_.capture_file.empty()) {
    WF_RETURN_IF_ERROR(a.capture.Open(pg_.capture_file));
    WF_LOG_WARN("pg", "recording the replication stream to {}", pg_.capture_file);
  }
  return Status::OK();
}

Status PostgresSource::KeepAlive() {
  Attempt& a = *run_;
  // Until streaming starts the server needs no status updates.
  if (!a.incremental) return Status::OK();
  WF_RETURN_IF_ERROR(a.graph->Tick());
  WF_RETURN_IF_ERROR(a.incremental->error());
  if (Clock::now() >= a.next_status) return SendStatus(*a.graph, false);
  return Status::OK();
}

Status PostgresSource::RunInitialSnapshot(Graph& graph, bool* done) {
  Attempt& a = *run_;
  ExportedSnapshotOptions so;
  so.dsn = pg_.dsn;
  so.snapshot_name = a.snapshot_name;
  so.consistent_point = a.from;
  for (const TableRef& t : pg_.tables) so.tables.emplace_back(t.schema, t.name);
  so.parallelism = pg_.snapshot_parallelism;
  so.chunk_rows = pg_.snapshot_chunk_size;
  so.state_path = state_path_;
  so.progress_interval = config_.progress_interval;
  so.stop = controller_.stop_flag();
  Status s = RunExportedSnapshot(
      so,
      [&](std::shared_ptr<ChangeBatch> b) {
        return graph.Deliver(std::move(b), [this] { return KeepAlive(); });
      },
      &a.snapshot_state);
  if (s.code() == StatusCode::kCancelled) s = Status::OK();
  if (!s.ok() || controller_.stop_requested()) {
    *done = true;
    if (s.ok()) {
      WF_LOG_INFO("pipeline",
                  "stopped during the initial snapshot; the next start finishes "
                  "it (chunks durable in every sink are not read again)");
    }
    return s;
  }
  always_requested_ = true;  // `always` is served by this snapshot
  if (pg_.snapshot == SnapshotMode::kInitialOnly) {
    *done = true;
    WF_LOG_INFO("pipeline",
                "initial snapshot delivered (snapshot: initial_only); stopping. "
                "Slot {} keeps the WAL from {} for a later run",
                pg_.slot, a.from.ToString());
  }
  return Status::OK();
}

Status PostgresSource::StartStreaming() {
  Attempt& a = *run_;
  if (!a.repl) {
    WF_ASSIGN_OR_RETURN(a.repl,
                        pg::Connection::Open(pg_.dsn.Reveal(), pg::Connection::Kind::kReplication,
                                             kApplicationName));
  }
  WF_RETURN_IF_ERROR(a.repl->StartLogicalReplication(
      pg_.slot, a.from,
      {{"proto_version", std::to_string(pg::kProtoVersionStreaming)},
       {"publication_names", pg::QuoteIdent(pg_.publication)},
       {"streaming", "on"},
       {"messages", "true"}}));
  streamed_before_ = true;
  WF_LOG_INFO("pg", "streaming from slot {} at {} (publication {}, {} table(s))", pg_.slot,
              a.from.ToString(), pg_.publication, pg_.tables.size());
  a.received = a.from;
  a.server_end = a.from;
  a.heartbeat = std::make_unique<pg::Heartbeat>(pg_.dsn, pg_.heartbeat_interval, pg_.slot);
  return Status::OK();
}

Status PostgresSource::StartIncrementalSnapshots() {
  Attempt& a = *run_;
  // Snapshots while streaming: what an interrupted snapshot still owes, `always`, a
  // backfill for sinks that are all empty, and requests that arrive in the stream.
  IncrementalSnapshotOptions io;
  io.dsn = pg_.dsn;
  io.slot = pg_.slot;
  io.chunk_rows = pg_.snapshot_chunk_size;
  io.state_path = state_path_;
  io.tables = table_names_;
  const bool backfill = !a.exported && pg_.snapshot != SnapshotMode::kNever && a.floor == Lsn(0) &&
                        !a.start.valid() && a.snapshot_state.empty();
  // A sink that is empty while others hold data (added to the pipeline, or emptied) gets
  // every table while streaming; the others skip those rows.
  std::vector<std::string> holding, empty;
  for (const auto& [name, durable] : a.sink_positions) {
    (durable == Lsn(0) ? empty : holding).push_back(name);
  }
  // Only views are empty (added, or rebuilt): only the tables they read are read again.
  std::vector<std::string> fill_tables;
  bool empty_sink = false;
  for (const SinkHolding& h : a.graph->holdings()) {
    if (h.durable.valid()) continue;
    empty_sink = empty_sink || !h.is_operator;
    for (const std::string& t : h.tables) {
      if (std::find(fill_tables.begin(), fill_tables.end(), t) == fill_tables.end()) {
        fill_tables.push_back(t);
      }
    }
  }
  if (empty_sink) {
    fill_tables.clear();
    for (const TableRef& t : pg_.tables) fill_tables.push_back(t.Qualified());
  }
  const bool fill_empty_sinks = !a.exported && pg_.snapshot != SnapshotMode::kNever &&
                                !holding.empty() && !empty.empty() && a.snapshot_state.empty();
  a.incremental = std::make_unique<IncrementalSnapshot>(
      io, std::move(a.snapshot_state), a.sink_positions, a.exported ? a.from : Lsn());
  if ((pg_.snapshot == SnapshotMode::kAlways && !a.exported && !always_requested_) || backfill) {
    always_requested_ = true;
    for (const TableRef& t : pg_.tables) WF_RETURN_IF_ERROR(a.incremental->AddTable(t.Qualified()));
    WF_LOG_INFO("snapshot", "reading {} table(s) while streaming ({})", pg_.tables.size(),
                backfill ? "every sink is empty" : "snapshot: always");
  } else if (fill_empty_sinks) {
    for (const std::string& t : fill_tables) {
      WF_RETURN_IF_ERROR(a.incremental->AddTable(t, holding));
    }
    WF_LOG_INFO("snapshot",
                "{} empty while the others hold data: reading {} table(s) ({}) for them "
                "while streaming",
                fmt::join(empty, ", "), fill_tables.size(), fmt::join(fill_tables, ", "));
  }
  return a.incremental->Start();
}

Status PostgresSource::SendStatus(const Graph& graph, bool reply_requested) {
  Attempt& a = *run_;
  const Lsn flush = graph.Durable();
  WF_RETURN_IF_ERROR(a.repl->WriteCopyData(
      pg::StandbyStatusUpdate(a.received, flush, pg::NowPgMicros(), reply_requested)));
  if (flush > a.last_flush_sent) {
    WF_LOG_DEBUG("pg", "confirmed {} to the server", flush.ToString());
    a.last_flush_sent = flush;
  }
  metrics_->received->Set(double(a.received.value));
  metrics_->confirmed->Set(double(flush.value));
  metrics_->server_end->Set(double(a.server_end.value));
  metrics_->lag_bytes->Set(double(a.server_end > flush ? a.server_end.value - flush.value : 0));
  a.next_status = Clock::now() + pg_.status_interval;
  return a.incremental ? a.incremental->Prune(flush) : Status::OK();
}

// A snapshot asked for through the controller goes through the WAL like `walflow snapshot`,
// so that it is served in stream order and survives a restart.
Status PostgresSource::HandleRequests() {
  for (const Command& c : controller_.TakeRequests()) {
    if (c.kind != CommandKind::kSnapshot) continue;
    if (!table_names_.count(c.table)) {
      WF_LOG_WARN("control", "snapshot of {} refused: not a table of the pipeline", c.table);
      continue;
    }
    auto r = run_->sql->Query("SELECT pg_logical_emit_message(true, $1, $2)",
                              {kSignalPrefix, SnapshotRequest(pg_.slot, c.table)});
    if (!r.ok()) return r.status();
  }
  return Status::OK();
}

Status PostgresSource::HandleMessage(std::string_view data, bool* made_progress) {
  Attempt& a = *run_;
  pg::ReplicationMessage m;
  WF_RETURN_IF_ERROR(pg::ParseReplicationMessage(data, &m));
  if (m.wal_end > a.server_end) a.server_end = m.wal_end;
  if (m.tag == pg::ReplicationTag::kXLogData) {
    if (m.wal_start > a.received) a.received = m.wal_start;
    if (a.capture.is_open()) WF_RETURN_IF_ERROR(a.capture.Append(m.wal_start, m.payload));
    WF_RETURN_IF_ERROR(a.assembler->decoder().Consume(m.wal_start, m.payload));
    *made_progress = true;
    return Status::OK();
  }
  // A keepalive: between transactions its end is a position nothing is left before.
  if (!a.assembler->decoder().in_stream() && !a.assembler->in_transaction()) {
    if (m.wal_end > a.received) a.received = m.wal_end;
    WF_RETURN_IF_ERROR(a.assembler->AdvanceIdle(m.wal_end));
    WF_RETURN_IF_ERROR(a.assembler->Flush());
  }
  if (m.reply_requested) WF_RETURN_IF_ERROR(SendStatus(*a.graph, false));
  return Status::OK();
}

void PostgresSource::ReportProgress(const Graph& graph) {
  Attempt& a = *run_;
  const auto now = Clock::now();
  const MetricsSnapshot snap = registry_.Snapshot();
  const auto events = static_cast<uint64_t>(MaxOf(snap, "walflow_sink_events_total"));
  const auto transactions = static_cast<uint64_t>(SumOf(snap, "walflow_source_transactions_total"));
  const auto streamed =
      static_cast<uint64_t>(SumOf(snap, "walflow_source_streamed_transactions_total"));
  const double secs = std::chrono::duration<double>(now - a.last_progress).count();
  WF_LOG_INFO("progress",
              "{} events written ({:.0f}/s), {} transactions, received {}, confirmed {}, "
              "lag {}{}",
              events, (events - a.last_events) / std::max(secs, 1e-3), transactions,
              Lsn(static_cast<uint64_t>(SumOf(snap, "walflow_source_received_lsn"))).ToString(),
              Lsn(static_cast<uint64_t>(SumOf(snap, "walflow_source_confirmed_lsn"))).ToString(),
              FormatBytes(static_cast<uint64_t>(SumOf(snap, "walflow_source_lag_bytes"))),
              streamed ? fmt::format(", {} streamed", streamed) : std::string());
  a.incremental->LogProgress();
  a.last_events = events;
  a.last_progress = now;
  a.next_progress = now + config_.progress_interval;
}

Status PostgresSource::StreamLoop(Graph& graph, bool* made_progress) {
  Attempt& a = *run_;
  a.next_progress = Clock::now() + config_.progress_interval;
  a.last_progress = Clock::now();
  auto stop_deadline = Clock::time_point::max();
  bool paused_logged = false;
  while (true) {
    if (controller_.stop_requested()) {
      if (stop_deadline == Clock::time_point::max()) {
        stop_deadline = Clock::now() + kStopGrace;
        if (a.assembler->in_transaction()) {
          WF_LOG_INFO("pipeline", "stopping after the current transaction");
        }
      }
      if (!a.assembler->in_transaction() || Clock::now() > stop_deadline) break;
    }
    WF_RETURN_IF_ERROR(graph.Health());
    WF_RETURN_IF_ERROR(graph.Tick());
    WF_RETURN_IF_ERROR(a.incremental->error());
    WF_RETURN_IF_ERROR(HandleRequests());
    if (pg_.snapshot == SnapshotMode::kInitialOnly && a.incremental->finished()) {
      WF_LOG_INFO("pipeline", "snapshot delivered (snapshot: initial_only); stopping");
      break;
    }
    // Paused between transactions: read nothing (the server keeps the WAL), stay alive.
    const bool paused =
        controller_.paused() && !a.assembler->in_transaction() && !controller_.stop_requested();
    if (paused != paused_logged) {
      WF_LOG_INFO("pipeline", "{}", paused ? "paused" : "resumed");
      paused_logged = paused;
    }
    if (paused) {
      WF_RETURN_IF_ERROR(a.assembler->Flush());
      controller_.WaitForStop(milliseconds(100));
      if (Clock::now() >= a.next_status) WF_RETURN_IF_ERROR(SendStatus(graph, false));
      continue;
    }
    auto msg = a.repl->ReadCopyData(milliseconds(0));
    if (msg.ok() && !msg->has_value()) {
      // Nothing buffered. Under load more arrives within a few milliseconds: wait that
      // long before handing on a part-filled batch, so batches stay large and the sink
      // thread is woken per batch rather than per network read.
      msg = a.repl->ReadCopyData(kBatchLinger);
      if (msg.ok() && !msg->has_value()) {
        WF_RETURN_IF_ERROR(a.assembler->Flush());
        msg = a.repl->ReadCopyData(milliseconds(100));
      }
    }
    if (!msg.ok()) return msg.status();
    if (msg->has_value() && !(**msg).empty())
      WF_RETURN_IF_ERROR(HandleMessage(**msg, made_progress));
    const auto now = Clock::now();
    // Confirm as soon as a sink made more durable (at most every 20 ms), so the server can
    // recycle WAL promptly; otherwise every status interval as a keepalive.
    if (now >= a.next_status || (graph.Durable() > a.last_flush_sent &&
                                 now >= a.next_status - pg_.status_interval + milliseconds(20))) {
      WF_RETURN_IF_ERROR(SendStatus(graph, false));
    }
    if (now >= a.next_progress && config_.progress_interval.count() > 0) ReportProgress(graph);
  }
  return a.assembler->Flush();
}

Status PostgresSource::Stream(Graph& graph, bool* made_progress) {
  Attempt& a = *run_;
  a.graph = &graph;
  WF_RETURN_IF_ERROR(PlanStart(graph));
  WF_RETURN_IF_ERROR(PrepareSlot());
  WF_RETURN_IF_ERROR(PrepareSpool());
  graph.Start();
  if (a.exported) {
    *made_progress = true;
    bool done = false;
    WF_RETURN_IF_ERROR(RunInitialSnapshot(graph, &done));
    if (done) return Status::OK();
  }
  WF_RETURN_IF_ERROR(StartStreaming());
  WF_RETURN_IF_ERROR(StartIncrementalSnapshots());

  a.catalog = std::make_unique<pg::SqlCatalog>(a.sql.get());
  a.last_events = static_cast<uint64_t>(MaxOf(registry_.Snapshot(), "walflow_sink_events_total"));
  pg::AssemblerOptions aopts;
  aopts.spool_dir = a.spool_dir;
  aopts.spool_memory_limit = pg_.spool_memory_limit;
  aopts.tables = table_names_;
  aopts.metrics = &registry_;
  // What the catalog said of enum and domain types outlives them (they may be dropped
  // before their last changes are read).
  aopts.type_memory_file = config_.data_dir + "/pg-types-" + pg_.slot;
  auto deliver = [this, &graph](std::shared_ptr<ChangeBatch> b) {
    return graph.Deliver(std::move(b), [this] { return KeepAlive(); });
  };
  a.assembler = std::make_unique<pg::ChangeAssembler>(
      aopts, a.catalog.get(), [this, deliver](std::shared_ptr<ChangeBatch> batch) -> Status {
        run_->incremental->Observe(*batch);
        return deliver(std::move(batch));
      });
  a.assembler->set_message_hook([this, deliver](const pg::LogicalMessage& m, Lsn commit_lsn,
                                                Xid xid, int64_t commit_time_us) {
    return run_->incremental->OnMessage(
        m, commit_lsn, xid, commit_time_us, [this] { return run_->assembler->Flush(); }, deliver);
  });
  return StreamLoop(graph, made_progress);
}

void PostgresSource::Close(Graph& graph, const Status& finished) {
  if (!run_) return;
  Attempt& a = *run_;
  // The slot is confirmed up to what the sinks made durable while shutting down.
  if (a.repl && a.incremental && (finished.ok() || IsRetryable(finished.code()))) {
    (void)SendStatus(graph, false);
  }
  if (finished.ok()) {
    WF_LOG_INFO("pipeline", "stopped; sinks durable up to {}", graph.Durable().ToString());
  }
  // The assembler and the snapshot reader go before the connections they use.
  a.assembler.reset();
  a.incremental.reset();
  a.heartbeat.reset();
  run_.reset();
}

}  // namespace walflow::runtime
