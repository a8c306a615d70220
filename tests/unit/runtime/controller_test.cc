// The controller (stop, pause, resume and queued snapshot requests from any thread, waits on
// an injected clock) and RunWithRetries' backoff, timed on a ManualClock.
#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "runtime/pipeline.h"

namespace walflow::runtime {
namespace {

using std::chrono::milliseconds;
using Waits = std::vector<milliseconds>;

Command Snapshot(std::string table, std::string origin) {
  return {CommandKind::kSnapshot, std::move(table), std::move(origin)};
}

TEST(ControllerTest, StopSetsTheFlagTheStopTokenAndTheStopFlag) {
  Controller c;
  std::stop_token token = c.stop_token();
  bool callback_ran = false;
  std::stop_callback callback(token, [&] { callback_ran = true; });
  EXPECT_FALSE(c.stop_requested());
  EXPECT_FALSE(token.stop_requested());
  EXPECT_FALSE(c.stop_flag()->load());

  c.RequestStop("SIGTERM");
  EXPECT_TRUE(c.stop_requested());
  EXPECT_TRUE(token.stop_requested());
  EXPECT_TRUE(c.stop_token().stop_requested());
  EXPECT_TRUE(c.stop_flag()->load());
  EXPECT_TRUE(callback_ran);
  EXPECT_TRUE(c.TakeRequests().empty()) << "stop is not queued";
  // A second stop is harmless.
  c.Submit({CommandKind::kStop, "", "http"});
  EXPECT_TRUE(c.stop_requested());
}

TEST(ControllerTest, PauseAndResumeTakeEffectAtOnceAndAreNotQueued) {
  Controller c;
  EXPECT_FALSE(c.paused());
  c.Submit({CommandKind::kPause, "", "cli"});
  EXPECT_TRUE(c.paused());
  c.Submit({CommandKind::kPause, "", "cli"});
  EXPECT_TRUE(c.paused());
  c.Submit({CommandKind::kResume, "", "cli"});
  EXPECT_FALSE(c.paused());
  c.Submit({CommandKind::kResume, "", "cli"});
  EXPECT_FALSE(c.paused());
  EXPECT_FALSE(c.stop_requested());
  EXPECT_TRUE(c.TakeRequests().empty());
}

TEST(ControllerTest, TakeRequestsReturnsOnlySnapshotRequestsInOrder) {
  Controller c;
  c.Submit(Snapshot("public.a", "http"));
  c.Submit({CommandKind::kPause, "", "cli"});
  c.Submit(Snapshot("public.b", "cli"));
  c.Submit({CommandKind::kResume, "", "cli"});
  c.Submit(Snapshot("shop.c", "http"));
  std::vector<Command> taken = c.TakeRequests();
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[0].kind, CommandKind::kSnapshot);
  EXPECT_EQ(taken[0].table, "public.a");
  EXPECT_EQ(taken[0].origin, "http");
  EXPECT_EQ(taken[1].table, "public.b");
  EXPECT_EQ(taken[1].origin, "cli");
  EXPECT_EQ(taken[2].table, "shop.c");
  EXPECT_TRUE(c.TakeRequests().empty()) << "taken once";
  c.Submit(Snapshot("public.d", "http"));
  taken = c.TakeRequests();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].table, "public.d");
}

TEST(ControllerTest, CommandsFromSeveralThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  Controller c;
  std::vector<Command> taken;
  std::atomic<int> running{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c, &running, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c.Submit(Snapshot("s.t" + std::to_string(i), "thread" + std::to_string(t)));
        c.Submit({i % 2 ? CommandKind::kResume : CommandKind::kPause, "", "x"});
      }
      running.fetch_sub(1);
    });
  }
  // Take while they submit: nothing is lost or reordered.
  while (running.load() > 0) {
    for (Command& cmd : c.TakeRequests()) taken.push_back(std::move(cmd));
  }
  for (auto& th : threads) th.join();
  for (Command& cmd : c.TakeRequests()) taken.push_back(std::move(cmd));

  ASSERT_EQ(taken.size(), size_t{kThreads * kPerThread});
  std::map<std::string, int> next;  // origin → index of its next table
  for (const Command& cmd : taken) {
    ASSERT_EQ(cmd.kind, CommandKind::kSnapshot);
    int& i = next[cmd.origin];
    EXPECT_EQ(cmd.table, "s.t" + std::to_string(i)) << cmd.origin;
    ++i;
  }
  ASSERT_EQ(next.size(), size_t{kThreads});
  for (const auto& [origin, n] : next) EXPECT_EQ(n, kPerThread) << origin;
  // Every thread's last command was a resume.
  EXPECT_FALSE(c.paused());
  EXPECT_FALSE(c.stop_requested());
}

// The steady clock's waits, announcing each one once it has started: with the controller's
// lock held, so a stop submitted after the announcement finds the waiter waiting.
class AnnouncingClock final : public Clock {
 public:
  TimePoint Now() const override { return SystemClock().Now(); }
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               milliseconds timeout, const std::function<bool()>& wake) override {
    if (!announced_.exchange(true)) waiting_.set_value();
    return SystemClock().WaitFor(lock, cv, timeout, wake);
  }
  std::future<void> waiting() { return waiting_.get_future(); }

 private:
  std::atomic<bool> announced_{false};
  std::promise<void> waiting_;
};

TEST(ControllerWaitTest, RealClockWaitEndsAtOnceWhenStopIsAlreadyRequested) {
  Controller c;
  c.RequestStop("test");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.WaitForStop(milliseconds(10000)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(ControllerWaitTest, RealClockWaitIsWokenByAStopFromAnotherThread) {
  AnnouncingClock clock;
  Controller c(clock);
  std::future<void> waiting = clock.waiting();
  std::thread stopper([&] {
    waiting.wait();
    c.RequestStop("other thread");
  });
  const auto started = std::chrono::steady_clock::now();
  const bool stopped = c.WaitForStop(milliseconds(10000));
  const auto took = std::chrono::steady_clock::now() - started;
  stopper.join();
  EXPECT_TRUE(stopped);
  EXPECT_LT(took, std::chrono::seconds(5)) << "woken, not timed out";
}

TEST(ControllerWaitTest, RealClockWaitTimesOutWithoutStop) {
  Controller c;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.WaitForStop(milliseconds(30)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(30));
}

TEST(ControllerWaitTest, ManualClockWaitPassesAtOnceAndIsRecorded) {
  ManualClock clock;
  Controller c(clock);
  EXPECT_EQ(&c.clock(), &clock);
  const Clock::TimePoint t0 = clock.Now();
  EXPECT_FALSE(c.WaitForStop(milliseconds(250)));
  EXPECT_FALSE(c.WaitForStop(milliseconds(30000)));
  EXPECT_EQ(clock.waits(), (Waits{milliseconds(250), milliseconds(30000)}));
  EXPECT_EQ(clock.Now() - t0, milliseconds(30250));
  clock.Advance(milliseconds(5));
  EXPECT_EQ(clock.Now() - t0, milliseconds(30255));
  EXPECT_EQ(clock.waits().size(), 2u) << "Advance is not a wait";
  // Once stop is requested a wait returns true and passes no time.
  c.RequestStop("test");
  EXPECT_TRUE(c.WaitForStop(milliseconds(1000)));
  EXPECT_EQ(clock.waits().size(), 2u);
  EXPECT_EQ(clock.Now() - t0, milliseconds(30255));
}

// An attempt function that plays back a script of results.
struct Attempt {
  Status status;
  bool progress = false;
  milliseconds runs_for{0};  // advances the manual clock while it "runs"
  bool stop = false;         // requests stop while it runs
};

struct Script {
  Controller* controller;
  ManualClock* clock;
  std::vector<Attempt> attempts;
  size_t calls = 0;

  Status operator()(bool* made_progress) {
    EXPECT_LT(calls, attempts.size()) << "one attempt too many";
    if (calls >= attempts.size()) return Internal("script exhausted");
    const Attempt& a = attempts[calls++];
    clock->Advance(a.runs_for);
    if (a.stop) controller->RequestStop("test");
    *made_progress = a.progress;
    return a.status;
  }
};

class RunWithRetriesTest : public ::testing::Test {
 protected:
  Status Run(std::vector<Attempt> attempts) {
    script_ = Script{&controller_, &clock_, std::move(attempts)};
    return RunWithRetries(controller_, [this](bool* p) { return script_(p); });
  }
  Waits waits() const { return clock_.waits(); }
  size_t calls() const { return script_.calls; }

  ManualClock clock_;
  Controller controller_{clock_};
  Script script_{};
};

Waits Ms(std::initializer_list<int> values) {
  Waits out;
  for (int v : values) out.push_back(milliseconds(v));
  return out;
}

TEST_F(RunWithRetriesTest, BackoffDoublesFromHalfASecondUpToThirtySeconds) {
  std::vector<Attempt> attempts(10, Attempt{Unavailable("connection lost")});
  attempts.push_back({Status::OK()});
  Status s = Run(attempts);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls(), 11u);
  EXPECT_EQ(waits(), Ms({500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000}));
}

TEST_F(RunWithRetriesTest, AbortedIsRetriedLikeUnavailable) {
  Status s = Run({{Aborted("sink fenced")}, {Unavailable("down")}, {Status::OK()}});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(waits(), Ms({500, 1000}));
}

TEST_F(RunWithRetriesTest, AnAttemptThatMadeProgressResetsTheBackoff) {
  Status s = Run({{Unavailable("a")},
                  {Unavailable("b")},
                  {Unavailable("c")},
                  {Unavailable("d"), /*progress=*/true},
                  {Unavailable("e")},
                  {Status::OK()}});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls(), 6u);
  EXPECT_EQ(waits(), Ms({500, 1000, 2000, 500, 1000}));
}

TEST_F(RunWithRetriesTest, AnAttemptThatRanOverAMinuteResetsTheBackoff) {
  Status s = Run({{Unavailable("a")},
                  {Unavailable("b")},
                  {Unavailable("c"), false, milliseconds(61000)},
                  {Unavailable("d"), false, milliseconds(59000)},
                  {Status::OK()}});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(waits(), Ms({500, 1000, 500, 1000}));
}

TEST_F(RunWithRetriesTest, NonRetryableErrorReturnsAtOnce) {
  Status s = Run({{FailedPrecondition("wal_level is not logical")}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "wal_level is not logical");
  EXPECT_EQ(calls(), 1u);
  EXPECT_TRUE(waits().empty());
}

TEST_F(RunWithRetriesTest, NonRetryableErrorAfterRetriesEndsThem) {
  Status s = Run({{Unavailable("a")}, {Unavailable("b")}, {DataLoss("bad message")}});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "bad message");
  EXPECT_EQ(calls(), 3u);
  EXPECT_EQ(waits(), Ms({500, 1000}));
}

TEST_F(RunWithRetriesTest, CancelledAfterStopCountsAsOk) {
  Status s = Run({{Cancelled("stopped"), false, milliseconds(0), /*stop=*/true}});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls(), 1u);
  EXPECT_TRUE(waits().empty());
}

TEST_F(RunWithRetriesTest, CancelledCountsAsOk) {
  Status s = Run({{Cancelled("cancelled")}});
  EXPECT_EQ(calls(), 1u);
  EXPECT_TRUE(waits().empty());
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(RunWithRetriesTest, StopDuringAnAttemptEndsWithoutAnotherOne) {
  Status s = Run({{Unavailable("a")}, {Unavailable("lost"), false, milliseconds(0), true}});
  EXPECT_EQ(calls(), 2u);
  EXPECT_EQ(waits(), Ms({500}));
  // The attempt's own status is returned: stop ends the retries, not the error.
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "lost");
}

}  // namespace
}  // namespace walflow::runtime
