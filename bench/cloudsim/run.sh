#!/usr/bin/env bash
# bench/cloudsim/run.sh — the /data/identities list measured through cloudsim's real gateway
# front door (Bearer key → principal, instance check, scope, audit row), over N seeded
# identities, with wrk.
#
#   bench/cloudsim/run.sh
#   CLOUDSIM=build/cloudsim N=100000 DURATION=8s RUNS=3 CONNECTIONS=32 THREADS=2 bench/cloudsim/run.sh
#
# Steps: start "$CLOUDSIM serve" on an ephemeral port with a fresh database and a config that
# pins the instance ID; register an app whose callback is a tiny responder (bench/cloudsim/
# responder.py) that records the install event; install it through the admin API (the real
# key is in the recorded event); seed N identities into that instance (timed); then for each
# request run wrk RUNS times and print the median req/s, p50 and p99 (by req/s).
# Prints figures; never fails a build. Needs wrk, curl, jq, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLOUDSIM=${CLOUDSIM:-build/cloudsim}
N=${N:-100000}
SEED=${SEED:-42}
DURATION=${DURATION:-8s}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-}
INSTANCE=inst_0000000000000000000000000000bec4
WORK=$(mktemp -d)
DB=$WORK/cloudsim.db
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # file pattern
  for _ in $(seq 200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  exit 1
}

cat >"$WORK/orgs.json" <<EOF
{"organizations": [{"organization_id": "org_0000000000000000000000000000bec4", "name": "Bench",
  "instances": [{"instance_id": "$INSTANCE", "name": "bench"}],
  "users": [{"email": "bench@example.com", "name": "Bench"}]}]}
EOF

# shellcheck disable=SC2206
serve_args=(serve --listen 127.0.0.1:0 --db "$DB" --config "$WORK/orgs.json")
[ -n "$SERVER_THREADS" ] && serve_args+=(--threads "$SERVER_THREADS")
"$CLOUDSIM" "${serve_args[@]}" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
python3 bench/cloudsim/responder.py "$WORK/responder.port" "$WORK/install.json" \
  >"$WORK/responder.log" 2>&1 &
PIDS+=($!)
wait_for "$WORK/serve.log" 'url=http://'
wait_for "$WORK/responder.port" '[0-9]'
CLOUDSIM_URL=$(grep -o 'url=http://[^ ]*' "$WORK/serve.log" | head -1 | cut -d= -f2)
APP_URL=http://127.0.0.1:$(cat "$WORK/responder.port")

app_id=$(curl -sf -H 'Content-Type: application/json' "$CLOUDSIM_URL/admin/apps" -d @- <<EOF | jq -r .app_id
{"display_name": "bench", "callback_url": "$APP_URL/callback",
 "portal_generator_url": "$APP_URL/portal", "permissions": ["data:read", "data:write"]}
EOF
)
curl -sf -H 'Content-Type: application/json' "$CLOUDSIM_URL/admin/installs" \
  -d "{\"app_id\": \"$app_id\", \"permissions\": [\"data:read\", \"data:write\"], \"instance_id\": \"$INSTANCE\"}" |
  jq -r '"installed " + .installed_app_id + " status=" + .status'
API_KEY=$(jq -r .api_key "$WORK/install.json")

echo "== seeding $N identities into $INSTANCE (seed $SEED)"
start=$(date +%s.%N)
"$CLOUDSIM" seed --db "$DB" --instance "$INSTANCE" --identities "$N" --seed "$SEED" \
  --plant-lists ../shared/data/sanctions/ofac-2021 ../shared/data/sanctions/un-2026-02-27/consolidated.xml \
  --plant-rate 0.01 --bad-rate 0.02
end=$(date +%s.%N)
printf 'seed wall time: %.2f s\n' "$(echo "$end - $start" | bc)"

# wrk's latency lines give "50%  1.23ms"; normalise to milliseconds.
to_ms() { awk 'END {if (NR == 0) print "n/a"} {v=$1; u=$1; gsub(/[0-9.]/,"",u); sub(/[a-z]+$/,"",v);
  if (u=="us") v/=1000; else if (u=="s") v*=1000; else if (u=="m") v*=60000; printf "%.2f", v}'; }

run() {
  local label=$1 path=$2 results=()
  local check
  check=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $API_KEY" "$CLOUDSIM_URL$path")
  total=$(curl -s -H "Authorization: Bearer $API_KEY" "$CLOUDSIM_URL$path" | jq '.total')
  for _ in $(seq "$RUNS"); do
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency \
      -H "Authorization: Bearer $API_KEY" "$CLOUDSIM_URL$path")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
    p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
    bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    results+=("$rps $p50 $p99 ${bad:-0}")
  done
  median=$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
  read -r rps p50 p99 bad <<<"$median"
  printf '%-34s status=%s total=%-6s req/s=%-8s p50=%-8s p99=%-8s non2xx=%s\n' \
    "$label" "$check" "$total" "$rps" "${p50} ms" "${p99} ms" "$bad"
}

q="/data/identities?instance_id=$INSTANCE"
echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs (by req/s)"
run "unfiltered, first page" "$q"
run "unfiltered, page=500" "$q&page=500"
run "unfiltered, pageSize=100 page=500" "$q&page=500&pageSize=100"
run "indexed filter country_eq=NG" "$q&country_eq=NG"
run "first_name_ilike=jo%" "$q&first_name_ilike=jo%25"
run "meta_data.customer.segment_eq" "$q&meta_data.customer.segment_eq=premium"

# The pipeline's write: POST /proxy/{id}/metadata (a read-merge-write transaction plus the audit
# row), with cloudsim's CPU time per request from /proc (the figure that bounds the pipeline).
sqlite3 "$DB" "SELECT identity_id FROM core_identities" >"$WORK/ids"
pid=${PIDS[0]}
results=()
for _ in $(seq "$RUNS"); do
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(IDS="$WORK/ids" INSTANCE="$INSTANCE" API_KEY="$API_KEY" wrk -t"$THREADS" \
    -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s bench/cloudsim/metadata.lua \
    "$CLOUDSIM_URL")
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  cpu_ms=$(echo "scale=3; ($cpu1 - $cpu0) * 1000 / $(getconf CLK_TCK) / $n" | bc)
  results+=("$rps $p50 $cpu_ms ${bad:-0}")
done
read -r rps p50 cpu_ms bad <<<"$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")"
printf '%-34s req/s=%-8s p50=%-8s cpu/request=%-8s non2xx=%s\n' "POST /proxy/{id}/metadata" \
  "$rps" "${p50} ms" "${cpu_ms} ms" "$bad"
