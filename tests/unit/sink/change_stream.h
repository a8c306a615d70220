// Streams of transactions for the sink tests: a table "public.<name>" (id int4 key, v text)
// and transactions of given sizes cut into batches wherever the batch size falls, inside
// transactions, as the source cuts a large one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/change.h"
#include "sink/sink.h"

namespace walflow::sink {

inline void MakeItemsTable(TableSchema* t, const std::string& name, uint32_t relid) {
  t->relid = Oid(relid);
  t->schema = "public";
  t->name = name;
  t->version = 1;
  ColumnSchema id;
  id.name = "id";
  id.type.kind = ValueKind::kInt32;
  id.type.type_name = "int4";
  id.optional = false;
  id.primary_key_position = 0;
  ColumnSchema v;
  v.name = "v";
  v.type.kind = ValueKind::kString;
  v.type.type_name = "text";
  t->columns = {id, v};
  t->key_columns = {0};
}

inline TableSchemaPtr ItemsTable() {
  auto t = std::make_shared<TableSchema>();
  MakeItemsTable(t.get(), "items", 16384);
  return t;
}

// Transaction k (from 1) of a stream commits at kBase + k * 0x100 and ends 0x10 later; its
// changes are inserts with sequence 1..n and ids numbered across the stream.
inline constexpr uint64_t kBase = 0x1000000;
inline Lsn CommitOf(uint32_t txn) { return Lsn(kBase + uint64_t{txn} * 0x100); }
inline Lsn EndOf(uint32_t txn) { return Lsn(kBase + uint64_t{txn} * 0x100 + 0x10); }

// A stream of transactions of the given sizes, cut into batches of `batch_changes` changes
// wherever that falls (inside transactions), as the source cuts a large transaction.
class Stream {
 public:
  Stream(TableSchemaPtr table, const std::vector<uint32_t>& sizes, size_t batch_changes)
      : sizes_(sizes) {
    auto batch = std::make_shared<ChangeBatch>();
    int id = 1;
    for (uint32_t k = 1; k <= sizes.size(); ++k) {
      for (uint32_t j = 1; j <= sizes[k - 1]; ++j) {
        if (batch->changes().size() >= batch_changes) {
          batches_.push_back(std::move(batch));
          batch = std::make_shared<ChangeBatch>();
        }
        batch->Retain(table);
        int32_t row = batch->AddRow(2);
        batch->SetText(row, std::to_string(id++));
        batch->SetText(row + 1,
                       "row " + std::to_string(j) + " of transaction " + std::to_string(k));
        Change& c = batch->AddChange();
        c.op = ChangeOp::kCreate;
        c.table = table.get();
        c.after = row;
        c.lsn = Lsn(CommitOf(k).value - 0x80 + j);
        c.commit_lsn = CommitOf(k);
        c.seq = j;
        c.xid = Xid(1000 + k);
        c.commit_time_us = 1700000000000000;
      }
      TxMarker m;
      m.change_end = static_cast<uint32_t>(batch->changes().size());
      m.commit_lsn = CommitOf(k);
      m.end_lsn = EndOf(k);
      m.xid = Xid(1000 + k);
      m.change_count = sizes[k - 1];
      batch->AddMarker(m);
    }
    if (!batch->empty()) batches_.push_back(std::move(batch));
    for (uint32_t n : sizes) total_changes_ += n;
  }

  const std::vector<std::shared_ptr<ChangeBatch>>& batches() const { return batches_; }
  uint64_t total_changes() const { return total_changes_; }
  uint32_t size_of(uint32_t xid) const { return sizes_.at(xid - 1001); }

  // The slice of batch `i` a SinkWorker hands a sink that resumes at `resume`: what lies
  // below is skipped (commit_lsn < resume, markers ending at or before it). Nullopt when
  // nothing is left of the batch.
  static std::optional<BatchSlice> Resumed(const ChangeBatch& b, Lsn resume) {
    size_t first_change = 0, first_marker = 0;
    while (first_change < b.changes().size() && b.changes()[first_change].commit_lsn < resume) {
      ++first_change;
    }
    while (first_marker < b.markers().size() && b.markers()[first_marker].end_lsn <= resume) {
      ++first_marker;
    }
    if (first_change == b.changes().size() && first_marker == b.markers().size()) {
      return std::nullopt;
    }
    return BatchSlice(b, first_change, first_marker);
  }

 private:
  std::vector<uint32_t> sizes_;
  std::vector<std::shared_ptr<ChangeBatch>> batches_;
  uint64_t total_changes_ = 0;
};

}  // namespace walflow::sink
