// Classification of server errors by SQLSTATE (never by message text, which follows the
// server's lc_messages), and the SQLSTATE libpq writes into a verbose connection error.
#include "pg/connection.h"

#include <gtest/gtest.h>

namespace walflow::pg {
namespace {

TEST(StatusCodeForSqlStateTest, RetryMeaningComesFromTheSqlState) {
  const std::vector<std::pair<const char*, StatusCode>> cases = {
      // Authentication and authorization need the operator.
      {"28P01", StatusCode::kFailedPrecondition},  // invalid_password
      {"28000", StatusCode::kFailedPrecondition},  // no pg_hba.conf entry, unknown role
      {"3D000", StatusCode::kFailedPrecondition},  // database does not exist
      {"42501", StatusCode::kFailedPrecondition},  // not superuser or replication role
      {"42704", StatusCode::kFailedPrecondition},  // undefined object (a slot)
      {"42P01", StatusCode::kFailedPrecondition},  // undefined table
      {"55006", StatusCode::kFailedPrecondition},  // slot in use
      {"55000", StatusCode::kFailedPrecondition},  // object not in prerequisite state
      {"57P04", StatusCode::kFailedPrecondition},  // database dropped
      {"57014", StatusCode::kFailedPrecondition},  // statement cancelled
      {"XX000", StatusCode::kFailedPrecondition},  // internal error
      {"0A000", StatusCode::kFailedPrecondition},  // feature not supported
      // What passes by itself.
      {"08006", StatusCode::kUnavailable},  // connection failure
      {"08P01", StatusCode::kUnavailable},  // protocol violation
      {"53300", StatusCode::kUnavailable},  // too many connections
      {"53100", StatusCode::kUnavailable},  // disk full
      {"57P01", StatusCode::kUnavailable},  // admin shutdown
      {"57P02", StatusCode::kUnavailable},  // crash shutdown
      {"57P03", StatusCode::kUnavailable},  // cannot connect now (starting up, recovery)
      {"57P05", StatusCode::kUnavailable},  // idle session timeout
      {"40001", StatusCode::kAborted},      // serialization failure
      {"40P01", StatusCode::kAborted},      // deadlock
      // No SQLSTATE at all: libpq's own failure (refused, unreachable).
      {"", StatusCode::kUnavailable},
      {"2850", StatusCode::kUnavailable},
      {"28p01", StatusCode::kUnavailable},
  };
  for (const auto& [state, code] : cases) {
    EXPECT_EQ(StatusCodeForSqlState(state), code) << "SQLSTATE '" << state << "'";
  }
}

TEST(SqlStateInVerboseMessageTest, FindsTheSqlStateInAnyLanguage) {
  EXPECT_EQ(SqlStateInVerboseMessage(
                "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: password "
                "authentication failed for user \"x\"\nLOCATION:  auth_failed, auth.c:335"),
            "28P01");
  EXPECT_EQ(
      SqlStateInVerboseMessage("Verbindung zum Server auf »127.0.0.1«, Port 5432 "
                               "fehlgeschlagen: FATAL:  3D000: Datenbank »x« existiert nicht"),
      "3D000");
  EXPECT_EQ(SqlStateInVerboseMessage("サーバー \"127.0.0.1\"、ポート 5432 への接続に失敗しました: "
                                     "致命的エラー:  28000: ロール\"x\"は存在しません"),
            "28000");
  // Several attempts (hosts, SSL then plain): the last server error counts.
  EXPECT_EQ(SqlStateInVerboseMessage("connection to server at \"a\" failed: FATAL:  57P03: the "
                                     "database system is starting up\nconnection to server at "
                                     "\"b\" failed: FATAL:  28P01: password authentication failed"),
            "28P01");
  // libpq's own failures carry none.
  EXPECT_EQ(SqlStateInVerboseMessage("connection to server at \"127.0.0.1\", port 1 failed: "
                                     "Connection refused\n\tIs the server running on that host?"),
            "");
  EXPECT_EQ(SqlStateInVerboseMessage("fe_sendauth: no password supplied"), "");
  EXPECT_EQ(SqlStateInVerboseMessage(""), "");
  // Only "<severity>:  XXXXX: " counts, not five capitals somewhere in the text.
  EXPECT_EQ(SqlStateInVerboseMessage("failed: could not connect:  ABCDE"), "");
}

}  // namespace
}  // namespace walflow::pg
