#!/usr/bin/env bash
# Initial snapshot throughput: walflow's `snapshot: initial_only` (exported snapshot,
# chunked COPY, Debezium JSON to a jsonl sink, then exit) against PostgreSQL's own
# `COPY table TO STDOUT` of the same table, at snapshot_parallelism 1 and 2, for a table
# of N rows and one of N/4 rows. Reports rows/s, the ratios walflow/COPY, the bytes each
# writes, and walflow's peak RSS at both sizes. See bench/README.md.
#
# Env: N (2000000) rows of the large table, SMALL_N (N/4) rows of the small one, R (3)
# rounds of each run, CHUNK (50000) snapshot_chunk_size, WALFLOW_BIN, PG_BIN, PG_LOCAL,
# BENCH_TIMEOUT, RSS_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-2000000}
[[ $N =~ ^[0-9]+$ ]] || die "N must be a number, got '$N'"
SMALL_N=${SMALL_N:-$((N / 4))}
R=${R:-3}
CHUNK=${CHUNK:-50000}
for var in SMALL_N R CHUNK; do
  [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, got '${!var}'"
done
((N > 0 && SMALL_N > 0 && R > 0 && CHUNK > 0)) || die "N, SMALL_N, R and CHUNK must be positive"
PARALLELISMS=(1 2)
SLOT=bench_snapshot

# The default binary is built when missing; a WALFLOW_BIN given explicitly must exist.
if [[ ! -x $WALFLOW_BIN && $WALFLOW_BIN == "$BENCH_ROOT/build/walflow" ]]; then
  log "no $WALFLOW_BIN: building it with scripts/build.sh (Release)"
  "$BENCH_ROOT/scripts/build.sh" >&2
fi
bench_require walflow
bench_start_server

# Two tables of the same shape: public.bench_snap_<rows>. A realistic row of ~115
# bytes: key, three ints, an amount, a distinct timestamp and a 40-character note.
table_for() { echo "public.bench_snap_$1"; }
pub_for() { echo "bench_snap_pub_$1"; }
create_table() {
  local n=$1 table pub
  table=$(table_for "$n")
  pub=$(pub_for "$n")
  sql <<SQL
CREATE TABLE $table (
  id bigint PRIMARY KEY,
  customer_id int NOT NULL,
  quantity int NOT NULL,
  status int NOT NULL,
  amount numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL,
  note text NOT NULL
);
INSERT INTO $table
SELECT g, (g * 7919 % 100000)::int, (g % 50 + 1)::int, (g % 5)::int,
       ((g * 104729 % 10000000) / 100.0)::numeric(12,2),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       'note-' || lpad(g::text, 8, '0') || '-' || substr(md5(g::text), 1, 26)
FROM generate_series(1::bigint, $n) AS g;
CREATE PUBLICATION $pub FOR TABLE $table;
SQL
}

SIZES=("$N")
((SMALL_N == N)) || SIZES+=("$SMALL_N")
t0=$EPOCHREALTIME
for n in "${SIZES[@]}"; do
  log "loading $n rows into $(table_for "$n")"
  create_table "$n"
done
# Hint bits set and statistics fresh, so that no reader pays for them; nothing dirty left.
sql -c 'VACUUM (ANALYZE)' -c 'CHECKPOINT'
log "loaded in $(seconds_between "$t0" "$EPOCHREALTIME")s"

# Drops SLOT once no walsender holds it any more (walflow's connection may still be
# closing on the server side just after the process exits).
drop_slot() {
  local deadline=$((EPOCHSECONDS + 30))
  while [[ $(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active") != 0 ]]; do
    ((EPOCHSECONDS < deadline)) || die "slot $SLOT is still active 30 s after walflow exited"
    sleep 0.1
  done
  sql >/dev/null -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT'"
}

# User + system CPU seconds of the children this shell has reaped, from `times` (which
# must run in this shell, not in a $(...) subshell, hence the file).
children_cpu_file() {
  awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}

declare -A secs cpu peak_kb out_bytes

# COPY TO STDOUT through psql to /dev/null: the server's own fastest full read of the
# table, plus psql's startup, as walflow's time includes its own.
run_copy() {
  local n=$1 r=$2 t0
  t0=$EPOCHREALTIME
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$DSN" -c "COPY $(table_for "$n") TO STDOUT" >/dev/null
  secs[$n:copy:$r]=$(seconds_between "$t0" "$EPOCHREALTIME")
}

# One walflow run from a fresh start: no slot, no data_dir, empty sink. Times it from
# the start of the process to its exit, checks the exit status and the line count.
run_walflow() {
  local n=$1 p=$2 r=$3 dir config t0 t1 rc=0 hwm_pid hwm_kb rss_kb lines
  dir=$WORK/walflow-$n-p$p
  config=$WORK/walflow-$n-p$p.yaml
  drop_slot
  rm -rf -- "$dir"
  walflow_write_config "$config" "$SLOT" "$dir" "$(pub_for "$n")" "$(table_for "$n")" \
    "$(printf '    snapshot: initial_only\n    snapshot_parallelism: %s\n    snapshot_chunk_size: %s' \
      "$p" "$CHUNK")" "    flush_interval: 1s"

  times >"$WORK/times-before"
  t0=$EPOCHREALTIME
  walflow_start "$config"  # also samples VmRSS into $WORK/walflow-rss.tsv
  # VmHWM is the kernel's own peak, but /proc forgets it when the process exits: keep
  # the last reading. The same loop stops walflow (SIGINT) after BENCH_TIMEOUT seconds.
  rm -f -- "$WORK/walflow-timed-out"
  (
    deadline=$((EPOCHSECONDS + BENCH_TIMEOUT))
    while proc_running "$WALFLOW_PID"; do
      kb=$(proc_status_kb "$WALFLOW_PID" VmHWM 2>/dev/null) && printf '%s\n' "$kb"
      if ((EPOCHSECONDS >= deadline)); then
        : >"$WORK/walflow-timed-out"
        kill -INT "$WALFLOW_PID" 2>/dev/null
        break
      fi
      sleep "$RSS_INTERVAL"
    done
  ) >"$WORK/walflow-hwm.txt" &
  hwm_pid=$!
  wait "$WALFLOW_PID" || rc=$?
  t1=$EPOCHREALTIME
  times >"$WORK/times-after"
  WALFLOW_PID=""
  kill "$RSS_SAMPLER_PID" "$hwm_pid" 2>/dev/null || true
  wait "$RSS_SAMPLER_PID" "$hwm_pid" 2>/dev/null || true
  RSS_SAMPLER_PID=""
  if ((rc != 0)) || [[ -e $WORK/walflow-timed-out ]]; then
    log "last lines of walflow's log:"
    tail -n 20 "$WORK/walflow.log" >&2
    [[ ! -e $WORK/walflow-timed-out ]] ||
      die "walflow (rows $n, parallelism $p, round $r) did not finish within ${BENCH_TIMEOUT}s"
    die "walflow (rows $n, parallelism $p, round $r) exited with status $rc"
  fi

  lines=$(output_lines "$dir/out")
  ((lines == n)) || die "walflow (rows $n, parallelism $p, round $r) wrote $lines lines, expected $n (output in $dir/out)"
  secs[$n:p$p:$r]=$(seconds_between "$t0" "$t1")
  cpu[$n:p$p:$r]=$(awk -v a="$(children_cpu_file "$WORK/times-before")" \
    -v b="$(children_cpu_file "$WORK/times-after")" 'BEGIN { printf "%.2f", b - a }')
  hwm_kb=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$WORK/walflow-hwm.txt")
  rss_kb=$(walflow_sampled_max_rss_kb)
  ((rss_kb <= hwm_kb)) || hwm_kb=$rss_kb
  ((hwm_kb > 0)) || die "no RSS reading of walflow (it ran ${secs[$n:p$p:$r]}s; lower RSS_INTERVAL)"
  ((hwm_kb <= ${peak_kb[$n:p$p]:-0})) || peak_kb[$n:p$p]=$hwm_kb
  out_bytes[$n:p$p]=$(output_bytes "$dir/out")
  drop_slot
  # Every run writes the whole table again as JSON: keep the disk from filling up.
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

load_before=$(load_average)
for n in "${SIZES[@]}"; do
  # COPY's output, once, untimed: its size, and the table read into the page cache
  # before the first timed run.
  out_bytes[$n:copy]=$("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$DSN" -c "COPY $(table_for "$n") TO STDOUT" | wc -c)
  runs=(copy "${PARALLELISMS[@]/#/p}")
  for ((r = 1; r <= R; r++)); do
    # Rotate the order each round, so that no run always follows the same one.
    for ((i = 0; i < ${#runs[@]}; i++)); do
      run=${runs[(i + r - 1) % ${#runs[@]}]}
      if [[ $run == copy ]]; then run_copy "$n" "$r"; else run_walflow "$n" "${run#p}" "$r"; fi
    done
    log "$n rows, round $r/$R: COPY ${secs[$n:copy:$r]}s$(for p in "${PARALLELISMS[@]}"; do printf ', walflow p=%s %ss' "$p" "${secs[$n:p$p:$r]}"; done)"
  done
done
load_after=$(load_average)

ratio() { awk -v c="$1" -v w="$2" 'BEGIN { printf "%.2f", (w > 0 ? c / w : 0) }'; }
round_values() {
  local key=$1 r
  for ((r = 1; r <= R; r++)); do printf '%s\n' "${secs[$key:$r]}"; done
}

printf '\n== snapshot throughput: walflow snapshot: initial_only against COPY TO STDOUT\n'
printf '%-34s %s\n' \
  "snapshot_chunk_size" "$CHUNK" \
  "rounds" "$R (median reported)" \
  "load average before / after" "$load_before / $load_after ($(nproc) CPUs)"
for n in "${SIZES[@]}"; do
  table=$(table_for "$n")
  mapfile -t v < <(round_values "$n:copy")
  copy_med=$(median "${v[@]}")
  printf '\n-- %s rows (%s, %s MB on disk)\n' "$n" "$table" \
    "$(kb_to_mb $(($(sql -c "SELECT pg_table_size('$table')") / 1024)))"
  for ((r = 1; r <= R; r++)); do
    line="COPY ${secs[$n:copy:$r]}s"
    for p in "${PARALLELISMS[@]}"; do
      line+=", walflow p=$p ${secs[$n:p$p:$r]}s (CPU ${cpu[$n:p$p:$r]}s)"
    done
    printf '%-34s %s\n' "round $r" "$line"
  done
  printf '%-34s %s\n' \
    "COPY seconds" "$copy_med" \
    "COPY rows/s" "$(per_second "$n" "$copy_med")" \
    "COPY output bytes (text)" "${out_bytes[$n:copy]}"
  for p in "${PARALLELISMS[@]}"; do
    mapfile -t v < <(round_values "$n:p$p")
    med=$(median "${v[@]}")
    printf '%-34s %s\n' \
      "walflow p=$p seconds" "$med" \
      "walflow p=$p rows/s" "$(per_second "$n" "$med")" \
      "walflow p=$p output bytes (JSON)" "${out_bytes[$n:p$p]}" \
      "walflow p=$p peak RSS (MB)" "$(kb_to_mb "${peak_kb[$n:p$p]}")" \
      "ratio walflow p=$p/COPY" "$(ratio "$copy_med" "$med")"
  done
done

printf '\n-- walflow peak RSS (MB) by table size\n'
for p in "${PARALLELISMS[@]}"; do
  line=""
  for n in "${SIZES[@]}"; do
    line+="${line:+, }$n rows $(kb_to_mb "${peak_kb[$n:p$p]}")"
  done
  printf '%-34s %s\n' "snapshot_parallelism $p" "$line"
done
