#!/usr/bin/env bash
# Admin list benchmark (issue 13): with 1,000,000 users and 10,000,000 sign-in events in
# PostgreSQL, the admin API's user list (page 1 and page 1,000), a prefix search, and a user's
# sign-in events (one with none, one with 1,000): latency percentiles over N requests each, one
# request at a time, through the real server. Prints a table for docs/PERFORMANCE.md.
#
#   bench/run-admin-lists.sh   (PostgreSQL on 127.0.0.1; BIN defaults to the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
BIN=${BIN:-target/release/watchword}
USERS=${USERS:-1000000}
EVENTS=${EVENTS:-10000000}
N=${N:-200}
PORT=${PORT:-18443}
SCHEMA=wwadminbench
[ -x "$BIN" ] || cargo build --release --quiet
sep='?'; case $PG_URL in *\?*) sep='&';; esac
DB="${PG_URL}${sep}options=-csearch_path%3D${SCHEMA}"
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA;" >/dev/null
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
export WATCHWORD__DATABASE__URL="$DB"
export WATCHWORD__SERVER__BIND="127.0.0.1:$PORT"
export WATCHWORD__SERVER__PUBLIC_URL="http://127.0.0.1:$PORT"
export WATCHWORD__SECRETS__MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export WATCHWORD__SERVER__CONTROL_SOCKET="$work/control.sock"
export WATCHWORD__LOG__LEVEL=warn
"$BIN" migrate >/dev/null
"$BIN" seed "$work/seed.toml" >/dev/null

tenant=$(psql "$DB" -qAtc "SELECT id FROM tenants WHERE slug = 'default'")
# Events inside the risk policy's 90-day retention (60 days ago onwards): older ones would be
# deleted by the retention job while the benchmark runs (an earlier run lost 450,000 that way).
base=$(( $(date +%s) - 60 * 86400 ))
echo "== loading $USERS users and $EVENTS sign-in events"
time psql "$DB" -q -v ON_ERROR_STOP=1 <<SQL
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

"$BIN" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
token=$(curl -fs -u bench-admin:bench-admin-secret-0123456789-abcdefghijklmnop \
  -d grant_type=client_credentials "http://127.0.0.1:$PORT/t/default/token" \
  | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
none=$(psql "$DB" -qAtc "SELECT id FROM users WHERE username_normalized = 'user0000001'")
many=$(psql "$DB" -qAtc "SELECT id FROM users WHERE username_normalized = 'user0000002'")
# The cursor of page 1,000 (50 per page): after the 49,950th username.
page1000=$(printf '"user0049950"' | base64 | tr '+/' '-_' | tr -d '=')
api="http://127.0.0.1:$PORT/t/default/admin/api/v1"

measure() { # name url
  local status items
  status=$(curl -s -o "$work/answer.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$2")
  items=$( (grep -o '"id":' "$work/answer.json" || true) | wc -l)
  [ "$status" = 200 ] || { echo "$1: HTTP $status: $(head -c 300 "$work/answer.json")" >&2; exit 1; }
  local times
  times=$(for _ in $(seq 1 "$N"); do
    curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "$2"
  done | sort -n)
  local p50 p95 p99
  p50=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.50){printf "%.1f", $1*1000}')
  p95=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.95){printf "%.1f", $1*1000}')
  p99=$(echo "$times" | awk -v n="$N" 'NR==int(n*0.99){printf "%.1f", $1*1000}')
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$items" "$p50" "$p95" "$p99"
}
echo "| request ($USERS users, $EVENTS events, $N requests each) | items | p50 ms | p95 ms | p99 ms |"
echo "|---|---|---|---|---|"
measure "users, page 1" "$api/users?limit=50"
measure "users, page 1,000 (keyset)" "$api/users?limit=50&after=$page1000"
measure "users, prefix search q=user00123" "$api/users?q=user00123&limit=50"
measure "users, e-mail prefix q=user0999@" "$api/users?q=user0999999@&limit=50"
measure "a user's events, none" "$api/events?user=$none&limit=50"
measure "a user's events, 1,000" "$api/events?user=$many&limit=50"
measure "tenant events, newest page" "$api/events?limit=50"
psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE;" >/dev/null
