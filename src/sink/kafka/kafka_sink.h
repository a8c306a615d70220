// Debezium change events on Kafka topics, as Debezium's PostgreSQL connector writes them:
// topic <topic_prefix>.<schema>.<table>, key = the primary-key fields, value = the event
// envelope (the same encoder as the jsonl sink), a tombstone after each delete, records
// partitioned by the Java client's default (murmur2 of the key).
//
// The sink's position is a record in a compacted topic (`offsets_topic`, key = the
// transactional id). With exactly_once the producer is transactional and that record is
// written in the same transaction as the changes it covers: a read_committed consumer sees
// each change once, whatever happens to walflow. A Kafka transaction ends at a PostgreSQL
// transaction end (a checkpoint inside one is carried out at the next marker), except that
// a PostgreSQL transaction with more than max_transaction_records changes is split: the
// position record then also names how far into it the sink got (commit LSN and sequence),
// and on restart the sink skips the changes of that transaction it already committed.
// Without exactly_once the producer is idempotent, and the position record is produced
// only once a flush has delivered everything before it (at least once: what was produced
// after the last checkpoint is produced again after a crash).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/debezium_json.h"
#include "kafka/client.h"
#include "sink/sink.h"

namespace walflow::sink {

struct KafkaSinkOptions {
  std::string name;
  std::string brokers;
  std::string topic_prefix;
  bool exactly_once = false;
  std::string transactional_id;  // also the key of the sink's position record
  bool tombstones = true;
  int32_t topic_partitions = -1;
  int32_t topic_replication_factor = -1;
  std::string offsets_topic = "walflow_offsets";
  kafka::Properties properties;
  format::DebeziumOptions encoding;
  // How long to wait for the cluster when opening, committing or flushing.
  std::chrono::milliseconds timeout{30000};
  // exactly_once: the most changes of one PostgreSQL transaction in one Kafka transaction;
  // a larger PostgreSQL transaction spans several (read_committed consumers then see it in
  // parts). Smaller ones are never split. At least 1.
  uint64_t max_transaction_records = 100000;
};

// The header each record carries: the transaction it was produced in
// ("<transactional id>:<run>:<n>"); the position record of a committed transaction
// carries the same value.
extern const char* const kTxnHeader;

class KafkaSink : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options);
  ~KafkaSink() override;

  const std::string& name() const override { return options_.name; }
  Result<Lsn> Open() override;
  Status Write(const BatchSlice& slice) override;
  // exactly_once, inside a transaction: only asks Write to commit at its end.
  Result<Lsn> Checkpoint() override;
  // Inside a transaction (a stop that did not wait for its end): commits the part written,
  // as for a transaction above max_transaction_records.
  Result<Lsn> Flush() override;
  Status Close() override;
  void NoteSourceState(const std::string& state) override { written_source_state_ = state; }
  const std::string& durable_source_state() const override { return durable_source_state_; }

  // librdkafka's delivery report for a record this sink produced.
  static void OnDeliveryReport(const rd_kafka_message_t* msg);

  // How far into a PostgreSQL transaction a split one was committed: every change of the
  // transaction committed at `commit_lsn` up to sequence `seq` (Change::seq).
  struct TransactionProgress {
    Lsn commit_lsn;
    uint32_t seq = 0;
  };
  // The position record of the sink keyed `key` in `offsets_topic`, read_committed.
  struct Position {
    Lsn lsn;  // end of the last whole transaction committed
    std::string txn;
    std::string source_state;
    std::optional<TransactionProgress> partial;  // beyond `lsn`, within the next transaction
  };
  static Result<std::optional<Position>> ReadPosition(rd_kafka_t* consumer,
                                                      const std::string& offsets_topic,
                                                      const std::string& key,
                                                      std::chrono::milliseconds timeout,
                                                      const std::string& what);

 private:
  struct TopicHandle {
    uint32_t table_version = 0;
    rd_kafka_topic_t* topic = nullptr;
  };
  Result<rd_kafka_topic_t*> TopicFor(const TableSchema& table);
  Status ProduceChange(const ChangeBatch& batch, const Change& change);
  Status Produce(rd_kafka_topic_t* topic, const std::string& key, const std::string* value);
  // At a transaction end in Write: commits there when a checkpoint asked for it.
  Status PassMarker(const TxMarker& marker, bool commit_here_allowed);
  Status DeliveryError();
  Status BeginIfNeeded();
  Status CommitOrAbort();
  // exactly_once: produces the position record (written_, and `partial` when inside a
  // transaction) and commits the open transaction.
  Status CommitTransaction(const std::optional<TransactionProgress>& partial);
  // Without exactly_once: flushes the records, then produces the position record and
  // flushes it.
  Status FlushAndRecordPosition();
  Status FlushProducer(const char* what);
  std::string PositionRecord(const std::optional<TransactionProgress>& partial) const;
  std::string What() const { return "sink " + options_.name; }

  KafkaSinkOptions options_;
  format::DebeziumJsonEncoder encoder_;
  kafka::ClientErrors client_errors_;
  kafka::Handle producer_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;  // by topic name
  // By TableSchema::serial: a schema freed on a Relation message may leave its address to
  // another table's schema.
  std::unordered_map<uint64_t, rd_kafka_topic_t*> topic_by_schema_;
  rd_kafka_topic_t* offsets_topic_ = nullptr;
  bool no_create_api_ = false;  // the cluster does not create topics on request
  std::string run_id_;
  uint64_t txn_counter_ = 0;
  std::string txn_;  // header value of the open transaction
  bool in_txn_ = false;
  bool pending_ = false;  // written since the last checkpoint
  Lsn written_;           // end of the last transaction written
  Lsn durable_;
  // exactly_once: the changes of an unfinished PostgreSQL transaction produced in the open
  // Kafka transaction, and the last of them.
  uint64_t open_txn_changes_ = 0;
  TransactionProgress open_txn_;
  bool commit_requested_ = false;    // Checkpoint() came inside a transaction
  bool partitioned_source_ = false;  // the last batch came from a Kafka source
  // After a restart inside a split transaction: its changes committed already.
  std::optional<TransactionProgress> committed_part_;
  std::string written_source_state_;
  std::string durable_source_state_;
  // First delivery failure reported by librdkafka (delivery reports run on the sink thread,
  // inside poll/flush).
  std::string delivery_error_;
  rd_kafka_resp_err_t delivery_code_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string key_, value_;
  uint64_t produced_since_poll_ = 0;
};

}  // namespace walflow::sink
