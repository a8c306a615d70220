#include "view/view_operator.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "format/json_writer.h"
#include "sql/key_encoding.h"
#include "storage/file_io.h"

namespace walflow::view {

using sql::Value;
using state::Family;

namespace {

constexpr std::string_view kFingerprintKey = "fingerprint";
constexpr std::string_view kGlobalRowKey = "global_row";

// State kept beside the groups in kMeta has no '\0' first byte (reserved for the store).
std::string StateName(const CompiledView& v) { return v.config.Qualified(); }

}  // namespace

// Where the plan's input columns are in one TableSchema's rows, and its key columns.
struct ViewOperator::Binding {
  std::vector<int> column;  // per plan input column (InputSchema index): schema column or -1
  std::vector<int> key;     // the TableSchema's key columns (by name of the input's key)
};

ViewOperator::ViewOperator(std::shared_ptr<const CompiledView> view, ViewOperatorOptions options)
    : view_(std::move(view)), options_(std::move(options)), name_(view_->config.Qualified()) {
  if (options_.metrics) {
    auto& r = *options_.metrics;
    changes_metric_ = r.DeclareCounter("walflow_view_input_changes_total",
                                       "Input changes a view applied.", {"view"})
                          .value()
                          ->With({name_});
    output_metric_ = r.DeclareCounter("walflow_view_output_changes_total",
                                      "Changes of a view's rows it emitted.", {"view"})
                         .value()
                         ->With({name_});
    commits_metric_ = r.DeclareCounter("walflow_view_commits_total",
                                       "Durable commits of a view's state.", {"view"})
                          .value()
                          ->With({name_});
    dead_letters_metric_ =
        r.DeclareCounter("walflow_view_dead_letters_total",
                         "Input changes a view sent to its dead-letter file.", {"view"})
            .value()
            ->With({name_});
  }
}

ViewOperator::~ViewOperator() {
  if (dead_letter_fd_ >= 0) ::close(dead_letter_fd_);
}

std::vector<std::string> ViewOperator::input_tables() const {
  if (view_->config.input_is_view) return {};
  return {view_->config.input};
}

Result<Lsn> ViewOperator::Open(Lsn sinks_hold) {
  WF_RETURN_IF_ERROR(storage::CreateDirectories(options_.state_dir));
  state::StoreOptions so;
  so.sync_commits = options_.sync_commits;
  const std::string state_name = StateName(*view_);
  WF_ASSIGN_OR_RETURN(store_, state::ViewStateStore::Open(options_.state_dir, state_name, so));
  WF_ASSIGN_OR_RETURN(auto fingerprint, store_->Get(Family::kMeta, kFingerprintKey));
  if (fingerprint && *fingerprint != view_->fingerprint) {
    WF_LOG_WARN("view",
                "view {}: its SQL or its input's columns changed since its state was built; "
                "rebuilding it (its sinks get a truncate of the view, then its rows)",
                name_);
    store_.reset();
    WF_RETURN_IF_ERROR(state::ViewStateStore::Destroy(options_.state_dir, state_name));
    WF_ASSIGN_OR_RETURN(store_, state::ViewStateStore::Open(options_.state_dir, state_name, so));
    emit_truncate_ = true;
    fingerprint.reset();
  }
  fresh_ = !fingerprint.has_value();
  if (view_->plan.grouped) {
    std::vector<sql::AggregateSpec> specs;
    for (const auto& a : view_->plan.aggregates) specs.push_back(a.spec);
    WF_ASSIGN_OR_RETURN(groups_, sql::GroupState::Create(store_.get(), std::move(specs)));
  }
  if (view_->plan.global) {
    WF_ASSIGN_OR_RETURN(auto emitted, store_->Get(Family::kMeta, kGlobalRowKey));
    init_global_ = !emitted.has_value();
  }
  open_position_ = committed_ = store_->input_position();
  if (fresh_ && sinks_hold > open_position_) {
    // New or rebuilt while the sinks hold data: what the stream brings up to their position
    // the sinks skip, output derived from it included, so the view takes its rows from the
    // backfill snapshot (read while streaming, at later positions) and the stream after it.
    open_position_ = sinks_hold;
  }
  // Output a sink may still lack: handed on again at its place in the stream.
  for (uint64_t from = 1;;) {
    WF_ASSIGN_OR_RETURN(auto records, store_->ReadOutput(from, 1024));
    if (records.empty()) break;
    for (const auto& r : records) {
      auto decoded = DecodeOutputRecord(r.record);
      if (!decoded.ok()) {
        return DataLoss("view " + name_ + ": output record " + std::to_string(r.sequence) + ": " +
                        decoded.status().message());
      }
      kept_.emplace_back(r.sequence, decoded->end_lsn);
      replay_.push_back(std::move(decoded).value());
      from = r.sequence + 1;
    }
  }
  batch_.emplace(store_->NewBatch());
  if (fresh_) batch_->Put(Family::kMeta, kFingerprintKey, view_->fingerprint);
  dirty_ = fresh_;
  last_commit_ = std::chrono::steady_clock::now();
  PublishDurable();
  if (view_->config.on_error == runtime::ViewErrorPolicy::kDeadLetter) {
    std::string dir = view_->config.dead_letter_path.empty() ? options_.dead_letter_dir
                                                             : view_->config.dead_letter_path;
    WF_RETURN_IF_ERROR(storage::CreateDirectories(dir));
    const std::string file = dir + "/" + name_ + ".jsonl";
    dead_letter_fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (dead_letter_fd_ < 0) {
      return IOError("view " + name_ + ": cannot open dead-letter file " + file + ": " +
                     std::strerror(errno));
    }
  }
  WF_LOG_INFO("view", "view {} ({}): {}{}", name_,
              view_->plan.grouped ? "grouped" : "filter/projection",
              committed_.valid() ? "state up to " + committed_.ToString() : "empty",
              replay_.empty() ? "" : fmt::format(", {} output record(s) kept", replay_.size()));
  return committed_;
}

void ViewOperator::PublishDurable() {
  // Only what is committed: the position the view's state records must never be behind
  // what the slot is confirmed to (a restart starts from the smallest holder's position),
  // so even a stretch of transactions with nothing for the view counts once its position
  // is committed (Tick() commits it every commit_interval).
  durable_.store(committed_.value, std::memory_order_release);
}

Result<const ViewOperator::Binding*> ViewOperator::BindingFor(const TableSchema& table) {
  auto it = bindings_.find(table.serial);
  if (it != bindings_.end()) return it->second.get();
  std::unique_ptr<Binding> b;
  if (table.QualifiedName() == view_->config.input) {
    b = std::make_unique<Binding>();
    const auto& cols = view_->input.schema.columns;
    b->column.assign(cols.size(), -1);
    for (int i : view_->plan.used_columns) {
      int found = -1;
      for (size_t j = 0; j < table.columns.size(); ++j) {
        if (table.columns[j].name == cols[i].name) found = static_cast<int>(j);
      }
      sql::SqlType t;
      if (found < 0 || !sql::SqlTypeFromOid(table.columns[found].type.type_oid.value, &t) ||
          t != cols[i].type) {
        return FailedPrecondition(
            "view " + name_ + ": column " + cols[i].name + " of " + table.QualifiedName() +
            (found < 0 ? " was dropped or renamed" : " changed its type") +
            "; restart walflow to rebuild the view from the table as it is now");
      }
      b->column[i] = found;
    }
    for (int k : table.key_columns) b->key.push_back(k);
    if (b->key.empty()) {
      return FailedPrecondition("view " + name_ + ": " + table.QualifiedName() +
                                " has no key any more; views keep their input's rows by key");
    }
  }
  const Binding* raw = b.get();
  bindings_.emplace(table.serial, std::move(b));
  return raw;
}

std::string ViewOperator::KeyOf(const ChangeBatch& batch, int32_t image, const Binding& b) const {
  std::string key;
  const Datum* row = batch.Row(image);
  for (int k : b.key) {
    const Datum& d = row[k];
    if (d.kind == Datum::Kind::kText) {
      keys_.Append(Value::Text(std::string(batch.Text(d))), &key);
    } else {
      keys_.Append(Value::Null(sql::SqlType::kText), &key);
    }
  }
  return key;
}

Result<std::optional<TextRow>> ViewOperator::LoadRow(const std::string& key) {
  WF_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kInputRows, key, &*batch_));
  if (!bytes) return std::optional<TextRow>();
  std::string_view in = *bytes;
  WF_ASSIGN_OR_RETURN(TextRow row, DecodeTextRow(&in));
  if (row.size() != view_->plan.used_columns.size()) {
    return DataLoss("view " + name_ + ": stored input row has " + std::to_string(row.size()) +
                    " columns, the view reads " + std::to_string(view_->plan.used_columns.size()));
  }
  return std::optional<TextRow>(std::move(row));
}

Result<std::vector<Value>> ViewOperator::ToValues(const TextRow& row) const {
  const auto& cols = view_->input.schema.columns;
  std::vector<Value> values;
  values.reserve(cols.size());
  for (const auto& c : cols) values.push_back(Value::Null(c.type));
  for (size_t i = 0; i < row.size(); ++i) {
    const int col = view_->plan.used_columns[i];
    if (!row[i]) continue;
    auto v = Value::Parse(cols[col].type, *row[i]);
    if (!v.ok()) {
      return InvalidArgument("column " + cols[col].name + ": " + v.status().message());
    }
    values[col] = std::move(v).value();
  }
  return values;
}

Result<ViewOperator::Contribution> ViewOperator::Evaluate(const TextRow& row) {
  const sql::ViewPlan& plan = view_->plan;
  WF_ASSIGN_OR_RETURN(std::vector<Value> values, ToValues(row));
  Contribution c;
  if (plan.where) {
    WF_ASSIGN_OR_RETURN(c.passes, sql::EvaluatePredicate(*plan.where, values));
    if (!c.passes) return c;
  }
  c.passes = true;
  if (!plan.grouped) {
    for (const auto& e : plan.outputs) {
      WF_ASSIGN_OR_RETURN(Value v, sql::Evaluate(e, values));
      c.out.push_back(std::move(v));
    }
    return c;
  }
  for (const auto& e : plan.groups) {
    WF_ASSIGN_OR_RETURN(Value v, sql::Evaluate(e, values));
    c.group.push_back(std::move(v));
  }
  for (const auto& a : plan.aggregates) {
    sql::AggregateInput in;
    if (a.filter) {
      WF_ASSIGN_OR_RETURN(in.filter, sql::EvaluatePredicate(*a.filter, values));
    }
    if (a.arg && in.filter) {
      WF_ASSIGN_OR_RETURN(in.arg, sql::Evaluate(*a.arg, values));
    }
    c.aggregates.push_back(std::move(in));
  }
  return c;
}

ViewOperator::Touched& ViewOperator::Touch(const std::string& key, bool* created) {
  auto [it, added] = touched_index_.emplace(key, touched_.size());
  *created = added;
  if (added) touched_.push_back(Touched{key, std::nullopt, std::nullopt});
  return touched_[it->second];
}

void ViewOperator::Untouch() {
  touched_index_.erase(touched_.back().key);
  touched_.pop_back();
}

Result<std::optional<std::vector<Value>>> ViewOperator::GroupOutput(
    std::span<const Value> group, const std::optional<sql::AggregateRow>& aggregates) {
  const sql::ViewPlan& plan = view_->plan;
  if (!aggregates && !plan.global) return std::optional<std::vector<Value>>();
  std::vector<Value> row(group.begin(), group.end());
  const sql::AggregateRow& aggs = aggregates ? *aggregates : plan.EmptyAggregates();
  row.insert(row.end(), aggs.begin(), aggs.end());
  if (plan.having) {
    WF_ASSIGN_OR_RETURN(bool keep, sql::EvaluatePredicate(*plan.having, row));
    if (!keep) return std::optional<std::vector<Value>>();
  }
  std::vector<Value> out;
  for (const auto& e : plan.outputs) {
    WF_ASSIGN_OR_RETURN(Value v, sql::Evaluate(e, row));
    out.push_back(std::move(v));
  }
  return std::optional<std::vector<Value>>(std::move(out));
}

Status ViewOperator::Contribute(Contribution& c, int64_t weight) {
  if (!c.passes) return Status::OK();
  const sql::ViewPlan& plan = view_->plan;
  bool created = false;
  if (!plan.grouped) {
    std::vector<Value> key;
    for (int k : plan.key) key.push_back(c.out[k]);
    Touched& t = Touch(keys_.Encode(key), &created);
    if (created && weight < 0) t.before = c.out;
    if (weight < 0) {
      t.after.reset();
    } else {
      t.after = c.out;
    }
    return Status::OK();
  }
  return ChangeGroup(
      c.group,
      [&](bool want_before) {
        return groups_->Apply(*batch_, c.group, c.aggregates, weight, want_before);
      },
      [&] { return groups_->Apply(*batch_, c.group, c.aggregates, -weight).status(); });
}

Status ViewOperator::MoveWithinGroup(Contribution& from, Contribution& to) {
  return ChangeGroup(
      to.group,
      [&](bool want_before) {
        return groups_->Update(*batch_, to.group, from.aggregates, to.aggregates, want_before);
      },
      [&] { return groups_->Update(*batch_, to.group, to.aggregates, from.aggregates).status(); });
}

Status ViewOperator::ChangeGroup(std::span<const Value> group,
                                 const std::function<Result<sql::GroupChange>(bool)>& apply,
                                 const std::function<Status()>& undo) {
  bool created = false;
  Touched& t = Touch(keys_.Encode(group), &created);  // nothing else touches until the end
  // The group's row before the transaction is needed only at its first change in it.
  Result<sql::GroupChange> g = apply(created);
  Status s = g.status();
  std::optional<std::vector<Value>> before, after;
  if (s.ok() && created) {
    auto row = GroupOutput(group, g->before);
    s = row.status();
    if (s.ok()) before = std::move(row).value();
  }
  if (s.ok()) {
    auto row = GroupOutput(group, g->after);
    s = row.status();
    if (s.ok()) after = std::move(row).value();
    if (!s.ok()) (void)undo();  // the state as it was, so a dead letter loses nothing
  }
  if (!s.ok()) {
    if (created) Untouch();
    return s;
  }
  if (created) t.before = std::move(before);
  t.after = std::move(after);
  return Status::OK();
}

Status ViewOperator::Truncate() {
  // Every row the view holds is retracted: the view then equals the query over no rows.
  std::vector<std::string> keys;
  std::vector<TextRow> rows;
  {
    auto it = store_->ScanPrefix(Family::kInputRows, "", &*batch_);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      keys.emplace_back(it->key());
      std::string_view in = it->value();
      WF_ASSIGN_OR_RETURN(TextRow row, DecodeTextRow(&in));
      rows.push_back(std::move(row));
    }
    WF_RETURN_IF_ERROR(it->status());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    WF_ASSIGN_OR_RETURN(Contribution c, Evaluate(rows[i]));
    WF_RETURN_IF_ERROR(Contribute(c, -1));
    batch_->Delete(Family::kInputRows, keys[i]);
  }
  return Status::OK();
}

Status ViewOperator::ApplyChange(const ChangeBatch& batch, const Change& c, const Binding& b) {
  if (c.op == ChangeOp::kTruncate) return Truncate();
  const bool removes = c.op == ChangeOp::kDelete;
  const int32_t image = removes ? c.before : c.after;
  if (image < 0) return DataLoss("a change without its row");
  const std::string key = KeyOf(batch, image, b);
  std::string old_key = key;
  if (c.op == ChangeOp::kUpdate && c.before >= 0) old_key = KeyOf(batch, c.before, b);
  WF_ASSIGN_OR_RETURN(std::optional<TextRow> old_row, LoadRow(old_key));
  std::optional<Contribution> retract, insert;
  TextRow new_row;
  if (old_row) {
    WF_ASSIGN_OR_RETURN(retract, Evaluate(*old_row));
  }
  if (!removes) {
    const Datum* row = batch.Row(c.after);
    new_row.resize(view_->plan.used_columns.size());
    for (size_t i = 0; i < view_->plan.used_columns.size(); ++i) {
      const Datum& d = row[b.column[view_->plan.used_columns[i]]];
      if (d.kind == Datum::Kind::kText) {
        new_row[i] = std::string(batch.Text(d));
      } else if (d.kind == Datum::Kind::kUnchangedToast) {
        if (!old_row) {
          return DataLoss("an unchanged TOAST value of column " +
                          view_->input.schema.columns[view_->plan.used_columns[i]].name +
                          " but the view holds no earlier row of this key");
        }
        new_row[i] = (*old_row)[i];
      }
    }
    WF_ASSIGN_OR_RETURN(insert, Evaluate(new_row));
  }
  // Everything is evaluated before the state changes: an error leaves it as it was.
  if (retract && insert && retract->passes && insert->passes && view_->plan.grouped &&
      keys_.Encode(retract->group) == keys_.Encode(insert->group)) {
    WF_RETURN_IF_ERROR(MoveWithinGroup(*retract, *insert));
    retract.reset();
    insert.reset();
  }
  if (retract) WF_RETURN_IF_ERROR(Contribute(*retract, -1));
  if (insert) {
    Status s = Contribute(*insert, +1);
    if (!s.ok()) {
      if (retract) (void)Contribute(*retract, +1);  // undo, so a dead letter loses nothing
      return s;
    }
  }
  if (removes || old_key != key) {
    if (old_row) batch_->Delete(Family::kInputRows, old_key);
  }
  if (!removes) {
    std::string bytes;
    EncodeTextRow(new_row, &bytes);
    batch_->Put(Family::kInputRows, key, bytes);
  }
  return Status::OK();
}

std::string ViewOperator::Where(const ChangeBatch& batch, const Change& c) const {
  std::string key = "(no key)";
  const int32_t image = c.after >= 0 ? c.after : c.before;
  if (image >= 0 && c.table) {
    key.clear();
    for (int k : c.table->key_columns) {
      const Datum& d = batch.Row(image)[k];
      key += (key.empty() ? "" : ", ") + c.table->columns[k].name + "=" +
             (d.kind == Datum::Kind::kText ? std::string(batch.Text(d)) : "NULL");
    }
  }
  return fmt::format("{} change of {} key ({}) at {}", std::string(1, static_cast<char>(c.op)),
                     c.table ? c.table->QualifiedName() : "?", key, c.lsn.ToString());
}

Status ViewOperator::DeadLetter(const ChangeBatch& batch, const Change& c, const Status& error) {
  std::string line = "{\"view\":";
  format::AppendJsonString(name_, &line);
  line += ",\"table\":";
  format::AppendJsonString(c.table ? c.table->QualifiedName() : "", &line);
  line += ",\"op\":";
  format::AppendJsonString(std::string(1, static_cast<char>(c.op)), &line);
  line += ",\"lsn\":";
  format::AppendJsonString(c.lsn.ToString(), &line);
  line += ",\"error\":";
  format::AppendJsonString(error.message(), &line);
  for (auto [label, image] : {std::pair{"before", c.before}, std::pair{"after", c.after}}) {
    line += std::string(",\"") + label + "\":";
    if (image < 0 || !c.table) {
      line += "null";
      continue;
    }
    line += "{";
    for (size_t i = 0; i < c.table->columns.size(); ++i) {
      const Datum& d = batch.Row(image)[i];
      if (i) line += ",";
      format::AppendJsonString(c.table->columns[i].name, &line);
      line += ":";
      if (d.kind == Datum::Kind::kText) {
        format::AppendJsonString(batch.Text(d), &line);
      } else {
        line += "null";
      }
    }
    line += "}";
  }
  line += "}\n";
  if (::write(dead_letter_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fdatasync(dead_letter_fd_) != 0) {
    return IOError("view " + name_ +
                   ": cannot write its dead-letter file: " + std::strerror(errno));
  }
  WF_LOG_WARN("view", "view {}: {} went to the dead-letter file: {}", name_, Where(batch, c),
              error.message());
  if (dead_letters_metric_) dead_letters_metric_->Add();
  return Status::OK();
}

Status ViewOperator::ProcessChange(const ChangeBatch& batch, const Change& c, const Binding& b) {
  Status s = ApplyChange(batch, c, b);
  if (changes_metric_) changes_metric_->Add();
  if (s.ok()) return s;
  if (s.code() == StatusCode::kInvalidArgument && dead_letter_fd_ >= 0) {
    return DeadLetter(batch, c, s);
  }
  return Status(s.code(), "view " + name_ + ": " + Where(batch, c) + ": " + s.message() +
                              (s.code() == StatusCode::kInvalidArgument
                                   ? " (nothing at or after it is acknowledged; set on_error: "
                                     "dead_letter on the view to set such changes aside)"
                                   : ""));
}

namespace {

void AddRowTo(ChangeBatch* out, const TextRow& row, int32_t* first) {
  *first = out->AddRow(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i]) {
      out->DatumAt(*first + static_cast<int32_t>(i)).kind = Datum::Kind::kText;
      out->SetText(*first + static_cast<int32_t>(i), *row[i]);
    }
  }
}

TextRow ToText(const std::vector<Value>& values) {
  TextRow row;
  row.reserve(values.size());
  for (const Value& v : values) {
    if (v.is_null()) {
      row.emplace_back();
    } else {
      row.emplace_back(v.ToString());
    }
  }
  return row;
}

}  // namespace

void ViewOperator::EmitRecord(ChangeBatch* out, const OutputRecord& r) {
  out->Retain(view_->output_schema);
  for (const RecordedChange& rc : r.changes) {
    Change& c = out->AddChange();
    c.op = rc.op;
    c.table = view_->output_schema.get();
    c.lsn = rc.lsn;
    c.commit_lsn = r.commit_lsn;
    c.seq = rc.seq;
    c.xid = r.xid;
    c.commit_time_us = r.commit_time_us;
    if (rc.before) AddRowTo(out, *rc.before, &c.before);
    if (rc.after) AddRowTo(out, *rc.after, &c.after);
  }
  if (output_metric_) output_metric_->Add(r.changes.size());
}

void ViewOperator::EmitRecordsUpTo(ChangeBatch* out, Lsn position, bool as_transactions) {
  while (!replay_.empty() && replay_.front().end_lsn <= position) {
    const OutputRecord& r = replay_.front();
    EmitRecord(out, r);
    if (as_transactions) {
      TxMarker m;
      m.change_end = static_cast<uint32_t>(out->changes().size());
      m.commit_lsn = r.commit_lsn;
      m.end_lsn = r.end_lsn;
      m.xid = r.xid;
      m.commit_time_us = r.commit_time_us;
      m.change_count = static_cast<uint32_t>(r.changes.size());
      out->AddMarker(m);
    }
    replay_.pop_front();
  }
}

Status ViewOperator::FinishTransaction(ChangeBatch* out, const TxMarker& m) {
  OutputRecord r;
  r.end_lsn = m.end_lsn;
  r.commit_lsn = m.commit_lsn;
  r.xid = m.xid;
  r.commit_time_us = m.commit_time_us;
  uint32_t seq = m.change_count;
  const Lsn lsn = m.commit_lsn;
  if (tx_truncated_) {
    RecordedChange t;
    t.op = ChangeOp::kTruncate;
    t.lsn = lsn;
    t.seq = ++seq;
    r.changes.push_back(std::move(t));
  }
  for (Touched& t : touched_) {
    RecordedChange rc;
    if (!t.before && !t.after) continue;
    if (!t.before) {
      rc.op = ChangeOp::kCreate;
    } else if (!t.after) {
      rc.op = ChangeOp::kDelete;
    } else {
      if (sql::SameRow(t.before, t.after)) continue;
      rc.op = ChangeOp::kUpdate;
    }
    rc.lsn = lsn;
    rc.seq = ++seq;
    if (t.before) rc.before = ToText(*t.before);
    if (t.after) rc.after = ToText(*t.after);
    r.changes.push_back(std::move(rc));
  }
  touched_.clear();
  touched_index_.clear();
  tx_truncated_ = false;
  if (!r.changes.empty()) {
    EmitRecord(out, r);
    batch_->AppendOutput(EncodeOutputRecord(r));
    uncommitted_ends_.push_back(r.end_lsn);
    dirty_ = true;
  }
  return Status::OK();
}

Status ViewOperator::Apply(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out) {
  if (failed_) return FailedPrecondition("view " + name_ + " stopped after an error");
  Status s = ApplyBatch(input, out);
  failed_ = !s.ok();
  return s;
}

Status ViewOperator::ApplyBatch(const ChangeBatchPtr& input, std::vector<ChangeBatchPtr>* out) {
  const ChangeBatch& in = *input;
  const std::string holder = holding_name();
  for (const std::string& h : in.held_by()) {
    if (h == holder) {
      // A snapshot chunk delivered again for others: the view holds it.
      out->push_back(input);
      return Status::OK();
    }
  }
  // Which changes are the view's to apply.
  bool any = !replay_.empty() || emit_truncate_ || init_global_;
  std::vector<const Binding*> bound(in.changes().size(), nullptr);
  for (size_t i = 0; i < in.changes().size(); ++i) {
    const Change& c = in.changes()[i];
    if (c.commit_lsn < open_position_) continue;  // the state already reflects it
    WF_ASSIGN_OR_RETURN(bound[i], BindingFor(*c.table));
    any = any || bound[i];
  }
  // The stored rows the changes replace, read in one batched lookup.
  std::vector<std::string> rows_read;
  for (size_t i = 0; i < in.changes().size(); ++i) {
    const Change& c = in.changes()[i];
    const int32_t image = c.before >= 0 ? c.before : c.after;
    if (bound[i] && c.op != ChangeOp::kTruncate && image >= 0) {
      rows_read.push_back(KeyOf(in, image, *bound[i]));
    }
  }
  if (rows_read.size() > 1) {
    WF_RETURN_IF_ERROR(store_->Prefetch(Family::kInputRows, std::move(rows_read), *batch_)
                           .WithContext("view " + name_));
  }
  if (!any && !tx_open_) {
    if (!in.markers().empty()) {
      const Lsn end = in.markers().back().end_lsn;
      if (end > open_position_) batch_->SetInputPosition(std::max(end, committed_));
      PublishDurable();
    }
    out->push_back(input);
    return Status::OK();
  }
  // `nb`: the input's changes; `own`: where the view's output and the markers go — the
  // same batch, except for a snapshot chunk some sinks hold (held_by): they skip the
  // chunk, but not the view's output, which then travels in a batch of its own.
  std::shared_ptr<ChangeBatch> nb = in.CloneValues();
  const bool held = !in.held_by().empty();
  std::shared_ptr<ChangeBatch> own = held ? std::make_shared<ChangeBatch>() : nb;
  size_t next = 0;
  auto copy_until = [&](size_t end) -> Status {
    for (; next < end; ++next) {
      const Change& c = in.changes()[next];
      nb->AddChange() = c;
      if (bound[next]) {
        WF_RETURN_IF_ERROR(ProcessChange(in, c, *bound[next]));
        dirty_ = true;
      }
    }
    return Status::OK();
  };
  for (const TxMarker& m : in.markers()) {
    const Lsn first_commit = next < m.change_end ? in.changes()[next].commit_lsn : m.commit_lsn;
    // Recorded output of earlier transactions the stream does not bring again.
    if (!tx_open_) EmitRecordsUpTo(own.get(), first_commit, true);
    if (init_global_ && m.end_lsn > open_position_) {
      bool created = false;
      Touched& t = Touch(keys_.Encode({}), &created);
      if (created) {
        WF_ASSIGN_OR_RETURN(t.after, GroupOutput({}, std::nullopt));
      }
      batch_->Put(Family::kMeta, kGlobalRowKey, "1");
      init_global_ = false;
      dirty_ = true;
    }
    if (emit_truncate_ && m.end_lsn > open_position_) {
      tx_truncated_ = true;
      emit_truncate_ = false;
    }
    WF_RETURN_IF_ERROR(copy_until(m.change_end));
    if (m.end_lsn > open_position_) {
      WF_RETURN_IF_ERROR(FinishTransaction(own.get(), m));
      batch_->SetInputPosition(std::max(m.end_lsn, committed_));
    } else {
      // Replayed: the state has it; a sink that lacks its output gets the record.
      touched_.clear();
      touched_index_.clear();
      EmitRecordsUpTo(own.get(), m.end_lsn, false);
    }
    TxMarker moved = m;
    moved.change_end = static_cast<uint32_t>(own->changes().size());
    own->AddMarker(moved);
    tx_open_ = false;
    if (std::chrono::steady_clock::now() - last_commit_ >= options_.commit_interval) {
      WF_RETURN_IF_ERROR(CommitNow());
    }
  }
  // A transaction still open: its state is committed only with its end.
  tx_open_ = tx_open_ || next < in.changes().size();
  WF_RETURN_IF_ERROR(copy_until(in.changes().size()));
  PublishDurable();
  out->push_back(std::move(nb));
  if (held) out->push_back(std::move(own));
  return Status::OK();
}

Status ViewOperator::CommitNow() {
  // Only whole transactions are committed, and nothing after a failed Apply().
  if (tx_open_ || failed_) return Status::OK();
  if (!dirty_ && batch_->empty()) {
    last_commit_ = std::chrono::steady_clock::now();
    return Status::OK();
  }
  const std::optional<Lsn> position = batch_->input_position();
  const uint64_t first_sequence = store_->next_output_sequence();
  Status s = store_->Commit(std::move(*batch_));
  batch_.emplace(store_->NewBatch());
  if (!s.ok()) return s.WithContext("view " + name_);
  for (size_t i = 0; i < uncommitted_ends_.size(); ++i) {
    kept_.emplace_back(first_sequence + i, uncommitted_ends_[i]);
  }
  uncommitted_ends_.clear();
  if (position) committed_ = std::max(committed_, *position);
  dirty_ = false;
  last_commit_ = std::chrono::steady_clock::now();
  if (commits_metric_) commits_metric_->Add();
  PublishDurable();
  return Status::OK();
}

Status ViewOperator::Tick(Lsn sinks_durable, bool idle) {
  if (!batch_) return Status::OK();
  const auto since = std::chrono::steady_clock::now() - last_commit_;
  const auto idle_spacing = std::min(options_.idle_commit_spacing, options_.commit_interval);
  if (since >= options_.commit_interval || (idle && dirty_ && since >= idle_spacing)) {
    WF_RETURN_IF_ERROR(CommitNow());
  }
  uint64_t upto = 0;
  while (!kept_.empty() && kept_.front().second <= sinks_durable) {
    upto = kept_.front().first;
    kept_.pop_front();
  }
  if (upto > 0) WF_RETURN_IF_ERROR(store_->Trim(upto));
  return Status::OK();
}

Status ViewOperator::Close() {
  if (!store_) return Status::OK();
  Status s;
  if (batch_ && !tx_open_ && !failed_) s = CommitNow();
  batch_.reset();
  groups_.reset();
  store_.reset();
  if (s.ok()) {
    WF_LOG_INFO("view", "view {}: state durable up to {}", name_, committed_.ToString());
  }
  return s;
}

Status ViewOperator::ForEachRow(const std::function<Status(const std::vector<Value>&)>& f) {
  const sql::ViewPlan& plan = view_->plan;
  if (!plan.grouped) {
    auto it = store_->ScanPrefix(Family::kInputRows, "");
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view in = it->value();
      WF_ASSIGN_OR_RETURN(TextRow row, DecodeTextRow(&in));
      WF_ASSIGN_OR_RETURN(Contribution c, Evaluate(row));
      if (c.passes) WF_RETURN_IF_ERROR(f(c.out));
    }
    return it->status();
  }
  std::vector<sql::SqlType> types;
  for (const auto& g : plan.groups) types.push_back(g.type);
  bool any = false;
  auto it = store_->ScanPrefix(Family::kGroups, "");
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    WF_ASSIGN_OR_RETURN(std::vector<Value> group, keys_.Decode(types, it->key()));
    WF_ASSIGN_OR_RETURN(auto aggs, groups_->Lookup(group));
    WF_ASSIGN_OR_RETURN(auto row, GroupOutput(group, aggs));
    any = true;
    if (row) WF_RETURN_IF_ERROR(f(*row));
  }
  WF_RETURN_IF_ERROR(it->status());
  if (plan.global && !any) {
    WF_ASSIGN_OR_RETURN(auto row, GroupOutput({}, std::nullopt));
    if (row) WF_RETURN_IF_ERROR(f(*row));
  }
  return Status::OK();
}

Result<std::unique_ptr<ViewOperator>> OpenForPeek(std::shared_ptr<const CompiledView> view,
                                                  const std::string& state_dir) {
  ViewOperatorOptions o;
  o.state_dir = state_dir;
  auto op = std::make_unique<ViewOperator>(std::move(view), o);
  WF_RETURN_IF_ERROR(op->Open(Lsn()).status());
  return op;
}

}  // namespace walflow::view
