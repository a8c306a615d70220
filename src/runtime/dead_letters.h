// Where a Kafka source puts records that are not Debezium change events: a topic on the
// source's cluster, a file of JSON lines, or both, each with the reason. A record is
// durable there before its offset can be committed.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>

#include "core/status.h"
#include "kafka/client.h"
#include "runtime/config.h"

namespace walflow::runtime {

class DeadLetters {
 public:
  explicit DeadLetters(const KafkaSourceConfig& config) : config_(config) {}
  ~DeadLetters();
  DeadLetters(const DeadLetters&) = delete;
  DeadLetters& operator=(const DeadLetters&) = delete;

  Status Open();
  // Writes `m` with `reason` to every configured place, durably.
  Status Put(const rd_kafka_message_t* m, const std::string& reason);
  uint64_t count() const { return count_; }

 private:
  const KafkaSourceConfig& config_;
  int fd_ = -1;
  kafka::ClientErrors errors_;
  kafka::Handle producer_;
  uint64_t count_ = 0;
};

}  // namespace walflow::runtime
