// StreamSpool: messages of one streamed transaction, held in memory or in a file, cut
// back when a subtransaction aborts, replayed in arrival order.
#include "pg/stream_spool.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "unit_test_util.h"

namespace walflow::pg {
namespace {

using Records = std::vector<std::pair<uint64_t, std::string>>;

Records ReplayAll(StreamSpool& spool) {
  Records out;
  Status s = spool.Replay([&](Lsn lsn, std::string_view m) {
    out.emplace_back(lsn.value, std::string(m));
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Memory limits: everything in memory, a file after a few records, a file for every record.
class StreamSpoolTest : public ::testing::TestWithParam<size_t> {
 protected:
  size_t limit() const { return GetParam(); }
  std::string SpoolFile() const { return dir_.File("xact-800.spool"); }
  test::ScratchDir dir_;
};

constexpr Xid kTop{800};

TEST_P(StreamSpoolTest, ReplaysInArrivalOrder) {
  StreamSpool spool(dir_.path(), kTop, limit());
  Records expected;
  for (int i = 0; i < 50; ++i) {
    std::string m = "message " + std::to_string(i) + std::string(i % 7, '\0');
    expected.emplace_back(0x1000 + i, m);
    ASSERT_TRUE(spool.Append(Lsn(0x1000 + i), kTop, m, false).ok());
  }
  // An empty message survives too.
  expected.emplace_back(0x2000, "");
  ASSERT_TRUE(spool.Append(Lsn(0x2000), kTop, "", false).ok());
  EXPECT_EQ(ReplayAll(spool), expected);
  // Replay does not consume: a second replay gives the same.
  EXPECT_EQ(ReplayAll(spool), expected);
  EXPECT_EQ(spool.spilled(), limit() < 1000);
  EXPECT_GT(spool.bytes(), 0u);
}

TEST_P(StreamSpoolTest, AbortOfASubtransactionDropsItAndWhatStartedAfterIt) {
  StreamSpool spool(dir_.path(), kTop, limit());
  ASSERT_TRUE(spool.Append(Lsn(1), kTop, "top-1", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(2), Xid(801), "sub801-1", false).ok());
  const uint64_t before_802 = spool.bytes();
  ASSERT_TRUE(spool.Append(Lsn(3), Xid(802), "sub802-1", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(4), Xid(803), "sub803-1", false).ok());  // child of 802
  ASSERT_TRUE(spool.Append(Lsn(5), Xid(802), "sub802-2", false).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(802)).ok());
  EXPECT_EQ(spool.bytes(), before_802);
  EXPECT_EQ(ReplayAll(spool), (Records{{1, "top-1"}, {2, "sub801-1"}}));
  // The child's own abort arrives afterwards and finds nothing left.
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(803)).ok());
  // Aborting an unknown subtransaction changes nothing.
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(999)).ok());
  ASSERT_TRUE(spool.Append(Lsn(6), Xid(804), "sub804-1", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(7), kTop, "top-2", false).ok());
  EXPECT_EQ(ReplayAll(spool),
            (Records{{1, "top-1"}, {2, "sub801-1"}, {6, "sub804-1"}, {7, "top-2"}}));
}

TEST_P(StreamSpoolTest, AbortOfTheFirstSubtransactionCanEmptyTheSpool) {
  StreamSpool spool(dir_.path(), kTop, limit());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(spool.Append(Lsn(i + 1), Xid(801), "sub " + std::to_string(i), false).ok());
  }
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(801)).ok());
  EXPECT_EQ(spool.bytes(), 0u);
  EXPECT_TRUE(ReplayAll(spool).empty());
  ASSERT_TRUE(spool.Append(Lsn(20), kTop, "after", false).ok());
  EXPECT_EQ(ReplayAll(spool), (Records{{20, "after"}}));
}

TEST_P(StreamSpoolTest, CutInTheMiddleOfManyRecords) {
  // Many records before and after the cut, so that with a small limit the cut lands in
  // the file and with a mid-size limit it may land in the memory buffer.
  StreamSpool spool(dir_.path(), kTop, limit());
  Records expected;
  for (int i = 0; i < 37; ++i) {
    std::string m(5 + i % 11, static_cast<char>('a' + i % 26));
    expected.emplace_back(i, m);
    ASSERT_TRUE(spool.Append(Lsn(i), kTop, m, false).ok());
  }
  for (int i = 0; i < 41; ++i) {
    ASSERT_TRUE(spool.Append(Lsn(100 + i), Xid(900 + i % 3), "aborted", false).ok());
  }
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(900)).ok());
  EXPECT_EQ(ReplayAll(spool), expected);
  for (int i = 0; i < 13; ++i) {
    std::string m = "later " + std::to_string(i);
    expected.emplace_back(200 + i, m);
    ASSERT_TRUE(spool.Append(Lsn(200 + i), kTop, m, false).ok());
  }
  EXPECT_EQ(ReplayAll(spool), expected);
}

TEST_P(StreamSpoolTest, SchemaMessagesSurviveTheAbortOfTheirSubtransaction) {
  StreamSpool spool(dir_.path(), kTop, limit());
  ASSERT_TRUE(spool.Append(Lsn(1), kTop, "R other", true).ok());
  ASSERT_TRUE(spool.Append(Lsn(2), kTop, "I other", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(3), Xid(801), "R orders", true).ok());
  ASSERT_TRUE(spool.Append(Lsn(4), Xid(801), "I orders 1", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(5), Xid(801), "Y mood", true).ok());
  ASSERT_TRUE(spool.Append(Lsn(6), Xid(801), "I orders 2", false).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(801)).ok());
  // The schema messages of 801 are kept, once each, in their order; its rows are gone.
  EXPECT_EQ(ReplayAll(spool),
            (Records{{1, "R other"}, {2, "I other"}, {3, "R orders"}, {5, "Y mood"}}));

  // A later subtransaction aborts too: the re-added schema records stay, not duplicated.
  ASSERT_TRUE(spool.Append(Lsn(7), Xid(802), "R third", true).ok());
  ASSERT_TRUE(spool.Append(Lsn(8), Xid(802), "I third", false).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(802)).ok());
  ASSERT_TRUE(spool.Append(Lsn(9), kTop, "I orders 3", false).ok());
  EXPECT_EQ(ReplayAll(spool), (Records{{1, "R other"},
                                       {2, "I other"},
                                       {3, "R orders"},
                                       {5, "Y mood"},
                                       {7, "R third"},
                                       {9, "I orders 3"}}));
}

TEST_P(StreamSpoolTest, SchemaRecordsAreReAddedAgainWhenAnEarlierSubtransactionAborts) {
  StreamSpool spool(dir_.path(), kTop, limit());
  ASSERT_TRUE(spool.Append(Lsn(1), Xid(801), "I a", false).ok());
  ASSERT_TRUE(spool.Append(Lsn(2), Xid(802), "R b", true).ok());  // child of 801
  ASSERT_TRUE(spool.Append(Lsn(3), Xid(802), "I b", false).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(802)).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(801)).ok());
  EXPECT_EQ(ReplayAll(spool), (Records{{2, "R b"}}));
}

TEST_P(StreamSpoolTest, ReplayStopsAtTheFirstError) {
  StreamSpool spool(dir_.path(), kTop, limit());
  for (int i = 0; i < 10; ++i) {
    std::string m = "m";
    m += std::to_string(i);
    ASSERT_TRUE(spool.Append(Lsn(i), kTop, m, false).ok());
  }
  int calls = 0;
  Status s = spool.Replay([&](Lsn lsn, std::string_view) {
    ++calls;
    return lsn.value == 4 ? DataLoss("bad message") : Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(calls, 5);
}

INSTANTIATE_TEST_SUITE_P(Limits, StreamSpoolTest,
                         ::testing::Values(size_t{0}, size_t{64}, size_t{200}, size_t{1} << 20),
                         [](const auto& info) { return "limit" + std::to_string(info.param); });

TEST(StreamSpoolFileTest, FileAppearsOnlyPastTheLimitAndIsRemovedWithTheSpool) {
  test::ScratchDir dir;
  {
    StreamSpool spool(dir.path(), Xid(77), 100);
    ASSERT_TRUE(spool.Append(Lsn(1), Xid(77), std::string(50, 'a'), false).ok());
    EXPECT_FALSE(spool.spilled());
    EXPECT_TRUE(dir.List().empty());
    ASSERT_TRUE(spool.Append(Lsn(2), Xid(77), std::string(50, 'b'), false).ok());
    EXPECT_TRUE(spool.spilled());
    EXPECT_EQ(dir.List(), std::vector<std::string>{"xact-77.spool"});
    EXPECT_EQ(spool.bytes(), 2 * (12 + 50u));
  }
  EXPECT_TRUE(dir.List().empty());
}

TEST(StreamSpoolFileTest, AbortTruncatesTheFile) {
  test::ScratchDir dir;
  StreamSpool spool(dir.path(), Xid(77), 0);
  ASSERT_TRUE(spool.Append(Lsn(1), Xid(77), std::string(100, 'a'), false).ok());
  ASSERT_TRUE(spool.Append(Lsn(2), Xid(78), std::string(1000, 'b'), false).ok());
  ASSERT_TRUE(spool.Append(Lsn(3), Xid(78), std::string(1000, 'c'), false).ok());
  ASSERT_TRUE(spool.AbortSubtransaction(Xid(78)).ok());
  EXPECT_EQ(spool.bytes(), 112u);
  Records r = ReplayAll(spool);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].second, std::string(100, 'a'));
  // Records are written to the file without waiting for Replay.
  EXPECT_EQ(std::filesystem::file_size(dir.File("xact-77.spool")), 112u);
}

TEST(StreamSpoolFileTest, UnwritableDirectoryIsAnErrorNamingTheFile) {
  test::ScratchDir dir;
  StreamSpool spool(dir.File("missing"), Xid(5), 10);
  Status s = spool.Append(Lsn(1), Xid(5), std::string(20, 'x'), false);
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("xact-5.spool"), std::string::npos) << s.message();
}

// Many open streamed transactions share one memory limit: the largest buffers go to disk
// first, memory never passes the limit (after the append that crossed it), no file
// descriptor stays open per spool, and every spool still replays whole.
TEST(StreamSpoolsTest, MemoryLimitHoldsForAllSpoolsTogether) {
  test::ScratchDir dir;
  constexpr size_t kLimit = 10000;
  constexpr int kSpools = 200;
  StreamSpools spools(dir.path(), kLimit);
  std::vector<Records> expected(kSpools);
  uint64_t total = 0;
  for (int round = 0; round < 20; ++round) {
    for (int x = 0; x < kSpools; ++x) {
      // Spool 7 grows ten times as fast as the others.
      const std::string m(x == 7 ? 1000 : 100, static_cast<char>('a' + x % 26));
      StreamSpool& spool = spools.Open(Xid(1000 + x));
      ASSERT_TRUE(spools.Append(spool, Lsn(round * 1000 + x), Xid(1000 + x), m, false).ok());
      expected[x].emplace_back(round * 1000 + x, m);
      total += 12 + m.size();
      ASSERT_LE(spools.memory_bytes(), kLimit);
      ASSERT_EQ(spools.bytes(), total);
    }
    if (round == 0) {
      // The largest went to disk first.
      EXPECT_TRUE(spools.Find(Xid(1007))->spilled());
    }
  }
  EXPECT_EQ(spools.size(), static_cast<size_t>(kSpools));
  uint64_t memory = 0;
  for (int x = 0; x < kSpools; ++x) memory += spools.Find(Xid(1000 + x))->memory_bytes();
  EXPECT_EQ(memory, spools.memory_bytes());
  EXPECT_GT(dir.List().size(), static_cast<size_t>(kSpools / 2));
  // A subtransaction abort keeps the totals right.
  StreamSpool& last = spools.Open(Xid(1000));
  ASSERT_TRUE(spools.Append(last, Lsn(99999), Xid(5000), std::string(50000, 's'), false).ok());
  EXPECT_LE(spools.memory_bytes(), kLimit);
  ASSERT_TRUE(spools.AbortSubtransaction(last, Xid(5000)).ok());
  EXPECT_EQ(spools.bytes(), total);
  for (int x = 0; x < kSpools; ++x) {
    std::unique_ptr<StreamSpool> spool = spools.Take(Xid(1000 + x));
    ASSERT_NE(spool, nullptr);
    EXPECT_EQ(ReplayAll(*spool), expected[x]) << "spool " << x;
  }
  EXPECT_EQ(spools.size(), 0u);
  EXPECT_EQ(spools.bytes(), 0u);
  EXPECT_EQ(spools.memory_bytes(), 0u);
  EXPECT_TRUE(dir.List().empty());
  EXPECT_EQ(spools.Take(Xid(1000)), nullptr);
}

TEST(StreamSpoolsTest, DropRemovesTheSpoolAndItsFile) {
  test::ScratchDir dir;
  StreamSpools spools(dir.path(), 10);
  StreamSpool& spool = spools.Open(Xid(9));
  ASSERT_TRUE(spools.Append(spool, Lsn(1), Xid(9), std::string(100, 'x'), false).ok());
  EXPECT_EQ(dir.List(), std::vector<std::string>{"xact-9.spool"});
  spools.Drop(Xid(9));
  EXPECT_TRUE(dir.List().empty());
  EXPECT_EQ(spools.bytes(), 0u);
  EXPECT_EQ(spools.Find(Xid(9)), nullptr);
}

}  // namespace
}  // namespace walflow::pg
