#!/usr/bin/env bash
# Issue 12's benchmark, both backends in one run: verification per core, and a federated
# sign-in's server time against a local one (see bench/federation_cost.rs).
#   ROUNDS=3 N=100 bench/run-federation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-100}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
REDIS=${REDIS:-redis://127.0.0.1:6379}
cargo build --release --example federation_cost
bin=target/release/examples/federation_cost
for i in $(seq 1 "$ROUNDS"); do
  echo "== round $i: SQLite + in-process store"
  "$bin" "" "" "$N"
  echo "== round $i: PostgreSQL + Redis"
  psql "$PG" -qc 'drop schema if exists wwfed_up cascade; drop schema if exists wwfed_down cascade; create schema wwfed_up; create schema wwfed_down;'
  "$bin" "$PG" "$REDIS" "$N" | sed -n '/end to end/,$p'
done
