#include "runtime/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "pg/change_assembler.h"
#include "pg/connection.h"
#include "pg/setup.h"
#include "pg/stream_capture.h"
#include "pg/text_codec.h"
#include "runtime/sink_worker.h"
#include "runtime/snapshot.h"
#include "sink/jsonl/jsonl_sink.h"
#include "sink/kafka/kafka_sink.h"
#include "sink/parquet/parquet_sink.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kApplicationName = "walflow";
constexpr const char* kHeartbeatPrefix = "walflow_heartbeat";
// How long the reader waits for more of the stream before handing on a part-filled batch.
constexpr milliseconds kBatchLinger{5};

int64_t NowPgMicros() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return us - pg::kPgEpochOffsetMicros;
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

uint64_t GetU64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

}  // namespace

std::unique_ptr<sink::Sink> MakeSink(const PipelineConfig& config, const SinkConfig& s,
                                     const std::string& database) {
  format::DebeziumOptions encoding;
  bool kafka_source = config.source_type == SourceType::kKafka;
  encoding.server_name = kafka_source ? config.kafka.server_name : config.postgres.server_name;
  encoding.database = database;
  encoding.decimal_handling = s.decimal_handling;
  encoding.schemas = s.schemas;
  encoding.transaction_metadata = s.transaction_metadata;
  encoding.unavailable_value_placeholder = config.postgres.unavailable_value_placeholder;
  if (s.type == "kafka") {
    sink::KafkaSinkOptions o;
    o.name = s.name;
    o.brokers = s.brokers;
    o.topic_prefix = s.topic_prefix.empty() ? encoding.server_name : s.topic_prefix;
    o.exactly_once = s.exactly_once;
    o.transactional_id = s.transactional_id;
    o.tombstones = s.tombstones;
    o.topic_partitions = s.topic_partitions;
    o.topic_replication_factor = s.topic_replication_factor;
    o.offsets_topic = s.offsets_topic;
    o.properties = s.properties;
    o.timeout = s.timeout;
    o.encoding = std::move(encoding);
    return std::make_unique<sink::KafkaSink>(std::move(o));
  }
  if (s.type == "parquet") return std::make_unique<sink::ParquetSink>(ParquetSinkOptionsFor(s));
  sink::JsonlSinkOptions o;
  o.name = s.name;
  o.path = s.path;
  o.max_file_size = s.max_file_size;
  o.encoding = std::move(encoding);
  return std::make_unique<sink::JsonlSink>(std::move(o));
}

sink::ParquetSinkOptions ParquetSinkOptionsFor(const SinkConfig& s) {
  sink::ParquetSinkOptions o;
  o.name = s.name;
  o.path = s.path;
  o.s3 = s.s3;
  o.compression = s.compression;
  o.max_file_size = s.max_file_size;
  o.max_file_age = s.max_file_age;
  o.row_group_size = s.row_group_size;
  o.partition_by_commit_date = s.partition_by_commit_date;
  return o;
}

std::string SinkDescription(const SinkConfig& s) {
  if (s.type == "parquet") {
    std::string d = "parquet " + s.path + " (" + format::parquet::CompressionName(s.compression);
    if (!s.s3.endpoint.empty()) d += ", endpoint " + s.s3.endpoint;
    return d + ")";
  }
  if (s.type == "kafka") {
    return "kafka " + s.brokers + (s.exactly_once ? " (exactly once)" : "");
  }
  return s.type + " " + s.path;
}

namespace {

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GB", n / double(1ull << 30));
  else if (n >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MB", n / double(1ull << 20));
  else if (n >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f kB", n / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  return buf;
}

// Emits a non-transactional logical message now and then, so that the slot can advance
// while the captured tables are idle but the rest of the server writes WAL.
class Heartbeat {
 public:
  Heartbeat(std::string dsn, milliseconds interval, std::string slot)
      : dsn_(std::move(dsn)), interval_(interval), slot_(std::move(slot)) {
    if (interval_.count() > 0) thread_ = std::thread([this] { Run(); });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_ptr<pg::Connection> conn;
    bool warned = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [&] { return stop_; })) {
      lock.unlock();
      if (!conn) {
        auto c = pg::Connection::Open(dsn_, pg::Connection::Kind::kSql, "walflow-heartbeat");
        if (c.ok()) conn = std::move(c).value();
      }
      if (conn) {
        Status s =
            conn->Query("SELECT pg_logical_emit_message(false, $1, $2)", {kHeartbeatPrefix, slot_})
                .status();
        if (!s.ok()) {
          if (!warned) WF_LOG_WARN("pg", "heartbeat failed (will retry): {}", s.message());
          warned = true;
          conn.reset();
        }
      }
      lock.lock();
    }
  }

  std::string dsn_;
  milliseconds interval_;
  std::string slot_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace

Pipeline::Pipeline(PipelineConfig config) : config_(std::move(config)) {}

Status RunWithRetries(const std::atomic<bool>& stop,
                      const std::function<Status(bool* made_progress)>& once) {
  milliseconds backoff(500);
  while (true) {
    bool progress = false;
    auto started = Clock::now();
    Status s = once(&progress);
    if (s.ok() || stop.load()) return s.code() == StatusCode::kCancelled ? Status::OK() : s;
    if (!IsRetryable(s.code())) return s;
    if (progress || Clock::now() - started > std::chrono::seconds(60)) backoff = milliseconds(500);
    WF_LOG_WARN("pipeline", "{}; retrying in {} ms", s.message(), backoff.count());
    auto until = Clock::now() + backoff;
    while (Clock::now() < until && !stop.load()) std::this_thread::sleep_for(milliseconds(50));
    if (stop.load()) return Status::OK();
    backoff = std::min(backoff * 2, milliseconds(30000));
  }
}

Status Pipeline::Run() {
  return RunWithRetries(stop_, [this](bool* progress) { return RunOnce(progress); });
}

Status Pipeline::RunOnce(bool* made_progress) {
  const PostgresSourceConfig& pgc = config_.postgres;

  // Catalog and setup connection.
  WF_ASSIGN_OR_RETURN(auto sql,
                      pg::Connection::Open(pgc.dsn, pg::Connection::Kind::kSql, kApplicationName));
  if (sql->server_version_num() < 140000) {
    return FailedPrecondition("PostgreSQL " + sql->server_version() +
                              " is not supported: walflow needs 14 or later");
  }

  // Sinks first: their durable positions decide where the stream starts.
  std::vector<std::unique_ptr<SinkWorker>> workers;
  Lsn start;  // smallest position held by a sink that holds anything
  Lsn floor;  // smallest position over all sinks, an empty one counting as 0
  std::vector<std::pair<std::string, Lsn>> sink_positions;
  for (const SinkConfig& s : config_.sinks) {
    auto w = std::make_unique<SinkWorker>(MakeSink(config_, s, sql->database()),
                                          config_.queue_batches, s.flush_interval);
    WF_ASSIGN_OR_RETURN(Lsn durable, w->Open());
    WF_LOG_INFO("sink", "sink {} ({}): {}", s.name, SinkDescription(s),
                durable.valid() ? "holds changes up to " + durable.ToString() : "empty");
    if (durable.valid() && (!start.valid() || durable < start)) start = durable;
    Lsn d = durable.valid() ? durable : Lsn(0);
    if (workers.empty() || d < floor) floor = d;
    sink_positions.emplace_back(s.name, d);
    workers.push_back(std::move(w));
  }

  // Snapshot progress: chunks delivered below the slot's consistent point are positions
  // before the stream's; the stream itself starts at that point.
  const std::string snapshot_dir = config_.data_dir + "/snapshot";
  WF_RETURN_IF_ERROR(storage::CreateDirectories(snapshot_dir));
  const std::string state_path = snapshot_dir + "/" + pgc.slot + ".json";
  WF_ASSIGN_OR_RETURN(SnapshotState snapshot_state, SnapshotState::Load(state_path));
  if (snapshot_state.consistent_point.valid() && start.valid() &&
      start < snapshot_state.consistent_point) {
    start = snapshot_state.consistent_point;
  }

  pg::SetupSpec spec;
  spec.slot = pgc.slot;
  spec.publication = pgc.publication;
  spec.create_slot = pgc.create_slot;
  spec.create_publication = pgc.create_publication;
  std::unordered_set<std::string> table_names;
  for (const TableRef& t : pgc.tables) {
    spec.tables.push_back({t.schema, t.name, t.location.ToString()});
    table_names.insert(t.Qualified());
  }
  WF_RETURN_IF_ERROR(pg::CheckTablesExist(*sql, spec.tables));
  WF_RETURN_IF_ERROR(pg::EnsurePublication(*sql, spec));
  if (streamed_before_) {
    WF_ASSIGN_OR_RETURN(pg::SlotInfo held, pg::DescribeSlot(*sql, spec.slot));
    if (held.exists && held.active) {
      return Unavailable("replication slot " + spec.slot + " is still held by pid " +
                         held.active_pid +
                         " (walflow's previous connection, until the server notices it is gone)");
    }
  }
  WF_ASSIGN_OR_RETURN(pg::SlotInfo existing, pg::DescribeSlot(*sql, spec.slot));
  // A slot created now comes with an exported snapshot: the consistent initial snapshot.
  const bool exported = !existing.exists && !start.valid() && spec.create_slot &&
                        pgc.snapshot != SnapshotMode::kNever;
  std::unique_ptr<pg::Connection> repl;
  std::string snapshot_name;
  Lsn from;
  if (exported) {
    WF_ASSIGN_OR_RETURN(
        repl, pg::Connection::Open(pgc.dsn, pg::Connection::Kind::kReplication, kApplicationName));
    WF_ASSIGN_OR_RETURN(pg::QueryResult created,
                        repl->Query("CREATE_REPLICATION_SLOT " + pg::QuoteIdent(pgc.slot) +
                                    " LOGICAL pgoutput EXPORT_SNAPSHOT"));
    auto point = Lsn::Parse(created.Text(0, 1));
    if (!point) return Internal("CREATE_REPLICATION_SLOT returned no consistent point");
    from = *point;
    snapshot_name = created.Text(0, 2);
    snapshot_state = SnapshotState{};
    WF_LOG_INFO("pg", "created replication slot {} at {}", pgc.slot, from.ToString());
  } else {
    WF_ASSIGN_OR_RETURN(pg::SlotInfo slot, pg::EnsureSlot(*sql, spec, start));
    from = start.valid() ? start : slot.confirmed_flush;
  }

  // Per slot: pipelines started from one folder share the default data_dir, never a slot.
  std::string spool_dir = config_.data_dir + "/spool/" + pgc.slot;
  WF_RETURN_IF_ERROR(storage::CreateDirectories(spool_dir));
  WF_ASSIGN_OR_RETURN(auto stale, storage::ListDirectory(spool_dir));
  for (const auto& f : stale) WF_RETURN_IF_ERROR(storage::RemoveFile(spool_dir + "/" + f));

  pg::StreamCaptureWriter capture;
  if (!pgc.capture_file.empty()) {
    WF_RETURN_IF_ERROR(capture.Open(pgc.capture_file));
    WF_LOG_WARN("pg", "recording the replication stream to {}", pgc.capture_file);
  }

  auto worker_error = [&]() -> Status {
    for (auto& w : workers) {
      if (w->failed()) return w->error();
    }
    return Status::OK();
  };
  // Until streaming starts the server needs no status updates.
  std::function<Status()> keepalive = [] { return Status::OK(); };
  auto push_all = [&](ChangeBatchPtr shared) -> Status {
    for (auto& w : workers) {
      while (!w->Push(shared, milliseconds(100))) {
        WF_RETURN_IF_ERROR(worker_error());
        WF_RETURN_IF_ERROR(keepalive());
      }
    }
    return Status::OK();
  };
  auto stop_all = [&](Status cause) -> Status {
    Status first = cause;
    for (auto& w : workers) {
      Status s = w->Finish();
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  };
  for (auto& w : workers) w->Start();

  if (exported) {
    ExportedSnapshotOptions so;
    so.dsn = pgc.dsn;
    so.snapshot_name = snapshot_name;
    so.consistent_point = from;
    for (const TableRef& t : pgc.tables) so.tables.emplace_back(t.schema, t.name);
    so.parallelism = pgc.snapshot_parallelism;
    so.chunk_rows = pgc.snapshot_chunk_size;
    so.state_path = state_path;
    so.progress_interval = config_.progress_interval;
    so.stop = &stop_;
    Status s = RunExportedSnapshot(
        so, [&](std::shared_ptr<ChangeBatch> b) { return push_all(std::move(b)); },
        &snapshot_state);
    *made_progress = true;
    if (s.code() == StatusCode::kCancelled) s = Status::OK();
    if (!s.ok() || stop_.load()) {
      Status stopped = stop_all(s);
      if (stopped.ok()) {
        WF_LOG_INFO("pipeline",
                    "stopped during the initial snapshot; the next start finishes "
                    "it (chunks durable in every sink are not read again)");
      }
      return stopped;
    }
    always_requested_ = true;  // `always` is served by this snapshot
    if (pgc.snapshot == SnapshotMode::kInitialOnly) {
      WF_RETURN_IF_ERROR(stop_all(Status::OK()));
      WF_LOG_INFO("pipeline",
                  "initial snapshot delivered (snapshot: initial_only); stopping. "
                  "Slot {} keeps the WAL from {} for a later run",
                  pgc.slot, from.ToString());
      return Status::OK();
    }
  }

  if (!repl) {
    WF_ASSIGN_OR_RETURN(
        repl, pg::Connection::Open(pgc.dsn, pg::Connection::Kind::kReplication, kApplicationName));
  }
  WF_RETURN_IF_ERROR(
      repl->StartLogicalReplication(pgc.slot, from,
                                    {{"proto_version", std::to_string(pg::kProtoVersionStreaming)},
                                     {"publication_names", pg::QuoteIdent(pgc.publication)},
                                     {"streaming", "on"},
                                     {"messages", "true"}}));
  streamed_before_ = true;
  WF_LOG_INFO("pg", "streaming from slot {} at {} (publication {}, {} table(s))", pgc.slot,
              from.ToString(), pgc.publication, pgc.tables.size());

  Heartbeat heartbeat(pgc.dsn, pgc.heartbeat_interval, pgc.slot);

  // Snapshots while streaming: what an interrupted snapshot still owes, `always`, a
  // backfill for sinks that are all empty, and requests that arrive in the stream.
  IncrementalSnapshotOptions io;
  io.dsn = pgc.dsn;
  io.slot = pgc.slot;
  io.chunk_rows = pgc.snapshot_chunk_size;
  io.state_path = state_path;
  io.tables = table_names;
  const bool backfill = !exported && pgc.snapshot != SnapshotMode::kNever && floor == Lsn(0) &&
                        !start.valid() && snapshot_state.empty();
  // A sink that is empty while others hold data (added to the pipeline, or emptied) gets
  // every table while streaming; the others skip those rows.
  std::vector<std::string> holding, empty;
  for (const auto& [name, durable] : sink_positions) {
    (durable == Lsn(0) ? empty : holding).push_back(name);
  }
  const bool fill_empty_sinks = !exported && pgc.snapshot != SnapshotMode::kNever &&
                                !holding.empty() && !empty.empty() && snapshot_state.empty();
  IncrementalSnapshot incremental(io, std::move(snapshot_state), sink_positions,
                                  exported ? from : Lsn());
  if ((pgc.snapshot == SnapshotMode::kAlways && !exported && !always_requested_) || backfill) {
    always_requested_ = true;
    for (const TableRef& t : pgc.tables) WF_RETURN_IF_ERROR(incremental.AddTable(t.Qualified()));
    WF_LOG_INFO("snapshot", "reading {} table(s) while streaming ({})", pgc.tables.size(),
                backfill ? "every sink is empty" : "snapshot: always");
  } else if (fill_empty_sinks) {
    for (const TableRef& t : pgc.tables) {
      WF_RETURN_IF_ERROR(incremental.AddTable(t.Qualified(), holding));
    }
    WF_LOG_INFO("snapshot",
                "sink(s) {} empty while the others hold data: reading {} table(s) "
                "for them while streaming",
                fmt::join(empty, ", "), pgc.tables.size());
  }
  WF_RETURN_IF_ERROR(incremental.Start());

  pg::SqlCatalog catalog(sql.get());
  Lsn received = from;
  Lsn server_end = from;
  Lsn last_flush_sent;
  auto next_status = Clock::now();

  auto confirmed = [&]() {
    Lsn m;
    bool first = true;
    for (auto& w : workers) {
      Lsn d = w->durable();
      if (first || d < m) m = d;
      first = false;
    }
    return m;
  };
  auto send_status = [&](bool reply_requested) -> Status {
    Lsn flush = confirmed();
    std::string msg = "r";
    PutU64(&msg, received.value);
    PutU64(&msg, flush.value);
    PutU64(&msg, flush.value);
    PutU64(&msg, static_cast<uint64_t>(NowPgMicros()));
    msg.push_back(reply_requested ? 1 : 0);
    WF_RETURN_IF_ERROR(repl->WriteCopyData(msg));
    if (flush > last_flush_sent) {
      WF_LOG_DEBUG("pg", "confirmed {} to the server", flush.ToString());
      last_flush_sent = flush;
    }
    next_status = Clock::now() + pgc.status_interval;
    return incremental.Prune(flush);
  };
  keepalive = [&]() -> Status {
    WF_RETURN_IF_ERROR(incremental.error());
    if (Clock::now() >= next_status) return send_status(false);
    return Status::OK();
  };

  pg::AssemblerOptions aopts;
  aopts.spool_dir = spool_dir;
  aopts.spool_memory_limit = pgc.spool_memory_limit;
  aopts.tables = table_names;
  pg::ChangeAssembler assembler(aopts, &catalog, [&](std::shared_ptr<ChangeBatch> batch) -> Status {
    incremental.Observe(*batch);
    return push_all(std::move(batch));
  });
  assembler.set_message_hook(
      [&](const pg::LogicalMessage& m, Lsn commit_lsn, Xid xid, int64_t commit_time_us) {
        return incremental.OnMessage(
            m, commit_lsn, xid, commit_time_us, [&] { return assembler.Flush(); },
            [&](std::shared_ptr<ChangeBatch> b) { return push_all(std::move(b)); });
      });

  auto finish = [&](Status cause) -> Status {
    Status first = stop_all(cause);
    if (first.ok() || IsRetryable(first.code())) (void)send_status(false);
    return first;
  };

  // Progress reporting.
  auto next_progress = Clock::now() + config_.progress_interval;
  uint64_t last_events = 0;
  auto last_progress = Clock::now();

  Status result;
  auto stop_deadline = Clock::time_point::max();
  while (true) {
    if (stop_.load()) {
      if (stop_deadline == Clock::time_point::max()) {
        stop_deadline = Clock::now() + std::chrono::seconds(30);
        if (assembler.in_transaction()) {
          WF_LOG_INFO("pipeline", "stopping after the current transaction");
        }
      }
      if (!assembler.in_transaction() || Clock::now() > stop_deadline) break;
    }
    Status s = worker_error();
    if (s.ok()) s = incremental.error();
    if (!s.ok()) {
      result = s;
      break;
    }
    if (pgc.snapshot == SnapshotMode::kInitialOnly && incremental.finished()) {
      WF_LOG_INFO("pipeline", "snapshot delivered (snapshot: initial_only); stopping");
      break;
    }
    auto msg = repl->ReadCopyData(milliseconds(0));
    if (msg.ok() && !msg->has_value()) {
      // Nothing buffered. Under load more arrives within a few milliseconds: wait that
      // long before handing on a part-filled batch, so batches stay large and the sink
      // thread is woken per batch rather than per network read.
      msg = repl->ReadCopyData(kBatchLinger);
      if (msg.ok() && !msg->has_value()) {
        s = assembler.Flush();
        if (!s.ok()) {
          result = s;
          break;
        }
        msg = repl->ReadCopyData(milliseconds(100));
      }
    }
    if (!msg.ok()) {
      result = msg.status();
      break;
    }
    if (msg->has_value()) {
      std::string_view data = **msg;
      if (data.empty()) continue;
      if (data[0] == 'w' && data.size() >= 25) {
        Lsn wal_start(GetU64(data, 1));
        Lsn wal_end(GetU64(data, 9));
        if (wal_end > server_end) server_end = wal_end;
        if (wal_start > received) received = wal_start;
        if (capture.is_open()) s = capture.Append(wal_start, data.substr(25));
        if (s.ok()) s = assembler.decoder().Consume(wal_start, data.substr(25));
        if (!s.ok()) {
          result = s;
          break;
        }
        *made_progress = true;
      } else if (data[0] == 'k' && data.size() >= 18) {
        Lsn wal_end(GetU64(data, 1));
        bool reply = data[17] != 0;
        if (wal_end > server_end) server_end = wal_end;
        if (!assembler.decoder().in_stream() && !assembler.in_transaction()) {
          if (wal_end > received) received = wal_end;
          s = assembler.AdvanceIdle(wal_end);
          if (s.ok()) s = assembler.Flush();
          if (!s.ok()) {
            result = s;
            break;
          }
        }
        if (reply) {
          s = send_status(false);
          if (!s.ok()) {
            result = s;
            break;
          }
        }
      } else {
        result = DataLoss("unexpected replication message type '" + std::string(1, data[0]) + "'");
        break;
      }
    }
    auto now = Clock::now();
    // Confirm as soon as a sink made more durable (at most every 20 ms), so the server can
    // recycle WAL promptly; otherwise every status interval as a keepalive.
    if (now >= next_status || (confirmed() > last_flush_sent &&
                               now >= next_status - pgc.status_interval + milliseconds(20))) {
      s = send_status(false);
      if (!s.ok()) {
        result = s;
        break;
      }
    }
    if (now >= next_progress && config_.progress_interval.count() > 0) {
      uint64_t events = 0;
      for (auto& w : workers) events = std::max(events, w->events_written());
      double secs = std::chrono::duration<double>(now - last_progress).count();
      Lsn conf = confirmed();
      const auto& st = assembler.stats();
      WF_LOG_INFO("progress",
                  "{} events written ({:.0f}/s), {} transactions, received {}, confirmed {}, "
                  "lag {}{}",
                  events, (events - last_events) / std::max(secs, 1e-3), st.transactions,
                  received.ToString(), conf.ToString(),
                  Bytes(server_end > conf ? server_end.value - conf.value : 0),
                  st.streamed_transactions ? fmt::format(", {} streamed", st.streamed_transactions)
                                           : std::string());
      incremental.LogProgress();
      last_events = events;
      last_progress = now;
      next_progress = now + config_.progress_interval;
    }
  }
  if (result.ok()) {
    Status s = assembler.Flush();
    if (!s.ok()) result = s;
  }
  Status finished = finish(result);
  if (finished.ok()) {
    WF_LOG_INFO("pipeline", "stopped; sinks durable up to {}", confirmed().ToString());
  }
  return finished;
}

}  // namespace walflow::runtime
