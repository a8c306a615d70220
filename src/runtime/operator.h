// An operator of the pipeline graph: it sits between the source and the router and turns
// each batch of changes into a batch of its own output (the SQL views build on it). It
// runs on the graph's thread, batches in stream order. A stateful operator keeps its state
// durable up to a position; the coordinator confirms the source only up to the smallest
// such position of all operators and sinks.
#pragma once

#include <string>

#include "core/change.h"
#include "core/status.h"

namespace walflow::runtime {

class Operator {
 public:
  virtual ~Operator() = default;

  virtual const std::string& name() const = 0;
  // Recovers the state; returns the position it reflects (Lsn() when it holds nothing).
  virtual Result<Lsn> Open() = 0;
  // The output for `input` (nullptr: nothing to hand on). Batches the operator's state
  // already reflects (at or below the position Open() returned) are to be skipped by it.
  virtual Result<ChangeBatchPtr> Apply(const ChangeBatchPtr& input) = 0;
  // Whether durable() matters: a stateless operator holds nothing to lose.
  virtual bool stateful() const = 0;
  // Position up to which the operator's state is durable.
  virtual Lsn durable() const = 0;
  // At shutdown: makes the state durable up to the last batch applied.
  virtual Status Close() = 0;
};

}  // namespace walflow::runtime
