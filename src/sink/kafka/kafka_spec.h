// The Kafka sink's options in the pipeline file (type: kafka).
#pragma once

#include "sink/kafka/kafka_sink.h"
#include "sink/registry.h"

namespace walflow::sink {

class KafkaSinkSpec final : public SinkSpec {
 public:
  std::string brokers;
  std::string topic_prefix;  // empty: the source's name (Debezium's topic.prefix)
  bool exactly_once = false;
  std::string transactional_id;  // default "walflow-<sink name>"
  bool tombstones = true;
  int32_t topic_partitions = -1;          // for topics walflow creates; -1: broker default
  int32_t topic_replication_factor = -1;  // likewise
  std::string offsets_topic = "walflow_offsets";
  std::chrono::milliseconds timeout{30000};
  uint64_t max_transaction_records = 100000;  // exactly_once: larger transactions are split
  kafka::Properties properties;
  EventEncodingSpec encoding;

  Status Parse(ConfigReader& reader) override;
  std::string Describe() const override;
  SinkCapabilities capabilities() const override;
  std::unique_ptr<Sink> Make(const SinkContext& context) const override;
  SinkCheck Check() const override;
  // The transactional id: two sinks with one would fence each other.
  std::string Destination() const override { return "kafka transactional id " + transactional_id; }
};

}  // namespace walflow::sink
