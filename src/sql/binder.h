// sql::Bind: a parsed expression (ast.h) resolved against one input's columns into a typed
// tree the evaluator (evaluator.h) runs. Types follow PostgreSQL's operator and function
// resolution for the types of value.h; what cannot be computed exactly yet is refused at
// bind time ("function to_char is not supported yet"), never approximated.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sql/ast.h"
#include "sql/collation.h"
#include "sql/value.h"

namespace walflow::sql {

struct InputColumn {
  std::string name;
  SqlType type;
};

// The FROM item's columns, in row order. A qualified reference must name `alias` when one
// was written, else `table` (as PostgreSQL hides a table's name behind its alias).
struct InputSchema {
  std::string table;
  std::string alias;
  std::vector<InputColumn> columns;
};

enum class ScalarFunction {
  kLower,
  kUpper,
  kLength,
  kSubstr,
  kBtrim,
  kLtrim,
  kRtrim,
  kReplace,
  kSplitPart,
  kLeft,
  kRight,
  kConcat,
  kAbs,
  kRound,
  kFloor,
  kCeil,
  kMod,
  kDateTrunc,  // {units, timestamp | timestamptz | interval}
  kExtract,    // {units, timestamp | timestamptz | date | interval}: numeric
  kDatePart,   // {units, timestamp | timestamptz | interval}: double precision
  kDateBin,    // {stride, source, origin}, source and origin of one type
};

enum class AggregateFunction { kCountStar, kCount, kSum, kAvg, kMin, kMax, kBoolAnd, kBoolOr };

struct BoundExpr {
  enum class Kind {
    kColumn,      // column = index into the row
    kConstant,    // constant
    kArithmetic,  // op in + - * / %; children {left, right}, of the operator's argument
                  // types (date + integer, timestamp - interval, interval * double, ...)
    kConcat,      // text || text
    kNegate,
    kCompare,  // op in = <> < <= > >=; children {left, right}
    kNot,
    kAnd,  // two or more children
    kOr,
    kIsNull,      // negated: IS NOT NULL
    kIsDistinct,  // negated: IS NOT DISTINCT FROM
    kIn,          // children {operand, item...}; negated: NOT IN
    kLike,        // children {operand, pattern}; case_insensitive: ILIKE
    kCase,        // children {cond, result}... [else]; has_else
    kCoalesce,
    kNullIf,
    kGreatest,
    kLeast,
    kCast,  // children {operand}; type is the target, numeric_typmod (precision, scale)
    kFunction,
    kAggregate,  // children {arg?, filter?}; only where aggregates are allowed
    kJsonField,  // op in -> ->>; children {jsonb, text key | integer index}
  };

  Kind kind = Kind::kConstant;
  SqlType type = SqlType::kText;
  int location = -1;
  // The libc collation text follows here (kCompare, kGreatest, kLeast: the order; lower,
  // upper: the case mapping); null: the C collation (bytes, ASCII letters). Set by the
  // view compiler from the columns' collations.
  std::shared_ptr<const Collation> collation;
  int column = -1;
  Value constant;
  BinaryOperator op = BinaryOperator::kAdd;
  bool negated = false;
  bool case_insensitive = false;
  bool has_else = false;
  ScalarFunction function = ScalarFunction::kLower;
  AggregateFunction aggregate = AggregateFunction::kCountStar;
  bool distinct = false;    // aggregate DISTINCT
  bool has_filter = false;  // aggregate FILTER: the last child
  int numeric_precision = -1;
  int numeric_scale = 0;
  bool unknown_literal = false;  // a string literal whose type context has not fixed yet
  std::vector<BoundExpr> children;

  bool ContainsAggregate() const;
};

struct BindOptions {
  // Where the expression stands, for "aggregate functions are not allowed in WHERE".
  std::string clause = "WHERE";
  bool allow_aggregates = false;
};

// Binds `expr` (parsed from `sql`) over `schema`. Errors are InvalidArgument with
// PostgreSQL's message and `sql` with a caret under the position (FormatSqlError).
Result<BoundExpr> Bind(const Expr& expr, const InputSchema& schema, std::string_view sql,
                       const BindOptions& options = {});

}  // namespace walflow::sql
