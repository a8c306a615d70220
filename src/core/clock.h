// Time as walflow's components see it: one interface, so that a test can run a backoff or
// a timeout without waiting for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace walflow {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;

  virtual TimePoint Now() const = 0;
  // With `lock` held on entry and exit: waits on `cv` until `wake()` is true or `timeout`
  // has passed, and returns wake().
  virtual bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::milliseconds timeout, const std::function<bool()>& wake) = 0;
};

// The steady clock and real waits.
Clock& SystemClock();

// A clock that moves only when a test advances it, or when something waits on it: a wait
// that nothing wakes passes at once and moves the clock by its timeout. Thread-safe.
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override;
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds timeout, const std::function<bool()>& wake) override;
  void Advance(std::chrono::milliseconds d);
  // Every wait that passed, in order: what a test checks of a backoff.
  std::vector<std::chrono::milliseconds> waits() const;

 private:
  mutable std::mutex mu_;
  TimePoint now_{};                               // GUARDED_BY(mu_)
  std::vector<std::chrono::milliseconds> waits_;  // GUARDED_BY(mu_)
};

}  // namespace walflow
