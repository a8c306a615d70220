// Fuzz target for the Kafka source's parser of record bytes: format::DebeziumReader, fed
// several records through one reader (so its per-table schema cache carries over), and the
// Debezium encoder that writes what it read back out.
//
// Input: [flags][record]\x1e[record]\x1e... where a record is value, key\x1fvalue or
// topic\x1fkey\x1fvalue (topic "srv.public.t" and an empty key when left out; bytes Kafka does
// not allow in a topic name read as '_'). Flags: bits 0-1 decimal.handling.mode of the
// encoders, bit 2 transaction metadata, bit 3 a custom unavailable-value placeholder (for
// reader and encoders alike). '@' (0x40) picks none of them.
//
// Beyond not crashing it checks the reader's contract: a refused record returns
// InvalidArgument and leaves the batch as it was; an accepted one either adds nothing
// (tombstones, records that are not row changes) or exactly one change whose rows lie in the
// batch. An added change, encoded with and without schemas, either fails cleanly or gives an
// event that a fresh reader accepts and that encodes to the same bytes again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "format/debezium_json.h"
#include "format/debezium_reader.h"

namespace {

using namespace walflow;

constexpr size_t kMaxRecords = 16;
constexpr char kRecordSeparator = '\x1e';
constexpr char kFieldSeparator = '\x1f';
constexpr int64_t kNow = 1705306531000000;  // the encoders' processing time

[[noreturn]] void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "debezium_reader_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

struct Record {
  std::string topic = "srv.public.t";
  std::string_view key;
  std::string_view value;
};

// Kafka allows only [a-zA-Z0-9._-] in a topic name; the reader relies on that when it takes
// the table name from the topic, so other bytes become '_'.
std::string KafkaTopic(std::string_view bytes) {
  std::string topic(bytes);
  for (char& c : topic) {
    const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (!legal) c = '_';
  }
  return topic;
}

Record SplitRecord(std::string_view bytes) {
  Record r;
  const size_t first = bytes.find(kFieldSeparator);
  if (first == std::string_view::npos) {
    r.value = bytes;
    return r;
  }
  const size_t second = bytes.find(kFieldSeparator, first + 1);
  if (second == std::string_view::npos) {
    r.key = bytes.substr(0, first);
    r.value = bytes.substr(first + 1);
    return r;
  }
  r.topic = KafkaTopic(bytes.substr(0, first));
  r.key = bytes.substr(first + 1, second - first - 1);
  r.value = bytes.substr(second + 1);
  return r;
}

// What a failed Append must leave untouched.
struct BatchShape {
  size_t changes, markers, bytes, datums;
  bool operator==(const BatchShape&) const = default;
};

BatchShape ShapeOf(ChangeBatch* batch) {
  return {batch->changes().size(), batch->markers().size(), batch->byte_size(),
          static_cast<size_t>(batch->AddRow(0))};
}

// The change just appended: its table, rows and text lie inside the batch.
void CheckAppended(ChangeBatch* batch, const BatchShape& before) {
  const BatchShape after = ShapeOf(batch);
  if (after.changes != before.changes + 1) Fail("added=true but not exactly one change appended");
  if (after.markers != before.markers) Fail("Append added a marker");
  const Change& c = batch->changes().back();
  if (c.table == nullptr) Fail("change without a table");
  const TableSchema& t = *c.table;
  const size_t ncols = t.columns.size();
  for (int k : t.key_columns) {
    if (k < 0 || static_cast<size_t>(k) >= ncols) Fail("key column out of range");
  }
  const size_t text_size = after.bytes - after.changes * sizeof(Change);
  size_t rows = 0;
  for (int32_t first : {c.before, c.after}) {
    if (first == -1) continue;
    if (first < 0 || static_cast<size_t>(first) < before.datums ||
        static_cast<size_t>(first) + ncols > after.datums) {
      Fail("row index outside the datums the change appended");
    }
    ++rows;
    const Datum* row = batch->Row(first);
    for (size_t i = 0; i < ncols; ++i) {
      if (row[i].kind == Datum::Kind::kText &&
          static_cast<size_t>(row[i].offset) + row[i].length > text_size) {
        Fail("datum text outside the batch's bytes");
      }
    }
  }
  if (after.datums - before.datums != rows * ncols) Fail("datums appended that no row uses");
  switch (c.op) {
    case ChangeOp::kCreate:
    case ChangeOp::kRead:
    case ChangeOp::kUpdate:
      if (c.after < 0) Fail("insert, read or update without an after image");
      break;
    case ChangeOp::kDelete:
      if (c.before < 0) Fail("delete without a before image");
      break;
    case ChangeOp::kTruncate:
      if (c.before != -1 || c.after != -1) Fail("truncate with rows");
      break;
  }
}

struct Encoded {
  Status status;
  std::string key, value;
};

Encoded Encode(format::DebeziumJsonEncoder* encoder, const ChangeBatch& batch,
               const Change& change) {
  Encoded e;
  e.status = encoder->AppendValue(batch, change, &e.value);
  if (e.status.ok()) e.status = encoder->AppendKey(batch, change, &e.key);
  if (!e.status.ok() && e.status.code() != StatusCode::kInvalidArgument) {
    Fail("encoder failed with a code other than InvalidArgument", e.status.ToString());
  }
  return e;
}

// Encodes `change`, reads the event with a fresh reader and encodes that again: the two
// encodings are the same bytes.
void CheckFixedPoint(const format::DebeziumOptions& options,
                     const format::DebeziumReaderOptions& reader_options, std::string_view topic,
                     const ChangeBatch& batch, const Change& change) {
  format::DebeziumJsonEncoder first_encoder(options);
  first_encoder.set_processing_time_us(kNow);
  const Encoded first = Encode(&first_encoder, batch, change);
  if (!first.status.ok()) return;

  format::DebeziumReader reader(reader_options);
  ChangeBatch again;
  bool added = false;
  Status s = reader.Append(topic, first.key, first.value, &again, &added);
  if (!s.ok()) Fail("the encoder's event is refused", s.ToString() + "\n" + first.value);
  if (!added || again.changes().size() != 1)
    Fail("the encoder's event adds no change", first.value);

  format::DebeziumJsonEncoder second_encoder(options);
  second_encoder.set_processing_time_us(kNow);
  const Encoded second = Encode(&second_encoder, again, again.changes()[0]);
  if (!second.status.ok()) {
    Fail("the event read back does not encode", second.status.ToString() + "\n" + first.value);
  }
  if (second.value != first.value) {
    Fail("value is not a fixed point", first.value + "\n" + second.value);
  }
  if (second.key != first.key) Fail("key is not a fixed point", first.key + "\n" + second.key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  format::DebeziumReaderOptions reader_options;
  if (flags & 0x08) reader_options.unavailable_value_placeholder = "__wf_unavailable";
  format::DebeziumOptions options[2];
  for (int schemas = 0; schemas < 2; ++schemas) {
    options[schemas].server_name = "srv";
    options[schemas].database = "app";
    options[schemas].schemas = schemas == 1;
    options[schemas].decimal_handling = (flags & 3) == 1   ? format::DecimalHandling::kString
                                        : (flags & 3) == 2 ? format::DecimalHandling::kDouble
                                                           : format::DecimalHandling::kPrecise;
    options[schemas].transaction_metadata = (flags & 0x04) != 0;
    options[schemas].unavailable_value_placeholder = reader_options.unavailable_value_placeholder;
  }

  format::DebeziumReader reader(reader_options);
  // Encoders that live as long as the batch, as a sink's do, beside the fresh ones of the
  // fixed-point check: without transaction metadata (whose counters carry state) they agree.
  format::DebeziumJsonEncoder encoders[2] = {format::DebeziumJsonEncoder(options[0]),
                                             format::DebeziumJsonEncoder(options[1])};
  for (auto& e : encoders) e.set_processing_time_us(kNow);
  ChangeBatch batch;

  size_t start = 0;
  for (size_t n = 0; n < kMaxRecords && start <= rest.size(); ++n) {
    size_t end = rest.find(kRecordSeparator, start);
    if (end == std::string_view::npos) end = rest.size();
    const Record record = SplitRecord(rest.substr(start, end - start));
    start = end + 1;

    const BatchShape before = ShapeOf(&batch);
    bool added = true;
    Status s = reader.Append(record.topic, record.key, record.value, &batch, &added);
    if (!s.ok()) {
      if (s.code() != StatusCode::kInvalidArgument) {
        Fail("refused with a code other than InvalidArgument", s.ToString());
      }
      if (s.message().empty()) Fail("refused without a message");
      if (added) Fail("refused but added=true");
      if (!(ShapeOf(&batch) == before)) Fail("refused record changed the batch", s.ToString());
      continue;
    }
    if (!added) {
      if (!(ShapeOf(&batch) == before)) Fail("record that adds nothing changed the batch");
      continue;
    }
    CheckAppended(&batch, before);
    const Change& change = batch.changes().back();
    for (int schemas = 0; schemas < 2; ++schemas) {
      const Encoded kept = Encode(&encoders[schemas], batch, change);
      CheckFixedPoint(options[schemas], reader_options, record.topic, batch, change);
      if (!options[schemas].transaction_metadata) {
        format::DebeziumJsonEncoder fresh(options[schemas]);
        fresh.set_processing_time_us(kNow);
        const Encoded once = Encode(&fresh, batch, change);
        if (once.status.ok() != kept.status.ok() || once.value != kept.value ||
            once.key != kept.key) {
          Fail("an encoder's caches change its output", once.value + "\n" + kept.value);
        }
      }
    }
  }
  return 0;
}
