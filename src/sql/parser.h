// sql::Parse: a view's SQL, parsed by PostgreSQL 15's own grammar (libpg_query), into
// walflow's syntax tree (ast.h). Nothing here knows tables or types: names are resolved and
// expressions typed by the planner.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "sql/ast.h"

namespace walflow::sql {

// Parses one SELECT statement. A syntax error, and every construct views do not support
// (joins, subqueries, window functions, set operations, ORDER BY/LIMIT, CTEs,
// non-deterministic functions, …), is InvalidArgument with a message that names the problem
// and shows the SQL with a caret under its position (see FormatSqlError). The caller
// prefixes the view's name.
Result<SelectStatement> Parse(std::string_view sql);

// "<message>\n  <sql>\n  <spaces>^" with the caret under byte offset `location` (clamped to
// the text). For SQL of several lines only the line holding the position is shown, as
// "  line N: <text>". Used by the planner for its own errors (unknown column, type errors).
std::string FormatSqlError(std::string_view message, std::string_view sql, int location);

}  // namespace walflow::sql
