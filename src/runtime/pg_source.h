// The PostgreSQL source: a logical replication slot read with pgoutput (protocol 2, large
// transactions streamed and spooled), the initial snapshot from the slot's exported
// snapshot, re-snapshots while streaming (watermarks), heartbeats. The slot is confirmed
// only up to what the graph made durable (standby status updates).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "pg/change_assembler.h"
#include "pg/connection.h"
#include "pg/stream_capture.h"
#include "runtime/config.h"
#include "runtime/controller.h"
#include "runtime/snapshot.h"
#include "runtime/source.h"

namespace walflow::runtime {

class PostgresSource final : public Source {
 public:
  PostgresSource(const PipelineConfig& config, Controller& controller, MetricsRegistry& metrics);
  ~PostgresSource() override;

  std::string Describe() const override;
  bool partitioned() const override { return false; }
  Result<std::string> Connect() override;
  Status Stream(Graph& graph, bool* made_progress) override;
  void Close(Graph& graph, const Status& finished) override;

 private:
  struct Metrics;
  // Where the stream starts, from what the sinks hold and the snapshot state.
  Status PlanStart(const Graph& graph);
  // Creates the slot (with an exported snapshot) or checks the one there.
  Status PrepareSlot();
  Status PrepareSpool();
  // The initial snapshot from the exported snapshot; `*done` when the attempt ends here.
  Status RunInitialSnapshot(Graph& graph, bool* done);
  Status StartStreaming();
  Status StartIncrementalSnapshots();
  Status StreamLoop(Graph& graph, bool* made_progress);
  Status HandleMessage(std::string_view data, bool* made_progress);
  Status HandleRequests();
  // Keepalive while a sink's queue is full.
  Status KeepAlive();
  Status SendStatus(const Graph& graph, bool reply_requested);
  void ReportProgress(const Graph& graph);

  const PipelineConfig& config_;
  const PostgresSourceConfig& pg_;
  Controller& controller_;
  MetricsRegistry& registry_;
  std::unique_ptr<Metrics> metrics_;
  std::unordered_set<std::string> table_names_;
  std::string state_path_;
  // Set once streaming has started: after a lost connection the server may still show the
  // slot active for our old session until it notices, which is worth waiting for.
  bool streamed_before_ = false;
  // `snapshot: always` re-reads the tables once per process, not after every reconnect.
  bool always_requested_ = false;

  // One attempt (reset by Connect).
  struct Attempt;
  std::unique_ptr<Attempt> run_;
};

}  // namespace walflow::runtime
