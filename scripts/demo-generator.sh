#!/usr/bin/env bash
# Keeps changing the demo tables (customers, employees, projects): a few small transactions
# a second with random INSERTs, UPDATEs and DELETEs, now and then one that touches many rows.
#
#   scripts/demo-generator.sh PORT [DBNAME]      (DBNAME defaults to app)
#
# Environment: INTERVAL_MS between transactions (default 300), PG_BIN.
# Stops after the transaction in progress on SIGTERM or SIGINT and prints a summary.

# The word lists are read through pick's nameref, which shellcheck cannot follow.
# shellcheck disable=SC2034
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly kMaxConsecutiveFailures=10

die() {
  echo "demo-generator: $*" >&2
  exit 1
}

(($# >= 1 && $# <= 2)) || die "usage: $0 PORT [DBNAME]"
port=$1
db=${2:-app}
interval_ms=${INTERVAL_MS:-300}
[[ $port =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
[[ $interval_ms =~ ^[0-9]+$ ]] || die "INTERVAL_MS must be a number of milliseconds, got '$interval_ms'"
[[ -x $PG_BIN/psql ]] || die "psql not found in $PG_BIN (set PG_BIN)"
sleep_seconds=$((interval_ms / 1000)).$(printf '%03d' $((interval_ms % 1000)))

psql_cmd=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db")

company_words=(Nord Vistula Baltic Alpine Orion Delta Helix Quantum Amber Falcon Cedar Nimbus)
company_kinds=(Systems Logistics Labs Software Trading Foods Energy Media)
countries=(Poland Germany France Spain Italy Netherlands Sweden Czechia "United Kingdom" Ukraine)
phone_prefixes=("+48 600" "+49 170" "+33 6" "+34 612" "+39 320" "+31 6" "+46 70" "+420 601" "+44 7700" "+380 67")
first_names=(Anna Piotr Maria Jan Ewa Tomasz Olga Marek Julia Adam Lena Karol)
last_names=(Kowalski Nowak Schmidt Dubois Garcia Rossi Jansen Berg Novak Smith Shevchenko Lewandowski)
positions=(Developer Analyst Designer Manager Tester "Data Engineer" Architect Support)
statuses=(planned active on_hold "done" cancelled)
tag_words=(web mobile api data ml infra security migration)
priorities=(low medium high critical)

# Sets REPLY to a random element of the array named $1 (no subshell: this runs in a loop).
pick() {
  local -n array=$1
  REPLY=${array[RANDOM % ${#array[@]}]}
}

# Sets REPLY to a random number in [$1, $2].
between() {
  REPLY=$(($1 + RANDOM % ($2 - $1 + 1)))
}

random_id() {
  echo "(SELECT id FROM $1 ORDER BY random() LIMIT 1)"
}

insert_customer() {
  local name email country phone
  pick company_words
  name="$REPLY"
  pick company_kinds
  name="$name $REPLY"
  between 1 999
  name="$name $REPLY"
  email="contact@$(tr 'A-Z ' 'a-z-' <<<"$name").example"
  pick countries
  country=$REPLY
  if ((RANDOM % 5 == 0)); then
    phone=NULL  # some customers have no phone: NULLs belong in a CDC demo
  else
    pick phone_prefixes
    phone="'$REPLY $((100 + RANDOM % 900)) $((100 + RANDOM % 900))'"
  fi
  echo "INSERT INTO customers (name, email, country, phone) VALUES ('$name', '$email', '$country', $phone);"
}

insert_employee() {
  local name position age salary
  pick first_names
  name=$REPLY
  pick last_names
  name="$name $REPLY"
  pick positions
  position=$REPLY
  between 21 64
  age=$REPLY
  salary="$((4000 + RANDOM % 12000)).$(printf '%02d' $((RANDOM % 100)))"
  between 0 3650
  echo "INSERT INTO employees (name, position, age, salary, hired_on) VALUES ('$name', '$position', $age, $salary, current_date - $REPLY);"
}

insert_project() {
  local name budget status tag1 tag2 priority
  pick company_words
  name="Project $REPLY-$((RANDOM % 100))"
  budget="$((5000 + RANDOM * 7)).$(printf '%02d' $((RANDOM % 100)))"
  pick statuses
  status=$REPLY
  pick tag_words
  tag1=$REPLY
  pick tag_words
  tag2=$REPLY
  pick priorities
  priority=$REPLY
  between 0 400
  echo "INSERT INTO projects (name, customer_id, lead_employee_id, budget, status, started_on, tags, details)" \
    "VALUES ('$name', $(random_id customers), $(random_id employees), $budget, '$status', current_date - $REPLY," \
    "ARRAY['$tag1', '$tag2'], '{\"priority\": \"$priority\", \"phase\": 1, \"remote\": $([[ $((RANDOM % 2)) -eq 0 ]] && echo true || echo false)}');"
}

update_customer() {
  local country
  pick countries
  country=$REPLY
  pick phone_prefixes
  echo "UPDATE customers SET country = '$country', phone = '$REPLY $((100 + RANDOM % 900)) $((100 + RANDOM % 900))'" \
    "WHERE id = $(random_id customers);"
}

update_employee() {
  between 1 8
  echo "UPDATE employees SET salary = round(salary * 1.0$REPLY, 2), age = age + (random() < 0.2)::int" \
    "WHERE id = $(random_id employees);"
}

update_project() {
  local status
  pick statuses
  status=$REPLY
  pick tag_words
  echo "UPDATE projects SET status = '$status', budget = budget + $((RANDOM % 5000)).50," \
    "tags = array_append(tags, '$REPLY')," \
    "details = jsonb_set(details, '{phase}', to_jsonb(coalesce((details->>'phase')::int, 0) + 1))" \
    "WHERE id = $(random_id projects);"
}

delete_project() {
  echo "DELETE FROM projects WHERE id = $(random_id projects);"
}

# Only rows no project refers to, so the foreign keys never reject the transaction.
delete_customer() {
  echo "DELETE FROM customers WHERE id = (SELECT c.id FROM customers c WHERE NOT EXISTS" \
    "(SELECT 1 FROM projects p WHERE p.customer_id = c.id) ORDER BY random() LIMIT 1);"
}

delete_employee() {
  echo "DELETE FROM employees WHERE id = (SELECT e.id FROM employees e WHERE NOT EXISTS" \
    "(SELECT 1 FROM projects p WHERE p.lead_employee_id = e.id) ORDER BY random() LIMIT 1);"
}

# One transaction touching many rows.
raise_position() {
  pick positions
  echo "UPDATE employees SET salary = round(salary * 1.03, 2) WHERE position = '$REPLY';"
}

random_statement() {
  local roll=$((RANDOM % 100))
  if ((roll < 14)); then
    insert_customer
  elif ((roll < 26)); then
    insert_employee
  elif ((roll < 42)); then
    insert_project
  elif ((roll < 52)); then
    update_customer
  elif ((roll < 64)); then
    update_employee
  elif ((roll < 80)); then
    update_project
  elif ((roll < 86)); then
    delete_project
  elif ((roll < 92)); then
    delete_customer
  elif ((roll < 96)); then
    delete_employee
  else
    raise_position
  fi
}

stop=0
trap 'stop=1' TERM INT

batches=0
failures=0
consecutive_failures=0
echo "demo-generator: changing database $db on 127.0.0.1:$port every ${interval_ms}ms"
while ((stop == 0)); do
  sql="BEGIN;"
  between 1 4
  statements=$REPLY
  for ((i = 0; i < statements; i++)); do
    sql+=$'\n'"$(random_statement)"
  done
  sql+=$'\n'"COMMIT;"
  if "${psql_cmd[@]}" <<<"$sql" >/dev/null; then
    consecutive_failures=0
  else
    failures=$((failures + 1))
    consecutive_failures=$((consecutive_failures + 1))
    if ((consecutive_failures >= kMaxConsecutiveFailures)); then
      die "$kMaxConsecutiveFailures transactions in a row failed; is PostgreSQL running on port $port?"
    fi
  fi
  batches=$((batches + 1))
  ((stop == 1)) || sleep "$sleep_seconds"
done
echo "demo-generator: stopped after $batches transactions ($failures failed)"
