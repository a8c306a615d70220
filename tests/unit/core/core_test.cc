// Core types: LSN text forms, Status, and ChangeBatch's value storage.
#include <gtest/gtest.h>

#include "core/change.h"
#include "core/ids.h"
#include "core/status.h"

namespace walflow {
namespace {

TEST(LsnTest, PrintsAsPostgresDoes) {
  EXPECT_EQ(Lsn(0).ToString(), "0/0");
  EXPECT_EQ(Lsn(0x16B374D848ULL).ToString(), "16/B374D848");
  EXPECT_EQ(Lsn(0xFFFFFFFFFFFFFFFFULL).ToString(), "FFFFFFFF/FFFFFFFF");
}

TEST(LsnTest, Parses) {
  EXPECT_EQ(Lsn::Parse("16/B374D848"), Lsn(0x16B374D848ULL));
  EXPECT_EQ(Lsn::Parse("16/b374d848"), Lsn(0x16B374D848ULL));
  EXPECT_EQ(Lsn::Parse("0/0"), Lsn(0));
  EXPECT_EQ(Lsn::Parse("FFFFFFFF/FFFFFFFF"), Lsn(0xFFFFFFFFFFFFFFFFULL));
  for (const char* bad :
       {"", "/", "1/", "/1", "1", "1/2/3", "G/0", "123456789/0", "0/123456789", " 0/1", "0/1 "}) {
    EXPECT_FALSE(Lsn::Parse(bad).has_value()) << bad;
  }
  for (uint64_t v : {1ULL, 0x100000000ULL, 0xABCDEF0123ULL}) {
    EXPECT_EQ(Lsn::Parse(Lsn(v).ToString()), Lsn(v));
  }
}

TEST(LsnTest, Orders) {
  EXPECT_LT(Lsn(1), Lsn(2));
  EXPECT_LT(Lsn(0xFFFFFFFFULL), Lsn(0x100000000ULL));
  EXPECT_FALSE(Lsn().valid());
  EXPECT_TRUE(Lsn(1).valid());
}

TEST(StatusTest, CodesMessagesAndContext) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Unavailable("sink down");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.WithContext("sink files").message(), "sink files: sink down");
  EXPECT_EQ(s.WithContext("x").code(), StatusCode::kUnavailable);
  EXPECT_NE(s.ToString().find("sink down"), std::string::npos);
  EXPECT_TRUE(IsRetryable(StatusCode::kUnavailable));
  EXPECT_FALSE(IsRetryable(StatusCode::kFailedPrecondition));
  EXPECT_FALSE(IsRetryable(StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsRetryable(StatusCode::kDataLoss));
}

Result<int> Half(int v) {
  if (v % 2) return InvalidArgument("odd");
  return v / 2;
}

Status Quarter(int v, int* out) {
  WF_ASSIGN_OR_RETURN(int h, Half(v));
  WF_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::OK();
}

TEST(StatusTest, ResultMacros) {
  int q = 0;
  EXPECT_TRUE(Quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  EXPECT_EQ(Quarter(6, &q).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*Half(10), 5);
}

TEST(ChangeBatchTest, RowsAndTexts) {
  ChangeBatch b;
  EXPECT_TRUE(b.empty());
  int32_t r1 = b.AddRow(3);
  b.SetText(r1, "a");
  b.SetText(r1 + 2, std::string("x\0y", 3));
  b.DatumAt(r1 + 1).kind = Datum::Kind::kUnchangedToast;
  int32_t r2 = b.AddRow(1);
  // Enough text to make the byte buffer reallocate: earlier datums stay valid.
  b.SetText(r2, std::string(100000, 'q'));
  EXPECT_EQ(r2, 3);
  EXPECT_EQ(b.Text(b.Row(r1)[0]), "a");
  EXPECT_EQ(b.Row(r1)[1].kind, Datum::Kind::kUnchangedToast);
  EXPECT_EQ(b.Text(b.Row(r1)[2]), std::string("x\0y", 3));
  EXPECT_EQ(b.Text(b.Row(r2)[0]).size(), 100000u);
  b.AddChange();
  EXPECT_FALSE(b.empty());
  b.Clear();
  EXPECT_TRUE(b.empty());
}

// Datum offsets are 32-bit: a batch must refuse, not wrap, what would pass 4 GiB. The bound
// is checked with sizes alone, without allocating them.
TEST(ChangeBatchTest, RoomIsBoundedSoThatOffsetsCannotWrap) {
  static_assert(ChangeBatch::kMaxBytes == UINT32_MAX);
  static_assert(sizeof(Datum) == 12, "a Datum stays small");
  ChangeBatch b;
  EXPECT_TRUE(b.HasRoomFor(0));
  EXPECT_TRUE(b.HasRoomFor(ChangeBatch::kMaxBytes));
  EXPECT_FALSE(b.HasRoomFor(size_t{ChangeBatch::kMaxBytes} + 1));
  EXPECT_FALSE(b.HasRoomFor(SIZE_MAX));  // no overflow in the check itself
  int32_t r = b.AddRow(1);
  b.SetText(r, "0123456789");
  EXPECT_EQ(b.value_bytes(), 10u);
  EXPECT_TRUE(b.HasRoomFor(ChangeBatch::kMaxBytes - 10));
  EXPECT_FALSE(b.HasRoomFor(ChangeBatch::kMaxBytes - 9));
  b.Clear();
  EXPECT_TRUE(b.HasRoomFor(ChangeBatch::kMaxBytes));
}

TEST(ChangeBatchTest, RetainKeepsSchemasAliveOnce) {
  auto s = std::make_shared<TableSchema>();
  std::weak_ptr<TableSchema> weak = s;
  {
    ChangeBatch b;
    b.Retain(s);
    b.Retain(s);
    EXPECT_EQ(s.use_count(), 2);
    s.reset();
    EXPECT_FALSE(weak.expired());
  }
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace walflow
