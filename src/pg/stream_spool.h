// Holds the messages of streamed (in-progress) transactions until the server says Stream
// Commit or Stream Abort. Messages stay in memory up to a bound shared by every open
// streamed transaction, then go to a file per transaction, so transactions larger than
// memory, and many of them at once, pass through in bounded space.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

class StreamSpool {
 public:
  // `dir` must exist; the spool file is created there only once the memory bound is passed
  // (or Spill is called). No file descriptor stays open between calls.
  StreamSpool(std::string dir, Xid top_xid, size_t memory_limit);
  ~StreamSpool();
  StreamSpool(const StreamSpool&) = delete;
  StreamSpool& operator=(const StreamSpool&) = delete;

  // Appends one raw pgoutput message of (sub)transaction `xid`. Schema messages
  // (Relation, Type) survive the abort of the subtransaction they arrived in, because the
  // server will not send them again for the same top-level transaction.
  Status Append(Lsn wal_start, Xid xid, std::string_view message, bool is_schema);

  // Drops every message of subtransaction `sub_xid` and of those that started after it.
  Status AbortSubtransaction(Xid sub_xid);

  // Calls `fn` for each held message in arrival order.
  Status Replay(const std::function<Status(Lsn, std::string_view)>& fn);

  // Moves the messages held in memory to the file.
  Status Spill();

  uint64_t bytes() const { return file_bytes_ + buffer_.size(); }
  // Message bytes held in memory (not counting the copies of schema messages).
  uint64_t memory_bytes() const { return buffer_.size(); }
  bool spilled() const { return created_; }

 private:
  Status AppendRecord(Lsn wal_start, std::string_view message);

  std::string path_;
  Xid top_xid_;
  size_t memory_limit_;
  std::string buffer_;  // records not yet written to the file
  bool created_ = false;
  uint64_t file_bytes_ = 0;
  struct SubxactStart {
    Xid xid;
    uint64_t offset;
  };
  std::vector<SubxactStart> subxacts_;
  struct SchemaRecord {
    uint64_t offset;
    Lsn wal_start;
    std::string message;
  };
  std::vector<SchemaRecord> schema_records_;
};

// The spools of every open streamed transaction under one memory limit: when their
// buffers together pass it, the largest buffers go to their files first.
class StreamSpools {
 public:
  StreamSpools(std::string dir, size_t memory_limit);

  // The spool of `top_xid`, created empty if absent.
  StreamSpool& Open(Xid top_xid);
  // nullptr when no spool is open for `top_xid`.
  StreamSpool* Find(Xid top_xid);
  // Removes the spool of `top_xid` from the set (for its replay at Stream Commit); nullptr
  // if none is open.
  std::unique_ptr<StreamSpool> Take(Xid top_xid);
  // Drops the spool of `top_xid` and its file.
  void Drop(Xid top_xid);

  // StreamSpool's operations on an open spool, with the shared memory limit enforced.
  Status Append(StreamSpool& spool, Lsn wal_start, Xid xid, std::string_view message,
                bool is_schema);
  Status AbortSubtransaction(StreamSpool& spool, Xid sub_xid);

  size_t size() const { return spools_.size(); }
  // Held in memory and files / in memory only, over every open spool.
  uint64_t bytes() const { return bytes_; }
  uint64_t memory_bytes() const { return memory_; }

 private:
  // Runs `op` on `spool`, keeps the totals, and spills the largest buffers while the
  // memory total is over the limit.
  Status Update(StreamSpool& spool, const std::function<Status()>& op);
  void Forget(const StreamSpool& spool);

  std::string dir_;
  size_t memory_limit_;
  std::unordered_map<Xid, std::unique_ptr<StreamSpool>> spools_;
  uint64_t bytes_ = 0;
  uint64_t memory_ = 0;
};

}  // namespace walflow::pg
