// SIGINT and SIGTERM as controller commands: the first asks the pipeline to stop cleanly,
// a second ends the process at once (the sinks recover on the next start). The signals are
// blocked in every thread and read from a signalfd by a thread this object owns and joins,
// so nothing outlives the pipeline it steers.
#pragma once

#include <thread>

#include "runtime/controller.h"

namespace walflow::cli {

class SignalWatcher {
 public:
  // Call before starting any other thread (the mask is inherited).
  explicit SignalWatcher(runtime::Controller& controller);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Run();

  runtime::Controller& controller_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: written by the destructor to end the thread
  std::thread thread_;
};

}  // namespace walflow::cli
