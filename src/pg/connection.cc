#include "pg/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>

namespace walflow::pg {
namespace {

// Session settings that fix the text forms walflow parses (see pg/text_codec.h).
constexpr const char* kSessionOptions =
    "-c DateStyle=ISO,YMD -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3 "
    "-c client_encoding=UTF8 -c standard_conforming_strings=on";

bool IsConnectionSqlState(const char* state) {
  return state != nullptr && std::strncmp(state, "08", 2) == 0;
}

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
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "options") == 0) options = std::string(o->val) + " " + options;
    if (std::strcmp(o->keyword, "connect_timeout") == 0) has_timeout = true;
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
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Internal("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = Trim(PQerrorMessage(conn));
    PQfinish(conn);
    std::string where = "cannot connect to PostgreSQL (" + MaskDsn(dsn) + "): " + msg;
    // Authentication and authorization problems need the operator; the rest may pass.
    if (msg.find("password authentication failed") != std::string::npos ||
        msg.find("no pg_hba.conf entry") != std::string::npos ||
        msg.find("does not exist") != std::string::npos ||
        msg.find("must be superuser or replication") != std::string::npos ||
        msg.find("permission denied") != std::string::npos) {
      return FailedPrecondition(where);
    }
    return Unavailable(where);
  }
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
  if (PQstatus(conn_) != CONNECTION_OK || IsConnectionSqlState(state)) return Unavailable(text);
  if (state != nullptr) {
    if (std::strcmp(state, "55006") == 0 || std::strcmp(state, "55000") == 0 ||
        std::strcmp(state, "42501") == 0 || std::strcmp(state, "42704") == 0 ||
        std::strcmp(state, "42P01") == 0) {
      return FailedPrecondition(text);
    }
    if (std::strncmp(state, "57P", 3) == 0 || std::strncmp(state, "53", 2) == 0) {
      return Unavailable(text);  // shutdown, crash recovery, out of resources
    }
    if (std::strcmp(state, "40001") == 0 || std::strcmp(state, "40P01") == 0) return Aborted(text);
  }
  return FailedPrecondition(text);
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
