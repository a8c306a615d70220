#include "pg/replication_protocol.h"

#include <chrono>

#include "pg/pgoutput.h"

namespace walflow::pg {
namespace {

constexpr size_t kXLogDataHeader = 1 + 8 + 8 + 8;  // tag, start, end, send time
constexpr size_t kKeepaliveSize = 1 + 8 + 8 + 1;   // tag, end, send time, reply

uint64_t GetU64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

}  // namespace

Status ParseReplicationMessage(std::string_view data, ReplicationMessage* out) {
  if (data.empty()) return DataLoss("empty replication message");
  *out = ReplicationMessage{};
  switch (static_cast<ReplicationTag>(data[0])) {
    case ReplicationTag::kXLogData:
      if (data.size() < kXLogDataHeader) return DataLoss("short XLogData message");
      out->tag = ReplicationTag::kXLogData;
      out->wal_start = Lsn(GetU64(data, 1));
      out->wal_end = Lsn(GetU64(data, 9));
      out->send_time_us = static_cast<int64_t>(GetU64(data, 17));
      out->payload = data.substr(kXLogDataHeader);
      return Status::OK();
    case ReplicationTag::kPrimaryKeepalive:
      if (data.size() < kKeepaliveSize) return DataLoss("short primary keepalive message");
      out->tag = ReplicationTag::kPrimaryKeepalive;
      out->wal_end = Lsn(GetU64(data, 1));
      out->send_time_us = static_cast<int64_t>(GetU64(data, 9));
      out->reply_requested = data[17] != 0;
      return Status::OK();
    case ReplicationTag::kStandbyStatusUpdate: break;
  }
  return DataLoss("unexpected replication message type '" + std::string(1, data[0]) + "'");
}

std::string StandbyStatusUpdate(Lsn written, Lsn flushed, int64_t now_pg_us, bool reply_requested) {
  std::string msg(1, static_cast<char>(ReplicationTag::kStandbyStatusUpdate));
  PutU64(&msg, written.value);
  PutU64(&msg, flushed.value);
  PutU64(&msg, flushed.value);  // applied: walflow applies what it has flushed
  PutU64(&msg, static_cast<uint64_t>(now_pg_us));
  msg.push_back(reply_requested ? 1 : 0);
  return msg;
}

int64_t NowPgMicros() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return us - kPgEpochOffsetMicros;
}

}  // namespace walflow::pg
