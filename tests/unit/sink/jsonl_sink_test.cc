// JsonlSink in a scratch directory: durable positions, cutting what a crash left behind,
// rolling files, and refusing directories it cannot trust.
#include "sink/jsonl/jsonl_sink.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "change_stream.h"
#include "unit_test_util.h"

namespace walflow::sink {
namespace {

using Json = nlohmann::json;

TableSchemaPtr Table() {
  auto t = std::make_shared<TableSchema>();
  MakeItemsTable(t.get(), "t", 16384);
  return t;
}

// Builds batches of transactions whose rows are numbered, so files can be checked line by line.
class BatchBuilder {
 public:
  explicit BatchBuilder(TableSchemaPtr table) : table_(std::move(table)) {}

  // Adds `n` inserts of transaction `xid`; with `commit`, also its marker ending at `end`.
  BatchBuilder& Tx(uint32_t xid, uint64_t commit, uint64_t end, int n, bool with_marker = true,
                   const std::string& value = "") {
    for (int i = 0; i < n; ++i) {
      batch_->Retain(table_);
      int32_t row = batch_->AddRow(2);
      batch_->SetText(row, std::to_string(next_id_++));
      batch_->SetText(row + 1, value.empty() ? "row of " + std::to_string(xid) : value);
      Change& c = batch_->AddChange();
      c.op = ChangeOp::kCreate;
      c.table = table_.get();
      c.after = row;
      c.lsn = Lsn(commit - 8 + i);
      c.commit_lsn = Lsn(commit);
      c.seq = static_cast<uint32_t>(i + 1);
      c.xid = Xid(xid);
      c.commit_time_us = 1700000000000000;
    }
    if (with_marker) Marker(xid, commit, end, n);
    return *this;
  }
  BatchBuilder& Marker(uint32_t xid, uint64_t commit, uint64_t end, int n) {
    TxMarker m;
    m.change_end = static_cast<uint32_t>(batch_->changes().size());
    m.commit_lsn = Lsn(commit);
    m.end_lsn = Lsn(end);
    m.xid = Xid(xid);
    m.change_count = static_cast<uint32_t>(n);
    batch_->AddMarker(m);
    return *this;
  }
  std::shared_ptr<ChangeBatch> Take() {
    auto b = std::move(batch_);
    batch_ = std::make_shared<ChangeBatch>();
    return b;
  }

 private:
  TableSchemaPtr table_;
  std::shared_ptr<ChangeBatch> batch_ = std::make_shared<ChangeBatch>();
  int next_id_ = 1;
};

class JsonlSinkTest : public ::testing::Test {
 protected:
  JsonlSinkOptions Options(uint64_t max_file_size = 64ull << 20) {
    JsonlSinkOptions o;
    o.name = "files";
    o.path = dir_.File("out");
    o.max_file_size = max_file_size;
    o.encoding.server_name = "wf";
    return o;
  }
  std::string Out(const std::string& name = "") const {
    return name.empty() ? dir_.File("out") : dir_.File("out") + "/" + name;
  }
  std::vector<std::string> ChangeFiles() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(Out())) {
      std::string n = e.path().filename().string();
      if (n.rfind("changes-", 0) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Every line of every change file, in file-name order; each must be a complete event.
  std::vector<Json> Events() const {
    std::vector<Json> out;
    for (const auto& f : ChangeFiles()) {
      std::string text = test::ReadWholeFile(Out(f));
      EXPECT_TRUE(text.empty() || text.back() == '\n') << f << " ends in a partial line";
      size_t start = 0;
      while (start < text.size()) {
        size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(start, nl - start);
        try {
          out.push_back(Json::parse(line));
        } catch (const std::exception& e) {
          ADD_FAILURE() << f << ": not JSON: " << line;
        }
        start = nl + 1;
      }
    }
    return out;
  }
  std::vector<int> Ids() const {
    std::vector<int> ids;
    for (const Json& e : Events()) ids.push_back(e["after"]["id"].get<int>());
    return ids;
  }

  test::ScratchDir dir_;
  BatchBuilder builder_{Table()};
};

TEST_F(JsonlSinkTest, FreshDirectoryStartsAtZero) {
  JsonlSink sink(Options());
  auto r = sink.Open();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Lsn());
  EXPECT_EQ(ChangeFiles(), std::vector<std::string>{"changes-00000000001.jsonl"});
  EXPECT_EQ(JsonlSink::FileName(1), "changes-00000000001.jsonl");
  EXPECT_EQ(JsonlSink::FileName(12345), "changes-00000012345.jsonl");
}

TEST_F(JsonlSinkTest, CheckpointThenReopenReturnsTheDurablePosition) {
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
    auto batch = builder_.Tx(700, 0x100, 0x110, 2).Tx(701, 0x200, 0x210, 3).Take();
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*batch, 0, 0)).ok());
    auto cp = sink.Checkpoint();
    ASSERT_TRUE(cp.ok()) << cp.status().ToString();
    EXPECT_EQ(*cp, Lsn(0x210));
    // Nothing new: the same position, cheaply.
    EXPECT_EQ(*sink.Checkpoint(), Lsn(0x210));
  }
  EXPECT_TRUE(test::ReadWholeFile(Out(".walflow-position")).find("0/210") != std::string::npos);
  JsonlSink again(Options());
  auto r = again.Open();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Lsn(0x210));
  EXPECT_EQ(Ids(), (std::vector<int>{1, 2, 3, 4, 5}));
  std::vector<Json> events = Events();
  EXPECT_EQ(events[0]["op"], "c");
  EXPECT_EQ(events[0]["source"]["txId"], 700);
  EXPECT_EQ(events[4]["source"]["txId"], 701);
  EXPECT_EQ(events[4]["source"]["name"], "wf");
}

TEST_F(JsonlSinkTest, PartialTransactionAndLaterBytesAreCutOnReopen) {
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
    // Transaction 700 ends; 701 has begun but has no marker yet.
    auto batch = builder_.Tx(700, 0x100, 0x110, 2).Tx(701, 0x200, 0x210, 3, false).Take();
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*batch, 0, 0)).ok());
    EXPECT_EQ(*sink.Checkpoint(), Lsn(0x110));
    // The checkpoint wrote 701's rows to the file too; they are past the durable point.
    EXPECT_EQ(Ids(), (std::vector<int>{1, 2, 3, 4, 5}));
  }
  // A crash could also leave a torn line.
  std::ofstream(Out("changes-00000000001.jsonl"), std::ios::app) << "{\"torn\":";
  {
    JsonlSink sink(Options());
    auto r = sink.Open();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, Lsn(0x110));
    EXPECT_EQ(Ids(), (std::vector<int>{1, 2}));
    // Writing goes on right after the durable point.
    auto batch = builder_.Tx(701, 0x200, 0x210, 3).Take();
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*batch, 0, 0)).ok());
    EXPECT_EQ(*sink.Checkpoint(), Lsn(0x210));
  }
  JsonlSink sink(Options());
  EXPECT_EQ(*sink.Open(), Lsn(0x210));
  EXPECT_EQ(Ids(), (std::vector<int>{1, 2, 6, 7, 8}));
}

TEST_F(JsonlSinkTest, UncheckpointedWritesAreNotDurable) {
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(700, 0x100, 0x110, 1).Take(), 0, 0)).ok());
    ASSERT_TRUE(sink.Checkpoint().ok());
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(701, 0x200, 0x210, 1).Take(), 0, 0)).ok());
    // Destroyed without Checkpoint or Close, as in a crash.
  }
  JsonlSink sink(Options());
  EXPECT_EQ(*sink.Open(), Lsn(0x110));
  EXPECT_EQ(Ids(), std::vector<int>{1});
}

TEST_F(JsonlSinkTest, CloseMakesCompleteTransactionsDurable) {
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
    auto batch = builder_.Tx(700, 0x100, 0x110, 2).Tx(701, 0x200, 0x210, 1, false).Take();
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*batch, 0, 0)).ok());
    ASSERT_TRUE(sink.Close().ok());
  }
  JsonlSink sink(Options());
  EXPECT_EQ(*sink.Open(), Lsn(0x110));
  EXPECT_EQ(Ids(), (std::vector<int>{1, 2}));
}

TEST_F(JsonlSinkTest, WriteSkipsWhatTheCallerSaysTheSinkHolds) {
  JsonlSink sink(Options());
  ASSERT_TRUE(sink.Open().ok());
  auto batch = builder_.Tx(700, 0x100, 0x110, 2).Tx(701, 0x200, 0x210, 2).Take();
  ASSERT_TRUE(sink.Write(sink::BatchSlice(*batch, 2, 1)).ok());
  EXPECT_EQ(*sink.Checkpoint(), Lsn(0x210));
  EXPECT_EQ(Ids(), (std::vector<int>{3, 4}));
}

TEST_F(JsonlSinkTest, WatermarkWithoutChangesAdvancesThePosition) {
  JsonlSink sink(Options());
  ASSERT_TRUE(sink.Open().ok());
  ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(700, 0x100, 0x110, 1).Take(), 0, 0)).ok());
  ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Marker(0, 0x500, 0x500, 0).Take(), 0, 0)).ok());
  EXPECT_EQ(*sink.Checkpoint(), Lsn(0x500));
  EXPECT_EQ(Ids(), std::vector<int>{1});
}

TEST_F(JsonlSinkTest, FilesRollAtMaxSizeAndSortInWriteOrder) {
  {
    JsonlSink sink(Options(/*max_file_size=*/1));
    ASSERT_TRUE(sink.Open().ok());
    // Twelve one-row transactions: file names pass 9 -> 10, which must still sort right.
    for (int i = 0; i < 12; ++i) {
      auto b = builder_.Tx(700 + i, 0x100 * (i + 1), 0x100 * (i + 1) + 0x10, 1).Take();
      ASSERT_TRUE(sink.Write(sink::BatchSlice(*b, 0, 0)).ok());
    }
    EXPECT_EQ(*sink.Checkpoint(), Lsn(0x100 * 12 + 0x10));
  }
  std::vector<std::string> files = ChangeFiles();
  ASSERT_EQ(files.size(), 12u);
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(files[i], JsonlSink::FileName(i + 1));
  std::vector<int> expected(12);
  for (int i = 0; i < 12; ++i) expected[i] = i + 1;
  EXPECT_EQ(Ids(), expected);
  JsonlSink sink(Options(1));
  EXPECT_EQ(*sink.Open(), Lsn(0x100 * 12 + 0x10));
  EXPECT_EQ(ChangeFiles().size(), 12u);
  EXPECT_EQ(Ids(), expected);
}

TEST_F(JsonlSinkTest, RollingBySizeKeepsWholeLines) {
  const uint64_t kMax = 1000;
  {
    JsonlSink sink(Options(kMax));
    ASSERT_TRUE(sink.Open().ok());
    auto b = builder_.Tx(700, 0x100, 0x110, 40, true, std::string(50, 'v')).Take();
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*b, 0, 0)).ok());
    ASSERT_TRUE(sink.Checkpoint().ok());
  }
  std::vector<std::string> files = ChangeFiles();
  EXPECT_GT(files.size(), 3u);
  for (const auto& f : files) {
    std::string text = test::ReadWholeFile(Out(f));
    size_t last_line = text.rfind('\n', text.size() - 2);
    size_t before_last = last_line == std::string::npos ? 0 : last_line + 1;
    // A file is rolled once it reaches the limit, so only its last line may cross it.
    EXPECT_LT(before_last, kMax) << f;
  }
  EXPECT_EQ(Ids().size(), 40u);
}

TEST_F(JsonlSinkTest, FilesPastTheDurablePointAreDeletedOnReopen) {
  {
    JsonlSink sink(Options(1));
    ASSERT_TRUE(sink.Open().ok());
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(700, 0x100, 0x110, 1).Take(), 0, 0)).ok());
    EXPECT_EQ(*sink.Checkpoint(), Lsn(0x110));
    // Transaction 701 spreads over three more files (rolling flushes them to disk), and its
    // marker is written but never made durable.
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(701, 0x200, 0x210, 3).Take(), 0, 0)).ok());
  }
  EXPECT_EQ(ChangeFiles().size(), 4u);
  test::WriteWholeFile(Out("changes-00000000099.jsonl"), "{}\n");
  test::WriteWholeFile(Out("notes.txt"), "not ours\n");
  JsonlSink sink(Options(1));
  auto r = sink.Open();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Lsn(0x110));
  EXPECT_EQ(ChangeFiles(), std::vector<std::string>{"changes-00000000001.jsonl"});
  EXPECT_TRUE(std::filesystem::exists(Out("notes.txt")));
  EXPECT_EQ(Ids(), std::vector<int>{1});
}

TEST_F(JsonlSinkTest, SecondSinkOnTheSameDirectoryIsRefused) {
  JsonlSink first(Options());
  ASSERT_TRUE(first.Open().ok());
  {
    JsonlSinkOptions o = Options();
    o.name = "other";
    JsonlSink second(o);
    auto r = second.Open();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("in use"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("other"), std::string::npos) << r.status().message();
  }
}

TEST_F(JsonlSinkTest, DirectoryIsFreeAgainWhenTheSinkIsGone) {
  {
    JsonlSink first(Options());
    ASSERT_TRUE(first.Open().ok());
  }
  JsonlSink second(Options());
  EXPECT_TRUE(second.Open().ok());
}

TEST_F(JsonlSinkTest, CloseReleasesTheDirectory) {
  // bug reported: JsonlSink::Close() keeps the flock on .walflow-lock (it is only released
  // in the destructor), although Sink::Close promises to release resources.
  JsonlSink first(Options());
  ASSERT_TRUE(first.Open().ok());
  ASSERT_TRUE(first.Close().ok());
  JsonlSink second(Options());
  auto r = second.Open();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(JsonlSinkTest, ChangeFilesWithoutPositionFileAreRefused) {
  std::filesystem::create_directories(Out());
  test::WriteWholeFile(Out("changes-00000000001.jsonl"), "{\"op\":\"c\"}\n");
  JsonlSink sink(Options());
  auto r = sink.Open();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("files"), std::string::npos) << m;  // the sink's name
  EXPECT_NE(m.find(".walflow-position"), std::string::npos) << m;
  EXPECT_NE(m.find(Out()), std::string::npos) << m;
  // The files are left alone.
  EXPECT_EQ(test::ReadWholeFile(Out("changes-00000000001.jsonl")), "{\"op\":\"c\"}\n");
}

class JsonlSinkDamagedPositionTest : public JsonlSinkTest,
                                     public ::testing::WithParamInterface<std::string> {};

TEST_P(JsonlSinkDamagedPositionTest, IsRefused) {
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
    ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(700, 0x100, 0x110, 2).Take(), 0, 0)).ok());
    ASSERT_TRUE(sink.Checkpoint().ok());
  }
  const std::string original = test::ReadWholeFile(Out("changes-00000000001.jsonl"));
  test::WriteWholeFile(Out(".walflow-position"), GetParam());
  JsonlSink sink(Options());
  Result<Lsn> r = Lsn();
  ASSERT_NO_THROW(r = sink.Open());
  ASSERT_FALSE(r.ok()) << "accepted: " << GetParam();
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_NE(r.status().message().find(Out()), std::string::npos) << r.status().message();
  // Nothing was cut on the strength of a position that cannot be read.
  EXPECT_EQ(test::ReadWholeFile(Out("changes-00000000001.jsonl")), original);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, JsonlSinkDamagedPositionTest,
    ::testing::Values(
        "", "garbage", "{\"format\":1,\"sink\":\"files\",\"file\":\"changes-0000",
        "{\"format\":1,\"sink\":\"files\",\"file\":\"changes-00000000001.jsonl\",\"offset\":10}",
        "{\"format\":1,\"file\":\"changes-00000000001.jsonl\",\"offset\":10,\"durable_lsn\":"
        "\"zz\"}",
        "{\"format\":1,\"file\":\"other.jsonl\",\"offset\":10,\"durable_lsn\":\"0/110\"}",
        "{\"format\":1,\"file\":\"changes-00000000001.jsonl\",\"durable_lsn\":\"0/110\"}",
        // Longer than the file it names.
        "{\"format\":1,\"file\":\"changes-00000000001.jsonl\",\"offset\":999999,"
        "\"durable_lsn\":\"0/110\"}"));

TEST_F(JsonlSinkTest, NonNumericOffsetInPositionFileIsRefused) {
  // bug reported: JsonlSink::Open parses "offset" with std::stoull, which throws
  // std::invalid_argument / std::out_of_range on a damaged value instead of returning the
  // "is damaged" DataLoss status; the exception escapes the sink.
  {
    JsonlSink sink(Options());
    ASSERT_TRUE(sink.Open().ok());
  }
  for (const char* offset : {"\"abc\"", "x1", "99999999999999999999999"}) {
    test::WriteWholeFile(Out(".walflow-position"),
                         std::string("{\"format\":1,\"file\":\"changes-00000000001.jsonl\","
                                     "\"offset\":") +
                             offset + ",\"durable_lsn\":\"0/110\"}");
    JsonlSink sink(Options());
    Result<Lsn> r = Lsn();
    ASSERT_NO_THROW(r = sink.Open()) << offset;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << offset;
  }
}

TEST_F(JsonlSinkTest, UnreadableValueFailsTheWriteNamingTheSink) {
  JsonlSink sink(Options());
  ASSERT_TRUE(sink.Open().ok());
  // An id that is not an int4.
  auto bad = std::make_shared<ChangeBatch>();
  auto table = Table();
  bad->Retain(table);
  int32_t row = bad->AddRow(2);
  bad->SetText(row, "not a number");
  bad->SetText(row + 1, "x");
  Change& c = bad->AddChange();
  c.table = table.get();
  c.after = row;
  Status s = sink.Write(sink::BatchSlice(*bad, 0, 0));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("sink files"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("column id"), std::string::npos) << s.message();
}

TEST_F(JsonlSinkTest, EncodingOptionsAreUsed) {
  JsonlSinkOptions o = Options();
  o.encoding.schemas = true;
  o.encoding.transaction_metadata = true;
  JsonlSink sink(o);
  ASSERT_TRUE(sink.Open().ok());
  ASSERT_TRUE(sink.Write(sink::BatchSlice(*builder_.Tx(700, 0x100, 0x110, 2).Take(), 0, 0)).ok());
  ASSERT_TRUE(sink.Checkpoint().ok());
  std::vector<Json> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].contains("schema"));
  EXPECT_EQ(events[1]["payload"]["transaction"]["total_order"], 2);
}

}  // namespace
}  // namespace walflow::sink
