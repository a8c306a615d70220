// Server-side setup and checks for a pipeline: the publication, the replication slot,
// the tables, and the prerequisites `walflow check` reports on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "pg/connection.h"

namespace walflow::pg {

struct TableName {
  std::string schema;
  std::string name;
  std::string origin;  // where the user named it, e.g. "pipeline.yaml:6:13"
  std::string Qualified() const { return schema + "." + name; }
};

struct SetupSpec {
  std::string slot;
  std::string publication;
  std::vector<TableName> tables;
  bool create_slot = true;
  bool create_publication = true;
};

struct SlotInfo {
  bool exists = false;
  std::string plugin;
  std::string database;
  bool active = false;
  std::string active_pid;
  std::string wal_status;  // reserved, extended, unreserved, lost
  Lsn confirmed_flush;
};

Result<SlotInfo> DescribeSlot(Connection& conn, const std::string& slot);

// Every table must exist; a missing one is named with where the config mentions it.
Status CheckTablesExist(Connection& conn, const std::vector<TableName>& tables);

// Creates the publication FOR TABLE <tables> WITH (publish_via_partition_root) if absent,
// and adds tables it does not cover yet.
Status EnsurePublication(Connection& conn, const SetupSpec& spec);

// Makes sure the slot can be streamed from without a gap:
//  - absent: created (pgoutput) when nothing was delivered yet (`stored` is invalid);
//    with a stored position the slot was dropped behind walflow's back: an error;
//  - active for another process, invalidated (wal_status lost), another plugin or
//    database: an error;
//  - confirmed past `stored`: the server would skip changes walflow has not delivered:
//    an error.
// Returns the slot as it is now.
Result<SlotInfo> EnsureSlot(Connection& conn, const SetupSpec& spec, Lsn stored);

struct CheckLine {
  enum class Outcome { kPass, kWarn, kFail };
  Outcome outcome;
  std::string text;
};

// The prerequisites of streaming, one line each: server version, wal_level, free slots
// and WAL senders, REPLICATION privilege, tables, keys and replica identity, publication,
// slot.
std::vector<CheckLine> CheckPrerequisites(Connection& conn, const SetupSpec& spec);

}  // namespace walflow::pg
