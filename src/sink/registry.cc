#include "sink/registry.h"

#include "sink/jsonl/jsonl_spec.h"
#include "sink/kafka/kafka_spec.h"
#include "sink/parquet/parquet_spec.h"

namespace walflow::sink {

const std::vector<SinkType>& SinkTypes() {
  static const std::vector<SinkType> types = {
      {"jsonl", "Debezium JSON events, one per line, in rolled files",
       [] { return std::unique_ptr<SinkSpec>(new JsonlSinkSpec); }},
      {"kafka", "Debezium topics on a Kafka cluster, transactional or idempotent",
       [] { return std::unique_ptr<SinkSpec>(new KafkaSinkSpec); }},
      {"parquet", "change rows as Parquet files in a directory or an S3 bucket",
       [] { return std::unique_ptr<SinkSpec>(new ParquetSinkSpec); }},
  };
  return types;
}

std::string DescribeGuarantee(const SinkCapabilities& caps) {
  if (caps.transactional) return "exactly once";
  if (caps.idempotent) return "exactly once (idempotent writes)";
  return "at least once (a crash can repeat the changes since the last checkpoint)";
}

Result<std::unique_ptr<SinkSpec>> ParseSinkSpec(const YAML::Node& node, const std::string& file,
                                                size_t index) {
  ConfigReader r(node, "sinks[" + std::to_string(index) + "]", file);
  WF_RETURN_IF_ERROR(r.CheckIsMap());
  std::string name, type;
  WF_RETURN_IF_ERROR(r.String("name", &name, true));
  WF_RETURN_IF_ERROR(r.String("type", &type, true));
  const SinkType* found = nullptr;
  std::string available;
  for (const SinkType& t : SinkTypes()) {
    if (type == t.name) found = &t;
    available += (available.empty() ? "" : ", ") + std::string(t.name);
  }
  if (!found) {
    return ConfigError(r.At("type"),
                       "unknown sink type '" + type + "' (available: " + available + ")");
  }
  std::unique_ptr<SinkSpec> spec = found->create();
  spec->name = name;
  spec->type = type;
  spec->location = r.Here();
  bool has_from = false;
  WF_RETURN_IF_ERROR(r.StringList("from", &spec->from, &spec->from_locations, &has_from));
  WF_RETURN_IF_ERROR(
      r.Duration("flush_interval", std::chrono::milliseconds(10), &spec->flush_interval));
  WF_RETURN_IF_ERROR(spec->Parse(r));
  WF_RETURN_IF_ERROR(r.Finish());
  return spec;
}

Status EventEncodingSpec::Parse(ConfigReader& r) {
  WF_RETURN_IF_ERROR(
      r.Enum<format::DecimalHandling>("decimal_handling",
                                      {{"precise", format::DecimalHandling::kPrecise},
                                       {"string", format::DecimalHandling::kString},
                                       {"double", format::DecimalHandling::kDouble}},
                                      &decimal_handling));
  WF_RETURN_IF_ERROR(r.Bool("schemas", &schemas));
  return r.Bool("transaction_metadata", &transaction_metadata);
}

format::DebeziumOptions EventEncodingSpec::For(const SinkContext& context) const {
  format::DebeziumOptions o;
  o.server_name = context.server_name;
  o.database = context.database;
  o.unavailable_value_placeholder = context.unavailable_value_placeholder;
  o.decimal_handling = decimal_handling;
  o.schemas = schemas;
  o.transaction_metadata = transaction_metadata;
  return o;
}

}  // namespace walflow::sink
