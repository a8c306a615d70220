// One SQL view as an operator of the pipeline graph (runtime/operator.h).
//
// Per input change: the input row as the view last saw it comes from the view's state
// (input_rows, by the input's key), so an UPDATE without the old row (REPLICA IDENTITY
// DEFAULT), unchanged TOAST values, snapshot rows of keys already held and TRUNCATE are
// exact. The old row is retracted (weight -1) and the new one inserted (+1): through the
// WHERE, then either straight to the output (no GROUP BY) or into the group's aggregates
// (sql/aggregate.h). Within a transaction the view's rows are consolidated by key, so the
// transaction's output is one c/u/d per row that changed (nothing for a row that ends as it
// began), emitted before the transaction's end with sequence numbers after its input
// changes.
//
// Durability: state writes, the output records (one per transaction with output) and the
// input position go into one StateBatch, committed at a transaction boundary every
// commit_interval (and at Close). A sink behind the view after a restart gets the recorded
// output again, at its original position in the stream; records are trimmed once every
// sink is past them.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/metrics.h"
#include "runtime/operator.h"
#include "sql/aggregate.h"
#include "sql/evaluator.h"
#include "sql/key_encoding.h"
#include "state/view_state.h"
#include "view/compile.h"
#include "view/row_codec.h"

namespace walflow::view {

struct ViewOperatorOptions {
  std::string state_dir;  // <data_dir>/views: one RocksDB database per view below it
  std::chrono::milliseconds commit_interval{250};
  // When the input runs dry, a commit this soon after the last (as sinks checkpoint).
  std::chrono::milliseconds idle_commit_spacing{50};
  bool sync_commits = true;
  std::string dead_letter_dir;  // on_error: dead_letter without a path of its own
  MetricsRegistry* metrics = nullptr;
};

class ViewOperator : public runtime::Operator {
 public:
  ViewOperator(std::shared_ptr<const CompiledView> view, ViewOperatorOptions options);
  ~ViewOperator() override;

  const std::string& name() const override { return name_; }
  std::string holding_name() const override { return "view:" + name_; }
  std::vector<std::string> input_tables() const override;
  Result<Lsn> Open(Lsn sinks_hold) override;
  Status Apply(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out) override;
  bool stateful() const override { return true; }
  Lsn durable() const override { return Lsn(durable_.load(std::memory_order_acquire)); }
  Status Tick(Lsn sinks_durable, bool idle) override;
  Status Close() override;

  // Every current row of the view (after Open()), in key order for grouped views.
  Status ForEachRow(const std::function<Status(const std::vector<sql::Value>&)>& f);
  const CompiledView& view() const { return *view_; }

 private:
  struct Binding;  // how one input TableSchema's columns map onto the plan's
  struct Touched {
    std::string key;
    std::optional<std::vector<sql::Value>> before;
    std::optional<std::vector<sql::Value>> after;
  };
  // An evaluated input row: what it contributes to the view.
  struct Contribution {
    bool passes = false;            // WHERE
    std::vector<sql::Value> out;    // ungrouped: the output row
    std::vector<sql::Value> group;  // grouped: the group key
    std::vector<sql::AggregateInput> aggregates;
  };

  Status ApplyBatch(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out);
  Result<const Binding*> BindingFor(const TableSchema& table);
  Status ProcessChange(const ChangeBatch& batch, const Change& c, const Binding& b);
  Status ApplyChange(const ChangeBatch& batch, const Change& c, const Binding& b);
  Status Truncate();
  Result<std::optional<TextRow>> LoadRow(const std::string& key);
  Result<std::vector<sql::Value>> ToValues(const TextRow& row) const;
  Result<Contribution> Evaluate(const TextRow& row);
  Status Contribute(Contribution& c, int64_t weight);
  // An UPDATE whose row stays in its group: one change of the group's aggregates.
  Status MoveWithinGroup(Contribution& from, Contribution& to);
  // Applies `apply` (given whether the group's earlier row is wanted) to a group and
  // records the group's rows in the transaction's output; `undo` reverts it when the row
  // cannot be computed.
  Status ChangeGroup(std::span<const sql::Value> group,
                     const std::function<Result<sql::GroupChange>(bool)>& apply,
                     const std::function<Status()>& undo);
  Result<std::optional<std::vector<sql::Value>>> GroupOutput(
      std::span<const sql::Value> group, const std::optional<sql::AggregateRow>& aggregates);
  Touched& Touch(const std::string& key, bool* created);
  void Untouch();  // forgets the entry Touch() just created
  // Emits the transaction's consolidated output into `out` and its record into the batch.
  Status FinishTransaction(ChangeBatch* out, const TxMarker& m);
  void EmitRecord(ChangeBatch* out, const OutputRecord& r);
  void EmitRecordsUpTo(ChangeBatch* out, Lsn commit_lsn, bool as_transactions);
  Status CommitNow();
  Status DeadLetter(const ChangeBatch& batch, const Change& c, const Status& error);
  std::string KeyOf(const ChangeBatch& batch, int32_t image, const Binding& b) const;
  void PublishDurable();
  std::string Where(const ChangeBatch& batch, const Change& c) const;

  std::shared_ptr<const CompiledView> view_;
  ViewOperatorOptions options_;
  std::string name_;
  std::unique_ptr<state::ViewStateStore> store_;
  std::unique_ptr<sql::GroupState> groups_;
  std::optional<state::StateBatch> batch_;
  bool dirty_ = false;  // the batch holds writes or output
  // An Apply() failed part way: the batch may hold part of a transaction, so it is never
  // committed (the next start applies the transaction again from the committed state).
  bool failed_ = false;
  Lsn open_position_;  // what the state reflected at Open(): input at or below is skipped
  Lsn committed_;
  std::atomic<uint64_t> durable_{0};
  std::chrono::steady_clock::time_point last_commit_;
  bool fresh_ = false;          // no state when opened (new, or rebuilt)
  bool emit_truncate_ = false;  // rebuilt: the sinks first get a truncate of the view
  bool init_global_ = false;    // a global aggregate's first row is still to be emitted
  std::unordered_map<uint64_t, std::unique_ptr<Binding>> bindings_;  // by TableSchema serial
  // The open transaction's output, consolidated by key (first-touch order).
  std::vector<Touched> touched_;
  std::unordered_map<std::string, size_t> touched_index_;
  bool tx_truncated_ = false;
  bool tx_open_ = false;  // the last batch ended inside a transaction
  // Output records of earlier runs not yet handed on in this one (a sink may lack them).
  std::deque<OutputRecord> replay_;
  // Committed output records still kept: (sequence, end position).
  std::deque<std::pair<uint64_t, Lsn>> kept_;
  std::vector<Lsn> uncommitted_ends_;
  sql::KeyEncoder keys_;
  int dead_letter_fd_ = -1;
  Counter* changes_metric_ = nullptr;
  Counter* output_metric_ = nullptr;
  Counter* commits_metric_ = nullptr;
  Counter* dead_letters_metric_ = nullptr;
};

// Opens a view's state read-only-ish for `walflow peek` (no pipeline running on it).
Result<std::unique_ptr<ViewOperator>> OpenForPeek(std::shared_ptr<const CompiledView> view,
                                                  const std::string& state_dir);

}  // namespace walflow::view
