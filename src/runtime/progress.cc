#include "runtime/progress.h"

#include <algorithm>

namespace walflow::runtime {
namespace {

const FamilySample* FamilyOf(const MetricsSnapshot& snapshot, std::string_view name) {
  for (const FamilySample& f : snapshot.families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

double SumOf(const MetricsSnapshot& snapshot, std::string_view name) {
  const FamilySample* f = FamilyOf(snapshot, name);
  double sum = 0;
  if (f) {
    for (const MetricSample& m : f->metrics) sum += m.value;
  }
  return sum;
}

double MaxOf(const MetricsSnapshot& snapshot, std::string_view name) {
  const FamilySample* f = FamilyOf(snapshot, name);
  double max = 0;
  if (f) {
    for (const MetricSample& m : f->metrics) max = std::max(max, m.value);
  }
  return max;
}

}  // namespace walflow::runtime
