#!/usr/bin/env bash
# The walflow demo: a private PostgreSQL in ./demo-pg with the tables of seed 001
# (customers, employees, projects), a generator that keeps changing them, and walflow
# writing Debezium JSON into ./demo-output: on the first run the seeded rows (op "r",
# walflow's initial snapshot), then every change.
#
#   scripts/demo.sh            start (or resume) the demo; Ctrl-C stops everything
#   scripts/demo.sh --reset    first delete ./demo-pg and ./demo-output
#
# Needs ./build/walflow and the packages of scripts/install-deps.sh; installs nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_local=$root/scripts/pg-local.sh
pg_dir=$root/demo-pg
out_dir=$root/demo-output
lake_dir=$root/demo-lake
state_dir=$pg_dir/walflow-state
config=$pg_dir/demo.yaml
generator_log=$pg_dir/generator.log
walflow=${WALFLOW:-$root/build/walflow}
readonly kSlot=wf_slot kStopTimeout=30

die() {
  echo "demo: $*" >&2
  exit 1
}

reset=0
case ${1:-} in
"") ;;
--reset) reset=1 ;;
*) die "unknown argument '$1' (usage: scripts/demo.sh [--reset])" ;;
esac

[[ -x $walflow ]] ||
  die "$walflow not found: build it first (scripts/install-deps.sh && cmake -S . -B build && cmake --build build -j)"

pg_started=0
walflow_pid=
generator_pid=

# shellcheck disable=SC2317  # reached through the EXIT trap
# Sends SIGTERM, waits up to $3 seconds, then SIGKILL: a stuck process must not keep the
# demo (or PostgreSQL, which walflow holds a connection to) from stopping.
stop_process() {
  local pid=$1 name=$2 timeout=$3 waited=0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((waited < timeout * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "demo: $name did not stop within ${timeout}s; killing it" >&2
    # The whole process group: the children were started as session (and group) leaders.
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  local status=$?
  # Finish the cleanup even if Ctrl-C is pressed again.
  trap '' INT TERM
  set +e
  [[ -z $generator_pid ]] || stop_process "$generator_pid" "the generator" 5
  [[ -z $walflow_pid ]] || stop_process "$walflow_pid" walflow "$kStopTimeout"
  if ((pg_started)); then
    "$pg_local" stop "$pg_dir" && echo "demo: PostgreSQL stopped; data kept in $pg_dir (scripts/demo.sh --reset deletes it)"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 130' INT
trap 'echo "demo: stopping"; exit 143' TERM

if ((reset)); then
  echo "demo: deleting $pg_dir, $out_dir and $lake_dir"
  "$pg_local" destroy "$pg_dir"
  rm -rf -- "$out_dir" "$lake_dir"
fi

port=$("$pg_local" start "$pg_dir")
pg_started=1
echo "demo: PostgreSQL runs on 127.0.0.1:$port (data and log in $pg_dir)"

psql() {
  "$pg_local" psql "$pg_dir" -q -v ON_ERROR_STOP=1 "$@"
}

if [[ -z $(psql -Atc "SELECT 1 FROM pg_database WHERE datname = 'app'") ]]; then
  psql -c "CREATE DATABASE app"
fi

# The tables of seed 001 (klienci, pracownicy, projekty) with English names. REPLICA
# IDENTITY FULL makes updates and deletes carry the whole old row in "before".
psql -d app <<'SQL'
SET client_min_messages = warning;  -- no NOTICE for each table that already exists
CREATE TABLE IF NOT EXISTS customers (
  id serial PRIMARY KEY,
  name text,
  email text,
  country text,
  phone text,
  created_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS employees (
  id serial PRIMARY KEY,
  name text,
  position text,
  age int,
  salary numeric(10,2),
  hired_on date
);
CREATE TABLE IF NOT EXISTS projects (
  id serial PRIMARY KEY,
  name text,
  customer_id int REFERENCES customers,
  lead_employee_id int REFERENCES employees,
  budget numeric(12,2),
  status text,
  started_on date,
  tags text[],
  details jsonb
);
ALTER TABLE customers REPLICA IDENTITY FULL;
ALTER TABLE employees REPLICA IDENTITY FULL;
ALTER TABLE projects REPLICA IDENTITY FULL;

-- Seed rows only into empty tables, so a second run resumes instead of duplicating.
INSERT INTO customers (name, email, country, phone)
SELECT * FROM (VALUES
  ('Firma X', 'contact@firmax.com', 'Poland', '+48 600 123 456'),
  ('Firma Y', 'support@firmay.com', 'Germany', '+49 170 987 654'),
  ('Atelier Z', 'hello@atelierz.fr', 'France', NULL)
) AS seed
WHERE NOT EXISTS (SELECT 1 FROM customers);

INSERT INTO employees (name, position, age, salary, hired_on)
SELECT * FROM (VALUES
  ('Anna Kowalska', 'Developer', 34, 9500.00, date '2019-03-01'),
  ('Piotr Nowak', 'Analyst', 41, 8200.50, date '2016-09-15'),
  ('Maria Schmidt', 'Manager', 47, 13250.00, date '2012-01-09')
) AS seed
WHERE NOT EXISTS (SELECT 1 FROM employees);

INSERT INTO projects (name, customer_id, lead_employee_id, budget, status, started_on, tags, details)
SELECT s.name, c.id, e.id, s.budget, s.status, s.started_on, s.tags, s.details::jsonb
FROM (VALUES
  ('Web shop', 'Firma X', 'Anna Kowalska', 120000.00, 'active', date '2024-02-01',
   ARRAY['web', 'api'], '{"priority": "high", "phase": 2}'),
  ('Data warehouse', 'Firma Y', 'Piotr Nowak', 250000.00, 'planned', date '2024-06-15',
   ARRAY['data'], '{"priority": "medium", "phase": 1}')
) AS s (name, customer, lead, budget, status, started_on, tags, details)
JOIN customers c ON c.name = s.customer
JOIN employees e ON e.name = s.lead
WHERE NOT EXISTS (SELECT 1 FROM projects);
SQL

mkdir -p -- "$out_dir" "$state_dir"
# Absolute paths, so the config means the same whichever folder walflow resolves from.
cat >"$config" <<EOF
# Written by scripts/demo.sh on every run.
source:
  postgres:
    dsn: "host=127.0.0.1 port=$port dbname=app user=postgres"
    slot: $kSlot
    publication: wf_pub
    tables: [public.customers, public.employees, public.projects]
    # First run: copy the rows that exist (op "r"), then stream. Later runs only stream.
    snapshot: initial
    name: demo
    heartbeat_interval: 10s
data_dir: $state_dir
log:
  level: info
  progress_interval: 2s
sinks:
  - name: files
    type: jsonl
    path: $out_dir
    decimal_handling: string
    schemas: false
    max_file_size: 16MB
  # The same changes as Parquet rows, one folder per table, new files every 5 s.
  - name: lake
    type: parquet
    path: $lake_dir
    compression: zstd
    max_file_age: 5s
EOF

# Own sessions: Ctrl-C reaches only this script, which then stops each child exactly once
# (a second signal could make walflow skip its clean shutdown).
echo "demo: starting walflow with $config"
setsid "$walflow" run "$config" </dev/null &
walflow_pid=$!

# The generator starts once walflow's slot exists. Nothing would be lost without the
# wait: with snapshot: initial, rows written before the slot was created are in walflow's
# initial snapshot and later changes are streamed. Waiting keeps the first run's output
# easy to read (the seeded rows as op "r" events, then the generator's changes), and the
# generator is not started at all when walflow exits before creating its slot.
for ((i = 0; i < 300; i++)); do
  kill -0 "$walflow_pid" 2>/dev/null || break
  [[ -z $(psql -d app -Atc "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$kSlot'") ]] || break
  sleep 0.1
done
if ! kill -0 "$walflow_pid" 2>/dev/null; then
  set +e
  wait "$walflow_pid"
  status=$?
  walflow_pid=
  die "walflow exited with status $status before streaming (see its messages above)"
fi

setsid "$root/scripts/demo-generator.sh" "$port" app </dev/null >>"$generator_log" 2>&1 &
generator_pid=$!

# Paths as the user would type them from where they started the demo.
shown() {
  if [[ $1 == "$PWD"/* ]]; then echo "${1#"$PWD"/}"; else echo "$1"; fi
}
cat <<EOF
demo: a generator is changing app.customers, app.employees and app.projects (log: $(shown "$generator_log"))
demo: walflow writes their change events to $(shown "$out_dir")/; watch them with:
        tail -F $(shown "$out_dir")/*.jsonl
      and as Parquet files (one row per change) in $(shown "$lake_dir")/<schema>.<table>/
demo: Ctrl-C stops walflow, the generator and PostgreSQL
EOF

set +e
wait "$walflow_pid"
status=$?
set -e
walflow_pid=
echo "demo: walflow exited with status $status"
exit "$status"
