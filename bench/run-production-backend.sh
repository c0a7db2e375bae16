#!/usr/bin/env bash
# Production backend against the embedded one, side by side in one run (issue 14): client
# credentials, introspection of an access token and rotating refresh, on SQLite + the in-process
# store and on PostgreSQL + Redis, ROUNDS rounds alternating the backends (a fresh server, schema
# and key prefix each time), then the median of each and the production/embedded ratio.
#
#   bench/run-production-backend.sh      (PostgreSQL and Redis on 127.0.0.1; needs wrk)
#   PROD_ENV="WATCHWORD__DATABASE__POOL_SIZE=32" bench/run-production-backend.sh   (extra settings
#                                         for the production server, space-separated)
#   SKIP_BUILD=1 …                        (use target/release as it is)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
PORT=${PORT:-18082}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin watchword --example oidc_setup
STEM=wwprod
# shellcheck source=bench/side-by-side.sh
. bench/side-by-side.sh
cp bench/oidc-seed.toml "$work/seed.toml"
# The benchmark user's many grants come from one session that must outlive the others.
printf '[tenants.policy.session]\nmax_sessions_per_user = "unlimited"\n' >> "$work/seed.toml"
b64() { printf '%s' "$1" | base64 -w0; }
m2m="Basic $(b64 bench-m2m:bench-m2m-secret-0123456789abcdefghijkl)"
web="Basic $(b64 bench-web:bench-web-secret-0123456789abcdefghijkl)"

rps() { # wrk args... -> requests/s (fails on non-2xx)
  local out
  out=$(wrk --latency "$@")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "non-2xx answers" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}'
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A results
for round in $(seq 1 "$ROUNDS"); do
  for backend in embedded production; do
    start "$backend" "$round"
    (cd "$root" && target/release/examples/oidc_setup "$base" $((CONNS * 4))) > "$work/tokens.txt"
    access=$(awk '/^access_token/{print $2}' "$work/tokens.txt")
    cc=$(WW_BASIC="$m2m" WW_BODY="grant_type=client_credentials&scope=api:read" \
      rps -t1 -c"$CONNS" -d"${DURATION}s" -s bench/basic.lua "$base/t/default/token")
    intro=$(WW_BASIC="$web" WW_BODY="token=$access" \
      rps -t1 -c"$CONNS" -d"${DURATION}s" -s bench/basic.lua "$base/t/default/introspect")
    refresh=$(WW_BASIC="$web" WW_TOKENS="$work/tokens.txt" WW_THREADS=1 \
      rps -t1 -c"$CONNS" -d"${DURATION}s" -s bench/refresh.lua "$base/t/default/token")
    echo "round $round $backend: client_credentials $cc/s, introspection $intro/s, refresh $refresh/s"
    results[$backend,cc]+="$cc "; results[$backend,intro]+="$intro "; results[$backend,refresh]+="$refresh "
    stop
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
echo "| operation (wrk -t1 -c$CONNS -d${DURATION}s, median of $ROUNDS) | SQLite + in-process store | PostgreSQL + Redis | ratio |"
echo "|---|---|---|---|"
for op in cc intro refresh; do
  e=$(echo "${results[embedded,$op]}" | median); p=$(echo "${results[production,$op]}" | median)
  name=$(case $op in cc) echo "client_credentials";; intro) echo "introspection (access token)";; refresh) echo "refresh_token (rotating)";; esac)
  echo "| $name | $e/s | $p/s | $(( 100 * p / e )) % |"
done
