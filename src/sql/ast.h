// walflow's own syntax tree for a view's SELECT, built from libpg_query's parse tree by
// sql::Parse (parser.h). Names are as PostgreSQL folds them (unquoted identifiers are lower
// case). Every node keeps `location`: its byte offset in the statement, as libpg_query gives
// it (for an operator, the operator's position), or -1 when PostgreSQL has none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace walflow::sql {

// A heap cell with value semantics: copies deeply, compares by value. Lets a node hold
// children of the recursive Expr type.
template <typename T>
class Box {
 public:
  Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
  Box(const Box& other) : ptr_(std::make_unique<T>(*other.ptr_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = std::make_unique<T>(*other.ptr_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;

  const T& operator*() const { return *ptr_; }
  const T* operator->() const { return ptr_.get(); }
  T& operator*() { return *ptr_; }
  T* operator->() { return ptr_.get(); }
  friend bool operator==(const Box& a, const Box& b) { return *a.ptr_ == *b.ptr_; }

 private:
  std::unique_ptr<T> ptr_;
};

struct Expr;

// [qualifier.]name; the qualifier is the table's alias or name as written.
struct ColumnRef {
  std::string qualifier;
  std::string name;
  bool operator==(const ColumnRef&) const = default;
};

enum class ConstantKind { kNull, kBool, kInteger, kNumeric, kString };

// A literal. `text` is the literal's text: digits for kInteger and kNumeric ("-12", "1.50",
// "1e3"), the unescaped value for kString, "true"/"false" for kBool, empty for kNull.
// kInteger fits int64 (`integer`); PostgreSQL types it int4 when it fits 32 bits, else
// int8. A longer integer literal is kNumeric, as in PostgreSQL.
struct Constant {
  ConstantKind kind = ConstantKind::kNull;
  std::string text;
  int64_t integer = 0;
  bool operator==(const Constant&) const = default;
};

// A type as written in CAST/::/typed literals. PostgreSQL's grammar spells SQL type names as
// catalog names (int → int4, timestamp with time zone → timestamptz, char → bpchar(1)); the
// pg_catalog qualifier is dropped, `schema` holds any other.
struct TypeName {
  std::string schema;
  std::string name;
  std::vector<int64_t> modifiers;  // numeric(10,2) → {10, 2}
  int location = -1;
  bool operator==(const TypeName& o) const {
    return schema == o.schema && name == o.name && modifiers == o.modifiers;
  }
};

enum class BinaryOperator {
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kModulo,
  kConcat,
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kJsonField,      // ->
  kJsonFieldText,  // ->>
};
enum class UnaryOperator { kNegate, kNot };
enum class LogicalOperator { kAnd, kOr };
// COALESCE, NULLIF, GREATEST, LEAST: SQL forms that are not function calls in PostgreSQL.
enum class ConditionalKind { kCoalesce, kNullIf, kGreatest, kLeast };

struct BinaryExpr {
  BinaryOperator op;
  Box<Expr> left;
  Box<Expr> right;
  bool operator==(const BinaryExpr&) const = default;
};
struct UnaryExpr {
  UnaryOperator op;
  Box<Expr> operand;
  bool operator==(const UnaryExpr&) const = default;
};
// AND/OR over two or more operands (PostgreSQL flattens `a AND b AND c`).
struct LogicalExpr {
  LogicalOperator op;
  std::vector<Expr> operands;
  bool operator==(const LogicalExpr&) const;
};
struct IsNullExpr {
  Box<Expr> operand;
  bool negated = false;  // IS NOT NULL
  bool operator==(const IsNullExpr&) const = default;
};
struct IsDistinctExpr {
  Box<Expr> left;
  Box<Expr> right;
  bool negated = false;  // IS NOT DISTINCT FROM
  bool operator==(const IsDistinctExpr&) const = default;
};
struct InListExpr {
  Box<Expr> operand;
  std::vector<Expr> list;
  bool negated = false;
  bool operator==(const InListExpr&) const;
};
struct BetweenExpr {
  Box<Expr> operand;
  Box<Expr> low;
  Box<Expr> high;
  bool negated = false;
  bool operator==(const BetweenExpr&) const = default;
};
struct LikeExpr {
  Box<Expr> operand;
  Box<Expr> pattern;
  bool case_insensitive = false;  // ILIKE
  bool negated = false;
  bool operator==(const LikeExpr&) const = default;
};
struct CaseWhen {
  Box<Expr> condition;  // a value compared with `operand` in a simple CASE
  Box<Expr> result;
  bool operator==(const CaseWhen&) const = default;
};
// CASE [operand] WHEN … THEN … [ELSE …] END; no operand = searched CASE.
struct CaseExpr {
  std::optional<Box<Expr>> operand;
  std::vector<CaseWhen> whens;
  std::optional<Box<Expr>> otherwise;
  bool operator==(const CaseExpr&) const = default;
};
struct ConditionalExpr {
  ConditionalKind kind;
  std::vector<Expr> args;
  bool operator==(const ConditionalExpr&) const;
};
struct CastExpr {
  Box<Expr> operand;
  TypeName type;
  bool operator==(const CastExpr&) const = default;
};
// A call by name: scalar function or aggregate (the parser does not know which). Forms the
// grammar rewrites arrive as PostgreSQL's own calls: extract(year FROM d) is
// pg_catalog.extract('year', d), trim(x) is pg_catalog.btrim(x), x AT TIME ZONE z is
// pg_catalog.timezone(z, x), position(a IN b) is pg_catalog.position(b, a).
struct FunctionCall {
  std::string schema;  // "" or as written ("pg_catalog" for the SQL-syntax forms)
  std::string name;
  std::vector<Expr> args;
  bool star = false;                // count(*)
  bool distinct = false;            // count(DISTINCT x)
  std::optional<Box<Expr>> filter;  // FILTER (WHERE …)
  bool operator==(const FunctionCall&) const;
};

struct Expr {
  using Node = std::variant<ColumnRef, Constant, BinaryExpr, UnaryExpr, LogicalExpr, IsNullExpr,
                            IsDistinctExpr, InListExpr, BetweenExpr, LikeExpr, CaseExpr,
                            ConditionalExpr, CastExpr, FunctionCall>;
  Node node;
  int location = -1;

  // Equality compares the trees, not where they were written (locations are ignored).
  bool operator==(const Expr& o) const { return node == o.node; }

  template <typename T>
  const T* As() const {
    return std::get_if<T>(&node);
  }
};

// `*` or `qualifier.*` in the SELECT list; the planner expands it from the table's columns.
struct Star {
  std::string qualifier;
  bool operator==(const Star&) const = default;
};

struct SelectItem {
  std::variant<Expr, Star> value;
  std::string alias;  // AS name; empty when none was written
  int location = -1;
  bool operator==(const SelectItem& o) const { return value == o.value && alias == o.alias; }
};

// The FROM item: [schema.]name [AS] alias. `schema` is empty for a bare name.
struct TableRef {
  std::string schema;
  std::string name;
  std::string alias;
  int location = -1;
  bool operator==(const TableRef& o) const {
    return schema == o.schema && name == o.name && alias == o.alias;
  }
};

// SELECT [DISTINCT] items FROM table [WHERE] [GROUP BY] [HAVING]. GROUP BY entries are
// expressions as written: an integer constant is an output column's ordinal, a bare name
// may be an output alias — resolved by the planner as PostgreSQL does.
struct SelectStatement {
  bool distinct = false;
  std::vector<SelectItem> items;
  TableRef from;
  std::optional<Expr> where;
  std::vector<Expr> group_by;
  std::optional<Expr> having;
  bool operator==(const SelectStatement&) const = default;
};

// The expression as PostgreSQL SQL that parses back to an equal tree; every operator is
// parenthesized.
std::string ToSql(const Expr& expr);
std::string ToSql(const SelectStatement& statement);

// One-line summaries for logs: the node kind and its SQL ("BinaryExpr (a + 1) @12").
std::string Describe(const Expr& expr);
std::string Describe(const SelectStatement& statement);

const char* BinaryOperatorSql(BinaryOperator op);

}  // namespace walflow::sql
