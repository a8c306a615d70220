#include "runtime/controller.h"

#include "core/log.h"

namespace walflow::runtime {

const char* CommandKindName(CommandKind kind) {
  switch (kind) {
    case CommandKind::kStop: return "stop";
    case CommandKind::kPause: return "pause";
    case CommandKind::kResume: return "resume";
    case CommandKind::kSnapshot: return "snapshot";
  }
  return "?";
}

Controller::Controller(Clock& clock) : clock_(clock) {}

void Controller::Submit(Command command) {
  WF_LOG_INFO("control", "{}{}{} (from {})", CommandKindName(command.kind),
              command.table.empty() ? "" : " ", command.table,
              command.origin.empty() ? "unknown" : command.origin);
  std::lock_guard<std::mutex> lock(mu_);
  switch (command.kind) {
    case CommandKind::kStop:
      stop_.store(true);
      stop_source_.request_stop();
      break;
    case CommandKind::kPause: paused_.store(true); break;
    case CommandKind::kResume: paused_.store(false); break;
    case CommandKind::kSnapshot:
      requests_.push_back(std::move(command));
      has_requests_.store(true);
      break;
  }
  changed_.notify_all();
}

std::vector<Command> Controller::TakeRequests() {
  // Called per message read: no lock while there is nothing to take.
  if (!has_requests_.load(std::memory_order_relaxed)) return {};
  std::lock_guard<std::mutex> lock(mu_);
  has_requests_.store(false);
  std::vector<Command> out(std::make_move_iterator(requests_.begin()),
                           std::make_move_iterator(requests_.end()));
  requests_.clear();
  return out;
}

bool Controller::WaitForStop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return clock_.WaitFor(lock, changed_, timeout, [this] { return stop_.load(); });
}

}  // namespace walflow::runtime
