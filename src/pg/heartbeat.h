// Emits a non-transactional logical message now and then, so that the slot can advance
// while the captured tables are idle but the rest of the server writes WAL. Runs on its
// own thread with its own connection, from construction to destruction; failures are
// logged once and retried.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/secret.h"

namespace walflow::pg {

// The prefix of heartbeat messages; the change assembler ignores them.
extern const char* const kHeartbeatPrefix;

class Heartbeat {
 public:
  // `interval` 0: no thread, nothing emitted.
  Heartbeat(Secret dsn, std::chrono::milliseconds interval, std::string slot);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

 private:
  void Run();

  const Secret dsn_;
  const std::chrono::milliseconds interval_;
  const std::string slot_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace walflow::pg
