// A writer of Apache Parquet files (format version 1 data pages, Thrift compact footer),
// written from the Apache Parquet format specification. Flat schemas only: every column
// is a leaf of the root, REQUIRED or OPTIONAL (definition level 0 or 1).
//
// Rows are appended column by column into an in-memory row group; FlushRowGroup() encodes
// it (dictionary encoding while the dictionary stays small, PLAIN otherwise; pages of about
// `page_size` bytes; snappy or zstd; min/max/null-count statistics) and appends the bytes
// to the caller's buffer, which the caller streams to its destination. Finish() appends
// the footer. The writer never holds more than one row group.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace walflow::format::parquet {

// parquet.thrift `Type`: the physical types this writer produces.
enum class PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7,
};

// The logical type annotation of a column (parquet.thrift `LogicalType`).
enum class LogicalType : uint8_t {
  kNone,
  kString,     // BYTE_ARRAY, UTF-8
  kEnum,       // BYTE_ARRAY
  kJson,       // BYTE_ARRAY
  kUuid,       // FIXED_LEN_BYTE_ARRAY(16)
  kDecimal,    // INT32, INT64 or FIXED_LEN_BYTE_ARRAY: unscaled, `precision`, `scale`
  kDate,       // INT32 days since 1970-01-01
  kTime,       // INT64 microseconds since midnight; `utc` = isAdjustedToUTC
  kTimestamp,  // INT64 microseconds since the epoch; `utc` = isAdjustedToUTC
  kInt16,      // INT32 holding a signed 16-bit integer
  kInt32,      // INT32, signed
  kInt64,      // INT64, signed
};

enum class Compression : uint8_t { kNone, kSnappy, kZstd };
const char* CompressionName(Compression c);

struct ColumnSpec {
  std::string name;
  PhysicalType physical = PhysicalType::kByteArray;
  LogicalType logical = LogicalType::kNone;
  bool optional = true;
  bool utc = false;         // kTime, kTimestamp
  int32_t type_length = 0;  // kFixedLenByteArray: bytes per value
  int32_t precision = 0;    // kDecimal
  int32_t scale = 0;        // kDecimal
};

struct WriterOptions {
  Compression compression = Compression::kZstd;
  int zstd_level = 3;
  size_t page_size = 1 << 20;  // uncompressed bytes of values per data page, about
  // A column chunk stays dictionary-encoded while its dictionary has at most this many
  // bytes (PLAIN-encoded) and entries; beyond, the chunk falls back to PLAIN.
  size_t dictionary_byte_limit = 1 << 20;
  size_t dictionary_entry_limit = 1 << 16;
  std::string created_by = "walflow";
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
};

class ColumnBuffer;

class ParquetWriter {
 public:
  ParquetWriter(std::vector<ColumnSpec> columns, WriterOptions options);
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  const std::vector<ColumnSpec>& columns() const { return columns_; }

  // One value per column of the row, in any order, then EndRow(). The Append call must
  // match the column's physical type; AppendBytes serves BYTE_ARRAY and
  // FIXED_LEN_BYTE_ARRAY (exactly type_length bytes). AppendNull only for OPTIONAL columns.
  void AppendNull(size_t column);
  void AppendBool(size_t column, bool value);
  void AppendInt32(size_t column, int32_t value);
  void AppendInt64(size_t column, int64_t value);
  void AppendFloat(size_t column, float value);
  void AppendDouble(size_t column, double value);
  void AppendBytes(size_t column, std::string_view value);
  void EndRow() { ++buffered_rows_; }

  size_t buffered_rows() const { return buffered_rows_; }
  // Uncompressed bytes of the buffered row group, about.
  size_t buffered_bytes() const;

  // Encodes the buffered rows as one row group and appends the bytes to `out` (the magic
  // number first, on the first call). Nothing happens without buffered rows.
  Status FlushRowGroup(std::string* out);
  // Flushes the last row group and appends the footer; the writer is done after.
  Status Finish(std::string* out);

  // Bytes appended to the caller's buffers so far, and rows in row groups written.
  uint64_t bytes_written() const { return offset_; }
  uint64_t rows_written() const { return rows_written_; }

 private:
  struct ChunkMeta;
  struct RowGroupMeta;
  template <typename T>
  void AppendFixed(size_t column, T value);
  Status Compress(std::string_view in, std::string* out);
  void AppendPage(int32_t page_type, std::string_view body, int32_t num_values, int32_t encoding,
                  std::string* out);
  std::string EncodeFooter() const;

  std::vector<ColumnSpec> columns_;
  WriterOptions options_;
  std::vector<std::unique_ptr<ColumnBuffer>> buffers_;
  size_t buffered_rows_ = 0;
  uint64_t offset_ = 0;
  uint64_t rows_written_ = 0;
  std::vector<RowGroupMeta> row_groups_;
  std::string scratch_, compressed_;
  struct ZstdContext;
  std::unique_ptr<ZstdContext> zstd_;
  bool finished_ = false;
};

// RLE / bit-packing hybrid encoding of `values` with `bit_width` bits each (without the
// length prefix), as data pages carry definition levels and dictionary indices.
void EncodeRleHybrid(const uint32_t* values, size_t count, int bit_width, std::string* out);

}  // namespace walflow::format::parquet
