#include "sql/ast.h"

#include <set>
#include <string_view>

namespace walflow::sql {

bool LogicalExpr::operator==(const LogicalExpr& o) const {
  return op == o.op && operands == o.operands;
}
bool InListExpr::operator==(const InListExpr& o) const {
  return operand == o.operand && list == o.list && negated == o.negated;
}
bool ConditionalExpr::operator==(const ConditionalExpr& o) const {
  return kind == o.kind && args == o.args;
}
bool FunctionCall::operator==(const FunctionCall& o) const {
  return schema == o.schema && name == o.name && args == o.args && star == o.star &&
         distinct == o.distinct && filter == o.filter;
}

const char* BinaryOperatorSql(BinaryOperator op) {
  switch (op) {
    case BinaryOperator::kAdd: return "+";
    case BinaryOperator::kSubtract: return "-";
    case BinaryOperator::kMultiply: return "*";
    case BinaryOperator::kDivide: return "/";
    case BinaryOperator::kModulo: return "%";
    case BinaryOperator::kConcat: return "||";
    case BinaryOperator::kEqual: return "=";
    case BinaryOperator::kNotEqual: return "<>";
    case BinaryOperator::kLess: return "<";
    case BinaryOperator::kLessEqual: return "<=";
    case BinaryOperator::kGreater: return ">";
    case BinaryOperator::kGreaterEqual: return ">=";
    case BinaryOperator::kJsonField: return "->";
    case BinaryOperator::kJsonFieldText: return "->>";
  }
  return "?";
}

namespace {

// PostgreSQL 15's reserved, type/function-name and column-name keywords: as a column they
// are written quoted.
const std::set<std::string_view>& Keywords() {
  static const std::set<std::string_view> kWords = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case",
      "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
      "current_date", "current_role", "current_time", "current_timestamp", "current_user",
      "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch",
      "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into",
      "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on",
      "only", "or", "order", "placing", "primary", "references", "returning", "select",
      "session_user", "some", "symmetric", "table", "then", "to", "trailing", "true", "union",
      "unique", "user", "using", "variadic", "when", "where", "window", "with",
      // type_func_name_keyword
      "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze",
      "full", "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull",
      "outer", "overlaps", "right", "similar", "tablesample", "verbose",
      // col_name_keyword
      "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal",
      "exists", "extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval",
      "least", "national", "nchar", "none", "normalize", "nullif", "numeric", "out", "overlay",
      "position", "precision", "real", "row", "setof", "smallint", "substring", "time", "timestamp",
      "treat", "trim", "values", "varchar", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
      "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable"};
  return kWords;
}

bool IsSimpleName(std::string_view name) {
  if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return false;
  }
  return true;
}

std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

std::string Identifier(std::string_view name) {
  return IsSimpleName(name) && !Keywords().count(name) ? std::string(name) : Quoted(name);
}

// Function names may be type/function-name keywords (left, right) but not reserved or
// column-name keywords.
std::string FunctionName(std::string_view name) {
  static const std::set<std::string_view> kAllowed = {
      "authorization", "binary", "collation", "concurrently", "cross",   "current_schema",
      "freeze",        "full",   "ilike",     "inner",        "is",      "isnull",
      "join",          "left",   "like",      "natural",      "notnull", "outer",
      "overlaps",      "right",  "similar",   "tablesample",  "verbose"};
  if (IsSimpleName(name) && (kAllowed.count(name) || !Keywords().count(name))) {
    return std::string(name);
  }
  return Quoted(name);
}

// Catalog type names print bare; those whose bare spelling the grammar rewrites (char is
// bpchar(1), int is int4) print quoted.
std::string TypeIdentifier(std::string_view name) {
  static const std::set<std::string_view> kRewritten = {
      "char",     "bit",    "character", "dec",     "decimal",  "float", "int",    "integer",
      "smallint", "bigint", "real",      "boolean", "national", "nchar", "double", "setof"};
  if (IsSimpleName(name) && !kRewritten.count(name)) return std::string(name);
  return Quoted(name);
}

std::string StringLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

void Write(const Expr& e, std::string& out);

void WriteList(const std::vector<Expr>& list, std::string& out) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ", ";
    Write(list[i], out);
  }
}

std::string TypeSql(const TypeName& t) {
  std::string out;
  if (!t.schema.empty()) out += Identifier(t.schema) + ".";
  out += TypeIdentifier(t.name);
  if (!t.modifiers.empty()) {
    out += "(";
    for (size_t i = 0; i < t.modifiers.size(); ++i) {
      if (i > 0) out += ", ";
      out += std::to_string(t.modifiers[i]);
    }
    out += ")";
  }
  return out;
}

struct Writer {
  std::string& out;

  void operator()(const ColumnRef& c) {
    if (!c.qualifier.empty()) out += Identifier(c.qualifier) + ".";
    out += Identifier(c.name);
  }
  void operator()(const Constant& c) {
    switch (c.kind) {
      case ConstantKind::kNull: out += "NULL"; return;
      case ConstantKind::kBool: out += c.text == "true" ? "TRUE" : "FALSE"; return;
      case ConstantKind::kInteger:
      case ConstantKind::kNumeric:
        // Parenthesized, a negative literal cannot merge with a preceding operator.
        out += !c.text.empty() && c.text[0] == '-' ? "(" + c.text + ")" : c.text;
        return;
      case ConstantKind::kString: out += StringLiteral(c.text); return;
    }
  }
  void operator()(const BinaryExpr& b) {
    out += "(";
    Write(*b.left, out);
    out += " ";
    out += BinaryOperatorSql(b.op);
    out += " ";
    Write(*b.right, out);
    out += ")";
  }
  void operator()(const UnaryExpr& u) {
    out += u.op == UnaryOperator::kNot ? "(NOT " : "(- ";
    Write(*u.operand, out);
    out += ")";
  }
  void operator()(const LogicalExpr& l) {
    out += "(";
    for (size_t i = 0; i < l.operands.size(); ++i) {
      if (i > 0) out += l.op == LogicalOperator::kAnd ? " AND " : " OR ";
      Write(l.operands[i], out);
    }
    out += ")";
  }
  void operator()(const IsNullExpr& n) {
    out += "(";
    Write(*n.operand, out);
    out += n.negated ? " IS NOT NULL)" : " IS NULL)";
  }
  void operator()(const IsDistinctExpr& d) {
    out += "(";
    Write(*d.left, out);
    out += d.negated ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ";
    Write(*d.right, out);
    out += ")";
  }
  void operator()(const InListExpr& in) {
    out += "(";
    Write(*in.operand, out);
    out += in.negated ? " NOT IN (" : " IN (";
    WriteList(in.list, out);
    out += "))";
  }
  void operator()(const BetweenExpr& b) {
    out += "(";
    Write(*b.operand, out);
    out += b.negated ? " NOT BETWEEN " : " BETWEEN ";
    Write(*b.low, out);
    out += " AND ";
    Write(*b.high, out);
    out += ")";
  }
  void operator()(const LikeExpr& l) {
    out += "(";
    Write(*l.operand, out);
    out += l.negated ? " NOT" : "";
    out += l.case_insensitive ? " ILIKE " : " LIKE ";
    Write(*l.pattern, out);
    out += ")";
  }
  void operator()(const CaseExpr& c) {
    out += "CASE";
    if (c.operand) {
      out += " ";
      Write(**c.operand, out);
    }
    for (const CaseWhen& w : c.whens) {
      out += " WHEN ";
      Write(*w.condition, out);
      out += " THEN ";
      Write(*w.result, out);
    }
    if (c.otherwise) {
      out += " ELSE ";
      Write(**c.otherwise, out);
    }
    out += " END";
  }
  void operator()(const ConditionalExpr& c) {
    switch (c.kind) {
      case ConditionalKind::kCoalesce: out += "COALESCE("; break;
      case ConditionalKind::kNullIf: out += "NULLIF("; break;
      case ConditionalKind::kGreatest: out += "GREATEST("; break;
      case ConditionalKind::kLeast: out += "LEAST("; break;
    }
    WriteList(c.args, out);
    out += ")";
  }
  void operator()(const CastExpr& c) {
    out += "CAST(";
    Write(*c.operand, out);
    out += " AS " + TypeSql(c.type) + ")";
  }
  void operator()(const FunctionCall& f) {
    // After a qualifier any keyword is a name (pg_catalog.extract).
    if (!f.schema.empty()) {
      out += Identifier(f.schema) + "." + (IsSimpleName(f.name) ? f.name : Quoted(f.name));
    } else {
      out += FunctionName(f.name);
    }
    out += "(";
    if (f.star) {
      out += "*";
    } else {
      if (f.distinct) out += "DISTINCT ";
      WriteList(f.args, out);
    }
    out += ")";
    if (f.filter) {
      out += " FILTER (WHERE ";
      Write(**f.filter, out);
      out += ")";
    }
  }
};

void Write(const Expr& e, std::string& out) { std::visit(Writer{out}, e.node); }

const char* KindName(const Expr& e) {
  static const char* const kNames[] = {
      "ColumnRef",  "Constant",        "BinaryExpr", "UnaryExpr",   "LogicalExpr",
      "IsNullExpr", "IsDistinctExpr",  "InListExpr", "BetweenExpr", "LikeExpr",
      "CaseExpr",   "ConditionalExpr", "CastExpr",   "FunctionCall"};
  static_assert(std::size(kNames) == std::variant_size_v<Expr::Node>);
  return kNames[e.node.index()];
}

std::string TableSql(const TableRef& t) {
  std::string out;
  if (!t.schema.empty()) out += Identifier(t.schema) + ".";
  out += Identifier(t.name);
  if (!t.alias.empty()) out += " AS " + Identifier(t.alias);
  return out;
}

}  // namespace

std::string ToSql(const Expr& expr) {
  std::string out;
  Write(expr, out);
  return out;
}

std::string ToSql(const SelectStatement& s) {
  std::string out = s.distinct ? "SELECT DISTINCT " : "SELECT ";
  for (size_t i = 0; i < s.items.size(); ++i) {
    if (i > 0) out += ", ";
    const SelectItem& item = s.items[i];
    if (const Star* star = std::get_if<Star>(&item.value)) {
      out += star->qualifier.empty() ? "*" : Identifier(star->qualifier) + ".*";
    } else {
      Write(std::get<Expr>(item.value), out);
    }
    if (!item.alias.empty()) out += " AS " + Identifier(item.alias);
  }
  out += " FROM " + TableSql(s.from);
  if (s.where) out += " WHERE " + ToSql(*s.where);
  if (!s.group_by.empty()) {
    out += " GROUP BY ";
    WriteList(s.group_by, out);
  }
  if (s.having) out += " HAVING " + ToSql(*s.having);
  return out;
}

std::string Describe(const Expr& expr) {
  return std::string(KindName(expr)) + " " + ToSql(expr) + " @" + std::to_string(expr.location);
}

std::string Describe(const SelectStatement& s) {
  std::string out = "SELECT";
  if (s.distinct) out += " DISTINCT";
  out += " of " + std::to_string(s.items.size()) + " columns from " + TableSql(s.from);
  if (s.where) out += ", WHERE";
  if (!s.group_by.empty()) out += ", GROUP BY " + std::to_string(s.group_by.size());
  if (s.having) out += ", HAVING";
  return out;
}

}  // namespace walflow::sql
