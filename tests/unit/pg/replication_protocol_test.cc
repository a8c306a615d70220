// The CopyBoth messages of the replication stream, from hand-built bytes: XLogData and the
// primary keepalive field by field, what is short or unknown refused as DataLoss, and the
// exact bytes of a standby status update.
#include "pg/replication_protocol.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

namespace walflow::pg {
namespace {

using namespace std::string_literals;

// The 25-byte XLogData header: 'w', start 0/16B3740, end 1/2A, send time 0x0002A3B4C5D6E7F8.
const std::string kXLogHeader =
    "w"
    "\x00\x00\x00\x00\x01\x6B\x37\x40"
    "\x00\x00\x00\x01\x00\x00\x00\x2A"
    "\x00\x02\xA3\xB4\xC5\xD6\xE7\xF8"s;

// A keepalive: 'k', end 0/3000060, send time 0x0002A3B4C5D6E7F9, reply requested.
const std::string kKeepalive =
    "k"
    "\x00\x00\x00\x00\x03\x00\x00\x60"
    "\x00\x02\xA3\xB4\xC5\xD6\xE7\xF9"
    "\x01"s;

TEST(ReplicationProtocolTest, XLogDataFieldByField) {
  const std::string message = kXLogHeader + "B\x00\x00\x00\x00\x01\x6B\x37\x98"s;
  ReplicationMessage m;
  ASSERT_TRUE(ParseReplicationMessage(message, &m).ok());
  EXPECT_EQ(m.tag, ReplicationTag::kXLogData);
  EXPECT_EQ(m.wal_start, Lsn(0x16B3740));
  EXPECT_EQ(m.wal_end, Lsn(0x10000002AULL));
  EXPECT_EQ(m.send_time_us, 0x0002A3B4C5D6E7F8LL);
  EXPECT_FALSE(m.reply_requested);
  EXPECT_EQ(m.payload, "B\x00\x00\x00\x00\x01\x6B\x37\x98"s);
  // The payload points into the input: nothing is copied.
  EXPECT_EQ(m.payload.data(), message.data() + 25);
  EXPECT_EQ(m.payload.size(), message.size() - 25);
}

TEST(ReplicationProtocolTest, XLogDataWithAnEmptyPayload) {
  ReplicationMessage m;
  ASSERT_TRUE(ParseReplicationMessage(kXLogHeader, &m).ok());
  EXPECT_EQ(m.tag, ReplicationTag::kXLogData);
  EXPECT_EQ(m.wal_start, Lsn(0x16B3740));
  EXPECT_TRUE(m.payload.empty());
}

TEST(ReplicationProtocolTest, AllBitsOfTheFieldsAreRead) {
  // High bytes set everywhere, and a send time before 2000-01-01 (negative).
  const std::string message =
      "w"
      "\xFF\xEE\xDD\xCC\xBB\xAA\x99\x88"
      "\x80\x00\x00\x00\x00\x00\x00\x01"
      "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
      "x"s;
  ReplicationMessage m;
  ASSERT_TRUE(ParseReplicationMessage(message, &m).ok());
  EXPECT_EQ(m.wal_start, Lsn(0xFFEEDDCCBBAA9988ULL));
  EXPECT_EQ(m.wal_end, Lsn(0x8000000000000001ULL));
  EXPECT_EQ(m.send_time_us, -1);
  EXPECT_EQ(m.payload, "x");
}

TEST(ReplicationProtocolTest, KeepaliveFieldByField) {
  ReplicationMessage m;
  ASSERT_TRUE(ParseReplicationMessage(kKeepalive, &m).ok());
  EXPECT_EQ(m.tag, ReplicationTag::kPrimaryKeepalive);
  EXPECT_EQ(m.wal_end, Lsn(0x3000060));
  EXPECT_EQ(m.send_time_us, 0x0002A3B4C5D6E7F9LL);
  EXPECT_TRUE(m.reply_requested);
  EXPECT_EQ(m.wal_start, Lsn()) << "keepalives carry no start";
  EXPECT_TRUE(m.payload.empty());

  std::string no_reply = kKeepalive;
  no_reply.back() = '\0';
  ASSERT_TRUE(ParseReplicationMessage(no_reply, &m).ok());
  EXPECT_FALSE(m.reply_requested);
  EXPECT_EQ(m.wal_end, Lsn(0x3000060));
}

TEST(ReplicationProtocolTest, EveryFieldIsResetBetweenMessages) {
  ReplicationMessage m;
  ASSERT_TRUE(ParseReplicationMessage(kKeepalive, &m).ok());
  ASSERT_TRUE(m.reply_requested);
  ASSERT_TRUE(ParseReplicationMessage(kXLogHeader + "C", &m).ok());
  EXPECT_FALSE(m.reply_requested) << "left over from the keepalive";
  ASSERT_TRUE(ParseReplicationMessage(kKeepalive, &m).ok());
  EXPECT_EQ(m.wal_start, Lsn()) << "left over from the XLogData";
  EXPECT_TRUE(m.payload.empty());
}

TEST(ReplicationProtocolTest, ShortMessagesAreDataLoss) {
  ReplicationMessage m;
  Status empty = ParseReplicationMessage("", &m);
  EXPECT_EQ(empty.code(), StatusCode::kDataLoss);
  for (size_t n = 1; n < kXLogHeader.size(); ++n) {
    Status s = ParseReplicationMessage(std::string_view(kXLogHeader).substr(0, n), &m);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "XLogData of " << n << " bytes";
    EXPECT_NE(s.message().find("XLogData"), std::string::npos) << s.message();
  }
  for (size_t n = 1; n < kKeepalive.size(); ++n) {
    Status s = ParseReplicationMessage(std::string_view(kKeepalive).substr(0, n), &m);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "keepalive of " << n << " bytes";
    EXPECT_NE(s.message().find("keepalive"), std::string::npos) << s.message();
  }
}

TEST(ReplicationProtocolTest, UnknownTagsAreDataLoss) {
  ReplicationMessage m;
  // 'r' is what the client sends; the server never does.
  for (char tag : {'r', 'x', 'W', 'K', '\0', '\xFF'}) {
    std::string message = kKeepalive;
    message[0] = tag;
    Status s = ParseReplicationMessage(message, &m);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << int(tag);
    EXPECT_NE(s.message().find("unexpected replication message type '"s + tag + "'"),
              std::string::npos)
        << s.message();
  }
}

TEST(ReplicationProtocolTest, StandbyStatusUpdateExactBytes) {
  const std::string update =
      StandbyStatusUpdate(Lsn(0x16B3798), Lsn(0x1000000F0ULL), 0x0002A3B4C5D6E7FALL, true);
  const std::string expected =
      "r"
      "\x00\x00\x00\x00\x01\x6B\x37\x98"  // written
      "\x00\x00\x00\x01\x00\x00\x00\xF0"  // flushed
      "\x00\x00\x00\x01\x00\x00\x00\xF0"  // applied: what is flushed
      "\x00\x02\xA3\xB4\xC5\xD6\xE7\xFA"  // client time
      "\x01"s;                            // reply requested
  EXPECT_EQ(update.size(), 34u);
  EXPECT_EQ(update, expected);

  const std::string no_reply = StandbyStatusUpdate(Lsn(), Lsn(), -2, false);
  EXPECT_EQ(no_reply, "r"s + std::string(24, '\0') + "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE\x00"s);
}

TEST(ReplicationProtocolTest, NowIsInPostgresEpoch) {
  const int64_t unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  const int64_t pg_us = NowPgMicros();
  // 2000-01-01 is 946684800 s after the Unix epoch.
  EXPECT_LT(std::abs(unix_us - 946684800LL * 1000000LL - pg_us), 10LL * 1000000LL);
}

}  // namespace
}  // namespace walflow::pg
