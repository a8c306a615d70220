#!/usr/bin/env bash
# Replication throughput: walflow against pg_recvlogical reading the same WAL with
# pgoutput. Two slots are created at the same point, one workload is written, then
# pg_recvlogical (to /dev/null) and walflow (to a jsonl sink) each consume it from their
# own slot. See bench/README.md.
#
# Env: ROWS (1000000) inserts, UPDATES (500000) updates, BATCH (10000) rows per
# transaction, WALFLOW_BIN, PG_BIN, PG_LOCAL, BENCH_TIMEOUT, POLL_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-1000000}
UPDATES=${UPDATES:-500000}
BATCH=${BATCH:-10000}
[[ $ROWS =~ ^[0-9]+$ && $UPDATES =~ ^[0-9]+$ && $BATCH =~ ^[0-9]+$ ]] || die "ROWS, UPDATES and BATCH must be numbers"
((ROWS > 0 && BATCH > 0)) || die "ROWS and BATCH must be positive"
EVENTS=$((ROWS + UPDATES))

bench_require walflow pg_recvlogical
bench_start_server
bench_create_schema

# Both slots start from the same point: nothing is written between their creation.
sql >/dev/null <<'SQL'
SELECT pg_create_logical_replication_slot('bench_baseline', 'pgoutput');
SELECT pg_create_logical_replication_slot('bench_walflow', 'pgoutput');
SQL
start_lsn=$(sql -c 'SELECT pg_current_wal_insert_lsn()')

log "workload: $ROWS inserts, then $UPDATES updates, $BATCH rows per transaction"
t0=$EPOCHREALTIME
end_lsn=$({ emit_inserts 1 "$ROWS" "$BATCH"; emit_updates "$UPDATES" "$ROWS" "$BATCH"; } | run_marking_end)
t1=$EPOCHREALTIME
workload_s=$(seconds_between "$t0" "$t1")
wal_bytes=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '$start_lsn')::bigint")
log "workload written in ${workload_s}s: WAL $start_lsn .. $end_lsn"

log "baseline: pg_recvlogical from slot bench_baseline"
t0=$EPOCHREALTIME
"$PG_BIN/pg_recvlogical" -d "$DSN" --slot=bench_baseline --start --endpos="$end_lsn" --no-loop \
  -o proto_version=1 -o publication_names=bench_pub -f /dev/null
t1=$EPOCHREALTIME
recv_s=$(seconds_between "$t0" "$t1")
log "pg_recvlogical done in ${recv_s}s"

log "walflow: $WALFLOW_BIN run from slot bench_walflow"
walflow_write_config "$WORK/walflow.yaml"
t0=$EPOCHREALTIME
walflow_start "$WORK/walflow.yaml"
walflow_wait_confirmed bench_walflow "$end_lsn"
t1=$EPOCHREALTIME
walflow_s=$(seconds_between "$t0" "$t1")
peak_kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
walflow_stop
walflow_rc=$STOP_RC
log "walflow done in ${walflow_s}s"
((walflow_rc == 0)) || log "warning: walflow exited with status $walflow_rc after SIGINT"

recv_eps=$(per_second "$EVENTS" "$recv_s")
walflow_eps=$(per_second "$EVENTS" "$walflow_s")
ratio=$(awk -v r="$recv_s" -v w="$walflow_s" 'BEGIN { printf "%.2f", (w > 0 ? r / w : 0) }')

printf '\n== replication throughput (%s inserts + %s updates, %s rows per transaction)\n' "$ROWS" "$UPDATES" "$BATCH"
printf '%-28s %s\n' \
  "events" "$EVENTS" \
  "WAL written (MB)" "$(kb_to_mb $((wal_bytes / 1024)))" \
  "workload seconds" "$workload_s" \
  "pg_recvlogical seconds" "$recv_s" \
  "pg_recvlogical events/s" "$recv_eps" \
  "walflow seconds" "$walflow_s" \
  "walflow events/s" "$walflow_eps" \
  "walflow output bytes" "$(output_bytes)" \
  "walflow output lines" "$(output_lines)" \
  "walflow peak RSS (MB)" "$(kb_to_mb "$peak_kb")"
printf 'ratio walflow/pg_recvlogical = %s (goal >= 0.80)\n' "$ratio"
