#include "runtime/pipeline.h"

#include <algorithm>

#include "core/log.h"
#include "runtime/kafka_source.h"
#include "runtime/pg_source.h"

namespace walflow::runtime {

using std::chrono::milliseconds;

std::unique_ptr<Source> MakeSource(const PipelineConfig& config, Controller& controller,
                                   MetricsRegistry& metrics) {
  switch (config.source_type) {
    case SourceType::kPostgres:
      return std::make_unique<PostgresSource>(config, controller, metrics);
    case SourceType::kKafka: return std::make_unique<KafkaSource>(config, controller, metrics);
  }
  return nullptr;
}

Status RunWithRetries(Controller& controller,
                      const std::function<Status(bool* made_progress)>& once) {
  Clock& clock = controller.clock();
  milliseconds backoff(500);
  while (true) {
    bool progress = false;
    const auto started = clock.Now();
    Status s = once(&progress);
    // Cancelled: the attempt ended because it was asked to.
    if (s.code() == StatusCode::kCancelled) return Status::OK();
    if (s.ok() || controller.stop_requested()) return s;
    if (!IsRetryable(s.code())) return s;
    if (progress || clock.Now() - started > std::chrono::seconds(60)) backoff = milliseconds(500);
    WF_LOG_WARN("pipeline", "{}; retrying in {} ms", s.message(), backoff.count());
    if (controller.WaitForStop(backoff)) return Status::OK();
    backoff = std::min(backoff * 2, milliseconds(30000));
  }
}

Pipeline::Pipeline(PipelineConfig config, Controller& controller, MetricsRegistry& metrics,
                   OperatorFactory operators)
    : config_(std::move(config)),
      controller_(controller),
      metrics_(metrics),
      operators_(std::move(operators)),
      source_(MakeSource(config_, controller_, metrics_)) {}

Pipeline::~Pipeline() = default;

Status Pipeline::Run() {
  WF_LOG_INFO("pipeline", "source: {}; {} sink(s)", source_->Describe(), config_.sinks.size());
  return RunWithRetries(controller_, [this](bool* progress) { return RunOnce(progress); });
}

Status Pipeline::RunOnce(bool* made_progress) {
  WF_ASSIGN_OR_RETURN(std::string database, source_->Connect());
  GraphOptions options;
  options.sink_context.server_name = config_.source_type == SourceType::kKafka
                                         ? config_.kafka.server_name
                                         : config_.postgres.server_name;
  options.sink_context.database = database;
  options.sink_context.unavailable_value_placeholder =
      config_.postgres.unavailable_value_placeholder;
  options.sink_context.stop = controller_.stop_token();
  options.partitioned_source = source_->partitioned();
  options.metrics = &metrics_;
  std::vector<std::unique_ptr<Operator>> operators;
  if (operators_) {
    WF_ASSIGN_OR_RETURN(operators, operators_());
  }
  WF_ASSIGN_OR_RETURN(auto graph, Graph::Open(config_, std::move(options), std::move(operators)));
  Status streamed = source_->Stream(*graph, made_progress);
  if (streamed.code() == StatusCode::kCancelled) streamed = Status::OK();
  Status finished = graph->Finish(streamed);
  source_->Close(*graph, finished);
  return finished;
}

}  // namespace walflow::runtime
