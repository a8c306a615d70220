#include "sink/kafka/kafka_sink.h"

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/log.h"
#include "format/json_writer.h"

namespace walflow::sink {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kPollEvery = 1024;  // serve delivery reports every this many records

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomRunId() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void PrepareProducer(rd_kafka_conf_t* conf, void*) {
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t* rk, const rd_kafka_message_t* msg, void*) {
    if (msg->_private) KafkaSink::OnDeliveryReport(msg);
  });
}

}  // namespace

const char* const kTxnHeader = "walflow.txn";

KafkaSink::KafkaSink(KafkaSinkOptions options)
    : options_(std::move(options)), encoder_(options_.encoding) {}

KafkaSink::~KafkaSink() { (void)Close(); }

void KafkaSink::OnDeliveryReport(const rd_kafka_message_t* msg) {
  auto* self = static_cast<KafkaSink*>(msg->_private);
  if (msg->err && self->delivery_code_ == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivery_code_ = msg->err;
    self->delivery_error_ = std::string("delivery to topic ") + rd_kafka_topic_name(msg->rkt) +
                            " failed: " + rd_kafka_err2str(msg->err);
  }
}

Status KafkaSink::DeliveryError() {
  if (delivery_code_ == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  Status s = kafka::FromCode(delivery_code_, What());
  return Status(s.code(), What() + ": " + delivery_error_);
}

Result<std::optional<KafkaSink::Position>> KafkaSink::ReadPosition(rd_kafka_t* consumer,
                                                                   const std::string& offsets_topic,
                                                                   const std::string& key,
                                                                   milliseconds timeout,
                                                                   const std::string& what) {
  auto count = kafka::PartitionCount(consumer, offsets_topic, timeout);
  if (!count.ok()) {
    if (count.status().code() == StatusCode::kNotFound) return std::optional<Position>();
    return Status(count.status().code(), what + ": " + count.status().message());
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(*count);
  for (int p = 0; p < *count; ++p) {
    rd_kafka_topic_partition_list_add(parts, offsets_topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(consumer, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err) return kafka::FromCode(err, what + ": reading " + offsets_topic);
  std::optional<Position> found;
  int at_end = 0;
  auto deadline = Clock::now() + timeout;
  Status status;
  while (at_end < *count) {
    if (Clock::now() > deadline) {
      status = Unavailable(what + ": could not read topic " + offsets_topic +
                           " to its end within " + std::to_string(timeout.count()) + " ms");
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
    } else if (m->err) {
      status = kafka::FromCode(m->err, what + ": reading " + offsets_topic);
    } else if (m->key_len == key.size() && std::memcmp(m->key, key.data(), key.size()) == 0) {
      if (!m->payload) {
        found.reset();  // deleted by a tombstone: the sink was reset
      } else {
        auto v =
            nlohmann::json::parse(static_cast<const char*>(m->payload),
                                  static_cast<const char*>(m->payload) + m->len, nullptr, false);
        std::optional<Lsn> lsn;
        if (v.is_object() && v.contains("position") && v["position"].is_string()) {
          lsn = Lsn::Parse(v["position"].get<std::string>());
        }
        if (!lsn) {
          status = DataLoss(what + ": the position record for " + key + " in topic " +
                            offsets_topic + " at offset " + std::to_string(m->offset) +
                            " is damaged; delete it (a tombstone for that key) to start over");
        } else {
          Position p;
          p.lsn = *lsn;
          if (v.contains("txn") && v["txn"].is_string()) p.txn = v["txn"];
          if (v.contains("source") && v["source"].is_string()) p.source_state = v["source"];
          if (v.contains("partial")) {
            const auto& part = v["partial"];
            std::optional<Lsn> commit;
            if (part.is_object() && part.contains("commit_lsn") && part["commit_lsn"].is_string()) {
              commit = Lsn::Parse(part["commit_lsn"].get<std::string>());
            }
            if (!commit || !part.contains("seq") || !part["seq"].is_number_unsigned()) {
              status = DataLoss(what + ": the position record for " + key + " in topic " +
                                offsets_topic + " at offset " + std::to_string(m->offset) +
                                " has a damaged \"partial\" field; delete the record (a "
                                "tombstone for that key) to start over");
            } else {
              p.partial = TransactionProgress{*commit, part["seq"].get<uint32_t>()};
            }
          }
          found = p;
        }
      }
    }
    rd_kafka_message_destroy(m);
    if (!status.ok()) break;
  }
  rd_kafka_assign(consumer, nullptr);
  if (!status.ok()) return status;
  return found;
}

Result<Lsn> KafkaSink::Open() {
  run_id_ = RandomRunId();
  kafka::ClientSpec spec;
  spec.what = What();
  spec.brokers = options_.brokers;
  spec.walflow_settings = {{"client.id", "walflow-" + options_.name},
                           {"partitioner", "murmur2_random"},  // the Java client's default
                           {"enable.idempotence", "true"}};
  if (options_.exactly_once) {
    spec.walflow_settings.emplace_back("transactional.id", options_.transactional_id);
    // A PostgreSQL transaction is one Kafka transaction at least: give large ones time
    // (the brokers' transaction.max.timeout.ms defaults to 15 minutes).
    spec.walflow_settings.emplace_back("transaction.timeout.ms", "900000");
  }
  spec.user_settings = options_.properties;
  spec.prepare = PrepareProducer;
  WF_ASSIGN_OR_RETURN(producer_, kafka::NewClient(RD_KAFKA_PRODUCER, spec, &client_errors_));

  // librdkafka reports why it cannot reach the cluster through the error callback, which
  // runs inside poll: serve it, then say which brokers and why.
  auto unreachable = [&](Status s, rd_kafka_t* producer, const kafka::ClientErrors& errors) {
    if (producer) rd_kafka_poll(producer, 0);  // a consumer serves them in consumer_poll
    return kafka::WithClientErrors(std::move(s), errors, options_.brokers, What());
  };
  if (options_.exactly_once) {
    // Fences an earlier producer with this id and aborts its open transaction.
    Status s = kafka::FromError(
        rd_kafka_init_transactions(producer_.get(), static_cast<int>(options_.timeout.count())),
        What() + ": starting the transactional producer at " + options_.brokers);
    if (!s.ok()) return unreachable(s, producer_.get(), client_errors_);
  }
  kafka::TopicSpec offsets;
  offsets.name = options_.offsets_topic;
  offsets.partitions = 1;
  offsets.replication_factor = options_.topic_replication_factor;
  offsets.config.emplace_back("cleanup.policy", "compact");
  Status s =
      kafka::EnsureTopics(producer_.get(), {offsets}, options_.timeout, What(), &no_create_api_);
  if (!s.ok()) return unreachable(s, producer_.get(), client_errors_);

  kafka::ClientSpec cspec;
  cspec.what = What();
  cspec.brokers = options_.brokers;
  cspec.walflow_settings = {{"client.id", "walflow-" + options_.name + "-position"},
                            // assign() needs a group; nothing is committed in it
                            {"group.id", "walflow-" + options_.name + "-position"},
                            {"isolation.level", "read_committed"},
                            {"enable.partition.eof", "true"},
                            {"enable.auto.commit", "false"},
                            // reaching the end of the topic should not wait for data
                            {"fetch.wait.max.ms", "10"}};
  // Security settings apply to both clients; producer tuning does not.
  cspec.user_settings = kafka::SecuritySettings(options_.properties);
  kafka::ClientErrors consumer_errors;  // outlives the consumer (declared first)
  WF_ASSIGN_OR_RETURN(kafka::Handle consumer,
                      kafka::NewClient(RD_KAFKA_CONSUMER, cspec, &consumer_errors));
  rd_kafka_poll_set_consumer(consumer.get());
  auto position = ReadPosition(consumer.get(), options_.offsets_topic, options_.transactional_id,
                               options_.timeout, What());
  if (!position.ok()) {
    Status failed = unreachable(position.status(), nullptr, consumer_errors);
    rd_kafka_consumer_close(consumer.get());
    return failed;
  }
  rd_kafka_consumer_close(consumer.get());
  offsets_topic_ = rd_kafka_topic_new(producer_.get(), options_.offsets_topic.c_str(), nullptr);
  if (position->has_value()) {
    durable_ = (*position)->lsn;
    durable_source_state_ = (*position)->source_state;
    committed_part_ = (*position)->partial;
  }
  written_ = durable_;
  written_source_state_ = durable_source_state_;
  WF_LOG_INFO("sink", "sink {}: {} producer to {}, topics {}.<schema>.<table>, position in {}",
              options_.name, options_.exactly_once ? "transactional" : "idempotent",
              options_.brokers, options_.topic_prefix, options_.offsets_topic);
  return durable_;
}

Result<rd_kafka_topic_t*> KafkaSink::TopicFor(const TableSchema& table) {
  auto it = topic_by_schema_.find(table.serial);
  if (it != topic_by_schema_.end()) return it->second;
  std::string name = options_.topic_prefix + "." + table.schema + "." + table.name;
  auto t = topics_.find(name);
  if (t == topics_.end()) {
    kafka::TopicSpec spec;
    spec.name = name;
    spec.partitions = options_.topic_partitions;
    spec.replication_factor = options_.topic_replication_factor;
    WF_RETURN_IF_ERROR(
        kafka::EnsureTopics(producer_.get(), {spec}, options_.timeout, What(), &no_create_api_));
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_.get(), name.c_str(), nullptr);
    if (!rkt) {
      return InvalidArgument(What() + ": topic " + name + " for table " + table.QualifiedName() +
                             ": " + rd_kafka_err2str(rd_kafka_last_error()));
    }
    t = topics_.emplace(name, rkt).first;
  }
  topic_by_schema_[table.serial] = t->second;
  return t->second;
}

Status KafkaSink::Produce(rd_kafka_topic_t* topic, const std::string& key,
                          const std::string* value) {
  const bool null_key = key == "null";
  auto deadline = Clock::now() + options_.timeout;
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(null_key ? nullptr : key.data(), null_key ? 0 : key.size()),
        RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr,
                         value ? value->size() : 0),
        RD_KAFKA_V_HEADER(kTxnHeader, txn_.data(), static_cast<ssize_t>(txn_.size())),
        RD_KAFKA_V_OPAQUE(this), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return kafka::FromCode(err, What() + ": producing to topic " + rd_kafka_topic_name(topic));
    }
    if (Clock::now() > deadline) {
      return Unavailable(What() + ": the producer queue stayed full for " +
                         std::to_string(options_.timeout.count()) + " ms (" +
                         client_errors_.Latest() + ")");
    }
    rd_kafka_poll(producer_.get(), 50);  // wait for deliveries to make room
  }
  if (++produced_since_poll_ >= kPollEvery) {
    produced_since_poll_ = 0;
    rd_kafka_poll(producer_.get(), 0);
  }
  return Status::OK();
}

Status KafkaSink::BeginIfNeeded() {
  if (in_txn_) return Status::OK();
  txn_ = options_.transactional_id + ":" + run_id_ + ":" + std::to_string(++txn_counter_);
  if (options_.exactly_once) {
    WF_RETURN_IF_ERROR(kafka::FromError(rd_kafka_begin_transaction(producer_.get()),
                                        What() + ": beginning a transaction"));
  }
  in_txn_ = true;
  return Status::OK();
}

Status KafkaSink::ProduceChange(const ChangeBatch& batch, const Change& c) {
  WF_RETURN_IF_ERROR(BeginIfNeeded());
  WF_ASSIGN_OR_RETURN(rd_kafka_topic_t * topic, TopicFor(*c.table));
  key_.clear();
  value_.clear();
  if (c.op == ChangeOp::kTruncate) {
    key_ = "null";
  } else {
    WF_RETURN_IF_ERROR(encoder_.AppendKey(batch, c, &key_));
  }
  WF_RETURN_IF_ERROR(encoder_.AppendValue(batch, c, &value_));
  WF_RETURN_IF_ERROR(Produce(topic, key_, &value_));
  if (c.op == ChangeOp::kDelete && options_.tombstones && key_ != "null") {
    WF_RETURN_IF_ERROR(Produce(topic, key_, nullptr));
  }
  return Status::OK();
}

Status KafkaSink::PassMarker(const TxMarker& marker, bool commit_here_allowed) {
  written_ = marker.end_lsn;
  pending_ = true;
  open_txn_changes_ = 0;
  if (committed_part_ && marker.commit_lsn >= committed_part_->commit_lsn) committed_part_.reset();
  if (commit_requested_ && commit_here_allowed) return CommitTransaction(std::nullopt);
  return Status::OK();
}

Status KafkaSink::Write(const BatchSlice& slice) {
  WF_RETURN_IF_ERROR(DeliveryError());
  encoder_.set_processing_time_us(NowMicros());
  const ChangeBatch& batch = *slice.batch;
  // A partitioned source (Kafka) notes where it stands after the batch (NoteSourceState):
  // its position exists only at the batch's end, where Checkpoint() commits; and its
  // positions are offsets, which a sequence within a transaction cannot extend.
  partitioned_source_ = !batch.source_state().empty();
  const bool commit_inside = options_.exactly_once && !partitioned_source_;
  const auto& changes = batch.changes();
  const auto& markers = batch.markers();
  size_t m = slice.first_marker;
  for (size_t i = slice.first_change; i < slice.end_change; ++i) {
    for (; m < slice.end_marker && markers[m].change_end <= i; ++m) {
      WF_RETURN_IF_ERROR(PassMarker(markers[m], commit_inside));
    }
    const Change& c = changes[i];
    if (committed_part_ && c.commit_lsn == committed_part_->commit_lsn &&
        c.seq <= committed_part_->seq) {
      continue;  // committed before a restart, as the first part of a split transaction
    }
    if (!slice.Selected(c)) continue;
    if (commit_inside && open_txn_changes_ >= options_.max_transaction_records) {
      // A PostgreSQL transaction above the bound: commit the part written so far.
      WF_RETURN_IF_ERROR(CommitTransaction(open_txn_));
    }
    WF_RETURN_IF_ERROR(ProduceChange(batch, c));
    ++open_txn_changes_;
    open_txn_ = {c.commit_lsn, c.seq};
    pending_ = true;
  }
  for (; m < slice.end_marker; ++m) WF_RETURN_IF_ERROR(PassMarker(markers[m], commit_inside));
  return Status::OK();
}

Status KafkaSink::CommitOrAbort() {
  auto deadline = Clock::now() + options_.timeout;
  while (true) {
    rd_kafka_error_t* error =
        rd_kafka_commit_transaction(producer_.get(), static_cast<int>(options_.timeout.count()));
    if (!error) return Status::OK();
    bool retriable = rd_kafka_error_is_retriable(error);
    bool abortable = rd_kafka_error_txn_requires_abort(error);
    Status s = kafka::FromError(error, What() + ": committing a transaction");
    if (retriable && Clock::now() < deadline) {
      WF_LOG_WARN("sink", "{}; retrying", s.message());
      continue;
    }
    if (abortable) {
      Status a = kafka::FromError(
          rd_kafka_abort_transaction(producer_.get(), static_cast<int>(options_.timeout.count())),
          What() + ": aborting a transaction");
      if (!a.ok()) WF_LOG_WARN("sink", "{}", a.message());
      in_txn_ = false;
      // The aborted records are invisible to read_committed consumers; the pipeline
      // resends them from the durable position.
      return Unavailable(s.message() + " (transaction aborted; resending from " +
                         durable_.ToString() + ")");
    }
    return s;
  }
}

std::string KafkaSink::PositionRecord(const std::optional<TransactionProgress>& partial) const {
  std::string record = "{\"format\":1,\"sink\":";
  format::AppendJsonString(options_.name, &record);
  record += ",\"position\":\"" + written_.ToString() + "\",\"txn\":";
  format::AppendJsonString(txn_, &record);
  if (!written_source_state_.empty()) {
    record += ",\"source\":";
    format::AppendJsonString(written_source_state_, &record);
  }
  // Still inside the transaction a restart resumed in: what was committed of it stays so.
  const std::optional<TransactionProgress>& part = partial ? partial : committed_part_;
  if (part) {
    record += ",\"partial\":{\"commit_lsn\":\"" + part->commit_lsn.ToString() +
              "\",\"seq\":" + std::to_string(part->seq) + "}";
  }
  record += "}";
  return record;
}

Status KafkaSink::CommitTransaction(const std::optional<TransactionProgress>& partial) {
  WF_RETURN_IF_ERROR(BeginIfNeeded());
  const std::string record = PositionRecord(partial);
  WF_RETURN_IF_ERROR(Produce(offsets_topic_, options_.transactional_id, &record));
  WF_RETURN_IF_ERROR(CommitOrAbort());
  WF_RETURN_IF_ERROR(DeliveryError());
  if (partial) committed_part_ = partial;
  in_txn_ = false;
  pending_ = false;
  commit_requested_ = false;
  open_txn_changes_ = 0;
  durable_ = written_;
  durable_source_state_ = written_source_state_;
  return Status::OK();
}

Status KafkaSink::FlushProducer(const char* what) {
  rd_kafka_resp_err_t err =
      rd_kafka_flush(producer_.get(), static_cast<int>(options_.timeout.count()));
  WF_RETURN_IF_ERROR(DeliveryError());
  if (err) {
    std::string latest = client_errors_.Latest();
    return Unavailable(What() + ": " + what + " not delivered within " +
                       std::to_string(options_.timeout.count()) + " ms" +
                       (latest.empty() ? "" : " (" + latest + ")"));
  }
  return Status::OK();
}

Status KafkaSink::FlushAndRecordPosition() {
  // The position may only be stored once every record before it is known delivered: a
  // record that failed on another partition must not end up behind a stored position.
  WF_RETURN_IF_ERROR(FlushProducer("records"));
  WF_RETURN_IF_ERROR(BeginIfNeeded());
  const std::string record = PositionRecord(std::nullopt);
  WF_RETURN_IF_ERROR(Produce(offsets_topic_, options_.transactional_id, &record));
  WF_RETURN_IF_ERROR(FlushProducer("the position record"));
  in_txn_ = false;
  pending_ = false;
  durable_ = written_;
  durable_source_state_ = written_source_state_;
  return Status::OK();
}

Result<Lsn> KafkaSink::Checkpoint() {
  if (!pending_) return durable_;
  if (!options_.exactly_once) {
    WF_RETURN_IF_ERROR(FlushAndRecordPosition());
  } else if (open_txn_changes_ > 0) {
    // Inside a PostgreSQL transaction: Write commits at its end.
    commit_requested_ = true;
  } else {
    WF_RETURN_IF_ERROR(CommitTransaction(std::nullopt));
  }
  return durable_;
}

Result<Lsn> KafkaSink::Flush() {
  if (options_.exactly_once && pending_ && open_txn_changes_ > 0 && !partitioned_source_) {
    // Stopping inside a transaction (the pipeline waits for its end, but not forever):
    // commit what was written of it, with how far, as for a transaction above the bound.
    WF_RETURN_IF_ERROR(CommitTransaction(open_txn_));
    return durable_;
  }
  return Checkpoint();
}

Status KafkaSink::Close() {
  if (!producer_) return Status::OK();
  if (in_txn_ && options_.exactly_once) {
    Status s = kafka::FromError(rd_kafka_abort_transaction(producer_.get(), 5000),
                                What() + ": aborting the open transaction");
    if (!s.ok()) WF_LOG_WARN("sink", "{}", s.message());
  } else {
    rd_kafka_flush(producer_.get(), static_cast<int>(options_.timeout.count()));
  }
  in_txn_ = false;
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  topics_.clear();
  topic_by_schema_.clear();
  if (offsets_topic_) rd_kafka_topic_destroy(offsets_topic_);
  offsets_topic_ = nullptr;
  producer_.reset();
  return Status::OK();
}

}  // namespace walflow::sink
