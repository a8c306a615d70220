#include "format/debezium_reader.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>

#include "format/connect_schema.h"
#include "format/debezium_reader_internal.h"
#include "format/debezium_values.h"
#include "format/json_tree.h"
#include "format/schema_inference.h"
#include "pg/text_codec.h"

namespace walflow::format {

// The message helpers of debezium_reader_internal.h.

std::string Shown(std::string_view text) {
  std::string out = "\"";
  out.append(text.substr(0, 64));
  if (text.size() > 64) out.append("...");
  out.push_back('"');
  return out;
}

std::string Quoted(std::string_view name) {
  std::string out = "\"";
  out.append(name);
  out.push_back('"');
  return out;
}

Status Expected(const char* what, const JsonValue& got) {
  return InvalidArgument(std::string("expected ") + what + ", got " + JsonTypeName(got));
}

namespace {

// An integer member of an event block ("source.lsn"); absent or null leaves *out as is.
Status ReadIntegerField(const JsonValue& block, std::string_view block_name, std::string_view name,
                        int64_t* out) {
  const JsonValue* v = block.Find(name);
  if (v == nullptr || v->is_null()) return Status::OK();
  if (v->type != JsonValue::Type::kNumber || !ParseInt64(v->text, out)) {
    return Expected("an integer", *v)
        .WithContext(std::string(block_name) + "." + std::string(name));
  }
  return Status::OK();
}

bool SameType(const ValueType& a, const ValueType& b) {
  if (a.kind != b.kind || a.type_oid != b.type_oid || a.typmod != b.typmod ||
      a.type_name != b.type_name || a.precision != b.precision || a.scale != b.scale ||
      a.enum_labels != b.enum_labels || (a.element == nullptr) != (b.element == nullptr)) {
    return false;
  }
  return a.element == nullptr || SameType(*a.element, *b.element);
}

bool SameLayout(const TableSchema& a, const TableSchema& b) {
  if (a.replica_identity != b.replica_identity || a.key_columns != b.key_columns ||
      a.columns.size() != b.columns.size()) {
    return false;
  }
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const ColumnSchema& x = a.columns[i];
    const ColumnSchema& y = b.columns[i];
    if (x.name != y.name || x.optional != y.optional || x.replica_key != y.replica_key ||
        x.primary_key_position != y.primary_key_position || !SameType(x.type, y.type)) {
      return false;
    }
  }
  return true;
}

// The table an event belongs to: source.schema and source.table, else the topic.
Status TableName(const JsonValue* source, std::string_view topic, std::string* schema,
                 std::string* table) {
  const JsonValue* s = source != nullptr ? source->Find("schema") : nullptr;
  const JsonValue* t = source != nullptr ? source->Find("table") : nullptr;
  if (s != nullptr && t != nullptr && s->type == JsonValue::Type::kString &&
      t->type == JsonValue::Type::kString) {
    *schema = s->text;
    *table = t->text;
    return Status::OK();
  }
  if (topic.empty()) {
    return InvalidArgument("no source.schema/source.table and no topic to name the table");
  }
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dot = topic.find('.', start);
    parts.push_back(topic.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  *table = parts.back();
  *schema = parts.size() >= 3 ? std::string(parts[parts.size() - 2]) : "public";
  return Status::OK();
}

Status ReadSnapshotMark(const JsonValue* v, SnapshotMark* mark) {
  *mark = SnapshotMark::kNone;
  if (v == nullptr || v->is_null()) return Status::OK();
  if (v->type == JsonValue::Type::kBoolean) {  // Debezium before 1.6
    *mark = v->boolean ? SnapshotMark::kTrue : SnapshotMark::kNone;
    return Status::OK();
  }
  if (v->type != JsonValue::Type::kString) {
    return Expected("a string", *v).WithContext("source.snapshot");
  }
  const std::string& t = v->text;
  if (t == "true" || t == "first_in_data_collection" || t == "last_in_data_collection") {
    *mark = SnapshotMark::kTrue;
  } else if (t == "first") {
    *mark = SnapshotMark::kFirst;
  } else if (t == "last") {
    *mark = SnapshotMark::kLast;
  } else if (t == "incremental") {
    *mark = SnapshotMark::kIncremental;
  } else if (t != "false") {
    return InvalidArgument("unknown source.snapshot " + Quoted(t));
  }
  return Status::OK();
}

// The first element of source.sequence ("[\"<last commit lsn>\",\"<lsn>\"]"), if a number.
std::optional<uint64_t> SequenceCommitLsn(const JsonValue* sequence) {
  if (sequence == nullptr || sequence->type != JsonValue::Type::kString) return std::nullopt;
  Result<JsonValue> parsed = ParseJson(sequence->text, "source.sequence");
  if (!parsed.ok() || parsed->type != JsonValue::Type::kArray || parsed->items.empty()) {
    return std::nullopt;
  }
  const JsonValue& first = parsed->items[0];
  uint64_t lsn;
  if ((first.type == JsonValue::Type::kString || first.type == JsonValue::Type::kNumber) &&
      ParseUint64(first.text, &lsn)) {
    return lsn;
  }
  return std::nullopt;
}

// Debezium's other record kinds on change topics: heartbeats ({"ts_ms":...}), transaction
// metadata ({"status":"BEGIN","id":...}) and schema changes ({"ddl":...,"tableChanges":...}).
bool IsNotARowChange(const JsonValue& envelope, const JsonValue* schema) {
  const JsonValue* name = schema != nullptr ? schema->Find("name") : nullptr;
  if (name != nullptr && name->type == JsonValue::Type::kString) {
    const std::string& n = name->text;
    if (n.ends_with(".Heartbeat") || n.ends_with("TransactionMetadataValue") ||
        n.ends_with("SchemaChangeValue")) {
      return true;
    }
  }
  if (envelope.keys.size() == 1 && envelope.keys[0] == "ts_ms") return true;
  if (envelope.Find("status") != nullptr && envelope.Find("id") != nullptr) return true;
  return envelope.Find("ddl") != nullptr || envelope.Find("tableChanges") != nullptr;
}

// The "before" or "after" row object, or nullptr when absent or null.
Status RowImage(const JsonValue& envelope, const char* name, const JsonValue** row) {
  const JsonValue* v = envelope.Find(name);
  *row = v != nullptr && !v->is_null() ? v : nullptr;
  if (*row != nullptr && v->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("field \"") + name + "\" is a JSON " + JsonTypeName(*v) +
                           ", not an object");
  }
  return Status::OK();
}

// The field names of the record key's payload, in order; none for a null key.
Status KeyFieldNames(std::string_view key, std::vector<std::string>* names) {
  if (key.empty()) return Status::OK();
  WF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(key, "key"));
  const JsonValue* payload = &root;
  if (root.Find("schema") != nullptr && root.Find("payload") != nullptr) {
    payload = root.Find("payload");
  }
  if (payload->is_null()) return Status::OK();
  if (payload->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("key is a JSON ") + JsonTypeName(*payload) +
                           ", not an object");
  }
  *names = payload->keys;
  return Status::OK();
}

}  // namespace

DebeziumReader::DebeziumReader(DebeziumReaderOptions options) : options_(std::move(options)) {
  pg::AppendBase64(options_.unavailable_value_placeholder, &placeholder_base64_);
}

TableSchemaPtr DebeziumReader::Intern(TableState* state, TableSchema layout) {
  if (state->schema != nullptr && SameLayout(*state->schema, layout)) return state->schema;
  layout.relid = state->relid;
  layout.version = ++last_version_;
  state->schema = std::make_shared<const TableSchema>(std::move(layout));
  return state->schema;
}

namespace {

// Reads one row image into datums whose text is appended to `text`.
Status ReadRow(const JsonValue& row, const char* image, const TableSchema& layout,
               const std::string& placeholder, const std::string& placeholder_base64,
               std::string* text, std::vector<Datum>* datums) {
  const std::vector<ColumnSchema>& columns = layout.columns;
  datums->assign(columns.size(), Datum());
  std::vector<bool> seen(columns.size(), false);
  std::unordered_map<std::string_view, size_t> index;  // built on the first out-of-place field
  for (size_t i = 0; i < row.keys.size(); ++i) {
    const std::string& name = row.keys[i];
    size_t c = i;
    if (c >= columns.size() || columns[c].name != name) {
      if (index.empty()) {
        for (size_t k = 0; k < columns.size(); ++k) index.emplace(columns[k].name, k);
      }
      auto it = index.find(name);
      if (it == index.end()) {
        return InvalidArgument("field " + Quoted(name) + " of \"" + image +
                               "\" is not in the value schema");
      }
      c = it->second;
    }
    if (seen[c]) {
      return InvalidArgument("field " + Quoted(name) + " appears twice in \"" + image + "\"");
    }
    seen[c] = true;
    const JsonValue& v = row.items[i];
    Datum& d = (*datums)[c];
    if (v.is_null()) continue;
    if (IsPlaceholder(columns[c].type, v, placeholder, placeholder_base64)) {
      d.kind = Datum::Kind::kUnchangedToast;
      continue;
    }
    const size_t offset = text->size();
    Status s = AppendValueText(columns[c].type, v, text);
    if (!s.ok()) {
      return s.WithContext("table " + layout.QualifiedName() + ", " + image + " image, column " +
                           Quoted(name));
    }
    d.kind = Datum::Kind::kText;
    d.offset = static_cast<uint32_t>(offset);
    d.length = static_cast<uint32_t>(text->size() - offset);
  }
  return Status::OK();
}

}  // namespace

Status DebeziumReader::Append(std::string_view topic, std::string_view key, std::string_view value,
                              ChangeBatch* batch, bool* added) {
  *added = false;
  if (value.empty()) return Status::OK();  // tombstone
  WF_ASSIGN_OR_RETURN(JsonValue root, ParseJson(value, "value"));
  if (root.is_null()) return Status::OK();
  if (root.type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("value is a JSON ") + JsonTypeName(root) +
                           ", not an object");
  }

  // Kafka Connect's JsonConverter wraps the event as {"schema":...,"payload":...}.
  const JsonValue* envelope = &root;
  const JsonValue* schema = nullptr;
  if (root.Find("schema") != nullptr && root.Find("payload") != nullptr) {
    envelope = root.Find("payload");
    schema = root.Find("schema");
    if (schema->is_null()) {
      schema = nullptr;
    } else if (schema->type != JsonValue::Type::kObject) {
      return InvalidArgument(std::string("\"schema\" is a JSON ") + JsonTypeName(*schema) +
                             ", not an object");
    }
    if (envelope->is_null()) return Status::OK();
    if (envelope->type != JsonValue::Type::kObject) {
      return InvalidArgument(std::string("\"payload\" is a JSON ") + JsonTypeName(*envelope) +
                             ", not an object");
    }
  }

  const JsonValue* op_value = envelope->Find("op");
  if (op_value == nullptr) {
    if (IsNotARowChange(*envelope, schema)) return Status::OK();
    return InvalidArgument("no \"op\" field: not a Debezium change event");
  }
  if (op_value->type != JsonValue::Type::kString) {
    return Expected("a string", *op_value).WithContext("field \"op\"");
  }
  ChangeOp op;
  const std::string& op_text = op_value->text;
  if (op_text == "c") {
    op = ChangeOp::kCreate;
  } else if (op_text == "u") {
    op = ChangeOp::kUpdate;
  } else if (op_text == "d") {
    op = ChangeOp::kDelete;
  } else if (op_text == "r") {
    op = ChangeOp::kRead;
  } else if (op_text == "t") {
    op = ChangeOp::kTruncate;
  } else if (op_text == "m") {
    return Status::OK();  // a logical decoding message (pg_logical_emit_message), not a row
  } else {
    return InvalidArgument("unknown op " + Quoted(op_text));
  }

  // Source block.
  const JsonValue* source = envelope->Find("source");
  if (source != nullptr && source->is_null()) source = nullptr;
  if (source != nullptr && source->type != JsonValue::Type::kObject) {
    return InvalidArgument(std::string("field \"source\" is a JSON ") + JsonTypeName(*source) +
                           ", not an object");
  }
  TableSchema layout;
  WF_RETURN_IF_ERROR(TableName(source, topic, &layout.schema, &layout.name));
  int64_t lsn = 0, txid = 0, ts_us = 0, ts_ms = 0;
  SnapshotMark snapshot = SnapshotMark::kNone;
  std::optional<uint64_t> commit_lsn;
  if (source != nullptr) {
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "lsn", &lsn));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "txId", &txid));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "ts_ms", &ts_ms));
    WF_RETURN_IF_ERROR(ReadIntegerField(*source, "source", "ts_us", &ts_us));
    WF_RETURN_IF_ERROR(ReadSnapshotMark(source->Find("snapshot"), &snapshot));
    commit_lsn = SequenceCommitLsn(source->Find("sequence"));
    if (lsn < 0) return InvalidArgument("source.lsn " + std::to_string(lsn) + " is negative");
  }
  const JsonValue* ts_us_value = source != nullptr ? source->Find("ts_us") : nullptr;
  const bool has_ts_us = ts_us_value != nullptr && !ts_us_value->is_null();
  // Events carry ts_ns = ts_us * 1000 too: keep that representable (years ±292).
  constexpr int64_t kMaxMicros = std::numeric_limits<int64_t>::max() / 1000;
  if ((has_ts_us && (ts_us > kMaxMicros || ts_us < -kMaxMicros)) ||
      (!has_ts_us && (ts_ms > kMaxMicros / 1000 || ts_ms < -kMaxMicros / 1000))) {
    return InvalidArgument(std::string("source.") + (has_ts_us ? "ts_us " : "ts_ms ") +
                           std::to_string(has_ts_us ? ts_us : ts_ms) +
                           " is out of range for a timestamp");
  }
  const int64_t commit_time_us = has_ts_us ? ts_us : ts_ms * 1000;
  int64_t total_order = 0;
  const JsonValue* transaction = envelope->Find("transaction");
  if (transaction != nullptr && transaction->type == JsonValue::Type::kObject) {
    WF_RETURN_IF_ERROR(ReadIntegerField(*transaction, "transaction", "total_order", &total_order));
  }

  // Row images.
  const JsonValue* before;
  const JsonValue* after;
  WF_RETURN_IF_ERROR(RowImage(*envelope, "before", &before));
  WF_RETURN_IF_ERROR(RowImage(*envelope, "after", &after));
  if (op == ChangeOp::kTruncate) before = after = nullptr;
  if (after == nullptr &&
      (op == ChangeOp::kCreate || op == ChangeOp::kRead || op == ChangeOp::kUpdate)) {
    return InvalidArgument("field \"after\" missing for op " + op_text);
  }
  if (before == nullptr && op == ChangeOp::kDelete) {
    return InvalidArgument("field \"before\" missing for op d");
  }

  // Layout: from the schema, inferred, or (a truncate without one) the table's last.
  auto state = tables_.find({layout.schema, layout.name});
  const TableSchema* cached = state != tables_.end() ? state->second.schema.get() : nullptr;
  const bool reuse_cached = before == nullptr && after == nullptr && cached != nullptr;
  if (!reuse_cached) {
    if (schema != nullptr) {
      WF_RETURN_IF_ERROR(ColumnsFromSchema(*schema, &layout.columns));
    } else {
      Status s = InferColumns(before, after, cached, &layout.columns);
      if (!s.ok()) return s.WithContext("table " + layout.QualifiedName());
    }
    std::vector<std::string> key_names;
    WF_RETURN_IF_ERROR(KeyFieldNames(key, &key_names));
    for (size_t k = 0; k < key_names.size(); ++k) {
      auto col = std::find_if(layout.columns.begin(), layout.columns.end(),
                              [&](const ColumnSchema& c) { return c.name == key_names[k]; });
      if (col == layout.columns.end()) {
        return InvalidArgument("key field " + Quoted(key_names[k]) + " is not a column of " +
                               layout.QualifiedName());
      }
      if (col->primary_key_position >= 0) {
        return InvalidArgument("key field " + Quoted(key_names[k]) + " appears twice");
      }
      col->primary_key_position = static_cast<int>(k);
      col->replica_key = true;
      layout.key_columns.push_back(static_cast<int>(col - layout.columns.begin()));
    }
  }

  // Values, all read before anything is appended.
  const TableSchema& read_layout = reuse_cached ? *cached : layout;
  text_.clear();
  const std::string& placeholder = options_.unavailable_value_placeholder;
  if (before != nullptr) {
    WF_RETURN_IF_ERROR(ReadRow(*before, "before", read_layout, placeholder, placeholder_base64_,
                               &text_, &before_));
  }
  if (after != nullptr) {
    WF_RETURN_IF_ERROR(
        ReadRow(*after, "after", read_layout, placeholder, placeholder_base64_, &text_, &after_));
  }

  // Commit: schema, change, rows.
  if (state == tables_.end()) {
    state = tables_.emplace(std::pair{layout.schema, layout.name}, TableState{}).first;
    state->second.relid = Oid(++last_relid_);
  }
  TableSchemaPtr table = reuse_cached ? state->second.schema : Intern(&state->second, layout);
  batch->Retain(table);
  auto append_row = [&](const std::vector<Datum>& datums) {
    int32_t first = batch->AddRow(datums.size());
    for (size_t i = 0; i < datums.size(); ++i) {
      const Datum& d = datums[i];
      const int32_t index = first + static_cast<int32_t>(i);
      if (d.kind == Datum::Kind::kText) {
        batch->SetText(index, std::string_view(text_).substr(d.offset, d.length));
      } else {
        batch->DatumAt(index).kind = d.kind;
      }
    }
    return first;
  };
  const int32_t before_row = before != nullptr ? append_row(before_) : -1;
  const int32_t after_row = after != nullptr ? append_row(after_) : -1;
  Change& change = batch->AddChange();
  change.op = op;
  change.snapshot = snapshot;
  change.table = table.get();
  change.before = before_row;
  change.after = after_row;
  change.lsn = Lsn(static_cast<uint64_t>(lsn));
  change.commit_lsn = Lsn(commit_lsn.value_or(static_cast<uint64_t>(lsn)));
  change.seq = total_order > 0 && total_order <= std::numeric_limits<uint32_t>::max()
                   ? static_cast<uint32_t>(total_order)
                   : 0;
  change.xid = Xid(static_cast<uint32_t>(static_cast<uint64_t>(txid) & 0xffffffffu));
  change.commit_time_us = commit_time_us;
  *added = true;
  return Status::OK();
}

}  // namespace walflow::format
