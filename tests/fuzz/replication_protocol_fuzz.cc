// Fuzz target for the replication stream's CopyData messages (pg::ParseReplicationMessage).
// Input: one message as the server would send it. Besides crashes it aborts when a refused
// message fails with another code than DataLoss, when an accepted one does not match its
// tag and size (the XLogData payload must be the input past the 25-byte header), and when
// a standby status update built from the parsed positions is not 34 bytes or is accepted
// as a server message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "pg/replication_protocol.h"

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "replication_protocol_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace walflow;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  pg::ReplicationMessage m;
  Status s = pg::ParseReplicationMessage(input, &m);
  if (!s.ok()) {
    Check(s.code() == StatusCode::kDataLoss, "refused with a code other than DataLoss");
    return 0;
  }
  Check(size > 0 && static_cast<char>(m.tag) == input[0], "tag differs from the first byte");
  switch (m.tag) {
    case pg::ReplicationTag::kXLogData:
      Check(size >= 25, "short XLogData accepted");
      Check(m.payload.data() == input.data() + 25 && m.payload.size() == size - 25,
            "payload is not the input past the header");
      Check(!m.reply_requested, "XLogData with a reply request");
      break;
    case pg::ReplicationTag::kPrimaryKeepalive:
      Check(size >= 18, "short keepalive accepted");
      Check(m.payload.empty() && !m.wal_start.valid(), "keepalive with XLogData fields");
      Check(m.reply_requested == (input[17] != 0), "reply flag misread");
      break;
    case pg::ReplicationTag::kStandbyStatusUpdate:
      Check(false, "a client message accepted from the server");
      break;
  }
  const std::string update =
      pg::StandbyStatusUpdate(m.wal_start, m.wal_end, m.send_time_us, m.reply_requested);
  Check(update.size() == 34, "standby status update is not 34 bytes");
  pg::ReplicationMessage back;
  Check(pg::ParseReplicationMessage(update, &back).code() == StatusCode::kDataLoss,
        "standby status update accepted as a server message");
  return 0;
}
