#include "pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace walflow::pg {
namespace {

// Session settings that fix the text forms walflow parses (see pg/text_codec.h).
constexpr const char* kSessionOptions =
    "-c DateStyle=ISO,YMD -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3 "
    "-c client_encoding=UTF8 -c standard_conforming_strings=on";

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Masks in place, keeping the user's spelling of the rest: the URL's user:password@, every
// query parameter whose name ends in "password", and every key=value pair whose key ends
// in "password".
std::string MaskInPlace(std::string out) {
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    auto slash = out.find('/', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at &&
        (slash == std::string::npos || at < slash)) {
      out.replace(colon + 1, at - colon - 1, "****");
    }
    auto query = out.find('?');
    while (query != std::string::npos && query < out.size()) {
      size_t start = query + 1;
      size_t eq = out.find('=', start);
      size_t amp = out.find('&', start);
      if (eq == std::string::npos) break;
      if (amp != std::string::npos && amp < eq) {
        query = amp;
        continue;
      }
      std::string name = out.substr(start, eq - start);
      size_t value_end = amp == std::string::npos ? out.size() : amp;
      if (name.size() >= 8 && name.compare(name.size() - 8, 8, "password") == 0) {
        out.replace(eq + 1, value_end - eq - 1, "****");
        value_end = eq + 5;
      }
      query = value_end < out.size() ? value_end : std::string::npos;
    }
    return out;
  }
  size_t i = 0;
  while (i < out.size()) {
    while (i < out.size() && IsSpace(out[i])) ++i;
    size_t key_start = i;
    while (i < out.size() && out[i] != '=' && !IsSpace(out[i])) ++i;
    std::string key = out.substr(key_start, i - key_start);
    while (i < out.size() && IsSpace(out[i])) ++i;
    if (i >= out.size() || out[i] != '=') break;
    ++i;
    while (i < out.size() && IsSpace(out[i])) ++i;
    size_t value_start = i;
    if (i < out.size() && out[i] == '\'') {
      ++i;
      while (i < out.size() && out[i] != '\'') i += (out[i] == '\\') ? 2 : 1;
      i = std::min(out.size(), i + 1);
    } else {
      while (i < out.size() && !IsSpace(out[i])) i += (out[i] == '\\') ? 2 : 1;
      i = std::min(out.size(), i);
    }
    if (key.size() >= 8 && key.compare(key.size() - 8, 8, "password") == 0) {
      out.replace(value_start, i - value_start, "****");
      i = value_start + 4;
    }
  }
  return out;
}

}  // namespace

std::string MaskDsn(std::string_view dsn) {
  std::string masked = MaskInPlace(std::string(dsn));
  // Safety net: if any secret libpq would read survived the masking, show libpq's own
  // parse with the secrets replaced instead.
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(std::string(dsn).c_str(), &err);
  if (err) PQfreemem(err);
  if (parsed == nullptr) return masked;
  bool leaked = false;
  std::string rebuilt;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    bool secret = std::strstr(o->keyword, "password") != nullptr ||
                  (o->dispchar != nullptr && o->dispchar[0] == '*');
    if (secret && masked.find(o->val) != std::string::npos) leaked = true;
    if (!rebuilt.empty()) rebuilt.push_back(' ');
    rebuilt += std::string(o->keyword) + "=" + (secret ? std::string("****") : std::string(o->val));
  }
  PQconninfoFree(parsed);
  return leaked ? rebuilt : masked;
}

namespace {

// Wraps `text` in `quote`, doubling any quote inside: SQL's rule for identifiers and
// (with standard_conforming_strings, which walflow sets) string literals.
std::string Quoted(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out.push_back(quote);
    out.push_back(c);
  }
  out.push_back(quote);
  return out;
}

}  // namespace

std::string QuoteIdent(std::string_view ident) { return Quoted(ident, '"'); }

std::string QuoteLiteral(std::string_view text) { return Quoted(text, '\''); }

StatusCode StatusCodeForSqlState(std::string_view state) {
  auto valid = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); };
  if (state.size() != 5 || !std::all_of(state.begin(), state.end(), valid)) {
    return StatusCode::kUnavailable;
  }
  const std::string_view cls = state.substr(0, 2);
  // Connection exceptions; out of memory, disk or connection slots.
  if (cls == "08" || cls == "53") return StatusCode::kUnavailable;
  // Shutting down, crashed, starting up, idle session timeout; not 57P04 (database dropped)
  // nor 57014 (statement cancelled by the operator or a timeout walflow set).
  if (state == "57P01" || state == "57P02" || state == "57P03" || state == "57P05") {
    return StatusCode::kUnavailable;
  }
  if (cls == "40") return StatusCode::kAborted;  // serialization failure, deadlock
  return StatusCode::kFailedPrecondition;
}

std::string SqlStateInVerboseMessage(std::string_view message) {
  auto code_char = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); };
  std::string last;
  size_t line_start = 0;
  while (line_start < message.size()) {
    size_t line_end = message.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = message.size();
    const std::string_view line = message.substr(line_start, line_end - line_start);
    // The first "<severity>:  XXXXX: " of the line; libpq writes one error per line.
    for (size_t p = line.find(":  "); p != std::string_view::npos; p = line.find(":  ", p + 1)) {
      const std::string_view rest = line.substr(p + 3);
      if (rest.size() >= 7 && std::all_of(rest.begin(), rest.begin() + 5, code_char) &&
          rest[5] == ':' && rest[6] == ' ') {
        last = std::string(rest.substr(0, 5));
        break;
      }
    }
    line_start = line_end + 1;
  }
  return last;
}

namespace {

// libpq's verbose error text without its LOCATION lines (source file and line of the
// server), which mean nothing to an operator.
std::string WithoutLocation(const std::string& message) {
  std::string out;
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    std::string_view line(message.data() + start, end - start);
    if (line.rfind("LOCATION:", 0) != 0) {
      if (!out.empty()) out.push_back('\n');
      out.append(line);
    }
    start = end + 1;
  }
  return out;
}

// Runs libpq's connection steps with verbose errors, so that a failure the server reports
// carries its SQLSTATE into the message (libpq has no other way to give it for a
// connection). `timeout` bounds each attempt, as connect_timeout does in PQconnectdb.
pg_conn* ConnectVerbose(const char* const* keys, const char* const* values,
                        std::chrono::seconds timeout, bool* timed_out) {
  *timed_out = false;
  pg_conn* conn = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) return conn;
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
  PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
  int socket = -1;
  auto deadline = std::chrono::steady_clock::now();
  while (poll_status != PGRES_POLLING_OK && poll_status != PGRES_POLLING_FAILED) {
    // libpq moves to the next host or address by itself, on a new socket: a new attempt.
    if (PQsocket(conn) != socket) {
      socket = PQsocket(conn);
      deadline = std::chrono::steady_clock::now() + timeout;
    }
    pollfd pfd{socket, static_cast<short>(poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT),
               0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *timed_out = true;
      return conn;
    }
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 60000)));
    if (rc == 0 || (rc < 0 && errno == EINTR)) continue;
    poll_status = PQconnectPoll(conn);
  }
  return conn;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& dsn, Kind kind,
                                                     const std::string& application_name) {
  // Keep the user's own "options" and add walflow's after them.
  std::string options = kSessionOptions;
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &err);
  if (parsed == nullptr) {
    std::string msg = err ? Trim(err) : "out of memory";
    if (err) PQfreemem(err);
    return InvalidArgument("invalid PostgreSQL dsn '" + MaskDsn(dsn) + "': " + msg);
  }
  bool has_timeout = false;
  std::chrono::seconds timeout(10);
  bool several_hosts = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "options") == 0) options = std::string(o->val) + " " + options;
    if (std::strcmp(o->keyword, "connect_timeout") == 0) {
      has_timeout = true;
      // libpq's rule: at least 2 s; 0 or nothing valid means wait forever.
      const long t = std::strtol(o->val, nullptr, 10);
      timeout = t <= 0 ? std::chrono::seconds(std::chrono::hours(24 * 365))
                       : std::chrono::seconds(std::max(2L, t));
    }
    if ((std::strcmp(o->keyword, "host") == 0 || std::strcmp(o->keyword, "hostaddr") == 0) &&
        std::strchr(o->val, ',') != nullptr) {
      several_hosts = true;
    }
  }
  PQconninfoFree(parsed);

  std::vector<const char*> keys = {"dbname", "options", "fallback_application_name"};
  std::vector<const char*> values = {dsn.c_str(), options.c_str(), application_name.c_str()};
  if (kind == Kind::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  if (!has_timeout) {
    keys.push_back("connect_timeout");
    values.push_back("10");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  bool timed_out = false;
  pg_conn* conn = ConnectVerbose(keys.data(), values.data(), timeout, &timed_out);
  if (conn != nullptr && timed_out && several_hosts) {
    // Only libpq's own loop moves on to the next host after a timeout.
    PQfinish(conn);
    conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    timed_out = false;
  }
  if (conn == nullptr) return Internal("libpq could not allocate a connection");
  if (timed_out || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = WithoutLocation(Trim(PQerrorMessage(conn)));
    if (timed_out) msg += (msg.empty() ? "" : "; ") + std::string("timeout expired");
    const bool needs_password = PQconnectionNeedsPassword(conn) != 0;
    PQfinish(conn);
    std::string where = "cannot connect to PostgreSQL (" + MaskDsn(dsn) + "): " + msg;
    // Authentication and authorization problems need the operator; the rest may pass.
    // The server's SQLSTATE says which is which in any lc_messages; without one (refused,
    // unreachable, timed out) it may pass, unless the server wants a password we lack.
    if (needs_password) return FailedPrecondition(where);
    const std::string state = SqlStateInVerboseMessage(msg);
    return Status(StatusCodeForSqlState(state), where);
  }
  PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
  auto c = std::unique_ptr<Connection>(new Connection(conn));
  c->database_ = PQdb(conn) ? PQdb(conn) : "";
  return c;
}

Connection::~Connection() {
  FreeCopyBuffer();
  if (conn_) PQfinish(conn_);
}

void Connection::FreeCopyBuffer() {
  if (copy_buffer_) {
    PQfreemem(copy_buffer_);
    copy_buffer_ = nullptr;
  }
}

std::string Connection::server_version() const {
  const char* v = PQparameterStatus(conn_, "server_version");
  return v ? v : "";
}

int Connection::server_version_num() const { return PQserverVersion(conn_); }

Status Connection::ErrorFrom(pg_result* res, const std::string& what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg =
      Trim(res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  std::string text = what + ": " + msg;
  if (PQstatus(conn_) != CONNECTION_OK) return Unavailable(text);
  // No SQLSTATE on a live connection: libpq refused the call itself (a bug of ours).
  if (state == nullptr || state[0] == '\0') return FailedPrecondition(text);
  return Status(StatusCodeForSqlState(state), text);
}

Result<QueryResult> Connection::Query(const std::string& sql,
                                      const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  pg_result* res = params.empty()
                       ? PQexec(conn_, sql.c_str())
                       : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                      values.data(), nullptr, nullptr, 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string first_line = sql.substr(0, sql.find('\n'));
    if (first_line.size() > 80) first_line = first_line.substr(0, 80) + "...";
    Status s = ErrorFrom(res, "query failed (" + first_line + ")");
    PQclear(res);
    return s;
  }
  QueryResult out;
  int ncols = PQnfields(res), nrows = PQntuples(res);
  for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res, c));
  out.rows.resize(nrows);
  for (int r = 0; r < nrows; ++r) {
    out.rows[r].resize(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (!PQgetisnull(res, r, c)) {
        out.rows[r][c] = std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c));
      }
    }
  }
  PQclear(res);
  return out;
}

Status Connection::StartLogicalReplication(
    const std::string& slot, Lsn start,
    const std::vector<std::pair<std::string, std::string>>& options) {
  std::string sql = "START_REPLICATION SLOT " + QuoteIdent(slot) + " LOGICAL " + start.ToString();
  if (!options.empty()) {
    sql += " (";
    for (size_t i = 0; i < options.size(); ++i) {
      if (i) sql += ", ";
      sql += QuoteIdent(options[i].first) + " " + QuoteLiteral(options[i].second);
    }
    sql += ")";
  }
  pg_result* res = PQexec(conn_, sql.c_str());
  if (res == nullptr || PQresultStatus(res) != PGRES_COPY_BOTH) {
    Status s = ErrorFrom(res, "START_REPLICATION on slot " + slot + " failed");
    PQclear(res);
    return s;
  }
  PQclear(res);
  return Status::OK();
}

Result<std::optional<std::string_view>> Connection::ReadCopyData(
    std::chrono::milliseconds timeout) {
  FreeCopyBuffer();
  for (int attempt = 0; attempt < 2; ++attempt) {
    int n = PQgetCopyData(conn_, &copy_buffer_, /*async=*/1);
    if (n > 0) return std::optional<std::string_view>(std::string_view(copy_buffer_, n));
    if (n == -1) {
      pg_result* res = PQgetResult(conn_);
      Status s = (res && PQresultStatus(res) == PGRES_COMMAND_OK)
                     ? Unavailable("the server ended the replication stream")
                     : ErrorFrom(res, "replication stream failed");
      PQclear(res);
      return s;
    }
    if (n == -2) return Unavailable("replication stream failed: " + Trim(PQerrorMessage(conn_)));
    if (attempt == 1) break;
    // Nothing buffered: wait for the socket, then let libpq read what arrived.
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (rc < 0 && errno != EINTR) return Unavailable("poll on the replication socket failed");
    if (rc <= 0) return std::optional<std::string_view>();
    if (PQconsumeInput(conn_) == 0) {
      return Unavailable("replication connection lost: " + Trim(PQerrorMessage(conn_)));
    }
  }
  return std::optional<std::string_view>();
}

Status Connection::WriteCopyData(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
      PQflush(conn_) != 0) {
    return Unavailable("cannot send to the server: " + Trim(PQerrorMessage(conn_)));
  }
  return Status::OK();
}

Status Connection::CopyOut(const std::string& sql,
                           const std::function<Status(std::string_view)>& row) {
  pg_result* res = PQexec(conn_, sql.c_str());
  if (res == nullptr || PQresultStatus(res) != PGRES_COPY_OUT) {
    std::string first_line = sql.substr(0, sql.find('\n'));
    if (first_line.size() > 120) first_line = first_line.substr(0, 120) + "...";
    Status s = ErrorFrom(res, "query failed (" + first_line + ")");
    PQclear(res);
    return s;
  }
  PQclear(res);
  Status failed;
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, /*async=*/0);
    if (n > 0) {
      if (failed.ok()) {
        size_t len = static_cast<size_t>(n);
        if (len > 0 && buf[len - 1] == '\n') --len;
        failed = row(std::string_view(buf, len));
      }
      PQfreemem(buf);
      // On failure keep draining: the connection stays usable for the next statement.
      continue;
    }
    if (n == -2) return Unavailable("COPY failed: " + Trim(PQerrorMessage(conn_)));
    break;  // -1: the copy is complete
  }
  Status result;
  while (pg_result* r = PQgetResult(conn_)) {
    if (result.ok() && PQresultStatus(r) != PGRES_COMMAND_OK) result = ErrorFrom(r, "COPY failed");
    PQclear(r);
  }
  if (!failed.ok()) return failed;
  return result;
}

}  // namespace walflow::pg
