#!/usr/bin/env bash
# Kafka throughput: walflow writing to Kafka (librdkafka's mock cluster, run as its own
# process) against walflow writing jsonl files, reading the same WAL. Slots are created at
# the same point, one workload is written, then in each round walflow consumes the whole
# workload three times, each from a slot of its own: to a jsonl sink, to a kafka sink with
# exactly_once: true (transactional producer) and with exactly_once: false (idempotent
# producer). Reports the medians, events/s, the ratios kafka/jsonl and peak RSS. A last,
# untimed run to Kafka, read back with kcat, counts the records and bytes produced.
# See bench/README.md.
#
# Env: ROWS (500000) inserts, UPDATES (250000) updates, BATCH (10000) rows per
# transaction, ROUNDS (3; at most 3 with pg-local.sh's 10 slots), BROKERS (3) mock brokers,
# PARTITIONS (3) partitions of the table topic, LINGER_MS (5) librdkafka's linger.ms,
# WALFLOW_BIN, MOCK_BIN, KCAT, PG_BIN, PG_LOCAL, BENCH_TIMEOUT, POLL_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${ROWS:-500000}
UPDATES=${UPDATES:-250000}
BATCH=${BATCH:-10000}
ROUNDS=${ROUNDS:-3}
BROKERS=${BROKERS:-3}
PARTITIONS=${PARTITIONS:-3}
LINGER_MS=${LINGER_MS:-5}
MOCK_BIN=${MOCK_BIN:-$BENCH_ROOT/build/tests/fixtures/walflow-kafka-mock}
KCAT=${KCAT:-kcat}
for var in ROWS UPDATES BATCH ROUNDS BROKERS PARTITIONS LINGER_MS; do
  [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number, got '${!var}'"
done
((ROWS > 0 && BATCH > 0 && ROUNDS > 0 && BROKERS > 0 && PARTITIONS > 0)) ||
  die "ROWS, BATCH, ROUNDS, BROKERS and PARTITIONS must be positive"
((ROUNDS * 3 + 1 <= 10)) || die "ROUNDS must be at most 3 (three slots a round and one more, pg-local.sh allows 10)"
EVENTS=$((ROWS + UPDATES))
MODES=(jsonl eos idem)  # the three runs of a round
declare -A MODE_LABEL=([jsonl]="jsonl" [eos]="kafka exactly once" [idem]="kafka idempotent")

# Prerequisites, before any workload.
bench_require walflow
[[ -x $MOCK_BIN ]] || die "no mock Kafka cluster at $MOCK_BIN; build it first" \
  "(cmake --build build -j2 --target walflow-kafka-mock) or set MOCK_BIN"
command -v "$KCAT" >/dev/null || die "no $KCAT (used to count the bytes produced to Kafka);" \
  "install it (apt-get install kcat) or set KCAT"
command -v mkfifo >/dev/null || die "no mkfifo"

# Round 1 reads slots bench_jsonl, bench_eos, bench_idem; round R > 1 adds the suffix _R.
# The counting run (mode count, round 0; see run_count) reads slot bench_count_0.
slot_for() { if (($2 == 1)); then echo "bench_$1"; else echo "bench_$1_$2"; fi; }
# Each Kafka run writes to topics of its own (a fresh, empty topic, as the jsonl run
# writes to a fresh folder) and keeps its position under a transactional id of its own,
# so that no run starts from another's position or fences another's producer.
prefix_for() { echo "bench_r$2_$1"; }
table_topic_for() { echo "$(prefix_for "$1" "$2").public.bench_items"; }
txn_id_for() { echo "walflow-bench-r$2-$1"; }
OFFSETS_TOPIC=walflow_offsets

# ---- the mock cluster: a child process reading commands from a fifo -------------------
MOCK_PID=""
MOCK_FD=""
MOCK_REPLIES=0
BOOTSTRAP=""


# Waits until the mock's stdout holds at least N lines (at most 10 s); sets MOCK_LINES.
mock_wait_lines() {
  local n=$1 deadline=$((EPOCHSECONDS + 10))
  while :; do
    mapfile -t MOCK_LINES <"$WORK/mock.out"
    ((${#MOCK_LINES[@]} < n)) || return 0
    proc_running "$MOCK_PID" || die "the mock cluster exited (stderr: $(tail -n 5 "$WORK/mock.log"))"
    ((EPOCHSECONDS < deadline)) || die "no answer from the mock cluster within 10 s (stderr: $(tail -n 5 "$WORK/mock.log"))"
    sleep 0.05
  done
}

mock_start() {
  mkfifo "$WORK/mock.in"
  : >"$WORK/mock.out"
  # The child opens the fifo for reading, this shell for writing (each open waits for the
  # other); the mock reads commands until this shell closes its end.
  (cd "$WORK" && exec "$MOCK_BIN" --brokers "$BROKERS") <"$WORK/mock.in" >"$WORK/mock.out" 2>"$WORK/mock.log" &
  MOCK_PID=$!
  exec {MOCK_FD}>"$WORK/mock.in"
  mock_wait_lines 1
  BOOTSTRAP=${MOCK_LINES[0]}
  [[ $BOOTSTRAP =~ ^[0-9.]+:[0-9]+(,[0-9.]+:[0-9]+)*$ ]] ||
    die "the mock cluster printed '$BOOTSTRAP', expected host:port,..."
}

# Sends one command line to the mock and fails unless it answers "ok".
mock_command() {
  printf '%s\n' "$1" >&"$MOCK_FD"
  MOCK_REPLIES=$((MOCK_REPLIES + 1))
  mock_wait_lines $((MOCK_REPLIES + 1))
  [[ ${MOCK_LINES[MOCK_REPLIES]} == ok ]] || die "mock cluster: '$1' -> '${MOCK_LINES[MOCK_REPLIES]}'"
}

# Closes the mock's stdin (it exits at its end), then SIGINT and SIGKILL if it lingers.
mock_stop() {
  local i
  if [[ -n $MOCK_FD ]]; then
    exec {MOCK_FD}>&-
    MOCK_FD=""
  fi
  [[ -n $MOCK_PID ]] || return 0
  for ((i = 0; i < 50; i++)); do
    proc_running "$MOCK_PID" || break
    sleep 0.1
  done
  stop_process "$MOCK_PID" 5  # waits for it; a no-op beyond that if it has exited
  MOCK_PID=""
}

# Runs before lib.sh's bench_cleanup: walflow first (it may be talking to the mock), then
# the mock, then the server and the folder.
kafka_bench_cleanup() {
  local rc=$?
  set +e
  if [[ -n $WALFLOW_PID ]]; then
    stop_process "$WALFLOW_PID" 10
    WALFLOW_PID=""
    if ((rc != 0)) && [[ -s $WORK/walflow.log ]]; then
      log "last lines of walflow's log:"
      tail -n 20 "$WORK/walflow.log" >&2
    fi
  fi
  mock_stop
  if ((rc != 0)) && [[ -s $WORK/mock.log ]]; then
    log "last lines of the mock cluster's stderr:"
    tail -n 10 "$WORK/mock.log" >&2
  fi
  exit_status() { return "$1"; }
  exit_status "$rc"
  bench_cleanup  # reads $? as the exit status
}

# ---- setup ---------------------------------------------------------------------------
bench_start_server
trap kafka_bench_cleanup EXIT
bench_create_schema

mock_start
log "mock cluster ($BROKERS brokers) at $BOOTSTRAP"
mock_command "topic $OFFSETS_TOPIC 1"
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in eos idem; do mock_command "topic $(table_topic_for "$mode" "$r") $PARTITIONS"; done
done

# All slots start from the same point: nothing is written between their creation.
for ((r = 1; r <= ROUNDS; r++)); do
  for mode in "${MODES[@]}"; do
    printf "SELECT pg_create_logical_replication_slot('%s', 'pgoutput');\n" "$(slot_for "$mode" "$r")"
  done
  ((r > 1)) || printf "SELECT pg_create_logical_replication_slot('%s', 'pgoutput');\n" "$(slot_for count 0)"
done | sql >/dev/null
start_lsn=$(sql -c 'SELECT pg_current_wal_insert_lsn()')

log "workload: $ROWS inserts, then $UPDATES updates, $BATCH rows per transaction"
t0=$EPOCHREALTIME
end_lsn=$({ emit_inserts 1 "$ROWS" "$BATCH"; emit_updates "$UPDATES" "$ROWS" "$BATCH"; } | run_marking_end)
workload_s=$(seconds_between "$t0" "$EPOCHREALTIME")
wal_bytes=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '$start_lsn')::bigint")
log "workload written in ${workload_s}s: WAL $start_lsn .. $end_lsn"

# ---- runs ----------------------------------------------------------------------------
declare -A secs cpu mock_cpu peak_kb log_issues
load_before=$(load_average)

kafka_write_config() {
  local config=$1 slot=$2 dir=$3 mode=$4 r=$5 partitions=${6:-$PARTITIONS} eos=false
  [[ $mode == eos ]] && eos=true
  mkdir -p "$dir/state"
  cat >"$config" <<EOF
source:
  postgres:
    dsn: "$DSN"
    slot: $slot
    publication: bench_pub
    tables: [public.bench_items]
    snapshot: never
data_dir: $dir/state
log:
  level: info
sinks:
  - name: bus
    type: kafka
    brokers: $BOOTSTRAP
    topic_prefix: $(prefix_for "$mode" "$r")
    exactly_once: $eos
    transactional_id: $(txn_id_for "$mode" "$r")
    offsets_topic: $OFFSETS_TOPIC
    topic_partitions: $partitions
    flush_interval: 1s
    timeout: 30s
    decimal_handling: string
    schemas: false
    properties: { linger.ms: "$LINGER_MS" }
EOF
}

# Keeps walflow's log of a run in $WORK/logs and counts the lines it logged above info.
keep_log() {
  local mode=$1 r=$2 issues
  mkdir -p "$WORK/logs"
  cp -- "$WORK/walflow.log" "$WORK/logs/$mode$r.log"
  issues=$(grep -ciE '\b(warn|warning|error|fatal)\b' "$WORK/logs/$mode$r.log" || true)
  log_issues[$mode:$r]=$issues
  if ((issues > 0)); then
    log "note: walflow ($mode, round $r) logged $issues warning/error lines; the first ones:"
    grep -iE '\b(warn|warning|error|fatal)\b' "$WORK/logs/$mode$r.log" | head -n 5 >&2
  fi
}

run_one() {
  local mode=$1 r=$2 slot dir config t0 mock_cpu0 kb
  slot=$(slot_for "$mode" "$r")
  dir=$WORK/$mode$r
  config=$WORK/$mode$r.yaml
  if [[ $mode == jsonl ]]; then
    walflow_write_config "$config" "$slot" "$dir"
  else
    kafka_write_config "$config" "$slot" "$dir" "$mode" "$r"
  fi
  mock_cpu0=$(proc_cpu_seconds "$MOCK_PID")
  t0=$EPOCHREALTIME
  walflow_start "$config"
  walflow_wait_confirmed "$slot" "$end_lsn"
  secs[$mode:$r]=$(seconds_between "$t0" "$EPOCHREALTIME")
  cpu[$mode:$r]=$(proc_cpu_seconds "$WALFLOW_PID")
  mock_cpu[$mode:$r]=$(awk -v a="$mock_cpu0" -v b="$(proc_cpu_seconds "$MOCK_PID")" 'BEGIN { printf "%.2f", b - a }')
  kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
  ((kb <= ${peak_kb[$mode]:-0})) || peak_kb[$mode]=$kb
  walflow_stop
  ((STOP_RC == 0)) || log "warning: walflow ($mode, round $r) exited with status $STOP_RC after SIGINT (log: $WORK/logs/$mode$r.log)"
  keep_log "$mode" "$r"
  if ((r == 1)) && [[ $mode == jsonl ]]; then
    jsonl_bytes=$(output_bytes "$dir/out")
    jsonl_lines=$(output_lines "$dir/out")
    ((jsonl_lines == EVENTS)) || log "warning: the jsonl sink wrote $jsonl_lines lines in round 1, expected $EVENTS"
  fi
  # Each jsonl round writes the whole workload again: keep the disk from filling up.
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

# The counting run, after the timed rounds: walflow to Kafka (idempotent) once more, from a
# slot of its own, to a topic of its own, then kcat reads that topic back. The mock keeps
# only the last 5 MiB (and 100 000 batches) of each partition and silently drops older
# batches, so this topic gets enough partitions for the whole workload (from the jsonl
# sink's bytes, plus a quarter). Untimed: its time is printed for information only.
MOCK_PARTITION_BYTES=$((5 * 1024 * 1024))
run_count() {
  local slot dir config topic partitions t0
  slot=$(slot_for count 0)
  dir=$WORK/count0
  config=$WORK/count0.yaml
  topic=$(table_topic_for count 0)
  partitions=$(awk -v b="$jsonl_bytes" -v m="$MOCK_PARTITION_BYTES" -v p="$PARTITIONS" \
    'BEGIN { n = int(b * 1.25 / m) + 1; print (n > p ? n : p) }')
  mock_command "topic $topic $partitions"
  kafka_write_config "$config" "$slot" "$dir" count 0 "$partitions"
  t0=$EPOCHREALTIME
  walflow_start "$config"
  walflow_wait_confirmed "$slot" "$end_lsn"
  count_s=$(seconds_between "$t0" "$EPOCHREALTIME")
  walflow_stop
  ((STOP_RC == 0)) || log "warning: walflow (counting run) exited with status $STOP_RC after SIGINT"
  keep_log count 0
  # records, key + value bytes, and records missing: the offsets of a partition run from 0
  # (the idempotent producer writes no control records), so max + 1 - count are missing.
  read -r kafka_records kafka_bytes kafka_missing < <(
    timeout 600 "$KCAT" -b "$BOOTSTRAP" -C -t "$topic" -o beginning -e -q -f '%p %o %S %K\n' 2>"$WORK/kcat.log" |
      awk '{ n++; if ($3 > 0) b += $3; if ($4 > 0) b += $4; c[$1]++; if (!($1 in m) || $2 > m[$1]) m[$1] = $2 }
        END { for (p in c) miss += m[p] + 1 - c[p]; printf "%d %.0f %d\n", n, b, miss }')
  ((kafka_records == EVENTS && kafka_missing == 0)) ||
    log "warning: kcat read $kafka_records records of $topic ($kafka_missing missing), expected $EVENTS (kcat: $WORK/kcat.log)"
  count_partitions=$partitions
  [[ $BENCH_KEEP == 1 ]] || rm -rf -- "$dir"
}

# Alternate the order, so that no run always reads the WAL right after the same other one.
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(jsonl eos idem); else order=(idem eos jsonl); fi
  for mode in "${order[@]}"; do run_one "$mode" "$r"; done
  log "round $r/$ROUNDS: jsonl ${secs[jsonl:$r]}s, kafka exactly once ${secs[eos:$r]}s, kafka idempotent ${secs[idem:$r]}s"
done
load_after=$(load_average)

log "counting run: walflow to Kafka (idempotent), then kcat reads the topic; not timed"
run_count
mock_rss_kb=$(proc_status_kb "$MOCK_PID" VmRSS)

# Position records per run: one per checkpoint, so for exactly once one per transaction.
declare -A checkpoints
while read -r count key; do
  checkpoints[$key]=$count
done < <(timeout 600 "$KCAT" -b "$BOOTSTRAP" -C -t "$OFFSETS_TOPIC" -o beginning -e -q -f '%k\n' | sort | uniq -c)

# ---- report --------------------------------------------------------------------------
ratio() { awk -v r="$1" -v w="$2" 'BEGIN { printf "%.2f", (w > 0 ? r / w : 0) }'; }
declare -A med
for mode in "${MODES[@]}"; do
  vals=()
  for ((r = 1; r <= ROUNDS; r++)); do vals+=("${secs[$mode:$r]}"); done
  med[$mode]=$(median "${vals[@]}")
done

printf '\n== kafka throughput: %s inserts + %s updates, %s rows per transaction\n' "$ROWS" "$UPDATES" "$BATCH"
printf '%-34s %s\n' \
  "events" "$EVENTS" \
  "WAL written (MB)" "$(kb_to_mb $((wal_bytes / 1024)))" \
  "workload seconds" "$workload_s" \
  "kafka cluster" "walflow-kafka-mock, $BROKERS brokers, $PARTITIONS partitions, linger.ms $LINGER_MS" \
  "load average before / after" "$load_before / $load_after ($(nproc) CPUs)"
for ((r = 1; r <= ROUNDS; r++)); do
  line=""
  for mode in "${MODES[@]}"; do
    line+="$mode ${secs[$mode:$r]}s (CPU ${cpu[$mode:$r]}s"
    [[ $mode == jsonl ]] || line+=", mock ${mock_cpu[$mode:$r]}s, ckpt ${checkpoints[$(txn_id_for "$mode" "$r")]:-0}"
    line+=")"
    [[ $mode == idem ]] || line+=", "
  done
  printf '%-34s %s\n' "round $r" "$line"
done
for mode in "${MODES[@]}"; do
  printf '%-34s %s\n' \
    "${MODE_LABEL[$mode]} seconds" "${med[$mode]} (median of $ROUNDS)" \
    "${MODE_LABEL[$mode]} events/s" "$(per_second "$EVENTS" "${med[$mode]}")" \
    "${MODE_LABEL[$mode]} peak RSS (MB)" "$(kb_to_mb "${peak_kb[$mode]}")"
done
printf '%-34s %s\n' \
  "jsonl output (round 1)" "$jsonl_lines lines, $jsonl_bytes bytes" \
  "kafka output (counting run)" "$kafka_records records ($kafka_missing missing), $kafka_bytes bytes of key + value" \
  "counting run seconds" "$count_s (kafka idempotent, $count_partitions partitions; not timed as the rounds)" \
  "mock cluster RSS at the end (MB)" "$(kb_to_mb "$mock_rss_kb")"
issues=0
for key in "${!log_issues[@]}"; do issues=$((issues + ${log_issues[$key]})); done
printf '%-34s %s\n' "walflow warning/error log lines" "$issues"
printf 'ratio kafka exactly once/jsonl = %s\n' "$(ratio "${med[jsonl]}" "${med[eos]}")"
printf 'ratio kafka idempotent/jsonl   = %s\n' "$(ratio "${med[jsonl]}" "${med[idem]}")"
