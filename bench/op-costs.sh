#!/usr/bin/env bash
# Per-operation costs on the production backend (Redis commands count those run inside Lua
# scripts too) (issue 14, the input of docs/SCALING.md): for a
# sign-in, a refresh, a client-credentials token and an introspection, the server's CPU time,
# PostgreSQL write transactions and WAL bytes, Redis commands and bytes, per operation; and the Redis
# memory of one live session. Runs Watchword (release) on a database of its own and a Redis of
# its own (a second redis-server on REDIS_PORT), so the counters are this benchmark's only. The
# tenant keeps the default session policy, so the repeated sign-ins of the one benchmark user
# run at its session limit (each admission evicts the oldest session: the costlier case).
#
#   bench/op-costs.sh     (PostgreSQL on 127.0.0.1; needs wrk, redis-server, psql)
#   WAL_STATS=1 …         (also where the sign-ins' WAL goes: pg_waldump over their range, by
#                          record kind and by relation; needs read access to the server's pg_wal)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
PORT=${PORT:-18083}
REDIS_PORT=${REDIS_PORT:-16390}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=wwcost_$$
export PGOPTIONS="--client-min-messages=warning"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin watchword --example oidc_setup
root=$PWD
bin=$root/target/release/watchword
work=$(mktemp -d)
server=0
pid=""
cleanup() {
  # The server itself too: the subshell that started it may not pass the signal on.
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  psql "$PG/postgres" -qc "drop database if exists $DB" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
  echo "port $PORT is taken: another server is running there" >&2; exit 1
fi
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --dir "$work" --logfile "$work/redis.log"
psql "$PG/postgres" -qc "create database $DB" >/dev/null
cp bench/oidc-seed.toml "$work/seed.toml"
base=http://127.0.0.1:$PORT
(cd "$work" && env WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=$base \
  WATCHWORD__LOG__LEVEL=warn WATCHWORD__SERVER__CONTROL_SOCKET="$work/control.sock" \
  WATCHWORD__DATABASE__URL="$PG/$DB?sslmode=disable" \
  WATCHWORD__REDIS__URL="redis://127.0.0.1:$REDIS_PORT" \
  "$bin" serve --seed seed.toml > "$work/server.log" 2>&1) &
server=$!
for _ in $(seq 1 150); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
pid=$(pgrep -f "^$bin serve" | head -1)
b64() { printf '%s' "$1" | base64 -w0; }
m2m="Basic $(b64 bench-m2m:bench-m2m-secret-0123456789abcdefghijkl)"
web="Basic $(b64 bench-web:bench-web-secret-0123456789abcdefghijkl)"
tick=$(getconf CLK_TCK)

# server CPU ticks, PG commits, PG row writes, Redis commands, Redis bytes in, Redis bytes out
snapshot() {
  local cpu pg redis
  cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  # Write transactions (transaction ids handed out, cluster-wide: this reading takes one) and
  # WAL bytes: exact at once, unlike pg_stat_database, which backends flush when they idle.
  pg=$(psql "$PG/$DB" -qAtc "select pg_current_xact_id()::text::bigint, pg_current_wal_lsn() - '0/0'" | tr '|' ' ')
  redis=$(redis-cli -p "$REDIS_PORT" info all | tr -d '\r' | awk -F'[:=,]' '
    /^cmdstat_/ { calls += $3 } /^total_net_input_bytes/ { i = $2 } /^total_net_output_bytes/ { o = $2 }
    END { print calls, i, o }')
  echo "$cpu $pg $redis"
}

measure() { # name, wrk args...
  local name=$1 before after out n
  shift
  sleep 1
  before=$(snapshot)
  out=$(wrk "$@")
  sleep 1
  after=$(snapshot)
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "$name: non-2xx answers" >&2; exit 1; fi
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$before $after" | awk -v n="$n" -v name="$name" -v tick="$tick" '{
    printf "| %s | %d | %.2f | %.2f | %.2f | %.1f | %.0f | %.0f |\n", name, n,
      1000 * ($7 - $1) / tick / n, ($8 - $2 - 1) / n, ($9 - $3) / n, ($10 - $4) / n, ($11 - $5) / n, ($12 - $6) / n }'
}

(cd "$root" && target/release/examples/oidc_setup "$base" 512) > "$work/tokens.txt"
access=$(awk '/^access_token/{print $2}' "$work/tokens.txt")
page=$(curl -s -c "$work/cookies.txt" "$base/t/default/login")
export WW_CSRF_TOKEN=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)
export WW_CSRF_COOKIE="ww-csrf=$(awk '$6=="ww-csrf"{print $7}' "$work/cookies.txt")"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M') UTC, commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| operation (PostgreSQL + Redis, wrk ${DURATION}s) | requests | server CPU ms/op | PG write transactions/op | PG WAL bytes/op | Redis commands/op | Redis bytes in/op | Redis bytes out/op |"
echo "|---|---|---|---|---|---|---|---|"
WW_BASIC="$m2m" WW_BODY="grant_type=client_credentials&scope=api:read" \
  measure "client_credentials" -t1 -c32 -d"${DURATION}s" -s bench/basic.lua "$base/t/default/token"
WW_BASIC="$web" WW_BODY="token=$access" \
  measure "introspection (access token)" -t1 -c32 -d"${DURATION}s" -s bench/basic.lua "$base/t/default/introspect"
WW_BASIC="$web" WW_TOKENS="$work/tokens.txt" WW_THREADS=1 \
  measure "refresh_token (rotating)" -t1 -c32 -d"${DURATION}s" -s bench/refresh.lua "$base/t/default/token"
# Sign-ins last: each one ends the benchmark user's previous session (the default limit of one),
# which would revoke the grants the token measurements use.
# One sign-in first: it ends the token benchmarks' session, revoking its grants' whole rotation
# history (every used and live token of 512 lineages, about 16,000 rows). That is the cost of
# ending that session once, not of a sign-in, and it was most of the "40 KB of WAL per sign-in"
# an earlier version of this script reported.
wrk -t1 -c1 -d1s -s bench/signin.lua "$base/t/default/login" >/dev/null
wal_at() { psql "$PG/$DB" -qAtc "select pg_current_wal_lsn()"; }
from=$(wal_at)
measure "sign-in (password, new session)" -t1 -c8 -d"${DURATION}s" -s bench/signin.lua "$base/t/default/login"
to=$(wal_at)
if [ -n "${WAL_STATS:-}" ]; then
  waldump=$(ls /usr/lib/postgresql/*/bin/pg_waldump | tail -1)
  waldir=$(psql "$PG/$DB" -qAtc "show data_directory")/pg_wal
  echo
  echo "WAL of the sign-ins ($from to $to), by record kind (pg_waldump --stats=record):"
  "$waldump" -p "$waldir" -s "$from" -e "$to" --stats=record 2>/dev/null | sort -t'(' -k5 -rn | head -14 | sed 's/^/    /'
  echo "by relation (record bytes incl. full-page images; relfilenodes resolved in $DB):"
  "$waldump" -p "$waldir" -s "$from" -e "$to" 2>/dev/null |
    awk '{ len = 0; for (i = 1; i <= NF; i++) if ($i == "(rec/tot):") { len = $(i+2) + 0 }
           if (match($0, /rel [0-9]+\/[0-9]+\/[0-9]+/)) { split(substr($0, RSTART + 4, RLENGTH - 4), r, "/"); bytes[r[3]] += len; records[r[3]]++ } }
         END { for (k in bytes) print bytes[k], records[k], k }' | sort -rn | head -12 |
    while read -r bytes records node; do
      name=$(psql "$PG/$DB" -qAtc "select coalesce((select relname from pg_class where relfilenode = $node), '$node')")
      echo "    $name: $bytes bytes in $records records"
    done
fi
sessions=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'ww:sess:*' | wc -l || true)
used=$(redis-cli -p "$REDIS_PORT" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
sample=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'ww:sess:*' | head -1 || true)
echo
echo "Redis keys by kind: $(redis-cli -p "$REDIS_PORT" --scan | sed 's/:[^:]*$//' | sed 's/^\(ww:[a-z]*\).*/\1/' | sort | uniq -c | tr -s ' ' | tr '\n' ',' || true)"
echo "live sessions in Redis: $sessions; used_memory $used bytes ($(( used / (sessions > 0 ? sessions : 1) )) per session, everything included); one record: $(redis-cli -p "$REDIS_PORT" memory usage "$sample") bytes"
