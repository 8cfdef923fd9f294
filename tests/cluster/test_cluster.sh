#!/usr/bin/env bash
# `make cluster`'s script (scripts/cluster) end to end, on free ports with its state in a
# temporary directory: nginx in front of the replica, cloudsim registering, installing and
# launching through the balancer, a launch redeemed through it, then SIGTERM stopping every
# process it started.
#
#   test_cluster.sh BUILD_DIR SOURCE_DIR [postgres]
#
# Without "postgres" it runs one replica on a SQLite file (CLUSTER_DB). With it (CTest entry
# cluster_script_pg, fixture pg): two replicas on a fresh database of the fixture's PostgreSQL
# server, both answering through nginx, and after a kill -9 of one the other answers health
# checks and launches alone.
set -euo pipefail
build=$1
src=$2
engine=${3:-sqlite}
tmp=$(mktemp -d)
script_pid=""
cleanup() {
  [ -n "$script_pid" ] && kill -TERM "$script_pid" 2>/dev/null && wait "$script_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$tmp/out" ] && sed 's/^/  cluster> /' "$tmp/out" >&2
  exit 1
}

read -r cloud lb replica replica2 < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

cd "$src"
db=$tmp/kyc.db
replicas=$replica
if [ "$engine" = postgres ]; then
  [ -n "${KYC_TEST_PG_DIR:-}" ] || fail "KYC_TEST_PG_DIR is not set: run through ctest (fixture pg)"
  db=$(scripts/pg-test-server createdb "$KYC_TEST_PG_DIR" "cluster_$$") || fail "createdb failed"
  replicas="$replica $replica2"
fi
KYC_BUILD_DIR=$build CLUSTER_STATE_DIR=$tmp/state CLUSTER_MASTER_KEY_FILE=$tmp/master.key \
  CLUSTER_DB=$db CLUSTER_CLOUD_PORT=$cloud CLUSTER_APP_PORT=$lb \
  CLUSTER_REPLICA_PORTS="$replicas" CLUSTER_IDENTITIES=100 scripts/cluster >"$tmp/out" 2>&1 &
script_pid=$!
for _ in $(seq 1 600); do
  grep -q 'Ctrl-C stops everything' "$tmp/out" && break
  kill -0 "$script_pid" 2>/dev/null || fail "scripts/cluster exited during start-up"
  sleep 0.1
done
grep -q 'Ctrl-C stops everything' "$tmp/out" || fail "scripts/cluster did not start within 60 s"
grep -q 'launches through nginx work' "$tmp/out" || fail "no launch through nginx"

health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$lb/healthz")
[ "$health" = '{"status":"ok","database":"ok"} 200' ] || fail "health through nginx: $health"
access=$tmp/state/nginx/access.log
grep -q '"POST /api/callback HTTP/1.1" 200' "$access" || fail "the install did not go through nginx"
grep -q '"POST /api/portal HTTP/1.1" 200' "$access" || fail "the launch did not go through nginx"
grep -q '"GET /portal?token=[A-Za-z0-9_-]* HTTP/1.1" 303' "$access" ||
  fail "the redemption did not go through nginx"
grep -q "event=server.listening url=http://127.0.0.1:$replica" "$tmp/state/kyc-1.log" ||
  fail "the replica did not listen on $replica"
nginx_pid=$(cat "$tmp/state/nginx/nginx.pid")

if [ "$engine" = postgres ]; then
  grep -q "event=server.listening url=http://127.0.0.1:$replica2" "$tmp/state/kyc-2.log" ||
    fail "the second replica did not listen on $replica2"
  grep -q 'launches through nginx work' "$tmp/out" || fail "no launch through nginx"
  # kill -9 of one replica: nginx sends everything to the other, which serves the same database
  pid1=$(sed -n 's/.*pids: \([0-9]*\) [0-9]*).*/\1/p' "$tmp/out" | head -1)
  [ -n "$pid1" ] || fail "the script named no replica pids"
  kill -KILL "$pid1"
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$replica/healthz" || break; sleep 0.1; done
  ! curl -s -o /dev/null "http://127.0.0.1:$replica/healthz" || fail "replica 1 still answers"
  for _ in 1 2 3 4; do
    health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$lb/healthz")
    [ "$health" = '{"status":"ok","database":"ok"} 200' ] || fail "health after kill -9: $health"
  done
  app_id=$(sed -n 's/.*registered the KYC app as \([^ ]*\).*/\1/p' "$tmp/out" | head -1)
  [ -n "$app_id" ] || fail "no app id in the script's output"
  for _ in 1 2; do
    portal_url=$("$build/cloudsim" launch --server "http://127.0.0.1:$cloud" --app "$app_id" \
      2>>"$tmp/out") || fail "launch after kill -9 failed"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$portal_url")
    [ "$code" = 303 ] || fail "redeeming after kill -9 answered $code"
  done
fi

kill -TERM "$script_pid"
status=0
wait "$script_pid" || status=$?
script_pid=""
[ "$status" = 143 ] || fail "SIGTERM: exit status $status, not 143"
grep -q 'stopping the replicas, nginx, cloudsim' "$tmp/out" || fail "no orderly stop"
! kill -0 "$nginx_pid" 2>/dev/null || fail "nginx ($nginx_pid) still runs"
for port in "$cloud" "$lb" $replicas; do
  ! curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "port $port still answers"
done
echo "ok: $engine cluster on ports cloud=$cloud balancer=$lb replicas=$replicas, stopped cleanly"
