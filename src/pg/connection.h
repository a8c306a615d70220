// A thin owner of a libpq connection: ordinary SQL for catalog work and checks, or a
// replication connection (replication=database) for the stream.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/status.h"

struct pg_conn;
struct pg_result;

namespace walflow::pg {

// Text results of one query; NULL is std::nullopt.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;

  const std::optional<std::string>& At(size_t row, size_t col) const { return rows[row][col]; }
  std::string Text(size_t row, size_t col) const { return rows[row][col].value_or(""); }
};

// Masks the password of a libpq conninfo string or postgres:// URL, for logs and errors.
std::string MaskDsn(std::string_view dsn);

class Connection {
 public:
  enum class Kind { kSql, kReplication };

  // Connects with walflow's session settings (ISO dates, UTC, exact floats). A failure the
  // server reports is classified by its SQLSTATE (StatusCodeForSqlState: authentication,
  // unknown database or role, missing privileges are kFailedPrecondition); one it does not
  // (unreachable, timed out) is kUnavailable, except a password the server asked for and
  // the dsn lacks. The message never contains the password.
  static Result<std::unique_ptr<Connection>> Open(const std::string& dsn, Kind kind,
                                                  const std::string& application_name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a statement (parameters as text, $1..$n). Server errors keep their SQLSTATE
  // meaning (StatusCodeForSqlState); a lost connection is kUnavailable.
  Result<QueryResult> Query(const std::string& sql, const std::vector<std::string>& params = {});
  Status Exec(const std::string& sql) { return Query(sql).status(); }

  // Runs a COPY ... TO STDOUT and hands each data row (one line of COPY's text format,
  // without the newline) to `row`. A non-OK status from `row` abandons the copy.
  Status CopyOut(const std::string& sql, const std::function<Status(std::string_view)>& row);

  // Replication: START_REPLICATION SLOT ... LOGICAL; the connection is then in COPY BOTH.
  Status StartLogicalReplication(const std::string& slot, Lsn start,
                                 const std::vector<std::pair<std::string, std::string>>& options);
  // Next CopyData message of the stream, or std::nullopt when none arrived within
  // `timeout`. The view stays valid until the next call.
  Result<std::optional<std::string_view>> ReadCopyData(std::chrono::milliseconds timeout);
  // Sends a CopyData message to the server (standby status updates).
  Status WriteCopyData(std::string_view data);

  std::string server_version() const;
  int server_version_num() const;
  const std::string& database() const { return database_; }
  pg_conn* raw() { return conn_; }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Status ErrorFrom(pg_result* res, const std::string& what);
  void FreeCopyBuffer();

  pg_conn* conn_;
  char* copy_buffer_ = nullptr;
  std::string database_;
};

// What a server error means for a retry, from its SQLSTATE alone (message texts follow the
// server's lc_messages): connection exceptions (08), insufficient resources (53), shutdown
// and startup (57P01-57P03) are kUnavailable, serialization failures and deadlocks (40) are
// kAborted, everything else (authentication 28, unknown database 3D000, privileges 42501,
// object state 55, ...) is kFailedPrecondition. An empty or malformed `sqlstate` (libpq's
// own failures: refused, timed out) is kUnavailable.
StatusCode StatusCodeForSqlState(std::string_view sqlstate);

// The SQLSTATE of the last server error in a libpq error message written with
// PQERRORS_VERBOSE ("...failed: FATAL:  28P01: password authentication failed..."), or ""
// when the server sent none. libpq writes "<severity>:  <SQLSTATE>: " itself, whatever
// language the severity and the text are in.
std::string SqlStateInVerboseMessage(std::string_view message);

// Quotes an SQL identifier ("My Table") and a string literal ('it''s').
std::string QuoteIdent(std::string_view ident);
std::string QuoteLiteral(std::string_view text);

}  // namespace walflow::pg
