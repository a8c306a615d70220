// Snapshots: the rows tables held before the stream, delivered as op "r" events.
//
// Two methods, one state file:
//  * Exported snapshot (a slot created now): the slot's exported snapshot is imported by
//    `snapshot_parallelism` connections that COPY primary-key (or ctid) chunks in
//    parallel. Chunks are delivered in plan order at positions just below the slot's
//    consistent point, so sinks record them like transactions and the stream continues
//    at the consistent point with nothing missing or doubled.
//  * Watermarks (DBLog-style), while the stream runs: for each chunk a low watermark
//    message, a SELECT of the chunk, a high watermark message. Rows whose key changed
//    between the watermarks are dropped from the chunk (the stream carries them); the
//    rest are delivered at the high watermark's position. Used to resume a snapshot
//    whose exported snapshot died with the process, for `snapshot: always`, and for a
//    re-snapshot of one table on request.
//
// The state file (data_dir/snapshot/<slot>.json, replaced atomically) lists chunks not
// yet durable in every sink, with the position of their latest delivery and the sinks
// known to hold them. At each start a sink beyond that position is added to the holders;
// a chunk some sink lacks is delivered again (while streaming) to the others only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/change.h"
#include "core/secret.h"
#include "core/status.h"
#include "pg/pgoutput.h"
#include "pg/table_reader.h"

namespace walflow::runtime {

// Logical message prefixes walflow writes into the WAL.
inline constexpr const char* kWatermarkPrefix = "walflow_snapshot";
inline constexpr const char* kSignalPrefix = "walflow_signal";

// The content of a kSignalPrefix message asking pipeline `slot` to re-read `table`.
std::string SnapshotRequest(const std::string& slot, const std::string& table);

struct SnapshotChunk {
  std::string table;  // schema.table
  pg::ChunkBounds bounds;
  // Commit position of its latest delivery; invalid while it waits to be delivered
  // (again). Every sink beyond it holds the chunk.
  Lsn last_position;
  // Sinks known to hold it from an earlier delivery: a delivery again skips them.
  std::vector<std::string> held_by;
  bool needs_delivery = false;  // not persisted: some sink lacks it (decided at start)
  uint64_t serial = 0;          // not persisted: names the chunk while the state changes
};

// A table being re-read chunk by chunk in key order while the stream runs.
struct TableJob {
  std::string table;
  std::optional<pg::KeyValues> after;  // the last key delivered; none: from the start
  std::vector<std::string> held_by;    // sinks that do not need it (a backfill of others)
};

struct SnapshotState {
  Lsn consistent_point;  // of the exported snapshot, if one was taken
  std::vector<SnapshotChunk> chunks;
  std::vector<TableJob> jobs;

  bool empty() const { return chunks.empty() && jobs.empty(); }

  // A missing file is an empty state; a damaged one is an error naming the file.
  static Result<SnapshotState> Load(const std::string& path);
  // Replaces the file atomically (removes it when the state is empty).
  Status Save(const std::string& path) const;
};

// Hands a finished batch to every sink (blocking while their queues are full).
using DeliverFn = std::function<Status(std::shared_ptr<ChangeBatch>)>;

struct ExportedSnapshotOptions {
  Secret dsn;
  std::string snapshot_name;  // from CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT
  Lsn consistent_point;
  std::vector<std::pair<std::string, std::string>> tables;  // schema, name
  int parallelism = 1;
  uint64_t chunk_rows = 50000;
  std::string state_path;
  std::chrono::milliseconds progress_interval{10000};
  const std::atomic<bool>* stop = nullptr;
  // Bytes of rows read and not yet delivered, over all readers (a chunk is handed on in
  // batches as it is read; a reader ahead of delivery waits at its share). A chunk still
  // becomes done only once all of its rows are durable.
  uint64_t max_bytes_held = 256ull << 20;
};

// Plans the chunks, records them in the state file, reads them with `parallelism`
// connections and delivers them in plan order. Returns kCancelled when stopped between
// chunks (what was delivered stays recorded).
Status RunExportedSnapshot(const ExportedSnapshotOptions& options, const DeliverFn& deliver,
                           SnapshotState* state);

struct IncrementalSnapshotOptions {
  Secret dsn;
  std::string slot;
  uint64_t chunk_rows = 4096;
  std::string state_path;
  std::unordered_set<std::string> tables;  // the pipeline's tables, schema.table
  std::chrono::milliseconds progress_interval{10000};
  // Keys the stream changes while a chunk is still being read are remembered up to this
  // many bytes; past it the chunk is read again. Once it is read, only the keys of its own
  // rows are remembered.
  uint64_t max_pending_key_bytes = 64ull << 20;
};

// The watermark method. Its reader thread reads chunks; the pipeline's stream thread
// calls Observe() for every batch it delivers and OnMessage() for every transactional
// logical message, in stream order.
class IncrementalSnapshot {
 public:
  // `sinks`: each sink's name and durable position when it opened (an empty sink: 0).
  // Chunks below `delivered_before` were delivered to every sink since (by the exported
  // snapshot) and are only waiting to become durable.
  IncrementalSnapshot(IncrementalSnapshotOptions options, SnapshotState state,
                      const std::vector<std::pair<std::string, Lsn>>& sinks, Lsn delivered_before);
  ~IncrementalSnapshot();
  IncrementalSnapshot(const IncrementalSnapshot&) = delete;
  IncrementalSnapshot& operator=(const IncrementalSnapshot&) = delete;

  // Queues a re-read of every row of `table` (schema.table) and persists the request;
  // the sinks in `held_by` skip its rows (a backfill of the other sinks).
  Status AddTable(const std::string& table, std::vector<std::string> held_by = {});
  // Records which chunks are delivered again (their earlier delivery no longer counts
  // towards being done) and starts the reader thread.
  Status Start();

  // Stream thread. Collects the keys changed inside an open watermark window.
  void Observe(const ChangeBatch& batch);
  // Stream thread, at a transactional message of transaction (commit_lsn, xid). At a
  // high watermark it calls `flush` (hand on everything decoded so far), then delivers
  // the chunk's remaining rows.
  Status OnMessage(const pg::LogicalMessage& m, Lsn commit_lsn, Xid xid, int64_t commit_time_us,
                   const std::function<Status()>& flush, const DeliverFn& deliver);
  // Stream thread: every sink is durable up to `floor`; chunks every sink holds are
  // dropped from the state file.
  Status Prune(Lsn floor);

  // No chunk or table left to deliver.
  bool finished() const;
  // An error of the reader thread (the pipeline stops with it).
  Status error() const;
  void LogProgress();

 private:
  struct Window;
  void Run();
  Status ReadOne();
  Status Emit(std::string_view kind, uint64_t id);

  const IncrementalSnapshotOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  SnapshotState state_;             // GUARDED_BY(mu_)
  std::unique_ptr<Window> window_;  // GUARDED_BY(mu_): the chunk in flight
  Status error_;                    // GUARDED_BY(mu_)
  bool stop_ = false;               // GUARDED_BY(mu_)
  std::unordered_map<std::string, uint64_t> rows_delivered_;  // GUARDED_BY(mu_)
  uint64_t chunks_delivered_ = 0;                             // GUARDED_BY(mu_)
  uint64_t nonce_;
  uint64_t windows_opened_ = 0;  // reader thread only
  uint64_t next_serial_ = 1;     // GUARDED_BY(mu_)
  bool state_changed_ = false;   // by the constructor, not yet saved
  std::thread thread_;
  std::unique_ptr<class pg::Connection> conn_;  // reader thread only
};

}  // namespace walflow::runtime
