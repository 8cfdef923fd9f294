#!/usr/bin/env bash
# bench/pipeline — cold start to every identity screened and written back, against cloudsim.
#
#   bench/pipeline/run.sh [BUILD_DIR]          (default: build)
#
# Knobs (environment): N (100000 identities), THREADS (kyc --pipeline-threads, 16),
# PLANT (0.01), BAD (0.03), LISTS_DIR (../shared/data/sanctions), CLOUDSIM (binary; default
# BUILD_DIR/cloudsim), CLOUDSIM_ARGS (extra `cloudsim serve` flags; default "--threads 16"),
# KEEP=1 keeps the state directory.
#
# Prints: wall time from the install to the run's end, identities/s, and the split recorded by
# the pipeline (time in page fetches, screening CPU, Cloud write time summed over the writers,
# the drain after the walk), plus cloudsim's mean latency for a metadata write.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${N:-100000}
threads=${THREADS:-16}
lists_dir=${LISTS_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data/sanctions}
cloudsim=${CLOUDSIM:-$build/cloudsim}
kyc=$build/kyc
state=$(mktemp -d /tmp/bench-pipeline.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "state kept in $state" || rm -rf "$state"
}
trap cleanup EXIT

wait_url() {
  for _ in $(seq 1 200); do
    url=$(grep -o 'url=http://[0-9.:]*' "$1" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.05
  done
  echo "server did not start: $1" >&2; tail -n 20 "$1" >&2; return 1
}

"$cloudsim" serve --listen 127.0.0.1:0 --db "$state/cs.db" ${CLOUDSIM_ARGS---threads 16} >"$state/cloudsim.log" 2>&1 &
pids+=($!)
cs=$(wait_url "$state/cloudsim.log")
instance=$("$cloudsim" state --server "$cs" --json |
  sed -n 's/.*"instance_id": *"\(inst_[0-9a-f]*\)".*/\1/p' | head -n 1)

lists=()
[ -f "$lists_dir/ofac-2021/sdn.csv" ] && lists+=("$lists_dir/ofac-2021")
for xml in "$lists_dir"/un-*/consolidated.xml; do [ -f "$xml" ] && lists+=("$xml"); done
seed=(--db "$state/cs.db" --instance "$instance" --identities "$n" --bad-rate "${BAD:-0.03}")
kyc_lists=()
if [ ${#lists[@]} -gt 0 ]; then
  seed+=(--plant-lists "${lists[@]}" --plant-rate "${PLANT:-0.01}")
  for l in "${lists[@]}"; do kyc_lists+=(--lists "$l"); done
else
  echo "no sanctions lists under $lists_dir: data-quality checks only" >&2
fi
t0=$(date +%s.%N)
"$cloudsim" seed "${seed[@]}" >"$state/seed.log" 2>&1
t1=$(date +%s.%N)
echo "seeded $n identities in $(echo "$t1 - $t0" | bc) s"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$state/manifest.json" <<JSON
{"display_name":"KYC bench","callback_url":"http://127.0.0.1:$port/api/callback",
 "portal_generator_url":"http://127.0.0.1:$port/api/portal",
 "permissions":["data:read","data:write","alerts:read","alerts:write"]}
JSON
app=$("$cloudsim" register --server "$cs" "$state/manifest.json")
KYC_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
  "$kyc" serve --listen "127.0.0.1:$port" --db "$state/kyc.db" --app-id "$app" --cloud-url "$cs" \
  --quiet --pipeline-threads "$threads" "${kyc_lists[@]}" >"$state/kyc.log" 2>&1 &
pids+=($!)
wait_url "$state/kyc.log" >/dev/null

start=$(date +%s.%N)
install=$("$cloudsim" install --server "$cs" --app "$app" --all-permissions)
until grep -q "event=kyc.pipeline.run_end installed_app_id=$install" "$state/kyc.log"; do
  sleep 0.2
done
end=$(date +%s.%N)
cpu_s() { awk '{printf "%.1f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
kyc_cpu=$(cpu_s "${pids[1]}")
cs_cpu=$(cpu_s "${pids[0]}")
wall=$(echo "$end - $start" | bc)
row=$(sqlite3 "$state/kyc.db" "SELECT state, fetched, screened, written, alerts_created, errors,
  rate_limited, fetch_ms, screen_ms, write_ms, finished_at - started_at FROM kyc_runs
  WHERE installed_app_id = '$install' ORDER BY run_id DESC LIMIT 1")
IFS='|' read -r rstate fetched screened written alerts errors limited fetch_ms screen_ms write_ms run_ms <<<"$row"
drain=$(grep -o "installed_app_id=$install state=[a-z]* ms=[0-9]* screened=[0-9]* drain_ms=[0-9]*" \
  "$state/kyc.log" | sed 's/.*drain_ms=//')
meta_us=$(grep 'path=/proxy/idt_[^ ]*/metadata' "$state/cloudsim.log" | grep -o ' us=[0-9]*' |
  cut -d= -f2 | awk '{s+=$1; n++} END {if (n) printf "%.1f", s/n/1000; else print "n/a"}')
page_us=$(grep 'path=/data/identities' "$state/cloudsim.log" | grep -o ' us=[0-9]*' |
  cut -d= -f2 | awk '{s+=$1; n++} END {if (n) printf "%.1f", s/n/1000; else print "n/a"}')
cat <<OUT
run:            $rstate; fetched $fetched, screened $screened, written $written, alerts $alerts, errors $errors, 429s $limited
wall:           $wall s (install → run end; the run itself $run_ms ms)
identities/s:   $(echo "scale=0; $screened / $wall" | bc)
split:          fetch (page GETs, wall) $fetch_ms ms · screening (CPU) $screen_ms ms · Cloud writes $write_ms ms summed over $threads writers · drain after the walk $drain ms
cpu:            kyc serve $kyc_cpu s, cloudsim $cs_cpu s (seeding excluded) on $(nproc) cores
cloudsim:       mean $page_us ms per /data/identities page, $meta_us ms per metadata write (server time)
OUT
