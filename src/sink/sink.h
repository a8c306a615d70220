// The sink interface. A sink receives batches in commit order, writes them, and reports
// the position up to which its writes are durable. It stores that position atomically
// with its data, so that after a crash it knows exactly what it already holds.
#pragma once

#include <memory>
#include <string>

#include "core/change.h"
#include "core/ids.h"
#include "core/status.h"

namespace walflow::sink {

class Sink {
 public:
  virtual ~Sink() = default;

  virtual const std::string& name() const = 0;

  // Recovers state from the destination (dropping anything written after the last
  // durable point) and returns the durable position: every transaction whose commit
  // LSN lies below it has been delivered in full. Lsn() for a sink that holds nothing.
  virtual Result<Lsn> Open() = 0;

  // Writes changes [first_change, end) and markers [first_marker, end) of `batch`. The
  // caller has already skipped what the sink holds.
  virtual Status Write(const ChangeBatch& batch, size_t first_change, size_t first_marker) = 0;

  // Makes everything up to the last transaction end (marker) written so far durable, and
  // returns that marker's end LSN. Cheap when nothing changed since the last call.
  virtual Result<Lsn> Checkpoint() = 0;

  // At shutdown: like Checkpoint(), but makes everything complete durable now, whatever
  // the sink's batching thresholds (a lake sink completes its open files).
  virtual Result<Lsn> Flush() { return Checkpoint(); }

  // Makes what is complete durable and releases resources; Write is not called after.
  virtual Status Close() = 0;

  // Sources with a position per partition (Kafka): where the source stands after the batch
  // just written (which ends with a marker). The sink records the latest with its next
  // checkpoint and reports it, after Open(), as durable_source_state(); "" when none.
  virtual void NoteSourceState(const std::string& state) = 0;
  virtual const std::string& durable_source_state() const = 0;
};

}  // namespace walflow::sink
