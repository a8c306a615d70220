#include "runtime/kafka_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>

#include "core/log.h"
#include "format/debezium_reader.h"
#include "format/json_writer.h"
#include "kafka/client.h"
#include "runtime/pipeline.h"
#include "runtime/sink_worker.h"
#include "runtime/source_offsets.h"
#include "sink/sink.h"
#include "storage/file_io.h"

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

// Where malformed records go: a topic on the source's cluster, a file of JSON lines, or
// both. Each is durable before the record's offset can be committed.
class DeadLetters {
 public:
  explicit DeadLetters(const KafkaSourceConfig& config) : config_(config) {}
  ~DeadLetters() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Open() {
    if (!config_.dead_letter_path.empty()) {
      WF_RETURN_IF_ERROR(storage::CreateDirectories(config_.dead_letter_path));
      std::string file = config_.dead_letter_path + "/dead-letters.jsonl";
      fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd_ < 0) {
        return IOError("source: cannot open dead-letter file " + file + ": " +
                       std::strerror(errno));
      }
    }
    if (!config_.dead_letter_topic.empty()) {
      kafka::ClientSpec spec;
      spec.what = "source dead-letter topic " + config_.dead_letter_topic;
      spec.brokers = config_.brokers;
      spec.walflow_settings = {{"client.id", "walflow-dead-letters"},
                               {"enable.idempotence", "true"}};
      spec.user_settings = kafka::SecuritySettings(config_.properties);
      WF_ASSIGN_OR_RETURN(producer_, kafka::NewClient(RD_KAFKA_PRODUCER, spec, &errors_));
    }
    return Status::OK();
  }

  Status Put(const rd_kafka_message_t* m, const std::string& reason) {
    ++count_;
    const char* topic = rd_kafka_topic_name(m->rkt);
    WF_LOG_WARN("source", "dead letter: topic {} partition {} offset {}: {}", topic, m->partition,
                m->offset, reason);
    if (fd_ >= 0) {
      std::string line = "{\"topic\":";
      format::AppendJsonString(topic, &line);
      line += ",\"partition\":" + std::to_string(m->partition) +
              ",\"offset\":" + std::to_string(m->offset) + ",\"error\":";
      format::AppendJsonString(reason, &line);
      line += ",\"key\":";
      AppendMaybe(Bytes(m->key, m->key_len), m->key != nullptr, &line);
      line += ",\"value\":";
      AppendMaybe(Bytes(m->payload, m->len), m->payload != nullptr, &line);
      line += "}\n";
      if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
          ::fdatasync(fd_) != 0) {
        return IOError("source: cannot write to the dead-letter file in " +
                       config_.dead_letter_path + ": " + std::strerror(errno));
      }
    }
    if (producer_) {
      std::string partition = std::to_string(m->partition), offset = std::to_string(m->offset);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_TOPIC(config_.dead_letter_topic.c_str()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
          RD_KAFKA_V_VALUE(m->payload, m->len),
          RD_KAFKA_V_HEADER("walflow.error", reason.data(), static_cast<ssize_t>(reason.size())),
          RD_KAFKA_V_HEADER("walflow.topic", topic, -1),
          RD_KAFKA_V_HEADER("walflow.partition", partition.c_str(), -1),
          RD_KAFKA_V_HEADER("walflow.offset", offset.c_str(), -1), RD_KAFKA_V_END);
      if (!err) err = rd_kafka_flush(producer_.get(), static_cast<int>(kBrokerTimeout.count()));
      if (err) {
        return kafka::FromCode(err,
                               "source: writing to dead-letter topic " + config_.dead_letter_topic);
      }
    }
    return Status::OK();
  }

  uint64_t count() const { return count_; }

 private:
  // The record's bytes as a JSON string, or null for a null key or value.
  static void AppendMaybe(std::string_view bytes, bool present, std::string* out) {
    if (!present) {
      out->append("null");
      return;
    }
    format::AppendJsonString(bytes, out);
  }

  const KafkaSourceConfig& config_;
  int fd_ = -1;
  kafka::ClientErrors errors_;
  kafka::Handle producer_;
  uint64_t count_ = 0;
};

// One run: the consumer, the batch being built, what is pushed and what is committed.
class ConsumerRun : public kafka::ClientErrors {
 public:
  ConsumerRun(const PipelineConfig& config, std::atomic<bool>& stop)
      : config_(config), stop_(stop), dead_letters_(config.kafka) {}

  Status Go(bool* made_progress);

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<ConsumerRun*>(opaque)->Rebalance(err, parts);
  }
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  Status OnMessage(const rd_kafka_message_t* m);
  Status Flush();
  Lsn MinDurable() const;
  Status CheckWorkers() const;
  // Commits the offsets of everything every sink made durable.
  void CommitDurable(bool sync);
  bool WaitDurable(Lsn target, milliseconds timeout);

  const PipelineConfig& config_;
  std::atomic<bool>& stop_;
  DeadLetters dead_letters_;
  format::DebeziumReader reader_;
  std::vector<std::unique_ptr<SinkWorker>> workers_;
  kafka::Handle consumer_;
  bool workers_finished_ = false;

  std::shared_ptr<ChangeBatch> batch_;
  const rd_kafka_topic_t* batch_topic_ = nullptr;
  int32_t batch_partition_ = -1;
  std::string batch_stream_;       // "topic:partition" of the batch
  int64_t batch_next_offset_ = 0;  // after its last record
  Clock::time_point batch_started_;
  uint64_t counter_ = 0;    // end_lsn of the last marker built (monotone across runs)
  Lsn pushed_;              // end_lsn of the last batch handed to the sinks
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

Lsn ConsumerRun::MinDurable() const {
  Lsn min;
  bool first = true;
  for (const auto& w : workers_) {
    if (first || w->durable() < min) min = w->durable();
    first = false;
  }
  return min;
}

Status ConsumerRun::CheckWorkers() const {
  for (const auto& w : workers_) {
    if (w->failed()) return w->error();
  }
  return Status::OK();
}

bool ConsumerRun::WaitDurable(Lsn target, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (MinDurable() < target) {
    if (!CheckWorkers().ok() || Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

void ConsumerRun::CommitDurable(bool sync) {
  Lsn durable = MinDurable();
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

void ConsumerRun::Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative =
      std::strcmp(rd_kafka_rebalance_protocol(consumer_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_resp_err_t cerr =
        rd_kafka_committed(consumer_.get(), parts, static_cast<int>(kBrokerTimeout.count()));
    if (cerr) {
      WF_LOG_WARN("source", "reading committed offsets of group {}: {}", config_.kafka.group_id,
                  rd_kafka_err2str(cerr));
    }
    std::vector<SourceOffsets> held;
    for (const auto& w : workers_) held.push_back(w->held_offsets());
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
    return;
  }
  // Revoked (or lost): what was read from them must be durable and committed first, or
  // their next owner reads it again.
  if (!workers_finished_) {
    Status s = Flush();
    if (s.ok() && !WaitDurable(pushed_, kRevokeWait)) {
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

Status ConsumerRun::OnMessage(const rd_kafka_message_t* m) {
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
  bool added = false;
  const size_t before = batch_->changes().size();
  Status s = reader_.Append(rd_kafka_topic_name(m->rkt), Bytes(m->key, m->key_len),
                            Bytes(m->payload, m->len), batch_.get(), &added);
  if (!s.ok()) {
    WF_RETURN_IF_ERROR(dead_letters_.Put(m, s.message()));
    added = false;
  }
  TxMarker marker;
  marker.change_end = static_cast<uint32_t>(batch_->changes().size());
  marker.commit_lsn = Lsn(static_cast<uint64_t>(m->offset) + 1);
  marker.end_lsn = Lsn(++counter_);
  if (added && batch_->changes().size() > before) {
    Change& c = batch_->mutable_changes().back();
    if (c.seq == 0) c.seq = 1;
    marker.xid = c.xid;
    marker.commit_time_us = c.commit_time_us;
    marker.change_count = 1;
    ++events_;
  }
  batch_->AddMarker(marker);
  batch_next_offset_ = m->offset + 1;
  if (batch_->changes().size() >= kMaxBatchChanges || batch_->byte_size() >= kMaxBatchBytes) {
    return Flush();
  }
  return Status::OK();
}

Status ConsumerRun::Flush() {
  if (!batch_) return Status::OK();
  std::shared_ptr<ChangeBatch> batch = std::move(batch_);
  batch_.reset();
  consumed_[batch_stream_] = batch_next_offset_;
  batch->set_source_position(batch_stream_, FormatSourceOffsets(consumed_));
  const Lsn end = batch->markers().back().end_lsn;
  pending_.push_back({end, batch_stream_, batch_next_offset_});
  ChangeBatchPtr shared = batch;
  for (auto& w : workers_) {
    while (!w->Push(shared, milliseconds(100))) {
      WF_RETURN_IF_ERROR(CheckWorkers());
      if (stop_.load()) return Cancelled("stopping");
    }
  }
  pushed_ = end;
  return Status::OK();
}

Status ConsumerRun::Go(bool* made_progress) {
  const KafkaSourceConfig& kc = config_.kafka;
  WF_RETURN_IF_ERROR(dead_letters_.Open());
  Lsn highest;
  for (const SinkConfig& s : config_.sinks) {
    auto w = std::make_unique<SinkWorker>(MakeSink(config_, s, kc.server_name),
                                          config_.queue_batches, s.flush_interval);
    WF_ASSIGN_OR_RETURN(Lsn durable, w->Open());
    WF_RETURN_IF_ERROR(w->UseSourceOffsets());
    WF_LOG_INFO("sink", "sink {} ({}): {}", s.name, SinkDescription(s),
                w->held_offsets().empty() ? std::string("holds nothing from Kafka yet")
                                          : "holds " + FormatSourceOffsets(w->held_offsets()));
    if (highest < durable) highest = durable;
    workers_.push_back(std::move(w));
  }
  counter_ = highest.value;

  kafka::ClientSpec spec;
  spec.what = "source";
  spec.brokers = kc.brokers;
  spec.walflow_settings = {
      {"client.id", "walflow-" + kc.group_id}, {"group.id", kc.group_id},
      {"enable.auto.commit", "false"},         {"enable.auto.offset.store", "false"},
      {"isolation.level", "read_committed"},   {"auto.offset.reset", "earliest"}};
  spec.user_settings = kc.properties;
  spec.prepare = [](rd_kafka_conf_t* conf, void*) {
    rd_kafka_conf_set_rebalance_cb(conf, &ConsumerRun::OnRebalance);
  };
  WF_ASSIGN_OR_RETURN(consumer_, kafka::NewClient(RD_KAFKA_CONSUMER, spec, this));
  rd_kafka_poll_set_consumer(consumer_.get());
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(kc.topics.size());
  for (const std::string& t : kc.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) return kafka::FromCode(err, "source: subscribing to the topics");
  for (auto& w : workers_) w->Start();
  WF_LOG_INFO("source", "consuming {} topic(s) from {} as group {}", kc.topics.size(), kc.brokers,
              kc.group_id);

  Status status;
  auto last_commit = Clock::now();
  auto last_progress = Clock::now();
  auto last_broker_warning = Clock::now() - std::chrono::hours(1);
  std::string last_error;
  while (!stop_.load()) {
    if (!(status = CheckWorkers()).ok()) break;
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
                  records_, events_, dead_letters_.count(), MinDurable().value, pushed_.value);
      last_progress = now;
    }
  }
  if (status.code() == StatusCode::kCancelled) status = Status::OK();

  // Stop: deliver what was read, make it durable, commit, leave the group.
  if (status.ok()) status = Flush();
  Status finish;
  for (auto& w : workers_) {
    Status s = w->Finish();
    if (finish.ok() && !s.ok()) finish = s;
  }
  workers_finished_ = true;
  if (finish.ok()) CommitDurable(true);
  rd_kafka_consumer_close(consumer_.get());
  WF_LOG_INFO("source", "stopped: {} record(s) read, {} event(s), {} dead letter(s)", records_,
              events_, dead_letters_.count());
  return status.ok() ? finish : status;
}

}  // namespace

KafkaPipeline::KafkaPipeline(PipelineConfig config) : config_(std::move(config)) {}

Status KafkaPipeline::Run() {
  return RunWithRetries(
      stop_, [this](bool* progress) { return ConsumerRun(config_, stop_).Go(progress); });
}

}  // namespace walflow::runtime
