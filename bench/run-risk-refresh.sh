#!/usr/bin/env bash
# Continuous evaluation's cost (issue 11): rotating refresh-token throughput with the tenant's risk
# policy on (`on_change = reauthenticate`, the default) and off (`"risk": {"enabled": false}`), on
# SQLite + the in-process store and on PostgreSQL + Redis, in one run. The runs alternate (off,
# on, off, on, ...) on fresh servers because this machine's speed drifts from minute to minute.
#
# Every refresh takes the slow path of the evaluation without tripping it: the grants are
# issued to 8.8.8.8 with a Firefox user agent, the refreshes come from 8.8.4.4 (another /24, the
# same country) with a Chrome one, so the device differs, both addresses are placed, and the
# network is the same: each refresh is compared in full and goes on.
#
#   bench/run-risk-refresh.sh     (needs wrk; PostgreSQL and Redis on 127.0.0.1)
#   ROUNDS=3 DURATION=15 CONNS=32 BACKENDS="sqlite postgres" (the defaults)
#   BEFORE_BIN=/path/to/watchword   adds runs of an older build (risk on), e.g. one from before
#                                   continuous evaluation (`risk=before` in the output)
#
# Besides requests/s, each run reports the server's CPU time per refresh (user + system, from
# /proc), which other load on the machine disturbs much less than the rate.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
BACKENDS=${BACKENDS:-sqlite postgres}
BEFORE_BIN=${BEFORE_BIN:-}
configs="false true"
[ -n "$BEFORE_BIN" ] && configs="before false true"
CONNS=${CONNS:-32}
PORT=${PORT:-18095}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin watchword --example oidc_setup
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/watchword
work=$(mktemp -d)
server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap 'stop; rm -rf "$work"' EXIT
cd "$work"
base=http://127.0.0.1:$PORT
web="Basic $(printf '%s' bench-web:bench-web-secret-0123456789abcdefghijkl | base64 -w0)"
sep='?'; case $PG_URL in *\?*) sep='&';; esac

# seed RISK: the tenant with risk scoring on (true) or off (false).
seed() {
  cat > seed.toml <<SEED
[[tenants]]
slug = "default"
[tenants.policy.session]
max_sessions_per_user = "unlimited"
[tenants.policy.risk]
enabled = $1
[[tenants.users]]
username = "bench"
password = "correct horse battery staple"
[[tenants.clients]]
client_id = "bench-web"
name = "Benchmark web app"
secret = "bench-web-secret-0123456789abcdefghijkl"
first_party = true
redirect_uris = ["https://bench.example/cb"]
SEED
}

# start BACKEND RISK: a fresh server (fresh SQLite file, or schema and key prefix); RISK
# `before` is $BEFORE_BIN with risk on.
start() {
  local backend=$1 risk=$2 extra=() server_bin=$bin
  if [ "$risk" = before ]; then server_bin=$BEFORE_BIN; risk=true; fi
  seed "$risk"
  rm -rf data && mkdir data
  if [ "$backend" = postgres ]; then
    PGOPTIONS='--client-min-messages=warning' psql "$PG_URL" -qc \
      'DROP SCHEMA IF EXISTS wwrisk CASCADE; CREATE SCHEMA wwrisk;' >/dev/null
    redis-cli -u "$REDIS_URL" --scan --pattern 'wwrisk:*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
    extra=("WATCHWORD__DATABASE__URL=${PG_URL}${sep}options=-csearch_path%3Dwwrisk"
      "WATCHWORD__REDIS__URL=$REDIS_URL" "WATCHWORD__REDIS__KEY_PREFIX=wwrisk:")
  fi
  env WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=$base \
    WATCHWORD__SERVER__TRUSTED_PROXIES='[127.0.0.1/32]' WATCHWORD__LOG__FORMAT=json \
    WATCHWORD__SERVER__CONTROL_SOCKET= "${extra[@]}" \
    "$server_bin" serve --seed seed.toml > server.log 2>&1 &
  server=$!
  for _ in $(seq 1 200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "server did not start"; cat server.log; exit 1
}

# cpu PID: the process's CPU ticks so far (user + system).
cpu() { awk '{print $14 + $15}' /proc/"$1"/stat; }

# load: refresh tokens issued to Firefox at 8.8.8.8, refreshed by Chrome at 8.8.4.4; wrk's
# output, then a line "cpu TICKS" (the server's CPU during the load).
load() {
  local t0
  WW_FORWARDED=8.8.8.8 WW_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" \
    "$target/release/examples/oidc_setup" "$base" $((CONNS * 4)) > tokens.txt
  t0=$(cpu "$server")
  WW_BASIC="$web" WW_TOKENS=tokens.txt WW_THREADS=1 WW_FORWARDED=8.8.4.4 \
    WW_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" \
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$root/bench/refresh.lua" "$base/t/default/token" || return 1
  echo "cpu $(( $(cpu "$server") - t0 ))"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)"
echo "== rotating refresh_token, wrk -t1 -c$CONNS -d${DURATION}s per run, $ROUNDS rounds of ($configs)"
for backend in $BACKENDS; do
  for round in $(seq 1 "$ROUNDS"); do
    for risk in $configs; do
      # wrk has been seen to crash now and then: such a run is done again.
      for _ in 1 2 3; do
        start "$backend" "$risk"
        out=$(load) || true
        stop
        echo "$out" | grep -q "Requests/sec" && break
        echo "($backend risk=$risk: wrk failed, run again)" >&2
      done
      rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
      non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      ticks=$(echo "$out" | awk '$1 == "cpu" {print $2}')
      per=$(awk -v t="$ticks" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", 1000 * t / hz / n }')
      echo "$backend round $round risk=$risk: $rate/s, p99 $p99, server CPU $per ms/refresh${non2xx:+, non-2xx $non2xx}"
    done
  done
done | tee results.txt
# median BACKEND RISK FIELD: the median of a field over the rounds.
median() {
  local vals n
  vals=$(awk -v k="$1" -v r="risk=$2:" -v f="$3" '$1 == k && $4 == r { v = $f; gsub("[^0-9.]", "", v); print v }' results.txt | sort -n)
  n=$(echo "$vals" | wc -l)
  echo "$(echo "$vals" | sed -n "$(( (n + 1) / 2 ))p") (of $(echo $vals))"
}
echo "== medians"
for backend in $BACKENDS; do
  for risk in $configs; do
    echo "$backend risk=$risk: $(median "$backend" "$risk" 5) refreshes/s, $(median "$backend" "$risk" 10) ms CPU/refresh"
  done
done
