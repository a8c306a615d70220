// ThriftCompactWriter against byte sequences worked out by hand from the compact protocol
// specification (field headers with id deltas and the long form, zigzag varints, binary,
// lists with short and long headers, nested structs, booleans in the type nibble).
#include "format/thrift_compact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walflow::format {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(ThriftCompactTest, IntegersAreZigZagVarints) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.FieldI32(1, 0);           // header 0x15 (delta 1, i32), value 0
  w.FieldI32(2, -1);          // zigzag 1
  w.FieldI32(3, 1);           // zigzag 2
  w.FieldI64(4, 300);         // zigzag 600 = 0x258 -> 0xD8 0x04
  w.FieldI64(5, -300);        // zigzag 599 = 0x257 -> 0xD7 0x04
  w.FieldI32(6, 2147483647);  // zigzag 4294967294 -> FE FF FF FF 0F
  w.FieldI64(7, INT64_MIN);   // zigzag 2^64-1 -> nine 0xFF then 0x01
  w.EndStruct();
  EXPECT_EQ(out, Bytes({0x15, 0x00, 0x15, 0x01, 0x15, 0x02, 0x16, 0xD8, 0x04, 0x16,
                        0xD7, 0x04, 0x15, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x16, 0xFF,
                        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00}));
}

TEST(ThriftCompactTest, FieldIdsUseDeltasOrTheLongForm) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.FieldI32(1, 5);   // delta 1
  w.FieldI32(16, 5);  // delta 15: still short
  w.FieldI32(40, 5);  // delta 24: long form, type then zigzag(40) = 80
  w.FieldI32(3, 5);   // going back: long form, zigzag(3) = 6
  w.EndStruct();
  EXPECT_EQ(out, Bytes({0x15, 0x0A, 0xF5, 0x0A, 0x05, 0x50, 0x0A, 0x05, 0x06, 0x0A, 0x00}));
}

TEST(ThriftCompactTest, BooleansBinaryAndNestedStructs) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.FieldBool(1, true);     // 0x11
  w.FieldBool(2, false);    // 0x12
  w.FieldBinary(3, "abc");  // 0x18, length 3, bytes
  w.BeginStructField(4);    // 0x1C
  w.FieldI32(1, 5);         // ids restart inside the struct: 0x15 0x0A
  w.EndStruct();            // 0x00
  w.FieldBinary(5, "");     // back in the outer struct: delta 1 from 4: 0x18 0x00
  w.EndStruct();
  EXPECT_EQ(out, Bytes({0x11, 0x12, 0x18, 0x03, 'a', 'b', 'c', 0x1C, 0x15, 0x0A, 0x00, 0x18, 0x00,
                        0x00}));
}

TEST(ThriftCompactTest, ListsWithShortAndLongHeaders) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.BeginListField(1, CompactType::kI32, 3);  // 0x19, then size 3 << 4 | i32 = 0x35
  for (int v : {1, 2, 3}) w.ListI32(v);
  w.BeginListField(2, CompactType::kBinary, 20);  // long: 0xF8, varint 20
  for (int i = 0; i < 20; ++i) w.ListBinary("x");
  w.BeginListField(3, CompactType::kStruct, 2);  // 0x19, 0x2C
  for (int v : {7, 8}) {
    w.BeginListStruct();
    w.FieldI64(1, v);
    w.EndStruct();
  }
  w.FieldI32(4, 0);  // ids continue after the list of structs
  w.EndStruct();
  std::string expected = Bytes({0x19, 0x35, 0x02, 0x04, 0x06, 0x19, 0xF8, 0x14});
  for (int i = 0; i < 20; ++i) expected += Bytes({0x01, 'x'});
  expected += Bytes({0x19, 0x2C, 0x16, 0x0E, 0x00, 0x16, 0x10, 0x00, 0x15, 0x00, 0x00});
  EXPECT_EQ(out, expected);
}

TEST(ThriftCompactTest, LongBinaryLength) {
  std::string out;
  ThriftCompactWriter w(&out);
  w.FieldBinary(1, std::string(200, 'z'));  // length 200 -> 0xC8 0x01
  EXPECT_EQ(out.substr(0, 3), Bytes({0x18, 0xC8, 0x01}));
  EXPECT_EQ(out.size(), 3u + 200u);
}

}  // namespace
}  // namespace walflow::format
