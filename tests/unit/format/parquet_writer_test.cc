// ParquetWriter against the Apache Parquet specification:
//   * EncodeRleHybrid against byte sequences worked out by hand from the RLE/bit-packing
//     hybrid grammar (Encodings.md), and against a decoder written here from that grammar;
//   * the Thrift compact writer's FieldByte and EmptyStructField, byte for byte;
//   * the footer's schema annotations, decoded here from the Thrift compact bytes
//     (LogicalTypes.md: logical and legacy converted types);
//   * files read back by DuckDB, a reader independent of walflow's: values, DuckDB types,
//     parquet_schema, parquet_metadata (encodings, compression, statistics, row groups),
//     and the pages of the column chunks decoded here.
#include "format/parquet_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/parquet_test_util.h"
#include "format/thrift_compact.h"
#include "temp_dir.h"

namespace walflow::format::parquet {
namespace {

using test::DuckDbBatch;
using test::DuckDbPart;
using test::Sql;
using walflow::test::TempDir;
using int128 = __int128;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// ---- RLE / bit-packing hybrid ----------------------------------------------------------

std::string Rle(const std::vector<uint32_t>& values, int bit_width) {
  std::string out;
  EncodeRleHybrid(values.data(), values.size(), bit_width, &out);
  return out;
}

std::vector<uint32_t> Repeat(uint32_t value, size_t n) { return std::vector<uint32_t>(n, value); }

std::vector<uint32_t> Concat(std::initializer_list<std::vector<uint32_t>> parts) {
  std::vector<uint32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The first `n` values of 0, 1, ..., 7, 0, 1, ...: no two neighbours are equal.
std::vector<uint32_t> Cycle8(size_t n) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint32_t>(i % 8));
  return out;
}

// Decodes `count` values of the RLE/bit-packing hybrid (without the 4-byte length prefix)
// as Encodings.md defines it. Strict: every byte of `in` must be used, run lengths are
// at least 1, an RLE value fits `bit_width`, only the last bit-packed group may hold more
// than `count` values and its padding must be zero. Returns "" or what is wrong.
std::string DecodeRleHybrid(std::string_view in, int bit_width, size_t count,
                            std::vector<uint32_t>* out) {
  out->clear();
  size_t pos = 0;
  const uint64_t limit = bit_width == 32 ? (1ull << 32) : (1ull << bit_width);
  while (pos < in.size()) {
    if (out->size() >= count) return "bytes after the last value at " + std::to_string(pos);
    uint64_t header = 0;
    for (int shift = 0;; shift += 7) {
      if (pos >= in.size()) return "truncated run header";
      if (shift > 35) return "run header longer than 5 bytes";
      const auto b = static_cast<uint8_t>(in[pos++]);
      header |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (header & 1) {
      const uint64_t groups = header >> 1;
      if (groups == 0) return "bit-packed run of 0 groups";
      const uint64_t bytes = groups * static_cast<uint64_t>(bit_width);  // 8 values each
      if (pos + bytes > in.size()) return "truncated bit-packed run";
      for (uint64_t v = 0; v < groups * 8; ++v) {
        uint64_t value = 0;
        for (int bit = 0; bit < bit_width; ++bit) {
          const uint64_t at = v * bit_width + bit;
          const auto byte = static_cast<uint8_t>(in[pos + at / 8]);
          value |= static_cast<uint64_t>((byte >> (at % 8)) & 1) << bit;
        }
        if (out->size() < count) {
          out->push_back(static_cast<uint32_t>(value));
        } else {
          if (value != 0) return "non-zero padding in the last bit-packed group";
          if (pos + bytes != in.size()) return "padding in a bit-packed group that is not last";
        }
      }
      if (groups * 8 - 8 >= count) return "a whole bit-packed group of padding";
      pos += bytes;
    } else {
      const uint64_t n = header >> 1;
      if (n == 0) return "RLE run of length 0";
      const int value_bytes = (bit_width + 7) / 8;
      if (pos + value_bytes > in.size()) return "truncated RLE value";
      uint64_t value = 0;
      for (int b = 0; b < value_bytes; ++b) {
        value |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + b])) << (8 * b);
      }
      pos += value_bytes;
      if (value >= limit) return "RLE value wider than the bit width";
      if (out->size() + n > count) return "RLE run past the last value";
      out->insert(out->end(), n, static_cast<uint32_t>(value));
    }
  }
  if (out->size() != count) {
    return "decoded " + std::to_string(out->size()) + " values of " + std::to_string(count);
  }
  return "";
}

TEST(EncodeRleHybridTest, NoValuesNoBytes) { EXPECT_EQ(Rle({}, 3), ""); }

TEST(EncodeRleHybridTest, RunsOfEqualValues) {
  // rle-header = varint(run length << 1), then the value in ceil(bit_width / 8) bytes.
  EXPECT_EQ(Hex(Rle(Repeat(5, 8), 3)), Hex(Bytes({0x10, 0x05})));
  EXPECT_EQ(Hex(Rle(Repeat(0, 8), 1)), Hex(Bytes({0x10, 0x00})));
  EXPECT_EQ(Hex(Rle(Repeat(1, 100), 1)), Hex(Bytes({0xC8, 0x01, 0x01})));   // 200
  EXPECT_EQ(Hex(Rle(Repeat(1, 300), 1)), Hex(Bytes({0xD8, 0x04, 0x01})));   // 600
  EXPECT_EQ(Hex(Rle(Repeat(7, 1000), 3)), Hex(Bytes({0xD0, 0x0F, 0x07})));  // 2000
  // Two runs back to back.
  EXPECT_EQ(Hex(Rle(Concat({Repeat(1, 8), Repeat(0, 8)}), 1)),
            Hex(Bytes({0x10, 0x01, 0x10, 0x00})));
}

TEST(EncodeRleHybridTest, SevenEqualValuesAreBitPacked) {
  // Fewer than 8: one bit-packed group (header 1 << 1 | 1), padded with zeros.
  EXPECT_EQ(Hex(Rle(Repeat(1, 7), 1)), Hex(Bytes({0x03, 0x7F})));
}

TEST(EncodeRleHybridTest, ExactlyEightThenALiteral) {
  EXPECT_EQ(Hex(Rle(Concat({Repeat(2, 8), {3}}), 2)), Hex(Bytes({0x10, 0x02, 0x03, 0x03, 0x00})));
}

TEST(EncodeRleHybridTest, LiteralsOfOneToSeventeenValues) {
  // 0..7 with bit width 3 packs to 88 C6 FA (the example of Encodings.md); a partial group
  // of the first k values of 0..7, padded with zeros, packs to kPartial[k] (by hand: the sum
  // of value_i << 3i, little-endian).
  const std::string kFull = Bytes({0x88, 0xC6, 0xFA});
  const std::string kPartial[8] = {
      "",
      Bytes({0x00, 0x00, 0x00}),  // 0
      Bytes({0x08, 0x00, 0x00}),  // 0, 1
      Bytes({0x88, 0x00, 0x00}),  // 0, 1, 2
      Bytes({0x88, 0x06, 0x00}),  // ... 3
      Bytes({0x88, 0x46, 0x00}),  // ... 4
      Bytes({0x88, 0xC6, 0x02}),  // ... 5
      Bytes({0x88, 0xC6, 0x1A}),  // ... 6
  };
  for (size_t n = 1; n <= 17; ++n) {
    SCOPED_TRACE("n = " + std::to_string(n));
    std::string expected;
    expected.push_back(static_cast<char>(((n + 7) / 8) << 1 | 1));
    for (size_t g = 0; g < n / 8; ++g) expected += kFull;
    expected += kPartial[n % 8];
    EXPECT_EQ(Hex(Rle(Cycle8(n), 3)), Hex(expected));
  }
  // Bit width 1: 1, 0, 1, 0 ... LSB first is 0b01010101.
  EXPECT_EQ(Hex(Rle({1, 0, 1, 0, 1, 0, 1, 0}, 1)), Hex(Bytes({0x03, 0x55})));
  // 1000 alternating values: 125 groups, header varint(251) = FB 01.
  std::vector<uint32_t> alternating;
  for (int i = 0; i < 1000; ++i) alternating.push_back(i % 2);
  EXPECT_EQ(Hex(Rle(alternating, 1)), Hex(Bytes({0xFB, 0x01}) + std::string(125, '\xAA')));
}

TEST(EncodeRleHybridTest, RunAfterALiteralPrefixBorrowsIntoTheLastGroup) {
  // 1, 2, 3 then ten 5s: a bit-packed run holds whole groups of 8, so five 5s complete the
  // group [1, 2, 3, 5, 5, 5, 5, 5] (= 0xB6DAD1) and the run keeps the other five.
  EXPECT_EQ(Hex(Rle(Concat({{1, 2, 3}, Repeat(5, 10)}), 3)),
            Hex(Bytes({0x03, 0xD1, 0xDA, 0xB6, 0x0A, 0x05})));
  // And a literal tail after the run: [6, 7] = 0x3E, padded to a group of 3 bytes.
  EXPECT_EQ(Hex(Rle(Concat({{1, 2, 3}, Repeat(5, 10), {6, 7}}), 3)),
            Hex(Bytes({0x03, 0xD1, 0xDA, 0xB6, 0x0A, 0x05, 0x03, 0x3E, 0x00, 0x00})));
  // One literal, then eight 0s: seven borrowed, a run of one left.
  EXPECT_EQ(Hex(Rle(Concat({{3}, Repeat(0, 8)}), 2)), Hex(Bytes({0x03, 0x03, 0x00, 0x02, 0x00})));
  // Nine literals, then twelve 6s: two groups (the second [0, 6 x 7] = 0xDB6DB0), a run of 5.
  EXPECT_EQ(Hex(Rle(Concat({Cycle8(9), Repeat(6, 12)}), 3)),
            Hex(Bytes({0x05, 0x88, 0xC6, 0xFA, 0xB0, 0x6D, 0xDB, 0x0A, 0x06})));
  // Definition levels: 1 1 1 0 then eight 1s.
  EXPECT_EQ(Hex(Rle({1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 1)),
            Hex(Bytes({0x03, 0xF7, 0x08, 0x01})));
}

TEST(EncodeRleHybridTest, BitWidths) {
  // Width 0 (the writer uses at least 1): no value bytes at all.
  EXPECT_EQ(Hex(Rle(Repeat(0, 10), 0)), Hex(Bytes({0x14})));
  EXPECT_EQ(Hex(Rle(Repeat(0, 3), 0)), Hex(Bytes({0x03})));
  // Width 8: one byte per value.
  EXPECT_EQ(Hex(Rle(Repeat(0xAB, 9), 8)), Hex(Bytes({0x12, 0xAB})));
  EXPECT_EQ(Hex(Rle({0xFF, 0x00, 0x7F}, 8)), Hex(Bytes({0x03, 0xFF, 0x00, 0x7F, 0, 0, 0, 0, 0})));
  // Width 20: RLE values in 3 bytes; 8 values pack into 20 bytes.
  EXPECT_EQ(Hex(Rle(Repeat(0xABCDE, 9), 20)), Hex(Bytes({0x12, 0xDE, 0xBC, 0x0A})));
  EXPECT_EQ(Hex(Rle({0xFFFFF, 0x12345}, 20)),
            Hex(Bytes({0x03, 0xFF, 0xFF, 0x5F, 0x34, 0x12}) + std::string(15, '\0')));
  // Width 32.
  EXPECT_EQ(Hex(Rle(Repeat(0xDEADBEEF, 8), 32)), Hex(Bytes({0x10, 0xEF, 0xBE, 0xAD, 0xDE})));
  EXPECT_EQ(Hex(Rle({0xFFFFFFFF, 1}, 32)),
            Hex(Bytes({0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0, 0, 0}) + std::string(24, '\0')));
}

TEST(EncodeRleHybridTest, TheDecoderReadsTheGoldenExamples) {
  // The test's decoder against the spec's example, so the round trip below means something.
  std::vector<uint32_t> values;
  EXPECT_EQ(DecodeRleHybrid(Bytes({0x03, 0x88, 0xC6, 0xFA}), 3, 8, &values), "");
  EXPECT_EQ(values, Cycle8(8));
  EXPECT_EQ(DecodeRleHybrid(Bytes({0x03, 0xD1, 0xDA, 0xB6, 0x0A, 0x05}), 3, 13, &values), "");
  EXPECT_EQ(values, Concat({{1, 2, 3}, Repeat(5, 10)}));
  EXPECT_NE(DecodeRleHybrid(Bytes({0x10, 0x08}), 3, 8, &values), "");        // 8 needs 4 bits
  EXPECT_NE(DecodeRleHybrid(Bytes({0x10, 0x01}), 3, 7, &values), "");        // run past the end
  EXPECT_NE(DecodeRleHybrid(Bytes({0x03, 0x88, 0xC6}), 3, 8, &values), "");  // truncated
}

TEST(EncodeRleHybridTest, RoundTripsRandomSequences) {
  std::mt19937_64 random(20240229);
  const size_t kLengths[] = {0,  1,  2,  3,  5,   7,   8,   9,   15,   16,   17,   24,
                             31, 63, 64, 65, 100, 127, 128, 129, 1000, 4097, 20000};
  size_t checked = 0;
  for (int width = 1; width <= 32; ++width) {
    const uint64_t mask = width == 32 ? 0xFFFFFFFFull : (1ull << width) - 1;
    for (size_t length : kLengths) {
      for (int variant = 0; variant < 3; ++variant) {
        // Runs and literals mixed: a palette of few values makes runs likely.
        std::vector<uint32_t> palette;
        for (int i = 0; i < 3; ++i) palette.push_back(static_cast<uint32_t>(random() & mask));
        palette.push_back(static_cast<uint32_t>(mask));  // the widest value
        std::vector<uint32_t> values;
        while (values.size() < length) {
          const size_t n = std::min<size_t>(length - values.size(), 1 + random() % 40);
          switch ((random() + variant) % 3) {
            case 0: values.insert(values.end(), n, palette[random() % palette.size()]); break;
            case 1:
              for (size_t i = 0; i < n; ++i)
                values.push_back(static_cast<uint32_t>(random() & mask));
              break;
            default:
              for (size_t i = 0; i < n; ++i) values.push_back(palette[random() % 2]);
          }
        }
        std::vector<uint32_t> decoded;
        const std::string encoded = Rle(values, width);
        const std::string error = DecodeRleHybrid(encoded, width, values.size(), &decoded);
        ASSERT_EQ(error, "") << "width " << width << ", " << length << " values";
        ASSERT_EQ(decoded, values) << "width " << width << ", " << length << " values";
        // Never worse than bit-packing everything, plus a header per 8 values at most.
        EXPECT_LE(encoded.size(), (length + 7) / 8 * (width + 5) + 5);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 32u * std::size(kLengths) * 3);
}

// ---- Thrift compact: FieldByte and EmptyStructField --------------------------------------

TEST(ThriftCompactParquetTest, FieldByteIsOneRawByte) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.FieldByte(1, 16);    // header delta 1, type 3 (byte): 0x13, then the byte
  w.FieldByte(2, -1);    // 0x13 0xFF
  w.FieldByte(3, 127);   // 0x13 0x7F
  w.FieldByte(4, -128);  // 0x13 0x80
  w.FieldByte(30, 64);   // delta 26: long form, 0x03 then zigzag(30) = 60
  w.EndStruct();
  EXPECT_EQ(Hex(out),
            Hex(Bytes({0x13, 0x10, 0x13, 0xFF, 0x13, 0x7F, 0x13, 0x80, 0x03, 0x3C, 0x40, 0x00})));
}

TEST(ThriftCompactParquetTest, EmptyStructFieldIsAHeaderAndAStop) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.EmptyStructField(1);   // 0x1C 0x00
  w.FieldI32(2, 7);        // the outer struct continues from id 1: 0x15, zigzag 14
  w.EmptyStructField(14);  // delta 12: 0xCC 0x00
  w.EmptyStructField(40);  // delta 26: long form 0x0C, zigzag(40) = 80, then the stop
  w.EndStruct();
  EXPECT_EQ(Hex(out), Hex(Bytes({0x1C, 0x00, 0x15, 0x0E, 0xCC, 0x00, 0x0C, 0x50, 0x00, 0x00})));
}

TEST(ThriftCompactParquetTest, LogicalTypeUnions) {
  std::string out;
  ThriftCompactWriter w(&out);
  // SchemaElement.logicalType (10) = LogicalType.INTEGER (10) = IntType{bitWidth 16, signed}.
  w.BeginStructField(10);  // 0xAC
  w.BeginStructField(10);  // 0xAC
  w.FieldByte(1, 16);      // 0x13 0x10
  w.FieldBool(2, true);    // 0x11
  w.EndStruct();
  w.EndStruct();
  // LogicalType.TIMESTAMP (8) = {isAdjustedToUTC false, unit: TimeUnit.MICROS (2) = {}}; the
  // outer struct continues from id 10, so 8 takes the long form.
  w.BeginStructField(8);  // 0x0C 0x10
  w.FieldBool(1, false);  // 0x12
  w.BeginStructField(2);  // 0x1C
  w.EmptyStructField(2);  // 0x2C 0x00
  w.EndStruct();          // TimeUnit
  w.EndStruct();          // TimestampType
  w.EndStruct();
  EXPECT_EQ(Hex(out), Hex(Bytes({0xAC, 0xAC, 0x13, 0x10, 0x11, 0x00, 0x00, 0x0C, 0x10, 0x12, 0x1C,
                                 0x2C, 0x00, 0x00, 0x00, 0x00})));
}

// ---- A Thrift compact reader (Apache Thrift's compact protocol), for footers and pages ------

struct ThriftValue {
  int type = 0;                                         // compact type of the value
  int64_t i = 0;                                        // bool (0/1), byte, i16, i32, i64
  std::string bin;                                      // binary
  std::vector<std::pair<int16_t, ThriftValue>> fields;  // struct
  std::vector<ThriftValue> elements;                    // list

  const ThriftValue* Get(int16_t id) const {
    for (const auto& [fid, v] : fields) {
      if (fid == id) return &v;
    }
    return nullptr;
  }
  bool Has(int16_t id) const { return Get(id) != nullptr; }
  int64_t Int(int16_t id) const {
    const ThriftValue* v = Get(id);
    if (v == nullptr) throw std::runtime_error("no field " + std::to_string(id));
    return v->i;
  }
  const ThriftValue& At(int16_t id) const {
    const ThriftValue* v = Get(id);
    if (v == nullptr) throw std::runtime_error("no field " + std::to_string(id));
    return *v;
  }
  // The ids of the fields, in order (to check a union holds exactly one, and which).
  std::vector<int16_t> Ids() const {
    std::vector<int16_t> ids;
    for (const auto& f : fields) ids.push_back(f.first);
    return ids;
  }
};

class ThriftReader {
 public:
  ThriftReader(std::string_view in, size_t pos) : in_(in), pos_(pos) {}
  size_t pos() const { return pos_; }

  ThriftValue Struct() {
    ThriftValue s;
    s.type = 12;
    int16_t last = 0;
    for (;;) {
      const uint8_t b = Byte();
      if (b == 0) return s;
      const int type = b & 0x0f;
      const int delta = b >> 4;
      const auto id = static_cast<int16_t>(delta ? last + delta : UnZigZag(Varint()));
      last = id;
      ThriftValue v;
      if (type == 1 || type == 2) {
        v.type = type;
        v.i = type == 1;
      } else {
        v = Value(type);
      }
      s.fields.emplace_back(id, std::move(v));
    }
  }

 private:
  uint8_t Byte() {
    if (pos_ >= in_.size()) throw std::runtime_error("thrift: truncated");
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    throw std::runtime_error("thrift: varint too long");
  }
  static int64_t UnZigZag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }

  ThriftValue Value(int type) {
    ThriftValue v;
    v.type = type;
    switch (type) {
      case 3: v.i = static_cast<int8_t>(Byte()); break;
      case 4:
      case 5:
      case 6: v.i = UnZigZag(Varint()); break;
      case 7:
        for (int i = 0; i < 8; ++i) v.bin.push_back(static_cast<char>(Byte()));
        break;
      case 8: {
        const uint64_t n = Varint();
        if (pos_ + n > in_.size()) throw std::runtime_error("thrift: truncated binary");
        v.bin.assign(in_.substr(pos_, n));
        pos_ += n;
        break;
      }
      case 9:
      case 10: {
        const uint8_t h = Byte();
        uint64_t size = h >> 4;
        if (size == 15) size = Varint();
        const int element = h & 0x0f;
        for (uint64_t i = 0; i < size; ++i) {
          if (element == 1 || element == 2) {
            ThriftValue b;
            b.type = 1;
            b.i = Byte() == 1;
            v.elements.push_back(b);
          } else {
            v.elements.push_back(Value(element));
          }
        }
        break;
      }
      case 12: v = Struct(); break;
      default: throw std::runtime_error("thrift: unexpected type " + std::to_string(type));
    }
    return v;
  }

  std::string_view in_;
  size_t pos_;
};

ThriftValue ReadFooter(const std::string& file) {
  if (file.size() < 12 || file.substr(0, 4) != "PAR1" || file.substr(file.size() - 4) != "PAR1") {
    throw std::runtime_error("not a Parquet file");
  }
  uint32_t length;
  std::memcpy(&length, file.data() + file.size() - 8, 4);
  const size_t start = file.size() - 8 - length;
  ThriftReader r(file, start);
  ThriftValue footer = r.Struct();
  if (r.pos() != file.size() - 8) throw std::runtime_error("footer length does not match");
  return footer;
}

// ---- Writing files --------------------------------------------------------------------

ColumnSpec Spec(std::string name, PhysicalType physical, LogicalType logical = LogicalType::kNone,
                bool optional = true) {
  ColumnSpec c;
  c.name = std::move(name);
  c.physical = physical;
  c.logical = logical;
  c.optional = optional;
  return c;
}

ColumnSpec DecimalSpec(std::string name, PhysicalType physical, int32_t precision, int32_t scale,
                       int32_t length = 0) {
  ColumnSpec c = Spec(std::move(name), physical, LogicalType::kDecimal);
  c.precision = precision;
  c.scale = scale;
  c.type_length = length;
  return c;
}

ColumnSpec TimeSpec(std::string name, LogicalType logical, bool utc) {
  ColumnSpec c = Spec(std::move(name), PhysicalType::kInt64, logical);
  c.utc = utc;
  return c;
}

ColumnSpec FixedSpec(std::string name, int32_t length, LogicalType logical = LogicalType::kNone) {
  ColumnSpec c = Spec(std::move(name), PhysicalType::kFixedLenByteArray, logical);
  c.type_length = length;
  return c;
}

int128 Pow10(int n) {
  int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Two's complement big-endian in `bytes` bytes, as FIXED_LEN_BYTE_ARRAY decimals are stored.
std::string BigEndian(int128 value, int bytes) {
  std::string out(bytes, '\0');
  auto u = static_cast<unsigned __int128>(value);
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  return out;
}

std::string Int128Text(int128 v) {
  if (v == 0) return "0";
  const bool negative = v < 0;
  auto u = negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string digits;
  while (u > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative) digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

std::string UuidBytes(std::string_view text) {
  std::string out;
  int high = -1;
  for (char c : text) {
    if (c == '-') continue;
    const int h = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    if (high < 0) {
      high = h;
    } else {
      out.push_back(static_cast<char>(high << 4 | h));
      high = -1;
    }
  }
  return out;
}

// Writes the finished file to `path` and returns its bytes.
std::string FinishTo(ParquetWriter* w, std::string bytes, const std::string& path) {
  const Status s = w->Finish(&bytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(w->bytes_written(), bytes.size());
  test::WriteFile(path, bytes);
  return bytes;
}

std::string Metadata(const std::string& file) {
  return "SELECT row_group_id, row_group_num_rows, column_id, path_in_schema, type, num_values, "
         "stats_null_count, stats_min_value, stats_max_value, stats_min, stats_max, compression, "
         "encodings, dictionary_page_offset, data_page_offset, total_compressed_size, "
         "total_uncompressed_size FROM parquet_metadata(" +
         Sql(file) + ")";
}

std::string Schema(const std::string& file) {
  return "SELECT name, type, type_length, repetition_type, converted_type, scale, precision, "
         "logical_type, duckdb_type, column_id FROM parquet_schema(" +
         Sql(file) + ")";
}

std::string Data(const std::string& file, const std::string& columns = "*") {
  return "SELECT " + columns + " FROM read_parquet(" + Sql(file) + ", file_row_number = true)";
}

std::string Types(const std::string& file) {
  return "SELECT typeof(COLUMNS(*)) FROM read_parquet(" + Sql(file) + ") LIMIT 1";
}

// The values of `column` in every row of `part`.
std::vector<std::optional<std::string>> ColumnOf(const DuckDbPart& part,
                                                 const std::string& column) {
  std::vector<std::optional<std::string>> out;
  for (size_t r = 0; r < part.rows.size(); ++r) out.push_back(part.At(r, column));
  return out;
}

using Opt = std::optional<std::string>;
const Opt kNull = std::nullopt;

// ---- One column of every type --------------------------------------------------------------

std::vector<ColumnSpec> EveryTypeColumns() {
  return {
      Spec("b", PhysicalType::kBoolean),
      Spec("i16", PhysicalType::kInt32, LogicalType::kInt16),
      Spec("i32", PhysicalType::kInt32, LogicalType::kInt32),
      Spec("i64", PhysicalType::kInt64, LogicalType::kInt64),
      Spec("i32_raw", PhysicalType::kInt32),
      Spec("i64_raw", PhysicalType::kInt64),
      Spec("f", PhysicalType::kFloat),
      Spec("d", PhysicalType::kDouble),
      Spec("s", PhysicalType::kByteArray, LogicalType::kString),
      Spec("e", PhysicalType::kByteArray, LogicalType::kEnum),
      Spec("j", PhysicalType::kByteArray, LogicalType::kJson),
      FixedSpec("u", 16, LogicalType::kUuid),
      Spec("dt", PhysicalType::kInt32, LogicalType::kDate),
      TimeSpec("t", LogicalType::kTime, false),
      TimeSpec("ttz", LogicalType::kTime, true),
      TimeSpec("ts", LogicalType::kTimestamp, false),
      TimeSpec("tstz", LogicalType::kTimestamp, true),
      Spec("bin", PhysicalType::kByteArray),
      FixedSpec("fixed", 3),
      Spec("req", PhysicalType::kInt64, LogicalType::kInt64, /*optional=*/false),
      DecimalSpec("dec", PhysicalType::kInt32, 9, 2),
  };
}

// Three rows: typical values, other values, NULL wherever the column is OPTIONAL.
void AppendEveryTypeRows(ParquetWriter* w) {
  const int64_t ts = 1704164645123456;  // 2024-01-02 03:04:05.123456
  w->AppendBool(0, true);
  w->AppendInt32(1, -32768);
  w->AppendInt32(2, std::numeric_limits<int32_t>::min());
  w->AppendInt64(3, std::numeric_limits<int64_t>::min());
  w->AppendInt32(4, 7);
  w->AppendInt64(5, int64_t{1} << 40);
  w->AppendFloat(6, 1.5f);
  w->AppendDouble(7, 0.1);
  w->AppendBytes(8, "h\xC3\xA9llo \xF0\x9F\x8E\x89");
  w->AppendBytes(9, "happy");
  w->AppendBytes(10, R"({"a":[1,2]})");
  w->AppendBytes(11, UuidBytes("80000000-0000-0000-0000-000000000000"));
  w->AppendInt32(12, 19782);  // 2024-02-29
  w->AppendInt64(13, 86399999999);
  w->AppendInt64(14, 3723000001);
  w->AppendInt64(15, ts);
  w->AppendInt64(16, ts);
  w->AppendBytes(17, Bytes({0x00, 0xFF}));
  w->AppendBytes(18, Bytes({0x01, 0x02, 0x03}));
  w->AppendInt64(19, 1);
  w->AppendInt32(20, 12345);
  w->EndRow();

  w->AppendBool(0, false);
  w->AppendInt32(1, 32767);
  w->AppendInt32(2, std::numeric_limits<int32_t>::max());
  w->AppendInt64(3, std::numeric_limits<int64_t>::max());
  w->AppendInt32(4, -7);
  w->AppendInt64(5, -1);
  w->AppendFloat(6, -2.25f);
  w->AppendDouble(7, -1e300);
  w->AppendBytes(8, "");
  w->AppendBytes(9, "sad");
  w->AppendBytes(10, "[]");
  w->AppendBytes(11, UuidBytes("7fffffff-ffff-ffff-ffff-ffffffffffff"));
  w->AppendInt32(12, -1);
  w->AppendInt64(13, 0);
  w->AppendInt64(14, 0);
  w->AppendInt64(15, -1);
  w->AppendInt64(16, 0);
  w->AppendBytes(17, "abc");
  w->AppendBytes(18, "xyz");
  w->AppendInt64(19, 2);
  w->AppendInt32(20, -1);
  w->EndRow();

  for (size_t c = 0; c < 21; ++c) {
    if (c == 19) {
      w->AppendInt64(19, 3);
    } else {
      w->AppendNull(c);
    }
  }
  w->EndRow();
}

// The footer's SchemaElements, decoded here: every annotation as LogicalTypes.md asks.
TEST(ParquetFooterTest, SchemaAnnotationsFollowTheSpec) {
  ParquetWriter w(EveryTypeColumns(), WriterOptions{});
  AppendEveryTypeRows(&w);
  std::string file;
  ASSERT_TRUE(w.Finish(&file).ok());
  const ThriftValue footer = ReadFooter(file);
  EXPECT_EQ(footer.Int(1), 1);  // version
  EXPECT_EQ(footer.Int(3), 3);  // num_rows
  const auto& schema = footer.At(2).elements;
  ASSERT_EQ(schema.size(), 22u);
  EXPECT_EQ(schema[0].At(4).bin, "schema");
  EXPECT_EQ(schema[0].Int(5), 21);  // num_children
  EXPECT_FALSE(schema[0].Has(1));   // the root is a group: no type

  struct Expect {
    const char* name;
    int type;
    int converted;  // -1: none
    int logical;    // LogicalType union field, -1: none
  };
  // parquet.thrift: Type BOOLEAN 0, INT32 1, INT64 2, FLOAT 4, DOUBLE 5, BYTE_ARRAY 6,
  // FIXED_LEN_BYTE_ARRAY 7. ConvertedType UTF8 0, ENUM 4, DECIMAL 5, DATE 6, TIME_MICROS 8,
  // TIMESTAMP_MICROS 10, INT_16 16, INT_32 17, INT_64 18, JSON 19. LogicalType STRING 1,
  // ENUM 4, DECIMAL 5, DATE 6, TIME 7, TIMESTAMP 8, INTEGER 10, JSON 12, UUID 14.
  // Local TIME and TIMESTAMP carry TIME_MICROS / TIMESTAMP_MICROS too: "Parquet writer
  // implementation *must* annotate local time with legacy annotations too" (LogicalTypes.md,
  // "Deprecated time ConvertedType" and "Deprecated timestamp ConvertedType").
  const Expect kExpected[] = {
      {"b", 0, -1, -1},       {"i16", 1, 16, 10},     {"i32", 1, 17, 10},   {"i64", 2, 18, 10},
      {"i32_raw", 1, -1, -1}, {"i64_raw", 2, -1, -1}, {"f", 4, -1, -1},     {"d", 5, -1, -1},
      {"s", 6, 0, 1},         {"e", 6, 4, 4},         {"j", 6, 19, 12},     {"u", 7, -1, 14},
      {"dt", 1, 6, 6},        {"t", 2, 8, 7},         {"ttz", 2, 8, 7},     {"ts", 2, 10, 8},
      {"tstz", 2, 10, 8},     {"bin", 6, -1, -1},     {"fixed", 7, -1, -1}, {"req", 2, 18, 10},
      {"dec", 1, 5, 5},
  };
  for (size_t i = 0; i < std::size(kExpected); ++i) {
    const Expect& e = kExpected[i];
    const ThriftValue& el = schema[i + 1];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(el.At(4).bin, e.name);
    EXPECT_EQ(el.Int(1), e.type);
    EXPECT_EQ(el.Int(3), std::string(e.name) == "req" ? 0 : 1);  // REQUIRED 0, OPTIONAL 1
    if (e.converted < 0) {
      EXPECT_FALSE(el.Has(6)) << "converted_type " << el.Int(6);
    } else {
      EXPECT_TRUE(el.Has(6) && el.Int(6) == e.converted)
          << "converted_type " << (el.Has(6) ? std::to_string(el.Int(6)) : "missing")
          << ", the spec's is " << e.converted;
    }
    if (e.logical < 0) {
      EXPECT_FALSE(el.Has(10));
      continue;
    }
    ASSERT_TRUE(el.Has(10));
    EXPECT_EQ(el.At(10).Ids(), std::vector<int16_t>{static_cast<int16_t>(e.logical)});
  }
  // Parameters of the parameterised logical types.
  const auto logical = [&](size_t column) { return schema[column + 1].At(10).fields[0].second; };
  for (size_t c : {1u, 2u, 3u, 19u}) {
    const ThriftValue& int_type = logical(c);
    EXPECT_EQ(int_type.At(1).type, 3);  // bitWidth is an i8
    EXPECT_EQ(int_type.Int(1), c == 1 ? 16 : c == 2 ? 32 : 64);
    EXPECT_EQ(int_type.Int(2), 1);  // isSigned
  }
  for (size_t c : {13u, 14u, 15u, 16u}) {
    const ThriftValue& time = logical(c);
    EXPECT_EQ(time.Int(1), c == 14 || c == 16 ? 1 : 0) << "isAdjustedToUTC of column " << c;
    EXPECT_EQ(time.At(2).Ids(), std::vector<int16_t>{2});  // TimeUnit.MICROS
  }
  EXPECT_EQ(logical(20).Int(1), 2);  // DecimalType.scale
  EXPECT_EQ(logical(20).Int(2), 9);  // DecimalType.precision
  EXPECT_EQ(schema[21].Int(7), 2);   // SchemaElement.scale
  EXPECT_EQ(schema[21].Int(8), 9);   // SchemaElement.precision
  EXPECT_EQ(schema[12].Int(2), 16);  // uuid: type_length 16
  EXPECT_EQ(schema[19].Int(2), 3);   // fixed: type_length 3
  // Every column's order is TypeDefinedOrder (ColumnOrder field 1).
  ASSERT_TRUE(footer.Has(7));
  ASSERT_EQ(footer.At(7).elements.size(), 21u);
  for (const ThriftValue& order : footer.At(7).elements) {
    EXPECT_EQ(order.Ids(), std::vector<int16_t>{1});
  }
  EXPECT_EQ(footer.At(6).bin, "walflow");
}

// RowGroup and ColumnChunk fields of parquet.thrift, decoded here.
TEST(ParquetFooterTest, RowGroupsAndColumnChunks) {
  WriterOptions options;
  options.compression = Compression::kNone;
  ParquetWriter w({Spec("id", PhysicalType::kInt64, LogicalType::kNone, false),
                   Spec("s", PhysicalType::kByteArray, LogicalType::kString)},
                  options);
  std::string file;
  for (int g = 0; g < 2; ++g) {
    for (int r = 0; r < 10 + g; ++r) {
      w.AppendInt64(0, r);
      w.AppendBytes(1, r % 2 ? "odd" : "even");
      w.EndRow();
    }
    ASSERT_TRUE(w.FlushRowGroup(&file).ok());
  }
  ASSERT_TRUE(w.Finish(&file).ok());
  const ThriftValue footer = ReadFooter(file);
  EXPECT_EQ(footer.Int(3), 21);
  const auto& groups = footer.At(4).elements;
  ASSERT_EQ(groups.size(), 2u);
  int64_t next = 4;  // after the magic number
  for (size_t g = 0; g < 2; ++g) {
    SCOPED_TRACE("row group " + std::to_string(g));
    const ThriftValue& rg = groups[g];
    EXPECT_EQ(rg.Int(3), 10 + static_cast<int64_t>(g));  // num_rows
    EXPECT_EQ(rg.Int(5), next) << "file_offset: the first page of the row group";
    const auto& chunks = rg.At(1).elements;
    ASSERT_EQ(chunks.size(), 2u);
    int64_t compressed = 0, uncompressed = 0;
    for (size_t c = 0; c < 2; ++c) {
      SCOPED_TRACE("column " + std::to_string(c));
      const ThriftValue& chunk = chunks[c];
      // parquet.thrift, ColumnChunk.file_offset: "Writers should set this field to 0 if no
      // ColumnMetaData has been written outside the footer."
      EXPECT_EQ(chunk.Int(2), 0) << "ColumnChunk.file_offset (deprecated)";
      const ThriftValue& meta = chunk.At(3);
      EXPECT_EQ(meta.Int(1), c == 0 ? 2 : 6);  // type
      ASSERT_EQ(meta.At(3).elements.size(), 1u);
      EXPECT_EQ(meta.At(3).elements[0].bin, c == 0 ? "id" : "s");  // path_in_schema
      EXPECT_EQ(meta.Int(4), 0);                                   // codec UNCOMPRESSED
      EXPECT_EQ(meta.Int(5), 10 + static_cast<int64_t>(g));        // num_values
      const int64_t first = meta.Has(11) ? meta.Int(11) : meta.Int(9);
      EXPECT_EQ(first, next) << "chunks follow each other";
      if (meta.Has(11)) {
        EXPECT_LT(meta.Int(11), meta.Int(9));  // the dictionary page first
      }
      EXPECT_EQ(meta.Int(6), meta.Int(7)) << "uncompressed";
      next = first + meta.Int(7);
      compressed += meta.Int(7);
      uncompressed += meta.Int(6);
    }
    EXPECT_EQ(rg.Int(6), compressed);    // total_compressed_size
    EXPECT_EQ(rg.Int(2), uncompressed);  // total_byte_size
  }
  const uint32_t footer_length = static_cast<uint32_t>(file.size() - 8 - next);
  uint32_t stored;
  std::memcpy(&stored, file.data() + file.size() - 8, 4);
  EXPECT_EQ(stored, footer_length) << "the footer follows the last row group";
}

TEST(ParquetWriterDuckDbTest, EveryTypeReadsBackWithItsSchemaAndStatistics) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("types.parquet");
  ParquetWriter w(EveryTypeColumns(), WriterOptions{});
  AppendEveryTypeRows(&w);
  FinishTo(&w, "", file);

  DuckDbBatch batch;
  batch.Add("data", Data(file), "file_row_number");
  batch.Add("types", Types(file), "");
  batch.Add("schema", Schema(file), "column_id");
  batch.Add("meta", Metadata(file), "row_group_id, column_id");
  batch.Add("hex", Data(file, "hex(bin) AS bin, hex(fixed) AS fixed, file_row_number"),
            "file_row_number");
  auto parts = batch.Run();

  const DuckDbPart& types = parts["types"];
  ASSERT_EQ(types.rows.size(), 1u);
  EXPECT_EQ(types.columns,
            (std::vector<std::string>{"b",   "i16", "i32",  "i64", "i32_raw", "i64_raw", "f",
                                      "d",   "s",   "e",    "j",   "u",       "dt",      "t",
                                      "ttz", "ts",  "tstz", "bin", "fixed",   "req",     "dec"}));
  EXPECT_EQ(types.rows[0], (test::Cells{"BOOLEAN",
                                        "SMALLINT",
                                        "INTEGER",
                                        "BIGINT",
                                        "INTEGER",
                                        "BIGINT",
                                        "FLOAT",
                                        "DOUBLE",
                                        "VARCHAR",
                                        "VARCHAR",
                                        "JSON",
                                        "UUID",
                                        "DATE",
                                        "TIME",
                                        "TIME WITH TIME ZONE",
                                        "TIMESTAMP",
                                        "TIMESTAMP WITH TIME ZONE",
                                        "BLOB",
                                        "BLOB",
                                        "BIGINT",
                                        "DECIMAL(9,2)"}));

  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 3u);
  const test::Cells row0 = {"true",
                            "-32768",
                            "-2147483648",
                            "-9223372036854775808",
                            "7",
                            "1099511627776",
                            "1.5",
                            "0.1",
                            "h\xC3\xA9llo \xF0\x9F\x8E\x89",
                            "happy",
                            R"({"a":[1,2]})",
                            "80000000-0000-0000-0000-000000000000",
                            "2024-02-29",
                            "23:59:59.999999",
                            "01:02:03.000001+00",
                            "2024-01-02 03:04:05.123456",
                            "2024-01-02 03:04:05.123456+00",
                            "\\x00\\xFF",
                            "\\x01\\x02\\x03",
                            "1",
                            "123.45",
                            "0"};
  const test::Cells row1 = {"false",
                            "32767",
                            "2147483647",
                            "9223372036854775807",
                            "-7",
                            "-1",
                            "-2.25",
                            "-1e+300",
                            "",
                            "sad",
                            "[]",
                            "7fffffff-ffff-ffff-ffff-ffffffffffff",
                            "1969-12-31",
                            "00:00:00",
                            "00:00:00+00",
                            "1969-12-31 23:59:59.999999",
                            "1970-01-01 00:00:00+00",
                            "abc",
                            "xyz",
                            "2",
                            "-0.01",
                            "1"};
  test::Cells row2(22, kNull);
  row2[19] = "3";
  row2[21] = "2";
  EXPECT_EQ(data.rows[0], row0);
  EXPECT_EQ(data.rows[1], row1);
  EXPECT_EQ(data.rows[2], row2);
  EXPECT_EQ(parts["hex"].rows,
            (std::vector<test::Cells>{
                {"00FF", "010203", "0"}, {"616263", "78797A", "1"}, {kNull, kNull, "2"}}));

  // parquet_schema: physical, converted and logical types as DuckDB decodes them.
  const DuckDbPart& schema = parts["schema"];
  ASSERT_EQ(schema.rows.size(), 22u);
  struct SchemaRow {
    const char* name;
    const char* type;
    Opt converted;
    Opt logical;
    const char* duckdb;
  };
  const std::string kMicros = "unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))";
  // DuckDB prints IntType's i8 bitWidth as a character: 16 is "\x10", 32 " ", 64 "@".
  const auto int_type = [](char width) {
    return "IntType(bitWidth=" + std::string(1, width) + ", isSigned=1)";
  };
  const SchemaRow kSchema[] = {
      {"b", "BOOLEAN", kNull, kNull, "BOOLEAN"},
      {"i16", "INT32", "INT_16", int_type(16), "SMALLINT"},
      {"i32", "INT32", "INT_32", int_type(32), "INTEGER"},
      {"i64", "INT64", "INT_64", int_type(64), "BIGINT"},
      {"i32_raw", "INT32", kNull, kNull, "INTEGER"},
      {"i64_raw", "INT64", kNull, kNull, "BIGINT"},
      {"f", "FLOAT", kNull, kNull, "FLOAT"},
      {"d", "DOUBLE", kNull, kNull, "DOUBLE"},
      {"s", "BYTE_ARRAY", "UTF8", "StringType()", "VARCHAR"},
      {"e", "BYTE_ARRAY", "ENUM", "EnumType()", "VARCHAR"},
      {"j", "BYTE_ARRAY", "JSON", "JsonType()", "JSON"},
      {"u", "FIXED_LEN_BYTE_ARRAY", kNull, "UUIDType()", "UUID"},
      {"dt", "INT32", "DATE", "DateType()", "DATE"},
      {"t", "INT64", "TIME_MICROS", "TimeType(isAdjustedToUTC=0, " + kMicros, "TIME"},
      {"ttz", "INT64", "TIME_MICROS", "TimeType(isAdjustedToUTC=1, " + kMicros,
       "TIME WITH TIME ZONE"},
      {"ts", "INT64", "TIMESTAMP_MICROS", "TimestampType(isAdjustedToUTC=0, " + kMicros,
       "TIMESTAMP"},
      {"tstz", "INT64", "TIMESTAMP_MICROS", "TimestampType(isAdjustedToUTC=1, " + kMicros,
       "TIMESTAMP WITH TIME ZONE"},
      {"bin", "BYTE_ARRAY", kNull, kNull, "BLOB"},
      {"fixed", "FIXED_LEN_BYTE_ARRAY", kNull, kNull, "BLOB"},
      {"req", "INT64", "INT_64", int_type(64), "BIGINT"},
      {"dec", "INT32", "DECIMAL", "DecimalType(scale=2, precision=9)", "DECIMAL(9,2)"},
  };
  for (size_t i = 0; i < std::size(kSchema); ++i) {
    const SchemaRow& e = kSchema[i];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(schema.At(i + 1, "name"), e.name);
    EXPECT_EQ(schema.At(i + 1, "type"), e.type);
    EXPECT_EQ(schema.At(i + 1, "repetition_type"),
              std::string(e.name) == "req" ? "REQUIRED" : "OPTIONAL");
    EXPECT_EQ(schema.At(i + 1, "converted_type"), e.converted);
    EXPECT_EQ(schema.At(i + 1, "logical_type"), e.logical);
    EXPECT_EQ(schema.At(i + 1, "duckdb_type"), e.duckdb);
  }
  EXPECT_EQ(schema.At(12, "type_length"), "16");
  EXPECT_EQ(schema.At(19, "type_length"), "3");
  EXPECT_EQ(schema.At(21, "scale"), "2");
  EXPECT_EQ(schema.At(21, "precision"), "9");

  // Statistics: min/max in each type's order (UUID unsigned, so 7fff... < 8000...),
  // null_count, num_values counting NULLs.
  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 21u);
  struct Stats {
    const char* column;
    Opt min, max;
  };
  const Stats kStats[] = {
      {"b", "false", "true"},
      {"i16", "-32768", "32767"},
      {"i32", "-2147483648", "2147483647"},
      {"i64", "-9223372036854775808", "9223372036854775807"},
      {"i32_raw", "-7", "7"},
      {"i64_raw", "-1", "1099511627776"},
      {"f", "-2.25", "1.5"},
      {"d", "-1e+300", "0.1"},
      {"s", "", "h\xC3\xA9llo \xF0\x9F\x8E\x89"},
      {"e", "happy", "sad"},
      {"j", "[]", R"({"a":[1,2]})"},
      {"u", "7fffffff-ffff-ffff-ffff-ffffffffffff", "80000000-0000-0000-0000-000000000000"},
      {"dt", "1969-12-31", "2024-02-29"},
      {"t", "00:00:00", "23:59:59.999999"},
      {"ttz", "00:00:00+00", "01:02:03.000001+00"},
      {"ts", "1969-12-31 23:59:59.999999", "2024-01-02 03:04:05.123456"},
      {"tstz", "1970-01-01 00:00:00+00", "2024-01-02 03:04:05.123456+00"},
      {"bin", "\\x00\\xFF", "abc"},
      {"fixed", "\\x01\\x02\\x03", "xyz"},
      {"req", "1", "3"},
      {"dec", "-0.01", "123.45"},
  };
  for (size_t i = 0; i < std::size(kStats); ++i) {
    SCOPED_TRACE(kStats[i].column);
    EXPECT_EQ(meta.At(i, "path_in_schema"), kStats[i].column);
    EXPECT_EQ(meta.At(i, "num_values"), "3");
    EXPECT_EQ(meta.At(i, "stats_null_count"), std::string(kStats[i].column) == "req" ? "0" : "1");
    EXPECT_EQ(meta.At(i, "stats_min_value"), kStats[i].min);
    EXPECT_EQ(meta.At(i, "stats_max_value"), kStats[i].max);
    EXPECT_EQ(meta.At(i, "compression"), "ZSTD");  // the default
  }
}

// ---- Floating point ----------------------------------------------------------------------

TEST(ParquetWriterDuckDbTest, FloatingPointSpecialValuesAndTheirStatistics) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("floats.parquet");
  ParquetWriter w({Spec("f", PhysicalType::kFloat), Spec("d", PhysicalType::kDouble),
                   Spec("d_nan", PhysicalType::kDouble), Spec("d_zero", PhysicalType::kDouble),
                   Spec("d_nanfirst", PhysicalType::kDouble), Spec("f_zero", PhysicalType::kFloat)},
                  WriterOptions{});
  using FL = std::numeric_limits<float>;
  using DL = std::numeric_limits<double>;
  const float fs[] = {
      1.5f, -0.0f, FL::quiet_NaN(), FL::infinity(), -FL::infinity(), FL::denorm_min(), FL::max()};
  const double ds[] = {
      1.5, -0.0, DL::quiet_NaN(), DL::infinity(), -DL::infinity(), DL::denorm_min(), DL::max()};
  const double nanfirst[] = {DL::quiet_NaN(), 2.0, -1e-310,         1.0,
                             DL::quiet_NaN(), 3.0, -DL::quiet_NaN()};
  for (int r = 0; r < 8; ++r) {
    if (r < 7) {
      w.AppendFloat(0, fs[r]);
      w.AppendDouble(1, ds[r]);
      w.AppendDouble(2, DL::quiet_NaN());
      w.AppendDouble(4, nanfirst[r]);
    } else {
      w.AppendNull(0);
      w.AppendNull(1);
      w.AppendNull(2);
      w.AppendNull(4);
    }
    w.AppendDouble(3, r % 2 ? -0.0 : 0.0);
    w.AppendFloat(5, 0.0f);
    w.EndRow();
  }
  FinishTo(&w, "", file);

  DuckDbBatch batch;
  batch.Add("data", Data(file), "file_row_number");
  batch.Add("meta", Metadata(file), "column_id");
  // Filters DuckDB answers with the statistics (a wrong bound would skip the row group).
  batch.Add("filters",
            "SELECT (SELECT count(*) FROM read_parquet(" + Sql(file) +
                ") WHERE d_nanfirst > 2.5) "
                "AS above, (SELECT count(*) FROM read_parquet(" +
                Sql(file) +
                ") WHERE d_nanfirst < 0) "
                "AS below, (SELECT count(*) FROM read_parquet(" +
                Sql(file) +
                ") WHERE d = 'inf') AS inf, "
                "(SELECT count(*) FROM read_parquet(" +
                Sql(file) + ") WHERE f < -1e38) AS ninf",
            "");
  auto parts = batch.Run();

  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 8u);
  EXPECT_EQ(ColumnOf(data, "f"),
            (test::Cells{"1.5", "-0.0", "nan", "inf", "-inf", "1e-45", "3.4028235e+38", kNull}));
  EXPECT_EQ(ColumnOf(data, "d"), (test::Cells{"1.5", "-0.0", "nan", "inf", "-inf", "5e-324",
                                              "1.7976931348623157e+308", kNull}));
  EXPECT_EQ(ColumnOf(data, "d_zero"),
            (test::Cells{"0.0", "-0.0", "0.0", "-0.0", "0.0", "-0.0", "0.0", "-0.0"}));
  EXPECT_EQ(ColumnOf(data, "d_nanfirst")[2], "-1e-310");

  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 6u);
  // NaN is in no bound; a chunk of NaNs only has none. Zero bounds: min -0.0, max +0.0.
  // (DuckDB shows no bound that is infinite, even in its own files: f and d are checked
  // in the footer below.)
  EXPECT_EQ(meta.At(2, "stats_min_value"), kNull);
  EXPECT_EQ(meta.At(2, "stats_max_value"), kNull);
  EXPECT_EQ(meta.At(3, "stats_min_value"), "-0.0");
  EXPECT_EQ(meta.At(3, "stats_max_value"), "0.0");
  EXPECT_EQ(meta.At(4, "stats_min_value"), "-1e-310");
  EXPECT_EQ(meta.At(4, "stats_max_value"), "3.0");
  EXPECT_EQ(meta.At(5, "stats_min_value"), "-0.0");
  EXPECT_EQ(meta.At(5, "stats_max_value"), "0.0");
  EXPECT_EQ(ColumnOf(meta, "stats_null_count"), (test::Cells{"1", "1", "1", "0", "1", "0"}));
  // DuckDB orders NaN above every number: the NaNs count as > 2.5.
  EXPECT_EQ(parts["filters"].rows, (std::vector<test::Cells>{{"4", "1", "1", "1"}}));

  // The statistics in the footer: min_value (6) and max_value (5), PLAIN-encoded.
  const ThriftValue footer = ReadFooter(test::ReadFile(file));
  const auto stats = [&](size_t column) -> const ThriftValue& {
    return footer.At(4).elements.at(0).At(1).elements.at(column).At(3).At(12);
  };
  auto le = [](auto v) {
    std::string b(sizeof(v), '\0');
    std::memcpy(b.data(), &v, sizeof(v));
    return Hex(b);
  };
  EXPECT_EQ(Hex(stats(0).At(6).bin), le(-FL::infinity()));
  EXPECT_EQ(Hex(stats(0).At(5).bin), le(FL::infinity()));
  EXPECT_EQ(Hex(stats(1).At(6).bin), le(-DL::infinity()));
  EXPECT_EQ(Hex(stats(1).At(5).bin), le(DL::infinity()));
  EXPECT_FALSE(stats(2).Has(5) || stats(2).Has(6)) << "NaN only: no bounds";
  EXPECT_EQ(Hex(stats(3).At(6).bin), le(-0.0));
  EXPECT_EQ(Hex(stats(3).At(5).bin), le(0.0));
  EXPECT_EQ(Hex(stats(4).At(6).bin), le(-1e-310));
  EXPECT_EQ(Hex(stats(4).At(5).bin), le(3.0));
  EXPECT_EQ(Hex(stats(5).At(6).bin), le(-0.0f));  // only +0.0 written: the minimum is -0.0
  EXPECT_EQ(Hex(stats(5).At(5).bin), le(0.0f));
  for (size_t c = 0; c < 6; ++c) EXPECT_EQ(stats(c).Int(3), c == 3 || c == 5 ? 0 : 1);
}

// ---- Decimals on INT32, INT64 and FIXED_LEN_BYTE_ARRAY ------------------------------------

TEST(ParquetWriterDuckDbTest, DecimalsOnEveryPhysicalType) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("decimals.parquet");
  ParquetWriter w(
      {DecimalSpec("d1", PhysicalType::kInt32, 1, 0), DecimalSpec("d9", PhysicalType::kInt32, 9, 2),
       DecimalSpec("d10", PhysicalType::kInt64, 10, 0),
       DecimalSpec("d18", PhysicalType::kInt64, 18, 4),
       DecimalSpec("d19", PhysicalType::kFixedLenByteArray, 19, 2, 9),
       DecimalSpec("d38", PhysicalType::kFixedLenByteArray, 38, 10, 16),
       DecimalSpec("d38s38", PhysicalType::kFixedLenByteArray, 38, 38, 16),
       DecimalSpec("d38s0", PhysicalType::kFixedLenByteArray, 38, 0, 16)},
      WriterOptions{});
  const int128 max19 = Pow10(19) - 1, max38 = Pow10(38) - 1;
  const int128 two64 = static_cast<int128>(1) << 64;
  struct Row {
    int32_t d1, d9;
    int64_t d10, d18;
    int128 d19, d38, d38s38, d38s0;
  };
  const Row rows[] = {
      {9, 999999999, 9999999999, 999999999999999999, max19, max38, max38, max38},
      {-9, -999999999, -9999999999, -999999999999999999, -max19, -max38, -max38, -max38},
      {0, -1, 0, 12345, -1, 1, 0, -two64},
      {-1, 1, -1, -1, 256, -1, -1, two64 - 1},
  };
  for (const Row& r : rows) {
    w.AppendInt32(0, r.d1);
    w.AppendInt32(1, r.d9);
    w.AppendInt64(2, r.d10);
    w.AppendInt64(3, r.d18);
    w.AppendBytes(4, BigEndian(r.d19, 9));
    w.AppendBytes(5, BigEndian(r.d38, 16));
    w.AppendBytes(6, BigEndian(r.d38s38, 16));
    w.AppendBytes(7, BigEndian(r.d38s0, 16));
    w.EndRow();
  }
  FinishTo(&w, "", file);

  DuckDbBatch batch;
  batch.Add("data", Data(file), "file_row_number");
  batch.Add("types", Types(file), "");
  batch.Add("meta", Metadata(file), "column_id");
  batch.Add("filters",
            "SELECT (SELECT count(*) FROM read_parquet(" + Sql(file) +
                ") WHERE d38s0 < 0) AS neg,"
                " (SELECT count(*) FROM read_parquet(" +
                Sql(file) +
                ") WHERE d19 > 99999999999999999.98)"
                " AS top",
            "");
  auto parts = batch.Run();

  EXPECT_EQ(parts["types"].rows,
            (std::vector<test::Cells>{{"DECIMAL(1,0)", "DECIMAL(9,2)", "DECIMAL(10,0)",
                                       "DECIMAL(18,4)", "DECIMAL(19,2)", "DECIMAL(38,10)",
                                       "DECIMAL(38,38)", "DECIMAL(38,0)"}}));
  // DuckDB prints a DECIMAL(38,38) without the leading zero: ".5".
  const std::string nines38(38, '9');
  const std::vector<test::Cells> expected = {
      {"9", "9999999.99", "9999999999", "99999999999999.9999", "99999999999999999.99",
       nines38.substr(0, 28) + "." + nines38.substr(0, 10), "." + nines38, nines38, "0"},
      {"-9", "-9999999.99", "-9999999999", "-99999999999999.9999", "-99999999999999999.99",
       "-" + nines38.substr(0, 28) + "." + nines38.substr(0, 10), "-." + nines38, "-" + nines38,
       "1"},
      {"0", "-0.01", "0", "1.2345", "-0.01", "0.0000000001", "." + std::string(38, '0'),
       "-18446744073709551616", "2"},
      {"-1", "0.01", "-1", "-0.0001", "2.56", "-0.0000000001", "-." + std::string(37, '0') + "1",
       "18446744073709551615", "3"},
  };
  EXPECT_EQ(parts["data"].rows, expected);

  // Signed order for every physical type (FIXED_LEN_BYTE_ARRAY: two's complement).
  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 8u);
  for (size_t c = 0; c < 8; ++c) {
    SCOPED_TRACE(*meta.At(c, "path_in_schema"));
    EXPECT_EQ(meta.At(c, "stats_min_value"), expected[1][c]);
    EXPECT_EQ(meta.At(c, "stats_max_value"), expected[0][c]);
    EXPECT_EQ(meta.At(c, "stats_null_count"), "0");
  }
  EXPECT_EQ(parts["filters"].rows, (std::vector<test::Cells>{{"2", "1"}}));
}

// ---- Strings and bytes ---------------------------------------------------------------------

TEST(ParquetWriterDuckDbTest, StringsJsonEnumsAndBytes) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("strings.parquet");
  ParquetWriter w({Spec("s", PhysicalType::kByteArray, LogicalType::kString),
                   Spec("big", PhysicalType::kByteArray, LogicalType::kString),
                   Spec("long", PhysicalType::kByteArray, LogicalType::kString),
                   Spec("e", PhysicalType::kByteArray, LogicalType::kEnum),
                   Spec("j", PhysicalType::kByteArray, LogicalType::kJson),
                   Spec("bin", PhysicalType::kByteArray),
                   Spec("max256", PhysicalType::kByteArray, LogicalType::kString),
                   Spec("min257", PhysicalType::kByteArray, LogicalType::kString)},
                  WriterOptions{});
  // A 3 MB value of 1-, 2-, 3- and 4-byte UTF-8 characters.
  std::string big;
  const char* kPieces[] = {"a", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x8E\x89", "\"", "\\", "\n"};
  std::mt19937 random(7);
  while (big.size() < 3 * 1024 * 1024) big += kPieces[random() % std::size(kPieces)];
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  const std::string m257(257, 'm');

  // max256: its maximum is 256 bytes long (a bound still written); min257: its minimum is 257.
  const std::string z256(256, 'z'), a257(257, 'a');
  const std::vector<std::vector<Opt>> rows = {
      {"h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x8E\x89", big, "a", "happy",
       R"({"k": "v", "n": [1, 2.5]})", all_bytes, "a", a257},
      {"", "short", m257, "sad", "null", "", z256, "b"},
      {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", kNull, "z", "so-so", "[]", "\xFF", kNull, "c"},
      {"tab\there", "", kNull, kNull, "\"text\"", kNull, "m", kNull},
  };
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (row[c]) {
        w.AppendBytes(c, *row[c]);
      } else {
        w.AppendNull(c);
      }
    }
    w.EndRow();
  }
  FinishTo(&w, "", file);

  DuckDbBatch batch;
  batch.Add("data", Data(file, "s, big, long, e, j, hex(bin) AS bin, file_row_number"),
            "file_row_number");
  batch.Add("types", Types(file), "");
  batch.Add("meta", Metadata(file), "column_id");
  auto parts = batch.Run();

  EXPECT_EQ(parts["types"].rows,
            (std::vector<test::Cells>{{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR", "JSON", "BLOB",
                                       "VARCHAR", "VARCHAR"}}));
  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 4u);
  for (size_t r = 0; r < rows.size(); ++r) {
    SCOPED_TRACE("row " + std::to_string(r));
    for (const char* c : {"s", "long", "e", "j"}) {
      const size_t i = std::string(c) == "s"      ? 0
                       : std::string(c) == "long" ? 2
                       : std::string(c) == "e"    ? 3
                                                  : 4;
      EXPECT_EQ(data.At(r, c), rows[r][i]) << c;
    }
    const Opt& got_big = data.At(r, "big");
    ASSERT_EQ(got_big.has_value(), rows[r][1].has_value());
    if (got_big) {
      EXPECT_EQ(got_big->size(), rows[r][1]->size());
      EXPECT_TRUE(*got_big == *rows[r][1]) << "the 3 MB value differs";
    }
    EXPECT_EQ(data.At(r, "bin"), rows[r][5] ? Opt(Hex(*rows[r][5])) : kNull);
  }

  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 8u);
  // Unsigned byte order: "" < "h..." < "tab" < 0xE6 (日).
  EXPECT_EQ(meta.At(0, "stats_min_value"), "");
  EXPECT_EQ(meta.At(0, "stats_max_value"), "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  EXPECT_EQ(meta.At(0, "stats_null_count"), "0");
  // A 3 MB maximum is no useful bound: the writer leaves both out (or writes a bound that
  // still holds it; an exact copy is not expected).
  EXPECT_EQ(meta.At(1, "stats_null_count"), "1");
  if (meta.At(1, "stats_min_value")) {
    EXPECT_EQ(meta.At(1, "stats_min_value"), "");
  }
  EXPECT_LE(meta.At(1, "stats_max_value").value_or("").size(), 4096u);
  // A long value that is neither bound does not stop the statistics.
  EXPECT_EQ(meta.At(2, "stats_min_value"), "a");
  EXPECT_EQ(meta.At(2, "stats_max_value"), "z");
  EXPECT_EQ(meta.At(3, "stats_min_value"), "happy");
  EXPECT_EQ(meta.At(3, "stats_max_value"), "so-so");
  EXPECT_EQ(meta.At(4, "stats_min_value"), "\"text\"");
  EXPECT_EQ(meta.At(4, "stats_max_value"), R"({"k": "v", "n": [1, 2.5]})");
  // BYTE_ARRAY: all 256 bytes sort after "" and before 0xFF.
  EXPECT_EQ(meta.At(5, "stats_null_count"), "1");
  EXPECT_EQ(meta.At(5, "stats_max_value"), "\\xFF");
  // "longer than 256 bytes": a 256-byte bound is kept, a 257-byte one is not.
  EXPECT_EQ(meta.At(6, "stats_min_value"), "a");
  EXPECT_EQ(meta.At(6, "stats_max_value"), z256);
  EXPECT_EQ(meta.At(7, "stats_min_value"), kNull);
  EXPECT_EQ(meta.At(7, "stats_max_value"), kNull);
  EXPECT_EQ(meta.At(7, "stats_null_count"), "1");
}

WriterOptions SnappyOptions() {
  WriterOptions options;
  options.compression = Compression::kSnappy;
  return options;
}

// ---- NULLs and repetition ------------------------------------------------------------------

TEST(ParquetWriterDuckDbTest, RequiredOptionalAndAllNullColumns) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("nulls.parquet");
  ParquetWriter w({Spec("req_i32", PhysicalType::kInt32, LogicalType::kInt32, false),
                   Spec("all_null", PhysicalType::kInt64),
                   Spec("first_null", PhysicalType::kByteArray, LogicalType::kString),
                   Spec("last_null", PhysicalType::kDouble),
                   Spec("req_str", PhysicalType::kByteArray, LogicalType::kString, false),
                   Spec("alt", PhysicalType::kBoolean),
                   Spec("req_bool", PhysicalType::kBoolean, LogicalType::kNone, false),
                   Spec("all_null_str", PhysicalType::kByteArray, LogicalType::kString)},
                  SnappyOptions());
  const int kRows = 21;
  std::vector<test::Cells> expected;
  for (int r = 0; r < kRows; ++r) {
    test::Cells row;
    w.AppendInt32(0, r * 3 - 30);
    row.push_back(std::to_string(r * 3 - 30));
    w.AppendNull(1);
    row.push_back(kNull);
    if (r == 0) {
      w.AppendNull(2);
      row.push_back(kNull);
    } else {
      w.AppendBytes(2, "v" + std::to_string(r % 5));
      row.push_back("v" + std::to_string(r % 5));
    }
    if (r == kRows - 1) {
      w.AppendNull(3);
      row.push_back(kNull);
    } else {
      w.AppendDouble(3, r + 0.5);
      row.push_back(std::to_string(r) + ".5");
    }
    w.AppendBytes(4, "row " + std::to_string(r));
    row.push_back("row " + std::to_string(r));
    if (r % 2) {
      w.AppendNull(5);
      row.push_back(kNull);
    } else {
      w.AppendBool(5, r % 4 == 0);
      row.push_back(r % 4 == 0 ? "true" : "false");
    }
    w.AppendBool(6, r % 3 == 0);
    row.push_back(r % 3 == 0 ? "true" : "false");
    w.AppendNull(7);
    row.push_back(kNull);
    row.push_back(std::to_string(r));  // file_row_number
    w.EndRow();
    expected.push_back(row);
  }
  FinishTo(&w, "", file);

  DuckDbBatch batch;
  batch.Add("data", Data(file), "file_row_number");
  batch.Add("schema", Schema(file), "column_id");
  batch.Add("meta", Metadata(file), "column_id");
  auto parts = batch.Run();
  EXPECT_EQ(parts["data"].rows, expected);

  const DuckDbPart& schema = parts["schema"];
  ASSERT_EQ(schema.rows.size(), 9u);
  EXPECT_EQ(ColumnOf(schema, "repetition_type"),
            (test::Cells{kNull /* the root has none */, "REQUIRED", "OPTIONAL", "OPTIONAL",
                         "OPTIONAL", "REQUIRED", "OPTIONAL", "REQUIRED", "OPTIONAL"}));

  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 8u);
  EXPECT_EQ(ColumnOf(meta, "num_values"), test::Cells(8, "21"));
  EXPECT_EQ(ColumnOf(meta, "compression"), test::Cells(8, "SNAPPY"));
  EXPECT_EQ(ColumnOf(meta, "stats_null_count"),
            (test::Cells{"0", "21", "1", "1", "0", "10", "0", "21"}));
  EXPECT_EQ(ColumnOf(meta, "stats_min_value"),
            (test::Cells{"-30", kNull, "v0", "0.5", "row 0", "false", "false", kNull}));
  EXPECT_EQ(ColumnOf(meta, "stats_max_value"),
            (test::Cells{"30", kNull, "v4", "19.5", "row 9", "true", "true", kNull}));
}

// ---- Dictionary encoding and its fallback to PLAIN -----------------------------------------

TEST(ParquetWriterDuckDbTest, DictionaryWhileSmallPlainBeyondTheLimits) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("dictionary.parquet");
  WriterOptions options;
  options.compression = Compression::kNone;
  options.dictionary_entry_limit = 16;
  options.dictionary_byte_limit = 64;  // PLAIN-encoded bytes: a 12-byte BYTE_ARRAY takes 16
  ParquetWriter w(
      {Spec("few", PhysicalType::kByteArray, LogicalType::kString),
       Spec("many", PhysicalType::kByteArray, LogicalType::kString),
       Spec("bytes4", PhysicalType::kByteArray), Spec("bytes5", PhysicalType::kByteArray),
       Spec("ints16", PhysicalType::kInt32), Spec("ints17", PhysicalType::kInt32),
       Spec("flag", PhysicalType::kBoolean), Spec("one", PhysicalType::kInt64)},
      options);
  const char* kColors[] = {"red", "green", "blue"};
  std::vector<test::Cells> expected;
  std::string out;
  auto add = [&](int r, bool second_group) {
    test::Cells row;
    if (r % 7 == 3) {
      w.AppendNull(0);
      row.push_back(kNull);
    } else {
      w.AppendBytes(0, kColors[r % 3]);
      row.push_back(kColors[r % 3]);
    }
    const std::string many = second_group ? "x" : "value-" + std::to_string(r);
    w.AppendBytes(1, many);
    row.push_back(many);
    const std::string b4 = "twelve-byte" + std::to_string(r % 4);
    const std::string b5 = "twelve-byte" + std::to_string(r % 5);
    w.AppendBytes(2, b4);
    row.push_back(b4);
    w.AppendBytes(3, b5);
    row.push_back(b5);
    w.AppendInt32(4, r % 16 * 1000);
    row.push_back(std::to_string(r % 16 * 1000));
    w.AppendInt32(5, r % 17);
    row.push_back(std::to_string(r % 17));
    w.AppendBool(6, r % 2 == 0);
    row.push_back(r % 2 == 0 ? "true" : "false");
    w.AppendInt64(7, 42);
    row.push_back("42");
    w.EndRow();
    expected.push_back(row);
  };
  for (int r = 0; r < 100; ++r) add(r, false);
  ASSERT_TRUE(w.FlushRowGroup(&out).ok());
  for (int r = 100; r < 130; ++r) add(r, true);
  FinishTo(&w, out, file);

  // Under the default limits: 5000 distinct values of 5000 are not worth a dictionary (the
  // writer gives up after a sample), 100 distinct values are.
  const std::string sample = dir.File("sample.parquet");
  {
    WriterOptions defaults;
    defaults.compression = Compression::kNone;
    ParquetWriter s({Spec("uniq", PhysicalType::kInt64), Spec("repeated", PhysicalType::kInt64)},
                    defaults);
    for (int r = 0; r < 5000; ++r) {
      s.AppendInt64(0, r * 7919);
      s.AppendInt64(1, r % 100);
      s.EndRow();
    }
    FinishTo(&s, "", sample);
  }

  DuckDbBatch batch;
  batch.Add("sample", Metadata(sample), "column_id");
  batch.Add("sample_data",
            "SELECT count(*) AS n, sum(uniq) AS d, sum(repeated) AS r FROM read_parquet(" +
                Sql(sample) + ")",
            "");
  batch.Add("data", Data(file, "* EXCLUDE (file_row_number), file_row_number"), "file_row_number");
  batch.Add("meta", Metadata(file), "row_group_id, column_id");
  auto parts = batch.Run();
  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), expected.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    test::Cells got = data.rows[r];
    got.pop_back();  // file_row_number
    EXPECT_EQ(got, expected[r]) << "row " << r;
  }

  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 16u);
  const std::string kDictionary = "PLAIN, RLE, RLE_DICTIONARY";
  const std::string kPlain = "PLAIN, RLE";
  // Row group 0: few (3 entries), bytes4 (4 x 16 = 64 bytes: at the limit), ints16 (16
  // entries: at the limit) and one stay dictionary-encoded; many (100 entries), bytes5
  // (80 bytes) and ints17 (17 entries) fall back; booleans never use a dictionary.
  const std::string kGroup0[] = {kDictionary, kPlain, kDictionary, kPlain,
                                 kDictionary, kPlain, kPlain,      kDictionary};
  // A column that fell back stays PLAIN in the next row groups (many holds one value there).
  const std::string kGroup1[] = {kDictionary, kPlain, kDictionary, kPlain,
                                 kDictionary, kPlain, kPlain,      kDictionary};
  for (size_t c = 0; c < 8; ++c) {
    SCOPED_TRACE(*meta.At(c, "path_in_schema"));
    EXPECT_EQ(meta.At(c, "encodings"), kGroup0[c]);
    EXPECT_EQ(meta.At(8 + c, "encodings"), kGroup1[c]);
    EXPECT_EQ(meta.At(c, "dictionary_page_offset").has_value(), kGroup0[c] == kDictionary);
    EXPECT_EQ(meta.At(8 + c, "dictionary_page_offset").has_value(), kGroup1[c] == kDictionary);
    EXPECT_EQ(meta.At(c, "num_values"), "100");
    EXPECT_EQ(meta.At(8 + c, "num_values"), "30");
    EXPECT_EQ(meta.At(c, "compression"), "UNCOMPRESSED");
  }
  EXPECT_EQ(meta.At(0, "stats_null_count"), "14");  // r % 7 == 3 in 0..99
  EXPECT_EQ(meta.At(0, "stats_min_value"), "blue");
  EXPECT_EQ(meta.At(0, "stats_max_value"), "red");
  EXPECT_EQ(meta.At(9, "stats_min_value"), "x");
  EXPECT_EQ(meta.At(9, "stats_max_value"), "x");
  EXPECT_EQ(meta.At(1, "stats_min_value"), "value-0");
  EXPECT_EQ(meta.At(1, "stats_max_value"), "value-99");

  EXPECT_EQ(ColumnOf(parts["sample"], "encodings"), (test::Cells{kPlain, kDictionary}));
  // sum(r * 7919) = 7919 * 4999 * 5000 / 2; sum(r % 100) = 50 * 4950.
  EXPECT_EQ(parts["sample_data"].rows,
            (std::vector<test::Cells>{{"5000", "98967702500", "247500"}}));
}

// ---- Row groups and pages --------------------------------------------------------------------

struct Page {
  int type = -1;  // DATA_PAGE 0, DICTIONARY_PAGE 2
  size_t offset = 0, header_size = 0;
  int64_t uncompressed = 0, compressed = 0, num_values = 0, encoding = -1;
  std::string body;
};

// The pages of the column chunk at [start, start + size) of `file`.
std::vector<Page> ReadPages(const std::string& file, size_t start, size_t size) {
  std::vector<Page> pages;
  size_t pos = start;
  while (pos < start + size) {
    ThriftReader r(file, pos);
    const ThriftValue header = r.Struct();
    Page p;
    p.offset = pos;
    p.header_size = r.pos() - pos;
    p.type = static_cast<int>(header.Int(1));
    p.uncompressed = header.Int(2);
    p.compressed = header.Int(3);
    if (p.type == 2) {
      p.num_values = header.At(7).Int(1);
      p.encoding = header.At(7).Int(2);
    } else if (p.type == 0) {
      const ThriftValue& d = header.At(5);
      p.num_values = d.Int(1);
      p.encoding = d.Int(2);
      EXPECT_EQ(d.Int(3), 3) << "definition levels: RLE";
      EXPECT_EQ(d.Int(4), 3) << "repetition levels: RLE";
    } else {
      ADD_FAILURE() << "unexpected page type " << p.type;
    }
    p.body = file.substr(r.pos(), p.compressed);
    pos = r.pos() + p.compressed;
    pages.push_back(std::move(p));
  }
  EXPECT_EQ(pos, start + size) << "pages run past the chunk";
  return pages;
}

// Reads one PLAIN value of `type` at `*pos` of `body` as text (integers in decimal).
std::string PlainValue(const std::string& body, size_t* pos, PhysicalType type) {
  if (type == PhysicalType::kInt32) {
    int32_t v;
    std::memcpy(&v, body.data() + *pos, 4);
    *pos += 4;
    return std::to_string(v);
  }
  if (type == PhysicalType::kInt64) {
    int64_t v;
    std::memcpy(&v, body.data() + *pos, 8);
    *pos += 8;
    return std::to_string(v);
  }
  uint32_t n;
  std::memcpy(&n, body.data() + *pos, 4);
  std::string v = body.substr(*pos + 4, n);
  *pos += 4 + n;
  return v;
}

// Decodes the values of an uncompressed chunk's pages, as a reader following the spec
// would: definition levels (4-byte length, RLE hybrid of width 1) for OPTIONAL columns,
// then PLAIN values or a bit width and RLE hybrid dictionary indices.
// `max_values_per_page`: a page holding more non-NULL values is a failure (0: no limit).
std::vector<Opt> DecodeChunk(const std::vector<Page>& pages, PhysicalType type, bool optional,
                             size_t max_values_per_page = 0) {
  std::vector<Opt> out;
  std::vector<std::string> dictionary;
  for (size_t i = 0; i < pages.size(); ++i) {
    const Page& p = pages[i];
    EXPECT_EQ(p.uncompressed, p.compressed) << "uncompressed file";
    if (p.type == 2) {
      EXPECT_EQ(i, 0u) << "the dictionary page comes first";
      EXPECT_EQ(p.encoding, 0) << "dictionary page: PLAIN";
      size_t pos = 0;
      for (int64_t v = 0; v < p.num_values; ++v)
        dictionary.push_back(PlainValue(p.body, &pos, type));
      EXPECT_EQ(pos, p.body.size());
      continue;
    }
    size_t pos = 0;
    std::vector<uint32_t> defs(p.num_values, 1);
    if (optional) {
      uint32_t length;
      std::memcpy(&length, p.body.data(), 4);
      EXPECT_EQ(DecodeRleHybrid(std::string_view(p.body).substr(4, length), 1, p.num_values, &defs),
                "")
          << "definition levels of page " << i;
      pos = 4 + length;
    }
    size_t present = 0;
    for (uint32_t d : defs) present += d;
    if (max_values_per_page > 0) {
      EXPECT_LE(present, max_values_per_page) << "values in page " << i;
    }
    std::vector<std::string> values;
    if (p.encoding == 0 && type == PhysicalType::kBoolean) {
      // Bit-packed, LSB first.
      for (size_t v = 0; v < present; ++v) {
        values.push_back((static_cast<uint8_t>(p.body.at(pos + v / 8)) >> (v % 8)) & 1 ? "true"
                                                                                       : "false");
      }
      pos += (present + 7) / 8;
      EXPECT_EQ(pos, p.body.size()) << "bytes after the values of page " << i;
    } else if (p.encoding == 0) {
      for (size_t v = 0; v < present; ++v) values.push_back(PlainValue(p.body, &pos, type));
      EXPECT_EQ(pos, p.body.size()) << "bytes after the values of page " << i;
    } else {
      EXPECT_EQ(p.encoding, 8) << "RLE_DICTIONARY";
      EXPECT_FALSE(dictionary.empty());
      const int width = static_cast<uint8_t>(p.body[pos]);
      EXPECT_GE(width, 1);
      EXPECT_LE(width, 32);
      std::vector<uint32_t> indices;
      EXPECT_EQ(DecodeRleHybrid(std::string_view(p.body).substr(pos + 1), width, present, &indices),
                "")
          << "dictionary indices of page " << i;
      for (uint32_t index : indices) {
        EXPECT_LT(index, dictionary.size());
        values.push_back(index < dictionary.size() ? dictionary[index] : "?");
      }
    }
    size_t next = 0;
    for (uint32_t d : defs) out.push_back(d ? Opt(values.at(next++)) : kNull);
  }
  return out;
}

std::string U(const std::optional<std::string>& v) { return v.value_or("<null>"); }

TEST(ParquetWriterDuckDbTest, RowGroupsPagesAndTheirOffsets) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("groups.parquet");
  const std::string tiny = dir.File("tiny_pages.parquet");
  WriterOptions options;
  options.compression = Compression::kNone;
  options.page_size = 64;
  options.dictionary_entry_limit = 8;
  const std::vector<ColumnSpec> columns = {
      Spec("id", PhysicalType::kInt64, LogicalType::kInt64, false), Spec("v", PhysicalType::kInt32),
      Spec("s", PhysicalType::kByteArray, LogicalType::kString),
      Spec("u", PhysicalType::kByteArray, LogicalType::kString),
      Spec("flag", PhysicalType::kBoolean)};
  ParquetWriter w(columns, options);
  std::vector<std::vector<Opt>> expected(5);  // per column
  const char* kWords[] = {"alpha", "beta", "gamma"};
  int64_t id = 0;
  // Each row group goes to its own buffer, as a sink streams them.
  std::vector<std::string> buffers;
  for (int rows : {100, 1, 250}) {
    for (int r = 0; r < rows; ++r, ++id) {
      w.AppendInt64(0, id);
      expected[0].push_back(std::to_string(id));
      if (id % 5 == 0) {
        w.AppendNull(1);
        expected[1].push_back(kNull);
      } else {
        w.AppendInt32(1, static_cast<int32_t>(id * 7 - 100));
        expected[1].push_back(std::to_string(id * 7 - 100));
      }
      if (id % 4 == 1) {
        w.AppendNull(2);
        expected[2].push_back(kNull);
      } else {
        w.AppendBytes(2, kWords[id % 3]);
        expected[2].push_back(kWords[id % 3]);
      }
      const std::string u = "u-" + std::to_string(id);
      w.AppendBytes(3, u);
      expected[3].push_back(u);
      if (id % 6 == 5) {
        w.AppendNull(4);
        expected[4].push_back(kNull);
      } else {
        w.AppendBool(4, id % 3 != 1);
        expected[4].push_back(id % 3 != 1 ? "true" : "false");
      }
      w.EndRow();
    }
    EXPECT_EQ(w.buffered_rows(), static_cast<size_t>(rows));
    buffers.emplace_back();
    ASSERT_TRUE(w.FlushRowGroup(&buffers.back()).ok());
    EXPECT_EQ(w.buffered_rows(), 0u);
    std::string nothing;
    ASSERT_TRUE(w.FlushRowGroup(&nothing).ok());  // no rows: no bytes
    EXPECT_EQ(nothing, "");
  }
  EXPECT_EQ(buffers[0].substr(0, 4), "PAR1");
  std::string footer;
  ASSERT_TRUE(w.Finish(&footer).ok());
  std::string bytes;
  for (const auto& b : buffers) bytes += b;
  bytes += footer;
  EXPECT_EQ(w.bytes_written(), bytes.size());
  EXPECT_EQ(w.rows_written(), 351u);
  test::WriteFile(file, bytes);

  // page_size 1: a page per value. Row groups of 1, 2, 3 and 3 rows; the last ends with
  // NULLs (a page of NULLs only in a dictionary-encoded chunk).
  options.page_size = 1;
  ParquetWriter t({columns[0], columns[2]}, options);
  std::string tiny_bytes;
  int64_t tiny_id = 0;
  std::vector<Opt> tiny_expected;
  for (int rows : {1, 2, 3, 3}) {
    for (int r = 0; r < rows; ++r, ++tiny_id) {
      t.AppendInt64(0, tiny_id);
      if (tiny_id == 4 || tiny_id >= 7) {
        t.AppendNull(1);
        tiny_expected.push_back(kNull);
      } else {
        t.AppendBytes(1, kWords[tiny_id % 2]);
        tiny_expected.push_back(kWords[tiny_id % 2]);
      }
      t.EndRow();
    }
    ASSERT_TRUE(t.FlushRowGroup(&tiny_bytes).ok());
  }
  FinishTo(&t, tiny_bytes, tiny);

  DuckDbBatch batch;
  batch.Add("data", Data(file), "file_row_number");
  batch.Add("meta", Metadata(file), "row_group_id, column_id");
  batch.Add("tiny", Data(tiny), "file_row_number");
  batch.Add("tiny_meta", Metadata(tiny), "row_group_id, column_id");
  batch.Add("file", "SELECT num_rows, num_row_groups FROM parquet_file_metadata(" + Sql(file) + ")",
            "");
  auto parts = batch.Run();

  const DuckDbPart& data = parts["data"];
  ASSERT_EQ(data.rows.size(), 351u);
  for (size_t r = 0; r < 351; ++r) {
    for (size_t c = 0; c < 5; ++c) {
      ASSERT_EQ(data.rows[r][c], expected[c][r]) << "row " << r << " column " << c;
    }
  }
  EXPECT_EQ(parts["file"].rows, (std::vector<test::Cells>{{"351", "3"}}));

  const DuckDbPart& meta = parts["meta"];
  ASSERT_EQ(meta.rows.size(), 15u);
  const int kRows[] = {100, 1, 250};
  const int kFirst[] = {0, 100, 101};
  for (size_t g = 0; g < 3; ++g) {
    SCOPED_TRACE("row group " + std::to_string(g));
    EXPECT_EQ(meta.At(5 * g, "row_group_num_rows"), std::to_string(kRows[g]));
    EXPECT_EQ(meta.At(5 * g, "stats_min_value"), std::to_string(kFirst[g]));
    EXPECT_EQ(meta.At(5 * g, "stats_max_value"), std::to_string(kFirst[g] + kRows[g] - 1));
    for (size_t c = 0; c < 5; ++c) {
      SCOPED_TRACE("column " + std::to_string(c));
      const size_t m = 5 * g + c;
      EXPECT_EQ(meta.At(m, "num_values"), std::to_string(kRows[g]));
      const Opt dict = meta.At(m, "dictionary_page_offset");
      const size_t data_offset = std::stoull(*meta.At(m, "data_page_offset"));
      const size_t start = dict ? std::stoull(*dict) : data_offset;
      const size_t total = std::stoull(*meta.At(m, "total_compressed_size"));
      ASSERT_LE(start + total, bytes.size());
      const std::vector<Page> pages = ReadPages(bytes, start, total);
      ASSERT_FALSE(pages.empty());
      int64_t uncompressed = 0, rows = 0;
      size_t data_pages = 0;
      for (const Page& p : pages) {
        uncompressed += static_cast<int64_t>(p.header_size) + p.uncompressed;
        if (p.type == 0) {
          rows += p.num_values;
          if (data_pages++ == 0) {
            EXPECT_EQ(p.offset, data_offset) << "data_page_offset";
          }
        }
      }
      EXPECT_EQ(pages[0].type == 2, dict.has_value());
      EXPECT_EQ(std::to_string(uncompressed), meta.At(m, "total_uncompressed_size"));
      EXPECT_EQ(rows, kRows[g]) << "rows of the data pages";
      // About page_size (64) bytes of values per page: the 8-byte ids of 100 and 250 rows
      // need several pages.
      if (c == 0 && kRows[g] > 1) {
        EXPECT_GE(data_pages, static_cast<size_t>(kRows[g] * 8 / 64 / 2)) << "pages";
        EXPECT_LE(data_pages, static_cast<size_t>(kRows[g] * 8 / 64 * 2 + 1)) << "pages";
      }
      std::vector<Opt> values = DecodeChunk(pages, columns[c].physical, columns[c].optional);
      std::vector<Opt> want(expected[c].begin() + kFirst[g],
                            expected[c].begin() + kFirst[g] + kRows[g]);
      EXPECT_EQ(values, want);
    }
  }

  // Tiny pages: no page holds more than one value.
  const std::string tiny_file = test::ReadFile(tiny);
  const DuckDbPart& tiny_meta = parts["tiny_meta"];
  ASSERT_EQ(tiny_meta.rows.size(), 8u);
  std::vector<Opt> tiny_ids, tiny_words;
  for (size_t m = 0; m < 8; ++m) {
    const Opt dict = tiny_meta.At(m, "dictionary_page_offset");
    const size_t start = std::stoull(dict ? *dict : *tiny_meta.At(m, "data_page_offset"));
    const std::vector<Page> pages =
        ReadPages(tiny_file, start, std::stoull(*tiny_meta.At(m, "total_compressed_size")));
    const bool words = tiny_meta.At(m, "path_in_schema") == "s";
    size_t data_pages = 0;
    for (const Page& p : pages) data_pages += p.type == 0;
    const size_t rows = std::stoull(*tiny_meta.At(m, "row_group_num_rows"));
    const size_t nulls = std::stoull(*tiny_meta.At(m, "stats_null_count"));
    EXPECT_GE(data_pages, rows - nulls);
    const std::vector<Opt> values =
        DecodeChunk(pages, words ? PhysicalType::kByteArray : PhysicalType::kInt64, words, 1);
    auto& all = words ? tiny_words : tiny_ids;
    all.insert(all.end(), values.begin(), values.end());
  }
  EXPECT_EQ(tiny_words, tiny_expected);
  EXPECT_EQ(tiny_ids.size(), 9u);
  std::vector<test::Cells> tiny_rows;
  for (size_t r = 0; r < 9; ++r) {
    tiny_rows.push_back({std::to_string(r), tiny_expected[r], std::to_string(r)});
  }
  EXPECT_EQ(parts["tiny"].rows, tiny_rows);
}

// ---- Compression ------------------------------------------------------------------------------

TEST(ParquetWriterDuckDbTest, CompressionNoneSnappyZstd) {
  TempDir dir("walflow-parquet-test");
  struct Variant {
    const char* name;
    Compression compression;
    int level;
    const char* duckdb;
  };
  const Variant kVariants[] = {{"none", Compression::kNone, 3, "UNCOMPRESSED"},
                               {"snappy", Compression::kSnappy, 3, "SNAPPY"},
                               {"zstd1", Compression::kZstd, 1, "ZSTD"},
                               {"zstd19", Compression::kZstd, 19, "ZSTD"}};
  EXPECT_STREQ(CompressionName(Compression::kNone), "none");
  EXPECT_STREQ(CompressionName(Compression::kSnappy), "snappy");
  EXPECT_STREQ(CompressionName(Compression::kZstd), "zstd");
  const int kRows = 3000;
  DuckDbBatch batch;
  for (const Variant& v : kVariants) {
    WriterOptions options;
    options.compression = v.compression;
    options.zstd_level = v.level;
    options.page_size = 4096;  // several pages, each compressed on its own
    ParquetWriter w({Spec("i", PhysicalType::kInt64, LogicalType::kInt64, false),
                     Spec("s", PhysicalType::kByteArray, LogicalType::kString),
                     Spec("d", PhysicalType::kDouble)},
                    options);
    std::string out;
    for (int r = 0; r < kRows; ++r) {
      w.AppendInt64(0, r);
      w.AppendBytes(1, "the same words again and again, row " + std::to_string(r));
      if (r % 10 == 9) {
        w.AppendNull(2);
      } else {
        w.AppendDouble(2, r / 4.0);
      }
      w.EndRow();
      if (r == 1999) {
        ASSERT_TRUE(w.FlushRowGroup(&out).ok());
      }
    }
    const std::string file = dir.File(std::string(v.name) + ".parquet");
    FinishTo(&w, out, file);
    batch.Add(std::string("data_") + v.name,
              "SELECT count(*) AS n, sum(i) AS sum_i, count(d) AS count_d, sum(d) AS sum_d, "
              "bool_and(s = 'the same words again and again, row ' || i) AS s_ok, "
              "bool_and(d IS NULL OR d = i / 4) AS d_ok FROM read_parquet(" +
                  Sql(file) + ")",
              "");
    batch.Add(std::string("meta_") + v.name, Metadata(file), "row_group_id, column_id");
  }
  auto parts = batch.Run();
  for (const Variant& v : kVariants) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(parts[std::string("data_") + v.name].rows,
              (std::vector<test::Cells>{{"3000", "4498500", "2700", "1011825.0", "true", "true"}}));
    const DuckDbPart& meta = parts[std::string("meta_") + v.name];
    ASSERT_EQ(meta.rows.size(), 6u);
    for (size_t m = 0; m < 6; ++m) {
      EXPECT_EQ(meta.At(m, "compression"), v.duckdb);
      const int64_t compressed = std::stoll(*meta.At(m, "total_compressed_size"));
      const int64_t uncompressed = std::stoll(*meta.At(m, "total_uncompressed_size"));
      if (v.compression == Compression::kNone) {
        EXPECT_EQ(compressed, uncompressed);
      } else if (*meta.At(m, "path_in_schema") == "s") {
        EXPECT_LT(compressed * 2, uncompressed) << "repetitive text compresses";
      }
    }
  }
}

// ---- Empty files, footer metadata ------------------------------------------------------------

TEST(ParquetWriterTest, FlushWithoutRowsWritesNothingAndFinishIsOnce) {
  ParquetWriter w({Spec("a", PhysicalType::kInt64)}, WriterOptions{});
  std::string out;
  ASSERT_TRUE(w.FlushRowGroup(&out).ok());
  EXPECT_EQ(out, "");
  EXPECT_EQ(w.bytes_written(), 0u);
  ASSERT_TRUE(w.Finish(&out).ok());
  EXPECT_EQ(out.substr(0, 4), "PAR1");
  EXPECT_EQ(out.substr(out.size() - 4), "PAR1");
  EXPECT_EQ(w.bytes_written(), out.size());
  const ThriftValue footer = ReadFooter(out);
  EXPECT_EQ(footer.Int(3), 0);                 // num_rows
  EXPECT_TRUE(footer.At(4).elements.empty());  // row_groups
  const size_t size = out.size();
  const Status again = w.Finish(&out);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.size(), size);
}

TEST(ParquetWriterTest, BufferedRowsAndBytes) {
  ParquetWriter w({Spec("a", PhysicalType::kInt64, LogicalType::kNone, false),
                   Spec("s", PhysicalType::kByteArray)},
                  WriterOptions{});
  EXPECT_EQ(w.buffered_bytes(), 0u);
  w.AppendInt64(0, 1);
  w.AppendBytes(1, std::string(1000, 'x'));
  w.EndRow();
  EXPECT_EQ(w.buffered_rows(), 1u);
  EXPECT_GE(w.buffered_bytes(), 1008u);
  EXPECT_LE(w.buffered_bytes(), 1100u);
  std::string out;
  ASSERT_TRUE(w.FlushRowGroup(&out).ok());
  EXPECT_EQ(w.buffered_bytes(), 0u);
  EXPECT_EQ(w.rows_written(), 1u);
  EXPECT_EQ(w.bytes_written(), out.size());
}

TEST(ParquetWriterDuckDbTest, EmptyFileAndKeyValueMetadata) {
  TempDir dir("walflow-parquet-test");
  const std::string empty = dir.File("empty.parquet");
  const std::string kv = dir.File("kv.parquet");
  {
    ParquetWriter w({Spec("a", PhysicalType::kInt64, LogicalType::kInt64, false),
                     Spec("b", PhysicalType::kByteArray, LogicalType::kString)},
                    WriterOptions{});
    FinishTo(&w, "", empty);
  }
  {
    WriterOptions options;
    options.created_by = "walflow version 1.2.3";
    options.key_value_metadata = {{"walflow.table", "public.orders"},
                                  {"empty", ""},
                                  {"unicode \xC3\xA9", "\xF0\x9F\x8E\x89 'quoted'"}};
    ParquetWriter w({Spec("a", PhysicalType::kInt64)}, options);
    w.AppendInt64(0, 5);
    w.EndRow();
    FinishTo(&w, "", kv);
  }
  DuckDbBatch batch;
  batch.Add("empty_count", "SELECT count(*) AS n FROM read_parquet(" + Sql(empty) + ")", "");
  batch.Add("empty_schema", Schema(empty), "column_id");
  batch.Add("empty_file",
            "SELECT created_by, num_rows, num_row_groups, format_version FROM "
            "parquet_file_metadata(" +
                Sql(empty) + ")",
            "");
  batch.Add("empty_kv", "SELECT * FROM parquet_kv_metadata(" + Sql(empty) + ")", "");
  batch.Add("kv",
            "SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(" + Sql(kv) + ")",
            "k");
  batch.Add("kv_file", "SELECT created_by, num_rows FROM parquet_file_metadata(" + Sql(kv) + ")",
            "");
  batch.Add("kv_data", Data(kv), "");
  auto parts = batch.Run();
  EXPECT_EQ(parts["empty_count"].rows, (std::vector<test::Cells>{{"0"}}));
  const DuckDbPart& schema = parts["empty_schema"];
  ASSERT_EQ(schema.rows.size(), 3u);
  EXPECT_EQ(ColumnOf(schema, "duckdb_type"), (test::Cells{kNull, "BIGINT", "VARCHAR"}));
  EXPECT_EQ(parts["empty_file"].rows, (std::vector<test::Cells>{{"walflow", "0", "0", "1"}}));
  EXPECT_TRUE(parts["empty_kv"].rows.empty());
  EXPECT_EQ(parts["kv"].rows,
            (std::vector<test::Cells>{{"empty", ""},
                                      {"unicode \xC3\xA9", "\xF0\x9F\x8E\x89 'quoted'"},
                                      {"walflow.table", "public.orders"}}));
  EXPECT_EQ(parts["kv_file"].rows, (std::vector<test::Cells>{{"walflow version 1.2.3", "1"}}));
  EXPECT_EQ(parts["kv_data"].rows, (std::vector<test::Cells>{{"5", "0"}}));
}

// ---- Many random rows ---------------------------------------------------------------------------

TEST(ParquetWriterDuckDbTest, ManyRandomRowsReadBackExactly) {
  TempDir dir("walflow-parquet-test");
  const std::string file = dir.File("random.parquet");
  WriterOptions options;
  options.compression = Compression::kSnappy;
  options.page_size = 8192;
  ParquetWriter w(
      {Spec("id", PhysicalType::kInt64, LogicalType::kInt64, false),
       Spec("i32", PhysicalType::kInt32, LogicalType::kInt32), Spec("i64", PhysicalType::kInt64),
       Spec("d", PhysicalType::kDouble), Spec("s", PhysicalType::kByteArray, LogicalType::kString),
       Spec("cat", PhysicalType::kByteArray, LogicalType::kString, false),
       Spec("b", PhysicalType::kBoolean), TimeSpec("ts", LogicalType::kTimestamp, true),
       DecimalSpec("dec", PhysicalType::kFixedLenByteArray, 38, 0, 16)},
      options);
  std::mt19937_64 random(99);
  const char* kPieces[] = {"a", "z", " ", "'", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x8E\x89"};
  const int kRows = 120000;
  struct Row {
    Opt i32, i64, s, b, ts, dec;
    std::optional<double> d;
    std::string cat;
  };
  std::vector<Row> rows(kRows);
  std::string bytes;
  int next_flush = 1 + static_cast<int>(random() % 50000);
  const int128 max38 = Pow10(38) - 1;
  for (int r = 0; r < kRows; ++r) {
    Row& row = rows[r];
    w.AppendInt64(0, r);
    if (random() % 10 == 0) {
      w.AppendNull(1);
    } else {
      const auto v = static_cast<int32_t>(random());
      w.AppendInt32(1, v);
      row.i32 = std::to_string(v);
    }
    if (random() % 10 == 0) {
      w.AppendNull(2);
    } else {
      const int64_t kEdges[] = {std::numeric_limits<int64_t>::min(), -1, 0,
                                std::numeric_limits<int64_t>::max()};
      const int64_t v = random() % 100 == 0 ? kEdges[random() % 4] : static_cast<int64_t>(random());
      w.AppendInt64(2, v);
      row.i64 = std::to_string(v);
    }
    if (random() % 10 == 0) {
      w.AppendNull(3);
    } else {
      const uint64_t bits = random();
      double v;
      std::memcpy(&v, &bits, 8);  // any double: NaNs, infinities, denormals included
      w.AppendDouble(3, v);
      row.d = v;
    }
    if (random() % 10 == 0) {
      w.AppendNull(4);
    } else {
      std::string s;
      for (int n = static_cast<int>(random() % 25); n > 0; --n) {
        s += kPieces[random() % std::size(kPieces)];
      }
      w.AppendBytes(4, s);
      row.s = s;
    }
    row.cat = "category-" + std::to_string(random() % 300);  // a dictionary of 9-bit indices
    w.AppendBytes(5, row.cat);
    if (random() % 3 == 0) {
      w.AppendNull(6);
    } else {
      const bool b = random() % 2;
      w.AppendBool(6, b);
      row.b = b ? "true" : "false";
    }
    if (random() % 10 == 0) {
      w.AppendNull(7);
    } else {
      const int64_t v = static_cast<int64_t>(random() % (uint64_t{1} << 62)) - (int64_t{1} << 61);
      w.AppendInt64(7, v);
      row.ts = std::to_string(v);
    }
    if (random() % 10 == 0) {
      w.AppendNull(8);
    } else {
      int128 v = static_cast<int128>((static_cast<unsigned __int128>(random()) << 64 | random()) %
                                     static_cast<unsigned __int128>(max38 + 1));
      if (random() % 2) v = -v;
      w.AppendBytes(8, BigEndian(v, 16));
      row.dec = Int128Text(v);
    }
    w.EndRow();
    if (r + 1 == next_flush) {
      ASSERT_TRUE(w.FlushRowGroup(&bytes).ok());
      next_flush += 1 + static_cast<int>(random() % 50000);
    }
  }
  FinishTo(&w, bytes, file);

  const auto result = walflow::test::DuckDbQuery(
      "SELECT id, i32, i64, d, s, cat, b, epoch_us(ts), dec FROM read_parquet(" + Sql(file) +
      ") ORDER BY id");
  ASSERT_EQ(result.rows.size(), static_cast<size_t>(kRows));
  size_t mismatches = 0;
  for (int r = 0; r < kRows && mismatches < 10; ++r) {
    const Row& want = rows[r];
    const auto& got = result.rows[r];
    bool d_ok;
    if (!want.d) {
      d_ok = !got[3].has_value();
    } else if (std::isnan(*want.d)) {
      d_ok = got[3] == "nan" || got[3] == "-nan";
    } else {
      const double parsed = got[3] ? std::strtod(got[3]->c_str(), nullptr) : 0;
      d_ok = got[3] && std::memcmp(&parsed, &*want.d, 8) == 0;
    }
    const bool ok = got[0] == std::to_string(r) && got[1] == want.i32 && got[2] == want.i64 &&
                    d_ok && got[4] == want.s && got[5] == want.cat && got[6] == want.b &&
                    got[7] == want.ts && got[8] == want.dec;
    if (!ok) {
      ++mismatches;
      ADD_FAILURE() << "row " << r << ": got " << U(got[1]) << " " << U(got[2]) << " " << U(got[3])
                    << " " << U(got[4]) << " " << U(got[5]) << " " << U(got[6]) << " " << U(got[7])
                    << " " << U(got[8]);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace
}  // namespace walflow::format::parquet
