#include "format/parquet_changes.h"

#include <charconv>
#include <limits>

#include "format/json_writer.h"
#include "pg/text_codec.h"

namespace walflow::format::parquet {
namespace {

constexpr const char* kMetadataColumns[] = {"_op",   "_lsn",       "_seq",
                                            "_txid", "_commit_ts", "_unchanged"};
constexpr size_t kMetadataCount = std::size(kMetadataColumns);

// DuckDB's (and the usual) encoding of ±infinity in DATE and TIMESTAMP columns.
constexpr int32_t kDateInfinity = std::numeric_limits<int32_t>::max();
constexpr int64_t kTimestampInfinity = std::numeric_limits<int64_t>::max();

using int128 = __int128;

// Bytes of a FIXED_LEN_BYTE_ARRAY that hold every unscaled value of `precision` digits.
int32_t DecimalBytes(int32_t precision) {
  int128 max = 1;
  for (int i = 0; i < precision; ++i) max *= 10;
  max -= 1;
  for (int32_t n = 1; n <= 16; ++n) {
    if (n == 16 || max < (static_cast<int128>(1) << (8 * n - 1))) return n;
  }
  return 16;
}

// "-123.45" with `scale` digits after the point at most, as an unscaled integer.
bool ParseDecimal(std::string_view text, int32_t precision, int32_t scale, int128* out) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  int128 v = 0;
  int digits = 0, fraction = 0;
  bool point = false, any = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    any = true;
    if (point) {
      if (++fraction > scale) {
        if (c != '0') return false;  // more digits after the point than the scale
        continue;
      }
    }
    if (v != 0 || c != '0') ++digits;
    if (digits > 38) return false;  // before the multiplication can overflow
    v = v * 10 + (c - '0');
  }
  if (!any) return false;
  for (; fraction < scale; ++fraction) {
    if (v != 0 && ++digits > 38) return false;
    v *= 10;
  }
  int128 limit = 1;
  for (int p = 0; p < precision; ++p) limit *= 10;
  if (v >= limit) return false;
  *out = negative ? -v : v;
  return true;
}

bool ParseUuid(std::string_view text, std::string* out) {
  out->clear();
  int high = -1;
  for (char c : text) {
    if (c == '-') continue;
    int h = pg::HexDigitValue(c);
    if (h < 0) return false;
    if (high < 0) {
      high = h;
    } else {
      out->push_back(static_cast<char>(high << 4 | h));
      high = -1;
    }
  }
  return high < 0 && out->size() == 16;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

std::string DescribeType(const ValueType& t) {
  if (t.kind == ValueKind::kDecimal && t.precision > 0) {
    return t.type_name + "(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")";
  }
  return t.type_name;
}

ColumnSpec SpecFor(const std::string& name, const ValueType& t) {
  ColumnSpec s;
  s.name = name;
  s.optional = true;
  switch (t.kind) {
    case ValueKind::kBoolean: s.physical = PhysicalType::kBoolean; break;
    case ValueKind::kInt16:
      s.physical = PhysicalType::kInt32;
      s.logical = LogicalType::kInt16;
      break;
    case ValueKind::kInt32:
      s.physical = PhysicalType::kInt32;
      s.logical = LogicalType::kInt32;
      break;
    case ValueKind::kInt64:
      s.physical = PhysicalType::kInt64;
      s.logical = LogicalType::kInt64;
      break;
    case ValueKind::kFloat32: s.physical = PhysicalType::kFloat; break;
    case ValueKind::kFloat64: s.physical = PhysicalType::kDouble; break;
    case ValueKind::kDecimal:
      if (t.precision >= 1 && t.precision <= 38 && t.scale >= 0 && t.scale <= t.precision) {
        s.logical = LogicalType::kDecimal;
        s.precision = t.precision;
        s.scale = t.scale;
        if (t.precision <= 9) {
          s.physical = PhysicalType::kInt32;
        } else if (t.precision <= 18) {
          s.physical = PhysicalType::kInt64;
        } else {
          s.physical = PhysicalType::kFixedLenByteArray;
          s.type_length = DecimalBytes(t.precision);
        }
      } else {
        s.logical = LogicalType::kString;  // unconstrained or wider than DECIMAL(38)
      }
      break;
    case ValueKind::kBytes: break;
    case ValueKind::kDate:
      s.physical = PhysicalType::kInt32;
      s.logical = LogicalType::kDate;
      break;
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros:
    case ValueKind::kZonedTime:
      s.physical = PhysicalType::kInt64;
      s.logical = LogicalType::kTime;
      s.utc = t.kind == ValueKind::kZonedTime;
      break;
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kZonedTimestamp:
      s.physical = PhysicalType::kInt64;
      s.logical = LogicalType::kTimestamp;
      s.utc = t.kind == ValueKind::kZonedTimestamp;
      break;
    case ValueKind::kUuid:
      s.physical = PhysicalType::kFixedLenByteArray;
      s.type_length = 16;
      s.logical = LogicalType::kUuid;
      break;
    case ValueKind::kJson:
    case ValueKind::kArray: s.logical = LogicalType::kJson; break;
    case ValueKind::kEnum: s.logical = LogicalType::kEnum; break;
    case ValueKind::kString:
    case ValueKind::kInterval:
    case ValueKind::kXml:
    case ValueKind::kText: s.logical = LogicalType::kString; break;
  }
  return s;
}

DebeziumOptions ArrayJsonOptions() {
  DebeziumOptions o;
  o.decimal_handling = DecimalHandling::kString;  // numbers as text, exact
  return o;
}

}  // namespace

ChangeRowEncoder::ChangeRowEncoder() : json_(ArrayJsonOptions()) {}

Result<std::unique_ptr<ChangeRowEncoder>> ChangeRowEncoder::ForTable(const TableSchema& table) {
  std::unique_ptr<ChangeRowEncoder> e(new ChangeRowEncoder());
  e->table_name_ = table.QualifiedName();
  for (const ColumnSchema& c : table.columns) {
    for (const char* meta : kMetadataColumns) {
      if (c.name == meta) {
        return FailedPrecondition("table " + e->table_name_ + ", column " + c.name +
                                  ": the name is taken by a metadata column of Parquet change "
                                  "rows; rename the column");
      }
    }
    e->columns_.push_back({c.name, c.type, DescribeType(c.type)});
    e->specs_.push_back(SpecFor(c.name, c.type));
  }
  ColumnSpec op{.name = "_op", .logical = LogicalType::kString, .optional = false};
  ColumnSpec lsn{.name = "_lsn", .physical = PhysicalType::kInt64, .optional = false};
  ColumnSpec seq{.name = "_seq", .physical = PhysicalType::kInt64, .optional = false};
  ColumnSpec txid{.name = "_txid", .physical = PhysicalType::kInt64, .optional = false};
  ColumnSpec ts{.name = "_commit_ts",
                .physical = PhysicalType::kInt64,
                .logical = LogicalType::kTimestamp,
                .optional = false,
                .utc = true};
  ColumnSpec unchanged{.name = "_unchanged", .logical = LogicalType::kJson};
  for (ColumnSpec* s : {&op, &lsn, &seq, &txid, &ts, &unchanged}) e->specs_.push_back(*s);
  static_assert(kMetadataCount == 6);
  return e;
}

bool ChangeRowEncoder::SameLayout(const TableSchema& table) const {
  if (table.QualifiedName() != table_name_ || table.columns.size() != columns_.size()) {
    return false;
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    const ColumnSpec want = SpecFor(table.columns[i].name, table.columns[i].type);
    const ColumnSpec& have = specs_[i];
    if (want.name != have.name || want.physical != have.physical || want.logical != have.logical ||
        want.utc != have.utc || want.type_length != have.type_length ||
        want.precision != have.precision || want.scale != have.scale ||
        table.columns[i].type.kind != columns_[i].type.kind) {
      return false;
    }
  }
  return true;
}

Status ChangeRowEncoder::AppendValue(size_t index, std::string_view text, ParquetWriter* w) {
  const Column& col = columns_[index];
  const ColumnSpec& spec = specs_[index];
  bool ok = false;
  switch (col.type.kind) {
    case ValueKind::kBoolean: {
      bool b;
      if ((ok = pg::ParseBool(text, &b))) w->AppendBool(index, b);
      break;
    }
    case ValueKind::kInt16:
    case ValueKind::kInt32: {
      int32_t v;
      if ((ok = ParseNumber(text, &v))) w->AppendInt32(index, v);
      break;
    }
    case ValueKind::kInt64: {
      int64_t v;
      if ((ok = ParseNumber(text, &v))) w->AppendInt64(index, v);
      break;
    }
    case ValueKind::kFloat32: {
      float v;
      if ((ok = ParseNumber(text, &v))) w->AppendFloat(index, v);
      break;
    }
    case ValueKind::kFloat64: {
      double v;
      if ((ok = ParseNumber(text, &v))) w->AppendDouble(index, v);
      break;
    }
    case ValueKind::kDecimal: {
      if (spec.logical != LogicalType::kDecimal) {
        w->AppendBytes(index, text);
        ok = true;
        break;
      }
      int128 v;
      if (!(ok = ParseDecimal(text, spec.precision, spec.scale, &v))) break;
      if (spec.physical == PhysicalType::kInt32) {
        w->AppendInt32(index, static_cast<int32_t>(v));
      } else if (spec.physical == PhysicalType::kInt64) {
        w->AppendInt64(index, static_cast<int64_t>(v));
      } else {
        scratch_.resize(spec.type_length);
        auto u = static_cast<unsigned __int128>(v);
        for (int32_t b = spec.type_length - 1; b >= 0; --b) {
          scratch_[b] = static_cast<char>(u & 0xff);
          u >>= 8;
        }
        w->AppendBytes(index, scratch_);
      }
      break;
    }
    case ValueKind::kBytes:
      scratch_.clear();
      if ((ok = pg::DecodeBytea(text, &scratch_))) w->AppendBytes(index, scratch_);
      break;
    case ValueKind::kDate: {
      pg::Infinity inf = pg::ParseInfinity(text);
      int32_t days;
      if (inf != pg::Infinity::kNone) {
        w->AppendInt32(index, inf == pg::Infinity::kPositive ? kDateInfinity : -kDateInfinity);
        ok = true;
      } else if ((ok = pg::ParseDate(text, &days))) {
        w->AppendInt32(index, days);
      }
      break;
    }
    case ValueKind::kTimeMillis:
    case ValueKind::kTimeMicros: {
      int64_t us;
      if ((ok = pg::ParseTime(text, &us))) w->AppendInt64(index, us);
      break;
    }
    case ValueKind::kZonedTime: {
      int64_t us;
      if ((ok = pg::ParseTimeTz(text, &us))) w->AppendInt64(index, us);
      break;
    }
    case ValueKind::kTimestampMillis:
    case ValueKind::kTimestampMicros:
    case ValueKind::kZonedTimestamp: {
      pg::Infinity inf = pg::ParseInfinity(text);
      if (inf != pg::Infinity::kNone) {
        w->AppendInt64(index,
                       inf == pg::Infinity::kPositive ? kTimestampInfinity : -kTimestampInfinity);
        ok = true;
      } else {
        // Through days, so that the years past int64 microseconds (PostgreSQL allows up to
        // 294276) are refused rather than saturated into the value that means infinity.
        int64_t days, micros_of_day;
        ok = pg::ParseTimestampParts(text, &days, &micros_of_day);
        const int128 v = static_cast<int128>(days) * 86400000000LL + micros_of_day;
        ok = ok && v < kTimestampInfinity && v > -kTimestampInfinity;
        if (ok) w->AppendInt64(index, static_cast<int64_t>(v));
      }
      break;
    }
    case ValueKind::kUuid:
      if ((ok = ParseUuid(text, &scratch_))) w->AppendBytes(index, scratch_);
      break;
    case ValueKind::kArray:
      scratch_.clear();
      if ((ok = json_.AppendJsonValue(col.type, text, &scratch_))) w->AppendBytes(index, scratch_);
      break;
    case ValueKind::kJson:
    case ValueKind::kEnum:
    case ValueKind::kString:
    case ValueKind::kInterval:
    case ValueKind::kXml:
    case ValueKind::kText:
      w->AppendBytes(index, text);
      ok = true;
      break;
  }
  if (ok) return Status::OK();
  std::string shown(text.substr(0, 64));
  if (text.size() > 64) shown += "...";
  return InvalidArgument("table " + table_name_ + ", column " + col.name + " (" + col.pg_type +
                         "): value '" + shown + "' does not fit the Parquet column's type");
}

Status ChangeRowEncoder::Append(const ChangeBatch& batch, const Change& change, ParquetWriter* w) {
  const int32_t image = change.op == ChangeOp::kDelete ? change.before : change.after;
  std::string unchanged;
  const size_t n = columns_.size();
  const Datum* row = image >= 0 ? batch.Row(image) : nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (row == nullptr || row[i].kind == Datum::Kind::kNull) {
      w->AppendNull(i);
      continue;
    }
    if (row[i].kind == Datum::Kind::kUnchangedToast) {
      w->AppendNull(i);
      unchanged += unchanged.empty() ? "[" : ",";
      AppendJsonString(columns_[i].name, &unchanged);
      continue;
    }
    WF_RETURN_IF_ERROR(AppendValue(i, batch.Text(row[i]), w));
  }
  const char op = static_cast<char>(change.op);
  w->AppendBytes(n, std::string_view(&op, 1));
  w->AppendInt64(n + 1, static_cast<int64_t>(change.commit_lsn.value));
  w->AppendInt64(n + 2, change.seq);
  w->AppendInt64(n + 3, change.xid.value);
  w->AppendInt64(n + 4, change.commit_time_us);
  if (unchanged.empty()) {
    w->AppendNull(n + 5);
  } else {
    unchanged.push_back(']');
    w->AppendBytes(n + 5, unchanged);
  }
  w->EndRow();
  return Status::OK();
}

}  // namespace walflow::format::parquet
