// Debezium change events on Kafka topics, as Debezium's PostgreSQL connector writes them:
// topic <topic_prefix>.<schema>.<table>, key = the primary-key fields, value = the event
// envelope (the same encoder as the jsonl sink), a tombstone after each delete, records
// partitioned by the Java client's default (murmur2 of the key).
//
// The sink's position is a record in a compacted topic (`offsets_topic`, key = the
// transactional id). With exactly_once the producer is transactional and that record is
// written in the same transaction as the changes it covers: a read_committed consumer sees
// each change once, whatever happens to walflow. Without it the producer is idempotent
// and the position record follows a flush of everything before it (at least once: what was
// produced after the last checkpoint is produced again after a crash).
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
  Result<Lsn> Checkpoint() override;
  Status Close() override;
  void NoteSourceState(const std::string& state) override { written_source_state_ = state; }
  const std::string& durable_source_state() const override { return durable_source_state_; }

  // librdkafka's delivery report for a record this sink produced.
  static void OnDeliveryReport(const rd_kafka_message_t* msg);

  // The position record of the sink keyed `key` in `offsets_topic`, read_committed.
  struct Position {
    Lsn lsn;
    std::string txn;
    std::string source_state;
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
  Status Produce(rd_kafka_topic_t* topic, const std::string& key, const std::string* value);
  Status DeliveryError();
  Status BeginIfNeeded();
  Status CommitOrAbort();
  std::string What() const { return "sink " + options_.name; }

  KafkaSinkOptions options_;
  format::DebeziumJsonEncoder encoder_;
  kafka::ClientErrors client_errors_;
  kafka::Handle producer_;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics_;  // by topic name
  std::unordered_map<const TableSchema*, rd_kafka_topic_t*> topic_by_table_;
  rd_kafka_topic_t* offsets_topic_ = nullptr;
  bool no_create_api_ = false;  // the cluster does not create topics on request
  std::string run_id_;
  uint64_t txn_counter_ = 0;
  std::string txn_;  // header value of the open transaction
  bool in_txn_ = false;
  bool pending_ = false;  // written since the last checkpoint
  Lsn written_;           // end of the last transaction written
  Lsn durable_;
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
