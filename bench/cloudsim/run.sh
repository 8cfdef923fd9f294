#!/usr/bin/env bash
# bench/cloudsim/run.sh — seeding time for N identities, and req/s + p50/p99 of the gateway's
# filtered identity list (GET /data/identities with a filter) over them, with wrk.
#
#   bench/cloudsim/run.sh                      # build/cloudsim, 100k identities
#   CLOUDSIM=path/to/cloudsim N=100000 DURATION=10s CONNECTIONS=32 bench/cloudsim/run.sh
#
# The server part needs a gateway API key for the seeded instance. Either point the script at a
# running server (CLOUDSIM_URL, API_KEY, INSTANCE — the database it serves must be DB), or let it
# start "$CLOUDSIM serve" itself with SERVE_ARGS and give API_KEY/INSTANCE of an install made
# through the admin API. Prints figures; never fails a build.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLOUDSIM=${CLOUDSIM:-build/cloudsim}
N=${N:-100000}
SEED=${SEED:-42}
INSTANCE=${INSTANCE:-inst_bench}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
WORK=$(mktemp -d)
DB=${DB:-$WORK/cloudsim.db}
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== seeding $N identities (seed $SEED, instance $INSTANCE)"
start=$(date +%s.%N)
"$CLOUDSIM" seed --db "$DB" --instance "$INSTANCE" --identities "$N" --seed "$SEED" \
  --plant-lists ../shared/data/sanctions/ofac-2021 ../shared/data/sanctions/un-2026-02-27/consolidated.xml \
  --plant-rate 0.01 --bad-rate 0.02
end=$(date +%s.%N)
printf 'seed wall time: %.2f s\n' "$(echo "$end - $start" | bc)"

if [ -z "${CLOUDSIM_URL:-}" ]; then
  if [ -z "${SERVE_ARGS:-}" ]; then
    echo "(set CLOUDSIM_URL+API_KEY, or SERVE_ARGS+API_KEY, to run the HTTP part)"; exit 0
  fi
  # shellcheck disable=SC2086
  QUIET=1 "$CLOUDSIM" serve $SERVE_ARGS >"$WORK/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    CLOUDSIM_URL=$(grep -o 'url=http://[^ ]*' "$WORK/serve.log" | head -1 | cut -d= -f2 || true)
    [ -n "$CLOUDSIM_URL" ] && break
    sleep 0.1
  done
fi
: "${API_KEY:?API_KEY is required for the HTTP part}"

run() {
  local label=$1 path=$2
  echo "== $label: GET $path"
  curl -s -H "Authorization: Bearer $API_KEY" "$CLOUDSIM_URL$path" | head -c 200; echo
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    -H "Authorization: Bearer $API_KEY" "$CLOUDSIM_URL$path" |
    grep -E 'Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors'
}
run "indexed filter (country)" "/data/identities?instance_id=$INSTANCE&country_eq=NG"
run "indexed filter, page 50" "/data/identities?instance_id=$INSTANCE&country_eq=DE&page=50&pageSize=20"
run "nested metadata filter (no index)" "/data/identities?instance_id=$INSTANCE&meta_data.customer.segment_eq=premium"
run "unfiltered first page" "/data/identities?instance_id=$INSTANCE"
