#!/usr/bin/env bash
# Peak memory of walflow on one large transaction: N rows are inserted (not captured:
# the slot is created afterwards), walflow starts streaming from the slot, then one
# transaction updates all N rows. Reports walflow's peak RSS (VmHWM) once the slot has
# confirmed the transaction, against the 300 MB limit. A measurement: exits 0 on FAIL.
# See bench/README.md.
#
# Env: N (5000000) rows, BATCH (100000) rows per insert transaction, RSS_LIMIT_MB (300),
# WALFLOW_BIN, PG_BIN, PG_LOCAL, BENCH_TIMEOUT, POLL_INTERVAL, RSS_INTERVAL, BENCH_KEEP.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-5000000}
BATCH=${BATCH:-100000}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-300}
[[ $N =~ ^[0-9]+$ && $BATCH =~ ^[0-9]+$ && $RSS_LIMIT_MB =~ ^[0-9]+$ ]] || die "N, BATCH and RSS_LIMIT_MB must be numbers"
((N > 0 && BATCH > 0)) || die "N and BATCH must be positive"

bench_require walflow
bench_start_server
bench_create_schema

log "loading $N rows, $BATCH per transaction (before the slot exists)"
t0=$EPOCHREALTIME
emit_inserts 1 "$N" "$BATCH" | sql
sql -c 'VACUUM (ANALYZE) public.bench_items' -c 'CHECKPOINT'
log "loaded in $(seconds_between "$t0" "$EPOCHREALTIME")s"

sql >/dev/null -c "SELECT pg_create_logical_replication_slot('bench_walflow', 'pgoutput')"
walflow_write_config "$WORK/walflow.yaml" bench_walflow "$WORK/walflow"
walflow_start "$WORK/walflow.yaml"
walflow_wait_streaming bench_walflow
log "walflow streams; updating all $N rows in one transaction"

t0=$EPOCHREALTIME
end_lsn=$(echo "UPDATE public.bench_items SET qty = qty + 1, price = price + 0.01, updated_at = now();" | run_marking_end)
t1=$EPOCHREALTIME
update_s=$(seconds_between "$t0" "$t1")
log "committed in ${update_s}s (end mark $end_lsn); waiting for walflow to confirm it"

walflow_wait_confirmed bench_walflow "$end_lsn"
t2=$EPOCHREALTIME
peak_kb=$(proc_status_kb "$WALFLOW_PID" VmHWM)
cpu_s=$(proc_cpu_seconds "$WALFLOW_PID")
walflow_stop
walflow_rc=$STOP_RC
((walflow_rc == 0)) || log "warning: walflow exited with status $walflow_rc after SIGINT"
sampled_kb=$(walflow_sampled_max_rss_kb)
lines=$(output_lines "$WORK/walflow/out")
# The kernel's RSS counters are approximate: judge by the larger of VmHWM and the samples.
judged_kb=$((sampled_kb > peak_kb ? sampled_kb : peak_kb))
peak_mb=$(kb_to_mb "$judged_kb")

if ((judged_kb < RSS_LIMIT_MB * 1024)); then
  verdict=PASS
else
  verdict=FAIL
fi
if ((lines >= N)); then lines_note="(>= $N: ok)"; else lines_note="(< $N: SHORT)"; fi

printf '\n== large transaction (one UPDATE of %s rows)\n' "$N"
printf '%-34s %s\n' \
  "update transaction seconds" "$update_s" \
  "walflow seconds after commit" "$(seconds_between "$t1" "$t2")" \
  "seconds from update start" "$(seconds_between "$t0" "$t2")" \
  "jsonl lines written" "$lines $lines_note" \
  "walflow output bytes" "$(output_bytes "$WORK/walflow/out")" \
  "walflow max sampled RSS (MB)" "$(kb_to_mb "$sampled_kb")" \
  "walflow CPU seconds" "$cpu_s" \
  "walflow peak RSS, VmHWM (MB)" "$(kb_to_mb "$peak_kb")"
printf 'peak RSS %s MB < %s MB: %s\n' "$peak_mb" "$RSS_LIMIT_MB" "$verdict"
