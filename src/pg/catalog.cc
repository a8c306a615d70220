#include "pg/catalog.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "core/log.h"
#include "pg/connection.h"

namespace walflow::pg {
namespace {

// Built-in type OIDs (src/include/catalog/pg_type.dat); stable across releases.
enum BuiltinType : uint32_t {
  kBool = 16,
  kBytea = 17,
  kChar = 18,
  kName = 19,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kText = 25,
  kOidType = 26,
  kJson = 114,
  kXml = 142,
  kFloat4 = 700,
  kFloat8 = 701,
  kBpchar = 1042,
  kVarchar = 1043,
  kDate = 1082,
  kTime = 1083,
  kTimestamp = 1114,
  kTimestamptz = 1184,
  kInterval = 1186,
  kTimetz = 1266,
  kNumeric = 1700,
  kUuid = 2950,
  kJsonb = 3802,
};

// Array type OID -> element type OID for the built-in types above.
const std::unordered_map<uint32_t, uint32_t>& BuiltinArrays() {
  static const std::unordered_map<uint32_t, uint32_t> m = {
      {1000, kBool},   {1001, kBytea},       {1002, kChar},     {1003, kName},      {1005, kInt2},
      {1007, kInt4},   {1009, kText},        {1014, kBpchar},   {1015, kVarchar},   {1016, kInt8},
      {1021, kFloat4}, {1022, kFloat8},      {1028, kOidType},  {1115, kTimestamp}, {1182, kDate},
      {1183, kTime},   {1185, kTimestamptz}, {1187, kInterval}, {1231, kNumeric},   {1270, kTimetz},
      {2951, kUuid},   {199, kJson},         {3807, kJsonb},    {143, kXml},
  };
  return m;
}

// Fractional-second precision from a time/timestamp typmod; 6 when unconstrained.
int TimePrecision(int32_t typmod) { return typmod < 0 ? 6 : typmod; }

bool ResolveBuiltin(uint32_t oid, int32_t typmod, ValueType* t) {
  switch (oid) {
    case kBool:
      t->kind = ValueKind::kBoolean;
      t->type_name = "bool";
      return true;
    case kBytea:
      t->kind = ValueKind::kBytes;
      t->type_name = "bytea";
      return true;
    case kChar:
      t->kind = ValueKind::kString;
      t->type_name = "char";
      return true;
    case kName:
      t->kind = ValueKind::kString;
      t->type_name = "name";
      return true;
    case kInt2:
      t->kind = ValueKind::kInt16;
      t->type_name = "int2";
      return true;
    case kInt4:
      t->kind = ValueKind::kInt32;
      t->type_name = "int4";
      return true;
    case kInt8:
      t->kind = ValueKind::kInt64;
      t->type_name = "int8";
      return true;
    case kOidType:
      t->kind = ValueKind::kInt64;
      t->type_name = "oid";
      return true;
    case kText:
      t->kind = ValueKind::kString;
      t->type_name = "text";
      return true;
    case kBpchar:
      t->kind = ValueKind::kString;
      t->type_name = "bpchar";
      return true;
    case kVarchar:
      t->kind = ValueKind::kString;
      t->type_name = "varchar";
      return true;
    case kJson:
      t->kind = ValueKind::kJson;
      t->type_name = "json";
      return true;
    case kJsonb:
      t->kind = ValueKind::kJson;
      t->type_name = "jsonb";
      return true;
    case kXml:
      t->kind = ValueKind::kXml;
      t->type_name = "xml";
      return true;
    case kFloat4:
      t->kind = ValueKind::kFloat32;
      t->type_name = "float4";
      return true;
    case kFloat8:
      t->kind = ValueKind::kFloat64;
      t->type_name = "float8";
      return true;
    case kUuid:
      t->kind = ValueKind::kUuid;
      t->type_name = "uuid";
      return true;
    case kDate:
      t->kind = ValueKind::kDate;
      t->type_name = "date";
      return true;
    case kInterval:
      t->kind = ValueKind::kInterval;
      t->type_name = "interval";
      return true;
    case kTimetz:
      t->kind = ValueKind::kZonedTime;
      t->type_name = "timetz";
      return true;
    case kTimestamptz:
      t->kind = ValueKind::kZonedTimestamp;
      t->type_name = "timestamptz";
      return true;
    case kTime:
      t->kind = TimePrecision(typmod) <= 3 ? ValueKind::kTimeMillis : ValueKind::kTimeMicros;
      t->type_name = "time";
      return true;
    case kTimestamp:
      t->kind =
          TimePrecision(typmod) <= 3 ? ValueKind::kTimestampMillis : ValueKind::kTimestampMicros;
      t->type_name = "timestamp";
      return true;
    case kNumeric:
      t->kind = ValueKind::kDecimal;
      t->type_name = "numeric";
      if (typmod >= 4) {
        int32_t m = typmod - 4;
        t->precision = (m >> 16) & 0xffff;
        // PostgreSQL 15 allows negative scales (stored as an 11-bit signed field); Debezium
        // and walflow treat those as unconstrained.
        int32_t scale = m & 0x7ff;
        t->scale = (scale & 0x400) ? -1 : scale;
      }
      return true;
    default: return false;
  }
}

Result<ValueType> Resolve(Oid oid, int32_t typmod, Catalog* catalog, int depth) {
  ValueType t;
  t.type_oid = oid;
  t.typmod = typmod;
  if (ResolveBuiltin(oid.value, typmod, &t)) return t;
  auto arr = BuiltinArrays().find(oid.value);
  if (arr != BuiltinArrays().end()) {
    WF_ASSIGN_OR_RETURN(ValueType elem, Resolve(Oid(arr->second), typmod, catalog, depth + 1));
    t.kind = ValueKind::kArray;
    t.type_name = "_" + elem.type_name;
    t.element = std::make_shared<ValueType>(std::move(elem));
    return t;
  }
  if (catalog == nullptr || depth > 8) {
    t.kind = ValueKind::kText;
    t.type_name = "oid " + std::to_string(oid.value);
    return t;
  }
  WF_ASSIGN_OR_RETURN(PgTypeInfo info, catalog->DescribeType(oid));
  t.type_name = info.nspname == "pg_catalog" ? info.name : info.nspname + "." + info.name;
  if (info.typtype == 'e') {
    t.kind = ValueKind::kEnum;
    t.enum_labels = std::move(info.enum_labels);
    return t;
  }
  if (info.typtype == 'd' && info.base_type.value != 0) {
    WF_ASSIGN_OR_RETURN(ValueType base,
                        Resolve(info.base_type, info.base_typmod, catalog, depth + 1));
    base.type_oid = oid;
    base.type_name = t.type_name;
    return base;
  }
  if (info.typcategory == 'A' && info.element.value != 0) {
    WF_ASSIGN_OR_RETURN(ValueType elem, Resolve(info.element, typmod, catalog, depth + 1));
    t.kind = ValueKind::kArray;
    t.element = std::make_shared<ValueType>(std::move(elem));
    return t;
  }
  t.kind = ValueKind::kText;  // documented fallback: the PostgreSQL text form
  return t;
}

}  // namespace

Result<ValueType> ResolveType(Oid type, int32_t typmod, Catalog* catalog) {
  return Resolve(type, typmod, catalog, 0);
}

Result<PgTypeInfo> SqlCatalog::DescribeType(Oid type) {
  WF_ASSIGN_OR_RETURN(
      QueryResult r,
      conn_->Query("SELECT n.nspname, t.typname, t.typtype, t.typcategory, t.typelem, "
                   "t.typbasetype, t.typtypmod, "
                   "(SELECT string_agg(e.enumlabel, E'\\x01' ORDER BY e.enumsortorder) "
                   "   FROM pg_enum e WHERE e.enumtypid = t.oid) "
                   "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                   "WHERE t.oid = $1",
                   {std::to_string(type.value)}));
  if (r.rows.empty()) return NotFound("type with oid " + std::to_string(type.value) + " not found");
  PgTypeInfo info;
  info.oid = type;
  info.nspname = r.Text(0, 0);
  info.name = r.Text(0, 1);
  info.typtype = r.Text(0, 2).empty() ? 'b' : r.Text(0, 2)[0];
  info.typcategory = r.Text(0, 3).empty() ? 'U' : r.Text(0, 3)[0];
  info.element = Oid(static_cast<uint32_t>(std::stoul(r.Text(0, 4))));
  info.base_type = Oid(static_cast<uint32_t>(std::stoul(r.Text(0, 5))));
  info.base_typmod = std::stoi(r.Text(0, 6));
  if (r.At(0, 7)) {
    const std::string& labels = *r.At(0, 7);
    size_t start = 0;
    while (true) {
      size_t sep = labels.find('\x01', start);
      info.enum_labels.push_back(labels.substr(start, sep - start));
      if (sep == std::string::npos) break;
      start = sep + 1;
    }
  }
  return info;
}

Result<std::vector<PgColumnInfo>> SqlCatalog::DescribeColumns(Oid relid) {
  WF_ASSIGN_OR_RETURN(
      QueryResult r,
      conn_->Query("SELECT a.attname, a.attnotnull, a.atttypid, "
                   "  (SELECT k.ord FROM pg_index i, "
                   "     unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, ord) "
                   "   WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum) "
                   "FROM pg_attribute a "
                   "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
                   "ORDER BY a.attnum",
                   {std::to_string(relid.value)}));
  std::vector<PgColumnInfo> cols;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    PgColumnInfo c;
    c.name = r.Text(i, 0);
    c.not_null = r.Text(i, 1) == "t";
    c.type_oid = Oid(static_cast<uint32_t>(std::stoul(r.Text(i, 2))));
    if (r.At(i, 3)) c.primary_key_position = std::stoi(*r.At(i, 3)) - 1;
    cols.push_back(std::move(c));
  }
  return cols;
}

namespace {

std::string QualifiedTypeName(const PgTypeInfo& t) {
  return t.nspname == "pg_catalog" ? t.name : t.nspname + "." + t.name;
}

bool SameType(const PgTypeInfo& a, const PgTypeInfo& b) {
  return a.oid == b.oid && a.nspname == b.nspname && a.name == b.name && a.typtype == b.typtype &&
         a.typcategory == b.typcategory && a.element == b.element && a.base_type == b.base_type &&
         a.base_typmod == b.base_typmod && a.enum_labels == b.enum_labels;
}

// The type memory file: a header line, then one type per line, tab-separated fields with
// backslash, tab and newline escaped; enum labels are the fields after the eighth.
constexpr char kTypeFileHeader[] = "walflow type memory 1";

std::string Escaped(std::string_view field) {
  std::string out;
  for (char c : field) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> SplitEscaped(std::string_view line) {
  std::vector<std::string> fields(1);
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\t') {
      fields.emplace_back();
    } else if (c == '\\' && i + 1 < line.size()) {
      char n = line[++i];
      fields.back().push_back(n == 't' ? '\t' : n == 'n' ? '\n' : n);
    } else {
      fields.back().push_back(c);
    }
  }
  return fields;
}

bool ParseType(std::string_view line, PgTypeInfo* t) {
  std::vector<std::string> f = SplitEscaped(line);
  if (f.size() < 8 || f[3].size() != 1 || f[4].size() != 1) return false;
  try {
    t->oid = Oid(static_cast<uint32_t>(std::stoul(f[0])));
    t->nspname = f[1];
    t->name = f[2];
    t->typtype = f[3][0];
    t->typcategory = f[4][0];
    t->element = Oid(static_cast<uint32_t>(std::stoul(f[5])));
    t->base_type = Oid(static_cast<uint32_t>(std::stoul(f[6])));
    t->base_typmod = std::stoi(f[7]);
  } catch (const std::exception&) {
    return false;
  }
  t->enum_labels.assign(f.begin() + 8, f.end());
  return true;
}

}  // namespace

RememberingCatalog::RememberingCatalog(Catalog* live, std::string file)
    : live_(live), file_(std::move(file)) {
  Load();
}

void RememberingCatalog::Load() {
  if (file_.empty()) return;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;  // nothing learned yet
  std::string line;
  if (!std::getline(in, line) || line != kTypeFileHeader) {
    WF_LOG_WARN("pg", "type memory {} is not in walflow's format; starting it afresh", file_);
    return;
  }
  size_t skipped = 0;
  while (std::getline(in, line)) {
    PgTypeInfo t;
    if (ParseType(line, &t)) {
      types_[t.oid] = std::move(t);
    } else {
      ++skipped;
    }
  }
  if (skipped > 0)
    WF_LOG_WARN("pg", "type memory {}: {} unreadable line(s) skipped", file_, skipped);
}

void RememberingCatalog::Save() {
  if (file_.empty()) return;
  const std::string tmp = file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kTypeFileHeader << "\n";
    for (const auto& [oid, t] : types_) {
      out << t.oid.value << '\t' << Escaped(t.nspname) << '\t' << Escaped(t.name) << '\t'
          << Escaped(std::string(1, t.typtype)) << '\t' << Escaped(std::string(1, t.typcategory))
          << '\t' << t.element.value << '\t' << t.base_type.value << '\t' << t.base_typmod;
      for (const auto& label : t.enum_labels) out << '\t' << Escaped(label);
      out << '\n';
    }
    out.flush();
    if (!out) {
      WF_LOG_WARN("pg", "cannot write type memory {}: {}", tmp, std::strerror(errno));
      return;
    }
  }
  if (std::rename(tmp.c_str(), file_.c_str()) != 0) {
    WF_LOG_WARN("pg", "cannot replace type memory {}: {}", file_, std::strerror(errno));
  }
}

Result<PgTypeInfo> RememberingCatalog::DescribeType(Oid type) {
  Result<PgTypeInfo> live = live_->DescribeType(type);
  auto known = types_.find(type);
  if (live.ok()) {
    if (known == types_.end() || !SameType(known->second, *live)) {
      types_[type] = *live;
      Save();
    }
    return live;
  }
  if (live.status().code() == StatusCode::kNotFound && known != types_.end()) {
    WF_LOG_WARN("pg",
                "type {} (oid {}) no longer exists in the catalog; describing it as walflow last "
                "saw it",
                QualifiedTypeName(known->second), type.value);
    return known->second;
  }
  return live;
}

Result<std::vector<PgColumnInfo>> RememberingCatalog::DescribeColumns(Oid relid) {
  return live_->DescribeColumns(relid);
}

Result<TableSchemaPtr> BuildTableSchema(const RelationSpec& spec, Catalog* catalog) {
  auto table = std::make_shared<TableSchema>();
  table->relid = spec.relid;
  table->schema = spec.schema;
  table->name = spec.name;
  table->replica_identity = spec.replica_identity;
  // Unique for the life of the process: encoders cache per-schema work by it.
  static std::atomic<uint32_t> next_version{1};
  table->version = next_version.fetch_add(1);
  const std::string qualified = table->QualifiedName();

  std::vector<PgColumnInfo> catalog_columns;
  if (catalog != nullptr) {
    auto described = catalog->DescribeColumns(spec.relid);
    if (!described.ok()) return described.status().WithContext("describing table " + qualified);
    catalog_columns = std::move(described).value();
  }
  for (const RelationColumnSpec& rc : spec.columns) {
    ColumnSchema col;
    col.name = rc.name;
    col.replica_key = rc.replica_key;
    auto resolved = ResolveType(rc.type_oid, rc.typmod, catalog);
    if (resolved.ok()) {
      col.type = std::move(resolved).value();
    } else if (resolved.status().code() == StatusCode::kNotFound) {
      // Dropped since the change was written: its values still have their text form.
      col.type.kind = ValueKind::kText;
      col.type.type_oid = rc.type_oid;
      col.type.typmod = rc.typmod;
      col.type.type_name =
          rc.type_name.empty() ? "oid " + std::to_string(rc.type_oid.value) : rc.type_name;
      WF_LOG_WARN("pg",
                  "table {}, column {}: type {} (oid {}) no longer exists in the catalog; its "
                  "values are passed on in their PostgreSQL text form ({})",
                  qualified, col.name, col.type.type_name, rc.type_oid.value,
                  resolved.status().message());
    } else {
      return resolved.status().WithContext("table " + qualified + ", column " + col.name);
    }
    // The name the server decoded the change with, over the catalog's current one.
    if (!rc.type_name.empty()) col.type.type_name = rc.type_name;
    for (const PgColumnInfo& info : catalog_columns) {
      // A column dropped and added again under the same name is another column.
      if (info.name == col.name && (info.type_oid.value == 0 || info.type_oid == rc.type_oid)) {
        col.optional = !info.not_null;
        col.primary_key_position = info.primary_key_position;
      }
    }
    table->columns.push_back(std::move(col));
  }
  if (spec.replica_identity == 'd') {
    // Under the default replica identity the server flags exactly the primary key's columns,
    // as of the change; the catalog may have another key by now, or none.
    std::vector<int> flagged, catalog_key;
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (table->columns[i].replica_key) flagged.push_back(static_cast<int>(i));
      if (table->columns[i].primary_key_position >= 0) catalog_key.push_back(static_cast<int>(i));
    }
    if (flagged != catalog_key) {
      if (!catalog_columns.empty()) {
        WF_LOG_INFO("pg",
                    "table {}: the catalog's primary key differs from the one the server decoded "
                    "this change with; using the server's",
                    qualified);
      }
      for (auto& c : table->columns) c.primary_key_position = -1;
      for (size_t k = 0; k < flagged.size(); ++k) {
        table->columns[flagged[k]].primary_key_position = static_cast<int>(k);
      }
    }
    for (int i : flagged) table->columns[i].optional = false;
  }
  // Debezium's key is the primary key; without one, a replica identity index serves.
  std::vector<std::pair<int, int>> pk;
  for (size_t i = 0; i < table->columns.size(); ++i) {
    if (table->columns[i].primary_key_position >= 0) {
      pk.emplace_back(table->columns[i].primary_key_position, static_cast<int>(i));
    }
  }
  std::sort(pk.begin(), pk.end());
  for (auto& p : pk) table->key_columns.push_back(p.second);
  if (table->key_columns.empty() && spec.replica_identity == 'i') {
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (table->columns[i].replica_key) table->key_columns.push_back(static_cast<int>(i));
    }
  }
  return TableSchemaPtr(std::move(table));
}

}  // namespace walflow::pg
