#!/usr/bin/env bash
# Records session.bin, the pgoutput stream of a real PostgreSQL 15 session, for
# tests/unit/pg/captured_stream_test.cc. Run from the repository root after a build; the
# output is committed. Regenerate session.jsonl afterwards with WALFLOW_UPDATE_GOLDEN=1.
set -euo pipefail
root=$(pwd)
work=$(mktemp -d /tmp/walflow-capture.XXXXXX)
trap 'scripts/pg-local.sh destroy "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
port=$(scripts/pg-local.sh start "$work/pg")
psql() { scripts/pg-local.sh psql "$work/pg" -v ON_ERROR_STOP=1 -q "$@"; }
psql -c "CREATE DATABASE app"
psql -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" -c "SELECT pg_reload_conf()" >/dev/null
psql -d app <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, qty int2, big int8, price numeric(10,2),
  ratio float8, ok bool, born date, at timestamp, atz timestamptz, t time, tz timetz,
  span interval, u uuid, doc jsonb, tags text[], raw bytea, n numeric, r real, addr inet);
CREATE TABLE notes (id int PRIMARY KEY, body text);
ALTER TABLE notes REPLICA IDENTITY FULL;
SQL
cat > "$work/p.yaml" <<YAML
source:
  postgres:
    dsn: "host=127.0.0.1 port=$port dbname=app user=postgres"
    slot: capture
    publication: capture
    tables: [public.items, public.notes]
    snapshot: never
    heartbeat_interval: 0
    capture_file: $work/session.bin
data_dir: $work/state
sinks:
  - name: files
    type: jsonl
    path: $work/out
YAML
"$root/build/walflow" run "$work/p.yaml" 2>"$work/log" &
pid=$!
sleep 1.5
psql -d app <<'SQL'
INSERT INTO items VALUES (1, 'caf\u00e9 "quoted" \\ back', 7, 9007199254740993, 12.50, 1.5, true,
  '2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02', '13:45:30.25',
  '13:45:30+05:30', '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"k": [1, 2]}', '{a,"b c",NULL}', '\x00ff10', 12345678901234567890.123, 'NaN', '10.0.0.1/8');
INSERT INTO items (id, name, born, atz, ratio, n, price) VALUES
  (2, E'line\nbreak \u263A', '0044-03-15 BC', 'infinity', '-Infinity', 'NaN', -0.01);
BEGIN; UPDATE items SET qty = 8 WHERE id = 1; UPDATE items SET id = 3 WHERE id = 2; COMMIT;
INSERT INTO notes SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 3) g;
UPDATE notes SET id = id + 10 WHERE id = 1;
DELETE FROM notes WHERE id = 2;
DELETE FROM items WHERE id = 3;
ALTER TABLE items ADD COLUMN extra text DEFAULT 'x';
INSERT INTO items (id, name, extra) VALUES (4, 'after alter', 'y');
BEGIN;
INSERT INTO notes SELECT g, 'streamed ' || g FROM generate_series(100, 1099) g;
SAVEPOINT s1;
INSERT INTO notes SELECT g, 'rolled back ' || g FROM generate_series(2000, 2999) g;
ROLLBACK TO SAVEPOINT s1;
UPDATE notes SET body = 'kept' WHERE id BETWEEN 100 AND 110;
COMMIT;
BEGIN;
INSERT INTO notes SELECT g, 'aborted ' || g FROM generate_series(5000, 6999) g;
ROLLBACK;
TRUNCATE notes;
SQL
end=$(psql -d app -tAc "SELECT pg_current_wal_lsn()")
for _ in $(seq 100); do
  done_=$(psql -d app -tAc "SELECT confirmed_flush_lsn >= '$end' FROM pg_replication_slots WHERE slot_name = 'capture'")
  [[ $done_ == t ]] && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
cp "$work/session.bin" "$root/tests/golden/captured/session.bin"
echo "captured $(stat -c %s "$root/tests/golden/captured/session.bin") bytes; walflow wrote $(cat "$work"/out/*.jsonl | wc -l) events"
