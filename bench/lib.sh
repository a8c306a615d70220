# shellcheck shell=bash
# Helpers shared by the bench/*.sh scripts: a private PostgreSQL, the bench table and
# its workload, and a walflow process to start, watch and stop. Source this file from a
# script that has already run `set -euo pipefail`; it is not a program.

export LC_ALL=C  # decimal points in EPOCHREALTIME and awk output

BENCH_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_LOCAL=${PG_LOCAL:-$BENCH_ROOT/scripts/pg-local.sh}
WALFLOW_BIN=${WALFLOW_BIN:-$BENCH_ROOT/build/walflow}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-3600}   # seconds walflow may take to reach the end mark
POLL_INTERVAL=${POLL_INTERVAL:-0.05}   # seconds between reads of the slot's position
RSS_INTERVAL=${RSS_INTERVAL:-0.1}      # seconds between samples of walflow's RSS
BENCH_KEEP=${BENCH_KEEP:-0}            # 1 keeps the temporary folder (logs, output)
WALFLOW_LOG_EXTRA=""   # more lines for the log section of written configs, indented as in
                       # the file (e.g. "  progress_interval: 100ms"); none by default

BENCH_NAME=$(basename -- "$0" .sh)
WORK=""            # temporary folder: pg/ (server), walflow's folders, logs
PG_DIR=""
PG_STARTED=0
DSN=""             # libpq conninfo of the bench database, also used by walflow
WALFLOW_PID=""
RSS_SAMPLER_PID=""
POLL_PID=""
POLL_IN=""
POLL_OUT=""

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Fails early, before any workload, when a program the bench needs is missing.
bench_require() {
  local need
  for need in "$@"; do
    case $need in
      walflow)
        [[ -x $WALFLOW_BIN ]] || die "no walflow binary at $WALFLOW_BIN; build it first" \
          "(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2) or set WALFLOW_BIN" ;;
      *)
        [[ -x $PG_BIN/$need ]] || die "no $need in $PG_BIN; set PG_BIN" ;;
    esac
  done
  [[ -x $PG_BIN/psql ]] || die "no psql in $PG_BIN; set PG_BIN"
  [[ -x $PG_LOCAL ]] || die "no $PG_LOCAL; set PG_LOCAL"
}

# Elapsed seconds between two EPOCHREALTIME readings.
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Events per second, and a kB figure in MB.
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# A / B with two decimals (0 when B is 0), e.g. a ratio of two medians.
quotient() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b != 0 ? a / b : 0) }'; }

# Runs psql on the bench database: unaligned, tuples only, stops at the first error.
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$DSN" "$@"; }

bench_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [[ -n $RSS_SAMPLER_PID ]] && kill "$RSS_SAMPLER_PID" 2>/dev/null
  if [[ -n $WALFLOW_PID ]]; then
    stop_process "$WALFLOW_PID" 10
    if ((rc != 0)) && [[ -s $WORK/walflow.log ]]; then
      log "last lines of walflow's log:"
      tail -n 20 "$WORK/walflow.log" >&2
    fi
  fi
  [[ -n $POLL_PID ]] && kill "$POLL_PID" 2>/dev/null
  if [[ -n $WORK ]]; then
    if [[ $BENCH_KEEP == 1 ]]; then
      ((PG_STARTED == 0)) || "$PG_LOCAL" stop "$PG_DIR" >/dev/null 2>&1 ||
        log "warning: could not stop the server in $PG_DIR"
      log "kept $WORK"
    else
      # destroy also stops a server whose start was interrupted, then deletes its folder.
      ((PG_STARTED == 0)) || "$PG_LOCAL" destroy "$PG_DIR" >/dev/null 2>&1 ||
        log "warning: could not stop the server in $PG_DIR"
      rm -rf -- "$WORK"
    fi
  fi
  exit "$rc"
}

# Starts a private server in a new temporary folder, creates database `bench` and sets
# DSN. Cleanup (server, folder, walflow) runs on any exit from here on.
bench_start_server() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/walflow-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  PG_DIR=$WORK/pg  # pg-local.sh creates it and lets the postgres user in

  PG_STARTED=1
  local port
  port=$("$PG_LOCAL" start "$PG_DIR" | tail -n 1)
  [[ $port =~ ^[0-9]+$ ]] || die "pg-local.sh start printed '$port', expected a port"
  DSN="host=127.0.0.1 port=$port dbname=bench user=postgres"
  log "server on port $port, work folder $WORK"

  # Fewer checkpoints while writing the workload; each ALTER SYSTEM is its own statement.
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$port dbname=postgres user=postgres" >/dev/null <<'SQL'
CREATE DATABASE bench;
ALTER SYSTEM SET max_wal_size = '16GB';
ALTER SYSTEM SET checkpoint_timeout = '1h';
SELECT pg_reload_conf();
SQL
  [[ $(sql -c 'SHOW wal_level') == logical ]] || die "the server's wal_level is not logical"
}

bench_create_schema() {
  sql <<'SQL'
CREATE TABLE public.bench_items (
  id bigint PRIMARY KEY,
  name text,
  qty int,
  price numeric(12,2),
  updated_at timestamptz,
  tags text[]
);
CREATE PUBLICATION bench_pub FOR TABLE public.bench_items;
SQL
}

# Prints INSERT statements for ids FIRST..LAST, BATCH rows each, one statement a line.
emit_inserts() {
  local first=$1 last=$2 batch=$3 lo hi
  for ((lo = first; lo <= last; lo += batch)); do
    hi=$((lo + batch - 1 < last ? lo + batch - 1 : last))
    printf '%s\n' "INSERT INTO public.bench_items (id, name, qty, price, updated_at, tags) SELECT g, 'item-' || g, (g % 1000)::int, ((g % 100000) / 100.0)::numeric(12,2), now(), ARRAY['tag-' || (g % 10), 'bench'] FROM generate_series($lo, $hi) g;"
  done
}

# Prints UPDATE statements changing COUNT rows of a table holding ids 1..ROWS, BATCH
# rows each; passes over the table again while COUNT exceeds ROWS.
emit_updates() {
  local count=$1 rows=$2 batch=$3 n lo hi
  while ((count > 0)); do
    n=$((count < rows ? count : rows))
    for ((lo = 1; lo <= n; lo += batch)); do
      hi=$((lo + batch - 1 < n ? lo + batch - 1 : n))
      printf '%s\n' "UPDATE public.bench_items SET qty = qty + 1, price = price + 0.01, updated_at = now() WHERE id BETWEEN $lo AND $hi;"
    done
    count=$((count - n))
  done
}

# Prints "LO HI" for the consecutive ranges of at most BATCH ids that cover FIRST..LAST,
# for workloads on tables other than bench_items (emit_inserts' batches).
id_batches() {
  local first=$1 last=$2 batch=$3 lo
  for ((lo = first; lo <= last; lo += batch)); do
    printf '%s %s\n' "$lo" "$((lo + batch - 1 < last ? lo + batch - 1 : last))"
  done
}

# Prints the "LO HI" ranges of emit_updates: COUNT ids of a table holding ids 1..ROWS,
# BATCH a range, passing over the table again while COUNT exceeds ROWS.
update_batches() {
  local count=$1 rows=$2 batch=$3 n
  while ((count > 0)); do
    n=$((count < rows ? count : rows))
    id_batches 1 "$n" "$batch"
    count=$((count - n))
  done
}

# Runs the statements on stdin (one a line) in one session, each in its own transaction,
# and prints the end mark: the WAL insert position read inside the last transaction
# after its last change. Every change of the workload lies before the mark and the last
# commit record starts at or after it, so a consumer has processed the whole workload
# exactly when its confirmed_flush_lsn >= mark, whether it confirms a transaction's
# commit LSN or its end LSN; pg_recvlogical --endpos=mark stops at that last commit.
run_marking_end() {
  local -a stmts
  mapfile -t stmts
  ((${#stmts[@]} > 0)) || die "empty workload"
  {
    if ((${#stmts[@]} > 1)); then printf '%s\n' "${stmts[@]:0:${#stmts[@]}-1}"; fi
    printf 'BEGIN;\n%s\nSELECT pg_current_wal_insert_lsn();\nCOMMIT;\n' "${stmts[-1]}"
  } | sql
}

# Writes a walflow config reading SLOT, with its state in DIR/state and its jsonl sink
# writing to DIR/out (both created empty). Optional: the publication, the table list
# (YAML flow list), the snapshot lines of the source (default "snapshot: never") and
# more lines for the sink, each line indented as in the file.
walflow_write_config() {
  local config=$1 slot=$2 dir=$3 publication=${4:-bench_pub} tables=${5:-public.bench_items}
  local snapshot=${6:-"    snapshot: never"} sink_extra=${7:-} sink
  mkdir -p "$dir/out"
  sink="  - name: files
    type: jsonl
    path: $dir/out
    decimal_handling: string
    schemas: false"
  if [[ -n $sink_extra ]]; then sink+=$'\n'$sink_extra; fi
  walflow_write_config_sinks "$config" "$slot" "$dir" "$sink" "$publication" "$tables" "$snapshot"
}

# Writes a walflow config reading SLOT, with its state in DIR/state (created empty) and
# the sinks given as YAML lines (the list items under `sinks:`, indented as in the file).
# Optional: the publication, the table list and the snapshot lines, as above.
walflow_write_config_sinks() {
  local config=$1 slot=$2 dir=$3 sinks=$4 publication=${5:-bench_pub} tables=${6:-public.bench_items}
  local snapshot=${7:-"    snapshot: never"}
  mkdir -p "$dir/state"
  {
    cat <<EOF
source:
  postgres:
    dsn: "$DSN"
    slot: $slot
    publication: $publication
    tables: [$tables]
$snapshot
data_dir: $dir/state
log:
  level: info
EOF
    if [[ -n $WALFLOW_LOG_EXTRA ]]; then printf '%s\n' "$WALFLOW_LOG_EXTRA"; fi
    printf 'sinks:\n%s\n' "$sinks"
  } >"$config"
}

# Prints a numeric field (in kB) of /proc/PID/status, e.g. VmRSS or VmHWM.
proc_status_kb() {
  local pid=$1 field=$2 key value _
  while read -r key value _; do
    if [[ $key == "$field:" ]]; then
      printf '%s\n' "$value"
      return 0
    fi
  done <"/proc/$pid/status"
  return 1
}

# CPU time (user + system) PID has used so far, in seconds.
proc_cpu_seconds() {
  local stat fields
  stat=$(<"/proc/$1/stat")
  read -r -a fields <<<"${stat##*) }"  # fields[0] is field 3 (state) of proc(5)
  awk -v u="${fields[11]}" -v s="${fields[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / hz }'
}

# True while PID runs (a zombie child that has exited does not count).
proc_running() {
  local pid=$1 key value rest
  [[ -r /proc/$pid/status ]] || return 1
  while read -r key value rest; do
    if [[ $key == State: ]]; then
      # Explicit codes: in a trap handler a bare `return` gives the status from before the trap.
      if [[ $value == Z ]]; then return 1; fi
      return 0
    fi
  done <"/proc/$pid/status" 2>/dev/null
  return 1
}

# Sends SIGINT to child PID, waits up to GRACE seconds, then SIGKILL; sets STOP_RC to
# its exit code. (Not for $(...): only the parent shell can wait for its child.)
STOP_RC=0
# shellcheck disable=SC2034 # STOP_RC is read by the scripts
stop_process() {
  local pid=$1 grace=$2 i rc=0
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    proc_running "$pid" || break
    sleep 0.1
  done
  if proc_running "$pid"; then
    log "warning: process $pid still runs ${grace}s after SIGINT; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  STOP_RC=$rc
}

# Starts `walflow run CONFIG` in the background with its log in $WORK/walflow.log, and a
# sampler writing "time VmRSS_kB" lines to $WORK/walflow-rss.tsv.
walflow_start() {
  # Background jobs of a script start with SIGINT ignored; walflow must see the SIGINT
  # that stops it. env execs, so $! is walflow's own pid.
  env --default-signal=INT "$WALFLOW_BIN" run "$1" >"$WORK/walflow.log" 2>&1 &
  WALFLOW_PID=$!
  (
    while proc_running "$WALFLOW_PID"; do
      kb=$(proc_status_kb "$WALFLOW_PID" VmRSS 2>/dev/null) && printf '%s %s\n' "$EPOCHREALTIME" "$kb"
      sleep "$RSS_INTERVAL"
    done
  ) >"$WORK/walflow-rss.tsv" &
  RSS_SAMPLER_PID=$!
}

# Largest RSS seen by the sampler, in kB.
walflow_sampled_max_rss_kb() {
  awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/walflow-rss.tsv"
}

# Stops walflow with SIGINT; sets STOP_RC to its exit code.
walflow_stop() {
  stop_process "$WALFLOW_PID" 30
  WALFLOW_PID=""
  kill "$RSS_SAMPLER_PID" 2>/dev/null || true
  wait "$RSS_SAMPLER_PID" 2>/dev/null || true
  RSS_SAMPLER_PID=""
}

# Copies walflow's log to $WORK/logs/NAME.log and sets WALFLOW_LOG_ISSUES to the number
# of its warning and error lines, logging the first ones.
WALFLOW_LOG_ISSUES=0
walflow_keep_log() {
  local name=$1 file
  mkdir -p "$WORK/logs"
  file=$WORK/logs/$name.log
  cp -- "$WORK/walflow.log" "$file"
  WALFLOW_LOG_ISSUES=$(grep -ciE '\b(warn|warning|error|fatal)\b' "$file" || true)
  if ((WALFLOW_LOG_ISSUES > 0)); then
    log "note: walflow ($name) logged $WALFLOW_LOG_ISSUES warning/error lines; the first ones:"
    grep -iE '\b(warn|warning|error|fatal)\b' "$file" | head -n 5 >&2
  fi
}

# Wall-clock time (seconds since the epoch, as EPOCHREALTIME) of the first progress line
# of walflow's log FILE that counts at least N events written; fails if there is none.
# walflow logs one every `log: progress_interval` (10 s unless WALFLOW_LOG_EXTRA sets it;
# up to about 100 ms later when the stream is idle), counting the events it has handed to
# its sinks (for several sinks, the largest count).
walflow_log_events_time() {
  local file=$1 n=$2 stamp
  stamp=$(awk -v n="$n" '$3 == "[progress]" && $5 == "events" && $6 == "written" && $4 + 0 >= n { print $1; exit }' "$file")
  [[ -n $stamp ]] || return 1
  date -u -d "$stamp" +%s.%6N
}

# One long-lived psql session for polling, so that polling every 50 ms costs a query,
# not a process start, on the machine being measured.
poll_open() {
  coproc POLL_PSQL { exec "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$DSN" 2>>"$WORK/poll-psql.log"; }
  POLL_PID=$POLL_PSQL_PID
  POLL_IN=${POLL_PSQL[1]}
  POLL_OUT=${POLL_PSQL[0]}
}

# Runs one query that returns exactly one row on the polling session; sets REPLY.
poll_query() {
  proc_running "$POLL_PID" || die "the polling psql session ended (see $WORK/poll-psql.log)"
  printf '%s\n' "$1" >&"$POLL_IN"
  IFS= read -r -t 60 REPLY <&"$POLL_OUT" || die "no answer from the polling psql session"
}

poll_close() {
  exec {POLL_IN}>&-
  wait "$POLL_PID" 2>/dev/null || true
  POLL_PID=""
}

walflow_check_running() {
  proc_running "$WALFLOW_PID" || die "walflow exited before reaching the end mark (log: $WORK/walflow.log)"
}

# Waits until walflow streams from SLOT (the slot is active), at most 60 s.
walflow_wait_streaming() {
  local slot=$1 deadline=$((EPOCHSECONDS + 60))
  poll_open
  while :; do
    walflow_check_running
    poll_query "SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'), false);"
    [[ $REPLY == t ]] && break
    ((EPOCHSECONDS < deadline)) || die "walflow did not start streaming from slot $slot within 60 s"
    sleep "$POLL_INTERVAL"
  done
  poll_close
}

# Waits until SLOT's confirmed_flush_lsn >= LSN, polling every POLL_INTERVAL seconds;
# fails if walflow exits or BENCH_TIMEOUT passes. Logs progress every 10 s.
walflow_wait_confirmed() {
  local slot=$1 lsn=$2 deadline=$((EPOCHSECONDS + BENCH_TIMEOUT)) next_report=$((EPOCHSECONDS + 10))
  local reached confirmed behind
  poll_open
  while :; do
    walflow_check_running
    poll_query "SELECT coalesce(s.confirmed_flush_lsn >= '$lsn'::pg_lsn, false), coalesce(s.confirmed_flush_lsn::text, '-'), coalesce(pg_wal_lsn_diff('$lsn'::pg_lsn, s.confirmed_flush_lsn)::bigint, -1) FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots AS s ON s.slot_name = '$slot';"
    IFS='|' read -r reached confirmed behind <<<"$REPLY"
    [[ $reached == t ]] && break
    ((EPOCHSECONDS < deadline)) || die "slot $slot did not reach $lsn within ${BENCH_TIMEOUT}s (at $confirmed)"
    if ((EPOCHSECONDS >= next_report)); then
      log "waiting: slot $slot confirmed $confirmed, $((behind / 1048576)) MB of WAL before the end mark"
      next_report=$((EPOCHSECONDS + 10))
    fi
    sleep "$POLL_INTERVAL"
  done
  poll_close
}

# Waits until walflow's log has a progress line counting at least N events written (see
# walflow_log_events_time); fails if walflow exits or BENCH_TIMEOUT passes.
walflow_wait_events_written() {
  local n=$1 deadline=$((EPOCHSECONDS + BENCH_TIMEOUT))
  until walflow_log_events_time "$WORK/walflow.log" "$n" >/dev/null; do
    walflow_check_running
    ((EPOCHSECONDS < deadline)) || die "walflow did not log $n events written within ${BENCH_TIMEOUT}s"
    sleep "$POLL_INTERVAL"
  done
}

# Bytes of the files under DIR, and lines of its *.jsonl files.
output_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
output_lines() { find "$1" -type f -name '*.jsonl' -exec cat -- {} + | wc -l; }
# Number and bytes ("FILES BYTES") of the files under DIR whose name matches PATTERN.
output_files_named() { find "$1" -type f -name "$2" -printf '%s\n' | awk '{ n++; s += $1 } END { printf "%d %.0f\n", n, s }'; }

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
