#include "core/clock.h"

namespace walflow {
namespace {

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds timeout, const std::function<bool()>& wake) override {
    return cv.wait_for(lock, timeout, wake);
  }
};

}  // namespace

Clock& SystemClock() {
  static SteadyClock clock;
  return clock;
}

Clock::TimePoint ManualClock::Now() const {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

bool ManualClock::WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          std::chrono::milliseconds timeout, const std::function<bool()>& wake) {
  if (wake()) return true;
  {
    std::lock_guard<std::mutex> l(mu_);
    now_ += timeout;
    waits_.push_back(timeout);
  }
  return wake();
}

void ManualClock::Advance(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> l(mu_);
  now_ += d;
}

std::vector<std::chrono::milliseconds> ManualClock::waits() const {
  std::lock_guard<std::mutex> l(mu_);
  return waits_;
}

}  // namespace walflow
