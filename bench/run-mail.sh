#!/usr/bin/env bash
# Mail benchmark (issue 10): outbox throughput to a local SMTP sink (aiosmtpd's discarding
# handler) on SQLite and on PostgreSQL in one run, with one worker and with two (as two replicas
# would), and the sign-in page's latency while a server delivers a backlog.
#
#   bench/run-mail.sh     (needs /usr/bin/python3 with python3-aiosmtpd; PostgreSQL on 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000}
PORT=${PORT:-18092}
SMTP_PORT=${SMTP_PORT:-18025}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}

cargo build --release --quiet --bin watchword --example mail_outbox --example probe
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

/usr/bin/python3 -m aiosmtpd -n -c aiosmtpd.handlers.Sink -l 127.0.0.1:$SMTP_PORT &
pids+=($!)
for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$SMTP_PORT) 2>/dev/null && break; sleep 0.1; done

export WATCHWORD__MAIL__TRANSPORT=smtp WATCHWORD__MAIL__SMTP_HOST=127.0.0.1 \
  WATCHWORD__MAIL__SMTP_PORT=$SMTP_PORT WATCHWORD__MAIL__SMTP_TLS=none \
  WATCHWORD__SECRETS__MASTER_KEY=$(head -c 32 /dev/urandom | base64) \
  WATCHWORD__LOG__LEVEL=warn WATCHWORD__SERVER__CONTROL_SOCKET=

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%F %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)"
sep='?'; case $PG_URL in *\?*) sep='&';; esac
pg="${PG_URL}${sep}options=-csearch_path%3Dwwmail"
for backend in sqlite postgres; do
  for workers in 1 2; do
    if [ $backend = sqlite ]; then
      rm -rf data; export WATCHWORD__DATABASE__URL=sqlite://data/watchword.db
    else
      psql "$PG_URL" -qc 'DROP SCHEMA IF EXISTS wwmail CASCADE; CREATE SCHEMA wwmail;' >/dev/null 2>&1
      export WATCHWORD__DATABASE__URL=$pg
    fi
    echo "== outbox, $backend, $N messages, $workers worker(s)"
    "$root/target/release/examples/mail_outbox" "$N" "$workers"
  done
done

echo "== GET /t/default/login at 50/s: alone, then while the server delivers a backlog of $((N * 3)) messages (SQLite)"
rm -rf data; export WATCHWORD__DATABASE__URL=sqlite://data/watchword.db
WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=http://127.0.0.1:$PORT \
  "$root/target/release/watchword" serve > server.log 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
"$root/target/release/examples/probe" "http://127.0.0.1:$PORT/t/default/login" 50 8
"$root/target/release/examples/mail_outbox" $((N * 3)) 1 --queue-only
"$root/target/release/examples/probe" "http://127.0.0.1:$PORT/t/default/login" 50 8
left=$(sqlite3 data/watchword.db "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL" 2>/dev/null || echo "?")
echo "messages still queued after the probe: $left"
