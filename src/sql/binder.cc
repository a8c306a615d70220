#include "sql/binder.h"

#include <algorithm>
#include <optional>

#include "sql/evaluator.h"
#include "sql/parser.h"

namespace walflow::sql {

bool BoundExpr::ContainsAggregate() const {
  if (kind == Kind::kAggregate) return true;
  return std::any_of(children.begin(), children.end(),
                     [](const BoundExpr& c) { return c.ContainsAggregate(); });
}

namespace {

using Kind = BoundExpr::Kind;

bool IsNumericCategory(SqlType t) {
  return IsIntegerType(t) || IsFloatType(t) || t == SqlType::kNumeric;
}
bool IsDateTime(SqlType t) {
  return t == SqlType::kDate || t == SqlType::kTimestamp || t == SqlType::kTimestampTz;
}
// Order of implicit casts inside a category (select_common_type's choice).
int PromotionRank(SqlType t) {
  switch (t) {
    case SqlType::kInt2: return 1;
    case SqlType::kInt4: return 2;
    case SqlType::kInt8: return 3;
    case SqlType::kNumeric: return 4;
    case SqlType::kFloat4: return 5;
    case SqlType::kFloat8: return 6;
    case SqlType::kDate: return 1;
    case SqlType::kTimestamp: return 2;
    case SqlType::kTimestampTz: return 3;
    default: return 0;
  }
}
bool SameCategory(SqlType a, SqlType b) {
  if (IsNumericCategory(a)) return IsNumericCategory(b);
  if (IsDateTime(a)) return IsDateTime(b);
  return a == b;
}

std::string TypeLabel(const BoundExpr& e) {
  return e.unknown_literal ? "unknown" : SqlTypeName(e.type);
}

// --- Operator resolution as PostgreSQL does it (parse_oper.c, func_select_candidate) -------

// Argument types are pg_type OIDs: walflow's SqlTypes and the few other types of the
// operators below, which walflow does not compute with but which take part in choosing.
constexpr uint32_t kUnknownOid = 705;
constexpr uint32_t kJsonOid = 114;
constexpr uint32_t kTimeOid = 1083;
constexpr uint32_t kTimeTzOid = 1266;
constexpr uint32_t kTextArrayOid = 1009;

constexpr uint32_t Oid(SqlType t) { return static_cast<uint32_t>(t); }
constexpr uint32_t kInt4Oid = Oid(SqlType::kInt4), kFloat8Oid = Oid(SqlType::kFloat8),
                   kTextOid = Oid(SqlType::kText), kDateOid = Oid(SqlType::kDate),
                   kTimestampOid = Oid(SqlType::kTimestamp),
                   kTimestampTzOid = Oid(SqlType::kTimestampTz),
                   kIntervalOid = Oid(SqlType::kInterval), kJsonbOid = Oid(SqlType::kJsonb);

struct OperatorCandidate {
  BinaryOperator op;
  uint32_t left, right, result;
};

// PostgreSQL 15's pg_operator rows named + - * / -> ->> with an argument of type date,
// timestamp, timestamptz, interval, json or jsonb: all the candidates PostgreSQL weighs
// when an operand has one of those types (no other argument type accepts them implicitly).
constexpr OperatorCandidate kTemporalAndJsonOperators[] = {
    {BinaryOperator::kAdd, kInt4Oid, kDateOid, kDateOid},
    {BinaryOperator::kAdd, kDateOid, kInt4Oid, kDateOid},
    {BinaryOperator::kAdd, kDateOid, kTimeOid, kTimestampOid},
    {BinaryOperator::kAdd, kDateOid, kIntervalOid, kTimestampOid},
    {BinaryOperator::kAdd, kDateOid, kTimeTzOid, kTimestampTzOid},
    {BinaryOperator::kAdd, kTimeOid, kDateOid, kTimestampOid},
    {BinaryOperator::kAdd, kTimeOid, kIntervalOid, kTimeOid},
    {BinaryOperator::kAdd, kTimestampOid, kIntervalOid, kTimestampOid},
    {BinaryOperator::kAdd, kTimestampTzOid, kIntervalOid, kTimestampTzOid},
    {BinaryOperator::kAdd, kIntervalOid, kDateOid, kTimestampOid},
    {BinaryOperator::kAdd, kIntervalOid, kTimeOid, kTimeOid},
    {BinaryOperator::kAdd, kIntervalOid, kTimestampOid, kTimestampOid},
    {BinaryOperator::kAdd, kIntervalOid, kTimestampTzOid, kTimestampTzOid},
    {BinaryOperator::kAdd, kIntervalOid, kIntervalOid, kIntervalOid},
    {BinaryOperator::kAdd, kIntervalOid, kTimeTzOid, kTimeTzOid},
    {BinaryOperator::kAdd, kTimeTzOid, kDateOid, kTimestampTzOid},
    {BinaryOperator::kAdd, kTimeTzOid, kIntervalOid, kTimeTzOid},
    {BinaryOperator::kSubtract, kDateOid, kInt4Oid, kDateOid},
    {BinaryOperator::kSubtract, kDateOid, kDateOid, kInt4Oid},
    {BinaryOperator::kSubtract, kDateOid, kIntervalOid, kTimestampOid},
    {BinaryOperator::kSubtract, kTimeOid, kIntervalOid, kTimeOid},
    {BinaryOperator::kSubtract, kTimestampOid, kTimestampOid, kIntervalOid},
    {BinaryOperator::kSubtract, kTimestampOid, kIntervalOid, kTimestampOid},
    {BinaryOperator::kSubtract, kTimestampTzOid, kTimestampTzOid, kIntervalOid},
    {BinaryOperator::kSubtract, kTimestampTzOid, kIntervalOid, kTimestampTzOid},
    {BinaryOperator::kSubtract, kIntervalOid, kIntervalOid, kIntervalOid},
    {BinaryOperator::kSubtract, kTimeTzOid, kIntervalOid, kTimeTzOid},
    {BinaryOperator::kSubtract, kJsonbOid, kInt4Oid, kJsonbOid},
    {BinaryOperator::kSubtract, kJsonbOid, kTextOid, kJsonbOid},
    {BinaryOperator::kSubtract, kJsonbOid, kTextArrayOid, kJsonbOid},
    {BinaryOperator::kMultiply, kFloat8Oid, kIntervalOid, kIntervalOid},
    {BinaryOperator::kMultiply, kIntervalOid, kFloat8Oid, kIntervalOid},
    {BinaryOperator::kDivide, kIntervalOid, kFloat8Oid, kIntervalOid},
    {BinaryOperator::kJsonField, kJsonOid, kInt4Oid, kJsonOid},
    {BinaryOperator::kJsonField, kJsonOid, kTextOid, kJsonOid},
    {BinaryOperator::kJsonField, kJsonbOid, kInt4Oid, kJsonbOid},
    {BinaryOperator::kJsonField, kJsonbOid, kTextOid, kJsonbOid},
    {BinaryOperator::kJsonFieldText, kJsonOid, kInt4Oid, kTextOid},
    {BinaryOperator::kJsonFieldText, kJsonOid, kTextOid, kTextOid},
    {BinaryOperator::kJsonFieldText, kJsonbOid, kInt4Oid, kTextOid},
    {BinaryOperator::kJsonFieldText, kJsonbOid, kTextOid, kTextOid},
};

// Whether a candidate of this operator computes here; the others are refused by name.
bool IsComputed(const OperatorCandidate& c) {
  auto ours = [](uint32_t t) {
    return t != kJsonOid && t != kTimeOid && t != kTimeTzOid && t != kTextArrayOid;
  };
  return ours(c.left) && ours(c.right) &&
         !(c.op == BinaryOperator::kSubtract && c.left == kJsonbOid);
}

std::string OidName(uint32_t oid) {
  switch (oid) {
    case kUnknownOid: return "unknown";
    case kJsonOid: return "json";
    case kTimeOid: return "time without time zone";
    case kTimeTzOid: return "time with time zone";
    case kTextArrayOid: return "text[]";
    default: return SqlTypeName(static_cast<SqlType>(oid));
  }
}

// pg_type.typcategory and typispreferred.
char TypeCategory(uint32_t oid) {
  switch (oid) {
    case kTimeOid:
    case kTimeTzOid: return 'D';
    case kJsonOid: return 'U';
    case kTextArrayOid: return 'A';
    case kUnknownOid: return 'X';
    default: break;
  }
  SqlType t = static_cast<SqlType>(oid);
  if (IsNumericCategory(t)) return 'N';
  if (IsDateTime(t)) return 'D';
  switch (t) {
    case SqlType::kInterval: return 'T';
    case SqlType::kText: return 'S';
    case SqlType::kBool: return 'B';
    case SqlType::kJsonb: return 'U';
    default: return 'X';
  }
}
bool IsPreferred(uint32_t oid) {
  return oid == kFloat8Oid || oid == kTimestampTzOid || oid == kIntervalOid || oid == kTextOid ||
         oid == Oid(SqlType::kBool);
}

// pg_cast's implicit casts among these types (can_coerce_type with COERCION_IMPLICIT);
// an unknown literal goes to any type.
bool CoercesImplicitly(uint32_t from, uint32_t to) {
  if (from == to || from == kUnknownOid) return true;
  if (from == kTimeOid) return to == kIntervalOid || to == kTimeTzOid;
  if (from == kJsonOid || from == kTimeTzOid || from == kTextArrayOid) return false;
  SqlType f = static_cast<SqlType>(from);
  if (IsNumericCategory(f) && to != kTimeOid && to != kTimeTzOid && to != kJsonOid &&
      to != kTextArrayOid && IsNumericCategory(static_cast<SqlType>(to))) {
    // int2 < int4 < int8 < numeric < float4 < float8, each to the wider.
    return PromotionRank(static_cast<SqlType>(to)) > PromotionRank(f);
  }
  if (f == SqlType::kDate) return to == kTimestampOid || to == kTimestampTzOid;
  if (f == SqlType::kTimestamp) return to == kTimestampTzOid;
  return false;
}

enum class Resolution { kFound, kNotFound, kAmbiguous };

// oper(): the exact match (an unknown operand taken as the other's type), else the one
// candidate func_select_candidate's heuristics leave.
Resolution ResolveOperator(BinaryOperator op, uint32_t left, uint32_t right,
                           const OperatorCandidate** found) {
  const uint32_t input[2] = {left, right};
  uint32_t exact_left = left == kUnknownOid ? right : left;
  uint32_t exact_right = right == kUnknownOid ? left : right;
  std::vector<const OperatorCandidate*> candidates;
  for (const OperatorCandidate& c : kTemporalAndJsonOperators) {
    if (c.op != op) continue;
    if (c.left == exact_left && c.right == exact_right) {
      *found = &c;
      return Resolution::kFound;
    }
    if (CoercesImplicitly(left, c.left) && CoercesImplicitly(right, c.right)) {
      candidates.push_back(&c);
    }
  }
  auto arg = [](const OperatorCandidate* c, int i) { return i == 0 ? c->left : c->right; };
  // Keeps the candidates with the highest score.
  auto keep_best = [&](auto score) {
    std::vector<const OperatorCandidate*> best;
    int best_score = -1;
    for (const OperatorCandidate* c : candidates) {
      int s = score(c);
      if (s > best_score) best.clear(), best_score = s;
      if (s == best_score) best.push_back(c);
    }
    candidates = std::move(best);
  };
  auto done = [&]() {
    if (candidates.size() != 1) return false;
    *found = candidates[0];
    return true;
  };
  if (candidates.empty()) return Resolution::kNotFound;
  if (done()) return Resolution::kFound;
  // Most exact matches, then most exact-or-preferred (of the input's category) matches.
  keep_best([&](const OperatorCandidate* c) {
    int n = 0;
    for (int i = 0; i < 2; ++i) n += input[i] != kUnknownOid && arg(c, i) == input[i];
    return n;
  });
  if (done()) return Resolution::kFound;
  keep_best([&](const OperatorCandidate* c) {
    int n = 0;
    for (int i = 0; i < 2; ++i) {
      uint32_t t = arg(c, i);
      n += input[i] != kUnknownOid &&
           (t == input[i] || (IsPreferred(t) && TypeCategory(t) == TypeCategory(input[i])));
    }
    return n;
  });
  if (done()) return Resolution::kFound;
  int unknown_at = input[0] == kUnknownOid ? 0 : (input[1] == kUnknownOid ? 1 : -1);
  if (unknown_at < 0) return Resolution::kAmbiguous;
  // The unknown position's category: string if any candidate takes one, else the one all
  // candidates agree on; then only the candidates of that category (of its preferred type
  // when some take it).
  char category[2] = {0, 0};
  bool has_preferred[2] = {false, false};
  bool resolved = true;
  for (int i = 0; i < 2 && resolved; ++i) {
    if (input[i] != kUnknownOid) continue;
    bool conflict = false;
    for (const OperatorCandidate* c : candidates) {
      char k = TypeCategory(arg(c, i));
      if (category[i] == 0 || (k == 'S' && category[i] != 'S')) {
        category[i] = k;
        has_preferred[i] = IsPreferred(arg(c, i));
      } else if (k == category[i]) {
        has_preferred[i] |= IsPreferred(arg(c, i));
      } else {
        conflict = true;
      }
    }
    resolved = !conflict || category[i] == 'S';
  }
  if (resolved) {
    std::vector<const OperatorCandidate*> kept;
    for (const OperatorCandidate* c : candidates) {
      bool keep = true;
      for (int i = 0; i < 2; ++i) {
        uint32_t t = arg(c, i);
        if (input[i] == kUnknownOid &&
            (TypeCategory(t) != category[i] || (has_preferred[i] && !IsPreferred(t)))) {
          keep = false;
        }
      }
      if (keep) kept.push_back(c);
    }
    if (!kept.empty()) candidates = std::move(kept);
    if (done()) return Resolution::kFound;
  }
  // Last: the unknown operand taken as the known one's type, with implicit casts.
  uint32_t known = input[1 - unknown_at];
  if (known != kUnknownOid) {
    const OperatorCandidate* unique = nullptr;
    int matches = 0;
    for (const OperatorCandidate* c : candidates) {
      if (CoercesImplicitly(known, c->left) && CoercesImplicitly(known, c->right)) {
        unique = c;
        ++matches;
      }
    }
    if (matches == 1) {
      *found = unique;
      return Resolution::kFound;
    }
  }
  return Resolution::kAmbiguous;
}

// A node whose result is boolean (a comparison, a predicate, NOT/AND/OR) over `children`.
template <typename... Children>
BoundExpr BooleanNode(Kind kind, int location, Children&&... children) {
  BoundExpr out;
  out.kind = kind;
  out.type = SqlType::kBool;
  out.location = location;
  (out.children.push_back(std::forward<Children>(children)), ...);
  return out;
}

class ExprBinder {
 public:
  ExprBinder(const InputSchema& schema, std::string_view sql, const BindOptions& options)
      : schema_(schema), sql_(sql), options_(options) {}

  Result<BoundExpr> Bind(const Expr& e) {
    return std::visit([&](const auto& node) { return BindNode(node, e.location); }, e.node);
  }

  // Resolves a remaining unknown literal as text.
  Result<BoundExpr> BindResolved(const Expr& e) {
    WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(e));
    if (b.unknown_literal) b.unknown_literal = false;
    return b;
  }

  // A message's DETAIL lines (an input function's) follow the caret, as psql prints them.
  Status Error(const std::string& message, int location) const {
    size_t detail = message.find("\nDETAIL:");
    if (detail == std::string::npos)
      return InvalidArgument(FormatSqlError(message, sql_, location));
    return InvalidArgument(FormatSqlError(message.substr(0, detail), sql_, location) +
                           message.substr(detail));
  }

  // Coerces `e` to `target`: an unknown literal is read as `target` (errors as the input
  // function's); a typed value gets an implicit cast node.
  Result<BoundExpr> Coerce(BoundExpr e, SqlType target) {
    if (e.unknown_literal) {
      e.unknown_literal = false;
      if (e.constant.is_null()) {
        e.constant = Value::Null(target);
      } else {
        Result<Value> v = ParseInput(target, e.constant.text_value());
        if (!v.ok()) return Error(v.status().message(), e.location);
        e.constant = std::move(v).value();
      }
      e.type = target;
      return e;
    }
    if (e.type == target) return e;
    if (e.kind == Kind::kConstant) {
      Result<Value> v = CastValue(e.constant, target);
      if (!v.ok()) return Error(v.status().message(), e.location);
      e.constant = std::move(v).value();
      e.type = target;
      return e;
    }
    BoundExpr cast;
    cast.kind = Kind::kCast;
    cast.type = target;
    cast.location = e.location;
    cast.children.push_back(std::move(e));
    return cast;
  }

  Status RequireBool(BoundExpr* e, const char* what) {
    if (e->unknown_literal) {
      WF_ASSIGN_OR_RETURN(*e, Coerce(std::move(*e), SqlType::kBool));
    }
    if (e->type != SqlType::kBool) {
      return Error(std::string("argument of ") + what + " must be type boolean, not type " +
                       SqlTypeName(e->type),
                   e->location);
    }
    return Status::OK();
  }

  // select_common_type over `items`, then coerces every item to it.
  Status UnifyTypes(std::vector<BoundExpr*> items, const char* context) {
    std::optional<SqlType> common;
    for (BoundExpr* e : items) {
      if (e->unknown_literal) continue;
      if (!common) {
        common = e->type;
      } else if (!SameCategory(*common, e->type)) {
        return Error(std::string(context) + " types " + SqlTypeName(*common) + " and " +
                         SqlTypeName(e->type) + " cannot be matched",
                     e->location);
      } else if (PromotionRank(e->type) > PromotionRank(*common)) {
        common = e->type;
      }
    }
    SqlType t = common.value_or(SqlType::kText);
    for (BoundExpr* e : items) {
      WF_ASSIGN_OR_RETURN(*e, Coerce(std::move(*e), t));
    }
    return Status::OK();
  }

  // Types both sides of a comparison; errors as PostgreSQL's operator lookup.
  Status UnifyComparison(BoundExpr* l, BoundExpr* r, const char* op, int location) {
    if (l->unknown_literal && r->unknown_literal) {
      WF_ASSIGN_OR_RETURN(*l, Coerce(std::move(*l), SqlType::kText));
      WF_ASSIGN_OR_RETURN(*r, Coerce(std::move(*r), SqlType::kText));
    } else if (l->unknown_literal) {
      WF_ASSIGN_OR_RETURN(*l, Coerce(std::move(*l), r->type));
    } else if (r->unknown_literal) {
      WF_ASSIGN_OR_RETURN(*r, Coerce(std::move(*r), l->type));
    }
    if (l->type == SqlType::kJsonb && r->type == SqlType::kJsonb && std::string_view(op) != "=" &&
        std::string_view(op) != "<>") {
      // jsonb's order (objects above arrays above booleans, ...) is not implemented.
      return Error(std::string("operator is not supported yet: jsonb ") + op + " jsonb", location);
    }
    if (!SameCategory(l->type, r->type)) {
      return Error(std::string("operator does not exist: ") + SqlTypeName(l->type) + " " + op +
                       " " + SqlTypeName(r->type),
                   location);
    }
    return Status::OK();
  }

  Result<BoundExpr> MakeCompare(BinaryOperator op, BoundExpr l, BoundExpr r, int location) {
    WF_RETURN_IF_ERROR(UnifyComparison(&l, &r, BinaryOperatorSql(op), location));
    BoundExpr out = BooleanNode(Kind::kCompare, location, std::move(l), std::move(r));
    out.op = op;
    return out;
  }

  Result<BoundExpr> BindNode(const ColumnRef& ref, int location) {
    if (!ref.qualifier.empty()) {
      const std::string& visible = schema_.alias.empty() ? schema_.table : schema_.alias;
      if (ref.qualifier != visible) {
        return Error("missing FROM-clause entry for table \"" + ref.qualifier + "\"", location);
      }
    }
    for (size_t i = 0; i < schema_.columns.size(); ++i) {
      if (schema_.columns[i].name == ref.name) {
        BoundExpr out;
        out.kind = Kind::kColumn;
        out.column = static_cast<int>(i);
        out.type = schema_.columns[i].type;
        out.location = location;
        return out;
      }
    }
    std::string name =
        ref.qualifier.empty() ? "\"" + ref.name + "\"" : ref.qualifier + "." + ref.name;
    return Error("column " + name + " does not exist", location);
  }

  Result<BoundExpr> BindNode(const Constant& c, int location) {
    BoundExpr out;
    out.kind = Kind::kConstant;
    out.location = location;
    switch (c.kind) {
      case ConstantKind::kNull:
        out.unknown_literal = true;
        out.constant = Value::Null(SqlType::kText);
        break;
      case ConstantKind::kBool: out.constant = Value::Bool(c.text == "true"); break;
      case ConstantKind::kInteger:
        if (c.integer >= INT32_MIN && c.integer <= INT32_MAX) {
          out.constant = Value::Int4(static_cast<int32_t>(c.integer));
        } else {
          out.constant = Value::Int8(c.integer);
        }
        break;
      case ConstantKind::kNumeric: {
        Result<Decimal> d = Decimal::Parse(c.text);
        if (!d.ok()) return Error(d.status().message(), location);
        out.constant = Value::Numeric(std::move(d).value());
        break;
      }
      case ConstantKind::kString:
        out.unknown_literal = true;
        out.constant = Value::Text(c.text);
        break;
    }
    out.type = out.constant.type();
    return out;
  }

  Result<BoundExpr> BindNode(const BinaryExpr& b, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr l, Bind(*b.left));
    WF_ASSIGN_OR_RETURN(BoundExpr r, Bind(*b.right));
    const char* op = BinaryOperatorSql(b.op);
    switch (b.op) {
      case BinaryOperator::kEqual:
      case BinaryOperator::kNotEqual:
      case BinaryOperator::kLess:
      case BinaryOperator::kLessEqual:
      case BinaryOperator::kGreater:
      case BinaryOperator::kGreaterEqual:
        return MakeCompare(b.op, std::move(l), std::move(r), location);
      case BinaryOperator::kJsonField:
      case BinaryOperator::kJsonFieldText:
        return BindCatalogOperator(b.op, std::move(l), std::move(r), location);
      case BinaryOperator::kConcat: {
        bool l_text = l.unknown_literal || l.type == SqlType::kText;
        bool r_text = r.unknown_literal || r.type == SqlType::kText;
        if ((!l_text && !r_text) || l.type == SqlType::kJsonb || r.type == SqlType::kJsonb) {
          std::string message = (l.type == SqlType::kJsonb || r.type == SqlType::kJsonb)
                                    ? "operator is not supported yet: "
                                    : "operator does not exist: ";
          return Error(message + TypeLabel(l) + " || " + TypeLabel(r), location);
        }
        if (l.unknown_literal) l.unknown_literal = false, l.type = SqlType::kText;
        if (r.unknown_literal) r.unknown_literal = false, r.type = SqlType::kText;
        BoundExpr out;
        out.kind = Kind::kConcat;
        out.type = SqlType::kText;
        out.location = location;
        out.children.push_back(std::move(l));
        out.children.push_back(std::move(r));
        return out;
      }
      default: break;
    }
    // Arithmetic.
    if (l.unknown_literal && r.unknown_literal) {
      return Error(std::string("operator is not unique: unknown ") + op + " unknown", location);
    }
    auto catalog_typed = [](const BoundExpr& e) {
      return !e.unknown_literal &&
             (IsDateTime(e.type) || e.type == SqlType::kInterval || e.type == SqlType::kJsonb);
    };
    if (catalog_typed(l) || catalog_typed(r)) {
      return BindCatalogOperator(b.op, std::move(l), std::move(r), location);
    }
    if (l.unknown_literal && !r.unknown_literal && IsNumericCategory(r.type)) {
      WF_ASSIGN_OR_RETURN(l, Coerce(std::move(l), r.type));
    } else if (r.unknown_literal && !l.unknown_literal && IsNumericCategory(l.type)) {
      WF_ASSIGN_OR_RETURN(r, Coerce(std::move(r), l.type));
    }
    bool numeric = !l.unknown_literal && !r.unknown_literal && IsNumericCategory(l.type) &&
                   IsNumericCategory(r.type);
    if (numeric && b.op == BinaryOperator::kModulo &&
        (IsFloatType(l.type) || IsFloatType(r.type))) {
      numeric = false;
    }
    if (!numeric) {
      return Error("operator does not exist: " + TypeLabel(l) + " " + op + " " + TypeLabel(r),
                   location);
    }
    BoundExpr out;
    out.kind = Kind::kArithmetic;
    out.op = b.op;
    out.location = location;
    int rank = std::max(PromotionRank(l.type), PromotionRank(r.type));
    if (rank == 5 && l.type != r.type) rank = 6;  // float4 op other → float8
    if (rank == 5 || rank == 6) {
      out.type = rank == 5 ? SqlType::kFloat4 : SqlType::kFloat8;
    } else {
      out.type = rank == 1   ? SqlType::kInt2
                 : rank == 2 ? SqlType::kInt4
                 : rank == 3 ? SqlType::kInt8
                             : SqlType::kNumeric;
    }
    out.children.push_back(std::move(l));
    out.children.push_back(std::move(r));
    return out;
  }

  // An operator over a date/time or jsonb operand, or -> and ->>: resolved against
  // PostgreSQL's candidates, the operands coerced to the chosen one's argument types.
  Result<BoundExpr> BindCatalogOperator(BinaryOperator op, BoundExpr l, BoundExpr r, int location) {
    uint32_t left = l.unknown_literal ? kUnknownOid : Oid(l.type);
    uint32_t right = r.unknown_literal ? kUnknownOid : Oid(r.type);
    const std::string signature =
        OidName(left) + " " + BinaryOperatorSql(op) + " " + OidName(right);
    const OperatorCandidate* chosen = nullptr;
    switch (ResolveOperator(op, left, right, &chosen)) {
      case Resolution::kFound: break;
      case Resolution::kNotFound: return Error("operator does not exist: " + signature, location);
      case Resolution::kAmbiguous: return Error("operator is not unique: " + signature, location);
    }
    if (!IsComputed(*chosen)) {
      return Error("operator is not supported yet: " + OidName(chosen->left) + " " +
                       BinaryOperatorSql(op) + " " + OidName(chosen->right),
                   location);
    }
    WF_ASSIGN_OR_RETURN(l, Coerce(std::move(l), static_cast<SqlType>(chosen->left)));
    WF_ASSIGN_OR_RETURN(r, Coerce(std::move(r), static_cast<SqlType>(chosen->right)));
    BoundExpr out;
    bool json = op == BinaryOperator::kJsonField || op == BinaryOperator::kJsonFieldText;
    out.kind = json ? Kind::kJsonField : Kind::kArithmetic;
    out.op = op;
    out.type = static_cast<SqlType>(chosen->result);
    out.location = location;
    out.children.push_back(std::move(l));
    out.children.push_back(std::move(r));
    return out;
  }

  Result<BoundExpr> BindNode(const UnaryExpr& u, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr operand, Bind(*u.operand));
    if (u.op == UnaryOperator::kNot) {
      WF_RETURN_IF_ERROR(RequireBool(&operand, "NOT"));
      return BooleanNode(Kind::kNot, location, std::move(operand));
    }
    if (operand.unknown_literal) {
      // The numeric and interval variants fit alike.
      return Error("operator is not unique: - unknown", location);
    }
    if (!(IsNumericCategory(operand.type) || operand.type == SqlType::kInterval)) {
      return Error("operator does not exist: - " + TypeLabel(operand), location);
    }
    BoundExpr out;
    out.kind = Kind::kNegate;
    out.type = operand.type;
    out.location = location;
    out.children.push_back(std::move(operand));
    return out;
  }

  Result<BoundExpr> BindNode(const LogicalExpr& l, int location) {
    BoundExpr out = BooleanNode(l.op == LogicalOperator::kAnd ? Kind::kAnd : Kind::kOr, location);
    for (const Expr& e : l.operands) {
      WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(e));
      WF_RETURN_IF_ERROR(RequireBool(&b, l.op == LogicalOperator::kAnd ? "AND" : "OR"));
      out.children.push_back(std::move(b));
    }
    return out;
  }

  Result<BoundExpr> BindNode(const IsNullExpr& n, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr operand, BindResolved(*n.operand));
    BoundExpr out = BooleanNode(Kind::kIsNull, location, std::move(operand));
    out.negated = n.negated;
    return out;
  }

  Result<BoundExpr> BindNode(const IsDistinctExpr& d, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr l, Bind(*d.left));
    WF_ASSIGN_OR_RETURN(BoundExpr r, Bind(*d.right));
    WF_RETURN_IF_ERROR(UnifyComparison(&l, &r, "=", location));
    BoundExpr out = BooleanNode(Kind::kIsDistinct, location, std::move(l), std::move(r));
    out.negated = d.negated;
    return out;
  }

  Result<BoundExpr> BindNode(const InListExpr& in, int location) {
    BoundExpr out = BooleanNode(Kind::kIn, location);
    out.negated = in.negated;
    WF_ASSIGN_OR_RETURN(BoundExpr operand, Bind(*in.operand));
    out.children.push_back(std::move(operand));
    for (const Expr& e : in.list) {
      WF_ASSIGN_OR_RETURN(BoundExpr item, Bind(e));
      out.children.push_back(std::move(item));
    }
    std::vector<BoundExpr*> items;
    for (BoundExpr& c : out.children) items.push_back(&c);
    WF_RETURN_IF_ERROR(UnifyTypes(items, "IN"));
    return out;
  }

  Result<BoundExpr> BindNode(const BetweenExpr& b, int location) {
    // PostgreSQL rewrites x BETWEEN a AND b as x >= a AND x <= b (NOT: x < a OR x > b).
    WF_ASSIGN_OR_RETURN(BoundExpr x, Bind(*b.operand));
    WF_ASSIGN_OR_RETURN(BoundExpr low, Bind(*b.low));
    WF_ASSIGN_OR_RETURN(BoundExpr high, Bind(*b.high));
    BoundExpr x2 = x;
    WF_ASSIGN_OR_RETURN(BoundExpr first, MakeCompare(b.negated ? BinaryOperator::kLess
                                                               : BinaryOperator::kGreaterEqual,
                                                     std::move(x), std::move(low), location));
    WF_ASSIGN_OR_RETURN(BoundExpr second, MakeCompare(b.negated ? BinaryOperator::kGreater
                                                                : BinaryOperator::kLessEqual,
                                                      std::move(x2), std::move(high), location));
    return BooleanNode(b.negated ? Kind::kOr : Kind::kAnd, location, std::move(first),
                       std::move(second));
  }

  Result<BoundExpr> BindNode(const LikeExpr& l, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr operand, Bind(*l.operand));
    WF_ASSIGN_OR_RETURN(BoundExpr pattern, Bind(*l.pattern));
    const char* op = l.case_insensitive ? (l.negated ? "!~~*" : "~~*") : (l.negated ? "!~~" : "~~");
    bool ok = (operand.unknown_literal || operand.type == SqlType::kText) &&
              (pattern.unknown_literal || pattern.type == SqlType::kText);
    if (!ok) {
      return Error(
          "operator does not exist: " + TypeLabel(operand) + " " + op + " " + TypeLabel(pattern),
          location);
    }
    WF_ASSIGN_OR_RETURN(operand, Coerce(std::move(operand), SqlType::kText));
    WF_ASSIGN_OR_RETURN(pattern, Coerce(std::move(pattern), SqlType::kText));
    BoundExpr out = BooleanNode(Kind::kLike, location, std::move(operand), std::move(pattern));
    out.negated = l.negated;
    out.case_insensitive = l.case_insensitive;
    return out;
  }

  Result<BoundExpr> BindNode(const CaseExpr& c, int location) {
    BoundExpr out;
    out.kind = Kind::kCase;
    out.location = location;
    std::optional<BoundExpr> operand;
    if (c.operand) {
      WF_ASSIGN_OR_RETURN(BoundExpr o, Bind(**c.operand));
      operand = std::move(o);
    }
    std::vector<size_t> results;
    for (const CaseWhen& w : c.whens) {
      WF_ASSIGN_OR_RETURN(BoundExpr cond, Bind(*w.condition));
      if (operand) {
        int at = w.condition->location >= 0 ? w.condition->location : location;
        WF_ASSIGN_OR_RETURN(cond,
                            MakeCompare(BinaryOperator::kEqual, *operand, std::move(cond), at));
      } else {
        WF_RETURN_IF_ERROR(RequireBool(&cond, "CASE/WHEN"));
      }
      WF_ASSIGN_OR_RETURN(BoundExpr result, Bind(*w.result));
      out.children.push_back(std::move(cond));
      results.push_back(out.children.size());
      out.children.push_back(std::move(result));
    }
    if (c.otherwise) {
      WF_ASSIGN_OR_RETURN(BoundExpr e, Bind(**c.otherwise));
      out.has_else = true;
      results.push_back(out.children.size());
      out.children.push_back(std::move(e));
    }
    std::vector<BoundExpr*> items;
    for (size_t i : results) items.push_back(&out.children[i]);
    WF_RETURN_IF_ERROR(UnifyTypes(items, "CASE"));
    out.type = out.children[results[0]].type;
    return out;
  }

  Result<BoundExpr> BindNode(const ConditionalExpr& c, int location) {
    BoundExpr out;
    out.location = location;
    for (const Expr& e : c.args) {
      WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(e));
      out.children.push_back(std::move(b));
    }
    if (c.kind == ConditionalKind::kNullIf) {
      WF_ASSIGN_OR_RETURN(BoundExpr cmp, MakeCompare(BinaryOperator::kEqual, out.children[0],
                                                     out.children[1], location));
      out.kind = Kind::kNullIf;
      out.children = std::move(cmp.children);
      out.type = out.children[0].type;
      return out;
    }
    const char* name = "COALESCE";
    out.kind = Kind::kCoalesce;
    if (c.kind == ConditionalKind::kGreatest) name = "GREATEST", out.kind = Kind::kGreatest;
    if (c.kind == ConditionalKind::kLeast) name = "LEAST", out.kind = Kind::kLeast;
    std::vector<BoundExpr*> items;
    for (BoundExpr& b : out.children) items.push_back(&b);
    WF_RETURN_IF_ERROR(UnifyTypes(items, name));
    out.type = out.children[0].type;
    if (out.kind != Kind::kCoalesce && out.type == SqlType::kJsonb) {
      return Error(std::string(name) + " over jsonb is not supported yet", location);
    }
    return out;
  }

  Result<BoundExpr> BindNode(const CastExpr& c, int location) {
    WF_ASSIGN_OR_RETURN(BoundExpr operand, Bind(*c.operand));
    const TypeName& t = c.type;
    int at = t.location >= 0 ? t.location : location;
    static const std::pair<const char*, SqlType> kTypes[] = {
        {"bool", SqlType::kBool},           {"int2", SqlType::kInt2},
        {"int4", SqlType::kInt4},           {"int8", SqlType::kInt8},
        {"float4", SqlType::kFloat4},       {"float8", SqlType::kFloat8},
        {"numeric", SqlType::kNumeric},     {"text", SqlType::kText},
        {"varchar", SqlType::kText},        {"date", SqlType::kDate},
        {"timestamp", SqlType::kTimestamp}, {"timestamptz", SqlType::kTimestampTz},
        {"interval", SqlType::kInterval},   {"jsonb", SqlType::kJsonb},
    };
    std::optional<SqlType> target;
    if (t.schema.empty()) {
      for (const auto& [name, type] : kTypes) {
        if (t.name == name) target = type;
      }
    }
    if (!target) return Error("type " + t.name + " is not supported yet", at);
    int precision = -1, scale = 0;
    if (!t.modifiers.empty()) {
      if (*target != SqlType::kNumeric || t.modifiers.size() > 2) {
        return Error("type modifiers of " + t.name + " are not supported yet", at);
      }
      precision = static_cast<int>(t.modifiers[0]);
      if (t.modifiers.size() == 2) scale = static_cast<int>(t.modifiers[1]);
      if (precision < 1 || precision > 1000) {
        return Error(
            "NUMERIC precision " + std::to_string(precision) + " must be between 1 and 1000", at);
      }
      if (scale < -1000 || scale > 1000) {
        return Error("NUMERIC scale " + std::to_string(scale) + " must be between -1000 and 1000",
                     at);
      }
    }
    if (operand.unknown_literal && !operand.constant.is_null()) {
      WF_ASSIGN_OR_RETURN(
          operand,
          Coerce(std::move(operand), *target == SqlType::kNumeric ? SqlType::kNumeric : *target));
      if (precision < 0) return operand;
    } else if (operand.unknown_literal) {
      operand.unknown_literal = false;
      operand.constant = Value::Null(*target);
      operand.type = *target;
      return operand;
    }
    SqlType from = operand.type;
    bool allowed = from == *target || (IsNumericCategory(from) && IsNumericCategory(*target)) ||
                   *target == SqlType::kText || from == SqlType::kText ||
                   (IsDateTime(from) && IsDateTime(*target) &&
                    !(from != SqlType::kDate && *target == SqlType::kDate && false)) ||
                   (from == SqlType::kBool && *target == SqlType::kInt4) ||
                   (from == SqlType::kInt4 && *target == SqlType::kBool);
    if (from == SqlType::kJsonb && (IsNumericCategory(*target) || *target == SqlType::kBool)) {
      return Error(
          std::string("cast from jsonb to ") + SqlTypeName(*target) + " is not supported yet", at);
    }
    if (!allowed) {
      return Error(
          std::string("cannot cast type ") + SqlTypeName(from) + " to " + SqlTypeName(*target),
          location);
    }
    BoundExpr out;
    out.kind = Kind::kCast;
    out.type = *target;
    out.location = location;
    out.numeric_precision = precision;
    out.numeric_scale = scale;
    out.children.push_back(std::move(operand));
    return out;
  }

  Result<BoundExpr> BindNode(const FunctionCall& f, int location);

 private:
  Result<BoundExpr> BindAggregate(const FunctionCall& f, AggregateFunction kind, int location);
  Result<BoundExpr> BindScalarFunction(const FunctionCall& f, int location);
  Result<BoundExpr> BindDateTimeFunction(const FunctionCall& f, std::vector<BoundExpr> args,
                                         int location);
  Status NoSuchFunction(const std::string& name, const std::vector<BoundExpr>& args,
                        int location) const {
    return Error("function " + Signature(name, args) + " does not exist", location);
  }
  // Two or more variants fit equally well (an unknown literal where they differ).
  Status AmbiguousFunction(const std::string& name, const std::vector<BoundExpr>& args,
                           int location) const {
    return Error("function " + Signature(name, args) + " is not unique", location);
  }
  static std::string Signature(const std::string& name, const std::vector<BoundExpr>& args) {
    std::string sig = name + "(";
    for (size_t i = 0; i < args.size(); ++i) {
      if (i) sig += ", ";
      sig += TypeLabel(args[i]);
    }
    return sig + ")";
  }
  // The function's name as written, as PostgreSQL's messages print it: EXTRACT and the
  // other SQL-syntax forms are pg_catalog.extract, ...
  static std::string WrittenName(const FunctionCall& f) {
    return f.schema.empty() ? f.name : f.schema + "." + f.name;
  }

  const InputSchema& schema_;
  std::string_view sql_;
  const BindOptions& options_;
  bool in_aggregate_ = false;
};

Result<BoundExpr> ExprBinder::BindNode(const FunctionCall& f, int location) {
  if (!f.schema.empty() && f.schema != "pg_catalog") {
    return Error("function " + f.schema + "." + f.name + " is not supported yet", location);
  }
  static const std::pair<const char*, AggregateFunction> kAggregates[] = {
      {"count", AggregateFunction::kCount},    {"sum", AggregateFunction::kSum},
      {"avg", AggregateFunction::kAvg},        {"min", AggregateFunction::kMin},
      {"max", AggregateFunction::kMax},        {"bool_and", AggregateFunction::kBoolAnd},
      {"bool_or", AggregateFunction::kBoolOr},
  };
  for (const auto& [name, kind] : kAggregates) {
    if (f.name == name) return BindAggregate(f, kind, location);
  }
  if (f.distinct) {
    return Error("DISTINCT specified, but " + f.name + " is not an aggregate function", location);
  }
  if (f.filter) {
    return Error("FILTER specified, but " + f.name + " is not an aggregate function", location);
  }
  if (f.star) {
    return Error(f.name + "(*) specified, but " + f.name + " is not an aggregate function",
                 location);
  }
  return BindScalarFunction(f, location);
}

Result<BoundExpr> ExprBinder::BindAggregate(const FunctionCall& f, AggregateFunction kind,
                                            int location) {
  if (!options_.allow_aggregates) {
    return Error("aggregate functions are not allowed in " + options_.clause, location);
  }
  if (in_aggregate_) return Error("aggregate function calls cannot be nested", location);
  in_aggregate_ = true;
  BoundExpr out;
  out.kind = Kind::kAggregate;
  out.aggregate = kind;
  out.distinct = f.distinct;
  out.location = location;
  Status status = [&]() -> Status {
    if (f.star) {
      if (kind != AggregateFunction::kCount) {
        return Error(
            f.name + "(*) specified, but " + f.name + " is not a parameterless aggregate function",
            location);
      }
      out.aggregate = AggregateFunction::kCountStar;
      out.type = SqlType::kInt8;
    } else {
      if (f.args.size() != 1) {
        std::vector<BoundExpr> args;
        for (const Expr& e : f.args) {
          WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(e));
          args.push_back(std::move(b));
        }
        return NoSuchFunction(f.name, args, location);
      }
      WF_ASSIGN_OR_RETURN(BoundExpr arg, Bind(f.args[0]));
      if (arg.unknown_literal && kind != AggregateFunction::kCount) {
        if (kind == AggregateFunction::kBoolAnd || kind == AggregateFunction::kBoolOr) {
          WF_ASSIGN_OR_RETURN(arg, Coerce(std::move(arg), SqlType::kBool));
        } else {
          return Error("function " + f.name + "(unknown) is not unique", location);
        }
      }
      if (arg.unknown_literal) arg.unknown_literal = false;
      SqlType t = arg.type;
      std::optional<SqlType> result;
      switch (kind) {
        case AggregateFunction::kCount: result = SqlType::kInt8; break;
        case AggregateFunction::kSum:
          if (t == SqlType::kInt2 || t == SqlType::kInt4) result = SqlType::kInt8;
          if (t == SqlType::kInt8 || t == SqlType::kNumeric) result = SqlType::kNumeric;
          if (IsFloatType(t) || t == SqlType::kInterval) result = t;
          break;
        case AggregateFunction::kAvg:
          if (IsIntegerType(t) || t == SqlType::kNumeric) result = SqlType::kNumeric;
          if (IsFloatType(t)) result = SqlType::kFloat8;
          if (t == SqlType::kInterval) result = t;
          break;
        case AggregateFunction::kMin:
        case AggregateFunction::kMax:
          if (t != SqlType::kBool && t != SqlType::kJsonb) result = t;
          break;
        case AggregateFunction::kBoolAnd:
        case AggregateFunction::kBoolOr:
          if (t == SqlType::kBool) result = t;
          break;
        case AggregateFunction::kCountStar: break;
      }
      if (!result) {
        std::vector<BoundExpr> args;
        args.push_back(arg);
        return NoSuchFunction(f.name, args, location);
      }
      out.type = *result;
      out.children.push_back(std::move(arg));
    }
    if (f.filter) {
      WF_ASSIGN_OR_RETURN(BoundExpr filter, Bind(**f.filter));
      WF_RETURN_IF_ERROR(RequireBool(&filter, "FILTER"));
      out.has_filter = true;
      out.children.push_back(std::move(filter));
    }
    return Status::OK();
  }();
  in_aggregate_ = false;
  if (!status.ok()) return status;
  return out;
}

Result<BoundExpr> ExprBinder::BindScalarFunction(const FunctionCall& f, int location) {
  std::vector<BoundExpr> args;
  for (const Expr& e : f.args) {
    WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(e));
    args.push_back(std::move(b));
  }
  auto finish = [&](ScalarFunction fn, SqlType type) -> Result<BoundExpr> {
    BoundExpr out;
    out.kind = Kind::kFunction;
    out.function = fn;
    out.type = type;
    out.location = location;
    out.children = std::move(args);
    return out;
  };
  // Checks a fixed signature of text and int4 parameters ('t', 'i').
  auto signature = [&](std::string_view params) -> Status {
    if (args.size() != params.size()) return NoSuchFunction(WrittenName(f), args, location);
    for (size_t i = 0; i < params.size(); ++i) {
      SqlType want = params[i] == 't' ? SqlType::kText : SqlType::kInt4;
      BoundExpr& a = args[i];
      bool ok = a.unknown_literal || a.type == want ||
                (want == SqlType::kInt4 && a.type == SqlType::kInt2);
      if (!ok) return NoSuchFunction(WrittenName(f), args, location);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      WF_ASSIGN_OR_RETURN(
          args[i], Coerce(std::move(args[i]), params[i] == 't' ? SqlType::kText : SqlType::kInt4));
    }
    return Status::OK();
  };
  const std::string& n = f.name;
  if (n == "lower" || n == "upper") {
    WF_RETURN_IF_ERROR(signature("t"));
    return finish(n == "lower" ? ScalarFunction::kLower : ScalarFunction::kUpper, SqlType::kText);
  }
  if (n == "length" || n == "char_length" || n == "character_length") {
    WF_RETURN_IF_ERROR(signature("t"));
    return finish(ScalarFunction::kLength, SqlType::kInt4);
  }
  if (n == "substr" || n == "substring") {
    WF_RETURN_IF_ERROR(signature(args.size() == 2 ? "ti" : "tii"));
    return finish(ScalarFunction::kSubstr, SqlType::kText);
  }
  if (n == "btrim" || n == "ltrim" || n == "rtrim") {
    WF_RETURN_IF_ERROR(signature(args.size() == 1 ? "t" : "tt"));
    return finish(n == "btrim"   ? ScalarFunction::kBtrim
                  : n == "ltrim" ? ScalarFunction::kLtrim
                                 : ScalarFunction::kRtrim,
                  SqlType::kText);
  }
  if (n == "replace") {
    WF_RETURN_IF_ERROR(signature("ttt"));
    return finish(ScalarFunction::kReplace, SqlType::kText);
  }
  if (n == "split_part") {
    WF_RETURN_IF_ERROR(signature("tti"));
    return finish(ScalarFunction::kSplitPart, SqlType::kText);
  }
  if (n == "left" || n == "right") {
    WF_RETURN_IF_ERROR(signature("ti"));
    return finish(n == "left" ? ScalarFunction::kLeft : ScalarFunction::kRight, SqlType::kText);
  }
  if (n == "concat") {
    if (args.empty()) return NoSuchFunction(WrittenName(f), args, location);
    for (BoundExpr& a : args) {
      if (a.unknown_literal) {
        WF_ASSIGN_OR_RETURN(a, Coerce(std::move(a), SqlType::kText));
      }
    }
    return finish(ScalarFunction::kConcat, SqlType::kText);
  }
  if (n == "abs") {
    if (args.size() != 1 || args[0].unknown_literal || !IsNumericCategory(args[0].type)) {
      return NoSuchFunction(WrittenName(f), args, location);
    }
    return finish(ScalarFunction::kAbs, args[0].type);
  }
  if (n == "round" || n == "floor" || n == "ceil" || n == "ceiling") {
    ScalarFunction fn = n == "round"   ? ScalarFunction::kRound
                        : n == "floor" ? ScalarFunction::kFloor
                                       : ScalarFunction::kCeil;
    bool numeric_arg = !args.empty() && !args[0].unknown_literal && IsNumericCategory(args[0].type);
    if (args.size() == 1 && numeric_arg) {
      // Only numeric stays numeric: integers and floats go to the float8 variant, float8
      // being the preferred type of the numeric category.
      SqlType t = args[0].type == SqlType::kNumeric ? SqlType::kNumeric : SqlType::kFloat8;
      WF_ASSIGN_OR_RETURN(args[0], Coerce(std::move(args[0]), t));
      return finish(fn, t);
    }
    if (fn == ScalarFunction::kRound && args.size() == 2 && numeric_arg &&
        !IsFloatType(args[0].type) &&
        (args[1].unknown_literal || args[1].type == SqlType::kInt4 ||
         args[1].type == SqlType::kInt2)) {
      WF_ASSIGN_OR_RETURN(args[0], Coerce(std::move(args[0]), SqlType::kNumeric));
      WF_ASSIGN_OR_RETURN(args[1], Coerce(std::move(args[1]), SqlType::kInt4));
      return finish(fn, SqlType::kNumeric);
    }
    return NoSuchFunction(WrittenName(f), args, location);
  }
  if (n == "date_trunc" || n == "extract" || n == "date_part" || n == "date_bin") {
    return BindDateTimeFunction(f, std::move(args), location);
  }
  if (n == "mod") {
    for (BoundExpr& a : args) {
      if (a.unknown_literal) {
        const BoundExpr& other = &a == &args[0] ? args.back() : args[0];
        if (!other.unknown_literal) {
          WF_ASSIGN_OR_RETURN(a, Coerce(std::move(a), other.type));
        }
      }
    }
    bool ok = args.size() == 2;
    for (const BoundExpr& a : args) {
      ok = ok && !a.unknown_literal && (IsIntegerType(a.type) || a.type == SqlType::kNumeric);
    }
    if (!ok) return NoSuchFunction(WrittenName(f), args, location);
    int rank = std::max(PromotionRank(args[0].type), PromotionRank(args[1].type));
    SqlType t = rank == 1   ? SqlType::kInt2
                : rank == 2 ? SqlType::kInt4
                : rank == 3 ? SqlType::kInt8
                            : SqlType::kNumeric;
    return finish(ScalarFunction::kMod, t);
  }
  static const char* const kKnownUnsupported[] = {
      "timezone",     "position",   "strpos",
      "to_char",      "to_date",    "to_timestamp",
      "now",          "random",     "coalesce",
      "trunc",        "sqrt",       "power",
      "exp",          "ln",         "log",
      "sign",         "repeat",     "reverse",
      "lpad",         "rpad",       "initcap",
      "md5",          "age",        "regexp_replace",
      "make_date",    "overlay",    "jsonb_extract_path",
      "octet_length", "bit_length", "ascii",
      "chr",          "string_agg", "array_agg",
      "every",        "stddev",     "variance",
      "format",       "concat_ws",  "translate",
      "starts_with"};
  for (const char* name : kKnownUnsupported) {
    if (n == name) return Error("function " + n + " is not supported yet", location);
  }
  return NoSuchFunction(WrittenName(f), args, location);
}

Result<BoundExpr> ExprBinder::BindDateTimeFunction(const FunctionCall& f,
                                                   std::vector<BoundExpr> args, int location) {
  const std::string name = WrittenName(f);
  auto finish = [&](ScalarFunction fn, SqlType type) -> Result<BoundExpr> {
    BoundExpr out;
    out.kind = Kind::kFunction;
    out.function = fn;
    out.type = type;
    out.location = location;
    out.children = std::move(args);
    return out;
  };
  auto is_datetime_arg = [](const BoundExpr& a) { return a.unknown_literal || IsDateTime(a.type); };
  if (f.name == "date_bin") {
    // date_bin(interval, timestamp, timestamp) and (interval, timestamptz, timestamptz).
    if (args.size() != 3 || !(args[0].unknown_literal || args[0].type == SqlType::kInterval) ||
        !is_datetime_arg(args[1]) || !is_datetime_arg(args[2])) {
      return NoSuchFunction(name, args, location);
    }
    // The timestamp variant wins on an exact timestamp argument, unless a timestamptz one
    // rules it out (timestamptz → timestamp is no implicit cast); else timestamptz, the
    // preferred type, wins (dates, unknown literals).
    auto has = [&](SqlType t) {
      return (!args[1].unknown_literal && args[1].type == t) ||
             (!args[2].unknown_literal && args[2].type == t);
    };
    SqlType t = has(SqlType::kTimestamp) && !has(SqlType::kTimestampTz) ? SqlType::kTimestamp
                                                                        : SqlType::kTimestampTz;
    WF_ASSIGN_OR_RETURN(args[0], Coerce(std::move(args[0]), SqlType::kInterval));
    WF_ASSIGN_OR_RETURN(args[1], Coerce(std::move(args[1]), t));
    WF_ASSIGN_OR_RETURN(args[2], Coerce(std::move(args[2]), t));
    return finish(ScalarFunction::kDateBin, t);
  }
  if (f.name == "date_trunc" && args.size() == 3) {
    return Error("function date_trunc with a time zone is not supported yet", location);
  }
  // (text, source): the variants differ in the source only.
  if (args.size() != 2 || !(args[0].unknown_literal || args[0].type == SqlType::kText)) {
    return NoSuchFunction(name, args, location);
  }
  BoundExpr& source = args[1];
  if (source.unknown_literal) return AmbiguousFunction(name, args, location);
  if (!IsDateTime(source.type) && source.type != SqlType::kInterval) {
    return NoSuchFunction(name, args, location);
  }
  WF_ASSIGN_OR_RETURN(args[0], Coerce(std::move(args[0]), SqlType::kText));
  if (f.name == "extract") return finish(ScalarFunction::kExtract, SqlType::kNumeric);
  if (f.name == "date_part") {
    // date_part(text, date) is the SQL function date_part($1, $2::timestamp).
    if (source.type == SqlType::kDate) {
      WF_ASSIGN_OR_RETURN(source, Coerce(std::move(source), SqlType::kTimestamp));
    }
    return finish(ScalarFunction::kDatePart, SqlType::kFloat8);
  }
  // date_trunc has no date variant: a date goes to timestamptz, the preferred type.
  if (source.type == SqlType::kDate) {
    WF_ASSIGN_OR_RETURN(source, Coerce(std::move(source), SqlType::kTimestampTz));
  }
  return finish(ScalarFunction::kDateTrunc, source.type);
}

}  // namespace

Result<BoundExpr> Bind(const Expr& expr, const InputSchema& schema, std::string_view sql,
                       const BindOptions& options) {
  ExprBinder binder(schema, sql, options);
  return binder.BindResolved(expr);
}

}  // namespace walflow::sql
