# Sourced by the benchmarks that compare the backends in one run (run-production-backend.sh,
# run-codeflow-200.sh): `start BACKEND ROUND` runs the release server with `serve --seed
# $work/seed.toml` on SQLite + the in-process store (`embedded`) or on a fresh PostgreSQL schema
# and Redis key prefix (`production`, plus the space-separated settings in PROD_ENV) and waits
# for /readyz; `stop` ends it and drops what it wrote. The caller sets PG, REDIS_URL, PORT and
# STEM (schema and key-prefix stem), and gets `root`, `bin`, `work` and `base`.
export PGOPTIONS="--client-min-messages=warning"
root=$PWD
bin=$root/target/release/watchword
work=$(mktemp -d)
base=http://127.0.0.1:$PORT
server=0
schema=""

stop() {
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=0
  if [ -n "$schema" ]; then psql "$PG" -qc "drop schema if exists $schema cascade" >/dev/null; schema=""; fi
  redis-cli -u "$REDIS_URL" --scan --pattern "$STEM:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null
}
trap 'stop; rm -rf "$work"' EXIT

start() { # backend round
  local env=(WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=$base
             WATCHWORD__LOG__LEVEL=warn WATCHWORD__SERVER__CONTROL_SOCKET=$work/control.sock)
  if [ "$1" = production ]; then
    schema=${STEM}_$$_$2
    psql "$PG" -qc "create schema $schema" >/dev/null
    env+=("WATCHWORD__DATABASE__URL=$PG?options=-csearch_path%3D$schema&sslmode=disable"
          "WATCHWORD__REDIS__URL=$REDIS_URL" "WATCHWORD__REDIS__KEY_PREFIX=$STEM:")
    # shellcheck disable=SC2206
    env+=(${PROD_ENV:-})
  else
    rm -rf "$work/data"; mkdir -p "$work/data"
    env+=("WATCHWORD__DATABASE__URL=sqlite://$work/data/watchword.db")
  fi
  (cd "$work" && env "${env[@]}" "$bin" serve --seed seed.toml > "server-$1-$2.log" 2>&1) &
  server=$!
  for _ in $(seq 1 600); do curl -sf "$base/readyz" >/dev/null && return; sleep 0.1; done
  echo "server ($1) did not become ready" >&2; cat "$work/server-$1-$2.log" >&2; exit 1
}
