#!/usr/bin/env bash
# OIDC benchmark (issue 3): client_credentials, rotating refresh, introspection, JWKS and the full
# code flow against a local release build. Prints a summary for docs/PERFORMANCE.md.
#
#   bench/run-oidc.sh                       SQLite + in-process store
#   DB=postgres bench/run-oidc.sh           PostgreSQL (postgres://postgres@127.0.0.1/test, fresh schema)
#   PG_SETUP_SQL="create index ..." DB=postgres bench/run-oidc.sh   an A/B of a schema change
#
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
PORT=${PORT:-18081}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin watchword --example oidc_setup --example probe --example code_flow_load --example hash_rate
root=$PWD
bin=$root/target/release/watchword
work=$(mktemp -d)
schema=""
cleanup() {
  kill "$server" 2>/dev/null || true
  [ -n "$schema" ] && psql -h 127.0.0.1 -U postgres -d test -qc "drop schema if exists $schema cascade" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
cat > seed.toml <<'SEED'
[[tenants]]
slug = "default"
# The code-flow load signs one user in from many browsers at once.
[tenants.policy.session]
max_sessions_per_user = "unlimited"
[[tenants.users]]
username = "bench"
password = "correct horse battery staple"
[[tenants.clients]]
client_id = "bench-m2m"
name = "Benchmark machine client"
secret = "bench-m2m-secret-0123456789abcdefghijkl"
grant_types = ["client_credentials"]
redirect_uris = []
scopes = ["api:read"]
[[tenants.clients]]
client_id = "bench-web"
name = "Benchmark web app"
secret = "bench-web-secret-0123456789abcdefghijkl"
first_party = true
redirect_uris = ["https://bench.example/cb"]
SEED
export WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=http://127.0.0.1:$PORT
export WATCHWORD__LOG__FORMAT=json
if [ "${DB:-sqlite}" = postgres ]; then
  schema=bench_$$
  psql -h 127.0.0.1 -U postgres -d test -qc "create schema $schema" >/dev/null
  export WATCHWORD__DATABASE__URL="postgres://postgres@127.0.0.1:5432/test?options=-csearch_path%3D$schema${PG_EXTRA_OPTIONS:-}&sslmode=${PG_SSLMODE:-disable}"
fi
"$bin" serve --seed seed.toml > server.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$PORT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), database ${DB:-sqlite}"
b64() { printf '%s' "$1" | base64 -w0; }
m2m="Basic $(b64 bench-m2m:bench-m2m-secret-0123456789abcdefghijkl)"
web="Basic $(b64 bench-web:bench-web-secret-0123456789abcdefghijkl)"

run() { # name, wrk args...
  local name=$1; shift
  echo "== $name"
  wrk --latency "$@" | grep -E "Requests/sec|  50%|  99%|Non-2xx|Socket errors" | sed 's/^/   /'
}

echo "== preparing refresh tokens"
(cd "$root" && target/release/examples/oidc_setup "$base" $((CONNS * 4))) > tokens.txt
access=$(awk '/^access_token/{print $2}' tokens.txt)
# PG_SETUP_SQL: SQL run in the benchmark's schema before the load (A/B of an index, a setting).
if [ -n "${PG_SETUP_SQL:-}" ] && [ -n "$schema" ]; then
  psql -h 127.0.0.1 -U postgres -d test -qc "set search_path = $schema; $PG_SETUP_SQL" >/dev/null
  echo "== ran in the schema: $PG_SETUP_SQL"
fi

WW_BASIC="$m2m" WW_BODY="grant_type=client_credentials&scope=api:read" \
  run "client_credentials: wrk -t$THREADS -c$CONNS -d${DURATION}s" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$root/bench/basic.lua" "$base/t/default/token"
WW_BASIC="$web" WW_TOKENS=tokens.txt WW_THREADS=$THREADS \
  run "refresh_token (rotating): wrk -t$THREADS -c$CONNS -d${DURATION}s" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$root/bench/refresh.lua" "$base/t/default/token"
WW_BASIC="$web" WW_BODY="token=$access" \
  run "introspection (access token): wrk -t$THREADS -c$CONNS -d${DURATION}s" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$root/bench/basic.lua" "$base/t/default/introspect"
run "JWKS: wrk -t$THREADS -c$CONNS -d${DURATION}s" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$base/t/default/jwks.json"

echo "== full code flow (authorize, sign-in page, sign-in POST, resume, token), 8 concurrent browsers"
(cd "$root" && target/release/examples/code_flow_load "$base" 8 "$DURATION") | sed 's/^/   /'
echo "== Argon2 bound on this machine"
(cd "$root" && target/release/examples/hash_rate 5) | sed 's/^/   /'
