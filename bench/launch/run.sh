#!/usr/bin/env bash
# bench/launch: the launch path of `kyc serve` under wrk, with /healthz of the same server as
# the reference measured in the same run. Prints req/s (median of RUNS), p50/p99 latency at
# CONNECTIONS connections, and the server's RSS. Never fails on timing.
#
#   bench/launch/run.sh [build-dir]      env: RUNS=3 DURATION=10s CONNECTIONS=32 THREADS=2
#                                             DB=sqlite|postgres|both (default sqlite)
#
# DB=postgres runs `kyc serve --db <connection string>` on a throwaway PostgreSQL server
# (scripts/pg-test-server in the temporary directory, fsync on, stopped at the end); DB=both
# starts a server on each engine and alternates them round by round, then prints the ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
runs=${RUNS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
db_mode=${DB:-sqlite}
command -v wrk >/dev/null || { echo "bench/launch: wrk is not installed (scripts/bootstrap)"; exit 1; }

work=$(mktemp -d)
chmod 755 "$work" # the PostgreSQL server (user postgres) keeps its data below
case $db_mode in
sqlite) engines=(sqlite) ;;
postgres) engines=(postgres) ;;
both) engines=(sqlite postgres) ;;
*) echo "bench/launch: DB must be sqlite, postgres or both, not '$db_mode'"; exit 2 ;;
esac
declare -A url pid target
pg_dir=""
cleanup() {
  for e in "${!pid[@]}"; do kill "${pid[$e]}" 2>/dev/null || true; done
  for e in "${!pid[@]}"; do wait "${pid[$e]}" 2>/dev/null || true; done
  [ -n "$pg_dir" ] && "$root/scripts/pg-test-server" stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that cleanup runs
export APP_ID=app_bench
KYC_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export KYC_MASTER_KEY
if [[ " ${engines[*]} " == *" postgres "* ]]; then
  # A throwaway server with fsync and synchronous_commit on (the Debian defaults): an install
  # callback's 2xx means its event is on disk, as on SQLite.
  pg_dir=$work/pg
  "$root/scripts/pg-test-server" start "$pg_dir" >/dev/null
  target[postgres]=$("$root/scripts/pg-test-server" createdb "$pg_dir" kyc_bench)
fi
target[sqlite]=$work/kyc.db

start_server() {
  local e=$1 u=""
  # The app's Cloud points at a closed loopback port: the bench measures the launch path only,
  # and nothing leaves the machine (every install would otherwise start a screening run).
  "$build/kyc" serve --app-id "$APP_ID" --listen 127.0.0.1:0 --db "${target[$e]}" --quiet \
    --cloud-url http://127.0.0.1:9 \
    >"$work/server-$e.log" 2>&1 &
  pid[$e]=$!
  for _ in $(seq 200); do
    u=$(grep -o 'url=http://[^ ]*' "$work/server-$e.log" | head -1 | cut -d= -f2 || true)
    [ -n "$u" ] && break
    sleep 0.05
  done
  [ -n "$u" ] || { echo "server ($e) did not start"; cat "$work/server-$e.log"; exit 1; }
  url[$e]=$u
  curl -sf -X POST "$u/api/callback" -H 'Content-Type: application/json' -d '{
    "installed_app_id":"instapp_bench","app_id":"app_bench","organization_id":"org_bench",
    "instance_id":"inst_bench","api_key":"blnk_benchkeybenchkeybenchkeybenchkeybenchkey12",
    "api_key_prefix":"blnk_ben","granted_permissions":["data:read"],
    "idempotency_key":"install:instapp_bench"}' >/dev/null
}
for e in "${engines[@]}"; do start_server "$e"; done
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
# healthz and portal alternate first (and the engines alternate within each run, so their
# ratios come from the same minutes of this shared machine); the install rounds come last,
# because every accepted install also starts that install's background screening run, which
# would compete with the portal rounds for the two cores.
round() {
  local e=$1 name=$2 r a b c u=${url[$1]}
  case $name in
    healthz) r=$(measure "$u/healthz") ;;
    portal)  r=$(measure -s "$here/portal.lua" "$u/api/portal") ;;
    install) r=$(measure -s "$here/install.lua" "$u/api/callback") ;;
  esac
  read -r a b c <<<"$r"
  rps[$e.$name]+="$a "; p50[$e.$name]+="$b "; p99[$e.$name]+="$c "
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$runs"); do
  for e in "${engines[@]}"; do round "$e" healthz; round "$e" portal; done
done
for _ in $(seq "$runs"); do
  for e in "${engines[@]}"; do round "$e" install; done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "bench/launch: $(nproc) cores, $runs runs of $duration, $connections connections, $threads wrk threads"
echo "load average before / after: $load0 / $load1"
printf "%-10s %-10s %12s %10s %10s %14s\n" engine endpoint "req/s(med)" "p50 ms" "p99 ms" "req/s (runs)"
med() { echo $1 | tr ' ' '\n' | median; }
for e in "${engines[@]}"; do
  for name in healthz portal install; do
    printf "%-10s %-10s %12s %10s %10s   %s\n" "$e" "$name" "$(med "${rps[$e.$name]}")" \
      "$(med "${p50[$e.$name]}")" "$(med "${p99[$e.$name]}")" "${rps[$e.$name]}"
  done
  h=$(med "${rps[$e.healthz]}")
  p=$(med "${rps[$e.portal]}")
  awk -v e="$e" -v p="$p" -v h="$h" 'BEGIN {printf "%s: portal / healthz rate: %.1f%%\n", e, 100*p/h}'
done
if [ ${#engines[@]} = 2 ]; then
  for name in portal install; do
    awk -v n="$name" -v s="$(med "${rps[sqlite.$name]}")" -v p="$(med "${rps[postgres.$name]}")" \
      'BEGIN {printf "%s: postgres / sqlite rate: %.2f\n", n, p/s}'
  done
  awk -v p="$(med "${rps[postgres.portal]}")" 'BEGIN {printf "postgres portal / Node peer (1,662/s): %.1f×\n", p/1662}'
fi
for e in "${engines[@]}"; do
  rss_kb=$(awk '/VmRSS/ {print $2}' /proc/${pid[$e]}/status)
  hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/${pid[$e]}/status)
  anon_kb=$(awk '/RssAnon/ {print $2}' /proc/${pid[$e]}/status)
  if [ "$e" = sqlite ]; then
    installs=$(sqlite3 "$work/kyc.db" 'select count(*) from installs' 2>/dev/null || echo "?")
  else
    installs=$(psql "${target[postgres]}" -qAtX -c 'select count(*) from installs' 2>/dev/null || echo "?")
  fi
  echo "$e: server RSS now: $((rss_kb / 1024)) MB (of which anonymous: $((anon_kb / 1024)) MB; the rest"
  echo "  is shared library pages), peak: $((hwm_kb / 1024)) MB; installs stored: $installs"
done
