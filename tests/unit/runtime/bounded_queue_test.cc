// BoundedQueue: order, back-pressure, and draining after Close.
#include "runtime/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace walflow::runtime {
namespace {

using std::chrono::milliseconds;

TEST(BoundedQueueTest, FirstInFirstOut) {
  BoundedQueue<int> q(3);
  EXPECT_TRUE(q.Push(1, milliseconds(0)));
  EXPECT_TRUE(q.Push(2, milliseconds(0)));
  EXPECT_EQ(q.size(), 2u);
  bool drained = true;
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), 1);
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), 2);
  EXPECT_EQ(q.Pop(milliseconds(1), &drained), std::nullopt);
  EXPECT_FALSE(drained);  // a timeout, not the end
}

TEST(BoundedQueueTest, FullQueueTimesOut) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.Push(1, milliseconds(0)));
  EXPECT_TRUE(q.Push(2, milliseconds(0)));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(q.Push(3, milliseconds(20)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(15));
  EXPECT_EQ(q.size(), 2u);
}

TEST(BoundedQueueTest, FullQueueWaitsForAConsumer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1, milliseconds(0)));
  std::thread consumer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    bool drained;
    (void)q.Pop(milliseconds(1000), &drained);
  });
  EXPECT_TRUE(q.Push(2, milliseconds(5000)));
  consumer.join();
  bool drained;
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), 2);
}

TEST(BoundedQueueTest, CloseLetsConsumersDrainThenReportsTheEnd) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1, milliseconds(0)));
  ASSERT_TRUE(q.Push(2, milliseconds(0)));
  q.Close();
  EXPECT_FALSE(q.Push(3, milliseconds(0)));
  bool drained = true;
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), 1);
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), 2);
  EXPECT_EQ(q.Pop(milliseconds(0), &drained), std::nullopt);
  EXPECT_TRUE(drained);
}

TEST(BoundedQueueTest, CloseWakesABlockedProducerAndConsumer) {
  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.Push(1, milliseconds(0)));
  BoundedQueue<int> empty(1);
  std::atomic<bool> push_result{true};
  std::atomic<bool> drained{false};
  std::thread producer([&] { push_result = full.Push(2, milliseconds(10000)); });
  std::thread consumer([&] {
    bool d = false;
    (void)empty.Pop(milliseconds(10000), &d);
    drained = d;
  });
  std::this_thread::sleep_for(milliseconds(20));
  auto start = std::chrono::steady_clock::now();
  full.Close();
  empty.Close();
  producer.join();
  consumer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  EXPECT_FALSE(push_result);
  EXPECT_TRUE(drained);
}

TEST(BoundedQueueTest, ManyProducersAndConsumersLoseNothing) {
  BoundedQueue<int> q(3);
  constexpr int kPerProducer = 2000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        while (!q.Push(p * kPerProducer + i, milliseconds(100))) {
        }
      }
    });
  }
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&] {
      bool drained = false;
      while (!drained) {
        auto v = q.Pop(milliseconds(50), &drained);
        if (v) {
          sum += *v;
          ++count;
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  q.Close();
  for (auto& t : consumers) t.join();
  const long long n = 3 * kPerProducer;
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

}  // namespace
}  // namespace walflow::runtime
