// Turns decoded pgoutput messages into change events: keeps the relation cache (table
// schemas by OID), numbers changes within their transaction, holds streamed
// transactions in spools until they commit, and hands full batches to a consumer in
// commit order.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/change.h"
#include "core/metrics.h"
#include "pg/catalog.h"
#include "pg/pgoutput.h"
#include "pg/stream_spool.h"

namespace walflow::pg {

struct AssemblerOptions {
  std::string spool_dir;  // where streamed transactions spill
  // Memory of every open streamed transaction together; past it the largest spill to disk.
  size_t spool_memory_limit = 4 << 20;
  size_t batch_max_changes = 2048;
  size_t batch_max_bytes = 4 << 20;
  // Value bytes a batch never passes (Datum offsets are 32-bit): a change that would pass
  // it starts a new batch, a single change larger is an error. Clamped to
  // ChangeBatch::kMaxBytes; tests lower it.
  size_t batch_hard_max_bytes = ChangeBatch::kMaxBytes;
  std::unordered_set<std::string> tables;  // "schema.table"; empty means every table
  // Where what the catalog said about non-built-in types is kept across restarts, so that a
  // change decoded after its type was dropped is still described as before (e.g.
  // <data_dir>/pg-types-<slot>). Empty: kept in memory only; such a change is then
  // described as text, with a warning.
  std::string type_memory_file;
  // Where the assembler counts what it decoded (walflow_source_changes_total,
  // walflow_source_transactions_total, walflow_source_streamed_transactions_total,
  // walflow_source_aborted_streams_total, walflow_source_spooled_bytes,
  // walflow_source_spool_memory_bytes). Null: a registry of its own (see metrics()).
  MetricsRegistry* metrics = nullptr;
};

class ChangeAssembler : public PgOutputListener {
 public:
  // `consume` receives each finished batch; a non-OK status stops decoding.
  using BatchConsumer = std::function<Status(std::shared_ptr<ChangeBatch>)>;

  ChangeAssembler(AssemblerOptions options, Catalog* catalog, BatchConsumer consume);
  ~ChangeAssembler() override;

  PgOutputDecoder& decoder() { return decoder_; }

  // Hands the current batch to the consumer if it holds anything.
  Status Flush();

  // True between Begin and Commit of a transaction that is not streamed.
  bool in_transaction() const { return in_tx_; }

  // The server says everything before `position` has been sent. When no transaction is
  // open, this becomes a watermark that lets sinks confirm `position`.
  Status AdvanceIdle(Lsn position);

  // The end of the last transaction or watermark handed on.
  Lsn last_end_lsn() const { return last_end_lsn_; }

  // The registry the assembler reports into.
  const MetricsRegistry& metrics() const { return *metrics_; }

  // Called for each transactional logical message in commit order, with its
  // transaction's commit LSN, xid and commit time.
  using MessageHook =
      std::function<Status(const LogicalMessage&, Lsn commit_lsn, Xid xid, int64_t commit_time_us)>;
  void set_message_hook(MessageHook hook) { message_hook_ = std::move(hook); }

  Status OnBegin(const BeginMessage& m) override;
  Status OnCommit(const CommitMessage& m) override;
  Status OnRelation(const RelationMessage& m) override;
  Status OnType(const TypeMessage& m) override;
  Status OnInsert(const InsertMessage& m) override;
  Status OnUpdate(const UpdateMessage& m) override;
  Status OnDelete(const DeleteMessage& m) override;
  Status OnTruncate(const TruncateMessage& m) override;
  Status OnMessage(const LogicalMessage& m) override;
  Status OnStreamStart(const StreamStartMessage& m) override;
  Status OnStreamStop(const MessageHeader& m) override;
  Status OnStreamCommit(const StreamCommitMessage& m) override;
  Status OnStreamAbort(const StreamAbortMessage& m) override;

 private:
  struct TxState {
    Lsn commit_lsn;
    Xid xid;
    int64_t commit_time_us = 0;
    uint32_t seq = 0;
  };

  // Routes a message read inside a stream block to its transaction's spool. Returns
  // true when it did (the caller then stops).
  bool Spooled(const MessageHeader& m, bool is_schema, Status* status);
  void UpdateSpoolStats();
  Result<const TableSchema*> TableFor(Oid relid, const char* what);
  Status FillRow(const TableSchema& table, const TupleView& tuple, const TupleView* old_tuple,
                 int32_t* first);
  // Starts a new batch if the values of a change of up to `bytes` would not fit this one.
  Status MakeRoom(const TableSchema& table, size_t bytes);
  Change& NewChange(ChangeOp op, const TableSchema& table, Lsn lsn);
  Status EndTransaction(Lsn commit_lsn, Lsn end_lsn, Xid xid, int64_t time_us);
  Status MaybeEmit();
  bool KeysDiffer(const TableSchema& table, int32_t a, int32_t b) const;

  AssemblerOptions options_;
  Catalog* catalog_;
  BatchConsumer consume_;
  PgOutputDecoder decoder_;
  PgOutputDecoder replay_decoder_;  // decodes spooled messages at Stream Commit

  std::unordered_map<Oid, TableSchemaPtr> relations_;
  std::unordered_set<Oid> ignored_relations_;
  // Names of non-built-in types from the server's Type messages: as of the change.
  std::unordered_map<Oid, std::string> type_names_;
  std::unique_ptr<RememberingCatalog> remembering_catalog_;

  std::shared_ptr<ChangeBatch> batch_;
  bool in_tx_ = false;
  bool replaying_ = false;
  TxState tx_;
  Lsn last_end_lsn_;
  StreamSpools spools_;
  Xid stream_xid_;
  std::unique_ptr<MetricsRegistry> own_metrics_;
  MetricsRegistry* metrics_;
  Counter* changes_;
  Counter* transactions_;
  Counter* streamed_transactions_;
  Counter* aborted_streams_;
  Gauge* spooled_bytes_;            // held in spools, in memory and files
  Gauge* spool_memory_bytes_;       // the part of it in memory (at most spool_memory_limit)
  uint64_t uncounted_changes_ = 0;  // added to changes_ once per transaction
  MessageHook message_hook_;
};

}  // namespace walflow::pg
