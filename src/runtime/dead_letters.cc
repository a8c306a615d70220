#include "runtime/dead_letters.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/log.h"
#include "format/json_writer.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

constexpr int kBrokerTimeoutMs = 30000;

std::string_view Bytes(const void* p, size_t n) {
  return p ? std::string_view(static_cast<const char*>(p), n) : std::string_view();
}

// The record's bytes as a JSON string, or null for a null key or value.
void AppendMaybe(std::string_view bytes, bool present, std::string* out) {
  if (!present) {
    out->append("null");
    return;
  }
  format::AppendJsonString(bytes, out);
}

}  // namespace

DeadLetters::~DeadLetters() {
  if (fd_ >= 0) ::close(fd_);
}

Status DeadLetters::Open() {
  if (!config_.dead_letter_path.empty()) {
    WF_RETURN_IF_ERROR(storage::CreateDirectories(config_.dead_letter_path));
    std::string file = config_.dead_letter_path + "/dead-letters.jsonl";
    fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return IOError("source: cannot open dead-letter file " + file + ": " + std::strerror(errno));
    }
  }
  if (!config_.dead_letter_topic.empty()) {
    kafka::ClientSpec spec;
    spec.what = "source dead-letter topic " + config_.dead_letter_topic;
    spec.brokers = config_.brokers;
    spec.walflow_settings = {{"client.id", "walflow-dead-letters"}, {"enable.idempotence", "true"}};
    spec.user_settings = kafka::SecuritySettings(config_.properties);
    WF_ASSIGN_OR_RETURN(producer_, kafka::NewClient(RD_KAFKA_PRODUCER, spec, &errors_));
  }
  return Status::OK();
}

Status DeadLetters::Put(const rd_kafka_message_t* m, const std::string& reason) {
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
      return IOError("source: cannot write to the dead-letter file in " + config_.dead_letter_path +
                     ": " + std::strerror(errno));
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
    if (!err) err = rd_kafka_flush(producer_.get(), kBrokerTimeoutMs);
    if (err) {
      return kafka::FromCode(err,
                             "source: writing to dead-letter topic " + config_.dead_letter_topic);
    }
  }
  return Status::OK();
}

}  // namespace walflow::runtime
