// The messages of a physical/logical replication stream's CopyBoth phase (PostgreSQL docs,
// "Streaming Replication Protocol"): what the server sends inside CopyData, and the
// standby status update walflow sends back. The payload of XLogData is pgoutput's, read
// by pg/pgoutput.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "core/status.h"

namespace walflow::pg {

// The first byte of each CopyData message of the stream.
enum class ReplicationTag : char {
  kXLogData = 'w',             // server: WAL data
  kPrimaryKeepalive = 'k',     // server: keepalive, may ask for a reply
  kStandbyStatusUpdate = 'r',  // client: positions written, flushed, applied
};

struct ReplicationMessage {
  ReplicationTag tag = ReplicationTag::kXLogData;
  Lsn wal_start;                 // kXLogData: where the payload starts
  Lsn wal_end;                   // the server's current end of WAL
  int64_t send_time_us = 0;      // server clock, µs since 2000-01-01
  bool reply_requested = false;  // kPrimaryKeepalive
  std::string_view payload;      // kXLogData: one pgoutput message (points into the input)
};

// Parses one CopyData message from the server; DataLoss for an unknown tag or a short
// message.
Status ParseReplicationMessage(std::string_view data, ReplicationMessage* out);

// A standby status update: `flushed` is what the server may treat as durable on our side
// (the slot's confirmed_flush_lsn follows it).
std::string StandbyStatusUpdate(Lsn written, Lsn flushed, int64_t now_pg_us, bool reply_requested);

// Now in PostgreSQL's epoch (µs since 2000-01-01), for status updates.
int64_t NowPgMicros();

}  // namespace walflow::pg
