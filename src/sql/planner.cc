#include "sql/planner.h"

#include <algorithm>
#include <functional>
#include <set>

#include "sql/parser.h"

namespace walflow::sql {

namespace {

using Kind = BoundExpr::Kind;

// Every node of a parsed expression, parents first.
void VisitExpr(const Expr& e, const std::function<void(const Expr&)>& f) {
  f(e);
  auto sub = [&](const Expr& c) { VisitExpr(c, f); };
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, BinaryExpr> || std::is_same_v<T, IsDistinctExpr>) {
          sub(*n.left);
          sub(*n.right);
        } else if constexpr (std::is_same_v<T, UnaryExpr> || std::is_same_v<T, IsNullExpr> ||
                             std::is_same_v<T, CastExpr>) {
          sub(*n.operand);
        } else if constexpr (std::is_same_v<T, LogicalExpr>) {
          for (const Expr& c : n.operands) sub(c);
        } else if constexpr (std::is_same_v<T, InListExpr>) {
          sub(*n.operand);
          for (const Expr& c : n.list) sub(c);
        } else if constexpr (std::is_same_v<T, BetweenExpr>) {
          sub(*n.operand);
          sub(*n.low);
          sub(*n.high);
        } else if constexpr (std::is_same_v<T, LikeExpr>) {
          sub(*n.operand);
          sub(*n.pattern);
        } else if constexpr (std::is_same_v<T, CaseExpr>) {
          if (n.operand) sub(**n.operand);
          for (const CaseWhen& w : n.whens) {
            sub(*w.condition);
            sub(*w.result);
          }
          if (n.otherwise) sub(**n.otherwise);
        } else if constexpr (std::is_same_v<T, ConditionalExpr>) {
          for (const Expr& c : n.args) sub(c);
        } else if constexpr (std::is_same_v<T, FunctionCall>) {
          for (const Expr& c : n.args) sub(c);
          if (n.filter) sub(**n.filter);
        }
      },
      e.node);
}

void CollectColumns(const BoundExpr& e, std::set<int>* out) {
  if (e.kind == Kind::kColumn) out->insert(e.column);
  for (const BoundExpr& c : e.children) CollectColumns(c, out);
}

BoundExpr ColumnOf(int index, SqlType type, int location) {
  BoundExpr b;
  b.kind = Kind::kColumn;
  b.column = index;
  b.type = type;
  b.location = location;
  return b;
}

class Planner {
 public:
  Planner(const SelectStatement& s, std::string_view sql, const PlanInput& input)
      : s_(s), sql_(sql), input_(input) {}

  Result<ViewPlan> Run(const std::vector<std::string>& key_names) {
    WF_RETURN_IF_ERROR(CheckColumnTypes());
    WF_RETURN_IF_ERROR(ExpandItems());
    if (s_.where) {
      BindOptions o;
      o.clause = "WHERE";
      WF_ASSIGN_OR_RETURN(BoundExpr w, Bind(*s_.where, input_.schema, sql_, o));
      WF_RETURN_IF_ERROR(RequireBool(w, "WHERE"));
      plan_.where = std::move(w);
    }
    std::vector<BoundExpr> bound;
    bool any_aggregate = false;
    for (const Item& item : items_) {
      BindOptions o;
      o.clause = "SELECT";
      o.allow_aggregates = true;
      WF_ASSIGN_OR_RETURN(BoundExpr b, Bind(item.expr, input_.schema, sql_, o));
      any_aggregate = any_aggregate || b.ContainsAggregate();
      plan_.columns.push_back({item.name, b.type, item.location});
      bound.push_back(std::move(b));
    }
    WF_RETURN_IF_ERROR(CheckNames());
    plan_.grouped = any_aggregate || !s_.group_by.empty() || s_.having || s_.distinct;
    if (s_.distinct && (any_aggregate || !s_.group_by.empty())) {
      return Error("SELECT DISTINCT with GROUP BY or aggregates is not supported yet",
                   items_.front().location);
    }
    if (!plan_.grouped) {
      plan_.outputs = std::move(bound);
      WF_RETURN_IF_ERROR(UngroupedKey(key_names));
    } else {
      WF_RETURN_IF_ERROR(Grouped(std::move(bound), key_names));
    }
    std::set<int> used;
    if (plan_.where) CollectColumns(*plan_.where, &used);
    if (!plan_.grouped) {
      for (const BoundExpr& e : plan_.outputs) CollectColumns(e, &used);
      for (int k : input_.key) used.insert(k);
    } else {
      for (const BoundExpr& e : plan_.groups) CollectColumns(e, &used);
      for (const AggregateCall& a : plan_.aggregates) {
        if (a.arg) CollectColumns(*a.arg, &used);
        if (a.filter) CollectColumns(*a.filter, &used);
      }
    }
    plan_.used_columns.assign(used.begin(), used.end());
    return std::move(plan_);
  }

 private:
  struct Item {
    Expr expr;
    std::string name;
    int location;
  };

  Status Error(const std::string& message, int location) const {
    return InvalidArgument(FormatSqlError(message, sql_, location));
  }

  Status RequireBool(const BoundExpr& e, const std::string& clause) const {
    if (e.type == SqlType::kBool) return Status::OK();
    return Error("argument of " + clause + " must be type boolean, not type " + SqlTypeName(e.type),
                 e.location);
  }

  // A column of a type views cannot compute with: say so where it is named.
  Status CheckColumnTypes() const {
    if (input_.unsupported.empty()) return Status::OK();
    Status found;
    auto check = [&](const Expr& e) {
      const ColumnRef* c = e.As<ColumnRef>();
      if (!c || !found.ok()) return;
      for (const auto& [name, type] : input_.unsupported) {
        if (name == c->name) {
          found =
              Error("column \"" + name + "\" has type " + type + ", which views do not support yet",
                    e.location);
        }
      }
    };
    for (const SelectItem& item : s_.items) {
      if (const Expr* e = std::get_if<Expr>(&item.value)) VisitExpr(*e, check);
    }
    if (s_.where) VisitExpr(*s_.where, check);
    for (const Expr& g : s_.group_by) VisitExpr(g, check);
    if (s_.having) VisitExpr(*s_.having, check);
    return found;
  }

  Status ExpandItems() {
    for (const SelectItem& item : s_.items) {
      if (const Star* star = std::get_if<Star>(&item.value)) {
        if (!star->qualifier.empty() && star->qualifier != input_.schema.alias &&
            star->qualifier != input_.schema.table) {
          return Error("missing FROM-clause entry for table \"" + star->qualifier + "\"",
                       item.location);
        }
        if (!input_.unsupported.empty()) {
          return Error("column \"" + input_.unsupported.front().first + "\" has type " +
                           input_.unsupported.front().second +
                           ", which views do not support yet: name the columns instead of *",
                       item.location);
        }
        for (const InputColumn& c : input_.schema.columns) {
          Expr e;
          e.node = ColumnRef{"", c.name};
          e.location = item.location;
          items_.push_back({std::move(e), c.name, item.location});
        }
        continue;
      }
      const Expr& e = std::get<Expr>(item.value);
      items_.push_back({e, item.alias.empty() ? DefaultColumnName(e) : item.alias, item.location});
    }
    return Status::OK();
  }

  Status CheckNames() const {
    std::set<std::string> seen;
    for (const OutputColumn& c : plan_.columns) {
      if (!seen.insert(c.name).second) {
        return Error("column name \"" + c.name +
                         "\" appears twice in the view; give one of them an alias (AS …)",
                     c.location);
      }
    }
    return Status::OK();
  }

  Result<int> OutputByName(const std::string& name) const {
    for (size_t i = 0; i < plan_.columns.size(); ++i) {
      if (plan_.columns[i].name == name) return static_cast<int>(i);
    }
    return InvalidArgument("key column \"" + name + "\" is not a column of the view");
  }

  Status UngroupedKey(const std::vector<std::string>& key_names) {
    if (input_.key.empty()) {
      return InvalidArgument("the view's input " + input_.schema.table +
                             " has no primary key (or replica identity index): a view "
                             "without GROUP BY is keyed by its input's key");
    }
    // The output column carrying each input key column.
    std::vector<int> carries;
    for (int k : input_.key) {
      int found = -1;
      for (size_t j = 0; j < plan_.outputs.size() && found < 0; ++j) {
        const BoundExpr& o = plan_.outputs[j];
        if (o.kind == Kind::kColumn && o.column == k) found = static_cast<int>(j);
      }
      if (found < 0 && key_names.empty()) {
        std::string names;
        for (int kk : input_.key) {
          names += (names.empty() ? "" : ", ") + input_.schema.columns[kk].name;
        }
        return Error("the view's rows are keyed by the key of " + input_.schema.table + " (" +
                         names + "), so the SELECT list must include " +
                         input_.schema.columns[k].name + " (or set the view's key:)",
                     items_.empty() ? -1 : items_.front().location);
      }
      carries.push_back(found);
    }
    if (key_names.empty()) {
      plan_.key = carries;
      return Status::OK();
    }
    for (const std::string& name : key_names) {
      WF_ASSIGN_OR_RETURN(int j, OutputByName(name));
      plan_.key.push_back(j);
    }
    // Only a key that includes the input's key is unique.
    for (size_t i = 0; i < carries.size(); ++i) {
      if (carries[i] < 0 ||
          std::find(plan_.key.begin(), plan_.key.end(), carries[i]) == plan_.key.end()) {
        return InvalidArgument("key: must include the column carrying " +
                               input_.schema.columns[input_.key[i]].name + " (the key of " +
                               input_.schema.table + "), or the view's rows are not unique");
      }
    }
    return Status::OK();
  }

  // GROUP BY entries as PostgreSQL resolves them.
  Result<BoundExpr> BindGroup(const Expr& g) {
    const Expr* target = &g;
    if (const Constant* c = g.As<Constant>(); c && c->kind == ConstantKind::kInteger) {
      if (c->integer < 1 || c->integer > static_cast<int64_t>(items_.size())) {
        return Error("GROUP BY position " + std::to_string(c->integer) + " is not in select list",
                     g.location);
      }
      target = &items_[c->integer - 1].expr;
    } else if (const ColumnRef* r = g.As<ColumnRef>(); r && r->qualifier.empty()) {
      bool input_column = false;
      for (const InputColumn& col : input_.schema.columns) input_column |= col.name == r->name;
      if (!input_column) {
        for (const Item& item : items_) {
          if (item.name == r->name) target = &item.expr;
        }
      }
    }
    BindOptions o;
    o.clause = "GROUP BY";
    return Bind(*target, input_.schema, sql_, o);
  }

  // Replaces GROUP BY expressions and aggregates of a SELECT/HAVING expression by columns
  // of the group row; any other input column is PostgreSQL's grouping error.
  Result<BoundExpr> ToGroupRow(const BoundExpr& e) {
    const int ngroups = static_cast<int>(plan_.groups.size());
    for (int i = 0; i < ngroups; ++i) {
      if (SameExpr(e, plan_.groups[i])) return ColumnOf(i, e.type, e.location);
    }
    if (e.kind == Kind::kAggregate) {
      WF_ASSIGN_OR_RETURN(int j, AddAggregate(e));
      return ColumnOf(ngroups + j, e.type, e.location);
    }
    if (e.kind == Kind::kColumn) {
      const std::string& name = input_.schema.columns[e.column].name;
      const std::string& table =
          input_.schema.alias.empty() ? input_.schema.table : input_.schema.alias;
      return Error("column \"" + table + "." + name +
                       "\" must appear in the GROUP BY clause or be used in an aggregate "
                       "function",
                   e.location);
    }
    BoundExpr out = e;
    for (BoundExpr& c : out.children) {
      WF_ASSIGN_OR_RETURN(c, ToGroupRow(c));
    }
    return out;
  }

  Result<int> AddAggregate(const BoundExpr& e) {
    AggregateCall call;
    size_t next = 0;
    if (e.aggregate != AggregateFunction::kCountStar) call.arg = e.children[next++];
    if (e.has_filter) call.filter = e.children[next];
    if (call.arg) call.spec.arg_type = call.arg->type;
    switch (e.aggregate) {
      case AggregateFunction::kCountStar: call.spec.kind = AggregateKind::kCountStar; break;
      case AggregateFunction::kCount:
        call.spec.kind = e.distinct ? AggregateKind::kCountDistinct : AggregateKind::kCount;
        break;
      case AggregateFunction::kSum: call.spec.kind = AggregateKind::kSum; break;
      case AggregateFunction::kAvg: call.spec.kind = AggregateKind::kAvg; break;
      case AggregateFunction::kMin: call.spec.kind = AggregateKind::kMin; break;
      case AggregateFunction::kMax: call.spec.kind = AggregateKind::kMax; break;
      case AggregateFunction::kBoolAnd: call.spec.kind = AggregateKind::kBoolAnd; break;
      case AggregateFunction::kBoolOr: call.spec.kind = AggregateKind::kBoolOr; break;
    }
    const bool distinct_matters =
        e.aggregate != AggregateFunction::kMin && e.aggregate != AggregateFunction::kMax &&
        e.aggregate != AggregateFunction::kBoolAnd && e.aggregate != AggregateFunction::kBoolOr;
    if (e.distinct && distinct_matters && e.aggregate != AggregateFunction::kCount) {
      return Error(std::string(AggregateName(call.spec.kind)) +
                       "(DISTINCT …) is not supported yet (count(DISTINCT …) is)",
                   e.location);
    }
    if (auto r = AggregateResultType(call.spec); !r.ok()) {
      return Error(r.status().message(), e.location);
    }
    for (size_t j = 0; j < plan_.aggregates.size(); ++j) {
      const AggregateCall& a = plan_.aggregates[j];
      if (a.spec.kind == call.spec.kind && a.arg.has_value() == call.arg.has_value() &&
          (!a.arg || SameExpr(*a.arg, *call.arg)) &&
          a.filter.has_value() == call.filter.has_value() &&
          (!a.filter || SameExpr(*a.filter, *call.filter))) {
        return static_cast<int>(j);
      }
    }
    plan_.aggregates.push_back(std::move(call));
    return static_cast<int>(plan_.aggregates.size() - 1);
  }

  Status Grouped(std::vector<BoundExpr> bound, const std::vector<std::string>& key_names) {
    if (!key_names.empty()) {
      return InvalidArgument(
          "key: applies to views without GROUP BY; a grouped view is keyed "
          "by its GROUP BY columns");
    }
    if (s_.distinct) {
      plan_.groups = bound;
    } else {
      for (const Expr& g : s_.group_by) {
        WF_ASSIGN_OR_RETURN(BoundExpr b, BindGroup(g));
        bool dup = false;
        for (const BoundExpr& have : plan_.groups) dup = dup || SameExpr(have, b);
        if (!dup) plan_.groups.push_back(std::move(b));
      }
    }
    plan_.global = plan_.groups.empty();
    // The hidden count(*) first: it says whether a group exists.
    AggregateCall count;
    count.spec.kind = AggregateKind::kCountStar;
    plan_.aggregates.push_back(std::move(count));
    for (BoundExpr& b : bound) {
      WF_ASSIGN_OR_RETURN(BoundExpr g, ToGroupRow(b));
      plan_.outputs.push_back(std::move(g));
    }
    if (s_.having) {
      BindOptions o;
      o.clause = "HAVING";
      o.allow_aggregates = true;
      WF_ASSIGN_OR_RETURN(BoundExpr h, Bind(*s_.having, input_.schema, sql_, o));
      WF_RETURN_IF_ERROR(RequireBool(h, "HAVING"));
      WF_ASSIGN_OR_RETURN(h, ToGroupRow(h));
      plan_.having = std::move(h);
    }
    // The key: the output column of each GROUP BY expression.
    for (size_t i = 0; i < plan_.groups.size(); ++i) {
      int found = -1;
      for (size_t j = 0; j < plan_.outputs.size() && found < 0; ++j) {
        const BoundExpr& o = plan_.outputs[j];
        if (o.kind == Kind::kColumn && o.column == static_cast<int>(i)) {
          found = static_cast<int>(j);
        }
      }
      if (found < 0) {
        const Expr& g =
            s_.group_by.empty() ? items_[i].expr : s_.group_by[std::min(i, s_.group_by.size() - 1)];
        return Error("GROUP BY expression " + ToSql(g) +
                         " must also be in the SELECT list: the view's rows are keyed by it",
                     g.location);
      }
      plan_.key.push_back(found);
    }
    return Status::OK();
  }

  const SelectStatement& s_;
  std::string_view sql_;
  const PlanInput& input_;
  std::vector<Item> items_;
  ViewPlan plan_;
};

}  // namespace

AggregateRow ViewPlan::EmptyAggregates() const {
  AggregateRow row;
  for (const AggregateCall& a : aggregates) {
    const AggregateKind k = a.spec.kind;
    if (k == AggregateKind::kCountStar || k == AggregateKind::kCount ||
        k == AggregateKind::kCountDistinct) {
      row.push_back(Value::Int8(0));
    } else {
      auto t = AggregateResultType(a.spec);
      row.push_back(Value::Null(t.ok() ? *t : SqlType::kText));
    }
  }
  return row;
}

bool SameExpr(const BoundExpr& a, const BoundExpr& b) {
  if (a.kind != b.kind || a.type != b.type || a.column != b.column || a.op != b.op ||
      a.negated != b.negated || a.case_insensitive != b.case_insensitive ||
      a.has_else != b.has_else || a.function != b.function || a.aggregate != b.aggregate ||
      a.distinct != b.distinct || a.has_filter != b.has_filter ||
      a.numeric_precision != b.numeric_precision || a.numeric_scale != b.numeric_scale ||
      a.children.size() != b.children.size()) {
    return false;
  }
  if (a.kind == Kind::kConstant) {
    if (a.constant.type() != b.constant.type() || a.constant.is_null() != b.constant.is_null()) {
      return false;
    }
    if (!a.constant.is_null() && a.constant.ToString() != b.constant.ToString()) return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!SameExpr(a.children[i], b.children[i])) return false;
  }
  return true;
}

std::string DefaultColumnName(const Expr& e) {
  if (const ColumnRef* c = e.As<ColumnRef>()) return c->name;
  if (const FunctionCall* f = e.As<FunctionCall>()) return f->name;
  if (const CastExpr* c = e.As<CastExpr>()) {
    if (c->operand->As<ColumnRef>() || c->operand->As<FunctionCall>()) {
      return DefaultColumnName(*c->operand);
    }
    if (const CastExpr* inner = c->operand->As<CastExpr>()) {
      std::string n = DefaultColumnName(*c->operand);
      if (n != "?column?") return n;
      (void)inner;
    }
    return c->type.name;
  }
  if (e.As<CaseExpr>()) return "case";
  if (const ConditionalExpr* c = e.As<ConditionalExpr>()) {
    switch (c->kind) {
      case ConditionalKind::kCoalesce: return "coalesce";
      case ConditionalKind::kNullIf: return "nullif";
      case ConditionalKind::kGreatest: return "greatest";
      case ConditionalKind::kLeast: return "least";
    }
  }
  return "?column?";
}

Result<ViewPlan> PlanView(const SelectStatement& statement, std::string_view sql,
                          const PlanInput& input, const std::vector<std::string>& key_names) {
  Planner p(statement, sql, input);
  return p.Run(key_names);
}

}  // namespace walflow::sql
