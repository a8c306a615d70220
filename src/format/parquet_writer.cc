#include "format/parquet_writer.h"

#include <snappy-c.h>
#include <zstd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "format/thrift_compact.h"

namespace walflow::format::parquet {
namespace {

constexpr std::string_view kMagic = "PAR1";

// parquet.thrift enums.
enum PageType : int32_t { kDataPage = 0, kDictionaryPage = 2 };
enum Encoding : int32_t { kPlain = 0, kRle = 3, kRleDictionary = 8 };
enum CompressionCodec : int32_t { kUncompressed = 0, kSnappyCodec = 1, kZstdCodec = 6 };
enum ConvertedType : int32_t {
  kUtf8 = 0,
  kEnumConverted = 4,
  kDecimalConverted = 5,
  kDateConverted = 6,
  kTimeMicros = 8,
  kTimestampMicros = 10,
  kInt16Converted = 16,
  kInt32Converted = 17,
  kInt64Converted = 18,
  kJsonConverted = 19,
};
enum FieldRepetitionType : int32_t { kRequired = 0, kOptional = 1 };

int32_t CodecOf(Compression c) {
  switch (c) {
    case Compression::kNone: return kUncompressed;
    case Compression::kSnappy: return kSnappyCodec;
    case Compression::kZstd: return kZstdCodec;
  }
  return kUncompressed;
}

void PutU32(uint32_t v, std::string* out) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}

template <typename T>
void PutLittleEndian(T v, std::string* out) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and every platform walflow builds on are LE
  out->append(b, sizeof(T));
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Bit-packs `count` values (padded with zeros to a multiple of 8), LSB first.
void BitPack(const uint32_t* values, size_t count, int bit_width, std::string* out) {
  const size_t padded = (count + 7) / 8 * 8;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < padded; ++i) {
    acc |= static_cast<uint64_t>(i < count ? values[i] : 0) << bits;
    bits += bit_width;
    while (bits >= 8) {
      out->push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
}

int BitWidth(uint32_t max_value) {
  int w = 0;
  while (max_value) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

// Signed comparison of two big-endian two's complement numbers of the same length.
bool LessSignedBigEndian(std::string_view a, std::string_view b) {
  if (a.empty()) return false;
  auto a0 = static_cast<int8_t>(a[0]), b0 = static_cast<int8_t>(b[0]);
  if (a0 != b0) return a0 < b0;
  return a.substr(1) < b.substr(1);  // char_traits<char> compares as unsigned char
}

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

}  // namespace

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kSnappy: return "snappy";
    case Compression::kZstd: return "zstd";
  }
  return "?";
}

// The values of one column in the current row group.
class ColumnBuffer {
 public:
  ColumnBuffer(const ColumnSpec& spec, const WriterOptions& options)
      : spec_(spec), options_(options), dictionary_on_(spec.physical != PhysicalType::kBoolean) {}

  void Null() {
    def_.push_back(0);
    ++nulls_;
  }

  // `value` as it is PLAIN-encoded (without the length prefix of a BYTE_ARRAY).
  void Value(std::string_view value) {
    if (spec_.optional) def_.push_back(1);
    const size_t start = plain_.size();
    if (spec_.physical == PhysicalType::kByteArray) PutU32(value.size(), &plain_);
    plain_.append(value);
    ++values_;
    if (dictionary_on_) AddToDictionary(value, std::string_view(plain_).substr(start));
  }

  void UpdateIntStats(int64_t v) {
    if (!has_minmax_) {
      imin_ = imax_ = v;
    } else {
      imin_ = std::min(imin_, v);
      imax_ = std::max(imax_, v);
    }
    has_minmax_ = true;
  }
  void UpdateFloatStats(double v) {
    if (std::isnan(v)) return;  // NaN is not ordered: no bound includes it
    if (!has_minmax_) {
      dmin_ = dmax_ = v;
    } else {
      dmin_ = std::min(dmin_, v);
      dmax_ = std::max(dmax_, v);
    }
    has_minmax_ = true;
  }
  void UpdateBytesStats(std::string_view v) {
    const bool signed_be = spec_.logical == LogicalType::kDecimal;
    auto less = [&](std::string_view a, std::string_view b) {
      return signed_be ? LessSignedBigEndian(a, b) : a < b;
    };
    if (!has_minmax_) {
      smin_ = smax_ = std::string(v);
    } else {
      if (less(v, smin_)) smin_ = std::string(v);
      if (less(smax_, v)) smax_ = std::string(v);
    }
    has_minmax_ = true;
  }

  size_t buffered_bytes() const { return plain_.size() + def_.size(); }

  // Statistics min/max as the spec encodes them (PLAIN, no length prefix); false when
  // there is no bound (no non-null value, only NaN, or a value too long to be useful).
  bool StatsBounds(std::string* min, std::string* max) const {
    if (!has_minmax_) return false;
    min->clear();
    max->clear();
    switch (spec_.physical) {
      case PhysicalType::kBoolean:
        min->push_back(static_cast<char>(imin_));
        max->push_back(static_cast<char>(imax_));
        return true;
      case PhysicalType::kInt32:
        PutLittleEndian(static_cast<int32_t>(imin_), min);
        PutLittleEndian(static_cast<int32_t>(imax_), max);
        return true;
      case PhysicalType::kInt64:
        PutLittleEndian(imin_, min);
        PutLittleEndian(imax_, max);
        return true;
      case PhysicalType::kFloat:
      case PhysicalType::kDouble: {
        // The spec's rule for zeros: a minimum of zero is written -0, a maximum +0.
        double lo = dmin_ == 0 ? -0.0 : dmin_, hi = dmax_ == 0 ? 0.0 : dmax_;
        if (spec_.physical == PhysicalType::kFloat) {
          PutLittleEndian(static_cast<float>(lo), min);
          PutLittleEndian(static_cast<float>(hi), max);
        } else {
          PutLittleEndian(lo, min);
          PutLittleEndian(hi, max);
        }
        return true;
      }
      case PhysicalType::kByteArray:
      case PhysicalType::kFixedLenByteArray:
        if (smin_.size() > kMaxStatBytes || smax_.size() > kMaxStatBytes) return false;
        *min = smin_;
        *max = smax_;
        return true;
    }
    return false;
  }

  const ColumnSpec& spec() const { return spec_; }
  const std::vector<uint8_t>& def() const { return def_; }
  const std::string& plain() const { return plain_; }
  size_t values() const { return values_; }
  size_t nulls() const { return nulls_; }
  bool dictionary_on() const { return dictionary_on_; }
  const std::string& dictionary_plain() const { return dictionary_plain_; }
  size_t dictionary_size() const { return dictionary_.size(); }
  const std::vector<uint32_t>& indices() const { return indices_; }

  void Reset() {
    def_.clear();
    plain_.clear();
    values_ = nulls_ = 0;
    // A column whose values did not fit a dictionary in one chunk is PLAIN from then on:
    // building a dictionary only to drop it costs more than the rest of the encoding.
    dictionary_on_ = spec_.physical != PhysicalType::kBoolean && !fell_back_;
    dictionary_.clear();
    dictionary_plain_.clear();
    indices_.clear();
    has_minmax_ = false;
    smin_.clear();
    smax_.clear();
  }

 private:
  static constexpr size_t kMaxStatBytes = 256;
  static constexpr size_t kDictionarySample = 4096;

  void AddToDictionary(std::string_view key, std::string_view encoded) {
    auto it = dictionary_.find(key);
    if (it != dictionary_.end()) {
      indices_.push_back(it->second);
      return;
    }
    // Too many distinct values for a dictionary to pay (or mostly distinct after a
    // sample): PLAIN for this chunk and the next ones.
    if (dictionary_.size() >= options_.dictionary_entry_limit ||
        dictionary_plain_.size() + encoded.size() > options_.dictionary_byte_limit ||
        (indices_.size() >= kDictionarySample && dictionary_.size() * 2 > indices_.size())) {
      dictionary_on_ = false;
      fell_back_ = true;
      std::unordered_map<std::string, uint32_t, TransparentHash, std::equal_to<>>().swap(
          dictionary_);
      std::vector<uint32_t>().swap(indices_);
      std::string().swap(dictionary_plain_);
      return;
    }
    const auto index = static_cast<uint32_t>(dictionary_.size());
    dictionary_.emplace(std::string(key), index);
    dictionary_plain_.append(encoded);
    indices_.push_back(index);
  }

  const ColumnSpec& spec_;
  const WriterOptions& options_;
  std::vector<uint8_t> def_;  // OPTIONAL columns: the definition level of every row
  std::string plain_;         // PLAIN encoding of the non-null values (booleans: a byte each)
  size_t values_ = 0;
  size_t nulls_ = 0;
  bool dictionary_on_;
  bool fell_back_ = false;
  std::unordered_map<std::string, uint32_t, TransparentHash, std::equal_to<>> dictionary_;
  std::string dictionary_plain_;
  std::vector<uint32_t> indices_;
  bool has_minmax_ = false;
  int64_t imin_ = 0, imax_ = 0;
  double dmin_ = 0, dmax_ = 0;
  std::string smin_, smax_;
};

struct ParquetWriter::ChunkMeta {
  std::vector<int32_t> encodings;
  int64_t num_values = 0;
  int64_t uncompressed = 0;
  int64_t compressed = 0;
  int64_t data_page_offset = 0;
  int64_t dictionary_page_offset = -1;
  int64_t null_count = 0;
  bool has_bounds = false;
  std::string min, max;
};

struct ParquetWriter::RowGroupMeta {
  std::vector<ChunkMeta> chunks;
  int64_t num_rows = 0;
  int64_t file_offset = 0;
  int64_t uncompressed = 0;
  int64_t compressed = 0;
};

struct ParquetWriter::ZstdContext {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~ZstdContext() { ZSTD_freeCCtx(cctx); }
};

void EncodeRleHybrid(const uint32_t* values, size_t count, int bit_width, std::string* out) {
  const int value_bytes = (bit_width + 7) / 8;
  auto emit_packed = [&](size_t from, size_t to) {
    PutVarint((((to - from) + 7) / 8) << 1 | 1, out);
    BitPack(values + from, to - from, bit_width, out);
  };
  size_t i = 0, literal_start = 0;
  while (i < count) {
    size_t j = i + 1;
    while (j < count && values[j] == values[i]) ++j;
    if (j - i >= 8) {
      // A run: literals before it must be whole groups of 8, so borrow from the run.
      const size_t pending = i - literal_start;
      if (pending % 8 != 0) i += 8 - pending % 8;
      if (i > literal_start) emit_packed(literal_start, i);
      PutVarint(static_cast<uint64_t>(j - i) << 1, out);
      for (int b = 0; b < value_bytes; ++b) out->push_back(static_cast<char>(values[i] >> (8 * b)));
      literal_start = j;
    }
    i = j;
  }
  if (literal_start < count) emit_packed(literal_start, count);
}

ParquetWriter::ParquetWriter(std::vector<ColumnSpec> columns, WriterOptions options)
    : columns_(std::move(columns)), options_(std::move(options)) {
  buffers_.reserve(columns_.size());
  for (const ColumnSpec& c : columns_)
    buffers_.push_back(std::make_unique<ColumnBuffer>(c, options_));
  if (options_.compression == Compression::kZstd) zstd_ = std::make_unique<ZstdContext>();
}

ParquetWriter::~ParquetWriter() = default;

void ParquetWriter::AppendNull(size_t column) { buffers_[column]->Null(); }

void ParquetWriter::AppendBool(size_t column, bool value) {
  char b = value ? 1 : 0;
  buffers_[column]->Value(std::string_view(&b, 1));
  buffers_[column]->UpdateIntStats(b);
}

template <typename T>
void ParquetWriter::AppendFixed(size_t column, T value) {
  char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));  // PLAIN: little-endian, as in memory here
  buffers_[column]->Value(std::string_view(b, sizeof(T)));
  if constexpr (std::is_floating_point_v<T>) {
    buffers_[column]->UpdateFloatStats(value);
  } else {
    buffers_[column]->UpdateIntStats(value);
  }
}

void ParquetWriter::AppendInt32(size_t column, int32_t value) { AppendFixed(column, value); }
void ParquetWriter::AppendInt64(size_t column, int64_t value) { AppendFixed(column, value); }
void ParquetWriter::AppendFloat(size_t column, float value) { AppendFixed(column, value); }
void ParquetWriter::AppendDouble(size_t column, double value) { AppendFixed(column, value); }

void ParquetWriter::AppendBytes(size_t column, std::string_view value) {
  buffers_[column]->Value(value);
  buffers_[column]->UpdateBytesStats(value);
}

size_t ParquetWriter::buffered_bytes() const {
  size_t n = 0;
  for (const auto& b : buffers_) n += b->buffered_bytes();
  return n;
}

Status ParquetWriter::Compress(std::string_view in, std::string* out) {
  out->clear();
  switch (options_.compression) {
    case Compression::kNone: out->assign(in); return Status::OK();
    case Compression::kSnappy: {
      size_t n = snappy_max_compressed_length(in.size());
      out->resize(n);
      if (snappy_compress(in.data(), in.size(), out->data(), &n) != SNAPPY_OK) {
        return Internal("snappy compression failed");
      }
      out->resize(n);
      return Status::OK();
    }
    case Compression::kZstd: {
      out->resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compressCCtx(zstd_->cctx, out->data(), out->size(), in.data(), in.size(),
                                   options_.zstd_level);
      if (ZSTD_isError(n)) {
        return Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      }
      out->resize(n);
      return Status::OK();
    }
  }
  return Internal("unknown compression");
}

void ParquetWriter::AppendPage(int32_t page_type, std::string_view body, int32_t num_values,
                               int32_t encoding, std::string* out) {
  // `body` is already compressed; scratch_ holds the uncompressed size in its length.
  std::string header;
  ThriftCompactWriter w(&header);
  w.FieldI32(1, page_type);
  w.FieldI32(2, static_cast<int32_t>(scratch_.size()));
  w.FieldI32(3, static_cast<int32_t>(body.size()));
  if (page_type == kDataPage) {
    w.BeginStructField(5);
    w.FieldI32(1, num_values);
    w.FieldI32(2, encoding);
    w.FieldI32(3, kRle);  // definition levels
    w.FieldI32(4, kRle);  // repetition levels (none in a flat schema)
    w.EndStruct();
  } else {
    w.BeginStructField(7);
    w.FieldI32(1, num_values);
    w.FieldI32(2, kPlain);
    w.EndStruct();
  }
  w.EndStruct();
  out->append(header);
  out->append(body);
}

Status ParquetWriter::FlushRowGroup(std::string* out) {
  if (buffered_rows_ == 0) return Status::OK();
  if (offset_ == 0) {
    out->append(kMagic);
    offset_ = kMagic.size();
  }
  RowGroupMeta rg;
  rg.num_rows = static_cast<int64_t>(buffered_rows_);
  rg.file_offset = static_cast<int64_t>(offset_);
  for (size_t c = 0; c < columns_.size(); ++c) {
    ColumnBuffer& buf = *buffers_[c];
    const ColumnSpec& spec = columns_[c];
    ChunkMeta chunk;
    chunk.num_values = static_cast<int64_t>(buffered_rows_);
    chunk.null_count = static_cast<int64_t>(buf.nulls());
    chunk.has_bounds = buf.StatsBounds(&chunk.min, &chunk.max);
    const size_t chunk_start = out->size();
    const bool dictionary = buf.dictionary_on() && buf.values() > 0;
    int bit_width = 0;
    if (dictionary) {
      chunk.dictionary_page_offset = static_cast<int64_t>(offset_);
      scratch_ = buf.dictionary_plain();
      WF_RETURN_IF_ERROR(Compress(scratch_, &compressed_));
      const size_t before = out->size();
      AppendPage(kDictionaryPage, compressed_, static_cast<int32_t>(buf.dictionary_size()), kPlain,
                 out);
      chunk.uncompressed +=
          static_cast<int64_t>(out->size() - before - compressed_.size() + scratch_.size());
      bit_width = std::max(1, BitWidth(static_cast<uint32_t>(buf.dictionary_size() - 1)));
      chunk.encodings = {kPlain, kRle, kRleDictionary};
    } else {
      chunk.encodings = {kPlain, kRle};
    }
    chunk.data_page_offset = static_cast<int64_t>(offset_ + (out->size() - chunk_start));

    // Data pages of about page_size bytes of values each.
    const int fixed_width =
        spec.physical == PhysicalType::kInt32 || spec.physical == PhysicalType::kFloat    ? 4
        : spec.physical == PhysicalType::kInt64 || spec.physical == PhysicalType::kDouble ? 8
        : spec.physical == PhysicalType::kBoolean                                         ? 1
        : spec.physical == PhysicalType::kFixedLenByteArray ? spec.type_length
                                                            : 0;
    const std::string& plain = buf.plain();
    std::vector<uint32_t> levels;
    size_t row = 0, value = 0, byte = 0;
    while (row < buffered_rows_) {
      const size_t row0 = row, value0 = value, byte0 = byte;
      while (row < buffered_rows_ && (byte - byte0 < options_.page_size || row == row0)) {
        if (!spec.optional || buf.def()[row]) {
          if (fixed_width > 0) {
            byte += fixed_width;
          } else {
            uint32_t len;
            std::memcpy(&len, plain.data() + byte, 4);
            byte += 4 + len;
          }
          ++value;
        }
        ++row;
      }
      scratch_.clear();
      if (spec.optional) {
        levels.assign(buf.def().begin() + row0, buf.def().begin() + row);
        std::string encoded;
        EncodeRleHybrid(levels.data(), levels.size(), 1, &encoded);
        PutU32(encoded.size(), &scratch_);
        scratch_.append(encoded);
      }
      if (dictionary) {
        scratch_.push_back(static_cast<char>(bit_width));
        EncodeRleHybrid(buf.indices().data() + value0, value - value0, bit_width, &scratch_);
      } else if (spec.physical == PhysicalType::kBoolean) {
        levels.resize(value - value0);
        for (size_t i = value0; i < value; ++i) levels[i - value0] = plain[i] ? 1 : 0;
        BitPack(levels.data(), levels.size(), 1, &scratch_);
      } else {
        scratch_.append(plain, byte0, byte - byte0);
      }
      WF_RETURN_IF_ERROR(Compress(scratch_, &compressed_));
      const size_t before = out->size();
      AppendPage(kDataPage, compressed_, static_cast<int32_t>(row - row0),
                 dictionary ? kRleDictionary : kPlain, out);
      chunk.uncompressed +=
          static_cast<int64_t>(out->size() - before - compressed_.size() + scratch_.size());
    }
    chunk.compressed = static_cast<int64_t>(out->size() - chunk_start);
    offset_ += out->size() - chunk_start;
    rg.uncompressed += chunk.uncompressed;
    rg.compressed += chunk.compressed;
    rg.chunks.push_back(std::move(chunk));
    buf.Reset();
  }
  rows_written_ += buffered_rows_;
  buffered_rows_ = 0;
  row_groups_.push_back(std::move(rg));
  return Status::OK();
}

std::string ParquetWriter::EncodeFooter() const {
  std::string footer;
  ThriftCompactWriter w(&footer);
  w.FieldI32(1, 1);  // version
  w.BeginListField(2, CompactType::kStruct, static_cast<uint32_t>(columns_.size() + 1));
  w.BeginListStruct();
  w.FieldBinary(4, "schema");
  w.FieldI32(5, static_cast<int32_t>(columns_.size()));
  w.EndStruct();
  for (const ColumnSpec& c : columns_) {
    w.BeginListStruct();
    w.FieldI32(1, static_cast<int32_t>(c.physical));
    if (c.physical == PhysicalType::kFixedLenByteArray) w.FieldI32(2, c.type_length);
    w.FieldI32(3, c.optional ? kOptional : kRequired);
    w.FieldBinary(4, c.name);
    // The legacy converted type where one means the same thing, for older readers.
    int32_t converted = -1;
    switch (c.logical) {
      case LogicalType::kNone:
      case LogicalType::kUuid: break;
      case LogicalType::kString: converted = kUtf8; break;
      case LogicalType::kEnum: converted = kEnumConverted; break;
      case LogicalType::kJson: converted = kJsonConverted; break;
      case LogicalType::kDecimal: converted = kDecimalConverted; break;
      case LogicalType::kDate: converted = kDateConverted; break;
      case LogicalType::kTime:
        converted = kTimeMicros;  // LogicalTypes.md: written for local times too
        break;
      case LogicalType::kTimestamp: converted = kTimestampMicros; break;
      case LogicalType::kInt16: converted = kInt16Converted; break;
      case LogicalType::kInt32: converted = kInt32Converted; break;
      case LogicalType::kInt64: converted = kInt64Converted; break;
    }
    if (converted >= 0) w.FieldI32(6, converted);
    if (c.logical == LogicalType::kDecimal) {
      w.FieldI32(7, c.scale);
      w.FieldI32(8, c.precision);
    }
    if (c.logical != LogicalType::kNone) {
      w.BeginStructField(10);
      switch (c.logical) {
        case LogicalType::kNone: break;
        case LogicalType::kString: w.EmptyStructField(1); break;
        case LogicalType::kEnum: w.EmptyStructField(4); break;
        case LogicalType::kDecimal:
          w.BeginStructField(5);
          w.FieldI32(1, c.scale);
          w.FieldI32(2, c.precision);
          w.EndStruct();
          break;
        case LogicalType::kDate: w.EmptyStructField(6); break;
        case LogicalType::kTime:
        case LogicalType::kTimestamp:
          w.BeginStructField(c.logical == LogicalType::kTime ? 7 : 8);
          w.FieldBool(1, c.utc);
          w.BeginStructField(2);  // TimeUnit
          w.EmptyStructField(2);  // MICROS
          w.EndStruct();
          w.EndStruct();
          break;
        case LogicalType::kInt16:
        case LogicalType::kInt32:
        case LogicalType::kInt64:
          w.BeginStructField(10);
          w.FieldByte(1, c.logical == LogicalType::kInt16   ? 16
                         : c.logical == LogicalType::kInt32 ? 32
                                                            : 64);
          w.FieldBool(2, true);
          w.EndStruct();
          break;
        case LogicalType::kJson: w.EmptyStructField(12); break;
        case LogicalType::kUuid: w.EmptyStructField(14); break;
      }
      w.EndStruct();
    }
    w.EndStruct();
  }
  w.FieldI64(3, static_cast<int64_t>(rows_written_));
  w.BeginListField(4, CompactType::kStruct, static_cast<uint32_t>(row_groups_.size()));
  for (const RowGroupMeta& rg : row_groups_) {
    w.BeginListStruct();
    w.BeginListField(1, CompactType::kStruct, static_cast<uint32_t>(rg.chunks.size()));
    for (size_t c = 0; c < rg.chunks.size(); ++c) {
      const ChunkMeta& m = rg.chunks[c];
      w.BeginListStruct();
      w.FieldI64(2, 0);  // file_offset: deprecated, 0 when the metadata is in the footer
      w.BeginStructField(3);
      w.FieldI32(1, static_cast<int32_t>(columns_[c].physical));
      w.BeginListField(2, CompactType::kI32, static_cast<uint32_t>(m.encodings.size()));
      for (int32_t e : m.encodings) w.ListI32(e);
      w.BeginListField(3, CompactType::kBinary, 1);
      w.ListBinary(columns_[c].name);
      w.FieldI32(4, CodecOf(options_.compression));
      w.FieldI64(5, m.num_values);
      w.FieldI64(6, m.uncompressed);
      w.FieldI64(7, m.compressed);
      w.FieldI64(9, m.data_page_offset);
      if (m.dictionary_page_offset >= 0) w.FieldI64(11, m.dictionary_page_offset);
      w.BeginStructField(12);
      w.FieldI64(3, m.null_count);
      if (m.has_bounds) {
        w.FieldBinary(5, m.max);
        w.FieldBinary(6, m.min);
      }
      w.EndStruct();
      w.EndStruct();  // ColumnMetaData
      w.EndStruct();  // ColumnChunk
    }
    w.FieldI64(2, rg.uncompressed);
    w.FieldI64(3, rg.num_rows);
    w.FieldI64(5, rg.file_offset);
    w.FieldI64(6, rg.compressed);
    w.EndStruct();
  }
  if (!options_.key_value_metadata.empty()) {
    w.BeginListField(5, CompactType::kStruct,
                     static_cast<uint32_t>(options_.key_value_metadata.size()));
    for (const auto& [k, v] : options_.key_value_metadata) {
      w.BeginListStruct();
      w.FieldBinary(1, k);
      w.FieldBinary(2, v);
      w.EndStruct();
    }
  }
  w.FieldBinary(6, options_.created_by);
  // TypeDefinedOrder for every column: min_value/max_value follow each type's order.
  w.BeginListField(7, CompactType::kStruct, static_cast<uint32_t>(columns_.size()));
  for (size_t c = 0; c < columns_.size(); ++c) {
    w.BeginListStruct();
    w.EmptyStructField(1);
    w.EndStruct();
  }
  w.EndStruct();
  return footer;
}

Status ParquetWriter::Finish(std::string* out) {
  if (finished_) return FailedPrecondition("parquet writer already finished");
  WF_RETURN_IF_ERROR(FlushRowGroup(out));
  if (offset_ == 0) {
    out->append(kMagic);
    offset_ = kMagic.size();
  }
  std::string footer = EncodeFooter();
  out->append(footer);
  PutU32(footer.size(), out);
  out->append(kMagic);
  offset_ += footer.size() + 4 + kMagic.size();
  finished_ = true;
  return Status::OK();
}

}  // namespace walflow::format::parquet
