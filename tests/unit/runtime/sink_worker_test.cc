// SinkWorker with a fake sink: what the sink already holds is skipped, both the prefix of
// the stream below its durable position and snapshot chunks delivered again after a
// restart (ChangeBatch::held_by) that it received before; a sink that needs transaction
// boundaries is checkpointed only right after a marker.
#include "runtime/sink_worker.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace walflow::runtime {
namespace {

using std::chrono::milliseconds;

// What the fake sink was asked to do, readable after the worker has finished.
struct Journal {
  struct WriteCall {
    std::vector<uint64_t> change_commits;  // commit LSN of each change written
    std::vector<uint64_t> marker_ends;     // end LSN of each marker written
    std::vector<std::string> held_by;
  };
  std::mutex mu;
  std::vector<WriteCall> writes;
  std::vector<std::string> noted_states;  // NoteSourceState calls
  int checkpoints = 0;
  // For each Checkpoint call: how many writes preceded it, and whether changes had been
  // written after the last marker (a transaction still open).
  std::vector<size_t> checkpoint_after_writes;
  int checkpoints_in_open_transaction = 0;
  bool closed = false;
};

constexpr const char* kSinkName = "fake";

class FakeSink : public sink::Sink {
 public:
  FakeSink(Lsn durable, std::shared_ptr<Journal> journal)
      : durable_(durable), journal_(std::move(journal)) {}

  const std::string& name() const override { return name_; }
  Result<Lsn> Open() override { return durable_; }

  Status Write(const sink::BatchSlice& slice) override {
    const ChangeBatch& batch = *slice.batch;
    Journal::WriteCall call;
    for (size_t i = slice.first_change; i < slice.end_change; ++i) {
      if (!slice.Selected(batch.changes()[i])) continue;
      call.change_commits.push_back(batch.changes()[i].commit_lsn.value);
    }
    for (size_t i = slice.first_marker; i < slice.end_marker; ++i) {
      call.marker_ends.push_back(batch.markers()[i].end_lsn.value);
      written_end_ = batch.markers()[i].end_lsn;
    }
    call.held_by = batch.held_by();
    if (slice.end_marker > slice.first_marker) {
      open_ = slice.end_change > batch.markers()[slice.end_marker - 1].change_end;
    } else if (slice.end_change > slice.first_change) {
      open_ = true;
    }
    std::lock_guard<std::mutex> lock(journal_->mu);
    journal_->writes.push_back(std::move(call));
    return Status::OK();
  }

  Result<Lsn> Checkpoint() override {
    std::lock_guard<std::mutex> lock(journal_->mu);
    ++journal_->checkpoints;
    journal_->checkpoint_after_writes.push_back(journal_->writes.size());
    if (open_) ++journal_->checkpoints_in_open_transaction;
    if (written_end_ > durable_) durable_ = written_end_;
    return durable_;
  }

  Status Close() override {
    std::lock_guard<std::mutex> lock(journal_->mu);
    journal_->closed = true;
    return Status::OK();
  }

  void NoteSourceState(const std::string& state) override {
    std::lock_guard<std::mutex> lock(journal_->mu);
    journal_->noted_states.push_back(state);
  }
  void set_durable_source_state(std::string state) { source_state_ = std::move(state); }
  const std::string& durable_source_state() const override { return source_state_; }

 private:
  const std::string name_ = kSinkName;
  std::string source_state_;
  Lsn durable_;
  Lsn written_end_;
  bool open_ = false;  // changes written after the last marker
  std::shared_ptr<Journal> journal_;
};

TableSchemaPtr Table() {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16384);
  t->schema = "public";
  t->name = "t";
  ColumnSchema id;
  id.name = "id";
  id.type.kind = ValueKind::kInt32;
  id.type.type_name = "int4";
  t->columns = {id};
  t->key_columns = {0};
  return t;
}

void AddRows(ChangeBatch* b, const TableSchemaPtr& table, ChangeOp op, uint64_t commit, int n,
             SnapshotMark mark = SnapshotMark::kNone) {
  b->Retain(table);
  for (int i = 0; i < n; ++i) {
    int32_t row = b->AddRow(1);
    b->SetText(row, std::to_string(i));
    Change& c = b->AddChange();
    c.op = op;
    c.snapshot = mark;
    c.table = table.get();
    c.after = row;
    c.lsn = Lsn(commit - 1);
    c.commit_lsn = Lsn(commit);
    c.seq = static_cast<uint32_t>(i + 1);
  }
}

void AddMarker(ChangeBatch* b, uint64_t commit, uint64_t end) {
  TxMarker m;
  m.change_end = static_cast<uint32_t>(b->changes().size());
  m.commit_lsn = Lsn(commit);
  m.end_lsn = Lsn(end);
  b->AddMarker(m);
}

// Rows of a snapshot chunk read again by the watermark method, delivered at the high
// watermark's commit `commit`; the sinks named in `held_by` hold it already.
ChangeBatchPtr RedeliveredChunk(const TableSchemaPtr& table, uint64_t commit, int rows,
                                std::vector<std::string> held_by) {
  auto b = std::make_shared<ChangeBatch>();
  AddRows(b.get(), table, ChangeOp::kRead, commit, rows, SnapshotMark::kIncremental);
  b->set_held_by(std::move(held_by));
  return b;
}

// A streamed transaction with `rows` inserts and its marker.
ChangeBatchPtr StreamTx(const TableSchemaPtr& table, uint64_t commit, uint64_t end, int rows) {
  auto b = std::make_shared<ChangeBatch>();
  AddRows(b.get(), table, ChangeOp::kCreate, commit, rows);
  AddMarker(b.get(), commit, end);
  return b;
}

// Runs a worker over a sink durable at `durable`, pushes `batches`, finishes.
std::vector<Journal::WriteCall> RunWorker(Lsn durable, const std::vector<ChangeBatchPtr>& batches,
                                          uint64_t* events = nullptr) {
  auto journal = std::make_shared<Journal>();
  SinkWorker worker(std::make_unique<FakeSink>(durable, journal), 4, milliseconds(10));
  auto opened = worker.Open();
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(worker.durable(), durable);
  worker.Start();
  for (const auto& b : batches) EXPECT_TRUE(worker.Push(b, milliseconds(5000)));
  Status s = worker.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(worker.failed());
  if (events != nullptr) *events = worker.events_written();
  std::lock_guard<std::mutex> lock(journal->mu);
  EXPECT_TRUE(journal->closed);
  return journal->writes;
}

constexpr uint64_t kAgain = 0x300;  // the high watermark a chunk is delivered at again

TEST(SinkWorkerRedeliveryTest, ASinkThatHoldsTheChunkSkipsTheWholeBatch) {
  auto t = Table();
  for (uint64_t durable : {uint64_t{0}, uint64_t{0x200}, uint64_t{0x2FF}}) {
    SCOPED_TRACE("durable " + std::to_string(durable));
    uint64_t events = 0;
    auto writes = RunWorker(Lsn(durable),
                            {RedeliveredChunk(t, kAgain, 3, {"other", std::string(kSinkName)}),
                             StreamTx(t, kAgain, kAgain + 8, 1)},
                            &events);
    // Only the stream transaction reaches the sink.
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].change_commits, (std::vector<uint64_t>{kAgain}));
    EXPECT_EQ(writes[0].marker_ends, (std::vector<uint64_t>{kAgain + 8}));
    EXPECT_TRUE(writes[0].held_by.empty());
    EXPECT_EQ(events, 1u);
  }
}

TEST(SinkWorkerRedeliveryTest, ASinkThatLacksTheChunkWritesIt) {
  auto t = Table();
  for (uint64_t durable : {uint64_t{0x1F0}, uint64_t{0x10}, uint64_t{0}}) {
    SCOPED_TRACE("durable " + std::to_string(durable));
    uint64_t events = 0;
    auto writes = RunWorker(
        Lsn(durable),
        {RedeliveredChunk(t, kAgain, 3, {"other"}), StreamTx(t, kAgain, kAgain + 8, 1)}, &events);
    ASSERT_EQ(writes.size(), 2u);
    EXPECT_EQ(writes[0].change_commits, (std::vector<uint64_t>{kAgain, kAgain, kAgain}));
    EXPECT_TRUE(writes[0].marker_ends.empty());
    EXPECT_EQ(writes[0].held_by, (std::vector<std::string>{"other"}));
    EXPECT_EQ(writes[1].change_commits, (std::vector<uint64_t>{kAgain}));
    EXPECT_EQ(writes[1].marker_ends, (std::vector<uint64_t>{kAgain + 8}));
    EXPECT_EQ(events, 4u);
  }
}

TEST(SinkWorkerRedeliveryTest, EachChunkIsJudgedByItsOwnHolders) {
  auto t = Table();
  // The sink holds the first chunk, lacks the second, and the third was never delivered.
  auto never_before = std::make_shared<ChangeBatch>();
  AddRows(never_before.get(), t, ChangeOp::kRead, 0x340, 1, SnapshotMark::kIncremental);
  auto writes = RunWorker(
      Lsn(0x200), {RedeliveredChunk(t, 0x300, 2, {std::string(kSinkName)}),
                   StreamTx(t, 0x300, 0x308, 1), RedeliveredChunk(t, 0x320, 2, {"other"}),
                   StreamTx(t, 0x320, 0x328, 1), never_before, StreamTx(t, 0x340, 0x348, 0)});
  ASSERT_EQ(writes.size(), 5u);
  EXPECT_EQ(writes[0].change_commits, (std::vector<uint64_t>{0x300}));
  EXPECT_EQ(writes[1].change_commits, (std::vector<uint64_t>{0x320, 0x320}));
  EXPECT_EQ(writes[1].held_by, (std::vector<std::string>{"other"}));
  EXPECT_EQ(writes[2].change_commits, (std::vector<uint64_t>{0x320}));
  EXPECT_EQ(writes[3].change_commits, (std::vector<uint64_t>{0x340}));
  EXPECT_EQ(writes[4].marker_ends, (std::vector<uint64_t>{0x348}));
}

TEST(SinkWorkerTest, SkipsTheStreamPrefixTheSinkHolds) {
  auto t = Table();
  // Durable at 0x158: the transaction committed at 0x150 (ending at 0x158) is held.
  auto b = std::make_shared<ChangeBatch>();
  AddRows(b.get(), t, ChangeOp::kCreate, 0x150, 2);
  AddMarker(b.get(), 0x150, 0x158);
  AddRows(b.get(), t, ChangeOp::kCreate, 0x250, 1);
  AddMarker(b.get(), 0x250, 0x258);
  uint64_t events = 0;
  auto writes = RunWorker(Lsn(0x158), {StreamTx(t, 0x100, 0x108, 3), b}, &events);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].change_commits, (std::vector<uint64_t>{0x250}));
  EXPECT_EQ(writes[0].marker_ends, (std::vector<uint64_t>{0x258}));
  EXPECT_EQ(events, 1u);
}

TEST(SinkWorkerTest, EmptySinkWritesEverything) {
  auto t = Table();
  auto writes = RunWorker(Lsn(), {StreamTx(t, 0x100, 0x108, 2), StreamTx(t, 0x200, 0x208, 1)});
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].change_commits, (std::vector<uint64_t>{0x100, 0x100}));
  EXPECT_EQ(writes[1].marker_ends, (std::vector<uint64_t>{0x208}));
}

TEST(SinkWorkerTest, DurablePositionFollowsCheckpoints) {
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  SinkWorker worker(std::make_unique<FakeSink>(Lsn(0x10), journal), 4, milliseconds(10));
  ASSERT_TRUE(worker.Open().ok());
  worker.Start();
  ASSERT_TRUE(worker.Push(StreamTx(t, 0x100, 0x108, 1), milliseconds(5000)));
  ASSERT_TRUE(worker.Push(RedeliveredChunk(t, 0x200, 1, {"other"}), milliseconds(5000)));
  ASSERT_TRUE(worker.Push(StreamTx(t, 0x200, 0x208, 0), milliseconds(5000)));
  ASSERT_TRUE(worker.Finish().ok());
  EXPECT_EQ(worker.durable(), Lsn(0x208));
  EXPECT_EQ(worker.events_written(), 2u);
  std::lock_guard<std::mutex> lock(journal->mu);
  EXPECT_GE(journal->checkpoints, 1);
}

}  // namespace
}  // namespace walflow::runtime

namespace walflow::runtime {
namespace {

// A batch of Kafka records of one partition: one insert and one marker per offset in
// [first, last], the source's state after it, and end LSNs from `end`.
ChangeBatchPtr PartitionBatch(const TableSchemaPtr& table, const std::string& stream, int64_t first,
                              int64_t last, uint64_t* end, std::string state) {
  auto b = std::make_shared<ChangeBatch>();
  for (int64_t offset = first; offset <= last; ++offset) {
    AddRows(b.get(), table, ChangeOp::kCreate, 1000 + offset, 1);
    AddMarker(b.get(), 1000 + offset, ++*end);
    b->mutable_markers().back().source_offset = offset;
  }
  b->set_source_position(stream, std::move(state));
  return b;
}

TEST(SinkWorkerSourceOffsetsTest, SkipsWhatTheSinkHoldsPerPartitionAndKeepsItsOffsets) {
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  auto sink = std::make_unique<FakeSink>(Lsn(50), journal);
  sink->set_durable_source_state("t:0=5,t:1=2");
  SinkWorker worker(std::move(sink), 4, milliseconds(10));
  ASSERT_TRUE(worker.Open().ok());
  ASSERT_TRUE(worker.UseSourceOffsets().ok());
  EXPECT_EQ(worker.held_offsets().at("t:0"), 5);
  EXPECT_EQ(worker.held_offsets().at("t:1"), 2);
  worker.Start();
  uint64_t end = 100;
  // Offsets 0..4 of t:0: all held, nothing written.
  ASSERT_TRUE(worker.Push(PartitionBatch(t, "t:0", 0, 4, &end, "t:0=5"), milliseconds(5000)));
  // Offsets 3..7 of t:0: 5, 6 and 7 are new.
  ASSERT_TRUE(worker.Push(PartitionBatch(t, "t:0", 3, 7, &end, "t:0=8"), milliseconds(5000)));
  // Offsets 2..3 of t:1: both new (the sink holds up to offset 1).
  ASSERT_TRUE(worker.Push(PartitionBatch(t, "t:1", 2, 3, &end, "t:0=8,t:1=4"), milliseconds(5000)));
  ASSERT_TRUE(worker.Finish().ok());
  EXPECT_EQ(worker.durable(), Lsn(end)) << "skipped batches count as handled";
  std::lock_guard<std::mutex> lock(journal->mu);
  ASSERT_EQ(journal->writes.size(), 2u);
  EXPECT_EQ(journal->writes[0].change_commits, (std::vector<uint64_t>{1005, 1006, 1007}));
  EXPECT_EQ(journal->writes[0].marker_ends, (std::vector<uint64_t>{108, 109, 110}));
  EXPECT_EQ(journal->writes[1].change_commits, (std::vector<uint64_t>{1002, 1003}));
  // The state recorded never moves a partition back below what the sink held.
  ASSERT_EQ(journal->noted_states.size(), 2u);
  EXPECT_EQ(journal->noted_states[0], "t:0=8,t:1=2");
  EXPECT_EQ(journal->noted_states[1], "t:0=8,t:1=4");
}

TEST(SinkWorkerSourceOffsetsTest, DamagedRecordedOffsetsAreAnErrorNamingTheSink) {
  auto journal = std::make_shared<Journal>();
  auto sink = std::make_unique<FakeSink>(Lsn(50), journal);
  sink->set_durable_source_state("t:0=5,t1=2");
  SinkWorker worker(std::move(sink), 4, milliseconds(10));
  ASSERT_TRUE(worker.Open().ok());
  Status s = worker.UseSourceOffsets();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fake"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("t1=2"), std::string::npos) << s.message();
}

TEST(SourceOffsetsTest, FormatParseAndMerge) {
  SourceOffsets a{{"dbserver1.public.orders:0", 12}, {"x-y_z.1:10", 0}};
  std::string text = FormatSourceOffsets(a);
  EXPECT_EQ(text, "dbserver1.public.orders:0=12,x-y_z.1:10=0");
  auto back = ParseSourceOffsets(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
  EXPECT_TRUE(ParseSourceOffsets("").ok());
  EXPECT_TRUE(ParseSourceOffsets("")->empty());
  for (const char* bad : {"t:0", "t=1", ":0=1", "t:0=-1", "t:0=1x", "t:0=99999999999999999999"}) {
    EXPECT_FALSE(ParseSourceOffsets(bad).ok()) << bad;
  }
  SourceOffsets into{{"t:0", 5}, {"t:1", 9}};
  MergeSourceOffsets({{"t:0", 7}, {"t:1", 3}, {"t:2", 1}}, &into);
  EXPECT_EQ(into, (SourceOffsets{{"t:0", 7}, {"t:1", 9}, {"t:2", 1}}));
}

}  // namespace
}  // namespace walflow::runtime

namespace walflow::runtime {
namespace {

// A sink that needs transaction boundaries (Parquet, exactly-once Kafka), with a flush
// interval short enough that a checkpoint is due within a test's patience.
constexpr milliseconds kShortFlush{20};

SinkWorkerOptions BoundaryOptions() {
  SinkWorkerOptions o;
  o.queue_batches = 4;
  o.flush_interval = kShortFlush;
  o.needs_transaction_boundaries = true;
  return o;
}

// Polls `done` (under the journal's lock) until it holds or 10 s have passed.
bool WaitUntil(Journal& journal, const std::function<bool(const Journal&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(journal.mu);
      if (done(journal)) return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
}

bool WaitDurable(const SinkWorker& worker, Lsn target) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (worker.durable() < target) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

size_t Count(const std::vector<size_t>& v, size_t x) { return std::count(v.begin(), v.end(), x); }

TEST(SinkWorkerBoundariesTest, NeverCheckpointsWhileATransactionIsOpen) {
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  SinkWorker worker(std::make_unique<FakeSink>(Lsn(), journal), BoundaryOptions());
  ASSERT_TRUE(worker.Open().ok());
  worker.Start();
  // Transaction 0x100 complete, then two changes of 0x200 without its marker.
  auto open = std::make_shared<ChangeBatch>();
  AddRows(open.get(), t, ChangeOp::kCreate, 0x100, 2);
  AddMarker(open.get(), 0x100, 0x108);
  AddRows(open.get(), t, ChangeOp::kCreate, 0x200, 2);
  ASSERT_TRUE(worker.Push(open, milliseconds(5000)));
  ASSERT_TRUE(WaitUntil(*journal, [](const Journal& j) { return j.writes.size() == 1; }));
  // Nothing happens that could be waited on: give the worker five flush intervals (and
  // more than the idle spacing) in which it would checkpoint if it were allowed to.
  std::this_thread::sleep_for(5 * std::max(kShortFlush, kIdleCheckpointSpacing));
  {
    std::lock_guard<std::mutex> lock(journal->mu);
    EXPECT_EQ(Count(journal->checkpoint_after_writes, 1), 0u)
        << "checkpointed with transaction 0x200 open";
  }
  EXPECT_EQ(worker.durable(), Lsn()) << "0x108 is durable only with the open changes";

  // The marker arrives: a checkpoint follows right after it.
  auto close = std::make_shared<ChangeBatch>();
  AddRows(close.get(), t, ChangeOp::kCreate, 0x200, 1);
  AddMarker(close.get(), 0x200, 0x208);
  ASSERT_TRUE(worker.Push(close, milliseconds(5000)));
  ASSERT_TRUE(WaitDurable(worker, Lsn(0x208)));
  ASSERT_TRUE(worker.Finish().ok());
  std::lock_guard<std::mutex> lock(journal->mu);
  EXPECT_EQ(journal->checkpoints_in_open_transaction, 0);
  EXPECT_EQ(Count(journal->checkpoint_after_writes, 1), 0u);
  EXPECT_GE(Count(journal->checkpoint_after_writes, 2), 1u);
  ASSERT_EQ(journal->writes.size(), 2u);
  EXPECT_EQ(journal->writes[0].change_commits, (std::vector<uint64_t>{0x100, 0x100, 0x200, 0x200}));
  EXPECT_EQ(journal->writes[0].marker_ends, (std::vector<uint64_t>{0x108}));
  EXPECT_EQ(journal->writes[1].change_commits, (std::vector<uint64_t>{0x200}));
  EXPECT_EQ(journal->writes[1].marker_ends, (std::vector<uint64_t>{0x208}));
}

TEST(SinkWorkerBoundariesTest, ACheckpointDueMidTransactionIsTakenAtItsMarker) {
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  SinkWorker worker(std::make_unique<FakeSink>(Lsn(), journal), BoundaryOptions());
  ASSERT_TRUE(worker.Open().ok());
  worker.Start();
  auto head = std::make_shared<ChangeBatch>();
  AddRows(head.get(), t, ChangeOp::kCreate, 0x100, 2);
  ASSERT_TRUE(worker.Push(head, milliseconds(5000)));
  ASSERT_TRUE(WaitUntil(*journal, [](const Journal& j) { return j.writes.size() == 1; }));
  // The worker's checkpoint falls due on the steady clock, kShortFlush after its last one.
  std::this_thread::sleep_for(2 * kShortFlush);

  // The rest of 0x100 with its marker, all of 0x200, and the start of 0x300.
  auto rest = std::make_shared<ChangeBatch>();
  AddRows(rest.get(), t, ChangeOp::kCreate, 0x100, 1);
  AddMarker(rest.get(), 0x100, 0x108);
  AddRows(rest.get(), t, ChangeOp::kCreate, 0x200, 2);
  AddMarker(rest.get(), 0x200, 0x208);
  AddRows(rest.get(), t, ChangeOp::kCreate, 0x300, 1);
  ASSERT_TRUE(worker.Push(rest, milliseconds(5000)));
  ASSERT_TRUE(WaitUntil(*journal, [](const Journal& j) { return j.writes.size() == 3; }));
  {
    std::lock_guard<std::mutex> lock(journal->mu);
    ASSERT_EQ(journal->writes.size(), 3u);
    EXPECT_EQ(journal->writes[0].change_commits, (std::vector<uint64_t>{0x100, 0x100}));
    EXPECT_TRUE(journal->writes[0].marker_ends.empty());
    // Up to 0x100's marker, a checkpoint, then the rest of the batch.
    EXPECT_EQ(journal->writes[1].change_commits, (std::vector<uint64_t>{0x100}));
    EXPECT_EQ(journal->writes[1].marker_ends, (std::vector<uint64_t>{0x108}));
    EXPECT_EQ(Count(journal->checkpoint_after_writes, 1), 0u);
    EXPECT_EQ(Count(journal->checkpoint_after_writes, 2), 1u);
    EXPECT_EQ(journal->writes[2].change_commits, (std::vector<uint64_t>{0x200, 0x200, 0x300}));
    EXPECT_EQ(journal->writes[2].marker_ends, (std::vector<uint64_t>{0x208}));
    EXPECT_EQ(journal->checkpoints_in_open_transaction, 0);
  }
  EXPECT_EQ(worker.durable(), Lsn(0x108)) << "0x208 waits for 0x300's marker";

  auto last = std::make_shared<ChangeBatch>();
  AddMarker(last.get(), 0x300, 0x308);
  ASSERT_TRUE(worker.Push(last, milliseconds(5000)));
  ASSERT_TRUE(WaitDurable(worker, Lsn(0x308)));
  ASSERT_TRUE(worker.Finish().ok());
  EXPECT_EQ(worker.events_written(), 6u);
  std::lock_guard<std::mutex> lock(journal->mu);
  EXPECT_EQ(journal->checkpoints_in_open_transaction, 0);
  ASSERT_EQ(journal->writes.size(), 4u);
  EXPECT_TRUE(journal->writes[3].change_commits.empty());
  EXPECT_EQ(journal->writes[3].marker_ends, (std::vector<uint64_t>{0x308}));
}

TEST(SinkWorkerBoundariesTest, WithoutTheNeedACheckpointDueMidTransactionIsTakenAtOnce) {
  // The same stream as above for a sink that can checkpoint anywhere: no split write.
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  SinkWorkerOptions o = BoundaryOptions();
  o.needs_transaction_boundaries = false;
  SinkWorker worker(std::make_unique<FakeSink>(Lsn(), journal), o);
  ASSERT_TRUE(worker.Open().ok());
  worker.Start();
  auto head = std::make_shared<ChangeBatch>();
  AddRows(head.get(), t, ChangeOp::kCreate, 0x100, 2);
  ASSERT_TRUE(worker.Push(head, milliseconds(5000)));
  ASSERT_TRUE(WaitUntil(*journal, [](const Journal& j) {
    return j.writes.size() == 1 && !j.checkpoint_after_writes.empty() &&
           j.checkpoint_after_writes.back() == 1;
  })) << "an idle worker checkpoints the open transaction's changes";
  auto rest = std::make_shared<ChangeBatch>();
  AddRows(rest.get(), t, ChangeOp::kCreate, 0x100, 1);
  AddMarker(rest.get(), 0x100, 0x108);
  AddRows(rest.get(), t, ChangeOp::kCreate, 0x200, 1);
  ASSERT_TRUE(worker.Push(rest, milliseconds(5000)));
  ASSERT_TRUE(worker.Finish().ok());
  std::lock_guard<std::mutex> lock(journal->mu);
  ASSERT_EQ(journal->writes.size(), 2u);
  EXPECT_EQ(journal->writes[1].change_commits, (std::vector<uint64_t>{0x100, 0x200}));
  EXPECT_EQ(journal->writes[1].marker_ends, (std::vector<uint64_t>{0x108}));
}

// Context switches of the whole process so far: while the test thread sleeps, they are the
// worker's wake-ups.
long ContextSwitches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw + u.ru_nivcsw;
}

// Wake-ups of a worker (default flush interval: one checkpoint a second) in the 200 ms after
// it wrote the start of a transaction whose next batch is slow to come (a large transaction).
// Nothing happens that could be waited on: the worker is watched for a fixed time.
long WakeupsWhileATransactionIsOpen(bool needs_transaction_boundaries) {
  auto t = Table();
  auto journal = std::make_shared<Journal>();
  SinkWorkerOptions o;
  o.needs_transaction_boundaries = needs_transaction_boundaries;
  SinkWorker worker(std::make_unique<FakeSink>(Lsn(), journal), o);
  EXPECT_TRUE(worker.Open().ok());
  worker.Start();
  auto open = std::make_shared<ChangeBatch>();
  AddRows(open.get(), t, ChangeOp::kCreate, 0x100, 1);
  EXPECT_TRUE(worker.Push(open, milliseconds(5000)));
  EXPECT_TRUE(WaitUntil(*journal, [](const Journal& j) { return j.writes.size() == 1; }));
  const long before = ContextSwitches();
  std::this_thread::sleep_for(milliseconds(200));
  const long woken = ContextSwitches() - before;
  EXPECT_TRUE(worker.Finish().ok());
  return woken;
}

TEST(SinkWorkerBoundariesTest, AnOpenTransactionDoesNotSpinAWorkerThatMayCheckpointAnywhere) {
  // The measure of the test below: an idle checkpoint after kIdleCheckpointSpacing, then a
  // wait for the next batch or the flush interval.
  EXPECT_LT(WakeupsWhileATransactionIsOpen(false), 100);
}

TEST(SinkWorkerBoundariesTest, AnOpenTransactionDoesNotSpinTheWorker) {
  EXPECT_LT(WakeupsWhileATransactionIsOpen(true), 100)
      << "the worker busy-waits while a transaction is open";
}

}  // namespace
}  // namespace walflow::runtime
