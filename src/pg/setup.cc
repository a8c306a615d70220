#include "pg/setup.h"

#include <set>

#include "core/log.h"

namespace walflow::pg {
namespace {

// A replication client silent for longer than this is taken for gone (walflow itself
// answers every status_interval).
constexpr double kStaleClientSeconds = 15.0;

std::string QualifiedIdent(const TableName& t) {
  return QuoteIdent(t.schema) + "." + QuoteIdent(t.name);
}

Result<std::set<std::string>> PublishedTables(Connection& conn, const std::string& pub) {
  WF_ASSIGN_OR_RETURN(QueryResult r,
                      conn.Query("SELECT schemaname, tablename FROM pg_publication_tables "
                                 "WHERE pubname = $1",
                                 {pub}));
  std::set<std::string> out;
  for (size_t i = 0; i < r.rows.size(); ++i) out.insert(r.Text(i, 0) + "." + r.Text(i, 1));
  return out;
}

Result<bool> PublicationExists(Connection& conn, const std::string& pub) {
  WF_ASSIGN_OR_RETURN(QueryResult r,
                      conn.Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {pub}));
  return !r.rows.empty();
}

// The table's relkind and ancestors: a partition is published through its root.
Result<QueryResult> TableFacts(Connection& conn, const TableName& t) {
  return conn.Query(
      "SELECT c.relkind, c.relreplident, "
      "  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
      "  has_table_privilege(c.oid, 'SELECT') "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2",
      {t.schema, t.name});
}

}  // namespace

Result<SlotInfo> DescribeSlot(Connection& conn, const std::string& slot) {
  WF_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query("SELECT plugin, database, active, active_pid, wal_status, confirmed_flush_lsn "
                 "FROM pg_replication_slots WHERE slot_name = $1",
                 {slot}));
  SlotInfo info;
  if (r.rows.empty()) return info;
  info.exists = true;
  info.plugin = r.Text(0, 0);
  info.database = r.Text(0, 1);
  info.active = r.Text(0, 2) == "t";
  info.active_pid = r.Text(0, 3);
  info.wal_status = r.Text(0, 4);
  if (auto lsn = Lsn::Parse(r.Text(0, 5))) info.confirmed_flush = *lsn;
  return info;
}

Status CheckTablesExist(Connection& conn, const std::vector<TableName>& tables) {
  for (const TableName& t : tables) {
    WF_ASSIGN_OR_RETURN(QueryResult r, TableFacts(conn, t));
    if (r.rows.empty()) {
      return FailedPrecondition("table " + t.Qualified() + " (" + t.origin +
                                ") does not exist in database " + conn.database());
    }
    char kind = r.Text(0, 0).empty() ? '?' : r.Text(0, 0)[0];
    if (kind != 'r' && kind != 'p') {
      return FailedPrecondition(t.Qualified() + " (" + t.origin + ") is not a table (relkind '" +
                                std::string(1, kind) + "')");
    }
  }
  return Status::OK();
}

Status EnsurePublication(Connection& conn, const SetupSpec& spec) {
  WF_ASSIGN_OR_RETURN(bool exists, PublicationExists(conn, spec.publication));
  if (!exists) {
    if (!spec.create_publication) {
      return FailedPrecondition("publication " + spec.publication +
                                " does not exist and create_publication is false");
    }
    std::string sql = "CREATE PUBLICATION " + QuoteIdent(spec.publication) + " FOR TABLE ";
    for (size_t i = 0; i < spec.tables.size(); ++i) {
      if (i) sql += ", ";
      sql += QualifiedIdent(spec.tables[i]);
    }
    sql += " WITH (publish_via_partition_root = true)";
    Status s = conn.Exec(sql);
    if (!s.ok()) {
      return Status(s.code(), "cannot create publication " + spec.publication + " (" + s.message() +
                                  "). Have a superuser or the tables' owner run: " + sql);
    }
    WF_LOG_INFO("pg", "created publication {} for {} table(s)", spec.publication,
                spec.tables.size());
    return Status::OK();
  }
  WF_ASSIGN_OR_RETURN(std::set<std::string> published, PublishedTables(conn, spec.publication));
  for (const TableName& t : spec.tables) {
    if (published.count(t.Qualified())) continue;
    if (!spec.create_publication) {
      return FailedPrecondition("publication " + spec.publication + " does not cover table " +
                                t.Qualified() + "; run ALTER PUBLICATION " + spec.publication +
                                " ADD TABLE " + t.Qualified());
    }
    Status s = conn.Exec("ALTER PUBLICATION " + QuoteIdent(spec.publication) + " ADD TABLE " +
                         QualifiedIdent(t));
    if (!s.ok())
      return s.WithContext("adding " + t.Qualified() + " to publication " + spec.publication);
    WF_LOG_INFO("pg", "added {} to publication {}", t.Qualified(), spec.publication);
  }
  return Status::OK();
}

Result<SlotInfo> EnsureSlot(Connection& conn, const SetupSpec& spec, Lsn stored) {
  WF_ASSIGN_OR_RETURN(SlotInfo slot, DescribeSlot(conn, spec.slot));
  if (!slot.exists) {
    if (stored.valid()) {
      return FailedPrecondition(
          "replication slot " + spec.slot + " does not exist, but the sinks hold changes up to " +
          stored.ToString() +
          ". It was dropped (or never on this server); changes made since "
          "then cannot be streamed. Reset the pipeline: stop walflow, empty the sink directories "
          "and start again (a new slot is created)");
    }
    if (!spec.create_slot) {
      return FailedPrecondition("replication slot " + spec.slot +
                                " does not exist and create_slot is false");
    }
    WF_ASSIGN_OR_RETURN(QueryResult r,
                        conn.Query("SELECT lsn FROM pg_create_logical_replication_slot($1, "
                                   "'pgoutput')",
                                   {spec.slot}));
    WF_LOG_INFO("pg", "created replication slot {} at {}", spec.slot, r.Text(0, 0));
    return DescribeSlot(conn, spec.slot);
  }
  if (slot.plugin != "pgoutput") {
    return FailedPrecondition("replication slot " + spec.slot + " uses plugin " + slot.plugin +
                              "; walflow needs a pgoutput slot. Use another slot name");
  }
  if (slot.database != conn.database()) {
    return FailedPrecondition("replication slot " + spec.slot + " belongs to database " +
                              slot.database + ", not " + conn.database());
  }
  if (slot.wal_status == "lost") {
    return FailedPrecondition(
        "replication slot " + spec.slot +
        " was invalidated by the server (wal_status = lost): "
        "the WAL it needed was removed (max_slot_wal_keep_size). Changes are missing; reset the "
        "pipeline: drop the slot, empty the sink directories and start again");
  }
  if (slot.active) {
    // A client that stopped answering (it died, or lost the network) keeps the slot until
    // the server's wal_sender_timeout: worth waiting for. A live one is a real conflict.
    auto age = conn.Query(
        "SELECT extract(epoch FROM now() - reply_time)::float8 FROM pg_stat_replication "
        "WHERE pid = $1",
        {slot.active_pid});
    if (age.ok() && !age->rows.empty() && age->At(0, 0) &&
        std::stod(*age->At(0, 0)) > kStaleClientSeconds) {
      return Unavailable("replication slot " + spec.slot + " is still held by pid " +
                         slot.active_pid + ", whose client has not answered for " +
                         std::to_string(static_cast<int>(std::stod(*age->At(0, 0)))) +
                         " s; waiting for the server to release it (wal_sender_timeout)");
    }
    return FailedPrecondition("replication slot " + spec.slot +
                              " is in use by another process (pid " + slot.active_pid +
                              "); stop it or use another slot");
  }
  if (stored.valid() && slot.confirmed_flush > stored) {
    return FailedPrecondition(
        "replication slot " + spec.slot + " is confirmed up to " + slot.confirmed_flush.ToString() +
        " but the sinks hold changes only up to " + stored.ToString() +
        "; the changes in between would be lost. Was the slot recreated or advanced by hand?");
  }
  return slot;
}

std::vector<CheckLine> CheckPrerequisites(Connection& conn, const SetupSpec& spec) {
  std::vector<CheckLine> out;
  auto pass = [&](std::string t) { out.push_back({CheckLine::Outcome::kPass, std::move(t)}); };
  auto warn = [&](std::string t) { out.push_back({CheckLine::Outcome::kWarn, std::move(t)}); };
  auto fail = [&](std::string t) { out.push_back({CheckLine::Outcome::kFail, std::move(t)}); };
  auto scalar = [&](const std::string& sql) -> std::string {
    auto r = conn.Query(sql);
    if (!r.ok() || r->rows.empty()) return "";
    return r->Text(0, 0);
  };

  int version = conn.server_version_num();
  if (version >= 140000) {
    pass("server version " + conn.server_version() +
         " (14 or later: streaming of large transactions)");
  } else if (version >= 100000) {
    fail("server version " + conn.server_version() + ": walflow needs PostgreSQL 14 or later");
  } else {
    fail("server version " + conn.server_version() + " is too old for logical replication");
  }

  std::string wal_level = scalar("SHOW wal_level");
  if (wal_level == "logical") {
    pass("wal_level = logical");
  } else {
    fail("wal_level = " + wal_level +
         ": set wal_level = logical in postgresql.conf and restart the server");
  }

  std::string encoding = scalar("SHOW server_encoding");
  if (encoding == "UTF8")
    pass("server_encoding = UTF8");
  else
    warn("server_encoding = " + encoding +
         ": text is passed through as the server sends it; UTF8 is expected");

  auto slots = conn.Query(
      "SELECT current_setting('max_replication_slots')::int, "
      "(SELECT count(*) FROM pg_replication_slots), "
      "(SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)",
      {spec.slot});
  if (slots.ok() && !slots->rows.empty()) {
    int max = std::stoi(slots->Text(0, 0)), used = std::stoi(slots->Text(0, 1));
    bool ours = slots->Text(0, 2) != "0";
    if (ours || used < max) {
      pass("replication slots: " + std::to_string(used) + " of " + std::to_string(max) + " used" +
           (ours ? " (including " + spec.slot + ")" : ""));
    } else {
      fail("replication slots: all " + std::to_string(max) +
           " in use; raise max_replication_slots or drop an unused slot");
    }
  } else {
    fail("cannot read replication slots: " + slots.status().message());
  }

  auto senders = conn.Query(
      "SELECT current_setting('max_wal_senders')::int, "
      "(SELECT count(*) FROM pg_stat_replication)");
  if (senders.ok() && !senders->rows.empty()) {
    int max = std::stoi(senders->Text(0, 0)), used = std::stoi(senders->Text(0, 1));
    if (used < max) {
      pass("WAL senders: " + std::to_string(used) + " of " + std::to_string(max) + " used");
    } else {
      fail("WAL senders: all " + std::to_string(max) + " in use; raise max_wal_senders");
    }
  }

  std::string priv = scalar(
      "SELECT CASE WHEN rolsuper THEN 'superuser' WHEN rolreplication THEN 'replication' "
      "ELSE 'none' END FROM pg_roles WHERE rolname = current_user");
  if (priv == "superuser" || priv == "replication") {
    pass("role " + scalar("SELECT current_user") + " has the REPLICATION privilege" +
         (priv == "superuser" ? " (superuser)" : ""));
  } else {
    fail("role " + scalar("SELECT current_user") +
         " lacks the REPLICATION privilege: ALTER ROLE ... WITH REPLICATION");
  }

  for (const TableName& t : spec.tables) {
    auto facts = TableFacts(conn, t);
    if (!facts.ok()) {
      fail("table " + t.Qualified() + ": " + facts.status().message());
      continue;
    }
    if (facts->rows.empty()) {
      fail("table " + t.Qualified() + " (" + t.origin + ") does not exist");
      continue;
    }
    char kind = facts->Text(0, 0)[0];
    char ident = facts->Text(0, 1)[0];
    bool has_pk = facts->Text(0, 2) == "t";
    bool can_select = facts->Text(0, 3) == "t";
    if (kind != 'r' && kind != 'p') {
      fail(t.Qualified() + " is not a table");
      continue;
    }
    std::string detail = has_pk ? "primary key" : "no primary key";
    if (ident == 'f')
      detail += ", replica identity full";
    else if (ident == 'i')
      detail += ", replica identity index";
    else if (ident == 'n')
      detail += ", replica identity nothing";
    if (ident == 'n' || (!has_pk && ident == 'd')) {
      fail("table " + t.Qualified() + ": " + detail +
           "; UPDATE and DELETE will fail on the server. Add a primary key or "
           "ALTER TABLE ... REPLICA IDENTITY FULL");
    } else if (!can_select) {
      fail("table " + t.Qualified() + ": no SELECT privilege for the current role");
    } else {
      pass("table " + t.Qualified() + ": " + detail);
    }
  }

  auto exists = PublicationExists(conn, spec.publication);
  if (!exists.ok()) {
    fail("publication " + spec.publication + ": " + exists.status().message());
  } else if (!*exists) {
    if (spec.create_publication) {
      pass("publication " + spec.publication + " does not exist yet; walflow will create it");
    } else {
      fail("publication " + spec.publication + " does not exist and create_publication is false");
    }
  } else {
    auto published = PublishedTables(conn, spec.publication);
    std::string missing;
    if (published.ok()) {
      for (const TableName& t : spec.tables) {
        if (!published->count(t.Qualified()))
          missing += (missing.empty() ? "" : ", ") + t.Qualified();
      }
    }
    if (missing.empty()) {
      pass("publication " + spec.publication + " covers every table");
    } else if (spec.create_publication) {
      warn("publication " + spec.publication + " does not cover " + missing +
           "; walflow will add them");
    } else {
      fail("publication " + spec.publication + " does not cover " + missing);
    }
  }

  auto slot = DescribeSlot(conn, spec.slot);
  if (!slot.ok()) {
    fail("slot " + spec.slot + ": " + slot.status().message());
  } else if (!slot->exists) {
    pass("replication slot " + spec.slot + " does not exist yet; walflow will create it");
  } else if (slot->plugin != "pgoutput") {
    fail("replication slot " + spec.slot + " uses plugin " + slot->plugin + ", not pgoutput");
  } else if (slot->wal_status == "lost") {
    fail("replication slot " + spec.slot + " was invalidated by the server (wal_status = lost)");
  } else if (slot->active) {
    warn("replication slot " + spec.slot + " is in use by pid " + slot->active_pid);
  } else {
    pass("replication slot " + spec.slot + " exists, confirmed up to " +
         slot->confirmed_flush.ToString() + " (wal_status " + slot->wal_status + ")");
  }
  return out;
}

}  // namespace walflow::pg
