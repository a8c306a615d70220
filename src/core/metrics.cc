#include "core/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "core/log.h"

namespace walflow {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool IsMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

bool IsLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string JoinNames(const std::vector<std::string>& names) {
  return fmt::format("{{{}}}", fmt::join(names, ","));
}

// Prometheus floats: Go's ParseFloat reads the shortest round-trip form fmt writes,
// but spells the specials +Inf, -Inf and NaN.
void AppendNumber(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

void AppendEscaped(std::string_view text, bool escape_quote, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '"':
        if (escape_quote) {
          out->append("\\\"");
          break;
        }
        [[fallthrough]];
      default: out->push_back(c);
    }
  }
}

// `{a="x",b="y"}` with an optional extra label (a histogram's le); nothing without labels.
void AppendLabels(const std::vector<std::string>& names, const LabelValues& values,
                  std::string_view extra_name, std::string_view extra_value, std::string* out) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]);
    out->append("=\"");
    AppendEscaped(values[i], /*escape_quote=*/true, out);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    out->append(extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

void AppendSampleLine(std::string_view name, std::string_view suffix, const FamilySample& family,
                      const LabelValues& values, std::string_view le, double value,
                      std::string* out) {
  out->append(name);
  out->append(suffix);
  AppendLabels(family.label_names, values, le.empty() ? "" : "le", le, out);
  out->push_back(' ');
  AppendNumber(value, out);
  out->push_back('\n');
}

}  // namespace

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      bucket_counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds.size() + 1)) {}

void Histogram::Observe(double v) {
  // lower_bound: the first bound >= v, since a bucket counts v <= le. NaN compares
  // false with every bound, so it is sent to +Inf explicitly.
  size_t bucket =
      std::isnan(v)
          ? upper_bounds_.size()
          : static_cast<size_t>(std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) -
                                upper_bounds_.begin());
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

HistogramSample Histogram::Read() const {
  HistogramSample sample;
  sample.upper_bounds.assign(upper_bounds_.begin(), upper_bounds_.end());
  sample.cumulative_counts.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += bucket_counts_[i].load(std::memory_order_relaxed);
    sample.cumulative_counts[i] = total;
  }
  sample.count = total;
  sample.sum = sum_.load(std::memory_order_relaxed);
  return sample;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

const MetricSample* MetricsSnapshot::Find(std::string_view name,
                                          const LabelValues& label_values) const {
  for (const FamilySample& family : families) {
    if (family.name != name) continue;
    for (const MetricSample& metric : family.metrics) {
      if (metric.label_values == label_values) return &metric;
    }
  }
  return nullptr;
}

void AppendPrometheusText(const MetricsSnapshot& snapshot, std::string* out) {
  for (const FamilySample& family : snapshot.families) {
    if (family.metrics.empty()) continue;
    out->append("# HELP ");
    out->append(family.name);
    out->push_back(' ');
    AppendEscaped(family.help, /*escape_quote=*/false, out);
    out->append("\n# TYPE ");
    out->append(family.name);
    out->push_back(' ');
    out->append(MetricTypeName(family.type));
    out->push_back('\n');
    for (const MetricSample& metric : family.metrics) {
      if (family.type != MetricType::kHistogram) {
        AppendSampleLine(family.name, "", family, metric.label_values, "", metric.value, out);
        continue;
      }
      const HistogramSample& h = metric.histogram;
      std::string le;
      for (size_t i = 0; i < h.cumulative_counts.size(); ++i) {
        le.clear();
        AppendNumber(
            i < h.upper_bounds.size() ? h.upper_bounds[i] : std::numeric_limits<double>::infinity(),
            &le);
        AppendSampleLine(family.name, "_bucket", family, metric.label_values, le,
                         static_cast<double>(h.cumulative_counts[i]), out);
      }
      AppendSampleLine(family.name, "_sum", family, metric.label_values, "", h.sum, out);
      AppendSampleLine(family.name, "_count", family, metric.label_values, "",
                       static_cast<double>(h.count), out);
    }
  }
}

MetricFamily::MetricFamily(MetricType type, std::string name, std::string help,
                           std::vector<std::string> label_names)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

void MetricFamily::CheckArity(const LabelValues& label_values) const {
  if (label_values.size() == label_names_.size()) return;
  WF_LOG_ERROR("metrics", "metric {} has labels {} but was given {} values: a bug in walflow",
               name_, JoinNames(label_names_), label_values.size());
  std::abort();
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : MetricFamily(MetricType::kCounter, std::move(name), std::move(help), std::move(label_names)) {
}

Counter* CounterFamily::With(const LabelValues& label_values) {
  CheckArity(label_values);
  std::lock_guard<std::mutex> lock(mu_);
  return &counters_.try_emplace(label_values).first->second;
}

void CounterFamily::Collect(FamilySample* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, counter] : counters_) {
    out->metrics.push_back({values, static_cast<double>(counter.value()), {}});
  }
}

CallbackGaugeRegistration::CallbackGaugeRegistration(CallbackGaugeRegistration&& other) noexcept
    : family_(std::exchange(other.family_, nullptr)), id_(std::exchange(other.id_, 0)) {}

CallbackGaugeRegistration& CallbackGaugeRegistration::operator=(
    CallbackGaugeRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    family_ = std::exchange(other.family_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void CallbackGaugeRegistration::Reset() {
  if (family_ == nullptr) return;
  family_->Unregister(id_);
  family_ = nullptr;
  id_ = 0;
}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : MetricFamily(MetricType::kGauge, std::move(name), std::move(help), std::move(label_names)) {}

Gauge* GaugeFamily::With(const LabelValues& label_values) {
  CheckArity(label_values);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, callback] : callbacks_) {
    if (callback.label_values != label_values) continue;
    WF_LOG_ERROR("metrics", "gauge {} with labels {{{}}} is already computed by a callback", name(),
                 fmt::join(label_values, ","));
    std::abort();
  }
  return &gauges_.try_emplace(label_values).first->second;
}

Result<CallbackGaugeRegistration> GaugeFamily::WithCallback(const LabelValues& label_values,
                                                            std::function<double()> read) {
  CheckArity(label_values);
  std::lock_guard<std::mutex> lock(mu_);
  bool taken = gauges_.count(label_values) > 0;
  for (const auto& [id, callback] : callbacks_)
    taken = taken || callback.label_values == label_values;
  if (taken) {
    return InvalidArgument(fmt::format("gauge {} already has a value for labels {{{}}}", name(),
                                       fmt::join(label_values, ",")));
  }
  uint64_t id = next_callback_id_++;
  callbacks_.emplace(id, Callback{label_values, std::move(read)});
  return CallbackGaugeRegistration(this, id);
}

void GaugeFamily::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.erase(id);
}

void GaugeFamily::Collect(FamilySample* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, gauge] : gauges_) out->metrics.push_back({values, gauge.value(), {}});
  for (const auto& [id, callback] : callbacks_) {
    out->metrics.push_back({callback.label_values, callback.read(), {}});
  }
  std::sort(
      out->metrics.begin(), out->metrics.end(),
      [](const MetricSample& a, const MetricSample& b) { return a.label_values < b.label_values; });
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> upper_bounds)
    : MetricFamily(MetricType::kHistogram, std::move(name), std::move(help),
                   std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {}

Histogram* HistogramFamily::With(const LabelValues& label_values) {
  CheckArity(label_values);
  std::lock_guard<std::mutex> lock(mu_);
  return &histograms_.try_emplace(label_values, std::span<const double>(upper_bounds_))
              .first->second;
}

void HistogramFamily::Collect(FamilySample* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [values, histogram] : histograms_) {
    out->metrics.push_back({values, 0, histogram.Read()});
  }
}

Result<MetricFamily*> MetricsRegistry::Declare(MetricType type, std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> upper_bounds) {
  if (!IsMetricName(name)) {
    return InvalidArgument(fmt::format(
        "metric name \"{}\" is not valid in Prometheus ([a-zA-Z_:][a-zA-Z0-9_:]*)", name));
  }
  if (help.empty()) return InvalidArgument(fmt::format("metric {} has no help text", name));
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsLabelName(label)) {
      return InvalidArgument(fmt::format(
          "metric {}: label name \"{}\" is not valid ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)", name,
          label));
    }
    if (type == MetricType::kHistogram && label == "le") {
      return InvalidArgument(fmt::format("histogram {}: label name le is reserved", name));
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      return InvalidArgument(fmt::format("metric {}: label {} appears twice", name, label));
    }
  }
  if (!upper_bounds.empty() && upper_bounds.back() == std::numeric_limits<double>::infinity()) {
    upper_bounds.pop_back();
  }
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      return InvalidArgument(
          fmt::format("histogram {}: bucket bounds must be finite and increasing, got [{}]", name,
                      fmt::join(upper_bounds, ", ")));
    }
  }

  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    const MetricFamily& existing = *it->second;
    std::string difference;
    if (existing.type() != type) {
      difference = fmt::format("as a {}, then as a {}", MetricTypeName(existing.type()),
                               MetricTypeName(type));
    } else if (existing.label_names() != label_names) {
      difference = fmt::format("with labels {}, then with labels {}",
                               JoinNames(existing.label_names()), JoinNames(label_names));
    } else if (existing.help() != help) {
      difference = fmt::format("with help \"{}\", then with help \"{}\"", existing.help(), help);
    } else if (type == MetricType::kHistogram &&
               static_cast<const HistogramFamily&>(existing).upper_bounds() != upper_bounds) {
      difference =
          fmt::format("with buckets [{}], then with buckets [{}]",
                      fmt::join(static_cast<const HistogramFamily&>(existing).upper_bounds(), ", "),
                      fmt::join(upper_bounds, ", "));
    }
    if (!difference.empty()) {
      return InvalidArgument(fmt::format(
          "metric {} is declared twice, differently: {} (declare each metric in one place)", name,
          difference));
    }
    return it->second.get();
  }
  std::unique_ptr<MetricFamily> family;
  switch (type) {
    case MetricType::kCounter:
      family.reset(new CounterFamily(name, std::move(help), std::move(label_names)));
      break;
    case MetricType::kGauge:
      family.reset(new GaugeFamily(name, std::move(help), std::move(label_names)));
      break;
    case MetricType::kHistogram:
      family.reset(new HistogramFamily(name, std::move(help), std::move(label_names),
                                       std::move(upper_bounds)));
      break;
  }
  MetricFamily* raw = family.get();
  families_.emplace(std::move(name), std::move(family));
  return raw;
}

Result<CounterFamily*> MetricsRegistry::DeclareCounter(std::string name, std::string help,
                                                       std::vector<std::string> label_names) {
  WF_ASSIGN_OR_RETURN(MetricFamily * family, Declare(MetricType::kCounter, std::move(name),
                                                     std::move(help), std::move(label_names), {}));
  return static_cast<CounterFamily*>(family);
}

Result<GaugeFamily*> MetricsRegistry::DeclareGauge(std::string name, std::string help,
                                                   std::vector<std::string> label_names) {
  WF_ASSIGN_OR_RETURN(MetricFamily * family, Declare(MetricType::kGauge, std::move(name),
                                                     std::move(help), std::move(label_names), {}));
  return static_cast<GaugeFamily*>(family);
}

Result<HistogramFamily*> MetricsRegistry::DeclareHistogram(std::string name, std::string help,
                                                           std::vector<double> upper_bounds,
                                                           std::vector<std::string> label_names) {
  WF_ASSIGN_OR_RETURN(MetricFamily * family,
                      Declare(MetricType::kHistogram, std::move(name), std::move(help),
                              std::move(label_names), std::move(upper_bounds)));
  return static_cast<HistogramFamily*>(family);
}

MetricsSnapshot MetricsRegistry::Snapshot() const {
  MetricsSnapshot snapshot;
  std::lock_guard<std::mutex> lock(mu_);
  snapshot.families.reserve(families_.size());
  for (const auto& [name, family] : families_) {
    FamilySample& sample = snapshot.families.emplace_back();
    sample.name = family->name();
    sample.help = family->help();
    sample.type = family->type();
    sample.label_names = family->label_names();
    family->Collect(&sample);
  }
  return snapshot;
}

std::string MetricsRegistry::PrometheusText() const {
  std::string out;
  AppendPrometheusText(Snapshot(), &out);
  return out;
}

}  // namespace walflow
