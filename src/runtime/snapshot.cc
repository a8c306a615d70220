#include "runtime/snapshot.h"

#include <algorithm>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "core/log.h"
#include "pg/connection.h"
#include "pg/copy_text.h"
#include "storage/file_io.h"

namespace walflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr const char* kApplicationName = "walflow-snapshot";
constexpr size_t kBatchRows = 2048;
constexpr size_t kBatchBytes = 4 << 20;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Key values are stored in hex: a text key is not always valid UTF-8 (SQL_ASCII
// databases), and JSON strings must be.
json KeyToJson(const std::optional<pg::KeyValues>& key) {
  if (!key) return nullptr;
  static constexpr char kHex[] = "0123456789abcdef";
  json out = json::array();
  for (const std::string& v : *key) {
    std::string hex;
    hex.reserve(v.size() * 2);
    for (unsigned char c : v) {
      hex.push_back(kHex[c >> 4]);
      hex.push_back(kHex[c & 15]);
    }
    out.push_back(std::move(hex));
  }
  return out;
}

std::optional<pg::KeyValues> KeyFromJson(const json& j) {
  if (j.is_null()) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("bad hex digit in a key");
  };
  pg::KeyValues out;
  for (const json& v : j) {
    const std::string hex = v.get<std::string>();
    if (hex.size() % 2 != 0) throw std::runtime_error("odd-length hex key");
    std::string bytes;
    for (size_t i = 0; i < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

std::string LsnText(Lsn l) { return l.valid() ? l.ToString() : ""; }

Lsn LsnFrom(const json& j) {
  std::string text = j.get<std::string>();
  if (text.empty()) return Lsn();
  auto parsed = Lsn::Parse(text);
  if (!parsed) throw std::runtime_error("bad LSN " + text);
  return *parsed;
}

// Reads one chunk into batches of op "r" changes. `row_keys`, when given, receives the
// encoded key of each row in order; `last_key` the key of the last row. With `emit`, each
// full batch is handed to it as soon as it is full, and only the last one stays in
// `batches`.
struct ChunkRows {
  std::vector<std::shared_ptr<ChangeBatch>> batches;
  std::vector<std::string> row_keys;
  std::optional<pg::KeyValues> last_key;
  uint64_t rows = 0;
};

using EmitFn = std::function<Status(std::shared_ptr<ChangeBatch>)>;

Status ReadChunk(pg::Connection& conn, const pg::SnapshotTable& table,
                 const pg::ChunkBounds& bounds, bool keep_keys, const std::atomic<bool>* stop,
                 ChunkRows* out, const EmitFn& emit = nullptr) {
  const TableSchema& schema = *table.schema;
  const size_t ncols = schema.columns.size();
  pg::CopyTextDecoder decoder;
  auto batch = std::make_shared<ChangeBatch>();
  batch->Retain(table.schema);
  std::string key;
  int32_t last_first = -1;
  Status s = conn.CopyOut(pg::ChunkCopySql(table, bounds), [&](std::string_view line) -> Status {
    if (stop != nullptr && stop->load()) return Cancelled("snapshot stopped");
    if (batch->changes().size() >= kBatchRows || batch->byte_size() >= kBatchBytes) {
      if (emit) {
        WF_RETURN_IF_ERROR(emit(std::move(batch)));
      } else {
        out->batches.push_back(std::move(batch));
      }
      batch = std::make_shared<ChangeBatch>();
      batch->Retain(table.schema);
    }
    auto first = decoder.DecodeRow(line, ncols, batch.get());
    if (!first.ok()) return first.status();
    Change& c = batch->AddChange();
    c.op = ChangeOp::kRead;
    c.table = &schema;
    c.after = *first;
    c.seq = static_cast<uint32_t>(++out->rows);
    if (keep_keys) {
      pg::EncodeRowKey(*batch, schema, *first, &key);
      out->row_keys.push_back(key);
    }
    last_first = *first;
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (last_first >= 0 && table.has_key()) {
    out->last_key = pg::RowKeyValues(*batch, schema, last_first);
  }
  out->batches.push_back(std::move(batch));
  return Status::OK();
}

Status BeginSnapshotTransaction(pg::Connection& conn, const std::string& snapshot_name) {
  WF_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  return conn.Exec("SET TRANSACTION SNAPSHOT " + pg::QuoteLiteral(snapshot_name));
}

// Whether the table exists now: to_regclass looks at the current catalog, even inside a
// transaction that imported an older snapshot.
Result<bool> TableExists(pg::Connection& conn, const std::string& qualified) {
  auto dot = qualified.find('.');
  WF_ASSIGN_OR_RETURN(
      pg::QueryResult r,
      conn.Query("SELECT to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL",
                 {qualified.substr(0, dot), qualified.substr(dot + 1)}));
  return r.Text(0, 0) == "t";
}

// "120 of ~2000 rows (6%)", or "120 rows" when the table was never analyzed.
std::string RowsOf(uint64_t done, int64_t estimate) {
  if (estimate < 0) return fmt::format("{} rows", done);
  return fmt::format("{} of ~{} rows ({:.0f}%)", done, estimate,
                     estimate == 0 ? 100.0 : std::min(100.0, 100.0 * done / estimate));
}

// Splits "a\tb\tc" into its three fields; false for any other shape.
bool SplitFields(std::string_view text, std::string_view (&fields)[3]) {
  const size_t t1 = text.find('\t');
  const size_t t2 = t1 == std::string_view::npos ? t1 : text.find('\t', t1 + 1);
  if (t2 == std::string_view::npos) return false;
  fields[0] = text.substr(0, t1);
  fields[1] = text.substr(t1 + 1, t2 - t1 - 1);
  fields[2] = text.substr(t2 + 1);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// State file

Result<SnapshotState> SnapshotState::Load(const std::string& path) {
  SnapshotState state;
  auto text = storage::ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return state;
    return text.status();
  }
  try {
    json j = json::parse(*text);
    if (j.at("version").get<int>() != 1) throw std::runtime_error("unknown version");
    state.consistent_point = LsnFrom(j.at("consistent_point"));
    for (const json& c : j.at("chunks")) {
      SnapshotChunk chunk;
      chunk.table = c.at("table").get<std::string>();
      chunk.bounds.by_ctid = c.at("by_ctid").get<bool>();
      chunk.bounds.lo = KeyFromJson(c.at("lo"));
      chunk.bounds.hi = KeyFromJson(c.at("hi"));
      chunk.bounds.first_page = c.at("first_page").get<int64_t>();
      chunk.bounds.end_page = c.at("end_page").get<int64_t>();
      chunk.last_position = LsnFrom(c.at("last_position"));
      chunk.held_by = c.at("held_by").get<std::vector<std::string>>();
      state.chunks.push_back(std::move(chunk));
    }
    for (const json& t : j.at("jobs")) {
      state.jobs.push_back({t.at("table").get<std::string>(), KeyFromJson(t.at("after")),
                            t.at("held_by").get<std::vector<std::string>>()});
    }
  } catch (const std::exception& e) {
    return DataLoss(path + " is damaged (" + e.what() +
                    "); cannot tell which snapshot chunks were delivered");
  }
  return state;
}

Status SnapshotState::Save(const std::string& path) const {
  if (empty()) {
    Status s = storage::RemoveFile(path);
    return s.code() == StatusCode::kNotFound ? Status::OK() : s;
  }
  json j;
  j["version"] = 1;
  j["consistent_point"] = LsnText(consistent_point);
  j["chunks"] = json::array();
  for (const SnapshotChunk& c : chunks) {
    j["chunks"].push_back({{"table", c.table},
                           {"by_ctid", c.bounds.by_ctid},
                           {"lo", KeyToJson(c.bounds.lo)},
                           {"hi", KeyToJson(c.bounds.hi)},
                           {"first_page", c.bounds.first_page},
                           {"end_page", c.bounds.end_page},
                           {"last_position", LsnText(c.last_position)},
                           {"held_by", c.held_by}});
  }
  j["jobs"] = json::array();
  for (const TableJob& t : jobs) {
    j["jobs"].push_back(
        {{"table", t.table}, {"after", KeyToJson(t.after)}, {"held_by", t.held_by}});
  }
  std::string text;
  try {
    text = j.dump(1) + "\n";
  } catch (const std::exception& e) {  // a table name that is not UTF-8
    return Internal("cannot write " + path + ": " + e.what());
  }
  return storage::WriteFileAtomically(path, text);
}

// ---------------------------------------------------------------------------------------
// Exported snapshot

namespace {

struct PlannedChunk {
  size_t table = 0;
  pg::ChunkBounds bounds;
  Lsn commit;  // its position: changes carry it as commit LSN, the marker ends one later
};

struct TableProgress {
  uint64_t rows = 0;
  size_t chunks_done = 0;
  size_t chunks = 0;
  bool vanished = false;
};

// The rows of one chunk on their way from its reader to delivery, in order. The reader
// waits while `bytes` are at its share of ExportedSnapshotOptions::max_bytes_held.
struct ChunkStream {
  std::deque<std::shared_ptr<ChangeBatch>> batches;
  size_t bytes = 0;   // of `batches`
  bool done = false;  // the chunk's last batch is in `batches` (or was delivered)
  Status status;      // with done: how the read ended
  bool vanished = false;
  uint64_t rows = 0;  // with done: rows in the chunk
};

}  // namespace

Status RunExportedSnapshot(const ExportedSnapshotOptions& o, const DeliverFn& deliver,
                           SnapshotState* state) {
  const Lsn c = o.consistent_point;
  WF_ASSIGN_OR_RETURN(auto planner, pg::Connection::Open(o.dsn.Reveal(), pg::Connection::Kind::kSql,
                                                         kApplicationName));
  WF_RETURN_IF_ERROR(BeginSnapshotTransaction(*planner, o.snapshot_name));
  WF_ASSIGN_OR_RETURN(pg::QueryResult xmin,
                      planner->Query("SELECT txid_snapshot_xmin(txid_current_snapshot())"));
  const Xid snapshot_xid(static_cast<uint32_t>(std::stoull(xmin.Text(0, 0)) & 0xffffffffu));
  const int64_t snapshot_time_us = NowMicros();

  // Plan: every table split into chunks, in table order.
  pg::SqlCatalog catalog(planner.get());
  std::vector<pg::SnapshotTable> tables;
  std::vector<PlannedChunk> plan;
  for (const auto& [schema, name] : o.tables) {
    auto t = pg::DescribeSnapshotTable(*planner, &catalog, schema, name);
    if (!t.ok()) return t.status().WithContext("snapshot of table " + schema + "." + name);
    const size_t index = tables.size();
    if (t->has_key()) {
      auto bounds = pg::KeyBoundaries(*planner, *t, o.chunk_rows);
      if (!bounds.ok()) return bounds.status();
      std::optional<pg::KeyValues> lo;
      for (auto& b : *bounds) {
        plan.push_back({index, {lo, b}, Lsn()});
        lo = std::move(b);
      }
      plan.push_back({index, {lo, std::nullopt}, Lsn()});
    } else {
      const int64_t per_page = t->pages > 0 && t->estimated_rows > 0
                                   ? std::max<int64_t>(1, t->estimated_rows / t->pages)
                                   : 50;
      const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(o.chunk_rows) / per_page);
      int64_t first = 0;
      do {
        pg::ChunkBounds b;
        b.by_ctid = true;
        b.first_page = first;
        b.end_page = first + step >= t->pages ? -1 : first + step;
        plan.push_back({index, b, Lsn()});
        first += step;
      } while (first < t->pages);
    }
    tables.push_back(std::move(t).value());
  }
  const uint64_t n = plan.size();
  if (c.value <= n + 1) {
    return Internal("the slot's consistent point " + c.ToString() + " leaves no room for " +
                    std::to_string(n) + " snapshot chunks; raise snapshot_chunk_size");
  }
  // Positions just below the consistent point, in plan order; the last chunk ends at it.
  state->consistent_point = c;
  state->chunks.clear();
  std::vector<TableProgress> progress(tables.size());
  int64_t estimated_total = 0;
  for (const auto& t : tables) estimated_total += std::max<int64_t>(0, t.estimated_rows);
  for (uint64_t k = 0; k < n; ++k) {
    plan[k].commit = Lsn(c.value - (n - k));
    SnapshotChunk chunk;
    chunk.table = tables[plan[k].table].Qualified();
    chunk.bounds = plan[k].bounds;
    chunk.last_position = plan[k].commit;
    state->chunks.push_back(std::move(chunk));
    ++progress[plan[k].table].chunks;
  }
  WF_RETURN_IF_ERROR(state->Save(o.state_path));
  WF_LOG_INFO("snapshot",
              "initial snapshot at {} (snapshot {}): {} table(s), ~{} rows (planner estimate), "
              "{} chunk(s), {} worker(s)",
              c.ToString(), o.snapshot_name, tables.size(), estimated_total, n, o.parallelism);

  // Readers: each imports the snapshot and reads chunks in plan order, at most
  // `parallelism` + 1 chunks ahead of delivery (reading overlaps delivery even with one
  // reader). A chunk's batches go on to delivery as they are read; a reader whose chunk
  // holds its share of `max_bytes_held` waits, so wide rows cannot fill the memory.
  std::mutex mu;
  std::condition_variable cv;
  size_t next = 0;                        // GUARDED_BY(mu)
  size_t delivered = 0;                   // GUARDED_BY(mu)
  bool abort = false;                     // GUARDED_BY(mu)
  std::map<size_t, ChunkStream> streams;  // GUARDED_BY(mu)
  std::atomic<bool> cancel{false};
  const size_t workers = std::max(1, o.parallelism);
  // At most workers + 1 chunks are read ahead of delivery, each up to its share of bytes.
  const size_t share = std::max<size_t>(kBatchBytes, o.max_bytes_held / (workers + 1));

  auto reader = [&]() {
    auto fail_all = [&](Status s) {
      std::lock_guard<std::mutex> lock(mu);
      ChunkStream& failed = streams[next];
      failed.status = std::move(s);
      failed.done = true;
      abort = true;
      cv.notify_all();
    };
    auto conn = pg::Connection::Open(o.dsn.Reveal(), pg::Connection::Kind::kSql, kApplicationName);
    if (!conn.ok()) return fail_all(conn.status());
    Status began = BeginSnapshotTransaction(**conn, o.snapshot_name);
    if (!began.ok()) return fail_all(began);
    while (true) {
      size_t k;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return abort || next >= n || next <= delivered + workers; });
        if (abort || next >= n) return;
        k = next++;
        streams[k];
      }
      const pg::SnapshotTable& table = tables[plan[k].table];
      ChunkStream* stream = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu);
        stream = &streams[k];  // map nodes stay put until delivery erases this one
      }
      auto emit = [&](std::shared_ptr<ChangeBatch> batch) -> Status {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return cancel.load() || stream->bytes < share; });
        if (cancel.load()) return Cancelled("snapshot stopped");
        stream->bytes += batch->byte_size();
        stream->batches.push_back(std::move(batch));
        cv.notify_all();
        return Status::OK();
      };
      struct {
        Status status;
        ChunkRows rows;
        bool vanished = false;
      } r;
      r.status = ReadChunk(**conn, table, plan[k].bounds, false, &cancel, &r.rows, emit);
      if (!r.status.ok() && r.status.code() != StatusCode::kCancelled) {
        // A table dropped while the snapshot runs has nothing left to deliver; any other
        // failure stops the snapshot. The transaction is gone either way: take a new one
        // in the same snapshot (the exporting connection is still idle).
        (void)(*conn)->Exec("ROLLBACK");
        Status again = BeginSnapshotTransaction(**conn, o.snapshot_name);
        if (again.ok()) {
          auto exists = TableExists(**conn, table.Qualified());
          if (exists.ok() && !*exists) {
            r.status = Status::OK();
            r.vanished = true;
            r.rows.batches.assign(1, std::make_shared<ChangeBatch>());
          }
        } else if (r.status.ok()) {
          r.status = again;
        }
        if (!r.status.ok()) {
          r.status = r.status.WithContext("snapshot of table " + table.Qualified());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      stream->status = std::move(r.status);
      stream->vanished = r.vanished;
      stream->rows = r.rows.rows;
      if (stream->status.ok()) {
        for (auto& b : r.rows.batches) {
          stream->bytes += b->byte_size();
          stream->batches.push_back(std::move(b));
        }
      }
      stream->done = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::min<size_t>(workers, std::max<uint64_t>(n, 1)); ++i) {
    threads.emplace_back(reader);
  }
  auto stop_readers = [&]() {
    cancel.store(true);
    {
      std::lock_guard<std::mutex> lock(mu);
      abort = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    threads.clear();
  };

  // Delivery in plan order. The last batch holding rows is kept back (with any
  // marker-only batches after it) until more rows come, so the very last row can be
  // marked "last".
  std::vector<std::shared_ptr<ChangeBatch>> held;
  bool first_marked = false;
  auto release_held = [&]() -> Status {
    for (auto& b : held) WF_RETURN_IF_ERROR(deliver(std::move(b)));
    held.clear();
    return Status::OK();
  };
  const auto started = Clock::now();
  auto next_log = started + o.progress_interval;
  uint64_t rows_total = 0;
  Status result;
  for (uint64_t k = 0; k < n && result.ok(); ++k) {
    const PlannedChunk& p = plan[k];
    TableProgress& tp = progress[p.table];
    uint64_t chunk_rows = 0;
    // The chunk's batches as its reader hands them on; the marker goes on its last one.
    for (bool last = false; !last && result.ok();) {
      std::shared_ptr<ChangeBatch> batch;
      bool vanished = false;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] {
          auto it = streams.find(k);
          if (it != streams.end()) return !it->second.batches.empty() || it->second.done;
          return abort && streams.count(next) > 0;
        });
        auto it = streams.find(k);
        if (it == streams.end()) {
          // A reader failed to start: its error is filed under the next chunk.
          result = streams[next].status;
          break;
        }
        ChunkStream& st = it->second;
        if (st.batches.empty() || !st.status.ok()) {
          result = st.status.ok() ? Internal("snapshot chunk ended without rows") : st.status;
          break;
        }
        batch = std::move(st.batches.front());
        st.batches.pop_front();
        st.bytes -= batch->byte_size();
        last = st.done && st.batches.empty();
        if (last) {
          chunk_rows = st.rows;
          vanished = st.vanished;
          streams.erase(it);
        }
      }
      cv.notify_all();  // room for the reader
      if (vanished && !tp.vanished) {
        WF_LOG_WARN("snapshot",
                    "table {} was dropped during the snapshot; its remaining rows are "
                    "skipped",
                    tables[p.table].Qualified());
        tp.vanished = true;
      }
      for (Change& ch : batch->mutable_changes()) {
        ch.lsn = c;
        ch.commit_lsn = p.commit;
        ch.xid = snapshot_xid;
        ch.commit_time_us = snapshot_time_us;
        ch.snapshot = SnapshotMark::kTrue;
      }
      if (!batch->changes().empty() && !first_marked) {
        batch->mutable_changes().front().snapshot = SnapshotMark::kFirst;
        first_marked = true;
      }
      if (last) {
        TxMarker marker;
        marker.change_end = static_cast<uint32_t>(batch->changes().size());
        marker.commit_lsn = p.commit;
        marker.end_lsn = Lsn(p.commit.value + 1);
        marker.xid = snapshot_xid;
        marker.commit_time_us = snapshot_time_us;
        marker.change_count = static_cast<uint32_t>(chunk_rows);
        batch->AddMarker(marker);
      }
      if (!batch->changes().empty()) {
        result = release_held();
        if (!result.ok()) break;
      }
      held.push_back(std::move(batch));
    }
    if (!result.ok()) break;
    tp.rows += chunk_rows;
    ++tp.chunks_done;
    rows_total += chunk_rows;
    {
      std::lock_guard<std::mutex> lock(mu);
      delivered = k + 1;
    }
    cv.notify_all();
    const auto now = Clock::now();
    if ((now >= next_log && o.progress_interval.count() > 0) || k + 1 == n) {
      const double secs = std::max(1e-3, std::chrono::duration<double>(now - started).count());
      for (size_t i = 0; i < tables.size(); ++i) {
        const TableProgress& t = progress[i];
        if (t.chunks_done == 0 || (t.chunks_done == t.chunks && k + 1 != n && now < next_log)) {
          continue;
        }
        WF_LOG_INFO("snapshot", "{}: {}, chunks {}/{}", tables[i].Qualified(),
                    RowsOf(t.rows, tables[i].estimated_rows), t.chunks_done, t.chunks);
      }
      WF_LOG_INFO("snapshot", "{} rows in {:.1f} s ({:.0f} rows/s), chunks {}/{}", rows_total, secs,
                  rows_total / secs, k + 1, n);
      next_log = now + o.progress_interval;
    }
    if (o.stop != nullptr && o.stop->load() && k + 1 < n) {
      result = Cancelled("snapshot stopped after chunk " + std::to_string(k + 1) + " of " +
                         std::to_string(n));
    }
  }
  stop_readers();
  if (result.ok() && !held.empty()) {
    // The very last row of the snapshot.
    for (auto it = held.begin(); it != held.end(); ++it) {
      if (!(*it)->changes().empty()) {
        Change& last = (*it)->mutable_changes().back();
        if (last.snapshot != SnapshotMark::kFirst) last.snapshot = SnapshotMark::kLast;
        break;
      }
    }
  }
  Status released = release_held();
  if (result.ok()) result = released;
  if (result.ok()) {
    WF_LOG_INFO("snapshot", "initial snapshot read: {} rows; streaming continues at {}", rows_total,
                c.ToString());
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// Watermark method

struct IncrementalSnapshot::Window {
  uint64_t id = 0;
  std::string table;
  Oid relid;
  uint64_t chunk_serial = 0;  // the chunk of state_.chunks read again; 0: the next of a job
  pg::ChunkBounds bounds;
  bool open = false;  // the low watermark was seen
  Lsn low_commit;
  bool truncated = false;
  // Keys changed in the stream inside the window, while the chunk is being read: any key
  // of the table, up to options_.max_pending_key_bytes (`overflowed` past it: the chunk is
  // read again).
  std::unordered_set<std::string> pending_keys;
  uint64_t pending_bytes = 0;
  bool overflowed = false;
  bool rows_ready = false;
  ChunkRows rows;
  // Once rows_ready: the row of each key of the chunk (views into rows.row_keys), and
  // which rows changed in the stream; keys outside the chunk are not kept.
  std::unordered_map<std::string_view, size_t> row_of_key;
  std::vector<bool> changed_rows;

  void MarkChanged(const std::string& key, uint64_t max_pending_bytes) {
    if (rows_ready) {
      auto it = row_of_key.find(key);
      if (it != row_of_key.end()) changed_rows[it->second] = true;
      return;
    }
    if (overflowed || !pending_keys.insert(key).second) return;
    pending_bytes += key.size() + kKeyOverheadBytes;
    if (pending_bytes > max_pending_bytes) {
      overflowed = true;
      pending_keys = {};
    }
  }
  // Memory of a remembered key beyond its bytes (hash node, string, bucket).
  static constexpr uint64_t kKeyOverheadBytes = 64;
};

IncrementalSnapshot::IncrementalSnapshot(IncrementalSnapshotOptions options, SnapshotState state,
                                         const std::vector<std::pair<std::string, Lsn>>& sinks,
                                         Lsn delivered_before)
    : options_(std::move(options)), state_(std::move(state)) {
  std::random_device rd;
  nonce_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  size_t again = 0;
  std::vector<SnapshotChunk> keep;
  for (SnapshotChunk& c : state_.chunks) {
    c.serial = next_serial_++;
    if (c.last_position.valid() && c.last_position < delivered_before) {
      keep.push_back(std::move(c));  // delivered by this run's exported snapshot
      continue;
    }
    // A sink beyond the latest delivery holds the chunk; once all do, it is done.
    bool all = true;
    for (const auto& [name, durable] : sinks) {
      bool holds = std::find(c.held_by.begin(), c.held_by.end(), name) != c.held_by.end();
      if (!holds && c.last_position.valid() && durable > c.last_position) {
        c.held_by.push_back(name);
        holds = true;
        state_changed_ = true;
      }
      all = all && holds;
    }
    if (all) {
      state_changed_ = true;
      continue;
    }
    // Until it is delivered again, the sinks moving past its old position (the stream
    // goes on meanwhile) must not make it look done.
    if (c.last_position.valid()) state_changed_ = true;
    c.last_position = Lsn();
    c.needs_delivery = true;
    ++again;
    keep.push_back(std::move(c));
  }
  state_.chunks = std::move(keep);
  if (again > 0) {
    WF_LOG_INFO("snapshot",
                "finishing an interrupted snapshot: {} chunk(s) to deliver again "
                "while streaming",
                again);
  }
}

IncrementalSnapshot::~IncrementalSnapshot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status IncrementalSnapshot::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_changed_) WF_RETURN_IF_ERROR(state_.Save(options_.state_path));
    state_changed_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::OK();
}

Status IncrementalSnapshot::AddTable(const std::string& table, std::vector<std::string> held_by) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const TableJob& j : state_.jobs) {
    if (j.table == table) return Status::OK();
  }
  state_.jobs.push_back({table, std::nullopt, std::move(held_by)});
  rows_delivered_[table] = 0;
  WF_RETURN_IF_ERROR(state_.Save(options_.state_path));
  cv_.notify_all();
  return Status::OK();
}

bool IncrementalSnapshot::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.empty() && !window_;
}

Status IncrementalSnapshot::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

std::string SnapshotRequest(const std::string& slot, const std::string& table) {
  return "snapshot\t" + slot + "\t" + table;
}

Status IncrementalSnapshot::Emit(std::string_view kind, uint64_t id) {
  return conn_
      ->Query(
          "SELECT pg_logical_emit_message(true, $1, $2)",
          {kWatermarkPrefix, options_.slot + "\t" + std::string(kind) + "\t" + std::to_string(id)})
      .status();
}

void IncrementalSnapshot::Run() {
  Status s;
  while (true) {
    s = ReadOne();
    if (!s.ok()) break;
  }
  if (s.code() == StatusCode::kCancelled) return;
  std::lock_guard<std::mutex> lock(mu_);
  error_ = s;
}

Status IncrementalSnapshot::ReadOne() {
  auto window = std::make_unique<Window>();
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto has_work = [&] {
      if (!state_.jobs.empty()) return true;
      for (const auto& c : state_.chunks) {
        if (c.needs_delivery) return true;
      }
      return false;
    };
    cv_.wait(lock, [&] { return stop_ || has_work(); });
    if (stop_) return Cancelled("stopped");
    for (const SnapshotChunk& c : state_.chunks) {
      if (c.needs_delivery) {
        window->chunk_serial = c.serial;
        window->table = c.table;
        window->bounds = c.bounds;
        break;
      }
    }
    if (window->chunk_serial == 0) {
      if (state_.jobs.empty()) return Internal("snapshot reader found no work");
      window->table = state_.jobs.front().table;
      window->bounds.lo = state_.jobs.front().after;
      window->bounds.limit = options_.chunk_rows;
    }
  }
  if (!conn_) {
    WF_ASSIGN_OR_RETURN(conn_, pg::Connection::Open(options_.dsn.Reveal(),
                                                    pg::Connection::Kind::kSql, kApplicationName));
  }
  const std::string& qualified = window->table;
  const auto dot = qualified.find('.');
  pg::SqlCatalog catalog(conn_.get());
  auto table = pg::DescribeSnapshotTable(*conn_, &catalog, qualified.substr(0, dot),
                                         qualified.substr(dot + 1));
  auto drop_table_work = [&](const std::string& why) -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    WF_LOG_WARN("snapshot", "table {} {}; its snapshot is abandoned", qualified, why);
    std::erase_if(state_.chunks, [&](const SnapshotChunk& c) { return c.table == qualified; });
    std::erase_if(state_.jobs, [&](const TableJob& j) { return j.table == qualified; });
    return state_.Save(options_.state_path);
  };
  if (!table.ok()) {
    if (table.status().code() == StatusCode::kNotFound) return drop_table_work("no longer exists");
    return table.status().WithContext("snapshot of table " + qualified);
  }
  if (window->bounds.by_ctid) {
    return FailedPrecondition(
        "the initial snapshot of table " + qualified +
        " was interrupted; it has no primary key or replica identity index, so its remaining "
        "page ranges cannot be read consistently while the stream runs. Reset the pipeline "
        "(stop walflow, drop slot " +
        options_.slot + ", empty the sinks and " + options_.state_path +
        ") to start again with a fresh initial snapshot");
  }
  if (!table->has_key()) {
    // Only a job (always, a backfill, a request) gets here: give it up, keep streaming.
    std::lock_guard<std::mutex> lock(mu_);
    WF_LOG_ERROR("snapshot",
                 "table {} has no primary key or replica identity index, so it "
                 "cannot be read while the stream runs; its snapshot is skipped (add a key and "
                 "request it again with walflow snapshot)",
                 qualified);
    std::erase_if(state_.jobs, [&](const TableJob& j) { return j.table == qualified; });
    return state_.Save(options_.state_path);
  }
  window->relid = table->schema->relid;
  window->id = nonce_ + ++windows_opened_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    window_ = std::move(window);
  }
  Window* w = window_.get();  // stays alive until the stream thread has delivered it
  WF_RETURN_IF_ERROR(Emit("low", w->id));
  ChunkRows rows;
  Status read = ReadChunk(*conn_, *table, w->bounds, /*keep_keys=*/true, nullptr, &rows);
  if (!read.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      window_.reset();
    }
    auto exists = TableExists(*conn_, qualified);
    if (exists.ok() && !*exists) return drop_table_work("was dropped");
    return read.WithContext("snapshot of table " + qualified);
  }
  // The chunk's keys, to keep only changes of its own rows from now on (the vector's
  // strings stay where they are when it moves into the window).
  std::unordered_map<std::string_view, size_t> row_of_key;
  row_of_key.reserve(rows.row_keys.size());
  for (size_t i = 0; i < rows.row_keys.size(); ++i) row_of_key.emplace(rows.row_keys[i], i);
  {
    std::lock_guard<std::mutex> lock(mu_);
    w->rows = std::move(rows);
    w->row_of_key = std::move(row_of_key);
    w->changed_rows.assign(w->rows.row_keys.size(), false);
    for (const std::string& key : w->pending_keys) {
      auto it = w->row_of_key.find(key);
      if (it != w->row_of_key.end()) w->changed_rows[it->second] = true;
    }
    w->pending_keys = {};
    w->rows_ready = true;
  }
  WF_RETURN_IF_ERROR(Emit("high", w->id));
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return stop_ || window_.get() != w; });
  if (stop_) return Cancelled("stopped");
  return Status::OK();
}

void IncrementalSnapshot::Observe(const ChangeBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!window_ || !window_->open) return;
  Window& w = *window_;
  std::string key;
  for (const Change& c : batch.changes()) {
    if (c.table->relid != w.relid || c.commit_lsn <= w.low_commit) continue;
    if (c.op == ChangeOp::kTruncate) w.truncated = true;
    for (int32_t row : {c.before, c.after}) {
      if (row >= 0 && pg::EncodeRowKey(batch, *c.table, row, &key)) {
        w.MarkChanged(key, options_.max_pending_key_bytes);
      }
    }
  }
}

Status IncrementalSnapshot::OnMessage(const pg::LogicalMessage& m, Lsn commit_lsn, Xid xid,
                                      int64_t commit_time_us, const std::function<Status()>& flush,
                                      const DeliverFn& deliver) {
  std::string_view f[3];
  if (m.prefix == kSignalPrefix) {
    // "snapshot\t<slot>\t<schema.table>": SnapshotRequest(), written by `walflow snapshot`.
    if (!SplitFields(m.content, f) || f[0] != "snapshot" || f[1] != options_.slot) {
      return Status::OK();
    }
    const std::string table(f[2]);
    if (!options_.tables.count(table)) {
      WF_LOG_ERROR("snapshot",
                   "a snapshot of {} was requested, but the pipeline does not "
                   "capture that table; ignored",
                   table);
      return Status::OK();
    }
    WF_LOG_INFO("snapshot", "snapshot of {} requested (at {}); reading it while streaming", table,
                commit_lsn.ToString());
    return AddTable(table);
  }
  // "<slot>\t<low|high>\t<window id>": Emit().
  if (m.prefix != kWatermarkPrefix || !SplitFields(m.content, f) || f[0] != options_.slot) {
    return Status::OK();
  }
  const std::string_view kind = f[1];
  const std::string_view id = f[2];
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Watermarks of an earlier run (replayed after a restart) match nothing.
    if (!window_ || std::to_string(window_->id) != id) return Status::OK();
    if (kind == "low") {
      window_->open = true;
      window_->low_commit = commit_lsn;
      return Status::OK();
    }
    if (kind != "high" || !window_->open) return Status::OK();
    if (!window_->rows_ready) return Internal("high watermark before the chunk was read");
    if (window_->overflowed) {
      // Too many keys changed while the chunk was read to remember them: read it again.
      WF_LOG_WARN("snapshot",
                  "{}: more than {} bytes of keys changed while a chunk was read; reading "
                  "it again",
                  window_->table, options_.max_pending_key_bytes);
      window_.reset();
      cv_.notify_all();
      return Status::OK();
    }
  }
  // Everything before the high watermark is observed before the chunk is reconciled.
  WF_RETURN_IF_ERROR(flush());

  std::vector<std::shared_ptr<ChangeBatch>> out;
  std::vector<std::string> held_by;
  std::string table;
  uint64_t kept = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Window& w = *window_;
    table = w.table;
    size_t row = 0;
    uint32_t seq = 0;
    for (auto& batch : w.rows.batches) {
      auto& changes = batch->mutable_changes();
      size_t keep = 0;
      for (size_t i = 0; i < changes.size(); ++i, ++row) {
        if (w.truncated || w.changed_rows[row]) continue;
        Change c = changes[i];
        c.lsn = m.lsn;
        c.commit_lsn = commit_lsn;
        c.xid = xid;
        c.commit_time_us = commit_time_us;
        c.seq = ++seq;
        c.snapshot = SnapshotMark::kIncremental;
        changes[keep++] = c;
      }
      changes.resize(keep);
      kept += keep;
      if (keep > 0) out.push_back(std::move(batch));
    }
    // Record the delivery before any sink can see it.
    auto redelivered =
        std::find_if(state_.chunks.begin(), state_.chunks.end(),
                     [&](const SnapshotChunk& c) { return c.serial == w.chunk_serial; });
    if (w.chunk_serial != 0) {
      if (redelivered != state_.chunks.end()) {
        SnapshotChunk& c = *redelivered;
        c.last_position = commit_lsn;
        c.needs_delivery = false;
        held_by = c.held_by;
      }
    } else {
      auto job = std::find_if(state_.jobs.begin(), state_.jobs.end(),
                              [&](const TableJob& j) { return j.table == w.table; });
      if (job != state_.jobs.end()) held_by = job->held_by;
      if (w.rows.rows > 0) {
        SnapshotChunk c;
        c.table = w.table;
        c.bounds.lo = w.bounds.lo;
        c.bounds.hi = w.rows.last_key;
        c.last_position = commit_lsn;
        c.held_by = held_by;
        c.serial = next_serial_++;
        state_.chunks.push_back(std::move(c));
      }
      if (job != state_.jobs.end()) {
        if (w.rows.rows < w.bounds.limit) {
          WF_LOG_INFO("snapshot", "{}: snapshot read ({} rows)", w.table,
                      rows_delivered_[w.table] + kept);
          state_.jobs.erase(job);
        } else {
          job->after = w.rows.last_key;
        }
      }
    }
    rows_delivered_[w.table] += kept;
    ++chunks_delivered_;
    WF_RETURN_IF_ERROR(state_.Save(options_.state_path));
    window_.reset();
  }
  cv_.notify_all();
  for (auto& batch : out) {
    if (!held_by.empty()) batch->set_held_by(held_by);
    WF_RETURN_IF_ERROR(deliver(std::move(batch)));
  }
  return Status::OK();
}

Status IncrementalSnapshot::Prune(Lsn floor) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t removed = std::erase_if(state_.chunks, [&](const SnapshotChunk& c) {
    const bool in_flight = window_ && window_->chunk_serial == c.serial;
    return !in_flight && !c.needs_delivery && c.last_position.valid() && floor > c.last_position;
  });
  if (removed == 0) return Status::OK();
  return state_.Save(options_.state_path);
}

void IncrementalSnapshot::LogProgress() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_.empty()) return;
  size_t pending = 0;
  for (const auto& c : state_.chunks) pending += c.needs_delivery;
  std::string tables;
  for (const TableJob& j : state_.jobs) {
    tables += fmt::format("{}{} ({} rows so far)", tables.empty() ? "" : ", ", j.table,
                          rows_delivered_[j.table]);
  }
  WF_LOG_INFO("snapshot",
              "snapshot while streaming: {} chunk(s) delivered, {} to deliver again{}{}",
              chunks_delivered_, pending, tables.empty() ? "" : ", reading ", tables);
}

}  // namespace walflow::runtime
