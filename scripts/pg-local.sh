#!/usr/bin/env bash
# Runs a private PostgreSQL 15 server out of one folder, for tests and the demo.
#
#   pg-local.sh start DIR [PORT]   create the cluster if DIR has none, start it, print the port
#   pg-local.sh stop DIR [MODE]    stop it (MODE: fast (default), smart or immediate); idempotent
#   pg-local.sh destroy DIR        stop it, wait for any initdb or start still running, delete DIR
#   pg-local.sh status DIR         exit 0 if running, 3 if not
#   pg-local.sh port DIR           print the port of the last start
#   pg-local.sh psql DIR [ARGS]    psql as superuser "postgres" over 127.0.0.1
#
# Layout of DIR: data/ (the cluster), log/postgres.log, port, initdb.log and, when DIR is
# too long for a Unix socket path, socket_dir naming the short folder under /tmp used instead.
#
# Authentication: trust for every user over the Unix socket and 127.0.0.1, including
# replication connections, except for members of the role "password_auth", which must
# use scram-sha-256, so tests can exercise password handling:
#   CREATE ROLE alice LOGIN PASSWORD 'secret' IN ROLE password_auth;
#
# Environment: PG_BIN overrides the folder of the PostgreSQL binaries.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Below Linux's ephemeral range (32768-60999), so outgoing connections do not take our port.
readonly kPortMin=20000 kPortMax=32000
readonly kStartAttempts=8

die() {
  echo "pg-local: $*" >&2
  exit 1
}

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Runs a command as the server's owner. PostgreSQL refuses to run as root, so as root the
# cluster belongs to the "postgres" user; anyone else owns their own cluster.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    # cd / because the postgres user may not be allowed into the caller's directory.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

check_binaries() {
  [[ -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb && -x $PG_BIN/psql ]] ||
    die "PostgreSQL 15 binaries not found in $PG_BIN (run scripts/install-deps.sh, or set PG_BIN)"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' user to own the server (install postgresql-15)"
  fi
}

# Prints DIR as an absolute path without requiring it to exist.
absolute_dir() {
  local dir=$1
  [[ -n $dir ]] || die "DIR must not be empty"
  [[ $dir == /* ]] || dir="$PWD/$dir"
  # Collapse "/./" and trailing slashes; realpath -m does not need the path to exist.
  realpath -m -- "$dir"
}

# Lets the postgres user reach DIR: every parent needs search (x) permission.
open_parents() {
  local dir=$1 parent
  [[ $(id -u) -eq 0 ]] || return 0
  parent=$(dirname -- "$dir")
  while [[ $parent != / ]]; do
    if ! runuser -u postgres -- test -x "$parent" 2>/dev/null; then
      echo "pg-local: granting o+x on $parent so the postgres user can reach $dir" >&2
      chmod o+x -- "$parent"
    fi
    parent=$(dirname -- "$parent")
  done
}

# Ports some socket listens on, read from the kernel's tables: no ss, netstat or python
# needed. Other states do not count: PostgreSQL binds with SO_REUSEADDR, so the TIME_WAIT
# connections a stopped server leaves behind do not keep it from its old port.
used_ports() {
  local file
  for file in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $file ]] || continue
    # Columns: sl local_address(HEXADDR:HEXPORT) rem_address st(0A = LISTEN) ...
    while read -r _ local _ state _; do
      [[ $local == *:* && $state == 0A ]] || continue
      echo $((16#${local##*:}))
    done <"$file"
  done
}

port_in_use() {
  local used
  # Captured first: grep -q in a pipeline would end it early and trip pipefail.
  used=" $(used_ports | tr "\n" " ") "
  [[ $used == *" $1 "* ]]
}

pick_free_port() {
  local used port tries
  used=" $(used_ports | sort -un | tr '\n' ' ') "
  for ((tries = 0; tries < 200; tries++)); do
    port=$((kPortMin + ((RANDOM << 15) | RANDOM) % (kPortMax - kPortMin)))
    [[ $used == *" $port "* ]] || {
      echo "$port"
      return 0
    }
  done
  die "no free TCP port found in $kPortMin-$kPortMax"
}

# A Unix socket path is limited to 107 bytes; ".s.PGSQL.NNNNN.lock" must fit after the folder.
socket_dir_for() {
  local dir=$1 sock
  if ((${#dir} <= 80)); then
    echo "$dir"
    return
  fi
  if [[ -f $dir/socket_dir && -d $(<"$dir/socket_dir") ]]; then
    cat "$dir/socket_dir"
    return
  fi
  sock=$(mktemp -d /tmp/pgsock.XXXXXX)
  [[ $(id -u) -ne 0 ]] || chown postgres: "$sock"
  echo "$sock" >"$dir/socket_dir"
  echo "pg-local: $dir is too long for a Unix socket path; the socket is in $sock" >&2
  echo "$sock"
}

sql_quote() {
  local s=${1//\'/\'\'}
  printf "'%s'" "$s"
}

is_running() {
  local dir=$1
  [[ -f $dir/data/PG_VERSION ]] || return 1
  as_owner "$PG_BIN/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

init_cluster() {
  local dir=$1
  echo "pg-local: creating a cluster in $dir/data" >&2
  # --no-sync: a crash during initdb only loses a throwaway cluster; the server runs with fsync=on.
  if ! as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $dir/data (log above, also in $dir/initdb.log)"
  fi
  cat >"$dir/data/pg_hba.conf" <<'EOF'
# Written by scripts/pg-local.sh. First match wins: members of password_auth need a
# password, everyone else is trusted. Only 127.0.0.1 and the Unix socket are listened on.
# TYPE  DATABASE     USER            ADDRESS        METHOD
local   all          +password_auth                 scram-sha-256
local   replication  +password_auth                 scram-sha-256
host    all          +password_auth  127.0.0.1/32   scram-sha-256
host    replication  +password_auth  127.0.0.1/32   scram-sha-256
local   all          all                            trust
local   replication  all                            trust
host    all          all             127.0.0.1/32   trust
host    replication  all             127.0.0.1/32   trust
EOF
  # Settings live in their own file, rewritten on every start, so the port can change.
  echo "include_if_exists = 'pg-local.conf'" >>"$dir/data/postgresql.conf"
  [[ $(id -u) -ne 0 ]] || chown postgres: "$dir/data/pg_hba.conf" "$dir/data/postgresql.conf"
}

write_config() {
  local dir=$1 port=$2 sock=$3
  cat >"$dir/data/pg-local.conf" <<EOF
# Written by scripts/pg-local.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = $(sql_quote "$sock")
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
fsync = on
shared_buffers = 128MB
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_connections = off
EOF
  [[ $(id -u) -ne 0 ]] || chown postgres: "$dir/data/pg-local.conf"
}

# Runs after the first start of a new cluster.
create_roles() {
  local dir=$1 port=$2
  "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE password_auth NOLOGIN" >/dev/null ||
    die "could not create role password_auth (log: $dir/log/postgres.log)"
}

cmd_start() {
  local dir=$1 requested_port=${2:-} port sock new_cluster=0 attempt log_offset new_log
  check_binaries
  [[ -z $requested_port || $requested_port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$requested_port'"

  mkdir -p -- "$dir"
  if is_running "$dir"; then
    [[ -z $requested_port || $requested_port == "$(<"$dir/port")" ]] ||
      die "server in $dir already runs on port $(<"$dir/port"), not $requested_port; stop it first"
    cat "$dir/port"
    return 0
  fi

  open_parents "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: -- "$dir"
  fi
  chmod 0755 -- "$dir"
  mkdir -p -- "$dir/log"
  [[ $(id -u) -ne 0 ]] || chown postgres: -- "$dir/log"

  if [[ ! -f $dir/data/PG_VERSION ]]; then
    [[ ! -e $dir/data ]] || rm -rf -- "$dir/data"  # a half-made cluster from a failed initdb
    init_cluster "$dir"
    new_cluster=1
  fi
  sock=$(socket_dir_for "$dir")

  for ((attempt = 1; attempt <= kStartAttempts; attempt++)); do
    if [[ -n $requested_port ]]; then
      port=$requested_port
    elif [[ $attempt -eq 1 && -f $dir/port ]] && ! port_in_use "$(<"$dir/port")"; then
      port=$(<"$dir/port")  # keep the port across restarts, so DSNs stay valid
    else
      port=$(pick_free_port)
    fi
    write_config "$dir" "$port" "$sock"
    log_offset=$(stat -c %s "$dir/log/postgres.log" 2>/dev/null || echo 0)
    if as_owner "$PG_BIN/pg_ctl" start -w -t 120 -s -D "$dir/data" -l "$dir/log/postgres.log" >&2; then
      echo "$port" >"$dir/port"
      ((new_cluster == 0)) || create_roles "$dir" "$port"
      echo "$port"
      return 0
    fi
    # Another process may have taken the port between the check and the bind: try another.
    new_log=$(tail -c +$((log_offset + 1)) "$dir/log/postgres.log" 2>/dev/null || true)
    if [[ -z $requested_port && ($new_log == *"could not bind"* ||
      $new_log == *"could not create any TCP/IP sockets"*) ]]; then
      echo "pg-local: port $port was taken, trying another" >&2
      continue
    fi
    break
  done
  echo "pg-local: last lines of $dir/log/postgres.log:" >&2
  tail -n 20 "$dir/log/postgres.log" >&2 2>/dev/null || true
  die "could not start PostgreSQL in $dir"
}

cmd_stop() {
  local dir=$1 mode=${2:-fast}
  [[ $mode == fast || $mode == smart || $mode == immediate ]] ||
    die "stop mode must be fast, smart or immediate, got '$mode'"
  [[ -f $dir/data/PG_VERSION ]] || return 0
  check_binaries
  if is_running "$dir"; then
    as_owner "$PG_BIN/pg_ctl" stop -w -t 120 -s -m "$mode" -D "$dir/data" >&2 ||
      die "could not stop PostgreSQL in $dir (log: $dir/log/postgres.log)"
  fi
  # A socket folder outside DIR would otherwise pile up in /tmp; start makes a new one.
  if [[ -f $dir/socket_dir ]]; then
    rm -rf -- "$(<"$dir/socket_dir")"
    rm -f -- "$dir/socket_dir"
  fi
}

cmd_destroy() {
  local dir=$1 pattern deadline=$((SECONDS + 120))
  [[ -e $dir ]] || return 0
  # The process that started the server may have died mid-start (a killed test) while its
  # initdb or pg_ctl carries on, and would bring a server up again after a single stop: so
  # stop until no process names DIR/data on its command line.
  pattern=$(printf '%s' "$dir/data" | sed 's/[][\\.*^$+?(){}|]/\\&/g')
  while :; do
    (cmd_stop "$dir" fast 2>/dev/null) || true
    if ! command -v pgrep >/dev/null || ! pgrep -f -- "$pattern" >/dev/null; then
      break
    fi
    ((SECONDS < deadline)) || die "processes still use $dir/data after 120s: $(pgrep -a -f -- "$pattern")"
    sleep 0.2
  done
  rm -rf -- "$dir"
}

cmd_status() {
  local dir=$1
  check_binaries
  if is_running "$dir"; then
    echo "running on port $(<"$dir/port")"
    return 0
  fi
  echo "not running"
  return 3
}

cmd_port() {
  local dir=$1
  [[ -f $dir/port ]] || die "no server was started in $dir (no $dir/port)"
  cat "$dir/port"
}

cmd_psql() {
  local dir=$1
  shift
  check_binaries
  local port
  port=$(cmd_port "$dir")
  exec "$PG_BIN/psql" -X -h 127.0.0.1 -p "$port" -U postgres "$@"
}

main() {
  (($# >= 2)) || usage
  local cmd=$1 dir
  dir=$(absolute_dir "$2")
  shift 2
  case $cmd in
  start)
    (($# <= 1)) || usage
    cmd_start "$dir" "$@"
    ;;
  stop)
    (($# <= 1)) || usage
    cmd_stop "$dir" "$@"
    ;;
  destroy) cmd_destroy "$dir" ;;
  status) cmd_status "$dir" ;;
  port) cmd_port "$dir" ;;
  psql) cmd_psql "$dir" "$@" ;;
  *) usage ;;
  esac
}

main "$@"
