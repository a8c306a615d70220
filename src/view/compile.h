// A view of the pipeline resolved against what it reads: the input's columns and key (from
// PostgreSQL's catalog for a table, from the upstream view's plan for a view), the plan
// (sql/planner.h), the schema of its output events and a fingerprint of everything its
// state depends on (a different fingerprint at start means the view is rebuilt).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/change.h"
#include "core/status.h"
#include "runtime/config.h"
#include "sql/planner.h"

namespace walflow::pg {
class Connection;
}

namespace walflow::view {

// A column of a view's input as the catalog (or the upstream view) describes it.
struct InputColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
  std::string type_name;  // format_type(): "integer", "character varying(20)", "uuid"
  int32_t typmod = -1;    // numeric(12,2), timestamp(3): a column the view passes on keeps it
  int key_position = -1;  // position in the input's key, -1 if not part of it
  // Text columns: the collation comparisons follow ("C", "en_US.UTF-8"); empty otherwise.
  std::string collation;
};

// The columns of table `schema.name` in attnum order; NotFound when it does not exist.
using DescribeTableFn = std::function<Result<std::vector<InputColumnInfo>>(
    const std::string& schema, const std::string& name)>;

// Asks the server's catalog (key: the primary key, else the replica identity index).
DescribeTableFn CatalogDescriber(pg::Connection* conn);

struct CompiledView {
  runtime::ViewConfig config;
  sql::PlanInput input;
  std::vector<InputColumnInfo> input_columns;  // all of them, the input's order
  sql::ViewPlan plan;
  TableSchemaPtr output_schema;  // what the view's events carry
  std::string fingerprint;
};

// Compiles every view of `config` (already in dependency order). Errors name the view and,
// for SQL, show the statement with a caret.
Result<std::vector<std::shared_ptr<const CompiledView>>> CompileViews(
    const runtime::PipelineConfig& config, const DescribeTableFn& describe);

}  // namespace walflow::view
