#include "state/view_state.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace walflow::state {
namespace {

// Reserved keys of the meta family (callers' keys never start with '\0').
constexpr std::string_view kPositionKey("\0input_position", 15);
constexpr std::string_view kNextSequenceKey("\0next_output_sequence", 21);

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::optional<uint64_t> DecodeU64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// rocksdb::Status -> walflow Status, naming the database and the operation.
Status FromRocks(const rocksdb::Status& s, const std::string& path, std::string_view what) {
  auto msg = [&](std::string_view hint) {
    std::string m = "view state " + path + ": " + std::string(what) + ": " + s.ToString();
    if (!hint.empty()) m += std::string("; ") + std::string(hint);
    return m;
  };
  switch (s.code()) {
    case rocksdb::Status::kOk: return Status::OK();
    case rocksdb::Status::kNotFound: return NotFound(msg(""));
    case rocksdb::Status::kCorruption:
      return DataLoss(msg("the view's state is damaged: restore data_dir or rebuild the view"));
    case rocksdb::Status::kIOError:
      if (s.IsNoSpace()) return IOError(msg("the disk is full"));
      return IOError(msg("check the disk and that no other walflow uses this data_dir"));
    case rocksdb::Status::kNotSupported: return FailedPrecondition(msg(""));
    case rocksdb::Status::kInvalidArgument: return InvalidArgument(msg(""));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kCompactionTooLarge: return Unavailable(msg(""));
    case rocksdb::Status::kAborted:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kExpired: return Aborted(msg(""));
    case rocksdb::Status::kShutdownInProgress: return Cancelled(msg(""));
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kColumnFamilyDropped:
    case rocksdb::Status::kMaxCode: return Internal(msg(""));
  }
  return Internal(msg("unknown RocksDB status code"));
}

std::string_view Bytes(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

}  // namespace

const char* FamilyName(Family family) {
  switch (family) {
    case Family::kInputRows: return "input_rows";
    case Family::kGroups: return "groups";
    case Family::kMultisets: return "multisets";
    case Family::kMeta: return "meta";
    case Family::kOutput: return "output";
  }
  return "unknown";
}

// ---- StateBatch

StateBatch::StateBatch(ViewStateStore* store) : store_(store) {}
StateBatch::StateBatch(StateBatch&&) noexcept = default;
StateBatch& StateBatch::operator=(StateBatch&&) noexcept = default;
StateBatch::~StateBatch() = default;

void StateBatch::Put(Family family, std::string_view key, std::string_view value) {
  if (family == Family::kOutput) {
    if (error_.ok()) error_ = InvalidArgument("StateBatch::Put: write output with AppendOutput");
    return;
  }
  if (family == Family::kMeta && !key.empty() && key[0] == '\0') {
    if (error_.ok())
      error_ = InvalidArgument("StateBatch::Put: meta keys starting with \\0 are reserved");
    return;
  }
  Latest& latest = latest_[static_cast<int>(family)];
  auto it = latest.lower_bound(key);
  if (it != latest.end() && it->first == key) {
    it->second = std::string(value);
  } else {
    latest.emplace_hint(it, std::string(key), std::string(value));
  }
  ++writes_;
}

void StateBatch::Delete(Family family, std::string_view key) {
  if (family == Family::kOutput || (family == Family::kMeta && !key.empty() && key[0] == '\0')) {
    if (error_.ok()) error_ = InvalidArgument("StateBatch::Delete: output and reserved meta keys");
    return;
  }
  Latest& latest = latest_[static_cast<int>(family)];
  auto it = latest.lower_bound(key);
  if (it != latest.end() && it->first == key) {
    it->second.reset();
  } else {
    latest.emplace_hint(it, std::string(key), std::nullopt);
  }
  ++writes_;
}

void StateBatch::AppendOutput(std::string_view record) { outputs_.emplace_back(record); }

bool StateBatch::empty() const {
  return writes_ == 0 && outputs_.empty() && !position_.has_value();
}

// ---- StateIterator

// A cursor over the committed keys in [lower, upper), merged with a batch's latest values
// when there is one (the batch wins on equal keys; its deletions hide committed keys).
// Each step positions both sides anew from the current key: steps with a batch are rare
// (the next min/max after a deletion, a TRUNCATE), and this keeps both directions simple.
struct StateIterator::Impl {
  std::string path;
  std::string lower;
  std::string upper;  // empty: unbounded
  rocksdb::Slice lower_slice;
  rocksdb::Slice upper_slice;
  rocksdb::ReadOptions read_options;
  std::unique_ptr<rocksdb::Iterator> it;
  const StateBatch::Latest* latest = nullptr;  // null: committed keys only
  StateBatch::Latest::const_iterator overlay;
  bool valid = false;
  bool from_overlay = false;

  bool InRange(std::string_view k) const { return k >= lower && (upper.empty() || k < upper); }
  bool OverlayValid() const { return overlay != latest->end() && InRange(overlay->first); }

  // From the positioned sides, the first visible key going forward (or backward).
  void Settle(bool forward) {
    valid = false;
    auto step_overlay = [&] {
      if (forward) {
        ++overlay;
      } else if (overlay == latest->begin()) {
        overlay = latest->end();
      } else {
        --overlay;
      }
    };
    while (true) {
      const bool d = it->Valid() && InRange(Bytes(it->key()));
      const bool o = OverlayValid();
      if (!d && !o) return;
      int order = 1;  // < 0: the committed side comes first in this direction
      if (!o) {
        order = -1;
      } else if (d) {
        const int c = Bytes(it->key()).compare(overlay->first);
        order = forward ? c : -c;
      }
      if (order < 0) {
        valid = true;
        from_overlay = false;
        return;
      }
      if (overlay->second) {  // the batch's value (on equal keys it wins)
        valid = true;
        from_overlay = true;
        return;
      }
      // A deletion in the batch hides the committed key it equals.
      if (order == 0) forward ? it->Next() : it->Prev();
      step_overlay();
    }
  }

  void SeekForward(std::string_view key) {
    it->Seek(ToSlice(key));
    if (latest) overlay = latest->lower_bound(key);
  }
  // The last key < `key` (`key` empty: the last key of all).
  void SeekBackward(std::string_view key) {
    if (key.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(ToSlice(key));
      if (it->Valid() && Bytes(it->key()) >= key) it->Prev();
    }
    if (latest) {
      auto o = key.empty() ? latest->end() : latest->lower_bound(key);
      overlay = o == latest->begin() ? latest->end() : std::prev(o);
    }
  }
};

StateIterator::StateIterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateIterator::~StateIterator() = default;

namespace {
std::string After(std::string_view key) {
  std::string k(key);
  k.push_back('\0');
  return k;
}
}  // namespace

void StateIterator::SeekToFirst() { Seek(impl_->lower); }

void StateIterator::SeekToLast() {
  impl_->SeekBackward(impl_->upper);
  if (!impl_->latest) {
    impl_->valid = impl_->it->Valid() && impl_->InRange(Bytes(impl_->it->key()));
    impl_->from_overlay = false;
    return;
  }
  impl_->Settle(false);
}

void StateIterator::Seek(std::string_view key) {
  const std::string k(std::max(key, std::string_view(impl_->lower)));
  impl_->SeekForward(k);
  if (!impl_->latest) {
    impl_->valid = impl_->it->Valid() && impl_->InRange(Bytes(impl_->it->key()));
    impl_->from_overlay = false;
    return;
  }
  impl_->Settle(true);
}

void StateIterator::Next() {
  if (!impl_->latest) {
    impl_->it->Next();
    impl_->valid = impl_->it->Valid() && impl_->InRange(Bytes(impl_->it->key()));
    return;
  }
  impl_->SeekForward(After(key()));
  impl_->Settle(true);
}

void StateIterator::Prev() {
  if (!impl_->latest) {
    impl_->it->Prev();
    impl_->valid = impl_->it->Valid() && impl_->InRange(Bytes(impl_->it->key()));
    return;
  }
  impl_->SeekBackward(std::string(key()));
  impl_->Settle(false);
}

bool StateIterator::Valid() const { return impl_->valid; }
std::string_view StateIterator::key() const {
  return impl_->from_overlay ? std::string_view(impl_->overlay->first) : Bytes(impl_->it->key());
}
std::string_view StateIterator::value() const {
  return impl_->from_overlay ? std::string_view(*impl_->overlay->second)
                             : Bytes(impl_->it->value());
}
Status StateIterator::status() const { return FromRocks(impl_->it->status(), impl_->path, "scan"); }

// ---- ViewStateStore

Result<std::unique_ptr<ViewStateStore>> ViewStateStore::Open(const std::string& dir,
                                                             const std::string& name,
                                                             const StoreOptions& options) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    return InvalidArgument("view state: '" + name + "' is not a valid view name for a folder");
  }
  std::unique_ptr<ViewStateStore> store(new ViewStateStore());
  store->path_ = dir + "/" + name;
  store->options_ = options;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError("view state: cannot create " + dir + ": " + ec.message());

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.db_write_buffer_size = options.memtable_bytes;
  db_options.max_open_files = 256;  // many views must not exhaust the process's descriptors
  db_options.keep_log_file_num = 4;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = std::max<size_t>(options.memtable_bytes / 2, 64u << 10);
  // Most reads are point reads of one key (an input row, a group, a multiset entry), many
  // of keys that are absent (new rows, new values): whole-key bloom filters in the tables
  // and the memtables answer those without a search; a block cache of its own keeps the
  // view's hot blocks decoded. The small upper levels, read and rewritten most, are not
  // compressed; the large lower ones are, with LZ4.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.format_version = 5;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.memtable_prefix_bloom_size_ratio = 0.05;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.compression_per_level = {rocksdb::kNoCompression,  rocksdb::kNoCompression,
                                      rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                                      rocksdb::kLZ4Compression, rocksdb::kLZ4Compression,
                                      rocksdb::kLZ4Compression};

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int f = 0; f < kFamilyCount; ++f) {
    descriptors.emplace_back(FamilyName(static_cast<Family>(f)), cf_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, store->path_, descriptors, &handles, &db);
  if (!s.ok()) return FromRocks(s, store->path_, "open");
  store->db_.reset(db);
  store->handles_ = std::move(handles);  // [0] is the unused default family

  for (auto [key, target] : {std::pair{kPositionKey, &store->position_},
                             std::pair{kNextSequenceKey, &store->next_sequence_}}) {
    std::string value;
    s = store->db_->Get(rocksdb::ReadOptions(), store->handle(Family::kMeta), ToSlice(key), &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return FromRocks(s, store->path_, "read meta");
    std::optional<uint64_t> v = DecodeU64(value);
    if (!v) return DataLoss("view state " + store->path_ + ": meta value is not 8 bytes");
    target->store(*v, std::memory_order_release);
  }
  return store;
}

Status ViewStateStore::Destroy(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  if (!std::filesystem::exists(path)) return Status::OK();
  rocksdb::Status s = rocksdb::DestroyDB(path, rocksdb::Options());
  if (!s.ok()) return FromRocks(s, path, "destroy");
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return IOError("view state: cannot remove " + path + ": " + ec.message());
  return Status::OK();
}

ViewStateStore::~ViewStateStore() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* ViewStateStore::handle(Family family) const {
  return handles_[static_cast<size_t>(family) + 1];
}

StateBatch ViewStateStore::NewBatch() { return StateBatch(this); }

Status ViewStateStore::Commit(StateBatch batch) {
  if (!failed_.ok()) return failed_;
  if (batch.store_ != this) return InvalidArgument("view state " + path_ + ": foreign batch");
  if (!batch.error_.ok()) return batch.error_.WithContext("view state " + path_);
  if (batch.empty()) return Status::OK();
  Lsn current = input_position();
  if (batch.position_ && *batch.position_ < current) {
    return InvalidArgument("view state " + path_ + ": input position " +
                           batch.position_->ToString() + " is behind the committed " +
                           current.ToString());
  }
  rocksdb::WriteBatch write_batch;
  rocksdb::WriteBatch* wb = &write_batch;
  for (int f = 0; f < kFamilyCount; ++f) {
    for (const auto& [key, value] : batch.latest_[f]) {
      rocksdb::ColumnFamilyHandle* h = handle(static_cast<Family>(f));
      rocksdb::Status s =
          value ? wb->Put(h, ToSlice(key), ToSlice(*value)) : wb->Delete(h, ToSlice(key));
      if (!s.ok()) return FromRocks(s, path_, "batch write");
    }
  }
  uint64_t sequence = next_sequence_.load(std::memory_order_relaxed);
  for (const std::string& record : batch.outputs_) {
    rocksdb::Status s = wb->Put(handle(Family::kOutput), EncodeU64(sequence++), record);
    if (!s.ok()) return FromRocks(s, path_, "batch output");
  }
  if (!batch.outputs_.empty()) {
    rocksdb::Status s =
        wb->Put(handle(Family::kMeta), ToSlice(kNextSequenceKey), EncodeU64(sequence));
    if (!s.ok()) return FromRocks(s, path_, "batch meta");
  }
  if (batch.position_) {
    rocksdb::Status s =
        wb->Put(handle(Family::kMeta), ToSlice(kPositionKey), EncodeU64(batch.position_->value));
    if (!s.ok()) return FromRocks(s, path_, "batch meta");
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_commits;
  rocksdb::Status s = db_->Write(wo, wb);
  if (!s.ok()) {
    // What reached the WAL is unknown now; only a reopen tells.
    failed_ = FromRocks(s, path_, "commit");
    return failed_;
  }
  // The batch is ours: its keys and values move into the cache.
  for (int f = 0; f < kFamilyCount; ++f) {
    StateBatch::Latest& latest = batch.latest_[f];
    while (!latest.empty()) {
      auto node = latest.extract(latest.begin());
      Remember(static_cast<Family>(f), std::move(node.key()), std::move(node.mapped()));
    }
  }
  if (batch.position_) position_.store(batch.position_->value, std::memory_order_release);
  next_sequence_.store(sequence, std::memory_order_release);
  return Status::OK();
}

Result<std::optional<std::string>> ViewStateStore::Get(Family family, std::string_view key,
                                                       const StateBatch* batch) const {
  std::string value;
  rocksdb::Status s;
  const int f = static_cast<int>(family);
  if (batch != nullptr) {
    const auto& latest = batch->latest_[f];
    if (auto it = latest.find(key); it != latest.end()) return it->second;
    if (auto it = cache_[f].find(key); it != cache_[f].end()) return it->second;
  }
  s = db_->Get(rocksdb::ReadOptions(), handle(family), ToSlice(key), &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, path_, std::string("get from ") + FamilyName(family));
  }
  std::optional<std::string> found;
  if (s.ok()) found = std::move(value);
  if (batch != nullptr) Remember(family, std::string(key), found);
  return found;
}

Status ViewStateStore::Prefetch(Family family, std::vector<std::string> keys,
                                const StateBatch& batch) const {
  if (options_.cache_bytes == 0 || family == Family::kOutput) return Status::OK();
  const int f = static_cast<int>(family);
  const auto& latest = batch.latest_[f];
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<rocksdb::Slice> wanted;
  wanted.reserve(keys.size());
  for (const std::string& k : keys) {
    if (latest.find(k) == latest.end() && cache_[f].find(k) == cache_[f].end()) {
      wanted.push_back(ToSlice(k));
    }
  }
  if (wanted.empty()) return Status::OK();
  std::vector<rocksdb::PinnableSlice> values(wanted.size());
  std::vector<rocksdb::Status> statuses(wanted.size());
  db_->MultiGet(rocksdb::ReadOptions(), handle(family), wanted.size(), wanted.data(), values.data(),
                statuses.data(), /*sorted_input=*/true);
  for (size_t i = 0; i < wanted.size(); ++i) {
    const rocksdb::Status& s = statuses[i];
    if (!s.ok() && !s.IsNotFound()) {
      return FromRocks(s, path_, std::string("get from ") + FamilyName(family));
    }
    std::optional<std::string> found;
    if (s.ok()) found = values[i].ToString();
    Remember(family, std::string(Bytes(wanted[i])), std::move(found));
  }
  return Status::OK();
}

void ViewStateStore::Remember(Family family, std::string key,
                              std::optional<std::string> value) const {
  if (family == Family::kOutput || options_.cache_bytes == 0) return;
  const size_t cost = key.size() + (value ? value->size() : 0) + 64;
  if (cache_used_ + cost > options_.cache_bytes) {
    for (auto& c : cache_) c.clear();
    cache_used_ = 0;
  }
  cache_[static_cast<int>(family)].insert_or_assign(std::move(key), std::move(value));
  cache_used_ += cost;  // an overwrite counts again: the budget errs on the safe side
}

std::unique_ptr<StateIterator> ViewStateStore::Scan(Family family, std::string lower,
                                                    std::string upper,
                                                    const StateBatch* batch) const {
  auto impl = std::make_unique<StateIterator::Impl>();
  impl->path = path_;
  impl->lower = std::move(lower);
  impl->upper = std::move(upper);
  impl->lower_slice = ToSlice(impl->lower);
  impl->upper_slice = ToSlice(impl->upper);
  impl->read_options.iterate_lower_bound = &impl->lower_slice;
  if (!impl->upper.empty()) impl->read_options.iterate_upper_bound = &impl->upper_slice;
  impl->it.reset(db_->NewIterator(impl->read_options, handle(family)));
  if (batch != nullptr) {
    impl->latest = &batch->latest_[static_cast<int>(family)];
    impl->overlay = impl->latest->end();
  }
  return std::unique_ptr<StateIterator>(new StateIterator(std::move(impl)));
}

std::unique_ptr<StateIterator> ViewStateStore::ScanPrefix(Family family, std::string_view prefix,
                                                          const StateBatch* batch) const {
  return Scan(family, std::string(prefix), PrefixEnd(prefix), batch);
}

std::string ViewStateStore::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

Result<std::vector<OutputRecord>> ViewStateStore::ReadOutput(uint64_t from,
                                                             size_t max_records) const {
  std::vector<OutputRecord> out;
  std::unique_ptr<StateIterator> it = Scan(Family::kOutput, EncodeU64(from), "");
  for (it->SeekToFirst(); it->Valid() && out.size() < max_records; it->Next()) {
    std::optional<uint64_t> seq = DecodeU64(it->key());
    if (!seq) return DataLoss("view state " + path_ + ": output key is not a sequence");
    out.push_back(OutputRecord{*seq, std::string(it->value())});
  }
  WF_RETURN_IF_ERROR(it->status());
  return out;
}

Status ViewStateStore::Trim(uint64_t upto) {
  uint64_t last = next_sequence_.load(std::memory_order_acquire) - 1;
  upto = std::min(upto, last);
  if (upto == 0) return Status::OK();
  rocksdb::WriteOptions wo;
  wo.sync = false;
  rocksdb::Status s =
      db_->DeleteRange(wo, handle(Family::kOutput), EncodeU64(0), EncodeU64(upto + 1));
  return FromRocks(s, path_, "trim output");
}

}  // namespace walflow::state
