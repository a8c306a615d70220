// A writer of Thrift's compact protocol, the encoding of Parquet's file footer and page
// headers (Apache Thrift, "Thrift Compact protocol encoding"). Fields are written in the
// order the caller gives; field ids are delta-encoded against the previous field of the
// same struct, as the protocol specifies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace walflow::format {

// Element types of the compact protocol (the low nibble of a field or list header).
enum class CompactType : uint8_t {
  kBooleanTrue = 1,
  kBooleanFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

class ThriftCompactWriter {
 public:
  // Appends to `out`, which must outlive the writer. Starts at the top-level struct.
  explicit ThriftCompactWriter(std::string* out) : out_(out), last_field_{0} {}

  void FieldBool(int16_t id, bool value);
  void FieldByte(int16_t id, int8_t value);
  void FieldI32(int16_t id, int32_t value);
  void FieldI64(int16_t id, int64_t value);
  void FieldBinary(int16_t id, std::string_view value);

  // A struct field: the fields written until the matching EndStruct() belong to it.
  void BeginStructField(int16_t id);
  // A struct field with no fields (Parquet's empty marker structs, e.g. StringType).
  void EmptyStructField(int16_t id) {
    BeginStructField(id);
    EndStruct();
  }
  // Ends the current struct (a nested one, or the top-level one) with the stop byte.
  void EndStruct();

  // A list field of `size` elements of `element`; then write exactly `size` elements
  // with the List* calls (a struct element: BeginListStruct() ... EndStruct()).
  void BeginListField(int16_t id, CompactType element, uint32_t size);
  void ListI32(int32_t value) { WriteVarint(ZigZag32(value)); }
  void ListI64(int64_t value) { WriteVarint(ZigZag64(value)); }
  void ListBinary(std::string_view value);
  void BeginListStruct() { last_field_.push_back(0); }

 private:
  static uint64_t ZigZag32(int32_t v) {
    return static_cast<uint32_t>((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  static uint64_t ZigZag64(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  void WriteVarint(uint64_t v);
  void FieldHeader(int16_t id, CompactType type);

  std::string* out_;
  std::vector<int16_t> last_field_;  // per open struct: the id of its last field
};

}  // namespace walflow::format
