// The Kafka source: Debezium-format topics (written by walflow or by Debezium) read in a
// consumer group; the records become change events delivered through the same graph as
// PostgreSQL's. Several processes with the same group_id split the partitions.
//
// Positions: each sink records, with its data, the next offset of every partition it
// holds (see source_offsets.h); group offsets are committed only for what every sink made
// durable. On assignment a partition starts at the group's committed offset (or, when the
// group has none, at the smallest offset the sinks recorded) and each sink skips what it
// already holds, so a restart after kill -9 neither loses nor duplicates. On revocation
// the source waits until what it read from those partitions is durable in every sink and
// commits before letting them go.
//
// A record that is not a Debezium change event goes, with the reason, to the dead-letter
// topic and/or file, is counted, and the source goes on.
#pragma once

#include <memory>
#include <string>

#include "core/metrics.h"
#include "runtime/config.h"
#include "runtime/controller.h"
#include "runtime/source.h"

namespace walflow::runtime {

class KafkaSource final : public Source {
 public:
  KafkaSource(const PipelineConfig& config, Controller& controller, MetricsRegistry& metrics);
  ~KafkaSource() override;

  std::string Describe() const override;
  bool partitioned() const override { return true; }
  Result<std::string> Connect() override;
  Status Stream(Graph& graph, bool* made_progress) override;
  void Close(Graph& graph, const Status& finished) override;

 private:
  struct Metrics;
  class Consumer;

  const PipelineConfig& config_;
  Controller& controller_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Consumer> run_;  // one attempt
};

}  // namespace walflow::runtime
