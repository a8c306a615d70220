#!/usr/bin/env bash
# Replication throughput: walflow against pg_recvlogical reading the same WAL with
# pgoutput. Slots are created at the same point, one workload is written, then in each
# round pg_recvlogical (to /dev/null) and walflow (to a jsonl sink) each consume the
# whole workload from a slot of their own. See bench/README.md.
#
# Env: ROWS (1000000) inserts, UPDATES (500000) updates, BATCH (10000) rows per
# transaction, ROUNDS (3; at most 5 with pg-local.sh's 10 slots), WALFLOW_BIN, PG_BIN,
# PG_LOCAL, BENCH_TIMEOUT, POLL_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-1000000}
UPDATES=${UPDATES:-500000}
BATCH=${BATCH:-10000}
ROUNDS=${ROUNDS:-3}
for var in ROWS UPDATES BATCH ROUNDS; do
  [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, got '${!var}'"
done
((ROWS > 0 && BATCH > 0 && ROUNDS > 0)) || die "ROWS, BATCH and ROUNDS must be positive"
EVENTS=$((ROWS + UPDATES))

# Round 1 reads slots bench_baseline and bench_walflow; round R > 1 adds the suffix _R.
slot_suffix() { if (($1 == 1)); then echo ""; else echo "_$1"; fi; }

bench_require walflow pg_recvlogical
bench_start_server
bench_create_schema

# All slots start from the same point: nothing is written between their creation.
for ((r = 1; r <= ROUNDS; r++)); do
  printf "SELECT pg_create_logical_replication_slot('%s', 'pgoutput');\n" \
    "bench_baseline$(slot_suffix "$r")" "bench_walflow$(slot_suffix "$r")"
done | sql >/dev/null
start_lsn=$(sql -c 'SELECT pg_current_wal_insert_lsn()')

log "workload: $ROWS inserts, then $UPDATES updates, $BATCH rows per transaction"
t0=$EPOCHREALTIME
end_lsn=$({ emit_inserts 1 "$ROWS" "$BATCH"; emit_updates "$UPDATES" "$ROWS" "$BATCH"; } | run_marking_end)
workload_s=$(seconds_between "$t0" "$EPOCHREALTIME")
wal_bytes=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '$start_lsn')::bigint")
log "workload written in ${workload_s}s: WAL $start_lsn .. $end_lsn"

declare -a recv_s walflow_s walflow_cpu
peak_kb=0
out_bytes=0
out_lines=0
load_before=$(load_average)

run_baseline() {
  local r=$1 slot t0
  slot=bench_baseline$(slot_suffix "$r")
  t0=$EPOCHREALTIME
  "$PG_BIN/pg_recvlogical" -d "$DSN" --slot="$slot" --start --endpos="$end_lsn" --no-loop \
    -o proto_version=1 -o publication_names=bench_pub -f /dev/null
  recv_s[r]=$(seconds_between "$t0" "$EPOCHREALTIME")
}

run_walflow() {
  local r=$1 slot dir t0 kb
  slot=bench_walflow$(slot_suffix "$r")
  dir=$WORK/walflow$r
  walflow_write_config "$WORK/walflow$r.yaml" "$slot" "$dir"
  t0=$EPOCHREALTIME
  walflow_start "$WORK/walflow$r.yaml"
  walflow_wait_confirmed "$slot" "$end_lsn"
  walflow_s[r]=$(seconds_between "$t0" "$EPOCHREALTIME")
  kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  ((kb <= peak_kb)) || peak_kb=$kb
  walflow_cpu[r]=$(proc_cpu_seconds "$WALFLOW_PID")
  walflow_stop
  ((STOP_RC == 0)) || log "warning: walflow exited with status $STOP_RC after SIGINT (log: $WORK/walflow.log)"
  if ((r == 1)); then
    out_bytes=$(output_bytes "$dir/out")
    out_lines=$(output_lines "$dir/out")
  fi
  # Each round writes the whole workload again: keep the disk from filling up.
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

# Alternate who goes first, so neither always reads the WAL right after the other.
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    run_baseline "$r"
    run_walflow "$r"
  else
    run_walflow "$r"
    run_baseline "$r"
  fi
  log "round $r/$ROUNDS: pg_recvlogical ${recv_s[r]}s, walflow ${walflow_s[r]}s"
done
load_after=$(load_average)

recv_med=$(median "${recv_s[@]}")
walflow_med=$(median "${walflow_s[@]}")
ratio() { awk -v r="$1" -v w="$2" 'BEGIN { printf "%.2f", (w > 0 ? r / w : 0) }'; }

printf '\n== replication throughput: %s inserts + %s updates, %s rows per transaction\n' "$ROWS" "$UPDATES" "$BATCH"
printf '%-30s %s\n' \
  "events" "$EVENTS" \
  "WAL written (MB)" "$(kb_to_mb $((wal_bytes / 1024)))" \
  "workload seconds" "$workload_s" \
  "load average before / after" "$load_before / $load_after ($(nproc) CPUs)"
for ((r = 1; r <= ROUNDS; r++)); do
  printf '%-30s pg_recvlogical %ss, walflow %ss (CPU %ss), ratio %s\n' \
    "round $r" "${recv_s[r]}" "${walflow_s[r]}" "${walflow_cpu[r]}" "$(ratio "${recv_s[r]}" "${walflow_s[r]}")"
done
printf '%-30s %s\n' \
  "pg_recvlogical seconds" "$recv_med (median of $ROUNDS)" \
  "pg_recvlogical events/s" "$(per_second "$EVENTS" "$recv_med")" \
  "walflow seconds" "$walflow_med (median of $ROUNDS)" \
  "walflow events/s" "$(per_second "$EVENTS" "$walflow_med")" \
  "walflow output bytes" "$out_bytes" \
  "walflow output lines" "$out_lines" \
  "walflow peak RSS (MB)" "$(kb_to_mb "$peak_kb")"
printf 'ratio walflow/pg_recvlogical = %s (goal >= 0.80)\n' "$(ratio "$recv_med" "$walflow_med")"
