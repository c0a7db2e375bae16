#!/usr/bin/env bash
# Admin list benchmark (issue 13), PostgreSQL and SQLite in one run: with 1,000,000 users and
# 10,000,000 sign-in events loaded into each backend, the admin API's user list (page 1 and page
# 1,000), a prefix search, and a user's sign-in events (one with none, one with 1,000): latency
# percentiles over N requests each, one request at a time, through the real server; then list
# throughput (wrk, CONNS connections, DURATION seconds). Prints tables for docs/PERFORMANCE.md.
#
#   bench/run-admin-lists.sh   (PostgreSQL on 127.0.0.1; BIN defaults to the release binary;
#                               BACKENDS="postgres sqlite" by default; needs psql, sqlite3, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="--client-min-messages=warning"
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
BIN=${BIN:-target/release/watchword}
USERS=${USERS:-1000000}
EVENTS=${EVENTS:-10000000}
N=${N:-200}
CONNS=${CONNS:-16}
DURATION=${DURATION:-15}
PORT=${PORT:-18443}
BACKENDS=${BACKENDS:-postgres sqlite}
SCHEMA=wwadminbench
for tool in psql sqlite3 wrk curl; do
  command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
[ -x "$BIN" ] || cargo build --release --quiet
work=$(mktemp -d)
server=0
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"; psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE;" >/dev/null 2>&1 || true' EXIT

cat > "$work/seed.toml" <<'SEED'
[[tenants]]
slug = "default"

[[tenants.clients]]
client_id = "bench-admin"
name = "Admin benchmark"
secret = "bench-admin-secret-0123456789-abcdefghijklmnop"
grant_types = ["client_credentials"]
scopes = ["admin:users:read", "admin:events:read"]
SEED
export WATCHWORD__SERVER__BIND="127.0.0.1:$PORT"
export WATCHWORD__SERVER__PUBLIC_URL="http://127.0.0.1:$PORT"
export WATCHWORD__SECRETS__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export WATCHWORD__SERVER__CONTROL_SOCKET="$work/control.sock"
export WATCHWORD__LOG__LEVEL=warn
# Events inside the risk policy's 90-day retention (60 days ago onwards): older ones would be
# deleted by the retention job while the benchmark runs.
base=$(( $(date +%s) - 60 * 86400 ))

load_postgres() { # db
  local tenant
  tenant=$(psql "$1" -qAtc "SELECT id FROM tenants WHERE slug = 'default'")
  psql "$1" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, tenant_id, username, username_normalized, email, email_normalized,
                   display_name, enabled, admin_role, password_hash, password_changed_at,
                   created_at, updated_at, email_verified, version)
SELECT gen_random_uuid()::text, '$tenant', 'user' || lpad(i::text, 7, '0'),
       'user' || lpad(i::text, 7, '0'), 'user' || lpad(i::text, 7, '0') || '@example.test',
       'user' || lpad(i::text, 7, '0') || '@example.test', NULL, true, NULL, NULL, NULL,
       1760000000 + i, 1760000000 + i, false, 1
FROM generate_series(1, $USERS) AS i;
-- Every event belongs to one of the users but the first two: user0000001 has none,
-- user0000002 has exactly 1,000.
CREATE TEMP TABLE numbered AS
  SELECT row_number() OVER (ORDER BY username_normalized) AS n, id FROM users;
CREATE INDEX ON numbered (n);
INSERT INTO sign_in_events (id, tenant_id, user_id, kind, created_at, ip, country, city, asn,
                            device, device_id, level, score, reasons, decision, enforced, result,
                            feedback, feedback_at)
SELECT gen_random_uuid()::text, '$tenant',
       numbered.id, 'sign_in', $base + i / 10, '203.0.113.' || (i % 250), 'NL', NULL, NULL,
       'Firefox on Linux', NULL, 'low', 0, '[]', 'allow', true, 'success', NULL, NULL
FROM generate_series(1, $EVENTS - 1000) AS i
JOIN numbered ON numbered.n = 3 + (i % ($USERS - 2));
INSERT INTO sign_in_events (id, tenant_id, user_id, kind, created_at, ip, country, city, asn,
                            device, device_id, level, score, reasons, decision, enforced, result,
                            feedback, feedback_at)
SELECT gen_random_uuid()::text, '$tenant',
       (SELECT id FROM users WHERE username_normalized = 'user0000002'),
       'sign_in', $base + 30 * 86400 + i, '198.51.100.7', 'NL', NULL, NULL, 'Firefox on Linux', NULL,
       'low', 0, '[]', 'allow', true, 'success', NULL, NULL
FROM generate_series(1, 1000) AS i;
ANALYZE;
SQL
}

load_sqlite() { # file
  local tenant
  tenant=$(sqlite3 "$1" "SELECT id FROM tenants WHERE slug = 'default'")
  # Ids are UUID-shaped (the API parses them) and numbered: 0000000k-0000-4000-8000-<i in hex>.
  sqlite3 -bail "$1" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $USERS)
INSERT INTO users (id, tenant_id, username, username_normalized, email, email_normalized,
                   display_name, enabled, admin_role, password_hash, password_changed_at,
                   created_at, updated_at, email_verified, version)
SELECT printf('00000000-0000-4000-8000-%012x', i), '$tenant', 'user' || printf('%07d', i), 'user' || printf('%07d', i),
       'user' || printf('%07d', i) || '@example.test', 'user' || printf('%07d', i) || '@example.test',
       NULL, 1, NULL, NULL, NULL, 1760000000 + i, 1760000000 + i, 0, 1
FROM s;
CREATE TEMP TABLE numbered AS
  SELECT row_number() OVER (ORDER BY username_normalized) AS n, id FROM users;
CREATE INDEX temp.numbered_n ON numbered (n);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $EVENTS - 1000)
INSERT INTO sign_in_events (id, tenant_id, user_id, kind, created_at, ip, country, city, asn,
                            device, device_id, level, score, reasons, decision, enforced, result,
                            feedback, feedback_at)
SELECT printf('00000001-0000-4000-8000-%012x', i), '$tenant', numbered.id, 'sign_in', $base + i / 10, '203.0.113.' || (i % 250), 'NL',
       NULL, NULL, 'Firefox on Linux', NULL, 'low', 0, '[]', 'allow', 1, 'success', NULL, NULL
FROM s JOIN numbered ON numbered.n = 3 + (i % ($USERS - 2));
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
INSERT INTO sign_in_events (id, tenant_id, user_id, kind, created_at, ip, country, city, asn,
                            device, device_id, level, score, reasons, decision, enforced, result,
                            feedback, feedback_at)
SELECT printf('00000002-0000-4000-8000-%012x', i), '$tenant', (SELECT id FROM users WHERE username_normalized = 'user0000002'),
       'sign_in', $base + 30 * 86400 + i, '198.51.100.7', 'NL', NULL, NULL, 'Firefox on Linux',
       NULL, 'low', 0, '[]', 'allow', 1, 'success', NULL, NULL
FROM s;
COMMIT;
ANALYZE;
SQL
}

user_id() { # backend db username
  if [ "$1" = postgres ]; then
    psql "$2" -qAtc "SELECT id FROM users WHERE username_normalized = '$3'"
  else
    sqlite3 "$2" "SELECT id FROM users WHERE username_normalized = '$3'"
  fi
}

measure() { # name url
  local status items times p50 p95 p99
  status=$(curl -s -o "$work/answer.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$2")
  items=$( (grep -o '"id":' "$work/answer.json" || true) | wc -l)
  [ "$status" = 200 ] || { echo "$1: HTTP $status: $(head -c 300 "$work/answer.json")" >&2; exit 1; }
  times=$(for _ in $(seq 1 "$N"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$2"
  done | sort -n)
  p50=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.50){printf "%.1f", $1*1000}')
  p95=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.95){printf "%.1f", $1*1000}')
  p99=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.99){printf "%.1f", $1*1000}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$backend" "$1" "$items" "$p50" "$p95" "$p99"
}

throughput() { # name url
  local out rps p50 p99 errors
  out=$(wrk --latency -t2 -c"$CONNS" -d"${DURATION}s" -H "Authorization: Bearer $token" "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/{printf "%.0f", $2}')
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/{print $5}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$backend" "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}

for backend in $BACKENDS; do
  if [ "$backend" = postgres ]; then
    sep='?'; case $PG_URL in *\?*) sep='&';; esac
    db="${PG_URL}${sep}options=-csearch_path%3D${SCHEMA}"
    psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA;" >/dev/null
    export WATCHWORD__DATABASE__URL="$db"
  else
    db="$work/bench.db"
    export WATCHWORD__DATABASE__URL="sqlite://$db"
  fi
  "$BIN" migrate >/dev/null
  "$BIN" seed "$work/seed.toml" >/dev/null
  echo "== $backend: loading $USERS users and $EVENTS sign-in events" >&2
  start=$(date +%s)
  "load_$backend" "$db"
  echo "== $backend: loaded in $(( $(date +%s) - start )) s" >&2

  "$BIN" serve >"$work/server-$backend.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  token=$(curl -fs -u bench-admin:bench-admin-secret-0123456789-abcdefghijklmnop \
    -d grant_type=client_credentials "http://127.0.0.1:$PORT/t/default/token" \
    | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  none=$(user_id "$backend" "$db" user0000001)
  many=$(user_id "$backend" "$db" user0000002)
  # The cursor of page 1,000 (50 per page): after the 49,950th username.
  page1000=$(printf '"user0049950"' | base64 | tr '+/' '-_' | tr -d '=')
  api="http://127.0.0.1:$PORT/t/default/admin/api/v1"

  echo "| backend | request ($USERS users, $EVENTS events, $N requests each) | items | p50 ms | p95 ms | p99 ms |"
  echo "|---|---|---|---|---|---|"
  measure "users, page 1" "$api/users?limit=50"
  measure "users, page 1,000 (keyset)" "$api/users?limit=50&after=$page1000"
  measure "users, prefix search q=user00123" "$api/users?q=user00123&limit=50"
  measure "users, e-mail prefix q=user0999999@" "$api/users?q=user0999999@&limit=50"
  measure "a user's events, none" "$api/events?user=$none&limit=50"
  measure "a user's events, 1,000" "$api/events?user=$many&limit=50"
  measure "tenant events, newest page" "$api/events?limit=50"
  echo
  echo "| backend | list throughput (wrk -t2 -c$CONNS -d${DURATION}s, 50 items a page) | req/s | p50 | p99 | non-2xx |"
  echo "|---|---|---|---|---|---|"
  throughput "users, page 1" "$api/users?limit=50"
  throughput "users, page 1,000" "$api/users?limit=50&after=$page1000"
  throughput "a user's events, 1,000" "$api/events?user=$many&limit=50"
  throughput "tenant events, newest page" "$api/events?limit=50"
  echo
  kill "$server"; wait "$server" 2>/dev/null || true; server=0
  [ "$backend" = postgres ] && psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE;" >/dev/null
done
