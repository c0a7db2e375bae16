#!/usr/bin/env bash
# Risk scoring benchmark (issue 11): risk's own cost per sign-in (in process, without hashing) on
# SQLite + the in-process store and on PostgreSQL + Redis, the memory of the built-in data, and
# sign-in throughput against the Argon2 bound with risk scoring on and off (bench/run-signin-
# engine.sh's sign-in rows, twice). Prints a summary for docs/PERFORMANCE.md.
#
#   bench/run-risk.sh      (needs wrk; PostgreSQL and Redis on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
N=${N:-3000}
cargo build --release --quiet --example risk_eval
echo "== risk evaluation in process, SQLite + in-process store"
target/release/examples/risk_eval "" "" "$N"
echo "== risk evaluation in process, PostgreSQL + Redis"
psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS wwrisk CASCADE; CREATE SCHEMA wwrisk;' >/dev/null
sep='?'; case $PG_URL in *\?*) sep='&';; esac
target/release/examples/risk_eval "${PG_URL}${sep}options=-csearch_path%3Dwwrisk" "$REDIS_URL" "$N" \
  | grep -v '^memory'
psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS wwrisk CASCADE;' >/dev/null
redis-cli -u "$REDIS_URL" --scan --pattern 'wwrisk*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
RISK=on SIGNIN_ONLY=1 bench/run-signin-engine.sh
RISK=off SIGNIN_ONLY=1 bench/run-signin-engine.sh
