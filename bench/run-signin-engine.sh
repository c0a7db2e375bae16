#!/usr/bin/env bash
# Sign-in engine benchmark (issue 9): sign-in throughput against the Argon2 bound with the
# reserving throttle, on the in-process store, on Redis (SQLite) and on PostgreSQL + Redis in one
# run; TOTP verification cost; the CPU of a hostile 64 KiB form and what four clients sending it
# do to everyone else's latency. Prints a summary for docs/PERFORMANCE.md.
#
#   bench/run-signin-engine.sh     (needs wrk; PostgreSQL and Redis on 127.0.0.1 for those rows)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
PORT=${PORT:-18090}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin watchword --example hash_rate --example probe \
  --example mfa_cost --example form_parse
root=$PWD
bin=$root/target/release/watchword
work=$(mktemp -d)
server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap 'stop; rm -rf "$work"' EXIT
cd "$work"
cat > seed.toml <<SEED
[[tenants]]
slug = "default"
[[tenants.users]]
username = "bench"
password = "correct horse battery staple"
SEED
base=http://127.0.0.1:$PORT

# start NAME [ENV=VALUE...]: a fresh server with a fresh SQLite file / schema / key prefix.
start() {
  local name=$1; shift
  rm -rf data && mkdir data
  env WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=$base \
    WATCHWORD__LOG__FORMAT=json WATCHWORD__SERVER__CONTROL_SOCKET= "$@" \
    "$bin" serve --seed seed.toml > "server-$name.log" 2>&1 &
  server=$!
  for _ in $(seq 1 200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "server $name did not start"; cat "server-$name.log"; exit 1
}

signin_load() {
  local page
  page=$(curl -s -c cookies.txt "$base/t/default/login")
  export WW_CSRF_TOKEN=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)
  export WW_CSRF_COOKIE="ww-csrf=$(awk '$6=="ww-csrf"{print $7}' cookies.txt)"
  wrk -t1 -c8 -d${DURATION}s --latency -s "$root/bench/signin.lua" "$base/t/default/login" \
    | grep -E "Requests/sec|99%|50%|Non-2xx"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)"
echo "== Argon2 bound (same machine, nothing else running)"
"$root/target/release/examples/hash_rate" 10

echo "== sign-in POST, SQLite + in-process store, wrk -t1 -c8 -d${DURATION}s"
start memory
signin_load
stop

echo "== sign-in POST, SQLite + Redis, wrk -t1 -c8 -d${DURATION}s"
redis-cli -u "$REDIS_URL" --scan --pattern 'wwbench:*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
start redis WATCHWORD__REDIS__URL=$REDIS_URL WATCHWORD__REDIS__KEY_PREFIX=wwbench:
signin_load
stop

echo "== sign-in POST, PostgreSQL + Redis, wrk -t1 -c8 -d${DURATION}s"
psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS wwbench CASCADE; CREATE SCHEMA wwbench;' >/dev/null
redis-cli -u "$REDIS_URL" --scan --pattern 'wwbench:*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
sep='?'; case $PG_URL in *\?*) sep='&';; esac
start postgres "WATCHWORD__DATABASE__URL=${PG_URL}${sep}options=-csearch_path%3Dwwbench" \
  WATCHWORD__REDIS__URL=$REDIS_URL WATCHWORD__REDIS__KEY_PREFIX=wwbench:
signin_load
stop

echo "== hostile 64 KiB form (9,362 names): parser CPU"
"$root/target/release/examples/form_parse" 20000

echo "== /healthz at 50/s (open loop) alone, then while 4 clients post the hostile form to /token"
start hostile
"$root/target/release/examples/probe" "$base/healthz" 50 10
"$root/target/release/examples/probe" "$base/healthz" 50 $((DURATION - 4)) > probe.txt &
probe=$!
wrk -t1 -c4 -d${DURATION}s --latency -s "$root/bench/hostile_token.lua" "$base/t/default/token" \
  | grep -E "Requests/sec|99%|50%|Non-2xx"
wait $probe
cat probe.txt
stop

echo "== second factors (one thread)"
"$root/target/release/examples/mfa_cost" 5
