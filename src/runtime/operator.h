// An operator of the pipeline graph: it sits between the source and the router and turns
// each batch of changes into a batch of its own output (the SQL views build on it). It
// runs on the graph's thread, batches in stream order. A stateful operator keeps its state
// durable up to a position; the coordinator confirms the source only up to the smallest
// such position of all operators and sinks.
#pragma once

#include <string>
#include <vector>

#include "core/change.h"
#include "core/status.h"

namespace walflow::runtime {

class Operator {
 public:
  virtual ~Operator() = default;

  virtual const std::string& name() const = 0;
  // The name under which snapshot chunks record that it holds them (SnapshotChunk::held_by),
  // distinct from every sink's name.
  virtual std::string holding_name() const { return "operator:" + name(); }
  // The source tables it would need read again while it is empty (a backfill).
  virtual std::vector<std::string> input_tables() const { return {}; }
  // Recovers the state; returns the position it reflects (Lsn() when it holds nothing).
  // `sinks_hold`: the furthest position any sink holds. An operator that starts empty
  // ignores the stream up to there (a sink would skip what it derives from it) and gets
  // what came before from a snapshot instead.
  virtual Result<Lsn> Open(Lsn sinks_hold) = 0;
  // Appends to `out` the batches to hand on in place of `input`, in order: `input` itself
  // when the operator adds nothing to it, else copies with the operator's output inside
  // the transactions that caused it. Batches the operator's state already reflects (at or
  // below the position Open() returned) are not applied again.
  virtual Status Apply(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out) = 0;
  // Whether durable() matters: a stateless operator holds nothing to lose.
  virtual bool stateful() const = 0;
  // Position up to which the operator's state is durable. Any thread.
  virtual Lsn durable() const = 0;
  // Called after every batch and periodically while the stream is idle, on the graph's
  // thread: commits state that is due. `sinks_durable`: every sink is durable up to it
  // (output kept for slower sinks can go). `idle`: no batch is waiting, so state committed
  // now is confirmed soon (an operator commits sooner then, as sinks checkpoint).
  virtual Status Tick(Lsn sinks_durable, bool idle) = 0;
  // At shutdown: makes the state durable up to the last batch applied.
  virtual Status Close() = 0;
};

}  // namespace walflow::runtime
