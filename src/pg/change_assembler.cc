#include "pg/change_assembler.h"

#include <algorithm>
#include <atomic>

#include "core/log.h"

namespace walflow::pg {

ChangeAssembler::ChangeAssembler(AssemblerOptions options, Catalog* catalog, BatchConsumer consume)
    : options_(std::move(options)),
      catalog_(catalog),
      consume_(std::move(consume)),
      decoder_(this),
      replay_decoder_(this),
      batch_(std::make_shared<ChangeBatch>()),
      spools_(options_.spool_dir, options_.spool_memory_limit) {
  if (options_.metrics == nullptr) own_metrics_ = std::make_unique<MetricsRegistry>();
  metrics_ = options_.metrics ? options_.metrics : own_metrics_.get();
  auto counter = [this](const char* name, const char* help) {
    return metrics_->DeclareCounter(name, help).value()->With({});
  };
  auto gauge = [this](const char* name, const char* help) {
    return metrics_->DeclareGauge(name, help).value()->With({});
  };
  changes_ = counter("walflow_source_changes_total", "Row changes read from the source.");
  transactions_ = counter("walflow_source_transactions_total",
                          "Transactions decoded from the replication stream.");
  streamed_transactions_ =
      counter("walflow_source_streamed_transactions_total",
              "Transactions the server streamed before their commit (spooled).");
  aborted_streams_ = counter("walflow_source_aborted_streams_total",
                             "Streamed transactions that the server aborted (spools dropped).");
  spooled_bytes_ =
      gauge("walflow_source_spooled_bytes", "Bytes of open streamed transactions held in spools.");
  spool_memory_bytes_ =
      gauge("walflow_source_spool_memory_bytes", "The part of the spooled bytes held in memory.");
  if (catalog_ != nullptr) {
    remembering_catalog_ =
        std::make_unique<RememberingCatalog>(catalog_, options_.type_memory_file);
    catalog_ = remembering_catalog_.get();
  }
}

ChangeAssembler::~ChangeAssembler() = default;

Status ChangeAssembler::Flush() {
  if (batch_->empty()) return Status::OK();
  auto full = std::move(batch_);
  batch_ = std::make_shared<ChangeBatch>();
  return consume_(std::move(full));
}

Status ChangeAssembler::MaybeEmit() {
  if (batch_->changes().size() >= options_.batch_max_changes ||
      batch_->byte_size() >= options_.batch_max_bytes) {
    return Flush();
  }
  return Status::OK();
}

Status ChangeAssembler::AdvanceIdle(Lsn position) {
  if (in_tx_ || replaying_ || position <= last_end_lsn_) return Status::OK();
  TxMarker marker;
  marker.change_end = static_cast<uint32_t>(batch_->changes().size());
  marker.commit_lsn = position;
  marker.end_lsn = position;
  batch_->AddMarker(marker);
  last_end_lsn_ = position;
  return Status::OK();
}

bool ChangeAssembler::Spooled(const MessageHeader& m, bool is_schema, Status* status) {
  if (replaying_ || !m.xid.has_value()) return false;
  StreamSpool* spool = spools_.Find(stream_xid_);
  if (spool == nullptr) {
    *status = DataLoss("message of streamed transaction " + std::to_string(m.xid->value) +
                       " at WAL " + m.wal_start.ToString() + " outside any Stream Start");
    return true;
  }
  *status = spools_.Append(*spool, m.wal_start, *m.xid, m.raw, is_schema);
  UpdateSpoolStats();
  return true;
}

void ChangeAssembler::UpdateSpoolStats() {
  spooled_bytes_->Set(double(spools_.bytes()));
  spool_memory_bytes_->Set(double(spools_.memory_bytes()));
}

Status ChangeAssembler::OnBegin(const BeginMessage& m) {
  if (in_tx_) return DataLoss("Begin at WAL " + m.wal_start.ToString() + " inside a transaction");
  in_tx_ = true;
  tx_ = TxState{m.final_lsn, m.top_xid, m.commit_time_us, 0};
  return Status::OK();
}

Status ChangeAssembler::EndTransaction(Lsn commit_lsn, Lsn end_lsn, Xid xid, int64_t time_us) {
  TxMarker marker;
  marker.change_end = static_cast<uint32_t>(batch_->changes().size());
  marker.commit_lsn = commit_lsn;
  marker.end_lsn = end_lsn;
  marker.xid = xid;
  marker.commit_time_us = time_us;
  marker.change_count = tx_.seq;
  batch_->AddMarker(marker);
  if (end_lsn > last_end_lsn_) last_end_lsn_ = end_lsn;
  transactions_->Add();
  changes_->Add(uncounted_changes_);
  uncounted_changes_ = 0;
  return MaybeEmit();
}

Status ChangeAssembler::OnCommit(const CommitMessage& m) {
  if (!in_tx_) return DataLoss("Commit at WAL " + m.wal_start.ToString() + " without Begin");
  in_tx_ = false;
  return EndTransaction(m.commit_lsn, m.end_lsn, tx_.xid, m.commit_time_us);
}

Status ChangeAssembler::OnType(const TypeMessage& m) {
  Status s;
  if (Spooled(m, /*is_schema=*/true, &s)) return s;
  // The server sends it before the Relation message that uses the type, with the name the
  // change was decoded with.
  const std::string nsp(m.nspname);
  type_names_[m.type_oid] =
      nsp == "pg_catalog" ? std::string(m.name) : nsp + "." + std::string(m.name);
  return Status::OK();
}

Status ChangeAssembler::OnRelation(const RelationMessage& m) {
  Status s;
  if (Spooled(m, /*is_schema=*/true, &s)) return s;

  std::string qualified = std::string(m.nspname) + "." + std::string(m.relname);
  if (!options_.tables.empty() && !options_.tables.count(qualified)) {
    ignored_relations_.insert(m.relid);
    relations_.erase(m.relid);
    return Status::OK();
  }
  ignored_relations_.erase(m.relid);

  RelationSpec spec;
  spec.relid = m.relid;
  spec.schema = std::string(m.nspname);
  spec.name = std::string(m.relname);
  spec.replica_identity = m.replica_identity;
  for (const RelationColumn& rc : m.columns) {
    auto type_name = type_names_.find(rc.type_oid);
    spec.columns.push_back({std::string(rc.name), rc.type_oid, rc.typmod, rc.key,
                            type_name == type_names_.end() ? std::string() : type_name->second});
  }
  WF_ASSIGN_OR_RETURN(TableSchemaPtr table, BuildTableSchema(spec, catalog_));
  auto prev = relations_.find(m.relid);
  if (prev != relations_.end() && prev->second->columns.size() != table->columns.size()) {
    WF_LOG_INFO("pg", "table {} changed: {} -> {} columns", qualified, prev->second->columns.size(),
                table->columns.size());
  }
  relations_[m.relid] = std::move(table);
  return Status::OK();
}

Result<const TableSchema*> ChangeAssembler::TableFor(Oid relid, const char* what) {
  auto it = relations_.find(relid);
  if (it == relations_.end()) {
    if (ignored_relations_.count(relid)) return static_cast<const TableSchema*>(nullptr);
    return DataLoss(std::string(what) + " for relation oid " + std::to_string(relid.value) +
                    " before its Relation message");
  }
  batch_->Retain(it->second);
  return it->second.get();
}

Status ChangeAssembler::FillRow(const TableSchema& table, const TupleView& tuple,
                                const TupleView* old_tuple, int32_t* first) {
  if (tuple.size() != table.columns.size()) {
    return DataLoss("table " + table.QualifiedName() + ": row has " + std::to_string(tuple.size()) +
                    " columns, its Relation message " + std::to_string(table.columns.size()));
  }
  *first = batch_->AddRow(tuple.size());
  for (size_t i = 0; i < tuple.size(); ++i) {
    const TupleColumn& c = tuple[i];
    int32_t index = *first + static_cast<int32_t>(i);
    switch (c.kind) {
      case TupleColumn::Kind::kNull: break;
      case TupleColumn::Kind::kText: batch_->SetText(index, c.data); break;
      case TupleColumn::Kind::kUnchangedToast:
        // With REPLICA IDENTITY FULL the old row carries the value.
        if (old_tuple != nullptr && i < old_tuple->size() &&
            (*old_tuple)[i].kind == TupleColumn::Kind::kText) {
          batch_->SetText(index, (*old_tuple)[i].data);
        } else {
          batch_->DatumAt(index).kind = Datum::Kind::kUnchangedToast;
        }
        break;
      case TupleColumn::Kind::kBinary:
        return DataLoss("table " + table.QualifiedName() + ", column " + table.columns[i].name +
                        ": binary value, but walflow asked for text");
    }
  }
  return Status::OK();
}

Status ChangeAssembler::MakeRoom(const TableSchema& table, size_t bytes) {
  const size_t limit = std::min(options_.batch_hard_max_bytes, ChangeBatch::kMaxBytes);
  const size_t held = batch_->value_bytes();
  if (held <= limit && bytes <= limit - held) return Status::OK();
  if (bytes > limit) {
    return FailedPrecondition("table " + table.QualifiedName() + ": a change of up to " +
                              std::to_string(bytes) + " bytes does not fit in a batch (at most " +
                              std::to_string(limit) + " bytes of values)");
  }
  WF_RETURN_IF_ERROR(Flush());
  // The new batch keeps the schema alive too.
  batch_->Retain(relations_.at(table.relid));
  return Status::OK();
}

Change& ChangeAssembler::NewChange(ChangeOp op, const TableSchema& table, Lsn lsn) {
  Change& c = batch_->AddChange();
  c.op = op;
  c.table = &table;
  c.lsn = lsn;
  c.commit_lsn = tx_.commit_lsn;
  c.seq = ++tx_.seq;
  c.xid = tx_.xid;
  c.commit_time_us = tx_.commit_time_us;
  ++uncounted_changes_;
  return c;
}

bool ChangeAssembler::KeysDiffer(const TableSchema& table, int32_t a, int32_t b) const {
  const Datum* ra = batch_->Row(a);
  const Datum* rb = batch_->Row(b);
  for (int k : table.key_columns) {
    // A replica identity index other than the primary key leaves the primary-key
    // columns out of the old tuple: there is nothing to compare.
    if (ra[k].kind == Datum::Kind::kNull && !table.columns[k].replica_key) continue;
    if (ra[k].kind != rb[k].kind) return true;
    if (ra[k].kind == Datum::Kind::kText && batch_->Text(ra[k]) != batch_->Text(rb[k])) return true;
  }
  return false;
}

Status ChangeAssembler::OnInsert(const InsertMessage& m) {
  Status s;
  if (Spooled(m, false, &s)) return s;
  WF_ASSIGN_OR_RETURN(const TableSchema* table, TableFor(m.relid, "Insert"));
  if (table == nullptr) return Status::OK();
  // A row's values are part of its message.
  WF_RETURN_IF_ERROR(MakeRoom(*table, m.raw.size()));
  int32_t after;
  WF_RETURN_IF_ERROR(FillRow(*table, *m.new_tuple, nullptr, &after));
  NewChange(ChangeOp::kCreate, *table, m.wal_start).after = after;
  return MaybeEmit();
}

Status ChangeAssembler::OnUpdate(const UpdateMessage& m) {
  Status s;
  if (Spooled(m, false, &s)) return s;
  WF_ASSIGN_OR_RETURN(const TableSchema* table, TableFor(m.relid, "Update"));
  if (table == nullptr) return Status::OK();
  // Both images are part of the message; unchanged TOAST values copied from a whole old
  // row can add the old image once more.
  WF_RETURN_IF_ERROR(MakeRoom(*table, m.raw.size() * (m.old_kind == 'O' ? 2 : 1)));
  int32_t before = -1, after;
  if (m.old_tuple != nullptr) {
    WF_RETURN_IF_ERROR(FillRow(*table, *m.old_tuple, nullptr, &before));
  }
  WF_RETURN_IF_ERROR(
      FillRow(*table, *m.new_tuple, m.old_kind == 'O' ? m.old_tuple : nullptr, &after));
  if (before >= 0 && !table->key_columns.empty() && KeysDiffer(*table, before, after)) {
    // A changed primary key is a delete of the old key and a create of the new one, as
    // Debezium emits it, so that consumers keyed by the primary key stay correct.
    NewChange(ChangeOp::kDelete, *table, m.wal_start).before = before;
    NewChange(ChangeOp::kCreate, *table, m.wal_start).after = after;
    return MaybeEmit();
  }
  Change& c = NewChange(ChangeOp::kUpdate, *table, m.wal_start);
  c.before = m.old_kind == 'O' ? before : -1;
  c.after = after;
  return MaybeEmit();
}

Status ChangeAssembler::OnDelete(const DeleteMessage& m) {
  Status s;
  if (Spooled(m, false, &s)) return s;
  WF_ASSIGN_OR_RETURN(const TableSchema* table, TableFor(m.relid, "Delete"));
  if (table == nullptr) return Status::OK();
  WF_RETURN_IF_ERROR(MakeRoom(*table, m.raw.size()));
  int32_t before;
  WF_RETURN_IF_ERROR(FillRow(*table, *m.old_tuple, nullptr, &before));
  NewChange(ChangeOp::kDelete, *table, m.wal_start).before = before;
  return MaybeEmit();
}

Status ChangeAssembler::OnTruncate(const TruncateMessage& m) {
  Status s;
  if (Spooled(m, false, &s)) return s;
  for (Oid relid : m.relids) {
    WF_ASSIGN_OR_RETURN(const TableSchema* table, TableFor(relid, "Truncate"));
    if (table == nullptr) continue;
    NewChange(ChangeOp::kTruncate, *table, m.wal_start);
  }
  return MaybeEmit();
}

Status ChangeAssembler::OnMessage(const LogicalMessage& m) {
  Status s;
  if (m.transactional && Spooled(m, false, &s)) return s;
  // A non-transactional message (walflow's heartbeat among them) marks a point of the
  // stream with nothing pending before it.
  if (!m.transactional && !replaying_) return AdvanceIdle(m.lsn);
  if (m.transactional && message_hook_) {
    return message_hook_(m, tx_.commit_lsn, tx_.xid, tx_.commit_time_us);
  }
  return Status::OK();
}

Status ChangeAssembler::OnStreamStart(const StreamStartMessage& m) {
  stream_xid_ = m.top_xid;
  spools_.Open(m.top_xid);
  return Status::OK();
}

Status ChangeAssembler::OnStreamStop(const MessageHeader&) { return Status::OK(); }

Status ChangeAssembler::OnStreamCommit(const StreamCommitMessage& m) {
  std::unique_ptr<StreamSpool> spool = spools_.Take(m.top_xid);
  if (spool == nullptr) {
    // Nothing of ours was in it (every change was to an ignored table).
    return Status::OK();
  }
  UpdateSpoolStats();
  if (spool->spilled()) {
    WF_LOG_DEBUG("pg", "replaying streamed transaction {} ({} bytes spooled)", m.top_xid.value,
                 spool->bytes());
  }
  tx_ = TxState{m.commit_lsn, m.top_xid, m.commit_time_us, 0};
  replaying_ = true;
  Status s = spool->Replay([this](Lsn lsn, std::string_view message) {
    return replay_decoder_.ConsumeStreamed(lsn, message);
  });
  replaying_ = false;
  WF_RETURN_IF_ERROR(s);
  streamed_transactions_->Add();
  return EndTransaction(m.commit_lsn, m.end_lsn, m.top_xid, m.commit_time_us);
}

Status ChangeAssembler::OnStreamAbort(const StreamAbortMessage& m) {
  StreamSpool* spool = spools_.Find(m.top_xid);
  if (spool == nullptr) return Status::OK();
  if (m.sub_xid == m.top_xid) {
    spools_.Drop(m.top_xid);
    UpdateSpoolStats();
    aborted_streams_->Add();
    return Status::OK();
  }
  Status s = spools_.AbortSubtransaction(*spool, m.sub_xid);
  UpdateSpoolStats();
  return s;
}

}  // namespace walflow::pg
