// sql::PlanView: a view's parsed SELECT (parser.h) over its one input (a table or another
// view) turned into what the view operator runs incrementally:
//
//   ungrouped   WHERE, then one output row per input row (SELECT expressions over the
//               input row); keyed by the input's key, which the SELECT list must carry
//   grouped     WHERE, then GROUP BY expressions and aggregates over the input row, then
//               HAVING and the SELECT expressions over the group row [groups…, aggregates…];
//               keyed by the GROUP BY columns. SELECT DISTINCT is GROUP BY every output
//               column. Aggregates without GROUP BY are one global row that always exists,
//               as in PostgreSQL (count 0, sum NULL over no rows).
//
// Names resolve as PostgreSQL resolves them (GROUP BY takes an input column before an
// output alias, an integer is an output ordinal); errors carry PostgreSQL's message where
// it has one, and the SQL with a caret.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sql/aggregate.h"
#include "sql/ast.h"
#include "sql/binder.h"

namespace walflow::sql {

// The view's FROM item, resolved by the caller (catalog or the upstream view's plan).
struct PlanInput {
  InputSchema schema;    // every column the view may name, in the input's column order
  std::vector<int> key;  // indexes into schema.columns of the input's key, in key order
  // Columns whose type views cannot compute with yet: naming them is an error that says
  // so, instead of "does not exist". (name, type name)
  std::vector<std::pair<std::string, std::string>> unsupported;
};

struct OutputColumn {
  std::string name;
  SqlType type;
  int location = -1;  // of its SELECT item
};

// One aggregate of a grouped plan: arguments bound over the input row.
struct AggregateCall {
  AggregateSpec spec;
  std::optional<BoundExpr> arg;     // absent for count(*)
  std::optional<BoundExpr> filter;  // FILTER (WHERE …)
};

struct ViewPlan {
  std::vector<OutputColumn> columns;
  std::vector<int> key;  // output columns forming the view's key, in key order
  std::optional<BoundExpr> where;

  bool grouped = false;
  bool global = false;  // aggregates without GROUP BY
  // Ungrouped: over the input row. Grouped: over the group row [groups…, aggregates…].
  std::vector<BoundExpr> outputs;
  std::vector<BoundExpr> groups;  // over the input row
  // The first aggregate is always a hidden count(*): a group exists while it is > 0.
  std::vector<AggregateCall> aggregates;
  std::optional<BoundExpr> having;  // over the group row

  // Input columns the plan reads (sorted): the only ones a view decodes and stores.
  std::vector<int> used_columns;

  // The values of every aggregate over no rows (count 0, the others NULL).
  AggregateRow EmptyAggregates() const;
};

// `key_names`: the view's `key:` (output column names), empty for the default.
Result<ViewPlan> PlanView(const SelectStatement& statement, std::string_view sql,
                          const PlanInput& input, const std::vector<std::string>& key_names = {});

// Whether two bound expressions compute the same thing (locations ignored).
bool SameExpr(const BoundExpr& a, const BoundExpr& b);

// The name PostgreSQL gives a SELECT item without an alias ("count", "upper", "?column?").
std::string DefaultColumnName(const Expr& e);

}  // namespace walflow::sql
