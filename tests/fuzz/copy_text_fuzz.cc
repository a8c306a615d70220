// Fuzz target for the snapshot path's parser of server bytes: COPY text rows
// (pg::CopyTextDecoder), the row keys built from them, and the Debezium encoder that turns
// them into op "r" events. Input: [ncols][column types][lines separated by '\n'].
//
// Beyond not crashing it checks the decoder's contract: a row either adds exactly `ncols`
// datums or fails with kDataLoss and adds none, and what it decoded, written back as COPY
// TO writes it, decodes to the same values.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/debezium_json.h"
#include "pg/copy_text.h"
#include "pg/table_reader.h"

namespace {

using namespace walflow;

constexpr size_t kMaxColumns = 8;

ValueType Type(ValueKind kind, const char* name, uint32_t oid) {
  ValueType t;
  t.kind = kind;
  t.type_name = name;
  t.type_oid = Oid(oid);
  return t;
}

// Column types the second input byte picks from.
std::vector<ValueType> ColumnTypes() {
  std::vector<ValueType> types = {
      Type(ValueKind::kString, "text", 25),  Type(ValueKind::kInt32, "int4", 23),
      Type(ValueKind::kInt64, "int8", 20),   Type(ValueKind::kDecimal, "numeric", 1700),
      Type(ValueKind::kBytes, "bytea", 17),  Type(ValueKind::kZonedTimestamp, "timestamptz", 1184),
      Type(ValueKind::kDate, "date", 1082),  Type(ValueKind::kInterval, "interval", 1186),
      Type(ValueKind::kBoolean, "bool", 16), Type(ValueKind::kFloat64, "float8", 701),
      Type(ValueKind::kUuid, "uuid", 2950),  Type(ValueKind::kArray, "_text", 1009),
  };
  types[3].precision = 10;
  types[3].scale = 2;
  types.back().element = std::make_shared<ValueType>(types[0]);
  return types;
}

// What PostgreSQL's COPY TO writes for a text value (CopyAttributeOutText).
void CopyOutEscape(std::string_view value, std::string* out) {
  for (char c : value) {
    switch (c) {
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\v': out->append("\\v"); break;
      case '\\': out->append("\\\\"); break;
      default: out->push_back(c);
    }
  }
}

using Row = std::vector<std::optional<std::string>>;

Row RowOf(const ChangeBatch& batch, int32_t first, size_t ncols) {
  Row row;
  const Datum* d = batch.Row(first);
  for (size_t i = 0; i < ncols; ++i) {
    if (d[i].kind == Datum::Kind::kNull) {
      row.emplace_back(std::nullopt);
    } else {
      row.emplace_back(std::string(batch.Text(d[i])));
    }
  }
  return row;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t ncols = data[0] % (kMaxColumns + 1);
  const uint8_t type_seed = data[1];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  static const std::vector<ValueType> types = ColumnTypes();
  auto schema = std::make_shared<TableSchema>();
  schema->relid = Oid(16384);
  schema->schema = "public";
  schema->name = "fuzz";
  schema->version = 1;
  for (size_t i = 0; i < ncols; ++i) {
    ColumnSchema c;
    c.name = "c" + std::to_string(i);
    c.type = types[(type_seed + i * 5) % types.size()];
    schema->columns.push_back(std::move(c));
  }
  // Up to two key columns, chosen by the top bits of the type byte.
  const size_t nkeys = ncols == 0 ? 0 : std::min<size_t>(ncols, (type_seed >> 6) % 3);
  for (size_t k = 0; k < nkeys; ++k) {
    schema->columns[k].primary_key_position = static_cast<int>(k);
    schema->key_columns.push_back(static_cast<int>(k));
  }

  format::DebeziumOptions options;
  options.schemas = (type_seed & 0x20) != 0;
  format::DebeziumJsonEncoder encoder(options);
  pg::CopyTextDecoder decoder;
  pg::CopyTextDecoder check_decoder;
  ChangeBatch batch;
  batch.Retain(schema);
  ChangeBatch check;
  std::string line_out, key, event;
  const SnapshotMark marks[] = {SnapshotMark::kFirst, SnapshotMark::kTrue, SnapshotMark::kLast,
                                SnapshotMark::kIncremental};
  uint32_t seq = 0;

  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('\n', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view line = rest.substr(start, end - start);
    start = end + 1;

    const int32_t datums_before = batch.AddRow(0);
    auto first = decoder.DecodeRow(line, ncols, &batch);
    if (!first.ok()) {
      if (first.status().code() != StatusCode::kDataLoss) std::abort();
      if (batch.AddRow(0) != datums_before) std::abort();  // a failed row adds nothing
      continue;
    }
    if (*first != datums_before) std::abort();
    if (batch.AddRow(0) != datums_before + static_cast<int32_t>(ncols)) std::abort();
    const Row row = RowOf(batch, *first, ncols);

    // Written back as COPY TO would, the row reads as the same values.
    line_out.clear();
    for (size_t i = 0; i < ncols; ++i) {
      if (i) line_out.push_back('\t');
      if (row[i]) {
        CopyOutEscape(*row[i], &line_out);
      } else {
        line_out.append("\\N");
      }
    }
    check.Clear();
    auto again = check_decoder.DecodeRow(line_out, ncols, &check);
    if (!again.ok() || RowOf(check, *again, ncols) != row) std::abort();

    // The row's key, and the event a snapshot read of it becomes.
    if (pg::EncodeRowKey(batch, *schema, *first, &key)) {
      pg::KeyValues values = pg::RowKeyValues(batch, *schema, *first);
      if (values.size() != nkeys) std::abort();
    }
    Change& c = batch.AddChange();
    c.op = ChangeOp::kRead;
    c.snapshot = marks[seq % 4];
    c.table = schema.get();
    c.after = *first;
    c.lsn = Lsn(0x16B374D848ULL);
    c.commit_lsn = Lsn(0x16B374D847ULL);
    c.seq = ++seq;
    event.clear();
    (void)encoder.AppendValue(batch, c, &event);
    (void)encoder.AppendKey(batch, c, &event);
    if (end == rest.size()) break;
  }
  return 0;
}
