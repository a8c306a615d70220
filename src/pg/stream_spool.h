// Holds the messages of one streamed (in-progress) transaction until the server says
// Stream Commit or Stream Abort. Messages stay in memory up to a bound, then go to a
// file, so a transaction larger than memory passes through in constant space.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

class StreamSpool {
 public:
  // `dir` must exist; the spool file is created there only once the memory bound is passed.
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

  uint64_t bytes() const { return file_bytes_ + buffer_.size(); }
  bool spilled() const { return file_ != nullptr; }

 private:
  Status Spill();
  Status AppendRecord(Lsn wal_start, std::string_view message);

  std::string path_;
  Xid top_xid_;
  size_t memory_limit_;
  std::string buffer_;  // records not yet written to the file
  FILE* file_ = nullptr;
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

}  // namespace walflow::pg
