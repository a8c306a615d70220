// MetricsRegistry: updates from many threads, labels, histogram buckets, callback
// gauges, redeclaration rules and the Prometheus text, checked exactly.
#include "core/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

namespace walflow {
namespace {

template <typename T>
T* Must(Result<T*> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : nullptr;
}

TEST(MetricsTest, CountsFromManyThreads) {
  MetricsRegistry registry;
  CounterFamily* events = Must(registry.DeclareCounter("t_events_total", "Events.", {"sink"}));
  GaugeFamily* level = Must(registry.DeclareGauge("t_level", "Level."));
  HistogramFamily* latency =
      Must(registry.DeclareHistogram("t_latency_seconds", "Latency.", {1, 2}, {"sink"}));
  Counter* counter = events->With({"files"});
  Gauge* gauge = level->With({});
  Histogram* histogram = latency->With({"files"});

  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Handles taken concurrently for the same labels are the same handle.
      Counter* mine = events->With({"files"});
      for (int i = 0; i < kPerThread; ++i) {
        mine->Add();
        counter->Add(2);
        gauge->Add(t % 2 == 0 ? 1.5 : -0.5);
        histogram->Observe(static_cast<double>(i % 3) + 0.5);  // 0.5, 1.5, 2.5
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(counter->value(), uint64_t{3} * kThreads * kPerThread);
  EXPECT_EQ(gauge->value(), (1.5 - 0.5) * (kThreads / 2) * kPerThread);
  HistogramSample h = histogram->Read();
  uint64_t n = uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(h.count, n);
  ASSERT_EQ(h.cumulative_counts.size(), 3u);
  // i % 3 over 0..99999 gives 33334 zeros, 33333 ones, 33333 twos per thread.
  EXPECT_EQ(h.cumulative_counts[0], uint64_t{kThreads} * 33334);
  EXPECT_EQ(h.cumulative_counts[1], uint64_t{kThreads} * (33334 + 33333));
  EXPECT_EQ(h.cumulative_counts[2], n);
  EXPECT_DOUBLE_EQ(h.sum, kThreads * (33334 * 0.5 + 33333 * 1.5 + 33333 * 2.5));
}

TEST(MetricsTest, LabelsAreKeptApart) {
  MetricsRegistry registry;
  CounterFamily* events =
      Must(registry.DeclareCounter("t_events_total", "Events.", {"sink", "table"}));
  Counter* a = events->With({"files", "public.orders"});
  Counter* b = events->With({"files", "public.users"});
  Counter* c = events->With({"kafka", "public.orders"});
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, events->With({"files", "public.orders"}));
  a->Add(1);
  b->Add(10);
  c->Add(100);

  MetricsSnapshot snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.families.size(), 1u);
  EXPECT_EQ(snapshot.families[0].label_names, (std::vector<std::string>{"sink", "table"}));
  ASSERT_EQ(snapshot.families[0].metrics.size(), 3u);
  EXPECT_EQ(snapshot.Find("t_events_total", {"files", "public.orders"})->value, 1);
  EXPECT_EQ(snapshot.Find("t_events_total", {"files", "public.users"})->value, 10);
  EXPECT_EQ(snapshot.Find("t_events_total", {"kafka", "public.orders"})->value, 100);
  EXPECT_EQ(snapshot.Find("t_events_total", {"kafka", "public.users"}), nullptr);
  EXPECT_EQ(snapshot.Find("t_other", {"files", "public.orders"}), nullptr);
}

TEST(MetricsTest, HandlesKeepTheirAddress) {
  MetricsRegistry registry;
  CounterFamily* events = Must(registry.DeclareCounter("t_events_total", "Events.", {"n"}));
  Counter* first = events->With({"0"});
  first->Add(7);
  for (int i = 1; i < 2000; ++i) events->With({std::to_string(i)})->Add(1);
  for (int i = 0; i < 20; ++i) Must(registry.DeclareGauge(fmt::format("t_gauge_{}", i), "G."));
  EXPECT_EQ(events->With({"0"}), first);
  EXPECT_EQ(first->value(), 7u);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry registry;
  HistogramFamily* family = Must(registry.DeclareHistogram("t_seconds", "Seconds.", {0.25, 1, 2}));
  Histogram* h = family->With({});
  for (double v : {0.25, 0.5, 0.5, 4.0, 1.0}) h->Observe(v);
  HistogramSample s = h->Read();
  EXPECT_EQ(s.upper_bounds, (std::vector<double>{0.25, 1, 2}));
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{1, 4, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_EQ(s.sum, 6.25);

  h->Observe(std::nan(""));
  s = h->Read();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{1, 4, 4, 6}));
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
  std::vector<double> latency = DefaultLatencyBuckets();
  EXPECT_TRUE(std::is_sorted(latency.begin(), latency.end()));
  MetricsRegistry registry;
  EXPECT_TRUE(registry.DeclareHistogram("t_seconds", "S.", latency).ok());
}

TEST(MetricsTest, PrometheusTextIsExact) {
  MetricsRegistry registry;
  CounterFamily* events = Must(
      registry.DeclareCounter("walflow_sink_events_total", "Events written by a sink.", {"sink"}));
  GaugeFamily* depth = Must(registry.DeclareGauge("walflow_queue_depth", "Batches waiting."));
  HistogramFamily* write = Must(registry.DeclareHistogram(
      "walflow_sink_write_seconds", "Time to write a batch, in seconds.", {0.25, 1, 2}, {"sink"}));
  Must(registry.DeclareCounter("walflow_unused_total", "No metric yet.", {"sink"}));
  events->With({"kafka"})->Add(5);
  events->With({"files"})->Add(3);
  depth->With({})->Set(2.5);
  Histogram* h = write->With({"files"});
  for (double v : {0.25, 0.5, 0.5, 4.0}) h->Observe(v);

  EXPECT_EQ(registry.PrometheusText(),
            "# HELP walflow_queue_depth Batches waiting.\n"
            "# TYPE walflow_queue_depth gauge\n"
            "walflow_queue_depth 2.5\n"
            "# HELP walflow_sink_events_total Events written by a sink.\n"
            "# TYPE walflow_sink_events_total counter\n"
            "walflow_sink_events_total{sink=\"files\"} 3\n"
            "walflow_sink_events_total{sink=\"kafka\"} 5\n"
            "# HELP walflow_sink_write_seconds Time to write a batch, in seconds.\n"
            "# TYPE walflow_sink_write_seconds histogram\n"
            "walflow_sink_write_seconds_bucket{sink=\"files\",le=\"0.25\"} 1\n"
            "walflow_sink_write_seconds_bucket{sink=\"files\",le=\"1\"} 3\n"
            "walflow_sink_write_seconds_bucket{sink=\"files\",le=\"2\"} 3\n"
            "walflow_sink_write_seconds_bucket{sink=\"files\",le=\"+Inf\"} 4\n"
            "walflow_sink_write_seconds_sum{sink=\"files\"} 5.25\n"
            "walflow_sink_write_seconds_count{sink=\"files\"} 4\n");
}

TEST(MetricsTest, PrometheusTextHistogramWithoutLabels) {
  MetricsRegistry registry;
  Must(registry.DeclareHistogram("t_seconds", "S.", {0.5}))->With({})->Observe(0.1);
  EXPECT_EQ(registry.PrometheusText(),
            "# HELP t_seconds S.\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{le=\"0.5\"} 1\n"
            "t_seconds_bucket{le=\"+Inf\"} 1\n"
            "t_seconds_sum 0.1\n"
            "t_seconds_count 1\n");
}

TEST(MetricsTest, PrometheusTextEscapes) {
  MetricsRegistry registry;
  GaugeFamily* family = Must(registry.DeclareGauge(
      "t_gauge", "Help with a \\ backslash,\na newline and \"quotes\".", {"path"}));
  family->With({"C:\\dir\\\"x\"\nend"})->Set(1);
  EXPECT_EQ(registry.PrometheusText(),
            "# HELP t_gauge Help with a \\\\ backslash,\\na newline and \"quotes\".\n"
            "# TYPE t_gauge gauge\n"
            "t_gauge{path=\"C:\\\\dir\\\\\\\"x\\\"\\nend\"} 1\n");
}

TEST(MetricsTest, PrometheusTextNumbers) {
  MetricsRegistry registry;
  GaugeFamily* family = Must(registry.DeclareGauge("t_gauge", "G.", {"k"}));
  family->With({"a"})->Set(0.1);
  family->With({"b"})->Set(std::numeric_limits<double>::infinity());
  family->With({"c"})->Set(-std::numeric_limits<double>::infinity());
  family->With({"d"})->Set(std::nan(""));
  family->With({"e"})->Set(-3);
  family->With({"f"})->Set(1e21);
  EXPECT_EQ(registry.PrometheusText(),
            "# HELP t_gauge G.\n"
            "# TYPE t_gauge gauge\n"
            "t_gauge{k=\"a\"} 0.1\n"
            "t_gauge{k=\"b\"} +Inf\n"
            "t_gauge{k=\"c\"} -Inf\n"
            "t_gauge{k=\"d\"} NaN\n"
            "t_gauge{k=\"e\"} -3\n"
            "t_gauge{k=\"f\"} 1e+21\n");
}

TEST(MetricsTest, CallbackGaugesAreReadAndUnregistered) {
  MetricsRegistry registry;
  GaugeFamily* depth = Must(registry.DeclareGauge("t_depth", "Depth.", {"queue"}));
  depth->With({"b"})->Set(1);
  double queued = 4;
  {
    Result<CallbackGaugeRegistration> registration =
        depth->WithCallback({"a"}, [&queued] { return queued; });
    ASSERT_TRUE(registration.ok()) << registration.status().ToString();
    EXPECT_EQ(registry.Snapshot().Find("t_depth", {"a"})->value, 4);
    queued = 9;
    EXPECT_EQ(registry.PrometheusText(),
              "# HELP t_depth Depth.\n"
              "# TYPE t_depth gauge\n"
              "t_depth{queue=\"a\"} 9\n"
              "t_depth{queue=\"b\"} 1\n");

    // One value per label set: a second callback or a plain gauge on "a" is refused.
    EXPECT_FALSE(depth->WithCallback({"a"}, [] { return 0.0; }).ok());
    EXPECT_FALSE(depth->WithCallback({"b"}, [] { return 0.0; }).ok());

    // Moving keeps one registration; the moved-from one unregisters nothing.
    CallbackGaugeRegistration moved = std::move(*registration);
    registration->Reset();
    EXPECT_NE(registry.Snapshot().Find("t_depth", {"a"}), nullptr);
  }
  EXPECT_EQ(registry.Snapshot().Find("t_depth", {"a"}), nullptr);
  EXPECT_TRUE(depth->WithCallback({"a"}, [] { return 0.0; }).ok());  // destroyed at once
  EXPECT_EQ(registry.Snapshot().Find("t_depth", {"a"}), nullptr);
}

TEST(MetricsTest, CallbackGaugeUnregistersWhileBeingRead) {
  MetricsRegistry registry;
  GaugeFamily* depth = Must(registry.DeclareGauge("t_depth", "Depth.", {"queue"}));
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) (void)registry.PrometheusText();
  });
  for (int i = 0; i < 2000; ++i) {
    auto value = std::make_unique<double>(i);
    Result<CallbackGaugeRegistration> registration =
        depth->WithCallback({"q"}, [p = value.get()] { return *p; });
    ASSERT_TRUE(registration.ok());
    registration->Reset();  // after this the callback never runs: `value` may go
  }
  stop = true;
  reader.join();
}

TEST(MetricsTest, RedeclarationReturnsTheSameFamilyOrFails) {
  MetricsRegistry registry;
  CounterFamily* events = Must(registry.DeclareCounter("t_events_total", "Events.", {"sink"}));
  EXPECT_EQ(Must(registry.DeclareCounter("t_events_total", "Events.", {"sink"})), events);

  Result<GaugeFamily*> as_gauge = registry.DeclareGauge("t_events_total", "Events.", {"sink"});
  ASSERT_FALSE(as_gauge.ok());
  EXPECT_EQ(as_gauge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(as_gauge.status().message(),
            "metric t_events_total is declared twice, differently: as a counter, then as a gauge "
            "(declare each metric in one place)");
  EXPECT_FALSE(registry.DeclareCounter("t_events_total", "Events.", {"table"}).ok());
  EXPECT_FALSE(registry.DeclareCounter("t_events_total", "Events.", {"sink", "table"}).ok());
  EXPECT_FALSE(registry.DeclareCounter("t_events_total", "Events.").ok());
  EXPECT_FALSE(registry.DeclareCounter("t_events_total", "Other help.", {"sink"}).ok());
  EXPECT_FALSE(registry.DeclareHistogram("t_events_total", "Events.", {1}, {"sink"}).ok());

  HistogramFamily* seconds = Must(registry.DeclareHistogram("t_seconds", "S.", {1, 2}));
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(Must(registry.DeclareHistogram("t_seconds", "S.", {1, 2, inf})), seconds);
  EXPECT_FALSE(registry.DeclareHistogram("t_seconds", "S.", {1, 3}).ok());
}

TEST(MetricsTest, DeclarationsAreValidated) {
  MetricsRegistry registry;
  EXPECT_FALSE(registry.DeclareCounter("", "H.").ok());
  EXPECT_FALSE(registry.DeclareCounter("1st_total", "H.").ok());
  EXPECT_FALSE(registry.DeclareCounter("has-dash", "H.").ok());
  EXPECT_TRUE(registry.DeclareCounter("ns:sub_total", "H.").ok());
  EXPECT_FALSE(registry.DeclareCounter("t_no_help", "").ok());
  EXPECT_FALSE(registry.DeclareCounter("t_a", "H.", {"bad-label"}).ok());
  EXPECT_FALSE(registry.DeclareCounter("t_b", "H.", {"__reserved"}).ok());
  EXPECT_FALSE(registry.DeclareCounter("t_c", "H.", {"sink", "sink"}).ok());
  EXPECT_FALSE(registry.DeclareHistogram("t_d", "H.", {1}, {"le"}).ok());
  EXPECT_TRUE(registry.DeclareCounter("t_e", "H.", {"le"}).ok());
  EXPECT_FALSE(registry.DeclareHistogram("t_f", "H.", {2, 1}).ok());
  EXPECT_FALSE(registry.DeclareHistogram("t_g", "H.", {1, 1}).ok());
  EXPECT_FALSE(registry.DeclareHistogram("t_h", "H.", {std::nan("")}).ok());
  EXPECT_TRUE(registry.DeclareHistogram("t_i", "H.", {}).ok());
  // A failed declaration leaves nothing behind.
  EXPECT_TRUE(registry.DeclareGauge("t_a", "H.").ok());
}

TEST(MetricsDeathTest, WrongNumberOfLabelValuesAborts) {
  MetricsRegistry registry;
  CounterFamily* events = Must(registry.DeclareCounter("t_events_total", "Events.", {"sink"}));
  EXPECT_DEATH(events->With({"files", "extra"}), "t_events_total has labels \\{sink\\}");
  EXPECT_DEATH(events->With({}), "given 0 values");
}

}  // namespace
}  // namespace walflow
