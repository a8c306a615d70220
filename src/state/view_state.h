// The durable state of one SQL view, in its own RocksDB database.
//
// Layout: one database per view, in `<dir>/<name>/`, with one column family per kind of
// state (DESIGN.md "Views"). One database per view keeps a view's lifecycle local: a view
// whose SQL changed is rebuilt by Destroy() + Open() without touching the others, `walflow
// peek` opens one view, and a view's input position is its own. The cost is one WAL fsync
// per view per barrier; a pipeline with many views pays it once per view.
//
// Durability: every Commit() is one rocksdb::WriteBatch written with WriteOptions.sync =
// true, holding the state changes, the input position they reflect and the output records
// they produced. After a crash (kill -9 or power loss) the database holds exactly the
// batches whose Commit() returned OK, plus possibly the one in flight, all of it or none
// of it. There is no group commit inside the store: a caller that wants fewer fsyncs puts
// several source transactions into one StateBatch (its position is the last one's) and
// acknowledges none of them before Commit() returns.
//
// Threads: one writer thread calls NewBatch(), Commit(), Trim() and uses the batches.
// Get(), Scan(), ReadOutput(), input_position() and next_output_sequence() without a batch
// may be called from any thread at the same time (readers see whole batches only). A
// StateBatch and a StateIterator belong to one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Iterator;
}  // namespace rocksdb

namespace walflow::state {

// The kinds of state, one column family each. Keys are opaque byte strings compared
// bytewise (sql::KeyEncoder's order-preserving encoding makes scans follow SQL order).
enum class Family : uint8_t {
  kInputRows = 0,  // the current rows of the view's inputs, by input key
  kGroups = 1,     // aggregate state, by group key
  kMultisets = 2,  // min/max and DISTINCT: group key + value -> count
  kMeta = 3,       // schema/SQL fingerprint, per-sink consumed positions, ... (caller's keys)
  kOutput = 4,     // the output changelog: read with ReadOutput(), written by AppendOutput()
};
inline constexpr int kFamilyCount = 5;
const char* FamilyName(Family family);

struct StoreOptions {
  // Memory for memtables of the whole database (all families). State beyond it lives in
  // SST files on disk.
  size_t memtable_bytes = 32u << 20;
  // false only for measurements: a process crash still loses nothing (the WAL is in the
  // OS page cache), a machine crash may lose the last batches, so exactly once is gone.
  bool sync_commits = true;
  // Committed values (and absences) the writer read or wrote recently, kept in memory so a
  // hot group, a row changed again or a multiset entry costs no database read. When it
  // outgrows this it is emptied and fills again.
  size_t cache_bytes = 64u << 20;
  // RocksDB's cache of the database's blocks (one per view).
  size_t block_cache_bytes = 32u << 20;
};

class ViewStateStore;

// The writes of one barrier. Reads through the store with this batch see its own
// uncommitted writes: each family's latest value per key is kept in an ordered map (a key
// written many times costs one entry, and one write at Commit()), point reads look there
// first, and scans merge it with the database.
class StateBatch {
 public:
  StateBatch(StateBatch&&) noexcept;
  StateBatch& operator=(StateBatch&&) noexcept;
  ~StateBatch();

  // Keys in kMeta starting with '\0' are reserved for the store (Commit() refuses them).
  // kOutput is written only by AppendOutput().
  void Put(Family family, std::string_view key, std::string_view value);
  void Delete(Family family, std::string_view key);
  // Appends one serialized output change; it gets the next output sequence at Commit().
  void AppendOutput(std::string_view record);
  // The input position this batch reflects. Must not go back; unset keeps the old one.
  void SetInputPosition(Lsn lsn) { position_ = lsn; }

  std::optional<Lsn> input_position() const { return position_; }
  size_t output_count() const { return outputs_.size(); }
  bool empty() const;

  using Latest = std::map<std::string, std::optional<std::string>, std::less<>>;

 private:
  friend class ViewStateStore;
  explicit StateBatch(ViewStateStore* store);

  ViewStateStore* store_;
  Latest latest_[kFamilyCount];  // nullopt: deleted
  size_t writes_ = 0;
  std::vector<std::string> outputs_;
  std::optional<Lsn> position_;
  Status error_;  // first misuse, reported by Commit()
};

// A cursor over one family within [lower, upper). Valid() is false at the end or on an
// error; check status() then.
class StateIterator {
 public:
  ~StateIterator();
  void SeekToFirst();
  void SeekToLast();
  void Seek(std::string_view key);  // first key >= key (and >= lower)
  void Next();
  void Prev();
  bool Valid() const;
  std::string_view key() const;
  std::string_view value() const;
  Status status() const;

 private:
  friend class ViewStateStore;
  struct Impl;
  explicit StateIterator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct OutputRecord {
  uint64_t sequence = 0;
  std::string record;
};

class ViewStateStore {
 public:
  // Opens (creating if missing) the state of view `name` in `<dir>/<name>`. `name` must be
  // a plain file name ("views.by_country"), not a path.
  static Result<std::unique_ptr<ViewStateStore>> Open(const std::string& dir,
                                                      const std::string& name,
                                                      const StoreOptions& options = {});
  // Removes a view's state (a view whose SQL changed, or that was dropped). Not open.
  static Status Destroy(const std::string& dir, const std::string& name);

  ~ViewStateStore();  // closes; an uncommitted batch is simply lost
  ViewStateStore(const ViewStateStore&) = delete;
  ViewStateStore& operator=(const ViewStateStore&) = delete;

  StateBatch NewBatch();
  // Writes `batch` atomically and durably, then advances input_position() and
  // next_output_sequence(). After an I/O error the store refuses further commits
  // (reopen it: the database holds the last committed batch).
  Status Commit(StateBatch batch);

  // A point read; with `batch`, its uncommitted writes win.
  Result<std::optional<std::string>> Get(Family family, std::string_view key,
                                         const StateBatch* batch = nullptr) const;
  // Reads the committed values of `keys` that neither `batch` nor the writer's cache holds
  // in one batched lookup (RocksDB MultiGet) into that cache, so the point reads of them
  // that follow cost no database read. Writer thread only.
  Status Prefetch(Family family, std::vector<std::string> keys, const StateBatch& batch) const;
  // Keys in [lower, upper); an empty `upper` means no upper bound.
  std::unique_ptr<StateIterator> Scan(Family family, std::string lower, std::string upper,
                                      const StateBatch* batch = nullptr) const;
  // Keys that start with `prefix`.
  std::unique_ptr<StateIterator> ScanPrefix(Family family, std::string_view prefix,
                                            const StateBatch* batch = nullptr) const;

  // The position of the last committed batch (Lsn() when none): resume the input after it.
  Lsn input_position() const { return Lsn(position_.load(std::memory_order_acquire)); }
  // The sequence the next output record will get; sequences start at 1, never reused.
  uint64_t next_output_sequence() const { return next_sequence_.load(std::memory_order_acquire); }
  // Up to `max_records` committed output records with sequence >= `from`, in order.
  Result<std::vector<OutputRecord>> ReadOutput(uint64_t from, size_t max_records) const;
  // Drops the output records with sequence <= `upto` (the minimum every consumer has
  // acknowledged). Not synced: a trim lost in a crash is only repeated.
  Status Trim(uint64_t upto);

  const std::string& path() const { return path_; }

  // The smallest key greater than every key that starts with `prefix` ("" if none).
  static std::string PrefixEnd(std::string_view prefix);

 private:
  friend class StateBatch;
  ViewStateStore() = default;
  rocksdb::ColumnFamilyHandle* handle(Family family) const;

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Family
  std::atomic<uint64_t> position_{0};
  std::atomic<uint64_t> next_sequence_{1};
  Status failed_;  // set after a failed write; writer thread only
  // The writer's cache (StoreOptions::cache_bytes): used by reads with a batch and filled by
  // them and by Commit(), all on the writer thread; reads without a batch do not touch it.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>()(k); }
  };
  mutable std::unordered_map<std::string, std::optional<std::string>, KeyHash, std::equal_to<>>
      cache_[kFamilyCount];
  mutable size_t cache_used_ = 0;
  void Remember(Family family, std::string key, std::optional<std::string> value) const;
};

}  // namespace walflow::state
