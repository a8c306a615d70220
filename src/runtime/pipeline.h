// A running pipeline: the PostgreSQL reader on the calling thread, one worker thread
// per sink, a heartbeat thread. The slot is confirmed only up to the smallest position
// every sink has made durable. Lost connections are retried with backoff from that
// position; errors that need the operator end Run() with a clear status.
#pragma once

#include <atomic>

#include "core/status.h"
#include "runtime/config.h"

namespace walflow::runtime {

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
