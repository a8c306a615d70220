#include "format/thrift_compact.h"

namespace walflow::format {

void ThriftCompactWriter::WriteVarint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void ThriftCompactWriter::FieldHeader(int16_t id, CompactType type) {
  if (last_field_.empty()) last_field_.push_back(0);  // a new top-level struct
  int16_t& last = last_field_.back();
  const int delta = id - last;
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<uint8_t>(type)));
  } else {
    // Long form: the type, then the field id as a zigzag varint i16.
    out_->push_back(static_cast<char>(type));
    WriteVarint(ZigZag32(id));
  }
  last = id;
}

void ThriftCompactWriter::FieldBool(int16_t id, bool value) {
  // A boolean field carries its value in the header's type nibble.
  FieldHeader(id, value ? CompactType::kBooleanTrue : CompactType::kBooleanFalse);
}

void ThriftCompactWriter::FieldByte(int16_t id, int8_t value) {
  FieldHeader(id, CompactType::kByte);
  out_->push_back(static_cast<char>(value));
}

void ThriftCompactWriter::FieldI32(int16_t id, int32_t value) {
  FieldHeader(id, CompactType::kI32);
  WriteVarint(ZigZag32(value));
}

void ThriftCompactWriter::FieldI64(int16_t id, int64_t value) {
  FieldHeader(id, CompactType::kI64);
  WriteVarint(ZigZag64(value));
}

void ThriftCompactWriter::FieldBinary(int16_t id, std::string_view value) {
  FieldHeader(id, CompactType::kBinary);
  ListBinary(value);
}

void ThriftCompactWriter::ListBinary(std::string_view value) {
  WriteVarint(value.size());
  out_->append(value);
}

void ThriftCompactWriter::BeginStructField(int16_t id) {
  FieldHeader(id, CompactType::kStruct);
  last_field_.push_back(0);
}

void ThriftCompactWriter::EndStruct() {
  out_->push_back(0);  // stop
  if (!last_field_.empty()) last_field_.pop_back();
}

void ThriftCompactWriter::BeginListField(int16_t id, CompactType element, uint32_t size) {
  FieldHeader(id, CompactType::kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint8_t>(element)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<uint8_t>(element)));
    WriteVarint(size);
  }
}

}  // namespace walflow::format
