// A running pipeline: the PostgreSQL reader on the calling thread, one worker thread
// per sink, a heartbeat thread. The slot is confirmed only up to the smallest position
// every sink has made durable. Lost connections are retried with backoff from that
// position; errors that need the operator end Run() with a clear status.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "runtime/config.h"

namespace walflow::sink {
class Sink;
struct ParquetSinkOptions;
}  // namespace walflow::sink

namespace walflow::runtime {

// The sink a SinkConfig describes; `database` is source.db in its events.
std::unique_ptr<sink::Sink> MakeSink(const PipelineConfig& config, const SinkConfig& s,
                                     const std::string& database);
// Runs `once` until it succeeds, `stop` is set, or it fails with an error that retrying
// cannot fix; waits with exponential backoff (0.5 s to 30 s) between attempts.
Status RunWithRetries(const std::atomic<bool>& stop,
                      const std::function<Status(bool* made_progress)>& once);
// The options of a parquet sink.
sink::ParquetSinkOptions ParquetSinkOptionsFor(const SinkConfig& s);
// "jsonl /var/lib/out", "kafka 10.0.0.1:9092 (exactly once)": for logs.
std::string SinkDescription(const SinkConfig& s);

class Pipeline {
 public:
  explicit Pipeline(PipelineConfig config);

  // Streams until RequestStop() or an error that retrying cannot fix.
  Status Run();

  // Safe to call from a signal handler's thread: stops at the next transaction boundary.
  void RequestStop() { stop_.store(true); }

 private:
  Status RunOnce(bool* made_progress);

  PipelineConfig config_;
  std::atomic<bool> stop_{false};
  // Set once streaming has started: after a lost connection the server may still show the
  // slot active for our old session until it notices, which is worth waiting for.
  bool streamed_before_ = false;
  // `snapshot: always` re-reads the tables once per process, not after every reconnect.
  bool always_requested_ = false;
};

}  // namespace walflow::runtime
