// The sink interface. A sink receives batches in commit order, writes them, and reports
// the position up to which its writes are durable. It stores that position atomically
// with its data, so that after a crash it knows exactly what it already holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/change.h"
#include "core/ids.h"
#include "core/status.h"

namespace walflow::sink {

// The tables (and later views) a sink's `from:` selects, by qualified name. The answer is
// remembered per table schema (by its serial), so a change costs one comparison on the hot
// path. Used by one sink's thread only.
class TableSelection {
 public:
  explicit TableSelection(std::vector<std::string> qualified_names);

  bool Selects(const TableSchema& table) const {
    if (table.serial == last_serial_) return last_answer_;
    return Lookup(table);
  }
  const std::vector<std::string>& names() const { return names_; }

 private:
  bool Lookup(const TableSchema& table) const;

  std::vector<std::string> names_;
  mutable std::unordered_map<uint64_t, bool> by_serial_;
  mutable uint64_t last_serial_ = 0;
  mutable bool last_answer_ = false;
};

// What one sink is handed of a shared batch: changes [first_change, end_change) — of those,
// the ones whose table `selection` selects (every table when it is null) — and markers
// [first_marker, end_marker). Nothing is copied.
struct BatchSlice {
  explicit BatchSlice(const ChangeBatch& b, size_t first_change_ = 0, size_t first_marker_ = 0)
      : batch(&b),
        first_change(first_change_),
        end_change(b.changes().size()),
        first_marker(first_marker_),
        end_marker(b.markers().size()) {}

  bool Selected(const Change& c) const { return !selection || selection->Selects(*c.table); }

  const ChangeBatch* batch;
  size_t first_change, end_change;
  size_t first_marker, end_marker;
  const TableSelection* selection = nullptr;
};

class Sink {
 public:
  virtual ~Sink() = default;

  virtual const std::string& name() const = 0;

  // Recovers state from the destination (dropping anything written after the last
  // durable point) and returns the durable position: every transaction whose commit
  // LSN lies below it has been delivered in full. Lsn() for a sink that holds nothing.
  virtual Result<Lsn> Open() = 0;

  // Writes the selected changes and the markers of `slice`. The caller has already skipped
  // what the sink holds.
  virtual Status Write(const BatchSlice& slice) = 0;

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
