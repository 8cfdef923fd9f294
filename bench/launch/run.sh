#!/usr/bin/env bash
# bench/launch: the launch path of `kyc serve` under wrk, with /healthz of the same server as
# the reference measured in the same run. Prints req/s (median of RUNS), p50/p99 latency at
# CONNECTIONS connections, and the server's RSS. Never fails on timing.
#
#   bench/launch/run.sh [build-dir]      env: RUNS=3 DURATION=10s CONNECTIONS=32 THREADS=2
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
runs=${RUNS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
command -v wrk >/dev/null || { echo "bench/launch: wrk is not installed (scripts/bootstrap)"; exit 1; }

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
export APP_ID=app_bench
export KYC_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The app's Cloud points at a closed loopback port: the bench measures the launch path only,
# and nothing leaves the machine (every install would otherwise start a screening run).
"$build/kyc" serve --app-id "$APP_ID" --listen 127.0.0.1:0 --db "$work/kyc.db" --quiet \
  --cloud-url http://127.0.0.1:9 \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  url=$(grep -o 'url=http://[^ ]*' "$work/server.log" | head -1 | cut -d= -f2 || true)
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "server did not start"; cat "$work/server.log"; exit 1; }

curl -sf -X POST "$url/api/callback" -H 'Content-Type: application/json' -d '{
  "installed_app_id":"instapp_bench","app_id":"app_bench","organization_id":"org_bench",
  "instance_id":"inst_bench","api_key":"blnk_benchkeybenchkeybenchkeybenchkeybenchkey12",
  "api_key_prefix":"blnk_ben","granted_permissions":["data:read"],
  "idempotency_key":"install:instapp_bench"}' >/dev/null
export PORTAL_BODY='{"installed_app_id":"instapp_bench","app_id":"app_bench","organization_id":"org_bench","instance_id":"inst_bench","user_id":"user_bench"}'

# wrk → "rps p50_ms p99_ms"
measure() {
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" 2>&1)
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
to_ms() {
  case "$1" in
    *us) awk -v v="${1%us}" 'BEGIN{printf "%.3f", v/1000}' ;;
    *ms) awk -v v="${1%ms}" 'BEGIN{printf "%.3f", v}' ;;
    *s)  awk -v v="${1%s}" 'BEGIN{printf "%.3f", v*1000}' ;;
    *)   echo "$1" ;;
  esac
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A rps p50 p99
# healthz and portal alternate first; the install rounds come last, because every accepted
# install also starts that install's background screening run, which would compete with the
# portal rounds for the two cores.
round() {
  local name=$1 r a b c
  case $name in
    healthz) r=$(measure "$url/healthz") ;;
    portal)  r=$(measure -s "$here/portal.lua" "$url/api/portal") ;;
    install) r=$(measure -s "$here/install.lua" "$url/api/callback") ;;
  esac
  read -r a b c <<<"$r"
  rps[$name]+="$a "; p50[$name]+="$b "; p99[$name]+="$c "
}
for i in $(seq "$runs"); do round healthz; round portal; done
for i in $(seq "$runs"); do round install; done
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
anon_kb=$(awk '/RssAnon/ {print $2}' /proc/$pid/status)
installs=$(sqlite3 "$work/kyc.db" 'select count(*) from installs' 2>/dev/null || echo "?")

echo "bench/launch: $(nproc) cores, $runs runs of $duration, $connections connections, $threads wrk threads"
printf "%-22s %12s %10s %10s\n" endpoint "req/s(med)" "p50 ms" "p99 ms"
for name in healthz portal install; do
  printf "%-22s %12s %10s %10s\n" "$name" \
    "$(echo ${rps[$name]} | tr ' ' '\n' | median)" \
    "$(echo ${p50[$name]} | tr ' ' '\n' | median)" \
    "$(echo ${p99[$name]} | tr ' ' '\n' | median)"
done
h=$(echo ${rps[healthz]} | tr ' ' '\n' | median)
p=$(echo ${rps[portal]} | tr ' ' '\n' | median)
awk -v p="$p" -v h="$h" 'BEGIN {printf "portal / healthz rate: %.1f%%\n", 100*p/h}'
echo "server RSS now: $((rss_kb / 1024)) MB (of which anonymous: $((anon_kb / 1024)) MB; the rest"
echo "  is shared library pages), peak: $((hwm_kb / 1024)) MB; installs stored: $installs"
