#!/usr/bin/env bash
# 200 users signing in through the authorization code flow at once (issue 14), on SQLite + the
# in-process store and on PostgreSQL + Redis in one run, ROUNDS rounds alternating the backends
# (a fresh server, schema and key prefix each time). Each of the CONCURRENCY flow tasks is its
# own user (bench0..), a new browser per flow; the load generator reports whole flows, the
# password step (which waits for the Argon2 pool) and the rest of the flow apart.
#
#   bench/run-codeflow-200.sh               (PostgreSQL and Redis on 127.0.0.1)
#   CONCURRENCY=200 DURATION=20 ROUNDS=3 SKIP_BUILD=1 bench/run-codeflow-200.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-200}
PORT=${PORT:-18083}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --bin watchword --example code_flow_load --example hash_rate
STEM=wwflow
# shellcheck source=bench/side-by-side.sh
. bench/side-by-side.sh
cp bench/oidc-seed.toml "$work/seed.toml"
# Users sign in again and again: no session limit to evict the last flow's session each time.
printf '[tenants.policy.session]\nmax_sessions_per_user = "unlimited"\n' >> "$work/seed.toml"
for i in $(seq 0 $((CONCURRENCY - 1))); do
  printf '[[tenants.users]]\nusername = "bench%d"\npassword = "correct horse battery staple"\n' "$i"
done >> "$work/seed.toml"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== one Argon2 verification (hash_rate):"
"$root/target/release/examples/hash_rate" 3 2>&1 | sed 's/^/   /' | tail -3
for round in $(seq 1 "$ROUNDS"); do
  for backend in embedded production; do
    start "$backend" "$round"
    # Warm-up: every user once (their first sign-in from this device and network).
    FLOW_USERS=$CONCURRENCY "$root/target/release/examples/code_flow_load" "$base" "$CONCURRENCY" 3 >/dev/null 2>&1 || true
    echo "round $round $backend: $(FLOW_USERS=$CONCURRENCY "$root/target/release/examples/code_flow_load" "$base" "$CONCURRENCY" "$DURATION" 2> "$work/errors-$backend-$round.txt")"
    if [ -s "$work/errors-$backend-$round.txt" ]; then
      echo "   failures: $(sort "$work/errors-$backend-$round.txt" | uniq -c | sort -rn | head -3 | tr '\n' ';')"
    fi
    stop
  done
done
