#!/usr/bin/env bash
# Sign-in engine benchmark (issue 9): sign-in throughput against the Argon2 bound with the
# reserving throttle, on the in-process store, on Redis (SQLite) and on PostgreSQL + Redis in one
# run; TOTP verification cost; the CPU of a hostile 64 KiB form and what four clients sending it
# do to everyone else's latency. Prints a summary for docs/PERFORMANCE.md.
#
#   bench/run-signin-engine.sh     (needs wrk; PostgreSQL and Redis on 127.0.0.1 for those rows;
#                                   SIGNIN_ONLY=1 stops after the sign-in rows; RISK=off turns the
#                                   tenant's risk scoring off, issue 11's comparison)
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
bin=${BIN:-$root/target/release/watchword}
work=$(mktemp -d)
server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap 'stop; rm -rf "$work"' EXIT
cd "$work"
risk_enabled=true
[ "${RISK:-on}" = off ] && risk_enabled=false
cat > seed.toml <<SEED
[[tenants]]
slug = "default"
[tenants.policy.risk]
enabled = $risk_enabled
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

# bound: the Argon2 bound right now (verifications/s on every core, 5 s).
bound() {
  "$root/target/release/examples/hash_rate" 5 | sed -E 's|.* = ([0-9.]+)/s.*|\1|'
}

# cpu_ticks PID: the CPU ticks so far of PID's hashing threads, of its other threads, of
# redis-server, of every PostgreSQL process, and of the whole machine (steal left out).
cpu_ticks() {
  local hash=0 other=0 redis=0 pg=0 t n p
  for t in /proc/"$1"/task/*; do
    n=$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)
    if [[ $(cat "$t/comm" 2>/dev/null) == ww-hash-* ]]; then hash=$((hash + n)); else other=$((other + n)); fi
  done
  for p in $(pgrep -x redis-server); do redis=$((redis + $(awk '{print $14 + $15}' /proc/"$p"/stat))); done
  for p in $(pgrep -x postgres); do pg=$((pg + $(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0))); done
  echo "$hash $other $redis $pg $(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8}' /proc/stat)"
}

# signin_load: one run against the running server. Its throughput is compared with the bound
# measured just before and after it; and, since this machine's speed drifts by several percent
# from minute to minute (up to 30 % seen), with the share of the machine's CPU time the server's
# hashing threads got during the run, which the drift does not change: at the bound, hashing
# gets all of it.
signin_load() {
  local page before after out rate t0 t1
  page=$(curl -s -c cookies.txt "$base/t/default/login")
  export WW_CSRF_TOKEN=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)
  export WW_CSRF_COOKIE="ww-csrf=$(awk '$6=="ww-csrf"{print $7}' cookies.txt)"
  before=$(bound)
  t0=$(cpu_ticks "$server")
  out=$(wrk -t1 -c8 -d${DURATION}s --latency -s "$root/bench/signin.lua" "$base/t/default/login")
  t1=$(cpu_ticks "$server")
  after=$(bound)
  echo "$out" | grep -E "Requests/sec|99%|50%|Non-2xx"
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  awk -v r="$rate" -v b="$before" -v a="$after" 'BEGIN {
    printf "bound before %.1f/s, after %.1f/s: sign-ins = %.0f %% of their mean\n", b, a, 200 * r / (a + b) }'
  echo "$t0 $t1" | awk '{ all = $10 - $5
    printf "CPU time during the run: hashing threads %.1f %%, other server threads %.1f %%, redis-server %.1f %%, PostgreSQL %.1f %%\n",
      100 * ($6 - $1) / all, 100 * ($7 - $2) / all, 100 * ($8 - $3) / all, 100 * ($9 - $4) / all }'
}

echo "== risk scoring: ${RISK:-on}"
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

[ -n "${SIGNIN_ONLY:-}" ] && exit 0

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
