#!/usr/bin/env bash
# `make cluster`'s script (scripts/cluster) end to end, on free ports with its state in a
# temporary directory: nginx in front of the replica, cloudsim registering, installing and
# launching through the balancer, a launch redeemed through it, then SIGTERM stopping every
# process it started.
#
#   test_cluster.sh BUILD_DIR SOURCE_DIR
#
# It runs one replica on a SQLite file (CLUSTER_DB), so it needs no PostgreSQL support in the
# stores; the two-replica PostgreSQL cluster is the script's default and `make cluster`.
set -euo pipefail
build=$1
src=$2
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

read -r cloud lb replica < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

cd "$src"
KYC_BUILD_DIR=$build CLUSTER_STATE_DIR=$tmp/state CLUSTER_MASTER_KEY_FILE=$tmp/master.key \
  CLUSTER_DB=$tmp/kyc.db CLUSTER_CLOUD_PORT=$cloud CLUSTER_APP_PORT=$lb \
  CLUSTER_REPLICA_PORTS=$replica CLUSTER_IDENTITIES=100 scripts/cluster >"$tmp/out" 2>&1 &
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

kill -TERM "$script_pid"
status=0
wait "$script_pid" || status=$?
script_pid=""
[ "$status" = 143 ] || fail "SIGTERM: exit status $status, not 143"
grep -q 'stopping the replicas, nginx, cloudsim' "$tmp/out" || fail "no orderly stop"
! kill -0 "$nginx_pid" 2>/dev/null || fail "nginx ($nginx_pid) still runs"
for port in "$cloud" "$lb" "$replica"; do
  ! curl -s -o /dev/null "http://127.0.0.1:$port/healthz" || fail "port $port still answers"
done
echo "ok: cluster on ports cloud=$cloud balancer=$lb replica=$replica, stopped cleanly"
