// Runs one sink on its own thread: takes batches from a bounded queue, skips what the
// sink already holds, hands it the tables its from: selects, and checkpoints at the sink's
// flush interval (for a sink that needs transaction boundaries, only right after a
// transaction's marker). The durable position it publishes is what the source may confirm.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "runtime/bounded_queue.h"
#include "runtime/source_offsets.h"
#include "sink/sink.h"

namespace walflow::runtime {

// Shortest time between two checkpoints when the queue is idle.
constexpr std::chrono::milliseconds kIdleCheckpointSpacing{50};

struct SinkWorkerOptions {
  size_t queue_batches = 16;
  std::chrono::milliseconds flush_interval{1000};
  // Qualified names the sink receives; empty: every table.
  std::vector<std::string> from;
  bool needs_transaction_boundaries = false;
  // Fed as the worker goes (may be null).
  MetricsRegistry* metrics = nullptr;
};

class SinkWorker {
 public:
  SinkWorker(std::unique_ptr<sink::Sink> sink, SinkWorkerOptions options);
  SinkWorker(std::unique_ptr<sink::Sink> sink, size_t queue_batches,
             std::chrono::milliseconds flush_interval);
  ~SinkWorker();

  // Opens the sink (recovery) on the caller's thread; returns its durable position.
  Result<Lsn> Open();
  void Start();

  // For a partitioned source (Kafka), after Open() and before Start(): skip by the offsets
  // the sink recorded (its durable_source_state) instead of by LSN, and record, with each
  // batch written, the batch's source state raised to at least those offsets (a partition
  // the sink holds further than the batch says must not move back).
  Status UseSourceOffsets();
  // What the sink holds or has been handed so far, per partition (UseSourceOffsets): the
  // offsets recorded when it was opened, raised by every batch written or skipped since.
  SourceOffsets held_offsets() const;

  // Waits up to `timeout` for room; false if there was none (or the worker failed).
  bool Push(const ChangeBatchPtr& batch, std::chrono::milliseconds timeout);

  // Drains the queue, makes everything complete durable, closes the sink, joins.
  Status Finish();

  // Position up to which the sink's data is durable (Lsn() until known).
  Lsn durable() const { return Lsn(durable_.load()); }
  uint64_t events_written() const { return events_.load(); }
  bool failed() const { return failed_.load(); }
  Status error() const;
  const std::string& name() const { return sink_->name(); }

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  Status Handle(const ChangeBatch& batch);
  // Writes `slice`; keeps in_transaction_ (changes written since the last marker).
  Status WriteSlice(const sink::BatchSlice& slice);
  Status CheckpointNow();
  bool CheckpointDue(Clock::time_point now, bool idle) const;
  void Fail(Status s);
  void Publish(Lsn durable);

  std::unique_ptr<sink::Sink> sink_;
  SinkWorkerOptions options_;
  std::optional<sink::TableSelection> selection_;
  BoundedQueue<ChangeBatchPtr> queue_;
  std::thread thread_;
  // Worker thread only.
  bool in_transaction_ = false;
  bool dirty_ = false;
  Clock::time_point last_checkpoint_;
  Clock::time_point next_checkpoint_;
  Counter* events_metric_ = nullptr;
  Counter* checkpoints_metric_ = nullptr;
  Gauge* durable_metric_ = nullptr;
  Histogram* checkpoint_seconds_ = nullptr;
  CallbackGaugeRegistration queue_metric_;
  Lsn resume_;  // the sink holds every transaction with commit LSN below this
  bool skipping_ = true;
  bool by_offsets_ = false;
  Lsn handled_end_;  // by_offsets_: end of the last batch written or skipped
  Lsn written_end_;  // by_offsets_: end of the last batch written
  mutable std::mutex held_mu_;
  SourceOffsets held_;  // GUARDED_BY(held_mu_): written by the worker, read by the source
  std::atomic<uint64_t> durable_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex error_mu_;
  Status error_;  // GUARDED_BY(error_mu_)
  bool finished_ = false;
};

}  // namespace walflow::runtime
