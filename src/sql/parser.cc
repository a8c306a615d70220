#include "sql/parser.h"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace walflow::sql {
namespace {

using nlohmann::json;

// libpg_query's JSON omits fields whose value is zero, false or empty, so an absent
// `location` means offset 0.
int LocationOf(const json& fields) {
  auto it = fields.find("location");
  return it == fields.end() ? 0 : it->get<int>();
}

std::string StringField(const json& fields, const char* name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : it->get<std::string>();
}

// The one node in a {"NodeType": {fields}} object.
std::pair<std::string, const json*> Unwrap(const json& node) {
  if (!node.is_object() || node.size() != 1) return {"", &node};
  auto it = node.begin();
  return {it.key(), &it.value()};
}

// Words of the SQL outside literals, identifiers in quotes and comments, with their offsets:
// the keywords of nodes that libpg_query gives no location (JOIN, UNION, ORDER BY, LIMIT).
class KeywordIndex {
 public:
  explicit KeywordIndex(std::string_view sql) {
    size_t i = 0;
    while (i < sql.size()) {
      char c = sql[i];
      if (c == '\'') {
        for (++i; i < sql.size(); ++i) {
          if (sql[i] == '\'') {
            if (i + 1 < sql.size() && sql[i + 1] == '\'') {
              ++i;
            } else {
              break;
            }
          }
        }
        ++i;
      } else if (c == '"') {
        i = sql.find('"', i + 1);
        i = i == std::string_view::npos ? sql.size() : i + 1;
      } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
        i = sql.find('\n', i);
        if (i == std::string_view::npos) i = sql.size();
      } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
        i = sql.find("*/", i + 2);
        i = i == std::string_view::npos ? sql.size() : i + 2;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t start = i;
        std::string word;
        while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) ||
                                  sql[i] == '_' || sql[i] == '$')) {
          word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
          ++i;
        }
        words_.push_back({static_cast<int>(start), std::move(word)});
      } else {
        ++i;
      }
    }
  }

  // The offset of the last of `keywords` that starts before `before`, or `fallback`.
  int Before(int before, std::initializer_list<std::string_view> keywords, int fallback) const {
    int found = fallback;
    for (const auto& w : words_) {
      if (w.offset >= before) break;
      if (std::find(keywords.begin(), keywords.end(), w.text) != keywords.end()) found = w.offset;
    }
    return found;
  }

 private:
  struct Word {
    int offset;
    std::string text;
  };
  std::vector<Word> words_;
};

// The first location written anywhere in a subtree (for nodes that have none themselves).
int FirstLocation(const json& node) {
  int best = -1;
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      int loc = -1;
      if (it.key() == "location" && it->is_number_integer()) {
        loc = it->get<int>();
      } else {
        loc = FirstLocation(*it);
      }
      if (loc >= 0 && (best < 0 || loc < best)) best = loc;
    }
  } else if (node.is_array()) {
    for (const auto& e : node) {
      int loc = FirstLocation(e);
      if (loc >= 0 && (best < 0 || loc < best)) best = loc;
    }
  }
  return best;
}

bool IsNonDeterministic(const std::string& name, size_t arg_count) {
  static const std::set<std::string, std::less<>> kNames = {"now",
                                                            "random",
                                                            "random_normal",
                                                            "clock_timestamp",
                                                            "statement_timestamp",
                                                            "transaction_timestamp",
                                                            "timeofday",
                                                            "setseed",
                                                            "gen_random_uuid",
                                                            "uuid_generate_v1",
                                                            "uuid_generate_v4",
                                                            "nextval",
                                                            "currval",
                                                            "lastval",
                                                            "txid_current",
                                                            "pg_current_xact_id",
                                                            "pg_backend_pid",
                                                            "inet_client_addr",
                                                            "current_setting",
                                                            "pg_sleep"};
  // age(x) measures from today; age(a, b) does not.
  return kNames.count(name) > 0 || (name == "age" && arg_count == 1);
}

class TreeConverter {
 public:
  explicit TreeConverter(std::string_view sql) : sql_(sql), keywords_(sql) {}

  Result<SelectStatement> Statements(const json& tree) {
    const json& stmts = tree.value("stmts", json::array());
    if (stmts.empty()) return InvalidArgument("empty SQL: a view is one SELECT statement");
    if (stmts.size() > 1) {
      return Unsupported("more than one statement (a view is one SELECT)",
                         stmts[1].value("stmt_location", 0));
    }
    const json& raw = stmts[0];
    int stmt_location = raw.value("stmt_location", 0);
    auto [type, fields] = Unwrap(raw.at("stmt"));
    if (type != "SelectStmt") {
      return Unsupported(type + " (a view is one SELECT statement)", stmt_location);
    }
    return Select(*fields, stmt_location);
  }

 private:
  Status Unsupported(const std::string& what, int location) const {
    return InvalidArgument(FormatSqlError("unsupported: " + what, sql_, location));
  }

  Result<SelectStatement> Select(const json& s, int stmt_location) {
    std::string op = StringField(s, "op");
    if (!op.empty() && op != "SETOP_NONE") {
      std::string keyword = op == "SETOP_UNION"       ? "UNION"
                            : op == "SETOP_INTERSECT" ? "INTERSECT"
                                                      : "EXCEPT";
      int rarg = FirstLocation(s.at("rarg"));
      return Unsupported(keyword + " (a view reads one table)",
                         keywords_.Before(rarg, {keyword}, rarg));
    }
    if (s.contains("withClause")) {
      int loc = LocationOf(s["withClause"]);
      return Unsupported("WITH (common table expressions)",
                         keywords_.Before(loc + 1, {"WITH"}, loc));
    }
    if (s.contains("valuesLists")) return Unsupported("VALUES", stmt_location);
    if (s.contains("intoClause")) {
      int loc = FirstLocation(s["intoClause"]);
      return Unsupported("SELECT INTO", keywords_.Before(loc, {"INTO"}, loc));
    }
    if (s.contains("sortClause")) {
      int loc = FirstLocation(s["sortClause"]);
      return Unsupported("ORDER BY (a view is a set of rows without order)",
                         keywords_.Before(loc, {"ORDER"}, loc));
    }
    for (const char* field : {"limitCount", "limitOffset"}) {
      if (s.contains(field)) {
        int loc = FirstLocation(s[field]);
        bool offset = std::string_view(field) == "limitOffset";
        return Unsupported(offset ? "OFFSET" : "LIMIT",
                           keywords_.Before(loc, {offset ? "OFFSET" : "LIMIT", "FETCH"}, loc));
      }
    }
    if (s.contains("lockingClause")) {
      int loc = FirstLocation(s["lockingClause"]);
      if (loc < 0) loc = static_cast<int>(sql_.size());
      return Unsupported("FOR UPDATE/SHARE", keywords_.Before(loc, {"FOR"}, loc));
    }
    if (s.contains("windowClause")) {
      int loc = FirstLocation(s["windowClause"]);
      return Unsupported("WINDOW clause", keywords_.Before(loc, {"WINDOW"}, loc));
    }

    SelectStatement out;
    if (s.contains("distinctClause")) {
      const json& d = s["distinctClause"];
      // DISTINCT is a list holding one empty node; DISTINCT ON lists its expressions.
      if (d.size() == 1 && d[0].empty()) {
        out.distinct = true;
      } else {
        int loc = FirstLocation(d);
        return Unsupported("DISTINCT ON", keywords_.Before(loc, {"DISTINCT"}, loc));
      }
    }
    for (const json& target : s.value("targetList", json::array())) {
      WF_ASSIGN_OR_RETURN(SelectItem item, Target(target));
      out.items.push_back(std::move(item));
    }
    WF_ASSIGN_OR_RETURN(out.from, From(s, stmt_location));
    if (s.contains("whereClause")) {
      WF_ASSIGN_OR_RETURN(out.where, Convert(s["whereClause"]));
    }
    if (s.value("groupDistinct", false)) {
      int loc = FirstLocation(s.value("groupClause", json::array()));
      return Unsupported("GROUP BY DISTINCT", keywords_.Before(loc, {"DISTINCT"}, loc));
    }
    for (const json& g : s.value("groupClause", json::array())) {
      auto [type, fields] = Unwrap(g);
      if (type == "GroupingSet") {
        return Unsupported("GROUPING SETS, ROLLUP, CUBE and GROUP BY ()", LocationOf(*fields));
      }
      WF_ASSIGN_OR_RETURN(Expr e, Convert(g));
      out.group_by.push_back(std::move(e));
    }
    if (s.contains("havingClause")) {
      WF_ASSIGN_OR_RETURN(out.having, Convert(s["havingClause"]));
    }
    return out;
  }

  Result<SelectItem> Target(const json& node) {
    auto [type, t] = Unwrap(node);
    SelectItem item;
    item.location = LocationOf(*t);
    item.alias = StringField(*t, "name");
    const json& val = t->at("val");
    auto [vtype, v] = Unwrap(val);
    if (vtype == "ColumnRef" && !v->at("fields").back().contains("String")) {
      WF_ASSIGN_OR_RETURN(item.value, StarRef(*v));
      return item;
    }
    WF_ASSIGN_OR_RETURN(Expr e, Convert(val));
    item.value = std::move(e);
    return item;
  }

  Result<Star> StarRef(const json& ref) {
    const json& f = ref.at("fields");
    if (f.size() > 2 || !f.back().contains("A_Star")) {
      return Unsupported("column reference " + std::to_string(f.size()) + " names long",
                         LocationOf(ref));
    }
    Star star;
    if (f.size() == 2) star.qualifier = f[0]["String"].value("sval", "");
    return star;
  }

  Result<TableRef> From(const json& s, int stmt_location) {
    const json& from = s.value("fromClause", json::array());
    if (from.empty()) {
      return Unsupported("SELECT without FROM (a view reads one table)", stmt_location);
    }
    if (from.size() > 1) {
      return Unsupported("more than one FROM item (a view reads one table)",
                         FirstLocation(from[1]));
    }
    auto [type, r] = Unwrap(from[0]);
    if (type == "JoinExpr") {
      int rarg = FirstLocation(r->at("rarg"));
      return Unsupported("JOIN (a view reads one table)", keywords_.Before(rarg, {"JOIN"}, rarg));
    }
    if (type == "RangeSubselect") {
      int loc = FirstLocation(*r);
      return Unsupported("subquery in FROM", keywords_.Before(loc + 1, {"SELECT"}, loc));
    }
    if (type != "RangeVar") {
      std::string what = type == "RangeFunction"      ? "function in FROM"
                         : type == "RangeTableSample" ? "TABLESAMPLE"
                                                      : type + " in FROM";
      return Unsupported(what, FirstLocation(*r));
    }
    TableRef table;
    table.location = LocationOf(*r);
    if (r->contains("catalogname")) {
      return Unsupported("table name with a database (write schema.table)", table.location);
    }
    table.schema = StringField(*r, "schemaname");
    table.name = StringField(*r, "relname");
    if (r->contains("alias")) {
      const json& alias = (*r)["alias"];
      if (alias.contains("colnames")) {
        return Unsupported("column names in a table alias", table.location);
      }
      table.alias = StringField(alias, "aliasname");
    }
    return table;
  }

  Result<std::vector<Expr>> List(const json& list) {
    std::vector<Expr> out;
    for (const json& e : list) {
      WF_ASSIGN_OR_RETURN(Expr x, Convert(e));
      out.push_back(std::move(x));
    }
    return out;
  }

  Result<Expr> Convert(const json& node) {
    auto [type, f] = Unwrap(node);
    const json& n = *f;
    int loc = LocationOf(n);
    if (type == "ColumnRef") return Column(n);
    if (type == "A_Const") return ConstantNode(n);
    if (type == "A_Expr") return Operator(n);
    if (type == "BoolExpr") return Bool(n);
    if (type == "NullTest") {
      WF_ASSIGN_OR_RETURN(Expr arg, Convert(n.at("arg")));
      return Expr{IsNullExpr{std::move(arg), StringField(n, "nulltesttype") == "IS_NOT_NULL"}, loc};
    }
    if (type == "TypeCast") return Cast(n);
    if (type == "CaseExpr") return Case(n);
    if (type == "CoalesceExpr" || type == "MinMaxExpr") {
      WF_ASSIGN_OR_RETURN(auto args, List(n.at("args")));
      ConditionalKind kind = type == "CoalesceExpr"                  ? ConditionalKind::kCoalesce
                             : StringField(n, "op") == "IS_GREATEST" ? ConditionalKind::kGreatest
                                                                     : ConditionalKind::kLeast;
      return Expr{ConditionalExpr{kind, std::move(args)}, loc};
    }
    if (type == "FuncCall") return Function(n);
    if (type == "SubLink") return Unsupported("subquery", loc);
    if (type == "SQLValueFunction") {
      std::string op = StringField(n, "op");
      if (op.rfind("SVFOP_", 0) == 0) op = op.substr(6);
      return Unsupported(op + " (not deterministic: a view's rows must not depend on when a "
                              "change is applied)",
                         loc);
    }
    std::string what = type == "ParamRef"        ? "parameter ($n)"
                       : type == "A_ArrayExpr"   ? "ARRAY[...]"
                       : type == "RowExpr"       ? "ROW(...)"
                       : type == "A_Indirection" ? "subscript or field selection"
                       : type == "CollateClause" ? "COLLATE"
                       : type == "BooleanTest"   ? "IS [NOT] TRUE/FALSE/UNKNOWN"
                       : type == "GroupingFunc"  ? "GROUPING()"
                       : type == "XmlExpr" || type == "XmlSerialize" ? "XML functions"
                                                                     : type;
    return Unsupported(what, n.contains("location") ? loc : FirstLocation(n));
  }

  Result<Expr> Column(const json& n) {
    int loc = LocationOf(n);
    const json& f = n.at("fields");
    for (const json& part : f) {
      if (!part.contains("String")) {
        return Unsupported("* here (only in the SELECT list and count(*))", loc);
      }
    }
    if (f.size() > 2) {
      return Unsupported("column reference with a schema (write table.column)", loc);
    }
    ColumnRef c;
    c.name = f.back()["String"].value("sval", "");
    if (f.size() == 2) c.qualifier = f[0]["String"].value("sval", "");
    return Expr{std::move(c), loc};
  }

  Result<Expr> ConstantNode(const json& n) {
    int loc = LocationOf(n);
    Constant c;
    if (n.value("isnull", false)) {
      c.kind = ConstantKind::kNull;
    } else if (n.contains("ival")) {
      c.kind = ConstantKind::kInteger;
      const json& iv = n["ival"];
      if (iv.contains("ival")) {
        c.integer = iv["ival"].get<int64_t>();
      } else {
        // libpg_query 15-4.0 writes neither 0 nor a negative integer's value (it writes
        // only values > 0), so read it from the SQL: "-" and "(" may precede the digits.
        WF_ASSIGN_OR_RETURN(c.integer, IntegerAt(loc));
      }
      c.text = std::to_string(c.integer);
    } else if (n.contains("fval")) {
      c.text = n["fval"].value("fval", "");
      int64_t v = 0;
      std::string_view t = c.text;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec == std::errc() && end == t.data() + t.size()) {
        // An integer literal beyond 32 bits: PostgreSQL types it int8.
        c.kind = ConstantKind::kInteger;
        c.integer = v;
      } else {
        c.kind = ConstantKind::kNumeric;
      }
    } else if (n.contains("boolval")) {
      c.kind = ConstantKind::kBool;
      c.text = n["boolval"].value("boolval", false) ? "true" : "false";
    } else if (n.contains("sval")) {
      c.kind = ConstantKind::kString;
      c.text = n["sval"].value("sval", "");
    } else if (n.contains("bsval")) {
      return Unsupported("bit string constant", loc);
    } else {
      return Unsupported("constant", loc);
    }
    return Expr{std::move(c), loc};
  }

  Result<int64_t> IntegerAt(int loc) const {
    size_t i = static_cast<size_t>(std::max(loc, 0));
    bool negative = false;
    while (i < sql_.size()) {
      char c = sql_[i];
      if (c == '-') {
        negative = !negative;
      } else if (c != '(' && !std::isspace(static_cast<unsigned char>(c))) {
        break;
      }
      ++i;
    }
    size_t start = i;
    while (i < sql_.size() && std::isdigit(static_cast<unsigned char>(sql_[i]))) ++i;
    int64_t magnitude = 0;
    auto [end, ec] = std::from_chars(sql_.data() + start, sql_.data() + i, magnitude);
    if (ec != std::errc() || start == i) {
      return Internal(FormatSqlError("integer constant not found in the SQL", sql_, loc));
    }
    return negative ? -magnitude : magnitude;
  }

  Result<Expr> Operator(const json& n) {
    int loc = LocationOf(n);
    std::string kind = StringField(n, "kind");
    std::string name;
    const json& names = n.value("name", json::array());
    if (!names.empty()) name = names.back()["String"].value("sval", "");
    auto side = [&](const char* key) -> Result<Expr> { return Convert(n.at(key)); };
    if (kind == "AEXPR_OP") {
      if (names.size() > 1) return Unsupported("OPERATOR(schema.op)", loc);
      if (!n.contains("lexpr")) {
        if (name != "-") return Unsupported("prefix operator " + name, loc);
        WF_ASSIGN_OR_RETURN(Expr operand, side("rexpr"));
        return Expr{UnaryExpr{UnaryOperator::kNegate, std::move(operand)}, loc};
      }
      static const std::pair<const char*, BinaryOperator> kOps[] = {
          {"+", BinaryOperator::kAdd},        {"-", BinaryOperator::kSubtract},
          {"*", BinaryOperator::kMultiply},   {"/", BinaryOperator::kDivide},
          {"%", BinaryOperator::kModulo},     {"||", BinaryOperator::kConcat},
          {"=", BinaryOperator::kEqual},      {"<>", BinaryOperator::kNotEqual},
          {"<", BinaryOperator::kLess},       {"<=", BinaryOperator::kLessEqual},
          {">", BinaryOperator::kGreater},    {">=", BinaryOperator::kGreaterEqual},
          {"->", BinaryOperator::kJsonField}, {"->>", BinaryOperator::kJsonFieldText}};
      for (const auto& [text, op] : kOps) {
        if (name == text) {
          WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
          WF_ASSIGN_OR_RETURN(Expr r, side("rexpr"));
          return Expr{BinaryExpr{op, std::move(l), std::move(r)}, loc};
        }
      }
      return Unsupported("operator " + name, loc);
    }
    if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
      WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
      WF_ASSIGN_OR_RETURN(Expr r, side("rexpr"));
      return Expr{IsDistinctExpr{std::move(l), std::move(r), kind == "AEXPR_NOT_DISTINCT"}, loc};
    }
    if (kind == "AEXPR_NULLIF") {
      std::vector<Expr> args;
      WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
      WF_ASSIGN_OR_RETURN(Expr r, side("rexpr"));
      args.push_back(std::move(l));
      args.push_back(std::move(r));
      return Expr{ConditionalExpr{ConditionalKind::kNullIf, std::move(args)}, loc};
    }
    if (kind == "AEXPR_IN") {
      WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
      WF_ASSIGN_OR_RETURN(auto list, List(n.at("rexpr").at("List").value("items", json::array())));
      return Expr{InListExpr{std::move(l), std::move(list), name == "<>"}, loc};
    }
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
      WF_ASSIGN_OR_RETURN(auto bounds, List(n.at("rexpr").at("List").at("items")));
      return Expr{BetweenExpr{std::move(l), std::move(bounds[0]), std::move(bounds[1]),
                              kind == "AEXPR_NOT_BETWEEN"},
                  loc};
    }
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
      auto [rtype, r] = Unwrap(n.at("rexpr"));
      if (rtype == "FuncCall" &&
          r->at("funcname").back()["String"].value("sval", "") == "like_escape") {
        return Unsupported("LIKE ... ESCAPE", loc);
      }
      WF_ASSIGN_OR_RETURN(Expr l, side("lexpr"));
      WF_ASSIGN_OR_RETURN(Expr p, side("rexpr"));
      bool negated = name.rfind("!", 0) == 0;
      return Expr{LikeExpr{std::move(l), std::move(p), kind == "AEXPR_ILIKE", negated}, loc};
    }
    std::string what = kind == "AEXPR_OP_ANY"    ? "ANY (...)"
                       : kind == "AEXPR_OP_ALL"  ? "ALL (...)"
                       : kind == "AEXPR_SIMILAR" ? "SIMILAR TO"
                       : kind == "AEXPR_BETWEEN_SYM" || kind == "AEXPR_NOT_BETWEEN_SYM"
                           ? "BETWEEN SYMMETRIC"
                           : kind;
    return Unsupported(what, loc);
  }

  Result<Expr> Bool(const json& n) {
    int loc = LocationOf(n);
    std::string op = StringField(n, "boolop");
    WF_ASSIGN_OR_RETURN(auto args, List(n.at("args")));
    if (op == "NOT_EXPR") return Expr{UnaryExpr{UnaryOperator::kNot, std::move(args[0])}, loc};
    return Expr{LogicalExpr{op == "AND_EXPR" ? LogicalOperator::kAnd : LogicalOperator::kOr,
                            std::move(args)},
                loc};
  }

  Result<TypeName> Type(const json& t) {
    TypeName type;
    type.location = LocationOf(t);
    if (t.contains("arrayBounds")) return Unsupported("array type", type.location);
    if (t.value("setof", false)) return Unsupported("SETOF", type.location);
    if (t.value("pct_type", false)) return Unsupported("%TYPE", type.location);
    std::vector<std::string> names;
    for (const json& part : t.at("names")) names.push_back(part["String"].value("sval", ""));
    if (names.size() > 2) return Unsupported("type name with a database", type.location);
    type.name = names.back();
    if (names.size() == 2 && names[0] != "pg_catalog") type.schema = names[0];
    for (const json& m : t.value("typmods", json::array())) {
      auto [mtype, mod] = Unwrap(m);
      if (mtype != "A_Const" || !mod->contains("ival")) {
        return Unsupported("type modifier", type.location);
      }
      const json& iv = (*mod)["ival"];
      type.modifiers.push_back(iv.value("ival", int64_t{0}));
    }
    if (type.name == "interval" && type.schema.empty() && !type.modifiers.empty()) {
      return Unsupported("interval fields or precision", type.location);
    }
    return type;
  }

  Result<Expr> Cast(const json& n) {
    WF_ASSIGN_OR_RETURN(TypeName type, Type(n.at("typeName")));
    WF_ASSIGN_OR_RETURN(Expr arg, Convert(n.at("arg")));
    // DATE '2026-01-01' has no cast location: it starts at the type name.
    int loc = n.value("location", 0);
    if (loc < 0) loc = type.location;
    return Expr{CastExpr{std::move(arg), std::move(type)}, loc};
  }

  Result<Expr> Case(const json& n) {
    CaseExpr c;
    if (n.contains("arg")) {
      WF_ASSIGN_OR_RETURN(Expr operand, Convert(n["arg"]));
      c.operand = std::move(operand);
    }
    for (const json& w : n.at("args")) {
      const json& when = w.at("CaseWhen");
      WF_ASSIGN_OR_RETURN(Expr cond, Convert(when.at("expr")));
      WF_ASSIGN_OR_RETURN(Expr result, Convert(when.at("result")));
      c.whens.push_back(CaseWhen{std::move(cond), std::move(result)});
    }
    if (n.contains("defresult")) {
      WF_ASSIGN_OR_RETURN(Expr otherwise, Convert(n["defresult"]));
      c.otherwise = std::move(otherwise);
    }
    return Expr{std::move(c), LocationOf(n)};
  }

  Result<Expr> Function(const json& n) {
    int loc = LocationOf(n);
    std::vector<std::string> names;
    for (const json& part : n.at("funcname")) names.push_back(part["String"].value("sval", ""));
    FunctionCall call;
    call.name = names.back();
    if (names.size() > 2) return Unsupported("function name with a database", loc);
    if (names.size() == 2) call.schema = names[0];
    const json& args = n.value("args", json::array());
    if (n.contains("over")) return Unsupported("window function (OVER)", loc);
    if ((call.schema.empty() || call.schema == "pg_catalog") &&
        IsNonDeterministic(call.name, args.size())) {
      return Unsupported(call.name +
                             "() (not deterministic: a view's rows must not depend on "
                             "when a change is applied)",
                         loc);
    }
    if (n.contains("agg_order")) {
      int at = FirstLocation(n["agg_order"]);
      return Unsupported("ORDER BY in an aggregate", keywords_.Before(at, {"ORDER"}, at));
    }
    if (n.contains("agg_within_group") && n["agg_within_group"].get<bool>()) {
      return Unsupported("WITHIN GROUP", loc);
    }
    if (n.value("func_variadic", false)) return Unsupported("VARIADIC", loc);
    WF_ASSIGN_OR_RETURN(call.args, List(args));
    call.star = n.value("agg_star", false);
    call.distinct = n.value("agg_distinct", false);
    if (n.contains("agg_filter")) {
      WF_ASSIGN_OR_RETURN(Expr filter, Convert(n["agg_filter"]));
      call.filter = std::move(filter);
    }
    return Expr{std::move(call), loc};
  }

  std::string_view sql_;
  KeywordIndex keywords_;
};

// Display width of the bytes before `end`: one column per UTF-8 character, tabs kept.
std::string CaretPadding(std::string_view line, size_t end) {
  std::string pad;
  for (size_t i = 0; i < end && i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c & 0xC0) == 0x80) continue;
    pad += c == '\t' ? '\t' : ' ';
  }
  return pad;
}

}  // namespace

std::string FormatSqlError(std::string_view message, std::string_view sql, int location) {
  size_t shown_end = sql.find_last_not_of(" \t\r\n");
  std::string_view text = sql.substr(0, shown_end == std::string_view::npos ? 0 : shown_end + 1);
  size_t pos = std::min(static_cast<size_t>(std::max(location, 0)), text.size());
  bool multi_line = text.find('\n') != std::string_view::npos;
  size_t line_start = pos == 0 ? std::string_view::npos : text.rfind('\n', pos - 1);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t line_end = text.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = text.size();
  std::string_view line = text.substr(line_start, line_end - line_start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string prefix = "  ";
  if (multi_line) {
    size_t number = 1 + std::count(text.begin(), text.begin() + line_start, '\n');
    prefix += "line " + std::to_string(number) + ": ";
  }
  std::string out(message);
  out += "\n" + prefix + std::string(line) + "\n" + std::string(prefix.size(), ' ') +
         CaretPadding(line, pos - line_start) + "^";
  return out;
}

Result<SelectStatement> Parse(std::string_view sql) {
  std::string text(sql);
  PgQueryParseResult result = pg_query_parse(text.c_str());
  struct Free {
    PgQueryParseResult* r;
    ~Free() { pg_query_free_parse_result(*r); }
  } free_result{&result};
  if (result.error != nullptr) {
    // cursorpos counts characters from 1 (0: no position); locations count bytes.
    int location = 0;
    for (int chars = result.error->cursorpos - 1; chars > 0 && location < int(sql.size());) {
      ++location;
      if (location == int(sql.size()) ||
          (static_cast<unsigned char>(sql[location]) & 0xC0) != 0x80) {
        --chars;
      }
    }
    return InvalidArgument(FormatSqlError(result.error->message, sql, location));
  }
  json tree = json::parse(result.parse_tree, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return Internal("libpg_query returned a parse tree that is not JSON");
  try {
    return TreeConverter(sql).Statements(tree);
  } catch (const json::exception& e) {
    return Internal(std::string("unexpected libpg_query parse tree: ") + e.what());
  }
}

}  // namespace walflow::sql
