// The log's progress lines are read from the metrics registry, like /metrics will be:
// what a line says and what a scrape says cannot disagree.
#pragma once

#include <string_view>

#include "core/metrics.h"

namespace walflow::runtime {

// The sum and the largest value of every metric of family `name` (0 when absent).
double SumOf(const MetricsSnapshot& snapshot, std::string_view name);
double MaxOf(const MetricsSnapshot& snapshot, std::string_view name);

}  // namespace walflow::runtime
