#!/usr/bin/env bash
# View throughput: what SQL views cost on the stream, against the same stream with no
# view, on the same WAL; and whether a view's cost per change and walflow's memory grow
# with the size of the table the view holds.
#
# For each of two databases, `bench` (ROWS customers) and `bench_big` (BIG_ROWS customers):
#   1. load public.customers with generate_series and create publication bench_pub;
#   2. prepare (not timed): `walflow run` with `snapshot: initial` on a new slot and the
#      views, until the table's rows are in the views' state and the slot is confirmed past
#      a mark written after it; stop it (SIGINT). Its data_dir is the template of every
#      view run; its slot, never read again, is the origin of every run's slot;
#   3. write the workload: TXS transactions of TX_CHANGES changes (80 % UPDATEs of rows
#      spread over the whole table, a fifth of them moving the row to another country and
#      city; 10 % DELETEs; 10 % INSERTs) with a PL/pgSQL procedure, then one marked
#      transaction (one UPDATE) whose WAL insert position, read inside it, is the end mark;
#   4. after both are prepared, for each round and configuration (the order rotates each
#      round), on one table then the other (so both see the same load): copy the origin slot
#      (pg_copy_logical_replication_slot: every run decodes exactly the same WAL), copy the
#      view's prepared state, start `walflow run` (`snapshot: never`) and wait until the
#      slot's confirmed_flush_lsn >= the end mark (polled every POLL_INTERVAL s): every change
#      applied, the view's state committed, the sink durable. "stream" time runs from the
#      log line "streaming from slot" (the view's RocksDB state and the sink are open) to
#      that moment; "run" time from the process's start.
#
# Configurations, each with one jsonl sink (decimal_handling: string, schemas: false):
#   none      the sink takes public.customers (every change as a Debezium event)
#   group     the sink takes view by_country: SELECT country, count(*), sum(balance),
#             avg(age), min(joined), max(joined), count(DISTINCT city) ... GROUP BY country
#   filter    the sink takes view active: SELECT id, name, upper(city), country, balance
#             ... WHERE balance >= 100 AND age BETWEEN 25 AND 65 (about half the rows)
# On BIG_ROWS only none and group, unless BIG_FILTER=1 (its snapshot doubles the prepare).
#
# Ratios, on the stream medians: (a) group/none and (b) filter/none changes per second on
# ROWS; (c) the group view's seconds per change on BIG_ROWS / on ROWS (the state holds every
# row of the table and the updates touch rows all over it); (d) walflow's peak RSS (VmHWM
# read before the stop, or the largest VmRSS sample if larger) over every BIG_ROWS run, the
# prepare run (the snapshot into the state) included. Each also in walflow's CPU seconds.
# The script is a measurement: it exits 0 on FAIL too, non-zero only when it cannot
# measure (walflow exits early, a timeout, a server error).
#
# Env: ROWS (100000), BIG_ROWS (3000000), TXS (1000) transactions of TX_CHANGES (100)
# changes, ROUNDS (3), COUNTRIES (40), CITIES (2000), BIG_FILTER (0), RSS_LIMIT_MB (300),
# WALFLOW_BIN, PG_BIN, PG_LOCAL, BENCH_TIMEOUT, POLL_INTERVAL, RSS_INTERVAL, BENCH_KEEP
# (bench/lib.sh). Disk: about 3 GB at the peak with the defaults.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-100000}
BIG_ROWS=${BIG_ROWS:-3000000}
TXS=${TXS:-1000}
TX_CHANGES=${TX_CHANGES:-100}
ROUNDS=${ROUNDS:-3}
COUNTRIES=${COUNTRIES:-40}
CITIES=${CITIES:-2000}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-300}
for var in ROWS BIG_ROWS TXS TX_CHANGES ROUNDS COUNTRIES CITIES RSS_LIMIT_MB; do
  [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, got '${!var}'"
done
((ROWS >= 1000 && BIG_ROWS >= 1000 && TXS > 0 && TX_CHANGES >= 10 && ROUNDS > 0)) ||
  die "ROWS and BIG_ROWS must be >= 1000, TXS and ROUNDS positive, TX_CHANGES >= 10"
((COUNTRIES > 0 && CITIES > 0)) || die "COUNTRIES and CITIES must be positive"
# Deletes take the lowest ids: the table must outlive the workload.
((TXS * (TX_CHANGES / 10) < ROWS / 2)) || die "TXS * TX_CHANGES / 10 must stay below ROWS / 2"

BIG_FILTER=${BIG_FILTER:-0}
# The filter view runs on BIG_ROWS only with BIG_FILTER=1: its snapshot doubles the prepare.
CONFIGS_small=(none group filter)
CONFIGS_big=(none group)
((BIG_FILTER == 0)) || CONFIGS_big+=(filter)
readonly kGroupSql="SELECT country, count(*) AS customers, sum(balance) AS balance, avg(age) AS avg_age, min(joined) AS first_joined, max(joined) AS last_joined, count(DISTINCT city) AS cities FROM customers GROUP BY country"
readonly kFilterSql="SELECT id, name, upper(city) AS city, country, balance FROM customers WHERE balance >= 100 AND age BETWEEN 25 AND 65"
WALFLOW_LOG_EXTRA="  progress_interval: 1s"

bench_require walflow
bench_start_server
BASE_DSN=$DSN  # database bench

# Creates database DB (unless it is `bench`), the table with N rows, the publication and
# the workload procedure; sets DSN to DB.
create_database() {
  local db=$1 n=$2
  [[ $db == bench ]] || sql -c "CREATE DATABASE $db" >/dev/null
  DSN=${BASE_DSN/dbname=bench/dbname=$db}
  sql >/dev/null <<SQL
CREATE TABLE public.customers (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  country text NOT NULL,
  city text NOT NULL,
  balance numeric(12,2) NOT NULL,
  age int NOT NULL,
  joined date NOT NULL,
  email text
);
-- One row per id g; the workload inserts with the same expressions.
CREATE FUNCTION bench_insert(first bigint, last bigint) RETURNS bigint LANGUAGE sql AS \$\$
  WITH ins AS (
    INSERT INTO public.customers
    SELECT g, 'customer-' || g, 'country-' || lpad((g % $COUNTRIES)::text, 3, '0'),
           'city-' || (g * 7919 % $CITIES), ((g * 37 % 100000) / 100.0)::numeric(12,2),
           18 + (g % 70)::int, date '2000-01-01' + (g * 13 % 9000)::int,
           'customer-' || g || '@example.com'
    FROM generate_series(first, last) AS g
    RETURNING 1)
  SELECT count(*) FROM ins
\$\$;
SELECT bench_insert(1, $n);
-- TXS transactions of PER_TX changes: updates of distinct live rows spread over the
-- table, then deletes of the lowest ids, then inserts above the highest. Returns the
-- number of rows changed.
CREATE PROCEDURE bench_workload(txs int, per_tx int, INOUT changes bigint DEFAULT 0)
LANGUAGE plpgsql AS \$\$
DECLARE
  low bigint;
  next_id bigint;
  nd int := greatest(per_tx / 10, 1);
  nu int := per_tx - 2 * greatest(per_tx / 10, 1);
  span bigint;
  k bigint;
BEGIN
  SELECT min(id), max(id) + 1 INTO low, next_id FROM public.customers;
  FOR t IN 1..txs LOOP
    span := next_id - (low + nd);
    UPDATE public.customers SET
        balance = balance + ((id + t) % 41 - 20) * 0.25,
        age = 18 + (age - 17) % 70,
        country = CASE WHEN (id + t) % 5 = 0
                       THEN 'country-' || lpad(((id + t) % $COUNTRIES)::text, 3, '0')
                       ELSE country END,
        city = CASE WHEN (id + t) % 5 = 0 THEN 'city-' || ((id * 31 + t) % $CITIES) ELSE city END,
        joined = CASE WHEN (id + t) % 50 = 0 THEN joined + 1 ELSE joined END
      WHERE id IN (SELECT low + nd + ((t::bigint * nu + g) * 7919) % span
                   FROM generate_series(0, nu - 1) AS g);
    GET DIAGNOSTICS k = ROW_COUNT;
    changes := changes + k;
    DELETE FROM public.customers WHERE id >= low AND id < low + nd;
    GET DIAGNOSTICS k = ROW_COUNT;
    changes := changes + k;
    low := low + nd;
    changes := changes + bench_insert(next_id, next_id + nd - 1);
    next_id := next_id + nd;
    COMMIT;
  END LOOP;
END
\$\$;
CREATE PUBLICATION bench_pub FOR TABLE public.customers;
VACUUM (ANALYZE) public.customers;
CHECKPOINT;
SQL
}


# Writes a pipeline reading SLOT with the views of CONFIG (none, group, filter, or
# prepare-group / prepare-both), its state in DIR/state and its jsonl sink in DIR/out.
write_config() {
  local file=$1 slot=$2 dir=$3 config=$4 snapshot=$5 from
  case $config in
    none) from=public.customers ;;
    group) from=by_country ;;
    filter) from=active ;;
    prepare-*) from=by_country ;;  # the filter view's snapshot rows are not written out
    *) die "unknown configuration $config" ;;
  esac
  mkdir -p "$dir/out" "$dir/state"
  {
    cat <<EOF
source:
  postgres:
    dsn: "$DSN"
    slot: $slot
    publication: bench_pub
    tables: [public.customers]
    snapshot: $snapshot
data_dir: $dir/state
log:
  level: info
$WALFLOW_LOG_EXTRA
EOF
    if [[ $config != none ]]; then printf 'views:\n'; fi
    if [[ $config == group || $config == prepare-* ]]; then
      printf '  - name: by_country\n    sql: %s\n' "$kGroupSql"
    fi
    if [[ $config == filter || $config == prepare-both ]]; then
      printf '  - name: active\n    sql: %s\n' "$kFilterSql"
    fi
    cat <<EOF
sinks:
  - name: files
    type: jsonl
    path: $dir/out
    decimal_handling: string
    schemas: false
    from: [$from]
EOF
  } >"$file"
}

# Runs one marked transaction; prints its end mark (see run_marking_end in lib.sh).
mark_transaction() {
  sql <<'SQL'
BEGIN;
UPDATE public.customers SET age = age WHERE id = (SELECT max(id) FROM public.customers);
SELECT pg_current_wal_insert_lsn();
COMMIT;
SQL
}

# Drops SLOT once no walsender holds it any more (at most 30 s after walflow's exit).
drop_slot() {
  local slot=$1 i
  for ((i = 0; i < 300; i++)); do
    if sql -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "could not drop slot $slot"
}

# Waits until SLOT exists (walflow creates it first thing; during the initial snapshot it is
# not active yet), at most 60 s.
wait_slot_created() {
  local slot=$1 deadline=$((EPOCHSECONDS + 60))
  until [[ $(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'") == 1 ]]; do
    walflow_check_running
    ((EPOCHSECONDS < deadline)) || die "walflow did not create slot $slot within 60 s"
    sleep "$POLL_INTERVAL"
  done
}

# Larger of VmHWM (read just before the stop) and the sampler's largest VmRSS, in kB.
run_peak_kb() {
  local hwm=$1 sampled
  sampled=$(walflow_sampled_max_rss_kb)
  if ((sampled > hwm)); then echo "$sampled"; else echo "$hwm"; fi
}

# Seconds since the epoch of the log's "streaming from slot" line (walflow has opened its
# state and the sinks, and asked for the stream); fails if there is none yet.
streaming_since() {
  local stamp
  stamp=$(awk '$3 == "[pg]" && $4 == "streaming" && $5 == "from" { print $1; exit }' "$WORK/walflow.log")
  [[ -n $stamp ]] || return 1
  date -u -d "$stamp" +%s.%6N
}

# Figures by "size,config,round" (timed runs) and by size (prepare run, workload).
declare -A seconds stream cpu stream_cpu peak_kb out_lines
declare -A changes prepare_s prepare_kb snapshot_rate workload_s state_mb dsn origin end_lsn
issues=0

# Loads the database, prepares the views' state and writes the workload; sets dsn, origin
# and end_lsn of SIZE.
prepare() {
  local size=$1 db=$2 n=$3 dir t0 lsn kb views=prepare-group
  local -n configs=CONFIGS_$size
  [[ " ${configs[*]} " != *" filter "* ]] || views=prepare-both
  log "[$size] loading $n rows into $db.public.customers"
  create_database "$db" "$n"
  dsn[$size]=$DSN
  origin[$size]=bench_origin_$size
  dir=$WORK/$size/prepare
  write_config "$WORK/$size-prepare.yaml" "${origin[$size]}" "$dir" "$views" initial
  log "[$size] prepare: initial snapshot into the views (${views#prepare-}; not timed)"
  t0=$EPOCHREALTIME
  walflow_start "$WORK/$size-prepare.yaml"
  wait_slot_created "${origin[$size]}"
  lsn=$(mark_transaction)  # after the slot's start: streamed once the snapshot is done
  walflow_wait_confirmed "${origin[$size]}" "$lsn"
  prepare_s[$size]=$(seconds_between "$t0" "$EPOCHREALTIME")
  kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  prepare_kb[$size]=$(run_peak_kb "$kb")
  walflow_stop
  ((STOP_RC == 0)) || die "the prepare run exited with status $STOP_RC after SIGINT"
  walflow_keep_log "$size-prepare"
  issues=$((issues + WALFLOW_LOG_ISSUES))
  state_mb[$size]=$(du -sm "$dir/state/views" | cut -f1)
  # "[snapshot] N rows in S s (R rows/s), chunks ...": the last such line.
  snapshot_rate[$size]=$(awk '$3 == "[snapshot]" && $5 == "rows" && $6 == "in" { r = $9 }
    END { sub(/^\(/, "", r); print r + 0 }' "$WORK/logs/$size-prepare.log")
  log "[$size] prepared in ${prepare_s[$size]}s; view state ${state_mb[$size]} MB"

  log "[$size] workload: $TXS transactions of $TX_CHANGES changes"
  t0=$EPOCHREALTIME
  changes[$size]=$(sql -c "CALL bench_workload($TXS, $TX_CHANGES)")
  end_lsn[$size]=$(mark_transaction)
  changes[$size]=$((changes[$size] + 1))
  workload_s[$size]=$(seconds_between "$t0" "$EPOCHREALTIME")
  log "[$size] ${changes[$size]} changes written in ${workload_s[$size]}s, end mark ${end_lsn[$size]}"
}

# One timed run of CONFIG on the prepared database SIZE.
run_config() {
  local size=$1 config=$2 r=$3 slot dir t0 t1 kb view cpu0 since
  DSN=${dsn[$size]}
  slot=bench_${size}_${config}_$r
  dir=$WORK/$size/$config-$r
  sql -c "SELECT pg_copy_logical_replication_slot('${origin[$size]}', '$slot')" >/dev/null
  write_config "$WORK/$size-$config-$r.yaml" "$slot" "$dir" "$config" never
  case $config in
    group) view=views.by_country ;;
    filter) view=views.active ;;
    *) view="" ;;
  esac
  if [[ -n $view ]]; then
    mkdir -p "$dir/state/views"
    cp -a -- "$WORK/$size/prepare/state/views/$view" "$dir/state/views/"
  fi
  : >"$WORK/walflow.log"  # the previous run's "streaming from slot" line must not count
  t0=$EPOCHREALTIME
  walflow_start "$WORK/$size-$config-$r.yaml"
  # The CPU spent opening the state, read when the stream starts (to about POLL_INTERVAL).
  until since=$(streaming_since); do
    walflow_check_running
    sleep "$POLL_INTERVAL"
  done
  cpu0=$(proc_cpu_seconds "$WALFLOW_PID")
  walflow_wait_confirmed "$slot" "${end_lsn[$size]}"
  t1=$EPOCHREALTIME
  seconds[$size,$config,$r]=$(seconds_between "$t0" "$t1")
  stream[$size,$config,$r]=$(seconds_between "$since" "$t1")
  kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  peak_kb[$size,$config,$r]=$(run_peak_kb "$kb")
  cpu[$size,$config,$r]=$(proc_cpu_seconds "$WALFLOW_PID")
  stream_cpu[$size,$config,$r]=$(awk -v a="$cpu0" -v b="${cpu[$size,$config,$r]}" 'BEGIN { printf "%.2f", b - a }')
  walflow_stop
  ((STOP_RC == 0)) || log "warning: walflow exited with status $STOP_RC after SIGINT"
  walflow_keep_log "$size-$config-$r"
  issues=$((issues + WALFLOW_LOG_ISSUES))
  out_lines[$size,$config,$r]=$(output_lines "$dir/out")
  drop_slot "$slot"
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
  log "[$size] round $r $config: ${seconds[$size,$config,$r]}s, streaming ${stream[$size,$config,$r]}s" \
    "(CPU ${stream_cpu[$size,$config,$r]}s), peak RSS $(kb_to_mb "${peak_kb[$size,$config,$r]}") MB," \
    "${out_lines[$size,$config,$r]} events out"
}

# ROUNDS rounds of every configuration, rotating which goes first, each configuration on
# both tables one after the other (so that both see the same load on the machine).
measure() {
  local r i config size
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < ${#CONFIGS_small[@]}; i++)); do
      config=${CONFIGS_small[(i + r - 1) % ${#CONFIGS_small[@]}]}
      for size in small big; do
        declare -n configs=CONFIGS_$size
        [[ " ${configs[*]} " != *" $config "* ]] || run_config "$size" "$config" "$r"
        unset -n configs
      done
    done
  done
  for size in small big; do
    DSN=${dsn[$size]}
    drop_slot "${origin[$size]}"
    [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$WORK/$size"
  done
}

# Median and largest over the rounds of FIELD (an associative array's name) for SIZE, CONFIG.
median_of() {
  local -n field=$1
  local size=$2 config=$3 r values=()
  for ((r = 1; r <= ROUNDS; r++)); do values+=("${field[$size,$config,$r]}"); done
  median "${values[@]}"
}
max_of() {
  local -n field=$1
  local size=$2 config=$3 r values=()
  for ((r = 1; r <= ROUNDS; r++)); do values+=("${field[$size,$config,$r]}"); done
  printf '%s\n' "${values[@]}" | sort -g | tail -n 1
}
# Largest peak RSS (kB) of SIZE's runs, the prepare run included.
max_peak_kb() {
  local size=$1 config m=${prepare_kb[$1]} p
  local -n configs=CONFIGS_$size
  for config in "${configs[@]}"; do
    p=$(max_of peak_kb "$size" "$config")
    ((p <= m)) || m=$p
  done
  echo "$m"
}
# Median seconds of FIELD (stream or stream_cpu) per change, for SIZE and CONFIG.
per_change() { awk -v s="$(median_of "$1" "$2" "$3")" -v n="${changes[$2]}" 'BEGIN { print s / n }'; }
micros_per() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.1f", s * 1e6 / n }'; }
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" \
    'BEGIN { ok = (op == ">=" ? v >= t : (op == "<=" ? v <= t : v < t)); print (ok ? "PASS" : "FAIL") }'
}

load_before=$(load_average)
t_script=$EPOCHREALTIME
prepare small bench "$ROWS"
prepare big bench_big "$BIG_ROWS"
measure
load_after=$(load_average)
total_s=$(seconds_between "$t_script" "$EPOCHREALTIME")

printf '\n== view throughput: %s transactions of %s changes, tables of %s and %s rows, %s rounds\n' \
  "$TXS" "$TX_CHANGES" "$ROWS" "$BIG_ROWS" "$ROUNDS"
printf '%-44s %s\n' \
  "group view (by_country)" "$kGroupSql" \
  "filter view (active)" "$kFilterSql" \
  "walflow" "$WALFLOW_BIN" \
  "load average before / after" "$load_before / $load_after ($(nproc) CPUs)" \
  "script seconds" "$total_s"
cat <<'EOF'
timing: every run replays the same WAL from a copy of one slot, from walflow's start until
  the slot's confirmed_flush_lsn >= the end mark. "run": the whole run; "stream": from the
  log line "streaming from slot" (state and sinks opened) to the end mark; the ratios use
  the stream medians. "CPU": walflow's user + system seconds while streaming. "us/change":
  stream seconds (or CPU seconds) per change of the workload.
EOF
for size in small big; do
  n=$ROWS
  [[ $size == small ]] || n=$BIG_ROWS
  declare -n configs=CONFIGS_$size
  printf -- '\n-- %s rows: %s changes (written in %ss)\n' "$n" "${changes[$size]}" "${workload_s[$size]}"
  printf '%-44s %ss (snapshot %s rows/s), peak RSS %s MB, view state %s MB on disk\n' \
    "prepare: initial snapshot into the views" "${prepare_s[$size]}" "${snapshot_rate[$size]}" \
    "$(kb_to_mb "${prepare_kb[$size]}")" "${state_mb[$size]}"
  for config in "${configs[@]}"; do
    line=""
    for ((r = 1; r <= ROUNDS; r++)); do
      line+="${line:+; }${seconds[$size,$config,$r]}/${stream[$size,$config,$r]}/${stream_cpu[$size,$config,$r]}"
    done
    printf '%-44s %s\n' "$config: run/stream/CPU seconds by round" "$line"
  done
  for config in "${configs[@]}"; do
    s=$(median_of stream "$size" "$config")
    c=$(median_of stream_cpu "$size" "$config")
    printf '%-44s %s changes/s, %s us/change, CPU %s us/change; %s events out; peak RSS %s MB\n' \
      "$config median (stream ${s}s)" "$(per_second "${changes[$size]}" "$s")" \
      "$(micros_per "$s" "${changes[$size]}")" "$(micros_per "$c" "${changes[$size]}")" \
      "${out_lines[$size,$config,1]}" "$(kb_to_mb "$(max_of peak_kb "$size" "$config")")"
  done
  unset -n configs
done

ratio_a=$(quotient "$(median_of stream small none)" "$(median_of stream small group)")
ratio_b=$(quotient "$(median_of stream small none)" "$(median_of stream small filter)")
ratio_c=$(quotient "$(per_change stream big group)" "$(per_change stream small group)")
cpu_a=$(quotient "$(median_of stream_cpu small none)" "$(median_of stream_cpu small group)")
cpu_b=$(quotient "$(median_of stream_cpu small none)" "$(median_of stream_cpu small filter)")
cpu_c=$(quotient "$(per_change stream_cpu big group)" "$(per_change stream_cpu small group)")
peak_mb=$(kb_to_mb "$(max_peak_kb big)")

printf '\n%-44s %s\n' "walflow warning/error log lines" "$issues"
printf '(a) group view / no view, changes/s, %s rows = %s (target >= 0.70): %s  [CPU per change: %s]\n' \
  "$ROWS" "$ratio_a" "$(verdict "$ratio_a" ">=" 0.70)" "$cpu_a"
printf '(b) filter view / no view, changes/s, %s rows = %s (target >= 0.85): %s  [CPU per change: %s]\n' \
  "$ROWS" "$ratio_b" "$(verdict "$ratio_b" ">=" 0.85)" "$cpu_b"
printf '(c) group view s/change, %s rows / %s rows = %s (target <= 1.30): %s  [CPU: %s]\n' \
  "$BIG_ROWS" "$ROWS" "$ratio_c" "$(verdict "$ratio_c" "<=" 1.30)" "$cpu_c"
printf '(d) walflow peak RSS on %s rows, snapshot and stream = %s MB (target < %s MB): %s\n' \
  "$BIG_ROWS" "$peak_mb" "$RSS_LIMIT_MB" "$(verdict "$peak_mb" "<" "$RSS_LIMIT_MB")"
