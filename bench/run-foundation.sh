#!/usr/bin/env bash
# Foundation benchmark (issue 2): sign-in page and sign-in POST throughput against a local release
# build, compared with the Argon2 bound measured on the same machine, and /healthz latency while
# sign-ins saturate hashing. Prints a summary for docs/PERFORMANCE.md.
#
#   bench/run-foundation.sh            (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
PORT=${PORT:-18080}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin watchword --example hash_rate --example probe
bin=$PWD/target/release/watchword
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
cat > seed.toml <<SEED
[[tenants]]
slug = "default"
[[tenants.users]]
username = "bench"
password = "correct horse battery staple"
SEED
export WATCHWORD__SERVER__BIND=127.0.0.1:$PORT WATCHWORD__SERVER__PUBLIC_URL=http://127.0.0.1:$PORT
export WATCHWORD__LOG__FORMAT=json
"$bin" serve --seed seed.toml > server.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$PORT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== Argon2 bound (same machine, nothing else running)"
(cd - >/dev/null && target/release/examples/hash_rate 10)

echo "== GET /t/default/login (the sign-in page), wrk -t2 -c32 -d10s"
wrk -t2 -c32 -d10s --latency "$base/t/default/login" | grep -E "Requests/sec|99%|50%"

page=$(curl -s -c cookies.txt "$base/t/default/login")
export WW_CSRF_TOKEN=$(echo "$page" | grep -o 'name="csrf_token" value="[^"]*"' | cut -d'"' -f4)
export WW_CSRF_COOKIE="ww-csrf=$(awk '$6=="ww-csrf"{print $7}' cookies.txt)"
echo "== POST /t/default/login (sign-in, correct password), wrk -t1 -c8 -d${DURATION}s, while probing /healthz at 50/s"
(cd - >/dev/null && target/release/examples/probe "$base/healthz" 50 $((DURATION - 4))) > probe.txt &
probe=$!
wrk -t1 -c8 -d${DURATION}s --latency -s "$OLDPWD/bench/signin.lua" "$base/t/default/login" | grep -E "Requests/sec|99%|50%|Non-2xx"
wait $probe
cat probe.txt
