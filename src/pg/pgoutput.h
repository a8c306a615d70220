// Push-style decoder of pgoutput, PostgreSQL's logical replication output plugin
// (protocol "Logical Replication Message Formats"). The socket reader, a replay of a
// captured stream, the spool of a streamed transaction and a fuzzer all feed bytes to
// the same PgOutputDecoder, which calls a PgOutputListener for each message.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

// Wire tags of pgoutput messages (src/include/replication/logicalproto.h).
enum class MessageTag : char {
  kBegin = 'B',
  kMessage = 'M',
  kCommit = 'C',
  kOrigin = 'O',
  kRelation = 'R',
  kType = 'Y',
  kInsert = 'I',
  kUpdate = 'U',
  kDelete = 'D',
  kTruncate = 'T',
  kStreamStart = 'S',   // protocol 2, PostgreSQL 14
  kStreamStop = 'E',    // protocol 2
  kStreamCommit = 'c',  // protocol 2
  kStreamAbort = 'A',   // protocol 2
  kBeginPrepare = 'b',  // protocol 3, PostgreSQL 15 (two_phase; walflow never asks for it)
  kPrepare = 'P',
  kCommitPrepared = 'K',
  kRollbackPrepared = 'r',
  kStreamPrepare = 'p',
};

// Protocol versions walflow can ask for.
constexpr int kProtoVersionBase = 1;       // PostgreSQL 10
constexpr int kProtoVersionStreaming = 2;  // PostgreSQL 14: streaming of in-progress transactions

// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
constexpr int64_t kPgEpochOffsetMicros = 946684800LL * 1000000LL;

struct TupleColumn {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string_view data;
};

// A decoded tuple; views into the message bytes, valid for the listener call only.
using TupleView = std::vector<TupleColumn>;

// Common header of every message: where it sits in the WAL, its raw bytes, and the
// (sub)transaction id that protocol 2 adds to messages inside a streamed block.
struct MessageHeader {
  Lsn wal_start;
  std::string_view raw;
  std::optional<Xid> xid;
};

struct BeginMessage : MessageHeader {
  Lsn final_lsn;
  int64_t commit_time_us = 0;  // Unix epoch
  Xid top_xid;
};

struct CommitMessage : MessageHeader {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us = 0;
};

struct OriginMessage : MessageHeader {
  Lsn origin_lsn;
  std::string_view name;
};

struct RelationColumn {
  bool key = false;
  std::string_view name;
  Oid type_oid;
  int32_t typmod = -1;
};

struct RelationMessage : MessageHeader {
  Oid relid;
  std::string_view nspname;
  std::string_view relname;
  char replica_identity = 'd';
  std::vector<RelationColumn> columns;
};

struct TypeMessage : MessageHeader {
  Oid type_oid;
  std::string_view nspname;
  std::string_view name;
};

struct InsertMessage : MessageHeader {
  Oid relid;
  const TupleView* new_tuple = nullptr;
};

struct UpdateMessage : MessageHeader {
  Oid relid;
  char old_kind = 0;  // 0 (no old tuple), 'K' (replica identity key) or 'O' (whole old row)
  const TupleView* old_tuple = nullptr;
  const TupleView* new_tuple = nullptr;
};

struct DeleteMessage : MessageHeader {
  Oid relid;
  char old_kind = 'K';
  const TupleView* old_tuple = nullptr;
};

struct TruncateMessage : MessageHeader {
  uint8_t options = 0;  // 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<Oid> relids;
};

struct LogicalMessage : MessageHeader {
  bool transactional = false;
  Lsn lsn;
  std::string_view prefix;
  std::string_view content;
};

struct StreamStartMessage : MessageHeader {
  Xid top_xid;
  bool first_segment = false;
};

struct StreamCommitMessage : MessageHeader {
  Xid top_xid;
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time_us = 0;
};

struct StreamAbortMessage : MessageHeader {
  Xid top_xid;
  Xid sub_xid;
};

class PgOutputListener {
 public:
  virtual ~PgOutputListener() = default;
  virtual Status OnBegin(const BeginMessage& m) = 0;
  virtual Status OnCommit(const CommitMessage& m) = 0;
  virtual Status OnOrigin(const OriginMessage&) { return Status::OK(); }
  virtual Status OnRelation(const RelationMessage& m) = 0;
  virtual Status OnType(const TypeMessage&) { return Status::OK(); }
  virtual Status OnInsert(const InsertMessage& m) = 0;
  virtual Status OnUpdate(const UpdateMessage& m) = 0;
  virtual Status OnDelete(const DeleteMessage& m) = 0;
  virtual Status OnTruncate(const TruncateMessage& m) = 0;
  virtual Status OnMessage(const LogicalMessage&) { return Status::OK(); }
  virtual Status OnStreamStart(const StreamStartMessage& m) = 0;
  virtual Status OnStreamStop(const MessageHeader& m) = 0;
  virtual Status OnStreamCommit(const StreamCommitMessage& m) = 0;
  virtual Status OnStreamAbort(const StreamAbortMessage& m) = 0;
};

class PgOutputDecoder {
 public:
  explicit PgOutputDecoder(PgOutputListener* listener) : listener_(listener) {}

  // Decodes one pgoutput message (the payload of one XLogData) and calls the listener.
  // Unknown tags, truncated or oversized fields are rejected with kDataLoss.
  Status Consume(Lsn wal_start, std::string_view message);

  // Decodes a message that was read inside a Stream Start/Stop block earlier, so it
  // carries a transaction id, regardless of the decoder's current state.
  Status ConsumeStreamed(Lsn wal_start, std::string_view message);

  bool in_stream() const { return in_stream_; }
  void Reset() { in_stream_ = false; }

 private:
  Status Decode(Lsn wal_start, std::string_view message, bool with_xid);

  PgOutputListener* listener_;
  bool in_stream_ = false;
  // Reused between messages so that decoding a row allocates nothing.
  TupleView old_tuple_;
  TupleView new_tuple_;
  std::vector<RelationColumn> columns_;
};

}  // namespace walflow::pg
