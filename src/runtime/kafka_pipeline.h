// A pipeline fed by Debezium-format Kafka topics (written by walflow or by Debezium)
// instead of PostgreSQL: a consumer in a group reads them, the records become change
// events, and the same sink workers deliver them. Several processes with the same
// group_id split the partitions.
//
// Positions: each sink records, with its data, the next offset of every partition it
// holds (see source_offsets.h); group offsets are committed only for what every sink made
// durable. On assignment a partition starts at the group's committed offset (or, when the
// group has none, at the smallest offset the sinks recorded) and each sink skips what it
// already holds, so a restart after kill -9 neither loses nor duplicates. On revocation
// the pipeline waits until what it read from those partitions is durable in every sink
// and commits before letting them go.
//
// A record that is not a Debezium change event goes, with the reason, to the dead-letter
// topic and/or file, is counted, and the pipeline goes on.
#pragma once

#include <atomic>

#include "core/status.h"
#include "runtime/config.h"

namespace walflow::runtime {

class KafkaPipeline {
 public:
  explicit KafkaPipeline(PipelineConfig config);

  // Consumes until RequestStop() or an error that retrying cannot fix.
  Status Run();
  void RequestStop() { stop_.store(true); }

 private:
  Status RunOnce(bool* made_progress);

  PipelineConfig config_;
  std::atomic<bool> stop_{false};
};

}  // namespace walflow::runtime
