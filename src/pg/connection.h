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

  // Connects with walflow's session settings (ISO dates, UTC, exact floats). Failures to
  // reach the server are kUnavailable, authentication and bad parameters are
  // kFailedPrecondition; the message never contains the password.
  static Result<std::unique_ptr<Connection>> Open(const std::string& dsn, Kind kind,
                                                  const std::string& application_name);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a statement (parameters as text, $1..$n). Server errors keep their SQLSTATE
  // meaning: lost connections are kUnavailable, 55006 (object in use) and 55000
  // (object not in prerequisite state) are kFailedPrecondition.
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

// Quotes an SQL identifier ("My Table") and a string literal ('it''s').
std::string QuoteIdent(std::string_view ident);
std::string QuoteLiteral(std::string_view text);

}  // namespace walflow::pg
