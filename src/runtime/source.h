// A source of the pipeline graph: PostgreSQL (slot, snapshot, stream) or Kafka (topics in a
// consumer group). An attempt is Connect, then Stream into a graph the pipeline opened
// with what Connect learned, then Close with what the graph made durable. A lost
// connection ends the attempt with a retryable status and the pipeline makes a new one;
// what lives across attempts (a snapshot already served) stays in the Source.
#pragma once

#include <string>

#include "core/status.h"
#include "runtime/graph.h"

namespace walflow::runtime {

class Source {
 public:
  virtual ~Source() = default;

  // "postgres slot wf (3 tables)", for logs.
  virtual std::string Describe() const = 0;
  // Whether positions are per partition (sinks then skip by offsets).
  virtual bool partitioned() const = 0;
  // First step of an attempt: connects; returns the database name the events carry.
  virtual Result<std::string> Connect() = 0;
  // Delivers into `graph` (open, not started: Stream starts it) until the controller says
  // stop or an error; sets `*made_progress` once anything was read.
  virtual Status Stream(Graph& graph, bool* made_progress) = 0;
  // Last step of an attempt, after the graph finished: confirms what it made durable
  // (`finished` is how the attempt ended) and releases the connections.
  virtual void Close(Graph& graph, const Status& finished) = 0;
};

}  // namespace walflow::runtime
