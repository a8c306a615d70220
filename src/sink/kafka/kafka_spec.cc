#include "sink/kafka/kafka_spec.h"

#include "kafka/properties_config.h"

namespace walflow::sink {

Status KafkaSinkSpec::Parse(ConfigReader& r) {
  WF_RETURN_IF_ERROR(r.String("brokers", &brokers, true));
  WF_RETURN_IF_ERROR(r.String("topic_prefix", &topic_prefix));
  WF_RETURN_IF_ERROR(r.Bool("exactly_once", &exactly_once));
  WF_RETURN_IF_ERROR(r.String("transactional_id", &transactional_id));
  if (transactional_id.empty()) transactional_id = "walflow-" + name;
  WF_RETURN_IF_ERROR(r.Bool("tombstones", &tombstones));
  uint64_t partitions = 0, replication = 0;
  WF_RETURN_IF_ERROR(r.Integer("topic_partitions", 1, 100000, &partitions));
  WF_RETURN_IF_ERROR(r.Integer("topic_replication_factor", 1, 100, &replication));
  if (partitions > 0) topic_partitions = static_cast<int32_t>(partitions);
  if (replication > 0) topic_replication_factor = static_cast<int32_t>(replication);
  WF_RETURN_IF_ERROR(r.String("offsets_topic", &offsets_topic));
  WF_RETURN_IF_ERROR(r.Duration("timeout", std::chrono::milliseconds(1000), &timeout));
  WF_RETURN_IF_ERROR(r.Integer("max_transaction_records", 1, 1ull << 40, &max_transaction_records));
  WF_RETURN_IF_ERROR(kafka::ReadProperties(r, &properties));
  return encoding.Parse(r);
}

std::string KafkaSinkSpec::Describe() const {
  return "kafka " + brokers + (exactly_once ? " (exactly once)" : "");
}

SinkCapabilities KafkaSinkSpec::capabilities() const {
  SinkCapabilities caps;
  caps.transactional = exactly_once;
  // A Kafka transaction must not end inside a source transaction (read_committed consumers
  // would see it torn).
  caps.needs_transaction_boundaries = exactly_once;
  return caps;
}

std::unique_ptr<Sink> KafkaSinkSpec::Make(const SinkContext& context) const {
  KafkaSinkOptions o;
  o.name = name;
  o.brokers = brokers;
  o.topic_prefix = topic_prefix.empty() ? context.server_name : topic_prefix;
  o.exactly_once = exactly_once;
  o.transactional_id = transactional_id;
  o.tombstones = tombstones;
  o.topic_partitions = topic_partitions;
  o.topic_replication_factor = topic_replication_factor;
  o.offsets_topic = offsets_topic;
  o.properties = properties;
  o.timeout = timeout;
  o.max_transaction_records = max_transaction_records;
  o.encoding = encoding.For(context);
  return std::make_unique<KafkaSink>(std::move(o));
}

SinkCheck KafkaSinkSpec::Check() const {
  SinkCheck check;
  check.text = "sink " + name + " (kafka " + brokers + "): position kept in topic " +
               offsets_topic + ", read when it starts";
  return check;
}

}  // namespace walflow::sink
