// sql::Evaluate: one bound scalar expression (binder.h) over one input row, with
// PostgreSQL's semantics: three-valued logic, NULL propagation, PostgreSQL's runtime error
// messages ("division by zero", "integer out of range") as Status, never exceptions.
// Numbers do not allocate (except numeric, whose digits live on the heap); text results do.
// lower/upper and text ordering follow the node's libc collation when it has one
// (sql/collation.h), else bytes and ASCII letters (the C collation); ILIKE folds ASCII
// letters only.
#pragma once

#include <span>

#include "core/status.h"
#include "sql/binder.h"
#include "sql/value.h"

namespace walflow::sql {

// The input row, in InputSchema order.
using Row = std::span<const Value>;

// Evaluates a scalar expression; an aggregate node is an Internal error (the planner
// replaces aggregates before evaluating).
Result<Value> Evaluate(const BoundExpr& expr, Row row);

// For WHERE/HAVING/FILTER: true only when the result is true (NULL and false drop the row).
Result<bool> EvaluatePredicate(const BoundExpr& expr, Row row);

// The cast of `v` (non-NULL or NULL) to `target`, as CAST does; numeric_precision >= 0
// applies numeric(precision, scale). Used for literals and by kCast.
Result<Value> CastValue(const Value& v, SqlType target, int numeric_precision = -1,
                        int numeric_scale = 0);

// A value from PostgreSQL input syntax of `type`, as a literal or a cast from text reads it:
// boolean takes boolin's spellings ('yes', 'on', '1', prefixes of 'true'/'false'); other
// types read their PostgreSQL output format (Value::Parse).
Result<Value> ParseInput(SqlType type, std::string_view text);

// LIKE with % and _ and backslash escapes; `case_insensitive` folds ASCII letters.
bool LikeMatch(std::string_view text, std::string_view pattern, bool case_insensitive);

}  // namespace walflow::sql
