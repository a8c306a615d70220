#include "core/change.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace walflow {

uint64_t NextTableSchemaSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

const char* ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBoolean: return "boolean";
    case ValueKind::kInt16: return "int16";
    case ValueKind::kInt32: return "int32";
    case ValueKind::kInt64: return "int64";
    case ValueKind::kFloat32: return "float32";
    case ValueKind::kFloat64: return "float64";
    case ValueKind::kDecimal: return "decimal";
    case ValueKind::kString: return "string";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kDate: return "date";
    case ValueKind::kTimeMillis: return "time-millis";
    case ValueKind::kTimeMicros: return "time-micros";
    case ValueKind::kZonedTime: return "zoned-time";
    case ValueKind::kTimestampMillis: return "timestamp-millis";
    case ValueKind::kTimestampMicros: return "timestamp-micros";
    case ValueKind::kZonedTimestamp: return "zoned-timestamp";
    case ValueKind::kInterval: return "interval";
    case ValueKind::kUuid: return "uuid";
    case ValueKind::kJson: return "json";
    case ValueKind::kXml: return "xml";
    case ValueKind::kEnum: return "enum";
    case ValueKind::kArray: return "array";
    case ValueKind::kText: return "text";
  }
  return "unknown";
}

void ChangeBatch::Retain(const TableSchemaPtr& schema) {
  if (schemas_.empty() || schemas_.back() != schema) {
    for (const auto& s : schemas_) {
      if (s == schema) return;
    }
    schemas_.push_back(schema);
  }
}

std::shared_ptr<ChangeBatch> ChangeBatch::CloneValues() const {
  auto b = std::make_shared<ChangeBatch>();
  b->datums_ = datums_;
  b->bytes_ = bytes_;
  b->schemas_ = schemas_;
  b->held_by_ = held_by_;
  b->source_stream_ = source_stream_;
  b->source_state_ = source_state_;
  b->changes_.reserve(changes_.size());
  b->markers_.reserve(markers_.size());
  return b;
}

int32_t ChangeBatch::AddRow(size_t ncols) {
  auto first = static_cast<int32_t>(datums_.size());
  datums_.resize(datums_.size() + ncols);
  return first;
}

namespace {

[[noreturn]] void BatchOverflow(size_t held, size_t adding) {
  std::fprintf(stderr,
               "walflow: internal error: a value of %zu bytes added to a batch holding %zu "
               "bytes would pass the batch's limit of %zu bytes (the builder must start a new "
               "batch first)\n",
               adding, held, ChangeBatch::kMaxBytes);
  std::abort();
}

}  // namespace

void ChangeBatch::SetText(int32_t index, std::string_view text) {
  if (!HasRoomFor(text.size())) [[unlikely]] {
    BatchOverflow(bytes_.size(), text.size());
  }
  Datum& d = datums_[index];
  d.kind = Datum::Kind::kText;
  d.offset = static_cast<uint32_t>(bytes_.size());
  d.length = static_cast<uint32_t>(text.size());
  bytes_.append(text);
}

void ChangeBatch::Clear() {
  changes_.clear();
  datums_.clear();
  bytes_.clear();
  markers_.clear();
  schemas_.clear();
  held_by_.clear();
  source_stream_.clear();
  source_state_.clear();
}

}  // namespace walflow
