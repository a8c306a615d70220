#!/usr/bin/env bash
# Parquet throughput: walflow writing Parquet files (a local folder) against walflow
# writing jsonl files, reading the same WAL. Slots are created at the same point, one
# workload is written to a table with a mix of column types, then in each round walflow
# consumes the whole workload once per mode, each from a slot of its own: to a jsonl sink,
# and to a parquet sink with each codec of CODECS. Reports the medians, events/s, the
# ratios parquet/jsonl, peak RSS, and the bytes per row of each output, the Parquet rows
# counted by reading the files back with DuckDB. A last, untimed run writes one Parquet
# file (max_file_age 1h) and is stopped with SIGINT once every event is written, for the
# bytes per row of large files and the sink's clean shutdown. See bench/README.md.
#
# Env: ROWS (200000) inserts, UPDATES (100000) updates, BATCH (10000) rows per
# transaction, ROUNDS (3), CODECS ("zstd snappy"; any of zstd, snappy, none; at most
# 10 slots: ROUNDS x (1 + codecs) + 1), MAX_FILE_AGE (1s) and PARQUET_FLUSH_INTERVAL
# (100ms) of the timed parquet runs, ROW_GROUP_SIZE (32MB, the sink's default) of every
# parquet run, PROGRESS_INTERVAL (100ms) of walflow's progress log,
# NODE (node), DUCKDB_QUERY (tests/node/duckdb-query.mjs), WALFLOW_BIN, PG_BIN, PG_LOCAL,
# BENCH_TIMEOUT, POLL_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-200000}
UPDATES=${UPDATES:-100000}
BATCH=${BATCH:-10000}
ROUNDS=${ROUNDS:-3}
CODECS=${CODECS:-zstd snappy}
MAX_FILE_AGE=${MAX_FILE_AGE:-1s}
PARQUET_FLUSH_INTERVAL=${PARQUET_FLUSH_INTERVAL:-100ms}
ROW_GROUP_SIZE=${ROW_GROUP_SIZE:-32MB}
PROGRESS_INTERVAL=${PROGRESS_INTERVAL:-100ms}
NODE=${NODE:-node}
DUCKDB_QUERY=${DUCKDB_QUERY:-$BENCH_ROOT/tests/node/duckdb-query.mjs}
for var in ROWS UPDATES BATCH ROUNDS; do
  [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, got '${!var}'"
done
((ROWS > 0 && BATCH > 0 && ROUNDS > 0)) || die "ROWS, BATCH and ROUNDS must be positive"
read -r -a codecs <<<"$CODECS"
((${#codecs[@]} > 0)) || die "CODECS is empty"
declare -A seen_codec
for codec in "${codecs[@]}"; do
  [[ $codec =~ ^(zstd|snappy|none)$ ]] || die "CODECS: unknown codec '$codec' (zstd, snappy, none)"
  [[ -z ${seen_codec[$codec]:-} ]] || die "CODECS: '$codec' appears twice"
  seen_codec[$codec]=1
done
MODES=(jsonl "${codecs[@]}")  # the runs of a round
((ROUNDS * ${#MODES[@]} + 1 <= 10)) ||
  die "ROUNDS x ${#MODES[@]} runs + 1 must be at most 10 slots (pg-local.sh's limit)"
EVENTS=$((ROWS + UPDATES))
ONEFILE_CODEC=${codecs[0]}
declare -A MODE_LABEL=([jsonl]="jsonl" [zstd]="parquet zstd" [snappy]="parquet snappy"
  [none]="parquet none" [onefile]="parquet $ONEFILE_CODEC, one file")
# Every run logs its progress often: the time all events were written, from the log.
WALFLOW_LOG_EXTRA="  progress_interval: $PROGRESS_INTERVAL"

# Prerequisites, before any workload.
bench_require walflow
command -v "$NODE" >/dev/null || die "no $NODE (runs $DUCKDB_QUERY, which reads the Parquet files back); set NODE"
[[ -f $DUCKDB_QUERY ]] || die "no $DUCKDB_QUERY; set DUCKDB_QUERY"
"$NODE" "$DUCKDB_QUERY" "SELECT 1" >/dev/null ||
  die "$DUCKDB_QUERY does not run (npm ci in $(dirname -- "$DUCKDB_QUERY")?)"

# Round 1 reads slots bench_jsonl, bench_zstd, ...; round R > 1 adds the suffix _R.
# The one-file run (mode onefile, round 0) reads slot bench_onefile_0.
slot_for() { if (($2 == 1)); then echo "bench_$1"; else echo "bench_$1_$2"; fi; }

TABLE=public.bench_orders
PUBLICATION=bench_orders_pub

# A table with a mix of types: bigint key, int, text (a status of five values, and a
# note with an md5 part, NULL in a quarter of the rows), numeric(12,2), two timestamptz,
# boolean, jsonb.
create_orders_schema() {
  sql <<SQL
CREATE TABLE $TABLE (
  id bigint PRIMARY KEY,
  customer_id int NOT NULL,
  status text NOT NULL,
  amount numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  paid boolean NOT NULL,
  note text,
  attrs jsonb
);
CREATE PUBLICATION $PUBLICATION FOR TABLE $TABLE;
SQL
}

# The workload's statements, one a line: ROWS inserts, then UPDATES updates of status,
# amount, paid and updated_at (every column is sent: the new tuple is whole). Values are
# deterministic but scattered by hashint8 where real data would be (customer, amount,
# the milliseconds of created_at, items), so that they do not compress as trivially as a
# sequence would; updated_at is now(), the same for a whole transaction.
emit_order_inserts() {
  local lo hi
  while read -r lo hi; do
    printf '%s\n' "INSERT INTO $TABLE SELECT g, (abs(hashint8(g)::bigint) % 50000 + 1)::int, (ARRAY['new', 'paid', 'packed', 'shipped', 'cancelled'])[g % 5 + 1], (abs(hashint8(g + 1000000007)::bigint) % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '7 seconds' + (abs(hashint8(-g)::bigint) % 7000) * interval '1 millisecond', now(), g % 3 = 0, CASE WHEN g % 4 <> 0 THEN 'order ' || g || ' ref ' || substr(md5(g::text), 1, 12) END, jsonb_build_object('channel', (ARRAY['web', 'app', 'store'])[g % 3 + 1], 'items', abs(hashint8(g + 7)::bigint) % 9 + 1, 'gift', g % 10 = 0) FROM generate_series($lo::bigint, $hi) g;"
  done < <(id_batches 1 "$ROWS" "$BATCH")
}
emit_order_updates() {
  local lo hi
  while read -r lo hi; do
    printf '%s\n' "UPDATE $TABLE SET status = 'shipped', amount = amount + 1.50, paid = true, updated_at = now() WHERE id BETWEEN $lo AND $hi;"
  done < <(update_batches "$UPDATES" "$ROWS" "$BATCH")
}

# The sink of a parquet run, as YAML lines under `sinks:`.
parquet_sink() {
  local out=$1 codec=$2 age=$3 flush=$4
  printf '%s\n' \
    "  - name: files" \
    "    type: parquet" \
    "    path: $out" \
    "    compression: $codec" \
    "    max_file_age: $age" \
    "    flush_interval: $flush" \
    "    row_group_size: $ROW_GROUP_SIZE"
}

# ---- setup ---------------------------------------------------------------------------
bench_start_server
create_orders_schema

# All slots start from the same point: nothing is written between their creation.
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in "${MODES[@]}"; do
    printf "SELECT pg_create_logical_replication_slot('%s', 'pgoutput');\n" "$(slot_for "$mode" "$r")"
  done
done | sql >/dev/null
sql -c "SELECT pg_create_logical_replication_slot('$(slot_for onefile 0)', 'pgoutput')" >/dev/null
start_lsn=$(sql -c 'SELECT pg_current_wal_insert_lsn()')

log "workload: $ROWS inserts, then $UPDATES updates, $BATCH rows per transaction"
t0=$EPOCHREALTIME
end_lsn=$({ emit_order_inserts; emit_order_updates; } | run_marking_end)
workload_s=$(seconds_between "$t0" "$EPOCHREALTIME")
wal_bytes=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '$start_lsn')::bigint")
log "workload written in ${workload_s}s: WAL $start_lsn .. $end_lsn"

# ---- runs ----------------------------------------------------------------------------
# Per run (key mode:round): seconds to the end mark, seconds to all events written, CPU
# seconds of walflow and of the walsender serving it, output files, bytes, rows (jsonl: lines), rows missing; per mode the peak RSS.
declare -A secs written cpu server_cpu files bytes rows missing peak_kb
log_issues=0
bad_outputs=0
uptime_before=$(uptime)
load_before=$(load_average)

# Seconds from T0 to the first progress line counting every event in the kept log of run
# NAME, or "-" when there is none.
written_since() {
  local t
  if t=$(walflow_log_events_time "$WORK/logs/$1.log" "$EVENTS"); then
    seconds_between "$2" "$t"
  else
    echo "-"
  fi
}

# Reads the Parquet files under DIR back with DuckDB; sets PQ_ROWS, PQ_INSERTS,
# PQ_UPDATES and PQ_DISTINCT (distinct _lsn, _seq: a row written twice counts once).
parquet_count() {
  local dir=$1 out row
  out=$("$NODE" "$DUCKDB_QUERY" "SELECT count(*), count(*) FILTER (WHERE _op = 'c'), count(*) FILTER (WHERE _op = 'u'), count(DISTINCT (_lsn, _seq)) FROM read_parquet('$dir/**/*.parquet')" 2>"$WORK/duckdb.log") ||
    die "DuckDB could not read the Parquet files under $dir: $(head -c 500 "$WORK/duckdb.log") (keep them with BENCH_KEEP=1)"
  row=$(sed -n 2p <<<"$out")
  [[ $row =~ ^\[\"([0-9]+)\",\"([0-9]+)\",\"([0-9]+)\",\"([0-9]+)\"\]$ ]] ||
    die "unexpected answer from $DUCKDB_QUERY: $out"
  PQ_ROWS=${BASH_REMATCH[1]} PQ_INSERTS=${BASH_REMATCH[2]} PQ_UPDATES=${BASH_REMATCH[3]} PQ_DISTINCT=${BASH_REMATCH[4]}
}

# Counts and checks the output of run MODE R in DIR/out.
measure_output() {
  local mode=$1 r=$2 dir=$3 key=$1:$2 leftovers
  if [[ $mode == jsonl ]]; then
    read -r "files[$key]" "bytes[$key]" < <(output_files_named "$dir/out" '*.jsonl')
    rows[$key]=$(output_lines "$dir/out")
    ((rows[$key] == EVENTS)) || log "warning: the jsonl sink wrote ${rows[$key]} lines in round $r, expected $EVENTS"
    return 0
  fi
  read -r "files[$key]" "bytes[$key]" < <(output_files_named "$dir/out" '*.parquet')
  leftovers=$(find "$dir/out" -name '*.inprogress' | wc -l)
  ((leftovers == 0)) || log "warning: $leftovers unfinished (.inprogress) files left by $mode, round $r"
  parquet_count "$dir/out"
  rows[$key]=$PQ_ROWS
  missing[$key]=$((EVENTS - PQ_ROWS))
  if ((missing[$key] != 0 || PQ_INSERTS != ROWS || PQ_UPDATES != UPDATES || PQ_DISTINCT != PQ_ROWS)); then
    log "error: parquet ($mode, round $r) holds $PQ_ROWS rows (${missing[$key]} missing), $PQ_INSERTS inserts," \
      "$PQ_UPDATES updates, $PQ_DISTINCT distinct (_lsn, _seq); expected $EVENTS, $ROWS, $UPDATES, $EVENTS"
    bad_outputs=$((bad_outputs + 1))
  fi
}

run_one() {
  local mode=$1 r=$2 slot dir config t0 kb sender
  slot=$(slot_for "$mode" "$r")
  dir=$WORK/$mode$r
  config=$WORK/$mode$r.yaml
  if [[ $mode == jsonl ]]; then
    walflow_write_config "$config" "$slot" "$dir" "$PUBLICATION" "$TABLE"
  else
    walflow_write_config_sinks "$config" "$slot" "$dir" \
      "$(parquet_sink "$dir/out" "$mode" "$MAX_FILE_AGE" "$PARQUET_FLUSH_INTERVAL")" "$PUBLICATION" "$TABLE"
  fi
  t0=$EPOCHREALTIME
  walflow_start "$config"
  walflow_wait_confirmed "$slot" "$end_lsn"
  secs[$mode:$r]=$(seconds_between "$t0" "$EPOCHREALTIME")
  cpu[$mode:$r]=$(proc_cpu_seconds "$WALFLOW_PID")
  kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  ((kb <= ${peak_kb[$mode]:-0})) || peak_kb[$mode]=$kb
  # The walsender decoding for this run (a process per replication connection).
  sender=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$slot'")
  server_cpu[$mode:$r]=$(proc_cpu_seconds "$sender" 2>/dev/null || echo "-")
  walflow_stop
  ((STOP_RC == 0)) || log "warning: walflow ($mode, round $r) exited with status $STOP_RC after SIGINT (log: $WORK/logs/$mode$r.log)"
  walflow_keep_log "$mode$r"
  log_issues=$((log_issues + WALFLOW_LOG_ISSUES))
  written[$mode:$r]=$(written_since "$mode$r" "$t0")
  measure_output "$mode" "$r" "$dir"
  # Each round writes the whole workload again: keep the disk from filling up.
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

# The one-file run, after the timed rounds: a parquet sink that would roll only after an
# hour, stopped with SIGINT as soon as its progress line counts every event; walflow then
# completes the open file and writes the commit record before it exits. Untimed.
run_onefile() {
  local slot dir config t0 t_int kb
  slot=$(slot_for onefile 0)
  dir=$WORK/onefile0
  config=$WORK/onefile0.yaml
  walflow_write_config_sinks "$config" "$slot" "$dir" \
    "$(parquet_sink "$dir/out" "$ONEFILE_CODEC" 1h 1s)" "$PUBLICATION" "$TABLE"
  t0=$EPOCHREALTIME
  walflow_start "$config"
  walflow_wait_events_written "$EVENTS"
  peak_kb[onefile]=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  t_int=$EPOCHREALTIME
  walflow_stop
  onefile_stop_s=$(seconds_between "$t_int" "$EPOCHREALTIME")
  onefile_rc=$STOP_RC
  ((STOP_RC == 0)) || log "warning: walflow (one-file run) exited with status $STOP_RC after SIGINT"
  kb=$(walflow_sampled_max_rss_kb)
  ((kb <= peak_kb[onefile])) || peak_kb[onefile]=$kb
  walflow_keep_log onefile0
  log_issues=$((log_issues + WALFLOW_LOG_ISSUES))
  written[onefile:0]=$(written_since onefile0 "$t0")
  onefile_confirmed=$(sql -c "SELECT coalesce(confirmed_flush_lsn::text, '-') || CASE WHEN confirmed_flush_lsn >= '$end_lsn'::pg_lsn THEN ' (>= end mark)' ELSE ' (before the end mark $end_lsn)' END FROM pg_replication_slots WHERE slot_name = '$slot'")
  # The position in the sink's newest commit record, and what walflow logged at its exit.
  onefile_record=$(find "$dir/out/_walflow/commits" -name '*.json' | sort | tail -n 1 | xargs -r grep -o '"position":"[^"]*"' | cut -d'"' -f4)
  onefile_logged=$(grep -o 'sinks durable up to .*' "$WORK/logs/onefile0.log" | tail -n 1)
  measure_output onefile 0 "$dir"
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

# Rotate the order, so that no run always reads the WAL right after the same other one.
for ((r = 1; r <= ROUNDS; r++)); do
  order=()
  for ((i = 0; i < ${#MODES[@]}; i++)); do order+=("${MODES[(i + r - 1) % ${#MODES[@]}]}"); done
  line=""
  for mode in "${order[@]}"; do
    run_one "$mode" "$r"
    line+="${line:+, }$mode ${secs[$mode:$r]}s"
  done
  log "round $r/$ROUNDS: $line"
done
load_after=$(load_average)

log "one-file run: parquet $ONEFILE_CODEC, max_file_age 1h, SIGINT once every event is written; not timed"
run_onefile
uptime_after=$(uptime)

# ---- report --------------------------------------------------------------------------
declare -A med med_written med_cpu med_server bpr
for mode in "${MODES[@]}"; do
  vals=() wvals=() cvals=() svals=() bvals=()
  for ((r = 1; r <= ROUNDS; r++)); do
    vals+=("${secs[$mode:$r]}")
    cvals+=("${cpu[$mode:$r]}")
    [[ ${server_cpu[$mode:$r]} == - ]] || svals+=("${server_cpu[$mode:$r]}")
    [[ ${written[$mode:$r]} == - ]] || wvals+=("${written[$mode:$r]}")
    bvals+=("$(awk -v b="${bytes[$mode:$r]}" -v n="${rows[$mode:$r]}" 'BEGIN { printf "%.1f", (n > 0 ? b / n : 0) }')")
  done
  med[$mode]=$(median "${vals[@]}")
  med_cpu[$mode]=$(median "${cvals[@]}")
  med_server[$mode]=-
  if ((${#svals[@]} > 0)); then med_server[$mode]=$(median "${svals[@]}"); fi
  med_written[$mode]=0
  if ((${#wvals[@]} > 0)); then med_written[$mode]=$(median "${wvals[@]}"); fi
  bpr[$mode]=$(median "${bvals[@]}")
done
bpr[onefile]=$(awk -v b="${bytes[onefile:0]}" -v n="${rows[onefile:0]}" 'BEGIN { printf "%.1f", (n > 0 ? b / n : 0) }')

printf '\n== parquet throughput: %s inserts + %s updates, %s rows per transaction\n' "$ROWS" "$UPDATES" "$BATCH"
printf '%-36s %s\n' \
  "events" "$EVENTS" \
  "table" "$TABLE (bigint key, int, 2 text, numeric(12,2), 2 timestamptz, boolean, jsonb)" \
  "WAL written (MB)" "$(kb_to_mb $((wal_bytes / 1024)))" \
  "workload seconds" "$workload_s" \
  "parquet sink (timed runs)" "max_file_age $MAX_FILE_AGE, flush_interval $PARQUET_FLUSH_INTERVAL, row_group_size $ROW_GROUP_SIZE, max_file_size 128MB" \
  "jsonl sink" "decimal_handling: string, schemas: false, flush_interval 1s (defaults otherwise)" \
  "walflow" "$WALFLOW_BIN" \
  "load average before / after" "$load_before / $load_after ($(nproc) CPUs)"
cat <<EOF
timing: each run from walflow's start until its slot's confirmed_flush_lsn >= the end mark
  (polled every ${POLL_INTERVAL}s), i.e. every event durable in the sink. The jsonl sink
  confirms within ~50 ms of its last write; the parquet sink only when it rolls its files,
  at its first checkpoint (every flush_interval) once the oldest open file is max_file_age
  old, so a parquet time includes up to ~$MAX_FILE_AGE + $PARQUET_FLUSH_INTERVAL of waiting after its last row.
  "written": from the start to walflow's first progress line (every $PROGRESS_INTERVAL) counting
  all $EVENTS events written by the sink; the same +0..0.2 s in every mode. "CPU": walflow's
  user + system seconds at the end mark; "walsender": the server process decoding for it.
EOF
for ((r = 1; r <= ROUNDS; r++)); do
  line=""
  for mode in "${MODES[@]}"; do
    line+="${line:+, }$mode ${secs[$mode:$r]}s (written ${written[$mode:$r]}s, CPU ${cpu[$mode:$r]}s, walsender ${server_cpu[$mode:$r]}s)"
  done
  printf '%-36s %s\n' "round $r" "$line"
done
for mode in "${MODES[@]}"; do
  printf '%-36s %s\n' \
    "${MODE_LABEL[$mode]} seconds" "${med[$mode]} (median of $ROUNDS; written ${med_written[$mode]}, CPU ${med_cpu[$mode]}, walsender ${med_server[$mode]})" \
    "${MODE_LABEL[$mode]} events/s" "$(per_second "$EVENTS" "${med[$mode]}") (written: $(per_second "$EVENTS" "${med_written[$mode]}"))" \
    "${MODE_LABEL[$mode]} peak RSS (MB)" "$(kb_to_mb "${peak_kb[$mode]}")"
done
for mode in "${MODES[@]}"; do
  if [[ $mode == jsonl ]]; then
    what="${rows[jsonl:1]} lines"
  else
    what="${rows[$mode:1]} rows (${missing[$mode:1]} missing), ${files[$mode:1]} files"
  fi
  printf '%-36s %s\n' "${MODE_LABEL[$mode]} output (round 1)" "$what, ${bytes[$mode:1]} bytes"
  printf '%-36s %s\n' "${MODE_LABEL[$mode]} bytes/row" "${bpr[$mode]} (median of $ROUNDS)"
done
printf '%-36s %s\n' \
  "${MODE_LABEL[onefile]} output" "${rows[onefile:0]} rows (${missing[onefile:0]} missing), ${files[onefile:0]} files, ${bytes[onefile:0]} bytes, ${bpr[onefile]} bytes/row" \
  "${MODE_LABEL[onefile]} run" "written ${written[onefile:0]}s, SIGINT to exit ${onefile_stop_s}s (status $onefile_rc), peak RSS $(kb_to_mb "${peak_kb[onefile]}") MB" \
  "${MODE_LABEL[onefile]} position" "commit record ${onefile_record:--}; walflow logged \"${onefile_logged:-nothing}\"" \
  "${MODE_LABEL[onefile]} slot confirmed" "$onefile_confirmed" \
  "walflow warning/error log lines" "$log_issues" \
  "uptime before" "$uptime_before" \
  "uptime after" "$uptime_after"
for mode in "${codecs[@]}"; do
  printf 'ratio %s/jsonl events/s = %s (written: %s)\n' "${MODE_LABEL[$mode]}" \
    "$(quotient "${med[jsonl]}" "${med[$mode]}")" "$(quotient "${med_written[jsonl]}" "${med_written[$mode]}")"
done
for mode in "${codecs[@]}" onefile; do
  printf 'ratio %s/jsonl bytes/row = %s\n' "${MODE_LABEL[$mode]}" "$(quotient "${bpr[$mode]}" "${bpr[jsonl]}")"
done
((bad_outputs == 0)) || die "the Parquet output did not hold exactly one row per event (see above)"
