#include "view/compile.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "pg/catalog.h"
#include "pg/connection.h"
#include "sql/parser.h"

namespace walflow::view {

DescribeTableFn CatalogDescriber(pg::Connection* conn) {
  return [conn](const std::string& schema,
                const std::string& name) -> Result<std::vector<InputColumnInfo>> {
    WF_ASSIGN_OR_RETURN(
        pg::QueryResult r,
        conn->Query(
            "SELECT a.attname, a.atttypid::int8, format_type(a.atttypid, a.atttypmod), "
            "a.atttypmod, "
            "  coalesce((SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, n) "
            "            WHERE i.indrelid = c.oid AND i.indisprimary AND k.att = a.attnum), "
            "           (SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, n) "
            "            WHERE i.indrelid = c.oid AND i.indisreplident AND k.att = a.attnum), 0), "
            "  CASE WHEN a.attcollation = 0 THEN '' "
            "       WHEN co.collname = 'default' THEN (SELECT datcollate FROM pg_database "
            "                                         WHERE datname = current_database()) "
            "       WHEN co.collprovider = 'c' THEN co.collcollate ELSE co.collname END "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid "
            "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') "
            "  AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            {schema, name}));
    if (r.rows.empty()) return NotFound("relation \"" + schema + "." + name + "\" does not exist");
    std::vector<InputColumnInfo> out;
    for (size_t i = 0; i < r.rows.size(); ++i) {
      InputColumnInfo c;
      c.name = r.Text(i, 0);
      c.type_oid = static_cast<uint32_t>(std::stoul(r.Text(i, 1)));
      c.type_name = r.Text(i, 2);
      c.typmod = std::stoi(r.Text(i, 3));
      c.key_position = std::stoi(r.Text(i, 4)) - 1;
      c.collation = r.Text(i, 5);
      out.push_back(std::move(c));
    }
    return out;
  };
}

namespace {

// The type modifier PostgreSQL's view would give output column `i`: a column passed on as it
// is (directly, or as a GROUP BY column) keeps its input's; anything computed has none.
int32_t OutputTypmod(const CompiledView& v, size_t i) {
  const sql::ViewPlan& p = v.plan;
  const sql::BoundExpr* e = &p.outputs[i];
  if (e->kind != sql::BoundExpr::Kind::kColumn) return -1;
  if (p.grouped) {
    if (e->column >= static_cast<int>(p.groups.size())) return -1;
    e = &p.groups[e->column];
    if (e->kind != sql::BoundExpr::Kind::kColumn) return -1;
  }
  const std::string& name = v.input.schema.columns[e->column].name;
  for (const InputColumnInfo& c : v.input_columns) {
    if (c.name == name) return c.typmod;
  }
  return -1;
}

Result<TableSchemaPtr> OutputSchema(const CompiledView& v, uint32_t relid) {
  const runtime::ViewConfig& config = v.config;
  const sql::ViewPlan& plan = v.plan;
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(relid);
  t->schema = config.schema;
  t->name = config.name;
  t->replica_identity = 'f';
  for (size_t i = 0; i < plan.columns.size(); ++i) {
    ColumnSchema c;
    c.name = plan.columns[i].name;
    WF_ASSIGN_OR_RETURN(c.type, pg::ResolveType(Oid(static_cast<uint32_t>(plan.columns[i].type)),
                                                OutputTypmod(v, i), nullptr));
    t->columns.push_back(std::move(c));
  }
  for (size_t k = 0; k < plan.key.size(); ++k) {
    ColumnSchema& c = t->columns[plan.key[k]];
    c.replica_key = true;
    c.primary_key_position = static_cast<int>(k);
    c.optional = plan.grouped;  // GROUP BY keys may be NULL; an input key is not
    t->key_columns.push_back(plan.key[k]);
  }
  return TableSchemaPtr(std::move(t));
}

// The input columns an expression reads; `group_row`: it is over [groups…, aggregates…].
void InputColumnsOf(const sql::ViewPlan& p, const sql::BoundExpr& e, bool group_row,
                    std::set<int>* out) {
  if (e.kind == sql::BoundExpr::Kind::kColumn) {
    if (!group_row) {
      out->insert(e.column);
    } else if (e.column < static_cast<int>(p.groups.size())) {
      InputColumnsOf(p, p.groups[e.column], false, out);
    } else {
      const auto& a = p.aggregates[e.column - p.groups.size()];
      if (a.arg) InputColumnsOf(p, *a.arg, false, out);
    }
  }
  for (const auto& c : e.children) InputColumnsOf(p, c, group_row, out);
}

// A collation of the view's text and the column it came from.
struct DerivedName {
  std::string collation;
  std::string column;
};

// Opens each libc collation once; the C collation is none (null).
class CollationResolver {
 public:
  Result<std::shared_ptr<const sql::Collation>> operator()(const DerivedName& d) {
    if (sql::Collation::IsBytewise(d.collation)) return std::shared_ptr<const sql::Collation>();
    auto it = open_.find(d.collation);
    if (it != open_.end()) return it->second;
    if (d.collation.ends_with("-icu")) {
      return FailedPrecondition("column " + d.column + ": collation \"" + d.collation +
                                "\" is an ICU collation; views order text under libc "
                                "collations only (declare the column COLLATE \"C\" or a libc "
                                "one such as \"en_US.utf8\")");
    }
    auto c = sql::Collation::Open(d.collation);
    if (!c.ok())
      return Status(c.status().code(), "column " + d.column + ": " + c.status().message());
    open_.emplace(d.collation, *c);
    return *c;
  }

 private:
  std::map<std::string, std::shared_ptr<const sql::Collation>> open_;
};

// The collation of the text `e` computes, as PostgreSQL derives it: that of the input
// columns it reads (a literal's default collation yields to a column's implicit one).
// Empty: none, or only literals (their text is ordered by bytes here).
Result<DerivedName> DerivedCollation(const CompiledView& v, const sql::BoundExpr& e,
                                     bool group_row) {
  std::set<int> columns;
  InputColumnsOf(v.plan, e, group_row, &columns);
  std::string found, found_column;
  for (int i : columns) {
    const std::string& name = v.input.schema.columns[i].name;
    for (const InputColumnInfo& c : v.input_columns) {
      if (c.name != name || c.collation.empty()) continue;
      if (!found.empty() && c.collation != found) {
        return InvalidArgument("it orders or case-maps text of column " + found_column +
                               " (collation \"" + found + "\") with text of column " + name +
                               " (collation \"" + c.collation +
                               "\"); PostgreSQL could not determine which collation to use "
                               "either: give both columns one collation");
      }
      found = c.collation;
      found_column = name;
    }
  }
  return DerivedName{found, found_column};
}

// The collation of `e`'s text, opened; an error shows where `e` is in the statement.
Status Resolve(CollationResolver& resolve, const CompiledView& v, const sql::BoundExpr& e,
               bool group_row, std::shared_ptr<const sql::Collation>* out) {
  Result<DerivedName> name = DerivedCollation(v, e, group_row);
  Status s = name.status();
  if (s.ok()) {
    auto opened = resolve(*name);
    s = opened.status();
    if (s.ok()) *out = std::move(opened).value();
  }
  if (s.ok()) return s;
  return Status(s.code(), sql::FormatSqlError(s.message(), v.config.sql, e.location));
}

// Sets the collation of every node of `e` whose answer depends on one: text ordered (<, >,
// BETWEEN, GREATEST/LEAST) and lower/upper.
Status AnnotateCollations(CollationResolver& resolve, const CompiledView& v, sql::BoundExpr& e,
                          bool group_row) {
  using K = sql::BoundExpr::Kind;
  const bool orders =
      (e.kind == K::kCompare && !e.children.empty() && e.children[0].type == sql::SqlType::kText) ||
      ((e.kind == K::kGreatest || e.kind == K::kLeast) && e.type == sql::SqlType::kText);
  const bool maps_case = e.kind == K::kFunction && (e.function == sql::ScalarFunction::kLower ||
                                                    e.function == sql::ScalarFunction::kUpper);
  if (orders || maps_case) WF_RETURN_IF_ERROR(Resolve(resolve, v, e, group_row, &e.collation));
  for (auto& c : e.children) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, c, group_row));
  return Status::OK();
}

// Text is ordered and case-mapped under the collation of the columns it comes from, as in
// PostgreSQL: the C collation by bytes, a libc collation by the same glibc locale.
Status ResolveCollations(CollationResolver& resolve, CompiledView& v) {
  sql::ViewPlan& p = v.plan;
  if (p.where) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, *p.where, false));
  for (auto& e : p.outputs) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, e, p.grouped));
  for (auto& e : p.groups) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, e, false));
  if (p.having) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, *p.having, true));
  for (auto& a : p.aggregates) {
    if (a.arg) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, *a.arg, false));
    if (a.filter) WF_RETURN_IF_ERROR(AnnotateCollations(resolve, v, *a.filter, false));
    if ((a.spec.kind == sql::AggregateKind::kMin || a.spec.kind == sql::AggregateKind::kMax) &&
        a.spec.arg_type == sql::SqlType::kText && a.arg) {
      WF_RETURN_IF_ERROR(Resolve(resolve, v, *a.arg, false, &a.spec.collation));
    }
  }
  return Status::OK();
}

// The libc collations a view's state depends on (min/max keys), for its fingerprint.
void CollationsOf(const sql::BoundExpr& e, std::set<std::string>* out) {
  if (e.collation) out->insert(e.collation->name());
  for (const auto& c : e.children) CollationsOf(c, out);
}

std::string Fingerprint(const CompiledView& v) {
  std::string f = "walflow view v1\n" + sql::ToSql(*v.config.statement) + "\nkey:";
  for (const std::string& k : v.config.key) f += " " + k;
  f += "\ninput " + v.config.input + ":";
  for (int c : v.plan.used_columns) {
    f += fmt::format(" {}:{}", v.input.schema.columns[c].name,
                     static_cast<uint32_t>(v.input.schema.columns[c].type));
  }
  for (const InputColumnInfo& c : v.input_columns) {
    if (c.key_position >= 0) f += fmt::format(" key{}={}", c.key_position, c.name);
  }
  // Only a view that uses a libc collation says so: the C collation's views keep theirs.
  std::set<std::string> collations;
  const sql::ViewPlan& p = v.plan;
  if (p.where) CollationsOf(*p.where, &collations);
  for (const auto& e : p.outputs) CollationsOf(e, &collations);
  for (const auto& e : p.groups) CollationsOf(e, &collations);
  if (p.having) CollationsOf(*p.having, &collations);
  for (const auto& a : p.aggregates) {
    if (a.arg) CollationsOf(*a.arg, &collations);
    if (a.filter) CollationsOf(*a.filter, &collations);
    if (a.spec.collation) collations.insert(a.spec.collation->name());
  }
  if (!collations.empty()) f += fmt::format("\ncollations: {}", fmt::join(collations, ", "));
  return f;
}

}  // namespace

Result<std::vector<std::shared_ptr<const CompiledView>>> CompileViews(
    const runtime::PipelineConfig& config, const DescribeTableFn& describe) {
  std::vector<std::shared_ptr<const CompiledView>> out;
  CollationResolver resolve;
  uint32_t next_relid = 0xFFF00000u;
  for (const runtime::ViewConfig& vc : config.views) {
    auto v = std::make_shared<CompiledView>();
    v->config = vc;
    auto context = [&](const Status& s) {
      return InvalidArgument(vc.location.ToString() + ": view " + vc.Qualified() + ": " +
                             s.message());
    };
    if (vc.input_is_view) {
      const CompiledView* up = nullptr;
      for (const auto& c : out) {
        if (c->config.Qualified() == vc.input) up = c.get();
      }
      if (!up) return Internal("view " + vc.input + " compiled after its reader");
      for (size_t i = 0; i < up->plan.columns.size(); ++i) {
        InputColumnInfo c;
        c.name = up->plan.columns[i].name;
        c.type_oid = static_cast<uint32_t>(up->plan.columns[i].type);
        c.type_name = sql::SqlTypeName(up->plan.columns[i].type);
        c.typmod = up->output_schema->columns[i].type.typmod;
        if (up->plan.columns[i].type == sql::SqlType::kText) {
          // A column passed on keeps its collation, computed text that of its columns.
          auto derived = DerivedCollation(*up, up->plan.outputs[i], up->plan.grouped);
          if (derived.ok()) c.collation = derived->collation;
        }
        for (size_t k = 0; k < up->plan.key.size(); ++k) {
          if (up->plan.key[k] == static_cast<int>(i)) c.key_position = static_cast<int>(k);
        }
        v->input_columns.push_back(std::move(c));
      }
    } else {
      auto dot = vc.input.find('.');
      auto cols = describe(vc.input.substr(0, dot), vc.input.substr(dot + 1));
      if (!cols.ok()) {
        return context(Status(
            cols.status().code(),
            sql::FormatSqlError(cols.status().message(), vc.sql, vc.statement->from.location)));
      }
      v->input_columns = std::move(cols).value();
    }
    v->input.schema.table = vc.statement->from.name;
    v->input.schema.alias = vc.statement->from.alias;
    std::vector<std::pair<int, int>> key;  // (key position, schema index)
    for (const InputColumnInfo& c : v->input_columns) {
      sql::SqlType t;
      if (!sql::SqlTypeFromOid(c.type_oid, &t)) {
        v->input.unsupported.emplace_back(c.name, c.type_name);
        continue;
      }
      if (c.key_position >= 0) {
        key.emplace_back(c.key_position, static_cast<int>(v->input.schema.columns.size()));
      }
      v->input.schema.columns.push_back({c.name, t});
    }
    std::sort(key.begin(), key.end());
    size_t key_columns = 0;
    for (const InputColumnInfo& c : v->input_columns) key_columns += c.key_position >= 0;
    if (key.size() == key_columns) {
      for (const auto& [pos, index] : key) v->input.key.push_back(index);
    }
    auto plan = sql::PlanView(*vc.statement, vc.sql, v->input, vc.key);
    if (!plan.ok()) return context(plan.status());
    v->plan = std::move(plan).value();
    if (key_columns == 0) {
      return context(InvalidArgument("its input " + vc.input +
                                     " has no primary key or replica identity index; views "
                                     "keep their input's rows by key"));
    }
    if (Status s = ResolveCollations(resolve, *v); !s.ok()) return context(s);
    auto schema = OutputSchema(*v, next_relid++);
    if (!schema.ok()) return context(schema.status());
    v->output_schema = std::move(schema).value();
    v->fingerprint = Fingerprint(*v);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace walflow::view
