// PgOutputDecoder against messages built byte by byte from PostgreSQL's "Logical
// Replication Message Formats": every field reaches the listener, and malformed input is
// rejected with an error instead of a crash.
#include "pg/pgoutput.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pg/pgoutput_builder.h"

namespace walflow::pg {
namespace {

using test::B;
using test::N;
using test::T;
using test::U;
using test::WireColumn;
using test::WireTuple;

// An owned copy of one listener call (the decoder's views die with the call).
struct Recorded {
  std::string what;  // "begin", "commit", ...
  Lsn wal_start;
  std::optional<Xid> xid;
  std::string raw;
  // Fields, filled by message type.
  Lsn lsn_a, lsn_b;
  int64_t time_us = 0;
  uint32_t id_a = 0, id_b = 0;
  uint8_t flags = 0;
  char kind = 0;
  bool flag = false;
  std::string text_a, text_b;
  std::vector<RelationColumn> columns;  // names copied into `column_names`
  std::vector<std::string> column_names;
  std::vector<Oid> relids;
  bool has_old = false;
  std::vector<std::pair<TupleColumn::Kind, std::string>> old_tuple, new_tuple;
};

std::vector<std::pair<TupleColumn::Kind, std::string>> CopyTuple(const TupleView* t) {
  std::vector<std::pair<TupleColumn::Kind, std::string>> out;
  if (t == nullptr) return out;
  for (const TupleColumn& c : *t) out.emplace_back(c.kind, std::string(c.data));
  return out;
}

class RecordingListener : public PgOutputListener {
 public:
  std::vector<Recorded> calls;
  Status fail_with;  // returned from every callback when not OK

  Recorded& Add(const std::string& what, const MessageHeader& h) {
    Recorded& r = calls.emplace_back();
    r.what = what;
    r.wal_start = h.wal_start;
    r.xid = h.xid;
    r.raw = std::string(h.raw);
    return r;
  }

  Status OnBegin(const BeginMessage& m) override {
    Recorded& r = Add("begin", m);
    r.lsn_a = m.final_lsn;
    r.time_us = m.commit_time_us;
    r.id_a = m.top_xid.value;
    return fail_with;
  }
  Status OnCommit(const CommitMessage& m) override {
    Recorded& r = Add("commit", m);
    r.flags = m.flags;
    r.lsn_a = m.commit_lsn;
    r.lsn_b = m.end_lsn;
    r.time_us = m.commit_time_us;
    return fail_with;
  }
  Status OnOrigin(const OriginMessage& m) override {
    Recorded& r = Add("origin", m);
    r.lsn_a = m.origin_lsn;
    r.text_a = std::string(m.name);
    return fail_with;
  }
  Status OnRelation(const RelationMessage& m) override {
    Recorded& r = Add("relation", m);
    r.id_a = m.relid.value;
    r.text_a = std::string(m.nspname);
    r.text_b = std::string(m.relname);
    r.kind = m.replica_identity;
    r.columns = m.columns;
    for (const auto& c : m.columns) r.column_names.emplace_back(c.name);
    for (auto& c : r.columns) c.name = {};
    return fail_with;
  }
  Status OnType(const TypeMessage& m) override {
    Recorded& r = Add("type", m);
    r.id_a = m.type_oid.value;
    r.text_a = std::string(m.nspname);
    r.text_b = std::string(m.name);
    return fail_with;
  }
  Status OnInsert(const InsertMessage& m) override {
    Recorded& r = Add("insert", m);
    r.id_a = m.relid.value;
    r.new_tuple = CopyTuple(m.new_tuple);
    return fail_with;
  }
  Status OnUpdate(const UpdateMessage& m) override {
    Recorded& r = Add("update", m);
    r.id_a = m.relid.value;
    r.kind = m.old_kind;
    r.has_old = m.old_tuple != nullptr;
    r.old_tuple = CopyTuple(m.old_tuple);
    r.new_tuple = CopyTuple(m.new_tuple);
    return fail_with;
  }
  Status OnDelete(const DeleteMessage& m) override {
    Recorded& r = Add("delete", m);
    r.id_a = m.relid.value;
    r.kind = m.old_kind;
    r.has_old = m.old_tuple != nullptr;
    r.old_tuple = CopyTuple(m.old_tuple);
    return fail_with;
  }
  Status OnTruncate(const TruncateMessage& m) override {
    Recorded& r = Add("truncate", m);
    r.flags = m.options;
    r.relids = m.relids;
    return fail_with;
  }
  Status OnMessage(const LogicalMessage& m) override {
    Recorded& r = Add("message", m);
    r.flag = m.transactional;
    r.lsn_a = m.lsn;
    r.text_a = std::string(m.prefix);
    r.text_b = std::string(m.content);
    return fail_with;
  }
  Status OnStreamStart(const StreamStartMessage& m) override {
    Recorded& r = Add("stream_start", m);
    r.id_a = m.top_xid.value;
    r.flag = m.first_segment;
    return fail_with;
  }
  Status OnStreamStop(const MessageHeader& m) override {
    Add("stream_stop", m);
    return fail_with;
  }
  Status OnStreamCommit(const StreamCommitMessage& m) override {
    Recorded& r = Add("stream_commit", m);
    r.id_a = m.top_xid.value;
    r.flags = m.flags;
    r.lsn_a = m.commit_lsn;
    r.lsn_b = m.end_lsn;
    r.time_us = m.commit_time_us;
    return fail_with;
  }
  Status OnStreamAbort(const StreamAbortMessage& m) override {
    Recorded& r = Add("stream_abort", m);
    r.id_a = m.top_xid.value;
    r.id_b = m.sub_xid.value;
    return fail_with;
  }
};

using Kind = TupleColumn::Kind;

class PgOutputDecoderTest : public ::testing::Test {
 protected:
  RecordingListener listener_;
  PgOutputDecoder decoder_{&listener_};

  const Recorded& Single() {
    EXPECT_EQ(listener_.calls.size(), 1u);
    static Recorded empty;
    return listener_.calls.empty() ? empty : listener_.calls.back();
  }
};

TEST_F(PgOutputDecoderTest, Begin) {
  std::string msg = test::WireBegin(0x16B374D848ULL, 1000000, 4242);
  ASSERT_TRUE(decoder_.Consume(Lsn(0x100), msg).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "begin");
  EXPECT_EQ(r.wal_start, Lsn(0x100));
  EXPECT_EQ(r.raw, msg);
  EXPECT_FALSE(r.xid.has_value());
  EXPECT_EQ(r.lsn_a, Lsn(0x16B374D848ULL));
  EXPECT_EQ(r.id_a, 4242u);
  // PostgreSQL's epoch (2000-01-01) + 1 s, as Unix microseconds.
  EXPECT_EQ(r.time_us, test::kPgEpochUnixMicros + 1000000);
}

TEST_F(PgOutputDecoderTest, BeginWithTimeBeforeThePostgresEpoch) {
  ASSERT_TRUE(decoder_.Consume(Lsn(1), test::WireBegin(1, -test::kPgEpochUnixMicros, 1)).ok());
  EXPECT_EQ(Single().time_us, 0);  // 1970-01-01
}

TEST_F(PgOutputDecoderTest, Commit) {
  ASSERT_TRUE(
      decoder_.Consume(Lsn(7), test::WireCommit(0xAABBCCDD11ULL, 0xAABBCCDD99ULL, 5, 0)).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "commit");
  EXPECT_EQ(r.flags, 0);
  EXPECT_EQ(r.lsn_a, Lsn(0xAABBCCDD11ULL));
  EXPECT_EQ(r.lsn_b, Lsn(0xAABBCCDD99ULL));
  EXPECT_EQ(r.time_us, test::kPgEpochUnixMicros + 5);
}

TEST_F(PgOutputDecoderTest, Origin) {
  ASSERT_TRUE(decoder_.Consume(Lsn(9), test::WireOrigin(0x1234, "upstream")).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "origin");
  EXPECT_EQ(r.lsn_a, Lsn(0x1234));
  EXPECT_EQ(r.text_a, "upstream");
}

TEST_F(PgOutputDecoderTest, Relation) {
  std::string msg = test::WireRelation(
      16384, "public", "orders", 'f',
      {{"id", 23, -1, true}, {"amount", 1700, (10 << 16 | 2) + 4, false}, {"note", 25, -1, false}});
  ASSERT_TRUE(decoder_.Consume(Lsn(10), msg).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "relation");
  EXPECT_FALSE(r.xid.has_value());
  EXPECT_EQ(r.id_a, 16384u);
  EXPECT_EQ(r.text_a, "public");
  EXPECT_EQ(r.text_b, "orders");
  EXPECT_EQ(r.kind, 'f');
  ASSERT_EQ(r.columns.size(), 3u);
  EXPECT_EQ(r.column_names, (std::vector<std::string>{"id", "amount", "note"}));
  EXPECT_TRUE(r.columns[0].key);
  EXPECT_FALSE(r.columns[1].key);
  EXPECT_EQ(r.columns[0].type_oid, Oid(23));
  EXPECT_EQ(r.columns[1].type_oid, Oid(1700));
  EXPECT_EQ(r.columns[1].typmod, (10 << 16 | 2) + 4);
  EXPECT_EQ(r.columns[2].typmod, -1);
}

TEST_F(PgOutputDecoderTest, RelationWithoutColumnsAndASecondOneReusesNoStaleColumns) {
  ASSERT_TRUE(decoder_
                  .Consume(Lsn(1), test::WireRelation(1, "s", "wide", 'd',
                                                      {{"a", 23}, {"b", 23}, {"c", 23}}))
                  .ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(2), test::WireRelation(2, "s", "empty", 'n', {})).ok());
  ASSERT_EQ(listener_.calls.size(), 2u);
  EXPECT_EQ(listener_.calls[0].columns.size(), 3u);
  EXPECT_TRUE(listener_.calls[1].columns.empty());
  EXPECT_EQ(listener_.calls[1].kind, 'n');
}

TEST_F(PgOutputDecoderTest, Type) {
  ASSERT_TRUE(decoder_.Consume(Lsn(11), test::WireType(90001, "public", "mood")).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "type");
  EXPECT_EQ(r.id_a, 90001u);
  EXPECT_EQ(r.text_a, "public");
  EXPECT_EQ(r.text_b, "mood");
}

TEST_F(PgOutputDecoderTest, InsertWithNullUnchangedAndTextColumns) {
  std::string big(70000, 'x');
  ASSERT_TRUE(
      decoder_.Consume(Lsn(12), test::WireInsert(16384, {T("1"), N(), U(), T(""), T(big)})).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "insert");
  EXPECT_EQ(r.id_a, 16384u);
  ASSERT_EQ(r.new_tuple.size(), 5u);
  EXPECT_EQ(r.new_tuple[0], std::make_pair(Kind::kText, std::string("1")));
  EXPECT_EQ(r.new_tuple[1].first, Kind::kNull);
  EXPECT_EQ(r.new_tuple[2].first, Kind::kUnchangedToast);
  EXPECT_EQ(r.new_tuple[3], std::make_pair(Kind::kText, std::string()));
  EXPECT_EQ(r.new_tuple[4], std::make_pair(Kind::kText, big));
}

TEST_F(PgOutputDecoderTest, InsertWithBinaryColumnAndEmbeddedNul) {
  ASSERT_TRUE(decoder_.Consume(Lsn(1), test::WireInsert(5, {B(std::string("a\0b", 3))})).ok());
  const Recorded& r = Single();
  ASSERT_EQ(r.new_tuple.size(), 1u);
  EXPECT_EQ(r.new_tuple[0], std::make_pair(Kind::kBinary, std::string("a\0b", 3)));
}

TEST_F(PgOutputDecoderTest, UpdateWithoutOldTuple) {
  ASSERT_TRUE(decoder_.Consume(Lsn(13), test::WireUpdate(7, 0, {}, {T("1"), T("b")})).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "update");
  EXPECT_EQ(r.kind, 0);
  EXPECT_FALSE(r.has_old);
  EXPECT_EQ(r.new_tuple.size(), 2u);
  EXPECT_EQ(r.new_tuple[1].second, "b");
}

TEST_F(PgOutputDecoderTest, UpdateWithKeyOldTuple) {
  ASSERT_TRUE(
      decoder_.Consume(Lsn(14), test::WireUpdate(7, 'K', {T("1"), N()}, {T("2"), T("b")})).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.kind, 'K');
  ASSERT_TRUE(r.has_old);
  ASSERT_EQ(r.old_tuple.size(), 2u);
  EXPECT_EQ(r.old_tuple[0].second, "1");
  EXPECT_EQ(r.old_tuple[1].first, Kind::kNull);
  EXPECT_EQ(r.new_tuple[0].second, "2");
}

TEST_F(PgOutputDecoderTest, UpdateWithWholeOldRow) {
  ASSERT_TRUE(
      decoder_.Consume(Lsn(15), test::WireUpdate(7, 'O', {T("1"), T("long text")}, {T("1"), U()}))
          .ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.kind, 'O');
  EXPECT_EQ(r.old_tuple[1], std::make_pair(Kind::kText, std::string("long text")));
  EXPECT_EQ(r.new_tuple[1].first, Kind::kUnchangedToast);
}

TEST_F(PgOutputDecoderTest, DeleteWithKeyAndWithOldRow) {
  ASSERT_TRUE(decoder_.Consume(Lsn(16), test::WireDelete(7, 'K', {T("1"), N()})).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(17), test::WireDelete(7, 'O', {T("2"), T("x")})).ok());
  ASSERT_EQ(listener_.calls.size(), 2u);
  EXPECT_EQ(listener_.calls[0].what, "delete");
  EXPECT_EQ(listener_.calls[0].kind, 'K');
  EXPECT_EQ(listener_.calls[0].old_tuple[0].second, "1");
  EXPECT_EQ(listener_.calls[1].kind, 'O');
  EXPECT_EQ(listener_.calls[1].old_tuple[1].second, "x");
}

TEST_F(PgOutputDecoderTest, Truncate) {
  ASSERT_TRUE(decoder_.Consume(Lsn(18), test::WireTruncate({16384, 16390, 4000000000u}, 3)).ok());
  const Recorded& r = Single();
  EXPECT_EQ(r.what, "truncate");
  EXPECT_EQ(r.flags, 3);  // CASCADE | RESTART IDENTITY
  EXPECT_EQ(r.relids, (std::vector<Oid>{Oid(16384), Oid(16390), Oid(4000000000u)}));
}

TEST_F(PgOutputDecoderTest, LogicalMessages) {
  ASSERT_TRUE(decoder_.Consume(Lsn(19), test::WireLogicalMessage(true, 0x99, "wf", "hello")).ok());
  ASSERT_TRUE(
      decoder_.Consume(Lsn(20), test::WireLogicalMessage(false, 0x9A, "hb", std::string("\0\1", 2)))
          .ok());
  ASSERT_EQ(listener_.calls.size(), 2u);
  EXPECT_TRUE(listener_.calls[0].flag);
  EXPECT_EQ(listener_.calls[0].lsn_a, Lsn(0x99));
  EXPECT_EQ(listener_.calls[0].text_a, "wf");
  EXPECT_EQ(listener_.calls[0].text_b, "hello");
  EXPECT_FALSE(listener_.calls[1].flag);
  EXPECT_EQ(listener_.calls[1].text_b, std::string("\0\1", 2));
}

TEST_F(PgOutputDecoderTest, StreamedBlockCarriesTheXidOfEachMessage) {
  ASSERT_TRUE(decoder_.Consume(Lsn(1), test::WireStreamStart(800, true)).ok());
  EXPECT_TRUE(decoder_.in_stream());
  ASSERT_TRUE(decoder_
                  .Consume(Lsn(2), test::WireRelation(16384, "public", "t", 'd',
                                                      {{"id", 23, -1, true}}, 800))
                  .ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(3), test::WireType(90001, "public", "mood", 800)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(4), test::WireInsert(16384, {T("1")}, 801)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(5), test::WireUpdate(16384, 'O', {T("1")}, {T("2")}, 801)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(6), test::WireDelete(16384, 'K', {T("2")}, 802)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(7), test::WireTruncate({16384}, 0, 800)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(8), test::WireLogicalMessage(true, 8, "p", "c", 800)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(9), test::WireStreamStop()).ok());
  EXPECT_FALSE(decoder_.in_stream());

  ASSERT_EQ(listener_.calls.size(), 9u);
  const auto& c = listener_.calls;
  EXPECT_EQ(c[0].what, "stream_start");
  EXPECT_EQ(c[0].id_a, 800u);
  EXPECT_TRUE(c[0].flag);
  EXPECT_FALSE(c[0].xid.has_value());
  const std::vector<std::pair<std::string, uint32_t>> expected = {
      {"relation", 800}, {"type", 800},     {"insert", 801},  {"update", 801},
      {"delete", 802},   {"truncate", 800}, {"message", 800},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(c[i + 1].what, expected[i].first);
    ASSERT_TRUE(c[i + 1].xid.has_value());
    EXPECT_EQ(c[i + 1].xid->value, expected[i].second);
  }
  // The fields after the xid are still read correctly.
  EXPECT_EQ(c[1].id_a, 16384u);
  EXPECT_EQ(c[1].text_b, "t");
  EXPECT_EQ(c[2].text_b, "mood");
  EXPECT_EQ(c[3].new_tuple[0].second, "1");
  EXPECT_EQ(c[4].kind, 'O');
  EXPECT_EQ(c[4].new_tuple[0].second, "2");
  EXPECT_EQ(c[5].old_tuple[0].second, "2");
  EXPECT_EQ(c[6].relids, std::vector<Oid>{Oid(16384)});
  EXPECT_EQ(c[7].text_b, "c");
  EXPECT_EQ(c[8].what, "stream_stop");
}

TEST_F(PgOutputDecoderTest, StreamCommitAndAbort) {
  ASSERT_TRUE(decoder_.Consume(Lsn(1), test::WireStreamCommit(800, 0x500, 0x580, 77)).ok());
  ASSERT_TRUE(decoder_.Consume(Lsn(2), test::WireStreamAbort(801, 805)).ok());
  // Protocol 4 appends the abort LSN and time; the decoder ignores them.
  std::string v4 = test::WireMessage('A').U32(802).U32(802).U64(0x600).I64(1);
  ASSERT_TRUE(decoder_.Consume(Lsn(3), v4).ok());
  ASSERT_EQ(listener_.calls.size(), 3u);
  const auto& c = listener_.calls;
  EXPECT_EQ(c[0].what, "stream_commit");
  EXPECT_EQ(c[0].id_a, 800u);
  EXPECT_EQ(c[0].lsn_a, Lsn(0x500));
  EXPECT_EQ(c[0].lsn_b, Lsn(0x580));
  EXPECT_EQ(c[0].time_us, test::kPgEpochUnixMicros + 77);
  EXPECT_EQ(c[1].what, "stream_abort");
  EXPECT_EQ(c[1].id_a, 801u);
  EXPECT_EQ(c[1].id_b, 805u);
  EXPECT_EQ(c[2].id_a, 802u);
  EXPECT_EQ(c[2].id_b, 802u);
}

TEST_F(PgOutputDecoderTest, ConsumeStreamedReadsTheXidOutsideAStreamBlock) {
  ASSERT_FALSE(decoder_.in_stream());
  ASSERT_TRUE(decoder_.ConsumeStreamed(Lsn(5), test::WireInsert(3, {T("a")}, 900)).ok());
  const Recorded& r = Single();
  ASSERT_TRUE(r.xid.has_value());
  EXPECT_EQ(r.xid->value, 900u);
  EXPECT_EQ(r.id_a, 3u);
  EXPECT_FALSE(decoder_.in_stream());
}

TEST_F(PgOutputDecoderTest, ListenerErrorsArePassedOn) {
  listener_.fail_with = Aborted("stop here");
  Status s = decoder_.Consume(Lsn(1), test::WireInsert(3, {T("a")}));
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(s.message(), "stop here");
}

TEST_F(PgOutputDecoderTest, StreamStopOutsideAStreamIsRejected) {
  Status s = decoder_.Consume(Lsn(0x10), test::WireStreamStop());
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(listener_.calls.empty());
}

TEST_F(PgOutputDecoderTest, StreamStartInsideAStreamIsRejected) {
  ASSERT_TRUE(decoder_.Consume(Lsn(1), test::WireStreamStart(1, true)).ok());
  EXPECT_FALSE(decoder_.Consume(Lsn(2), test::WireStreamStart(2, false)).ok());
  EXPECT_EQ(listener_.calls.size(), 1u);
}

TEST_F(PgOutputDecoderTest, EmptyMessageIsRejected) {
  EXPECT_EQ(decoder_.Consume(Lsn(1), "").code(), StatusCode::kDataLoss);
  EXPECT_TRUE(listener_.calls.empty());
}

TEST_F(PgOutputDecoderTest, UnknownTagsAreRejected) {
  for (int tag : {int{'Z'}, int{'X'}, int{'a'}, int{'z'}, 0, 1, 0x7f, 0x80, 0xff}) {
    SCOPED_TRACE(tag);
    std::string msg(1, static_cast<char>(tag));
    msg += std::string(40, '\0');
    Status s = decoder_.Consume(Lsn(0x2A), msg);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("unknown"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(listener_.calls.empty());
}

TEST_F(PgOutputDecoderTest, TwoPhaseTagsAreRejected) {
  for (char tag : {'b', 'P', 'K', 'r', 'p'}) {
    SCOPED_TRACE(std::string(1, tag));
    std::string msg(1, tag);
    msg += std::string(64, '\1');
    Status s = decoder_.Consume(Lsn(0x2A), msg);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("two-phase"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(listener_.calls.empty());
}

TEST_F(PgOutputDecoderTest, BadMarkersInsideRowMessagesAreRejected) {
  // Insert without 'N'.
  std::string no_n = test::WireMessage('I').U32(1).U8('X').Tuple({T("1")});
  EXPECT_FALSE(decoder_.Consume(Lsn(1), no_n).ok());
  // Update whose new-tuple marker is wrong.
  std::string bad_update = test::WireMessage('U').U32(1).U8('Q').Tuple({T("1")});
  EXPECT_FALSE(decoder_.Consume(Lsn(1), bad_update).ok());
  // Delete must say 'K' or 'O'.
  std::string bad_delete = test::WireMessage('D').U32(1).U8('N').Tuple({T("1")});
  EXPECT_FALSE(decoder_.Consume(Lsn(1), bad_delete).ok());
  // Unknown column kind in TupleData.
  std::string bad_kind = test::WireMessage('I').U32(1).U8('N').U16(1).U8('x');
  EXPECT_FALSE(decoder_.Consume(Lsn(1), bad_kind).ok());
  // A column length pointing past the end.
  std::string long_len =
      test::WireMessage('I').U32(1).U8('N').U16(1).U8('t').U32(0xFFFFFFFFu).Raw("ab");
  EXPECT_FALSE(decoder_.Consume(Lsn(1), long_len).ok());
  // More relation ids than bytes.
  std::string many = test::WireMessage('T').U32(0x40000000u).U8(0).U32(1);
  EXPECT_FALSE(decoder_.Consume(Lsn(1), many).ok());
  // A message whose content length points past the end.
  std::string content = test::WireMessage('M').U8(1).U64(1).CString("p").U32(100).Raw("short");
  EXPECT_FALSE(decoder_.Consume(Lsn(1), content).ok());
  // A string without its terminator.
  std::string unterminated = test::WireMessage('Y').U32(1).Raw("public");
  EXPECT_FALSE(decoder_.Consume(Lsn(1), unterminated).ok());
  EXPECT_TRUE(listener_.calls.empty());
}

// Every valid message, cut at every byte, is rejected and reaches no listener.
struct TruncationCase {
  std::string name;
  std::string message;
  bool in_stream;
};

std::vector<TruncationCase> AllMessages() {
  const std::vector<test::WireRelationColumn> cols = {{"id", 23, -1, true},
                                                      {"amount", 1700, 655366, false}};
  const WireTuple row = {T("1"), N(), U(), T("abc")};
  std::vector<TruncationCase> out = {
      {"begin", test::WireBegin(1, 2, 3), false},
      {"commit", test::WireCommit(1, 2, 3), false},
      {"origin", test::WireOrigin(1, "o"), false},
      {"relation", test::WireRelation(1, "public", "t", 'd', cols), false},
      {"type", test::WireType(1, "public", "mood"), false},
      {"insert", test::WireInsert(1, row), false},
      {"update", test::WireUpdate(1, 0, {}, row), false},
      {"update_k", test::WireUpdate(1, 'K', row, row), false},
      {"update_o", test::WireUpdate(1, 'O', row, row), false},
      {"delete", test::WireDelete(1, 'K', row), false},
      {"truncate", test::WireTruncate({1, 2}, 1), false},
      {"message", test::WireLogicalMessage(true, 1, "p", "content"), false},
      {"stream_start", test::WireStreamStart(5, true), false},
      {"stream_commit", test::WireStreamCommit(5, 1, 2, 3), false},
      {"stream_abort", test::WireStreamAbort(5, 6), false},
      {"s_relation", test::WireRelation(1, "public", "t", 'd', cols, 5), true},
      {"s_type", test::WireType(1, "public", "mood", 5), true},
      {"s_insert", test::WireInsert(1, row, 5), true},
      {"s_update", test::WireUpdate(1, 'O', row, row, 5), true},
      {"s_delete", test::WireDelete(1, 'O', row, 5), true},
      {"s_truncate", test::WireTruncate({1}, 0, 5), true},
      {"s_message", test::WireLogicalMessage(true, 1, "p", "c", 5), true},
      {"stream_stop", test::WireStreamStop(), true},
  };
  return out;
}

TEST(PgOutputTruncation, EveryPrefixOfEveryMessageIsRejected) {
  for (const TruncationCase& c : AllMessages()) {
    // The whole message decodes.
    {
      RecordingListener listener;
      PgOutputDecoder decoder(&listener);
      if (c.in_stream) {
        ASSERT_TRUE(decoder.Consume(Lsn(1), test::WireStreamStart(5, true)).ok());
      }
      ASSERT_TRUE(decoder.Consume(Lsn(2), c.message).ok()) << c.name;
      EXPECT_EQ(listener.calls.size(), c.in_stream ? 2u : 1u) << c.name;
    }
    for (size_t len = 0; len < c.message.size(); ++len) {
      RecordingListener listener;
      PgOutputDecoder decoder(&listener);
      if (c.in_stream) {
        ASSERT_TRUE(decoder.Consume(Lsn(1), test::WireStreamStart(5, true)).ok());
      }
      const size_t before = listener.calls.size();
      // A copy of exactly `len` bytes, so that reading past it is a real overrun (ASan).
      std::string prefix = c.message.substr(0, len);
      Status s = decoder.Consume(Lsn(0x1234), prefix);
      EXPECT_FALSE(s.ok()) << c.name << " cut to " << len << " of " << c.message.size();
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << c.name << " cut to " << len;
      EXPECT_EQ(listener.calls.size(), before) << c.name << " cut to " << len;
      if (len > 0) {
        EXPECT_NE(s.message().find("0/1234"), std::string::npos)
            << "the error names the WAL position: " << s.message();
      }
    }
  }
}

TEST(PgOutputTruncation, StreamedMessagesWithoutTheirXidAreRejected) {
  // Inside a stream block the decoder expects the xid; a message without it is short.
  RecordingListener listener;
  PgOutputDecoder decoder(&listener);
  ASSERT_TRUE(decoder.Consume(Lsn(1), test::WireStreamStart(5, true)).ok());
  EXPECT_FALSE(decoder.Consume(Lsn(2), test::WireTruncate({}, 0)).ok());
  EXPECT_FALSE(decoder.Consume(Lsn(2), test::WireType(1, "a", "b").substr(0, 5)).ok());
}

// Random bytes never crash the decoder (a small deterministic fuzz pass; the fuzz target
// does the long runs).
TEST(PgOutputTruncation, RandomMutationsNeverCrash) {
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const auto messages = AllMessages();
  int accepted = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const TruncationCase& c = messages[next() % messages.size()];
    std::string m = c.message;
    int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) m[next() % m.size()] = static_cast<char>(next());
    RecordingListener listener;
    PgOutputDecoder decoder(&listener);
    if (next() % 2) (void)decoder.Consume(Lsn(1), test::WireStreamStart(5, true));
    if (decoder.Consume(Lsn(2), m).ok()) ++accepted;
  }
  EXPECT_GT(accepted, 0);  // the mutations did not all hit the tag byte
}

}  // namespace
}  // namespace walflow::pg
