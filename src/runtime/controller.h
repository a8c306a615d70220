// The one way to steer a running pipeline: signals, the CLI and (later) HTTP submit
// commands here; the pipeline's threads read them. Nothing else holds a pointer into a
// pipeline, so a command that arrives while it shuts down is harmless.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "core/clock.h"

namespace walflow::runtime {

enum class CommandKind {
  kStop,      // finish the transaction in hand, make the sinks durable, confirm, end
  kPause,     // stop reading the source (the server keeps the WAL; keepalives go on)
  kResume,    // read again
  kSnapshot,  // re-read `table` while streaming (PostgreSQL sources)
};
const char* CommandKindName(CommandKind kind);

struct Command {
  CommandKind kind = CommandKind::kStop;
  std::string table;   // kSnapshot: "schema.table"
  std::string origin;  // who asked ("SIGTERM", "http", ...), for the log
};

class Controller {
 public:
  explicit Controller(Clock& clock = SystemClock());
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Thread-safe, from any thread. Stop, pause and resume take effect at once; other
  // commands wait in order for the source to take them.
  void Submit(Command command);
  void RequestStop(std::string origin) { Submit({CommandKind::kStop, "", std::move(origin)}); }

  // Lock-free: read on the hot path.
  bool stop_requested() const { return stop_.load(std::memory_order_relaxed); }
  bool paused() const { return paused_.load(std::memory_order_relaxed); }
  // For components with long waits of their own (S3 retries): requested with stop.
  std::stop_token stop_token() const { return stop_source_.get_token(); }
  // For components that poll a flag (the initial snapshot's readers).
  const std::atomic<bool>* stop_flag() const { return &stop_; }

  // The queued commands other than stop, pause and resume, oldest first.
  std::vector<Command> TakeRequests();

  // Sleeps up to `timeout` on the controller's clock; true (at once) when stop is requested.
  bool WaitForStop(std::chrono::milliseconds timeout);

  Clock& clock() const { return clock_; }

 private:
  Clock& clock_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> has_requests_{false};  // lets TakeRequests skip the lock when empty
  std::stop_source stop_source_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Command> requests_;  // GUARDED_BY(mu_)
};

}  // namespace walflow::runtime
