#include "runtime/kafka_source.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>

#include "core/log.h"
#include "format/debezium_reader.h"
#include "kafka/client.h"
#include "runtime/dead_letters.h"
#include "runtime/source_offsets.h"

namespace walflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxBatchChanges = 4096;
constexpr size_t kMaxBatchBytes = 4u << 20;
constexpr milliseconds kBatchLinger{5};
constexpr milliseconds kCommitInterval{1000};
constexpr milliseconds kRevokeWait{60000};
constexpr milliseconds kBrokerTimeout{30000};

std::string StreamOf(const char* topic, int32_t partition) {
  return std::string(topic) + ":" + std::to_string(partition);
}

std::string_view Bytes(const void* p, size_t n) {
  return p ? std::string_view(static_cast<const char*>(p), n) : std::string_view();
}

}  // namespace

// The source's metrics, declared once here.
struct KafkaSource::Metrics {
  Counter* records;
  Counter* events;
  Counter* dead_letters;

  explicit Metrics(MetricsRegistry& r) {
    records = r.DeclareCounter("walflow_kafka_records_total", "Records read from the topics.")
                  .value()
                  ->With({});
    events = r.DeclareCounter("walflow_source_changes_total", "Row changes read from the source.")
                 .value()
                 ->With({});
    dead_letters = r.DeclareCounter("walflow_kafka_dead_letters_total",
                                    "Records that were not change events, set aside.")
                       .value()
                       ->With({});
  }
};

// One attempt: the consumer, the batch being built, what is delivered and what is committed.
class KafkaSource::Consumer : public kafka::ClientErrors {
 public:
  Consumer(const PipelineConfig& config, Controller& controller, Metrics& metrics)
      : config_(config), controller_(controller), metrics_(metrics), dead_letters_(config.kafka) {}

  Status Open() { return dead_letters_.Open(); }
  Status Stream(Graph& graph, bool* made_progress);
  void Close();

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Consumer*>(opaque)->Rebalance(err, parts);
  }
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void Assign(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void Revoke(rd_kafka_topic_partition_list_t* parts, bool cooperative);
  Status Subscribe();
  Status OnMessage(const rd_kafka_message_t* m);
  Status Flush();
  // Commits the offsets of everything every sink made durable.
  void CommitDurable(bool sync);
  void ApplyPause();

  const PipelineConfig& config_;
  Controller& controller_;
  Metrics& metrics_;
  DeadLetters dead_letters_;
  format::DebeziumReader reader_;
  Graph* graph_ = nullptr;
  kafka::Handle consumer_;
  bool graph_finished_ = false;
  bool paused_ = false;  // as applied to the assignment

  std::shared_ptr<ChangeBatch> batch_;
  const rd_kafka_topic_t* batch_topic_ = nullptr;
  int32_t batch_partition_ = -1;
  std::string batch_stream_;       // "topic:partition" of the batch
  int64_t batch_next_offset_ = 0;  // after its last record
  Clock::time_point batch_started_;
  // Orders the batches handed on (their markers' end_lsn), monotone across runs: it starts
  // past the highest position a sink holds. Not an offset: those are in the markers.
  uint64_t sequence_ = 0;
  Lsn pushed_;              // end of the last batch handed to the sinks
  SourceOffsets consumed_;  // next offset of every partition read in this run
  // Batches handed on and not yet committed: their end and the partition's next offset.
  struct Pending {
    Lsn end;
    std::string stream;
    int64_t next_offset;
  };
  std::deque<Pending> pending_;
  SourceOffsets to_commit_;
  uint64_t records_ = 0, events_ = 0;
};

void KafkaSource::Consumer::CommitDurable(bool sync) {
  const Lsn durable = graph_ ? graph_->Durable() : Lsn();
  while (!pending_.empty() && pending_.front().end <= durable) {
    to_commit_[pending_.front().stream] = pending_.front().next_offset;
    pending_.pop_front();
  }
  if (to_commit_.empty() || !consumer_) return;
  // Only partitions this member owns are in to_commit_ (revocation removes the others), so
  // committing an entry again is harmless; an asynchronous commit may fail unseen, so the
  // entries stay until a synchronous one succeeds.
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(to_commit_.size());
  for (const auto& [stream, offset] : to_commit_) {
    size_t colon = stream.rfind(':');
    rd_kafka_topic_partition_list_add(list, stream.substr(0, colon).c_str(),
                                      std::stoi(stream.substr(colon + 1)))
        ->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer_.get(), list, sync ? 0 : 1);
  rd_kafka_topic_partition_list_destroy(list);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    WF_LOG_WARN("source",
                "committing offsets of group {}: {} (the sinks hold the data and "
                "skip it if it is read again)",
                config_.kafka.group_id, rd_kafka_err2str(err));
    return;
  }
  if (sync) to_commit_.clear();
}

void KafkaSource::Consumer::Rebalance(rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative =
      std::strcmp(rd_kafka_rebalance_protocol(consumer_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Assign(parts, cooperative);
  } else {
    Revoke(parts, cooperative);
  }
}

void KafkaSource::Consumer::Assign(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  rd_kafka_resp_err_t cerr =
      rd_kafka_committed(consumer_.get(), parts, static_cast<int>(kBrokerTimeout.count()));
  if (cerr) {
    WF_LOG_WARN("source", "reading committed offsets of group {}: {}", config_.kafka.group_id,
                rd_kafka_err2str(cerr));
  }
  const std::vector<SourceOffsets> held = graph_->HeldOffsets();
  std::string described;
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& p = parts->elems[i];
    std::string stream = StreamOf(p.topic, p.partition);
    const int64_t committed = cerr ? RD_KAFKA_OFFSET_INVALID : p.offset;
    // The least any sink holds: records below it need not be read again (-1: some sink
    // holds none of the partition).
    int64_t least = -1;
    for (size_t k = 0; k < held.size(); ++k) {
      auto it = held[k].find(stream);
      int64_t h = it == held[k].end() ? -1 : it->second;
      least = k == 0 ? h : std::min(least, h);
    }
    int64_t start = committed;
    if (least >= 0 && least > start) start = least;  // sinks already hold past the commit
    if (start < 0) start = RD_KAFKA_OFFSET_INVALID;  // auto.offset.reset
    p.offset = start;
    described += (described.empty() ? "" : ", ") + stream + "@" +
                 (start >= 0 ? std::to_string(start) : std::string("reset"));
  }
  WF_LOG_INFO("source", "assigned {} partition(s) of group {}: {}", parts->cnt,
              config_.kafka.group_id, described);
  if (cooperative) {
    Status s = kafka::FromError(rd_kafka_incremental_assign(consumer_.get(), parts),
                                "source: taking the assigned partitions");
    if (!s.ok()) WF_LOG_ERROR("source", "{}", s.message());
  } else {
    rd_kafka_assign(consumer_.get(), parts);
  }
  paused_ = false;  // the new assignment is read; ApplyPause pauses it again if asked
}

void KafkaSource::Consumer::Revoke(rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  // Revoked (or lost): what was read from them must be durable and committed first, or
  // their next owner reads it again.
  if (!graph_finished_) {
    Status s = Flush();
    if (s.ok() && !graph_->WaitDurable(pushed_, kRevokeWait)) {
      s = Unavailable("the sinks did not make the revoked partitions' records durable in time");
    }
    if (!s.ok()) {
      WF_LOG_WARN("source",
                  "partitions revoked before their records were durable ({}); their "
                  "next owner reads the uncommitted ones again",
                  s.message());
    }
  }
  CommitDurable(true);
  // Forget them: committing their offsets later could move another member's back.
  for (int i = 0; i < parts->cnt; ++i) {
    std::string stream = StreamOf(parts->elems[i].topic, parts->elems[i].partition);
    to_commit_.erase(stream);
    std::erase_if(pending_, [&](const Pending& p) { return p.stream == stream; });
  }
  WF_LOG_INFO("source", "{} partition(s) revoked from this member of group {}", parts->cnt,
              config_.kafka.group_id);
  if (cooperative) {
    Status s = kafka::FromError(rd_kafka_incremental_unassign(consumer_.get(), parts),
                                "source: giving up the revoked partitions");
    if (!s.ok()) WF_LOG_ERROR("source", "{}", s.message());
  } else {
    rd_kafka_assign(consumer_.get(), nullptr);
  }
}

Status KafkaSource::Consumer::OnMessage(const rd_kafka_message_t* m) {
  // A batch holds one partition's records; a topic's handle is the same for all of them.
  if (batch_ && (m->rkt != batch_topic_ || m->partition != batch_partition_)) {
    WF_RETURN_IF_ERROR(Flush());
  }
  if (!batch_) {
    batch_ = std::make_shared<ChangeBatch>();
    batch_topic_ = m->rkt;
    batch_partition_ = m->partition;
    batch_stream_ = StreamOf(rd_kafka_topic_name(m->rkt), m->partition);
    batch_started_ = Clock::now();
  }
  ++records_;
  metrics_.records->Add();
  bool added = false;
  const size_t before = batch_->changes().size();
  Status s = reader_.Append(rd_kafka_topic_name(m->rkt), Bytes(m->key, m->key_len),
                            Bytes(m->payload, m->len), batch_.get(), &added);
  if (!s.ok()) {
    WF_RETURN_IF_ERROR(dead_letters_.Put(m, s.message()));
    metrics_.dead_letters->Add();
    added = false;
  }
  TxMarker marker;
  marker.change_end = static_cast<uint32_t>(batch_->changes().size());
  marker.source_offset = m->offset;
  marker.end_lsn = Lsn(++sequence_);
  if (added && batch_->changes().size() > before) {
    Change& c = batch_->mutable_changes().back();
    if (c.seq == 0) c.seq = 1;
    marker.commit_lsn = c.commit_lsn;
    marker.xid = c.xid;
    marker.commit_time_us = c.commit_time_us;
    marker.change_count = 1;
    ++events_;
    metrics_.events->Add();
  }
  batch_->AddMarker(marker);
  batch_next_offset_ = m->offset + 1;
  if (batch_->changes().size() >= kMaxBatchChanges || batch_->byte_size() >= kMaxBatchBytes) {
    return Flush();
  }
  return Status::OK();
}

Status KafkaSource::Consumer::Flush() {
  if (!batch_) return Status::OK();
  std::shared_ptr<ChangeBatch> batch = std::move(batch_);
  batch_.reset();
  consumed_[batch_stream_] = batch_next_offset_;
  batch->set_source_position(batch_stream_, FormatSourceOffsets(consumed_));
  const Lsn end = batch->markers().back().end_lsn;
  pending_.push_back({end, batch_stream_, batch_next_offset_});
  WF_RETURN_IF_ERROR(graph_->Deliver(batch, [this]() -> Status {
    if (controller_.stop_requested()) return Cancelled("stopping");
    return Status::OK();
  }));
  pushed_ = end;
  return Status::OK();
}

Status KafkaSource::Consumer::Subscribe() {
  const KafkaSourceConfig& kc = config_.kafka;
  kafka::ClientSpec spec;
  spec.what = "source";
  spec.brokers = kc.brokers;
  spec.walflow_settings = {
      {"client.id", "walflow-" + kc.group_id}, {"group.id", kc.group_id},
      {"enable.auto.commit", "false"},         {"enable.auto.offset.store", "false"},
      {"isolation.level", "read_committed"},   {"auto.offset.reset", "earliest"}};
  spec.user_settings = kc.properties;
  spec.prepare = [](rd_kafka_conf_t* conf, void*) {
    rd_kafka_conf_set_rebalance_cb(conf, &Consumer::OnRebalance);
  };
  spec.opaque = this;
  WF_ASSIGN_OR_RETURN(consumer_, kafka::NewClient(RD_KAFKA_CONSUMER, spec, this));
  rd_kafka_poll_set_consumer(consumer_.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(kc.topics.size());
  for (const std::string& t : kc.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) return kafka::FromCode(err, "source: subscribing to the topics");
  WF_LOG_INFO("source", "consuming {} topic(s) from {} as group {}", kc.topics.size(), kc.brokers,
              kc.group_id);
  return Status::OK();
}

void KafkaSource::Consumer::ApplyPause() {
  const bool want = controller_.paused();
  if (want == paused_ || !consumer_) return;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(consumer_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  rd_kafka_resp_err_t err = want ? rd_kafka_pause_partitions(consumer_.get(), assigned)
                                 : rd_kafka_resume_partitions(consumer_.get(), assigned);
  rd_kafka_topic_partition_list_destroy(assigned);
  if (err) {
    WF_LOG_WARN("source", "{} the partitions: {}", want ? "pausing" : "resuming",
                rd_kafka_err2str(err));
    return;
  }
  WF_LOG_INFO("source", "{}", want ? "paused" : "resumed");
  paused_ = want;
}

Status KafkaSource::Consumer::Stream(Graph& graph, bool* made_progress) {
  graph_ = &graph;
  Lsn highest;
  for (const SinkHolding& h : graph.holdings()) highest = std::max(highest, h.durable);
  sequence_ = highest.value;
  WF_RETURN_IF_ERROR(Subscribe());
  graph.Start();

  const KafkaSourceConfig& kc = config_.kafka;
  Status status;
  auto last_commit = Clock::now();
  auto last_progress = Clock::now();
  auto last_broker_warning = Clock::now() - std::chrono::hours(1);
  std::string last_error;
  while (!controller_.stop_requested()) {
    if (!(status = graph.Health()).ok()) break;
    ApplyPause();
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100);
    if (m) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        status = OnMessage(m);
        *made_progress = true;
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        std::string text = rd_kafka_message_errstr(m);
        if (text != last_error) WF_LOG_WARN("source", "{}", text);
        last_error = text;
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
          char buf[512];
          rd_kafka_fatal_error(consumer_.get(), buf, sizeof buf);
          status = Aborted(std::string("source: ") + buf);
        }
      }
      rd_kafka_message_destroy(m);
      if (!status.ok()) break;
    }
    if (batch_ && (!m || Clock::now() - batch_started_ >= kBatchLinger)) {
      if (!(status = Flush()).ok()) break;
    }
    auto now = Clock::now();
    if (AuthenticationFailed()) {
      status = kafka::WithClientErrors(Unavailable("source: cannot read the topics"), *this,
                                       kc.brokers, "source");
      break;
    }
    std::string broker_error = Latest();
    if (!broker_error.empty()) {
      if (now - last_broker_warning > std::chrono::seconds(10)) {
        WF_LOG_WARN("source", "brokers {}: {} (retrying)", kc.brokers, broker_error);
        last_broker_warning = now;
      }
      Clear();
    }
    if (now - last_commit >= kCommitInterval) {
      CommitDurable(false);
      last_commit = now;
    }
    if (config_.progress_interval.count() > 0 && now - last_progress >= config_.progress_interval) {
      WF_LOG_INFO("source", "{} record(s) read, {} event(s), {} dead letter(s), durable {}/{}",
                  metrics_.records->value(), metrics_.events->value(),
                  metrics_.dead_letters->value(), graph.Durable().value, pushed_.value);
      last_progress = now;
    }
  }
  if (status.code() == StatusCode::kCancelled) status = Status::OK();
  // Stop: deliver what was read; the pipeline then makes it durable and Close commits.
  if (status.ok()) status = Flush();
  if (status.code() == StatusCode::kCancelled) status = Status::OK();
  return status;
}

void KafkaSource::Consumer::Close() {
  graph_finished_ = true;
  CommitDurable(true);
  if (consumer_) rd_kafka_consumer_close(consumer_.get());
  WF_LOG_INFO("source", "stopped: {} record(s) read, {} event(s), {} dead letter(s)", records_,
              events_, dead_letters_.count());
}

KafkaSource::KafkaSource(const PipelineConfig& config, Controller& controller,
                         MetricsRegistry& metrics)
    : config_(config), controller_(controller), metrics_(std::make_unique<Metrics>(metrics)) {}

KafkaSource::~KafkaSource() = default;

std::string KafkaSource::Describe() const {
  return "kafka " + config_.kafka.brokers + " group " + config_.kafka.group_id + " (" +
         std::to_string(config_.kafka.topics.size()) + " topic(s))";
}

Result<std::string> KafkaSource::Connect() {
  run_ = std::make_unique<Consumer>(config_, controller_, *metrics_);
  WF_RETURN_IF_ERROR(run_->Open());
  return config_.kafka.server_name;  // source.db of the events the sinks write
}

Status KafkaSource::Stream(Graph& graph, bool* made_progress) {
  return run_->Stream(graph, made_progress);
}

void KafkaSource::Close(Graph& graph, const Status& finished) {
  if (!run_) return;
  run_->Close();
  run_.reset();
}

}  // namespace walflow::runtime
