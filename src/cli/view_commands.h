// The command line's part of views: the operators `walflow run` gives the graph, the view
// lines of `walflow check`, and `walflow peek`.
#pragma once

#include <string>

#include "core/metrics.h"
#include "runtime/config.h"
#include "runtime/pipeline.h"

namespace walflow::pg {
class Connection;
}

namespace walflow::cli {

// Compiles the config's views against the database (each attempt anew) and opens one
// operator per view. Null when the config has no views.
runtime::OperatorFactory ViewOperators(const runtime::PipelineConfig& config,
                                       MetricsRegistry* metrics);

// One "ok"/"FAIL" line per view; false if any failed.
bool CheckViews(const runtime::PipelineConfig& config, pg::Connection* conn);

// `walflow peek CONFIG VIEW [--json]`: the view's current rows from its state.
int PeekCommand(const std::string& config_path, const std::string& view, bool json);

}  // namespace walflow::cli
