// Runs one sink on its own thread: takes batches from a bounded queue, skips what the
// sink already holds, writes, and checkpoints at the sink's flush interval. The durable
// position it publishes is what the reader may confirm to the server.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/bounded_queue.h"
#include "runtime/source_offsets.h"
#include "sink/sink.h"

namespace walflow::runtime {

// Shortest time between two checkpoints when the queue is idle.
constexpr std::chrono::milliseconds kIdleCheckpointSpacing{50};

class SinkWorker {
 public:
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
  void Run();
  Status Handle(const ChangeBatch& batch);
  void Fail(Status s);
  void Publish(Lsn durable);

  std::unique_ptr<sink::Sink> sink_;
  BoundedQueue<ChangeBatchPtr> queue_;
  std::chrono::milliseconds flush_interval_;
  std::thread thread_;
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
