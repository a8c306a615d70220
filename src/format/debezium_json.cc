#include "format/debezium_json.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "format/json_writer.h"

namespace walflow::format {

const char* const kWalflowVersion = "0.1.0-walflow";

namespace {

const char* SnapshotText(const Change& change) {
  switch (change.snapshot) {
    case SnapshotMark::kFirst: return "first";
    case SnapshotMark::kLast: return "last";
    case SnapshotMark::kTrue: return "true";
    case SnapshotMark::kIncremental: return "incremental";
    case SnapshotMark::kNone: break;
  }
  return change.op == ChangeOp::kRead ? "true" : "false";
}

bool IsSpecialNumber(std::string_view t) {
  return t == "NaN" || t == "Infinity" || t == "-Infinity";
}

bool LooksLikeInteger(std::string_view t) {
  if (t.empty()) return false;
  size_t i = t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  return true;
}

// A float's text form is valid JSON as PostgreSQL prints it ("1.5", "-2e-05", "1e+20"),
// except for the special values, which Jackson writes quoted.
bool LooksLikeJsonNumber(std::string_view t) {
  if (t.empty()) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
      return false;
    }
  }
  return t[0] != '.' && t[0] != '+';
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Kafka Connect type and Debezium semantic name of the kinds that carry one and nothing else.
struct SemanticType {
  const char* connect_type;
  const char* name;
};

const SemanticType& SemanticTypeOf(ValueKind kind) {
  static const SemanticType kDate{"int32", "io.debezium.time.Date"};
  static const SemanticType kTimeMillis{"int32", "io.debezium.time.Time"};
  static const SemanticType kTimeMicros{"int64", "io.debezium.time.MicroTime"};
  static const SemanticType kZonedTime{"string", "io.debezium.time.ZonedTime"};
  static const SemanticType kTimestampMillis{"int64", "io.debezium.time.Timestamp"};
  static const SemanticType kTimestampMicros{"int64", "io.debezium.time.MicroTimestamp"};
  static const SemanticType kZonedTimestamp{"string", "io.debezium.time.ZonedTimestamp"};
  static const SemanticType kInterval{"int64", "io.debezium.time.MicroDuration"};
  static const SemanticType kUuid{"string", "io.debezium.data.Uuid"};
  static const SemanticType kJson{"string", "io.debezium.data.Json"};
  static const SemanticType kXml{"string", "io.debezium.data.Xml"};
  switch (kind) {
    case ValueKind::kDate: return kDate;
    case ValueKind::kTimeMillis: return kTimeMillis;
    case ValueKind::kTimeMicros: return kTimeMicros;
    case ValueKind::kZonedTime: return kZonedTime;
    case ValueKind::kTimestampMillis: return kTimestampMillis;
    case ValueKind::kTimestampMicros: return kTimestampMicros;
    case ValueKind::kZonedTimestamp: return kZonedTimestamp;
    case ValueKind::kInterval: return kInterval;
    case ValueKind::kUuid: return kUuid;
    case ValueKind::kJson: return kJson;
    default: return kXml;
  }
}

void AppendSchemaName(const char* name, std::string* out) {
  out->append(",\"name\":\"");
  out->append(name);
  out->append("\",\"version\":1");
}

}  // namespace

DebeziumJsonEncoder::DebeziumJsonEncoder(DebeziumOptions options) : options_(std::move(options)) {}

void DebeziumJsonEncoder::AppendFieldSchema(const ValueType& type, bool optional,
                                            const std::string* field, std::string* out) const {
  auto open = [&](const char* t) {
    out->append("{\"type\":\"");
    out->append(t);
    out->append("\",\"optional\":");
    out->append(optional ? "true" : "false");
  };
  switch (type.kind) {
    case ValueKind::kBoolean: open("boolean"); break;
    case ValueKind::kInt16: open("int16"); break;
    case ValueKind::kInt32: open("int32"); break;
    case ValueKind::kInt64: open("int64"); break;
    case ValueKind::kFloat32: open("float"); break;
    case ValueKind::kFloat64: open("double"); break;
    case ValueKind::kDecimal:
      switch (options_.decimal_handling) {
        case DecimalHandling::kString: open("string"); break;
        case DecimalHandling::kDouble: open("double"); break;
        case DecimalHandling::kPrecise:
          if (type.scale >= 0) {
            open("bytes");
            AppendSchemaName("org.apache.kafka.connect.data.Decimal", out);
            out->append(",\"parameters\":{\"scale\":\"" + std::to_string(type.scale) +
                        "\",\"connect.decimal.precision\":\"" + std::to_string(type.precision) +
                        "\"}");
          } else {
            out->append(
                "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
                "\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":"
                "\"value\"}],\"optional\":");
            out->append(optional ? "true" : "false");
            AppendSchemaName("io.debezium.data.VariableScaleDecimal", out);
            out->append(",\"doc\":\"Variable scaled decimal\"");
          }
          break;
      }
      break;
    case ValueKind::kString:
    case ValueKind::kText: open("string"); break;
    case ValueKind::kBytes: open("bytes"); break;
    case ValueKind::kDate:
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kZonedTime:
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kZonedTimestamp:
    case ValueKind::kInterval:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kXml: {
      const SemanticType& st = SemanticTypeOf(type.kind);
      open(st.connect_type);
      AppendSchemaName(st.name, out);
      break;
    }
    case ValueKind::kEnum: {
      open("string");
      AppendSchemaName("io.debezium.data.Enum", out);
      std::string allowed;
      for (size_t i = 0; i < type.enum_labels.size(); ++i) {
        if (i) allowed.push_back(',');
        allowed += type.enum_labels[i];
      }
      out->append(",\"parameters\":{\"allowed\":");
      AppendJsonString(allowed, out);
      out->push_back('}');
      break;
    }
    case ValueKind::kArray:
      // JsonConverter's order for arrays: type, items, optional.
      out->append("{\"type\":\"array\",\"items\":");
      AppendFieldSchema(*type.element, true, nullptr, out);
      out->append(",\"optional\":");
      out->append(optional ? "true" : "false");
      break;
  }
  if (field != nullptr) {
    out->append(",\"field\":");
    AppendJsonString(*field, out);
  }
  out->push_back('}');
}

DebeziumJsonEncoder::TableCache& DebeziumJsonEncoder::CacheFor(const TableSchema& table) {
  TableCache& c = cache_[table.serial];
  if (c.version == table.version && !c.field_keys.empty()) return c;
  c = TableCache();
  c.version = table.version;
  for (const ColumnSchema& col : table.columns) {
    std::string key;
    AppendJsonString(col.name, &key);
    key.push_back(':');
    c.field_keys.push_back(std::move(key));
  }

  // source: everything up to "ts_ms" is constant for a table.
  // The other constant runs of the source block: db, and schema/table up to "txId".
  c.source_db = "\",\"db\":";
  AppendJsonString(options_.database, &c.source_db);
  c.source_table = ",\"schema\":";
  AppendJsonString(table.schema, &c.source_table);
  c.source_table += ",\"table\":";
  AppendJsonString(table.name, &c.source_table);
  c.source_table += ",\"txId\":";
  std::string& s = c.source_prefix;
  s.append("{\"version\":\"");
  s.append(kWalflowVersion);
  s.append("\",\"connector\":\"postgresql\",\"name\":");
  AppendJsonString(options_.server_name, &s);
  s.append(",\"ts_ms\":");

  if (options_.schemas) {
    const std::string prefix = options_.server_name + "." + table.schema + "." + table.name;
    std::string row;
    row.append("{\"type\":\"struct\",\"fields\":[");
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (i) row.push_back(',');
      AppendFieldSchema(table.columns[i].type, table.columns[i].optional, &table.columns[i].name,
                        &row);
    }
    row.append("],\"optional\":true,\"name\":");
    AppendJsonString(prefix + ".Value", &row);
    std::string& v = c.value_schema_prefix;
    v.append("{\"schema\":{\"type\":\"struct\",\"fields\":[");
    v.append(row).append(",\"field\":\"before\"},");
    v.append(row).append(",\"field\":\"after\"},");
    v.append(
        "{\"type\":\"struct\",\"fields\":["
        "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
        "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
        "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_"
        "collection,last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
        "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}],"
        "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\","
        "\"field\":\"source\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
        "{\"type\":\"struct\",\"fields\":["
        "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
        "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}"
        "],\"optional\":false,\"name\":");
    AppendJsonString(prefix + ".Envelope", &v);
    v.append(",\"version\":1},\"payload\":");

    std::string& k = c.key_schema_prefix;
    k.append("{\"schema\":{\"type\":\"struct\",\"fields\":[");
    for (size_t i = 0; i < table.key_columns.size(); ++i) {
      if (i) k.push_back(',');
      const ColumnSchema& col = table.columns[table.key_columns[i]];
      AppendFieldSchema(col.type, false, &col.name, &k);
    }
    k.append("],\"optional\":false,\"name\":");
    AppendJsonString(prefix + ".Key", &k);
    k.append("},\"payload\":");
  }
  return c;
}

bool DebeziumJsonEncoder::AppendTyped(const ValueType& type, std::string_view text,
                                      std::string* out) {
  switch (type.kind) {
    case ValueKind::kBoolean: {
      bool b;
      if (!pg::ParseBool(text, &b)) return false;
      out->append(b ? "true" : "false");
      return true;
    }
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64:
      if (!LooksLikeInteger(text)) return false;
      out->append(text);
      return true;
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
      if (IsSpecialNumber(text)) {
        AppendJsonString(text, out);
        return true;
      }
      if (!LooksLikeJsonNumber(text)) return false;
      out->append(text);
      return true;
    case ValueKind::kDecimal:
      switch (options_.decimal_handling) {
        case DecimalHandling::kString: AppendJsonString(text, out); return true;
        case DecimalHandling::kDouble: {
          if (IsSpecialNumber(text)) {
            AppendJsonString(text, out);
            return true;
          }
          scratch_.assign(text);
          char* end = nullptr;
          errno = 0;
          double d = std::strtod(scratch_.c_str(), &end);
          if (end != scratch_.c_str() + scratch_.size()) return false;
          AppendDouble(d, out);
          return true;
        }
        case DecimalHandling::kPrecise: {
          // NaN and the infinities have no unscaled-integer form; Debezium writes null.
          if (IsSpecialNumber(text)) {
            out->append("null");
            return true;
          }
          int32_t scale;
          if (!pg::DecimalToUnscaled(text, &scratch_, &scale)) return false;
          if (type.scale >= 0) {
            if (scale != type.scale) return false;
            out->push_back('"');
            pg::AppendBase64(scratch_, out);
            out->push_back('"');
          } else {
            out->append("{\"scale\":");
            AppendInt(scale, out);
            out->append(",\"value\":\"");
            pg::AppendBase64(scratch_, out);
            out->append("\"}");
          }
          return true;
        }
      }
      return false;
    case ValueKind::kString:
    case ValueKind::kText:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kXml:
    case ValueKind::kEnum: AppendJsonString(text, out); return true;
    case ValueKind::kBytes:
      if (!pg::DecodeBytea(text, &scratch_)) return false;
      out->push_back('"');
      pg::AppendBase64(scratch_, out);
      out->push_back('"');
      return true;
    case ValueKind::kDate: {
      switch (pg::ParseInfinity(text)) {
        case pg::Infinity::kPositive:
          AppendInt(std::numeric_limits<int32_t>::max(), out);
          return true;
        case pg::Infinity::kNegative:
          AppendInt(std::numeric_limits<int32_t>::min(), out);
          return true;
        case pg::Infinity::kNone: break;
      }
      int32_t days;
      if (!pg::ParseDate(text, &days)) return false;
      AppendInt(days, out);
      return true;
    }
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros: {
      int64_t us;
      if (!pg::ParseTime(text, &us)) return false;
      AppendInt(type.kind == ValueKind::kTimeMillis ? us / 1000 : us, out);
      return true;
    }
    case ValueKind::kZonedTime: {
      int64_t us;
      if (!pg::ParseTimeTz(text, &us)) return false;
      out->push_back('"');
      pg::AppendIsoTimeUtc(us, out);
      out->push_back('"');
      return true;
    }
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros: {
      switch (pg::ParseInfinity(text)) {
        case pg::Infinity::kPositive:
          AppendInt(std::numeric_limits<int64_t>::max(), out);
          return true;
        case pg::Infinity::kNegative:
          AppendInt(std::numeric_limits<int64_t>::min(), out);
          return true;
        case pg::Infinity::kNone: break;
      }
      int64_t us;
      if (!pg::ParseTimestamp(text, &us)) return false;
      AppendInt(type.kind == ValueKind::kTimestampMillis ? FloorDiv(us, 1000) : us, out);
      return true;
    }
    case ValueKind::kZonedTimestamp: {
      if (pg::ParseInfinity(text) != pg::Infinity::kNone) {
        AppendJsonString(text, out);
        return true;
      }
      int64_t days, micros_of_day;
      if (!pg::ParseTimestampParts(text, &days, &micros_of_day)) return false;
      out->push_back('"');
      pg::AppendIsoTimestampUtc(days, micros_of_day, out);
      out->push_back('"');
      return true;
    }
    case ValueKind::kInterval: {
      int64_t us;
      if (!pg::ParseInterval(text, &us)) return false;
      AppendInt(us, out);
      return true;
    }
    case ValueKind::kArray: {
      // Multi-dimensional arrays keep their PostgreSQL text form (documented).
      std::vector<pg::ArrayElement> elements;
      std::string scratch;
      elements.swap(elements_);
      scratch.swap(array_scratch_);
      bool ok = true;
      if (!pg::ParseArray(text, &elements, &scratch,
                          pg::ArrayDelimiter(type.element->type_oid.value))) {
        AppendJsonString(text, out);
      } else {
        out->push_back('[');
        for (size_t i = 0; i < elements.size() && ok; ++i) {
          if (i) out->push_back(',');
          if (elements[i].is_null) {
            out->append("null");
          } else {
            ok = AppendTyped(*type.element, elements[i].text, out);
          }
        }
        out->push_back(']');
      }
      elements.swap(elements_);
      scratch.swap(array_scratch_);
      return ok;
    }
  }
  return false;
}

void DebeziumJsonEncoder::AppendPlaceholder(const ValueType& type, std::string* out) {
  const std::string& p = options_.unavailable_value_placeholder;
  switch (type.kind) {
    case ValueKind::kBytes:
      out->push_back('"');
      pg::AppendBase64(p, out);
      out->push_back('"');
      return;
    case ValueKind::kDecimal:
      if (options_.decimal_handling == DecimalHandling::kString) {
        AppendJsonString(p, out);
      } else if (options_.decimal_handling == DecimalHandling::kPrecise && type.scale >= 0) {
        out->push_back('"');
        pg::AppendBase64(p, out);
        out->push_back('"');
      } else {
        out->append("null");
      }
      return;
    case ValueKind::kArray:
      out->push_back('[');
      AppendPlaceholder(*type.element, out);
      out->push_back(']');
      return;
    case ValueKind::kString:
    case ValueKind::kText:
    case ValueKind::kUuid:
    case ValueKind::kJson:
    case ValueKind::kXml:
    case ValueKind::kEnum:
    case ValueKind::kZonedTime:
    case ValueKind::kZonedTimestamp: AppendJsonString(p, out); return;
    case ValueKind::kBoolean:
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64:
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
    case ValueKind::kDate:
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kInterval:
      // Fixed-size types are never stored out of line, so PostgreSQL always sends them.
      out->append("null");
      return;
  }
}

Status DebeziumJsonEncoder::AppendDatum(const ChangeBatch& batch, const ColumnSchema& column,
                                        const Datum& datum, const TableSchema& table,
                                        std::string* out) {
  switch (datum.kind) {
    case Datum::Kind::kNull: out->append("null"); return Status::OK();
    case Datum::Kind::kUnchangedToast: AppendPlaceholder(column.type, out); return Status::OK();
    case Datum::Kind::kText: {
      std::string_view text = batch.Text(datum);
      if (AppendTyped(column.type, text, out)) return Status::OK();
      std::string shown(text.substr(0, 64));
      if (text.size() > 64) shown += "...";
      return InvalidArgument("table " + table.QualifiedName() + ", column " + column.name + " (" +
                             column.type.type_name + "): cannot read value '" + shown + "' as " +
                             ValueKindName(column.type.kind));
    }
  }
  return Internal("unknown datum kind");
}

Status DebeziumJsonEncoder::AppendRow(const ChangeBatch& batch, const TableSchema& table,
                                      const TableCache& cache, int32_t first, std::string* out) {
  if (first < 0) {
    out->append("null");
    return Status::OK();
  }
  const Datum* row = batch.Row(first);
  out->push_back('{');
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i) out->push_back(',');
    out->append(cache.field_keys[i]);
    WF_RETURN_IF_ERROR(AppendDatum(batch, table.columns[i], row[i], table, out));
  }
  out->push_back('}');
  return Status::OK();
}

void DebeziumJsonEncoder::AppendSourceAndTimes(const Change& change, const TableCache& cache,
                                               std::string* out) const {
  out->append(",\"source\":");
  out->append(cache.source_prefix);
  AppendInt(change.commit_time_us / 1000, out);
  out->append(",\"snapshot\":\"");
  out->append(SnapshotText(change));
  out->append(cache.source_db);
  if (change.op == ChangeOp::kRead) {
    // A snapshot row has no commit of its own: Debezium leaves the first element null.
    out->append(",\"sequence\":\"[null,\\\"");
  } else {
    out->append(",\"sequence\":\"[\\\"");
    AppendInt(static_cast<int64_t>(change.commit_lsn.value), out);
    out->append("\\\",\\\"");
  }
  AppendInt(static_cast<int64_t>(change.lsn.value), out);
  out->append("\\\"]\",\"ts_us\":");
  AppendInt(change.commit_time_us, out);
  out->append(",\"ts_ns\":");
  int64_t commit_time_ns;  // saturates past the years ±292 (only from a Kafka source)
  if (__builtin_mul_overflow(change.commit_time_us, int64_t{1000}, &commit_time_ns)) {
    commit_time_ns = change.commit_time_us < 0 ? std::numeric_limits<int64_t>::min()
                                               : std::numeric_limits<int64_t>::max();
  }
  AppendInt(commit_time_ns, out);
  out->append(cache.source_table);
  AppendInt(change.xid.value, out);
  out->append(",\"lsn\":");
  AppendInt(static_cast<int64_t>(change.lsn.value), out);
  out->append(",\"xmin\":null},\"op\":\"");
  out->push_back(static_cast<char>(change.op));
  out->append("\",\"ts_ms\":");
  AppendInt(now_us_ / 1000, out);
  out->append(",\"ts_us\":");
  AppendInt(now_us_, out);
  out->append(",\"ts_ns\":");
  AppendInt(now_us_ * 1000, out);
}

Status DebeziumJsonEncoder::AppendValue(const ChangeBatch& batch, const Change& change,
                                        std::string* out) {
  const TableSchema& table = *change.table;
  TableCache& cache = CacheFor(table);
  const size_t rollback = out->size();
  if (options_.schemas) out->append(cache.value_schema_prefix);
  out->append("{\"before\":");
  Status s = AppendRow(batch, table, cache, change.before, out);
  if (s.ok()) {
    out->append(",\"after\":");
    s = AppendRow(batch, table, cache, change.after, out);
  }
  if (!s.ok()) {
    out->resize(rollback);
    return s;
  }
  if (change.op == ChangeOp::kRead) {
    // Every row of a snapshot chunk shares its source block and timestamps: render
    // them once per chunk.
    const ReadTailKey key{table.version, change.snapshot,  change.commit_time_us,
                          change.lsn,    change.xid.value, now_us_};
    if (!(key == read_tail_key_)) {
      read_tail_.clear();
      AppendSourceAndTimes(change, cache, &read_tail_);
      read_tail_key_ = key;
    }
    out->append(read_tail_);
  } else {
    AppendSourceAndTimes(change, cache, out);
  }
  out->append(",\"transaction\":");
  if (options_.transaction_metadata && change.op != ChangeOp::kRead) {
    if (change.commit_lsn != tx_commit_lsn_ || change.xid.value != tx_xid_) {
      tx_commit_lsn_ = change.commit_lsn;
      tx_xid_ = change.xid.value;
      tx_table_order_.clear();
    }
    out->append("{\"id\":\"");
    AppendInt(change.xid.value, out);
    out->push_back(':');
    AppendInt(static_cast<int64_t>(change.commit_lsn.value), out);
    out->append("\",\"total_order\":");
    AppendInt(change.seq, out);
    out->append(",\"data_collection_order\":");
    AppendInt(static_cast<int64_t>(++tx_table_order_[table.relid]), out);
    out->push_back('}');
  } else {
    out->append("null");
  }
  out->push_back('}');
  if (options_.schemas) out->push_back('}');
  return Status::OK();
}

Status DebeziumJsonEncoder::AppendKey(const ChangeBatch& batch, const Change& change,
                                      std::string* out) {
  const TableSchema& table = *change.table;
  if (table.key_columns.empty()) {
    out->append("null");
    return Status::OK();
  }
  TableCache& cache = CacheFor(table);
  int32_t first = change.after >= 0 ? change.after : change.before;
  if (first < 0) {
    out->append("null");
    return Status::OK();
  }
  const size_t rollback = out->size();
  if (options_.schemas) out->append(cache.key_schema_prefix);
  out->push_back('{');
  const Datum* row = batch.Row(first);
  for (size_t i = 0; i < table.key_columns.size(); ++i) {
    int c = table.key_columns[i];
    if (i) out->push_back(',');
    out->append(cache.field_keys[c]);
    Status s = AppendDatum(batch, table.columns[c], row[c], table, out);
    if (!s.ok()) {
      out->resize(rollback);
      return s;
    }
  }
  out->push_back('}');
  if (options_.schemas) out->push_back('}');
  return Status::OK();
}

}  // namespace walflow::format
