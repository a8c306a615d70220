#!/usr/bin/env node
// Runs SQL in a new in-memory DuckDB and prints the last statement's result as JSON lines,
// for tests that read Parquet files with a reader independent of walflow's.
//
//   node duckdb-query.mjs [SQL...] FINAL_STATEMENT
//   node duckdb-query.mjs [SQL...] -          (the final statement read from stdin)
//   echo 'SELECT ...' | node duckdb-query.mjs
//
// Each argument but the last may hold several statements; they run first, in order. The
// last argument is one statement. The session's TimeZone is UTC, and no extension is ever
// downloaded (parquet, json and icu are built into the npm build).
//
// Output: a line {"columns":[names],"types":[DuckDB type names]}, then one JSON array per
// row. Every value is a string, DuckDB's own text for it (CAST(value AS VARCHAR)), or null
// for SQL NULL: exact for BIGINT, HUGEINT, DECIMAL, DOUBLE ("1e+308", "-0.0", "nan",
// "inf"), TIMESTAMP WITH TIME ZONE ("2024-01-02 03:04:05.123456+00"), BLOB ("\xFF\x00a"),
// LIST ("[1, 2, NULL]") and the rest. A final statement that cannot be wrapped in a
// SELECT (PRAGMA, EXPLAIN, COPY, CREATE ...) is rendered by the client library instead.
//
// Failure: DuckDB's error on stderr, exit status 1 (2 for a usage error).
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

class UsageError extends Error {}

function ReadStdin() {
  return readFileSync(0, 'utf8');
}

function Write(text) {
  return new Promise((resolve, reject) =>
    process.stdout.write(text, err => (err ? reject(err) : resolve())),
  );
}

// Text for a value the client library produced, for statements that are not wrapped.
function Render(value) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      if (Number.isNaN(value)) return 'nan';
      if (value === Infinity) return 'inf';
      if (value === -Infinity) return '-inf';
      if (Object.is(value, -0)) return '-0.0';
      return String(value);
    default:
      return String(value);  // bigint, boolean, and the library's value classes
  }
}

async function RunAll(connection, sql) {
  const statements = await connection.extractStatements(sql);
  for (let i = 0; i < statements.count; ++i) {
    const prepared = await statements.prepare(i);
    await prepared.run();
  }
}

async function Main() {
  const args = process.argv.slice(2);
  const setup = args.length ? args.slice(0, -1) : [];
  let final = args.length ? args[args.length - 1] : '-';
  if (final === '-') final = ReadStdin();

  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'true',
  });
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  for (const sql of setup) await RunAll(connection, sql);

  const statements = await connection.extractStatements(final);
  if (statements.count !== 1) {
    throw new UsageError(
      `the last argument must hold exactly one statement, not ${statements.count}; ` +
        'pass the statements to run before it as earlier arguments',
    );
  }
  const prepared = await statements.prepare(0);
  const columns = [];
  const types = [];
  for (let i = 0; i < prepared.columnCount; ++i) {
    columns.push(prepared.columnName(i));
    const type = prepared.columnType(i);
    types.push(type.alias ?? type.toString());  // JSON is an alias of VARCHAR
  }

  // DuckDB renders each value itself: the statement becomes a subquery whose columns are
  // cast to VARCHAR by position (names may repeat). A projection keeps the subquery's order.
  let reader = null;
  if (prepared.statementType === StatementType.SELECT && columns.length > 0) {
    const body = final.replace(/[\s;]+$/, '');
    const casts = columns.map((_, i) => `CAST(#${i + 1} AS VARCHAR)`).join(', ');
    try {
      reader = await connection.prepare(`SELECT ${casts} FROM (\n${body}\n) AS walflow_query`);
    } catch {
      reader = null;  // not a subquery (a PRAGMA or SHOW in SELECT's clothing): unwrapped
    }
  }
  const result = await (reader ?? prepared).stream();

  await Write(JSON.stringify({ columns, types }) + '\n');
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    let lines = '';
    for (const row of chunk.getRows()) {
      lines += JSON.stringify(row.map(reader ? v => (v === null ? null : v) : Render)) + '\n';
    }
    await Write(lines);
  }
}

try {
  await Main();
} catch (err) {
  process.stderr.write(`duckdb-query: ${err.message}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
