// A running pipeline: its source (PostgreSQL or Kafka) delivering through the graph
// (runtime/graph.h) on the calling thread, one worker thread per sink. An attempt that
// fails with a retryable status (a lost connection, a sink down) is followed by another
// after a backoff, from what the sinks hold; errors that need the operator end Run() with a
// clear status. Steered through a Controller; reports into a MetricsRegistry.
#pragma once

#include <functional>
#include <memory>

#include "core/metrics.h"
#include "core/status.h"
#include "runtime/config.h"
#include "runtime/controller.h"
#include "runtime/operator.h"
#include "runtime/source.h"

namespace walflow::runtime {

// The source `config` describes.
std::unique_ptr<Source> MakeSource(const PipelineConfig& config, Controller& controller,
                                   MetricsRegistry& metrics);

// Runs `once` until it succeeds (or ends Cancelled, on request), stop is requested, or it
// fails with an error that retrying cannot fix; waits on the controller's clock with exponential
// backoff (0.5 s to 30 s, back to 0.5 s after an attempt that made progress or ran a minute)
// between attempts.
Status RunWithRetries(Controller& controller,
                      const std::function<Status(bool* made_progress)>& once);

// Makes the graph's operators (the views) anew for each attempt.
using OperatorFactory = std::function<Result<std::vector<std::unique_ptr<Operator>>>()>;

class Pipeline {
 public:
  Pipeline(PipelineConfig config, Controller& controller, MetricsRegistry& metrics,
           OperatorFactory operators = nullptr);
  ~Pipeline();

  // Streams until the controller says stop or an error that retrying cannot fix.
  Status Run();

 private:
  Status RunOnce(bool* made_progress);

  const PipelineConfig config_;
  Controller& controller_;
  MetricsRegistry& metrics_;
  OperatorFactory operators_;
  std::unique_ptr<Source> source_;
};

}  // namespace walflow::runtime
