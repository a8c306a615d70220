#include "sink/parquet/parquet_sink.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/log.h"
#include "pg/text_codec.h"

namespace walflow::sink {
namespace {

using Clock = std::chrono::steady_clock;
using format::parquet::ChangeRowEncoder;
using format::parquet::ParquetWriter;

constexpr const char* kCommitDir = "_walflow/commits/";
// Row groups buffered across all tables, at most, in units of row_group_size.
constexpr size_t kMemoryBudgetRowGroups = 4;

std::string Padded(uint64_t v, int width) {
  std::string out;
  pg::AppendPadded(static_cast<int64_t>(v), width, &out);
  return out;
}

std::string CommitRecordKey(uint64_t commit) { return kCommitDir + Padded(commit, 12) + ".json"; }

// "<schema>.<table>" as a path segment: '/' and '%' escaped, nothing else touched.
std::string TableDirectory(const TableSchema& t) {
  std::string out;
  for (char c : t.QualifiedName()) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

constexpr int64_t kMicrosPerDay = 86400000000LL;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// "date=YYYY-MM-DD" of days since 1970-01-01.
std::string DatePartition(int64_t days) {
  int64_t y;
  unsigned m, d;
  pg::CivilFromDays(days, &y, &m, &d);
  std::string out = "date=";
  pg::AppendPadded(y, 4, &out);
  out.push_back('-');
  pg::AppendPadded(m, 2, &out);
  out.push_back('-');
  pg::AppendPadded(d, 2, &out);
  return out;
}

bool ParseDigits(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

struct ParquetSink::OpenFile {
  std::string key;
  uint32_t schema_version = 0;  // of the last change appended
  std::string table;
  std::unique_ptr<ChangeRowEncoder> encoder;
  std::unique_ptr<ParquetWriter> writer;
  std::unique_ptr<storage::ObjectUpload> upload;  // created with the first row group
};

ParquetSink::ParquetSink(ParquetSinkOptions options) : options_(std::move(options)) {}

ParquetSink::~ParquetSink() = default;  // open uploads abort themselves

Result<std::unique_ptr<storage::ObjectStore>> ParquetSink::OpenStore(
    const ParquetSinkOptions& options, bool lock) {
  if (options.path.rfind("s3://", 0) == 0) {
    storage::S3Options s3 = options.s3;
    WF_RETURN_IF_ERROR(storage::ParseS3Url(options.path, &s3.bucket, &s3.prefix));
    return storage::OpenS3Store(std::move(s3));
  }
  return storage::OpenLocalStore(options.path, lock);
}

uint64_t ParquetSink::CommitOfFile(const std::string& key) {
  // ".../<12 digits>-<4 digits>.parquet"
  std::string_view name = key;
  auto slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  constexpr std::string_view kSuffix = ".parquet";
  if (name.size() != 12 + 1 + 4 + kSuffix.size() || name[12] != '-' || name.substr(17) != kSuffix) {
    return 0;
  }
  uint64_t commit, n;
  if (!ParseDigits(name.substr(0, 12), &commit) || !ParseDigits(name.substr(13, 4), &n)) return 0;
  return commit;
}

namespace {

struct CommitState {
  std::vector<uint64_t> commits;  // numbers of the commit records present, ascending
  Lsn position;
  std::string source_state;
};

// Reads the newest commit record under `store`.
Result<CommitState> ReadCommits(storage::ObjectStore* store) {
  CommitState out;
  WF_ASSIGN_OR_RETURN(std::vector<storage::ObjectInfo> records, store->List(kCommitDir));
  for (const storage::ObjectInfo& o : records) {
    std::string_view name = std::string_view(o.key).substr(std::string_view(kCommitDir).size());
    uint64_t c;
    if (name.size() == 12 + 5 && name.substr(12) == ".json" &&
        ParseDigits(name.substr(0, 12), &c)) {
      out.commits.push_back(c);
    }
  }
  std::sort(out.commits.begin(), out.commits.end());
  if (out.commits.empty()) return out;
  const std::string key = CommitRecordKey(out.commits.back());
  WF_ASSIGN_OR_RETURN(std::string text, store->Get(key));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::optional<Lsn> lsn;
  if (j.is_object() && j.contains("position") && j["position"].is_string()) {
    lsn = Lsn::Parse(j["position"].get<std::string>());
  }
  if (!lsn) {
    return DataLoss("commit record " + store->Describe(key) +
                    " is not a walflow commit record; it was changed by someone else");
  }
  out.position = *lsn;
  if (j.contains("source_state") && j["source_state"].is_string()) {
    out.source_state = j["source_state"].get<std::string>();
  }
  return out;
}

}  // namespace

Result<std::optional<Lsn>> ParquetSink::ReadPosition(const ParquetSinkOptions& options) {
  const std::string context = "sink " + options.name;
  auto store = OpenStore(options, /*lock=*/false);
  if (!store.ok()) return store.status().WithContext(context);
  Status s = (*store)->CheckAccess();
  if (!s.ok()) return s.WithContext(context);
  auto state = ReadCommits(store->get());
  if (!state.ok()) return state.status().WithContext(context);
  if (state->commits.empty()) return std::optional<Lsn>();
  return std::optional<Lsn>(state->position);
}

Result<Lsn> ParquetSink::Open() {
  const std::string context = "sink " + options_.name;
  auto store = OpenStore(options_, /*lock=*/true);
  if (!store.ok()) return store.status().WithContext(context);
  store_ = std::move(store).value();
  Status s = store_->CheckAccess();
  if (!s.ok()) return s.WithContext(context);

  // The newest commit record is the durable point.
  auto state = ReadCommits(store_.get());
  if (!state.ok()) return state.status().WithContext(context);
  const Lsn position = state->position;
  durable_state_ = state->source_state;
  if (!state->commits.empty()) {
    commit_ = state->commits.back() + 1;
    // Older records are history only; keep a few.
    for (size_t i = 0; i + options_.keep_commit_records < state->commits.size(); ++i) {
      (void)store_->Delete(CommitRecordKey(state->commits[i]));
    }
  }

  // Files a crash left between completing them and writing their commit record.
  auto objects = store_->List("");
  if (!objects.ok()) return objects.status().WithContext(context);
  for (const storage::ObjectInfo& o : *objects) {
    if (o.key.rfind("_walflow/", 0) == 0) continue;
    uint64_t c = CommitOfFile(o.key);
    if (c >= commit_) {
      WF_LOG_WARN("sink",
                  "sink {}: removing {}, written after the last commit record by an "
                  "interrupted run (its rows are written again)",
                  options_.name, store_->Describe(o.key));
      s = store_->Delete(o.key);
      if (!s.ok()) return s.WithContext(context);
    }
  }
  auto removed = store_->RemoveIncompleteUploads("");
  if (!removed.ok()) return removed.status().WithContext(context);
  if (*removed > 0) {
    WF_LOG_INFO("sink", "sink {}: removed {} unfinished upload(s) of an interrupted run",
                options_.name, *removed);
  }
  durable_ = last_marker_ = position;
  noted_state_ = durable_state_;
  return position;
}

std::string ParquetSink::NextFileKey(const std::string& dir) {
  return dir + "/" + Padded(commit_, 12) + "-" + Padded(files_in_commit_++, 4) + ".parquet";
}

Status ParquetSink::Fail(Status s) {
  failed_ = true;
  return s.WithContext("sink " + options_.name);
}

Status ParquetSink::SendOut(OpenFile* f) {
  if (!f->upload) {
    WF_ASSIGN_OR_RETURN(f->upload, store_->Create(f->key));
  }
  Status s = f->upload->Append(out_);
  out_.clear();
  return s;
}

Status ParquetSink::FlushRowGroup(OpenFile* f) {
  WF_RETURN_IF_ERROR(f->writer->FlushRowGroup(&out_));
  return SendOut(f);
}

Status ParquetSink::CompleteFile(OpenFile* f) {
  WF_RETURN_IF_ERROR(f->writer->Finish(&out_));
  WF_RETURN_IF_ERROR(SendOut(f));
  WF_RETURN_IF_ERROR(f->upload->Commit());
  completed_.push_back({f->key, f->table, f->writer->rows_written(), f->writer->bytes_written()});
  f->upload.reset();
  return Status::OK();
}

Status ParquetSink::Append(const ChangeBatch& batch, const Change& change) {
  const TableSchema& table = *change.table;
  if (options_.partition_by_commit_date) {
    const int64_t day = FloorDiv(change.commit_time_us, kMicrosPerDay);
    if (day != partition_day_ || partition_.empty()) {
      partition_day_ = day;
      partition_ = DatePartition(day);
    }
  }
  auto slot = std::make_pair(table.relid.value, partition_);
  auto it = open_.find(slot);
  // The layout is compared once per schema version, not per change.
  if (it != open_.end() && it->second->schema_version != table.version &&
      !it->second->encoder->SameLayout(table)) {
    // A new schema starts a new file.
    Status s = CompleteFile(it->second.get());
    if (!s.ok()) return Fail(s);
    open_.erase(it);
    it = open_.end();
  }
  if (it == open_.end()) {
    auto encoder = ChangeRowEncoder::ForTable(table);
    if (!encoder.ok()) return Fail(encoder.status());
    auto f = std::make_unique<OpenFile>();
    f->table = table.QualifiedName();
    std::string dir = TableDirectory(table);
    if (!partition_.empty()) dir += "/" + partition_;
    f->key = NextFileKey(dir);
    f->encoder = std::move(encoder).value();
    format::parquet::WriterOptions wo;
    wo.compression = options_.compression;
    wo.created_by = std::string("walflow version ") + format::kWalflowVersion;
    wo.key_value_metadata = {{"walflow.table", f->table}};
    f->writer = std::make_unique<ParquetWriter>(f->encoder->columns(), std::move(wo));
    if (open_.empty()) oldest_open_ = Clock::now();
    it = open_.emplace(slot, std::move(f)).first;
  }
  OpenFile* f = it->second.get();
  f->schema_version = table.version;
  Status s = f->encoder->Append(batch, change, f->writer.get());
  if (!s.ok()) return Fail(s);
  in_transaction_ = true;
  if (f->writer->buffered_bytes() >= options_.row_group_size) {
    s = FlushRowGroup(f);
    if (!s.ok()) return Fail(s);
  }
  if (++appends_since_memory_check_ >= 1024 && open_.size() > 1) {
    // Many tables: keep the row groups in memory under a budget, largest first out.
    appends_since_memory_check_ = 0;
    size_t total = 0;
    OpenFile* largest = nullptr;
    for (auto& [key, open] : open_) {
      total += open->writer->buffered_bytes();
      if (!largest || open->writer->buffered_bytes() > largest->writer->buffered_bytes()) {
        largest = open.get();
      }
    }
    if (total > kMemoryBudgetRowGroups * options_.row_group_size) {
      s = FlushRowGroup(largest);
      if (!s.ok()) return Fail(s);
    }
  }
  if (f->writer->bytes_written() + f->writer->buffered_bytes() >= options_.max_file_size) {
    roll_due_ = true;
  }
  return Status::OK();
}

Status ParquetSink::Write(const BatchSlice& slice) {
  if (failed_) return FailedPrecondition("sink " + options_.name + " failed earlier");
  const ChangeBatch& batch = *slice.batch;
  // A partitioned source (Kafka) notes where it stands only after Write, and its batches end
  // at a boundary: a roll due there happens now, before this batch, or in Checkpoint(). A
  // PostgreSQL source has no such state: roll at the boundary itself, inside the batch, so
  // that a boundary never waits for the next batch.
  const bool roll_at_markers = batch.source_state().empty();
  if (roll_due_ && !in_transaction_) WF_RETURN_IF_ERROR(Roll());
  const auto& changes = batch.changes();
  const auto& markers = batch.markers();
  size_t m = slice.first_marker;
  for (size_t i = slice.first_change; i < slice.end_change; ++i) {
    for (; m < slice.end_marker && markers[m].change_end <= i; ++m) {
      WF_RETURN_IF_ERROR(PassMarker(markers[m], roll_at_markers));
    }
    if (!slice.Selected(changes[i])) continue;
    WF_RETURN_IF_ERROR(Append(batch, changes[i]));
  }
  for (; m < slice.end_marker; ++m) WF_RETURN_IF_ERROR(PassMarker(markers[m], roll_at_markers));
  return Status::OK();
}

Status ParquetSink::PassMarker(const TxMarker& marker, bool roll_here) {
  last_marker_ = marker.end_lsn;
  in_transaction_ = false;
  if (!roll_here) return Status::OK();
  const bool requested = checkpoint_requested_;
  checkpoint_requested_ = false;
  if (roll_due_ || Aged() || (requested && CheckpointDue())) return Roll();
  return Status::OK();
}

bool ParquetSink::Aged() const {
  return !open_.empty() && Clock::now() - oldest_open_ >= options_.max_file_age;
}

bool ParquetSink::CheckpointDue() const {
  if (roll_due_ || Aged() || !completed_.empty()) return true;
  // Transactions without rows for this sink (or records the source skipped) moved the
  // position: a record without files holds it, at most once per max_file_age.
  return open_.empty() && (last_marker_ != durable_ || noted_state_ != durable_state_) &&
         Clock::now() - last_commit_at_ >= options_.max_file_age;
}

Status ParquetSink::Roll() {
  for (auto& [slot, f] : open_) {
    Status s = CompleteFile(f.get());
    if (!s.ok()) return Fail(s);
  }
  open_.clear();
  if (completed_.empty() && last_marker_ == durable_ && noted_state_ == durable_state_) {
    return Status::OK();
  }
  nlohmann::json record;
  record["commit"] = commit_;
  record["position"] = last_marker_.ToString();
  if (!noted_state_.empty()) record["source_state"] = noted_state_;
  uint64_t rows = 0;
  nlohmann::json files = nlohmann::json::array();
  for (const FileRecord& f : completed_) {
    files.push_back({{"key", f.key}, {"table", f.table}, {"rows", f.rows}, {"bytes", f.bytes}});
    rows += f.rows;
  }
  record["files"] = std::move(files);
  const std::string key = CommitRecordKey(commit_);
  Status s = store_->Put(key, record.dump() + "\n");
  if (!s.ok()) return Fail(s);
  WF_LOG_DEBUG("sink", "sink {}: commit {}: {} file(s), {} row(s), position {}", options_.name,
               commit_, completed_.size(), rows, last_marker_.ToString());
  durable_ = last_marker_;
  durable_state_ = noted_state_;
  last_commit_at_ = Clock::now();
  if (commit_ > options_.keep_commit_records) {
    (void)store_->Delete(CommitRecordKey(commit_ - options_.keep_commit_records));
  }
  ++commit_;
  files_in_commit_ = 0;
  completed_.clear();
  roll_due_ = false;
  return Status::OK();
}

Result<Lsn> ParquetSink::Checkpoint() {
  if (failed_) return FailedPrecondition("sink " + options_.name + " failed earlier");
  if (in_transaction_) {
    checkpoint_requested_ = true;  // Write rolls at the transaction's end
    return durable_;
  }
  if (CheckpointDue()) WF_RETURN_IF_ERROR(Roll());
  return durable_;
}

Result<Lsn> ParquetSink::Flush() {
  if (failed_) return FailedPrecondition("sink " + options_.name + " failed earlier");
  if (!in_transaction_) WF_RETURN_IF_ERROR(Roll());
  return Checkpoint();
}

Status ParquetSink::Close() {
  if (failed_ || in_transaction_ || !store_) {
    // Incomplete: the rows are sent again after the restart; drop what is open.
    open_.clear();
    return Status::OK();
  }
  Status s = Roll();
  store_.reset();
  return s;
}

}  // namespace walflow::sink
