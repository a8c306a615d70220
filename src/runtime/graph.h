// The pipeline graph: source → operators → router → sinks, and the coordinator that says
// how far the source may be confirmed. Both sources (PostgreSQL, Kafka) deliver through
// one Graph: it opens the sinks (each recovers what it holds), runs one worker thread per
// sink behind a bounded queue, hands every batch to the operators and then to every sink
// (each sink takes only the tables its from: selects; nothing is copied), and reports the
// smallest position that every sink and every stateful operator has made durable.
//
// Threads: with operators, they run on a thread of their own behind a bounded queue of
// config.queue_batches, so decoding the stream and maintaining the views overlap. That
// thread applies the operators to each batch in stream order, hands the result to the
// sinks and ticks the operators (after every batch and every 25 ms while idle). An
// operator's error stops it: nothing after it reaches a sink, and Health(), the next
// Deliver() and Finish() report it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/change.h"
#include "core/metrics.h"
#include "core/status.h"
#include "runtime/bounded_queue.h"
#include "runtime/config.h"
#include "runtime/operator.h"
#include "runtime/sink_worker.h"
#include "sink/registry.h"

namespace walflow::runtime {

// What one sink holds when the graph opens.
// (Stateful operators are listed too, under their holding_name(), with the tables they read.)
struct SinkHolding {
  std::string name;
  Lsn durable;            // Lsn() when it holds nothing
  SourceOffsets offsets;  // partitioned sources: the next offset of each partition it holds
  bool is_operator = false;
  std::vector<std::string> tables;  // operators: the source tables they read
};

struct GraphOptions {
  sink::SinkContext sink_context;
  // A partitioned source (Kafka): sinks skip what they hold by partition offsets.
  bool partitioned_source = false;
  MetricsRegistry* metrics = nullptr;
};

class Graph {
 public:
  // Opens every sink of `config` (recovery runs here, on the caller's thread).
  static Result<std::unique_ptr<Graph>> Open(const PipelineConfig& config, GraphOptions options,
                                             std::vector<std::unique_ptr<Operator>> operators = {});
  ~Graph();

  const std::vector<SinkHolding>& holdings() const { return holdings_; }
  // Starts the sink threads and the operators' thread.
  void Start();

  // Hands `batch` to the operators and every sink. While a queue is full it calls
  // `while_full` every 100 ms (keepalives, stop checks); an error from it, a failed sink or
  // a failed operator ends the wait with that error.
  Status Deliver(const ChangeBatchPtr& batch, const std::function<Status()>& while_full);

  // Reports Health(); the operators' thread ticks them itself (call it every ~100 ms).
  Status Tick();

  // The first failure of a sink or an operator, or OK.
  Status Health() const;
  // The coordinator: every transaction ending at or below this is durable in every sink
  // and every stateful operator.
  Lsn Durable() const;
  // The smallest position every sink is durable up to (operators left out).
  Lsn SinksDurable() const;
  // Waits until Durable() >= target; false on timeout or a failed sink.
  bool WaitDurable(Lsn target, std::chrono::milliseconds timeout) const;
  // What each sink holds or has been handed per partition (partitioned sources).
  std::vector<SourceOffsets> HeldOffsets() const;
  // Change events written by the sink that wrote the most.
  uint64_t events_written() const;

  // Drains the queues, makes everything complete durable, closes sinks and operators.
  // Returns `cause` if it is an error, else the first error of the shutdown. Idempotent.
  Status Finish(Status cause);

 private:
  Graph() = default;
  // The operators' thread: applies them to each queued batch and hands on the result.
  void RunOperators();
  Status ApplyOperators(const ChangeBatchPtr& batch);
  Status TickOperators();
  // Hands `b` to every sink, waiting while a queue is full (`while_full` each 100 ms).
  Status PushToSinks(const ChangeBatchPtr& b, const std::function<Status()>& while_full);
  Status OperatorError() const;

  std::vector<std::unique_ptr<Operator>> operators_;
  std::unique_ptr<BoundedQueue<ChangeBatchPtr>> operator_queue_;
  std::thread operator_thread_;
  std::atomic<bool> operators_failed_{false};
  std::atomic<bool> finishing_{false};  // Finish() began: Deliver() takes nothing more
  mutable std::mutex operator_error_mu_;
  Status operator_error_;
  std::vector<std::unique_ptr<SinkWorker>> workers_;
  std::vector<SinkHolding> holdings_;
  std::atomic<bool> finished_{false};
  Status finish_status_;
};

}  // namespace walflow::runtime
