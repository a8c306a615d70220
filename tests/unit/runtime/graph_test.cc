// The pipeline graph with sinks made by a test SinkSpec and test operators: each sink takes
// only the tables its from: selects and every marker, operator outputs reach the sinks,
// Durable() is the minimum over sinks and stateful operators, a sink's failure comes back
// from Health() and Deliver(), Finish() is idempotent, and the events metric counts what
// each sink took.
#include "runtime/graph.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace walflow::runtime {
namespace {

using std::chrono::milliseconds;

// A change as a sink saw it: its table and commit LSN.
using Seen = std::pair<std::string, uint64_t>;
using SeenList = std::vector<Seen>;
using Lsns = std::vector<uint64_t>;

// What one test sink was handed, readable while its worker runs.
struct SinkJournal {
  mutable std::mutex mu;
  SeenList changes;  // selected changes, in the order written
  Lsns markers;      // end LSN of each marker written
  int writes = 0;
  int closes = 0;

  SeenList Changes() const {
    std::lock_guard<std::mutex> lock(mu);
    return changes;
  }
  Lsns Markers() const {
    std::lock_guard<std::mutex> lock(mu);
    return markers;
  }
  int Closes() const {
    std::lock_guard<std::mutex> lock(mu);
    return closes;
  }
};

class RecordingSink final : public sink::Sink {
 public:
  RecordingSink(std::string name, Lsn held, bool fail_writes, std::shared_ptr<SinkJournal> journal)
      : name_(std::move(name)),
        durable_(held),
        fail_writes_(fail_writes),
        journal_(std::move(journal)) {}

  const std::string& name() const override { return name_; }
  Result<Lsn> Open() override { return durable_; }

  Status Write(const sink::BatchSlice& slice) override {
    if (fail_writes_) return Unavailable("sink " + name_ + ": destination refused the write");
    const ChangeBatch& batch = *slice.batch;
    std::lock_guard<std::mutex> lock(journal_->mu);
    ++journal_->writes;
    for (size_t i = slice.first_change; i < slice.end_change; ++i) {
      const Change& c = batch.changes()[i];
      if (!slice.Selected(c)) continue;
      journal_->changes.emplace_back(c.table->QualifiedName(), c.commit_lsn.value);
    }
    for (size_t i = slice.first_marker; i < slice.end_marker; ++i) {
      journal_->markers.push_back(batch.markers()[i].end_lsn.value);
      written_end_ = batch.markers()[i].end_lsn;
    }
    return Status::OK();
  }

  Result<Lsn> Checkpoint() override {
    if (written_end_ > durable_) durable_ = written_end_;
    return durable_;
  }

  Status Close() override {
    std::lock_guard<std::mutex> lock(journal_->mu);
    ++journal_->closes;
    return Status::OK();
  }

  void NoteSourceState(const std::string&) override {}
  const std::string& durable_source_state() const override { return source_state_; }

 private:
  const std::string name_;
  Lsn durable_;
  Lsn written_end_;
  const bool fail_writes_;
  std::shared_ptr<SinkJournal> journal_;
  const std::string source_state_;
};

// A sink type of the test: what it makes records into `journal`.
class TestSinkSpec final : public sink::SinkSpec {
 public:
  TestSinkSpec(std::string sink_name, std::vector<std::string> tables, Lsn held_at = Lsn(),
               bool fail = false)
      : held(held_at), fail_writes(fail) {
    name = std::move(sink_name);
    type = "test";
    from = std::move(tables);
    flush_interval = milliseconds(10);
  }

  Status Parse(ConfigReader&) override { return Status::OK(); }
  std::string Describe() const override { return "test " + name; }
  sink::SinkCapabilities capabilities() const override { return {}; }
  std::unique_ptr<sink::Sink> Make(const sink::SinkContext&) const override {
    return std::make_unique<RecordingSink>(name, held, fail_writes, journal);
  }
  sink::SinkCheck Check() const override { return {}; }

  const std::shared_ptr<SinkJournal> journal = std::make_shared<SinkJournal>();
  Lsn held;
  bool fail_writes = false;
};

// An operator of the test: its durable position is set by the test, its output computed by
// `apply` (nothing when unset) and handed on before its input.
class TestOperator final : public Operator {
 public:
  using ApplyFn = std::function<Result<ChangeBatchPtr>(const ChangeBatchPtr&)>;
  TestOperator(std::string name, bool stateful, Lsn durable, ApplyFn apply = nullptr)
      : name_(std::move(name)),
        stateful_(stateful),
        durable_(durable.value),
        apply_(std::move(apply)) {}

  const std::string& name() const override { return name_; }
  Result<Lsn> Open(Lsn) override {
    ++opens;
    return Lsn(durable_.load());
  }
  Status Apply(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out) override {
    inputs.push_back(input.get());
    if (apply_) {
      WF_ASSIGN_OR_RETURN(ChangeBatchPtr extra, apply_(input));
      if (extra && !extra->empty()) out->push_back(std::move(extra));
    }
    out->push_back(input);
    return Status::OK();
  }
  Status Tick(Lsn, bool) override {
    ++ticks;
    return Status::OK();
  }
  bool stateful() const override { return stateful_; }
  Lsn durable() const override { return Lsn(durable_.load()); }
  Status Close() override {
    ++closes;
    return close_status;
  }

  void set_durable(Lsn d) { durable_.store(d.value); }

  // Read by the test once the graph's thread (the test's) is done with the operator.
  int opens = 0;
  int closes = 0;
  int ticks = 0;
  std::vector<const ChangeBatch*> inputs;
  Status close_status;

 private:
  const std::string name_;
  const bool stateful_;
  std::atomic<uint64_t> durable_;
  ApplyFn apply_;
};

TableSchemaPtr Table(const std::string& name) {
  auto t = std::make_shared<TableSchema>();
  t->relid = Oid(16384);
  t->schema = "public";
  t->name = name;
  ColumnSchema id;
  id.name = "id";
  id.type.kind = ValueKind::kInt32;
  id.type.type_name = "int4";
  t->columns = {id};
  t->key_columns = {0};
  return t;
}

void AddChange(ChangeBatch* b, const TableSchemaPtr& table, uint64_t commit) {
  b->Retain(table);
  int32_t row = b->AddRow(1);
  b->SetText(row, std::to_string(b->changes().size()));
  Change& c = b->AddChange();
  c.op = ChangeOp::kCreate;
  c.table = table.get();
  c.after = row;
  c.lsn = Lsn(commit - 1);
  c.commit_lsn = Lsn(commit);
  c.seq = static_cast<uint32_t>(b->changes().size());
}

void AddMarker(ChangeBatch* b, uint64_t commit, uint64_t end) {
  TxMarker m;
  m.change_end = static_cast<uint32_t>(b->changes().size());
  m.commit_lsn = Lsn(commit);
  m.end_lsn = Lsn(end);
  b->AddMarker(m);
}

Status NeverFull() { return Status::OK(); }

// Opens a graph over `specs` (and `operators`), failing the test if it cannot.
std::unique_ptr<Graph> OpenGraph(const std::vector<std::shared_ptr<TestSinkSpec>>& specs,
                                 std::vector<std::unique_ptr<Operator>> operators = {},
                                 MetricsRegistry* metrics = nullptr) {
  PipelineConfig config;
  config.queue_batches = 4;
  for (const auto& s : specs) config.sinks.push_back(s);
  GraphOptions options;
  options.metrics = metrics;
  auto g = Graph::Open(config, std::move(options), std::move(operators));
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(g).value() : nullptr;
}

class GraphTest : public ::testing::Test {
 protected:
  // Two batches: tx 0x100 (a, b, a), tx 0x200 (b) | tx 0x300 (a), tx 0x400 (nothing).
  std::vector<ChangeBatchPtr> TwoTableStream() {
    auto first = std::make_shared<ChangeBatch>();
    AddChange(first.get(), a_, 0x100);
    AddChange(first.get(), b_, 0x100);
    AddChange(first.get(), a_, 0x100);
    AddMarker(first.get(), 0x100, 0x108);
    AddChange(first.get(), b_, 0x200);
    AddMarker(first.get(), 0x200, 0x208);
    auto second = std::make_shared<ChangeBatch>();
    AddChange(second.get(), a_, 0x300);
    AddMarker(second.get(), 0x300, 0x308);
    AddMarker(second.get(), 0x400, 0x408);
    return {first, second};
  }

  const TableSchemaPtr a_ = Table("a");
  const TableSchemaPtr b_ = Table("b");
  const TableSchemaPtr v_ = Table("v");
};

TEST_F(GraphTest, EachSinkTakesOnlyItsTablesAndEveryMarker) {
  auto sa = std::make_shared<TestSinkSpec>("sa", std::vector<std::string>{"public.a"});
  auto sb = std::make_shared<TestSinkSpec>("sb", std::vector<std::string>{"public.b"});
  auto all = std::make_shared<TestSinkSpec>("all", std::vector<std::string>{});
  auto both =
      std::make_shared<TestSinkSpec>("both", std::vector<std::string>{"public.b", "public.a"});
  MetricsRegistry metrics;
  auto g = OpenGraph({sa, sb, all, both}, {}, &metrics);
  ASSERT_NE(g, nullptr);
  g->Start();
  for (const auto& batch : TwoTableStream()) ASSERT_TRUE(g->Deliver(batch, NeverFull).ok());
  ASSERT_TRUE(g->Finish(Status::OK()).ok());

  const Lsns every_marker{0x108, 0x208, 0x308, 0x408};
  EXPECT_EQ(sa->journal->Changes(),
            (SeenList{{"public.a", 0x100}, {"public.a", 0x100}, {"public.a", 0x300}}));
  EXPECT_EQ(sb->journal->Changes(), (SeenList{{"public.b", 0x100}, {"public.b", 0x200}}));
  const SeenList everything{{"public.a", 0x100},
                            {"public.b", 0x100},
                            {"public.a", 0x100},
                            {"public.b", 0x200},
                            {"public.a", 0x300}};
  EXPECT_EQ(all->journal->Changes(), everything);
  EXPECT_EQ(both->journal->Changes(), everything);
  for (const auto& s : {sa, sb, all, both}) {
    EXPECT_EQ(s->journal->Markers(), every_marker) << s->name;
    EXPECT_EQ(s->journal->Closes(), 1) << s->name;
  }
  EXPECT_EQ(g->Durable(), Lsn(0x408));
  EXPECT_EQ(g->events_written(), 5u);

  // The events metric counts what each sink took, not what the batches held.
  MetricsSnapshot snap = metrics.Snapshot();
  for (const auto& [sink, events] :
       std::vector<std::pair<std::string, double>>{{"sa", 3}, {"sb", 2}, {"all", 5}, {"both", 5}}) {
    const MetricSample* m = snap.Find("walflow_sink_events_total", {sink});
    ASSERT_NE(m, nullptr) << sink;
    EXPECT_EQ(m->value, events) << sink;
    const MetricSample* d = snap.Find("walflow_sink_durable_position", {sink});
    ASSERT_NE(d, nullptr) << sink;
    EXPECT_EQ(d->value, double(0x408)) << sink;
  }
}

TEST_F(GraphTest, DurableIsTheMinimumOverSinksAndStatefulOperators) {
  auto s1 = std::make_shared<TestSinkSpec>("s1", std::vector<std::string>{}, Lsn(0x300));
  auto s2 = std::make_shared<TestSinkSpec>("s2", std::vector<std::string>{}, Lsn(0x200));
  auto view = std::make_unique<TestOperator>("view", true, Lsn(0x250));
  auto filter = std::make_unique<TestOperator>("filter", false, Lsn(0x10));
  TestOperator* view_op = view.get();
  TestOperator* filter_op = filter.get();
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(view));
  ops.push_back(std::move(filter));
  auto g = OpenGraph({s1, s2}, std::move(ops));
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(view_op->opens, 1);
  EXPECT_EQ(filter_op->opens, 1);
  // The sinks, then the stateful operators (the source starts from the smallest of all).
  ASSERT_EQ(g->holdings().size(), 3u);
  EXPECT_EQ(g->holdings()[0].name, "s1");
  EXPECT_EQ(g->holdings()[0].durable, Lsn(0x300));
  EXPECT_EQ(g->holdings()[1].name, "s2");
  EXPECT_EQ(g->holdings()[1].durable, Lsn(0x200));
  EXPECT_EQ(g->holdings()[2].name, "operator:view");
  EXPECT_TRUE(g->holdings()[2].is_operator);
  EXPECT_EQ(g->holdings()[2].durable, Lsn(0x250));

  EXPECT_EQ(g->Durable(), Lsn(0x200)) << "the stateless operator's 0x10 does not count";
  view_op->set_durable(Lsn(0x180));
  EXPECT_EQ(g->Durable(), Lsn(0x180));
  filter_op->set_durable(Lsn(0x5));
  EXPECT_EQ(g->Durable(), Lsn(0x180));
  view_op->set_durable(Lsn(0x400));
  EXPECT_EQ(g->Durable(), Lsn(0x200));

  // As the sinks checkpoint, the stateful operator holds the position back.
  g->Start();
  auto batch = std::make_shared<ChangeBatch>();
  AddChange(batch.get(), a_, 0x500);
  AddMarker(batch.get(), 0x500, 0x508);
  view_op->set_durable(Lsn(0x450));
  ASSERT_TRUE(g->Deliver(batch, NeverFull).ok());
  EXPECT_TRUE(g->WaitDurable(Lsn(0x450), milliseconds(10000)));
  EXPECT_FALSE(g->WaitDurable(Lsn(0x508), milliseconds(0)));
  view_op->set_durable(Lsn(0x508));
  EXPECT_TRUE(g->WaitDurable(Lsn(0x508), milliseconds(10000)));
  ASSERT_TRUE(g->Finish(Status::OK()).ok());
  EXPECT_EQ(g->Durable(), Lsn(0x508));
  EXPECT_EQ(view_op->closes, 1);
  EXPECT_EQ(filter_op->closes, 1);
}

TEST_F(GraphTest, WithoutStatefulOperatorsDurableIsTheSlowestSink) {
  auto s1 = std::make_shared<TestSinkSpec>("s1", std::vector<std::string>{}, Lsn(0x300));
  auto s2 = std::make_shared<TestSinkSpec>("s2", std::vector<std::string>{}, Lsn(0x280));
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::make_unique<TestOperator>("filter", false, Lsn()));
  auto g = OpenGraph({s1, s2}, std::move(ops));
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->Durable(), Lsn(0x280));
}

TEST_F(GraphTest, AnOperatorsOutputReachesTheSinksBeforeItsInput) {
  // The operator turns each change of the input into a change of public.v.
  auto view = std::make_unique<TestOperator>(
      "view", true, Lsn(), [this](const ChangeBatchPtr& in) -> Result<ChangeBatchPtr> {
        auto out = std::make_shared<ChangeBatch>();
        for (const Change& c : in->changes()) AddChange(out.get(), v_, c.commit_lsn.value);
        return ChangeBatchPtr(out);
      });
  auto empty = std::make_unique<TestOperator>(
      "empty", false, Lsn(),
      [](const ChangeBatchPtr&) -> Result<ChangeBatchPtr> { return ChangeBatchPtr(); });
  TestOperator* view_op = view.get();
  TestOperator* empty_op = empty.get();
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(view));
  ops.push_back(std::move(empty));
  auto all = std::make_shared<TestSinkSpec>("all", std::vector<std::string>{});
  auto only_v = std::make_shared<TestSinkSpec>("only_v", std::vector<std::string>{"public.v"});
  auto only_a = std::make_shared<TestSinkSpec>("only_a", std::vector<std::string>{"public.a"});
  auto g = OpenGraph({all, only_v, only_a}, std::move(ops));
  ASSERT_NE(g, nullptr);
  g->Start();
  auto stream = TwoTableStream();
  for (const auto& batch : stream) ASSERT_TRUE(g->Deliver(batch, NeverFull).ok());
  ASSERT_TRUE(g->Finish(Status::OK()).ok());

  ASSERT_EQ(view_op->inputs.size(), 2u);
  EXPECT_EQ(view_op->inputs[0], stream[0].get());
  EXPECT_EQ(view_op->inputs[1], stream[1].get());
  // The second operator sees what the first handed on: its output and the input.
  EXPECT_EQ(empty_op->inputs.size(), 4u);
  EXPECT_GE(view_op->ticks, 2);
  EXPECT_EQ(all->journal->Changes(), (SeenList{{"public.v", 0x100},
                                               {"public.v", 0x100},
                                               {"public.v", 0x100},
                                               {"public.v", 0x200},
                                               {"public.a", 0x100},
                                               {"public.b", 0x100},
                                               {"public.a", 0x100},
                                               {"public.b", 0x200},
                                               {"public.v", 0x300},
                                               {"public.a", 0x300}}));
  EXPECT_EQ(only_v->journal->Changes(), (SeenList{{"public.v", 0x100},
                                                  {"public.v", 0x100},
                                                  {"public.v", 0x100},
                                                  {"public.v", 0x200},
                                                  {"public.v", 0x300}}));
  EXPECT_EQ(only_a->journal->Changes(),
            (SeenList{{"public.a", 0x100}, {"public.a", 0x100}, {"public.a", 0x300}}));
  EXPECT_EQ(only_v->journal->Markers(), (Lsns{0x108, 0x208, 0x308, 0x408}));
}

TEST_F(GraphTest, AnOperatorsErrorStopsTheOperatorsAndComesBackFromHealthDeliverAndFinish) {
  std::vector<std::unique_ptr<Operator>> ops;
  int applied = 0;
  ops.push_back(std::make_unique<TestOperator>(
      "view", true, Lsn(), [&applied](const ChangeBatchPtr&) -> Result<ChangeBatchPtr> {
        ++applied;
        return Internal("view v: overflow");
      }));
  auto all = std::make_shared<TestSinkSpec>("all", std::vector<std::string>{});
  auto g = OpenGraph({all}, std::move(ops));
  ASSERT_NE(g, nullptr);
  g->Start();
  auto stream = TwoTableStream();
  ASSERT_TRUE(g->Deliver(stream[0], NeverFull).ok()) << "queued for the operators' thread";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (g->Health().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(g->Health().message(), "view v: overflow");
  EXPECT_EQ(g->Tick().message(), "view v: overflow");
  Status s = g->Deliver(stream[1], NeverFull);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "view v: overflow");
  Status finished = g->Finish(Status::OK());
  EXPECT_EQ(finished.code(), StatusCode::kInternal);
  EXPECT_EQ(finished.message(), "view v: overflow");
  EXPECT_EQ(applied, 1) << "nothing after the failed batch is applied";
  EXPECT_TRUE(all->journal->Changes().empty());
  EXPECT_TRUE(all->journal->Markers().empty());
  EXPECT_EQ(all->journal->Closes(), 1);
  EXPECT_EQ(g->Deliver(stream[1], NeverFull).code(), StatusCode::kFailedPrecondition)
      << "a finished graph takes nothing";
}

TEST_F(GraphTest, AFailingSinksErrorComesBackFromHealthAndDeliver) {
  auto good = std::make_shared<TestSinkSpec>("good", std::vector<std::string>{});
  auto bad = std::make_shared<TestSinkSpec>("bad", std::vector<std::string>{}, Lsn(), true);
  auto g = OpenGraph({good, bad});
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->Health().ok());
  g->Start();
  auto stream = TwoTableStream();
  ASSERT_TRUE(g->Deliver(stream[0], NeverFull).ok()) << "queued before the sink fails";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (g->Health().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  Status health = g->Health();
  EXPECT_EQ(health.code(), StatusCode::kUnavailable);
  EXPECT_EQ(health.message(), "sink bad: destination refused the write");

  int while_full_calls = 0;
  Status delivered = g->Deliver(stream[1], [&] {
    ++while_full_calls;
    return Status::OK();
  });
  EXPECT_EQ(delivered.code(), StatusCode::kUnavailable);
  EXPECT_EQ(delivered.message(), "sink bad: destination refused the write");
  EXPECT_EQ(while_full_calls, 0) << "a failed sink is not a full queue";
  const auto wait_started = std::chrono::steady_clock::now();
  EXPECT_FALSE(g->WaitDurable(Lsn(0x108), milliseconds(10000)));
  EXPECT_LT(std::chrono::steady_clock::now() - wait_started, std::chrono::seconds(5))
      << "a failed sink ends the wait";

  // Finish reports the sink's error, again and again; a cause that is an error wins.
  Status finished = g->Finish(Status::OK());
  EXPECT_EQ(finished.code(), StatusCode::kUnavailable);
  EXPECT_EQ(finished.message(), "sink bad: destination refused the write");
  EXPECT_EQ(g->Finish(Status::OK()).message(), "sink bad: destination refused the write");
  Status cause = g->Finish(Aborted("source connection lost"));
  EXPECT_EQ(cause.code(), StatusCode::kAborted);
  EXPECT_EQ(cause.message(), "source connection lost");
  EXPECT_EQ(good->journal->Closes(), 1);
  EXPECT_EQ(bad->journal->Closes(), 1);
  // Deliver handed the second batch to the good sink before it found the failed one.
  EXPECT_EQ(good->journal->Markers(), (Lsns{0x108, 0x208, 0x308, 0x408}));
  EXPECT_TRUE(bad->journal->Markers().empty());
}

TEST_F(GraphTest, FinishIsIdempotentAndReturnsAnErrorCause) {
  auto s = std::make_shared<TestSinkSpec>("s", std::vector<std::string>{});
  auto view = std::make_unique<TestOperator>("view", true, Lsn());
  TestOperator* view_op = view.get();
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(view));
  auto g = OpenGraph({s}, std::move(ops));
  ASSERT_NE(g, nullptr);
  g->Start();
  ASSERT_TRUE(g->Deliver(TwoTableStream()[0], NeverFull).ok());

  Status first = g->Finish(Aborted("source connection lost"));
  EXPECT_EQ(first.code(), StatusCode::kAborted);
  EXPECT_EQ(first.message(), "source connection lost");
  // The sink still made what it had durable.
  EXPECT_EQ(s->journal->Markers(), (Lsns{0x108, 0x208}));
  EXPECT_EQ(g->Durable(), Lsn()) << "the operator holds nothing durable";
  EXPECT_TRUE(g->Finish(Status::OK()).ok());
  Status again = g->Finish(Internal("later"));
  EXPECT_EQ(again.code(), StatusCode::kInternal);
  EXPECT_EQ(again.message(), "later");
  EXPECT_EQ(s->journal->Closes(), 1);
  EXPECT_EQ(view_op->closes, 1);
  g.reset();  // the destructor finishes once more: nothing is closed twice
  EXPECT_EQ(s->journal->Closes(), 1);
}

TEST_F(GraphTest, FinishReturnsTheFirstShutdownError) {
  auto s = std::make_shared<TestSinkSpec>("s", std::vector<std::string>{});
  auto view = std::make_unique<TestOperator>("view", true, Lsn());
  view->close_status = IOError("view v: cannot write its state");
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(view));
  auto g = OpenGraph({s}, std::move(ops));
  ASSERT_NE(g, nullptr);
  g->Start();
  Status finished = g->Finish(Status::OK());
  EXPECT_EQ(finished.code(), StatusCode::kIOError);
  EXPECT_EQ(finished.message(), "view v: cannot write its state");
  EXPECT_EQ(g->Finish(Status::OK()).code(), StatusCode::kIOError);
  EXPECT_EQ(g->Finish(Cancelled("stop")).code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace walflow::runtime
