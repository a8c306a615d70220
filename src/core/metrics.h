// Metrics: counters, gauges and histograms in labelled families, read as a snapshot
// or as Prometheus text (exposition format 0.0.4).
//
// A family is declared once on a MetricsRegistry with its name, help text and label
// names; a component asks the family for the handle of its label values at setup
// (`Counter* events = family->With({"files"})`) and updates the handle on the hot path.
// Updates are single relaxed atomic operations: no lock, no allocation. Handles stay
// valid as long as the registry lives.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace walflow {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram": the words of Prometheus' # TYPE line.
const char* MetricTypeName(MetricType type);

// One value per label name of the family, in the order the names were declared.
using LabelValues = std::vector<std::string>;

// The Content-Type of PrometheusText(), for the /metrics route.
inline constexpr std::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// A count that only grows (events, bytes, errors). Thread-safe and lock-free.
class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (queue depth, lag, last position). Thread-safe and
// lock-free.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }  // d < 0 subtracts
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
  static_assert(std::atomic<double>::is_always_lock_free);
};

// What a histogram held when it was read. `cumulative_counts[i]` counts the
// observations <= upper_bounds[i]; its last element (one more than the bounds) is the
// +Inf bucket and equals `count`.
struct HistogramSample {
  std::vector<double> upper_bounds;
  std::vector<uint64_t> cumulative_counts;
  double sum = 0;
  uint64_t count = 0;
};

// Observations counted in fixed buckets chosen when the family is declared. Observe is
// thread-safe and lock-free. A read taken while other threads observe may show the sum
// of a few more or fewer observations than the counts; the counts agree with `count`.
class Histogram {
 public:
  // `upper_bounds` is owned by the family and outlives the histogram.
  explicit Histogram(std::span<const double> upper_bounds);

  // Counts `v` in the first bucket whose bound is >= v (NaN only in +Inf).
  void Observe(double v);
  HistogramSample Read() const;

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;  // not cumulative; +1 for +Inf
  std::atomic<double> sum_{0};
};

// Bounds start, start*factor, ... (`count` of them), e.g. latency in seconds.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// 1 ms to 10 s, for request and write latencies in seconds.
std::vector<double> DefaultLatencyBuckets();

// Every metric of one family, children ordered by their label values.
struct MetricSample {
  LabelValues label_values;
  double value = 0;           // counter and gauge
  HistogramSample histogram;  // histogram
};
struct FamilySample {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<MetricSample> metrics;
};
// The whole registry at one moment, families ordered by name.
struct MetricsSnapshot {
  std::vector<FamilySample> families;

  // The metric `name` with `label_values`, or null.
  const MetricSample* Find(std::string_view name, const LabelValues& label_values) const;
};

// Writes `snapshot` in Prometheus' text exposition format 0.0.4. Families without a
// metric yet are left out.
void AppendPrometheusText(const MetricsSnapshot& snapshot, std::string* out);

// What all families share. Declared through MetricsRegistry, never built directly.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  MetricFamily(MetricType type, std::string name, std::string help,
               std::vector<std::string> label_names);
  // Aborts with a message when `label_values` does not have one value per label name:
  // that is a bug in the caller, found by the first test that runs the code.
  void CheckArity(const LabelValues& label_values) const;

 private:
  friend class MetricsRegistry;
  virtual void Collect(FamilySample* out) const = 0;

  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
};

class CounterFamily final : public MetricFamily {
 public:
  // The counter of `label_values`, created at zero the first time. Takes a lock: call
  // at setup and keep the pointer. Thread-safe; aborts on a wrong number of values.
  Counter* With(const LabelValues& label_values);

 private:
  friend class MetricsRegistry;
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Collect(FamilySample* out) const override;

  mutable std::mutex mu_;
  std::map<LabelValues, Counter> counters_;  // GUARDED_BY(mu_); nodes never move
};

class GaugeFamily;

// Keeps a callback gauge registered; destroying it (or Reset) unregisters the callback,
// and once that returns the callback is never called again. Must not outlive the
// registry. Not thread-safe itself (one owner); movable.
class CallbackGaugeRegistration {
 public:
  CallbackGaugeRegistration() = default;
  CallbackGaugeRegistration(CallbackGaugeRegistration&& other) noexcept;
  CallbackGaugeRegistration& operator=(CallbackGaugeRegistration&& other) noexcept;
  ~CallbackGaugeRegistration() { Reset(); }

  void Reset();

 private:
  friend class GaugeFamily;
  CallbackGaugeRegistration(GaugeFamily* family, uint64_t id) : family_(family), id_(id) {}

  GaugeFamily* family_ = nullptr;
  uint64_t id_ = 0;
};

class GaugeFamily final : public MetricFamily {
 public:
  // The gauge of `label_values`, created at zero the first time. Takes a lock: call at
  // setup and keep the pointer. Thread-safe; aborts on a wrong number of values or on
  // values that a callback holds.
  Gauge* With(const LabelValues& label_values);

  // A gauge whose value `read` computes each time the registry is read (a queue
  // depth). `read` runs on the reading thread under this family's lock: it must be
  // quick, must not use the registry, and must not take a lock that is held while its
  // registration is destroyed. Fails if `label_values` already has a gauge or callback.
  Result<CallbackGaugeRegistration> WithCallback(const LabelValues& label_values,
                                                 std::function<double()> read);

 private:
  friend class MetricsRegistry;
  friend class CallbackGaugeRegistration;
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Collect(FamilySample* out) const override;
  void Unregister(uint64_t id);

  struct Callback {
    LabelValues label_values;
    std::function<double()> read;
  };
  mutable std::mutex mu_;
  std::map<LabelValues, Gauge> gauges_;     // GUARDED_BY(mu_); nodes never move
  std::map<uint64_t, Callback> callbacks_;  // GUARDED_BY(mu_)
  uint64_t next_callback_id_ = 1;           // GUARDED_BY(mu_)
};

class HistogramFamily final : public MetricFamily {
 public:
  // The histogram of `label_values`, created empty the first time. Takes a lock and
  // allocates: call at setup and keep the pointer. Thread-safe; aborts on a wrong
  // number of values.
  Histogram* With(const LabelValues& label_values);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  friend class MetricsRegistry;
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> upper_bounds);
  void Collect(FamilySample* out) const override;

  const std::vector<double> upper_bounds_;
  mutable std::mutex mu_;
  std::map<LabelValues, Histogram> histograms_;  // GUARDED_BY(mu_); nodes never move
};

// The metrics of one process or test, passed by reference to the components that feed
// it; it must outlive every handle and callback registration taken from it. Thread-safe.
//
// Declaring a family validates the name ([a-zA-Z_:][a-zA-Z0-9_:]*), the label names
// ([a-zA-Z_][a-zA-Z0-9_]*, no leading "__", unique, no "le" on a histogram), a non-empty
// help text and the buckets (increasing, finite; a trailing +Inf is dropped).
// Declaring a name again returns the existing family when type, help, label names and
// buckets are the same, and fails with kInvalidArgument when any differs.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Result<CounterFamily*> DeclareCounter(std::string name, std::string help,
                                        std::vector<std::string> label_names = {});
  Result<GaugeFamily*> DeclareGauge(std::string name, std::string help,
                                    std::vector<std::string> label_names = {});
  Result<HistogramFamily*> DeclareHistogram(std::string name, std::string help,
                                            std::vector<double> upper_bounds,
                                            std::vector<std::string> label_names = {});

  // Every family's current values (runs the callback gauges).
  MetricsSnapshot Snapshot() const;
  // Snapshot() in Prometheus text, for GET /metrics.
  std::string PrometheusText() const;

 private:
  // Validates, then returns the family `name` (existing or new, of `type`).
  Result<MetricFamily*> Declare(MetricType type, std::string name, std::string help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;  // GUARDED_BY(mu_)
};

}  // namespace walflow
