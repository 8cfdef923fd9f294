#!/usr/bin/env bash
# bench/pipeline — cold start to every identity screened and written back, against cloudsim.
#
#   bench/pipeline/run.sh [BUILD_DIR]                        (default: build; MODE=sqlite)
#   MODES="sqlite pg2 pg2-kill" ROUNDS=2 bench/pipeline/run.sh build
#
# Modes (MODE=one, or MODES="a b c" run in that order, ROUNDS times, in the same invocation so
# their ratios come from one run of the machine):
#   sqlite    one `kyc serve` on a SQLite file (the embedded default)
#   pg2       two `kyc serve` replicas on one PostgreSQL database (a throwaway server from
#             scripts/pg-test-server in a temporary directory, fsync on); cloudsim delivers the
#             install to replica A; B runs beside it (no balancer: the Cloud side is cloudsim)
#   pg2-kill  pg2, and the replica holding the install's run lease is `kill -9`-ed once
#             KILL_AT (0.5) of the identities are stored; the other takes the run over when
#             the lease (LEASE_MS, 6000) expires. The clock stops when every identity is
#             written back and no alert is left wanted/creating/uncertain.
#
# INSTALLS=k (default 1) splits the N identities over k Blnk instances and installs the app in
# each: a run is per install (one `run` lease each), so with one install one replica does the
# whole run while the other stands by. With k > 1 the PostgreSQL modes put nginx (round robin,
# as `make cluster` does) in front of the replicas, so the install callbacks — and with them
# the runs — alternate between A and B; SQLite's single process runs the installs in turn.
#
# Knobs (environment): N (100000 identities), THREADS (kyc --pipeline-threads, 16),
# PLANT (0.01), BAD (0.03), LISTS_DIR (../shared/data/sanctions), CLOUDSIM (binary; default
# BUILD_DIR/cloudsim), CLOUDSIM_ARGS (extra `cloudsim serve` flags; default "--threads 16"),
# INSTALLS (1), LEASE_MS (6000, PostgreSQL modes), KILL_AT (0.5), PGSS (1: count statements with
# pg_stat_statements; 0 off), KEEP=1 keeps the state directory.
#
# Prints per run: wall time from the install to the run's end, identities/s, the split
# recorded by the pipeline, CPU of the servers, cloudsim's mean latency for a metadata write,
# the outcome counted in cloudsim (identities written back, alerts, alerts created twice), and
# on PostgreSQL the database work per identity (statements, commits, rows, WAL bytes). Ends
# with a summary (medians over ROUNDS) and the ratio of each mode to sqlite. Never fails on
# timing; it does exit 1 if a run lost or duplicated work.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
n=${N:-100000}
threads=${THREADS:-16}
lists_dir=${LISTS_DIR:-$(cd "$root/.." && pwd)/shared/data/sanctions}
cloudsim=${CLOUDSIM:-$build/cloudsim}
kyc=$build/kyc
read -r -a modes <<<"${MODES:-${MODE:-sqlite}}"
rounds=${ROUNDS:-1}
lease_ms=${LEASE_MS:-6000}
kill_at=${KILL_AT:-0.5}
pgss=${PGSS:-1}
installs=${INSTALLS:-1}
per_install=$((n / installs))
n=$((per_install * installs))
for m in "${modes[@]}"; do
  case $m in sqlite | pg2 | pg2-kill) ;; *) echo "unknown mode '$m' (sqlite, pg2, pg2-kill)" >&2; exit 2 ;; esac
done
state=$(mktemp -d /tmp/bench-pipeline.XXXXXX)
chmod 755 "$state" # the PostgreSQL server (user postgres) keeps its data below
pids=()
pg_dir=""
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$pg_dir" ] && "$root/scripts/pg-test-server" stop "$pg_dir"
  if [ -n "${KEEP:-}" ]; then echo "state kept in $state"; else rm -rf "$state"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that cleanup runs
# stops the servers of one run (the ones still alive) and forgets them
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}

wait_url() {
  for _ in $(seq 1 400); do
    url=$(grep -o 'url=http://[0-9.:]*' "$1" 2>/dev/null | head -n 1 | cut -d= -f2 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.05
  done
  echo "server did not start: $1" >&2; tail -n 20 "$1" >&2; return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk '{printf "%.1f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat" 2>/dev/null || echo 0; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2}'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU seconds the PostgreSQL server used so far: the postmaster, its live children, and the
# children that exited (backends of closed connections, counted in the postmaster's cutime)
pg_cpu() {
  local pm
  pm=$(head -n 1 "$pg_dir/data/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(ps -o pid= --ppid "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done
  } | awk '{s += $1} END {printf "%.1f", s / '"$(getconf CLK_TCK)"'}'
}

lists=()
[ -f "$lists_dir/ofac-2021/sdn.csv" ] && lists+=("$lists_dir/ofac-2021")
for xml in "$lists_dir"/un-*/consolidated.xml; do [ -f "$xml" ] && lists+=("$xml"); done
kyc_lists=()
for l in "${lists[@]}"; do kyc_lists+=(--lists "$l"); done
[ ${#lists[@]} -gt 0 ] || echo "no sanctions lists under $lists_dir: data-quality checks only" >&2

# ---- the seeded Cloud, made once and copied for every run (each run starts from it) ----
mkdir -p "$state/seed"
instances_json=$(for i in $(seq "$installs"); do printf '{"name":"bench%d"},' "$i"; done)
cat >"$state/seed/orgs.json" <<JSON
{"organizations":[{"name":"Bench organization","instances":[${instances_json%,}],
  "users":[{"email":"bench@example.com","name":"Bench user"}]}]}
JSON
"$cloudsim" serve --listen 127.0.0.1:0 --db "$state/seed/cs.db" --config "$state/seed/orgs.json" \
  >"$state/seed/cloudsim.log" 2>&1 &
pids+=($!)
cs=$(wait_url "$state/seed/cloudsim.log")
read -r -a instances <<<"$("$cloudsim" state --server "$cs" --json |
  grep -o '"instance_id": *"inst_[0-9a-f]*"' | sed 's/.*"\(inst_[0-9a-f]*\)"/\1/' | tr '\n' ' ')"
[ ${#instances[@]} = "$installs" ] || { echo "cloudsim has ${#instances[@]} instances, not $installs" >&2; exit 1; }
t0=$(date +%s.%N)
for instance in "${instances[@]}"; do
  seed=(--db "$state/seed/cs.db" --instance "$instance" --identities "$per_install" --bad-rate "${BAD:-0.03}")
  [ ${#lists[@]} -gt 0 ] && seed+=(--plant-lists "${lists[@]}" --plant-rate "${PLANT:-0.01}")
  "$cloudsim" seed "${seed[@]}" >>"$state/seed/seed.log" 2>&1
done
t1=$(date +%s.%N)
stop_all # a clean stop checkpoints cloudsim's WAL into cs.db
echo "seeded $n identities in $installs instance(s) in $(echo "$t1 - $t0" | bc) s (copied for each run)"

# ---- PostgreSQL, once for every pg run (a fresh database per run) ----
need_pg=0
for m in "${modes[@]}"; do [ "$m" != sqlite ] && need_pg=1; done
if [ $need_pg = 1 ]; then
  pg_dir=$state/pg
  opts=""
  [ "$pgss" = 1 ] && opts="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  PG_TEST_OPTS="$opts ${PG_TEST_OPTS:-}" "$root/scripts/pg-test-server" start "$pg_dir" >/dev/null
  echo "PostgreSQL: $(psql "$("$root/scripts/pg-test-server" url "$pg_dir")" -qAtX -c 'SHOW server_version') \
(fsync $(psql "$("$root/scripts/pg-test-server" url "$pg_dir")" -qAtX -c 'SHOW fsync'), \
synchronous_commit $(psql "$("$root/scripts/pg-test-server" url "$pg_dir")" -qAtX -c 'SHOW synchronous_commit'))"
fi

# The database work of one run, read from the server's statistics: "commits inserted updated
# deleted wal_bytes statements" (statements only with pg_stat_statements).
pg_stats() {
  local s
  s=$(psql "$1" -qAtX -F' ' -c "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted,
      pg_current_wal_lsn() - '0/0'::pg_lsn FROM pg_stat_database WHERE datname = current_database()")
  if [ "$pgss" = 1 ]; then
    s="$s $(psql "$1" -qAtX -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")"
  else
    s="$s 0"
  fi
  echo "$s"
}

declare -A walls
failed=0
run_one() {
  local mode=$1 round=$2 dir="$state/$1-$2" db=""
  mkdir -p "$dir"
  cp "$state/seed/cs.db" "$dir/cs.db"
  "$cloudsim" serve --listen 127.0.0.1:0 --db "$dir/cs.db" --config "$state/seed/orgs.json" \
    ${CLOUDSIM_ARGS---threads 16} >"$dir/cloudsim.log" 2>&1 &
  pids+=($!)
  local cs_pid=$!
  local cs
  cs=$(wait_url "$dir/cloudsim.log")
  local port lb_port=""
  port=$(free_port)
  # several installs on replicas: Cloud calls nginx, which alternates between A and B
  [ "$mode" != sqlite ] && [ "$installs" -gt 1 ] && lb_port=$(free_port)
  local origin=http://127.0.0.1:${lb_port:-$port}
  cat >"$dir/manifest.json" <<JSON
{"display_name":"KYC bench","callback_url":"$origin/api/callback",
 "portal_generator_url":"$origin/api/portal",
 "permissions":["data:read","data:write","alerts:read","alerts:write"]}
JSON
  local app
  app=$("$cloudsim" register --server "$cs" "$dir/manifest.json")
  local replicas=() logs=()
  export KYC_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  if [ "$mode" = sqlite ]; then
    "$kyc" serve --listen "127.0.0.1:$port" --db "$dir/kyc.db" --app-id "$app" --cloud-url "$cs" \
      --quiet --pipeline-threads "$threads" "${kyc_lists[@]}" >"$dir/kyc-a.log" 2>&1 &
    replicas+=($!); pids+=($!); logs+=("$dir/kyc-a.log")
  else
    local name=kyc_${mode//-/_}_$round
    db=$("$root/scripts/pg-test-server" createdb "$pg_dir" "$name")
    # both replicas start together (they migrate the empty database once between them)
    local upstreams=""
    for r in a b; do
      local p=$port
      [ $r = b ] && p=$(free_port)
      upstreams+="server 127.0.0.1:$p max_fails=0; "
      KYC_PIPELINE_LEASE_MS=$lease_ms "$kyc" serve --listen "127.0.0.1:$p" --db "$db" --app-id "$app" \
        --cloud-url "$cs" --quiet --pipeline-threads "$threads" "${kyc_lists[@]}" >"$dir/kyc-$r.log" 2>&1 &
      replicas+=($!); pids+=($!); logs+=("$dir/kyc-$r.log")
    done
    [ "$pgss" = 1 ] && psql "$db" -qAtX -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null
    if [ -n "$lb_port" ]; then
      mkdir -p "$dir/nginx/tmp"
      cat >"$dir/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/tmp;
  upstream replicas { $upstreams }
  server {
    listen 127.0.0.1:$lb_port;
    location / { proxy_pass http://replicas; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
      nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" -g 'daemon off;' \
        >"$dir/nginx/stdout.log" 2>&1 &
      pids+=($!)
    fi
  fi
  for l in "${logs[@]}"; do wait_url "$l" >/dev/null; done
  # kyc reads a SQLite file; a query of the PostgreSQL database
  kq() {
    if [ -n "$db" ]; then psql "$db" -qAtX -F'|' -c "$1"; else sqlite3 "$dir/kyc.db" "$1"; fi
  }
  local before="0 0 0 0 0 0"
  if [ -n "$db" ]; then
    [ "$pgss" = 1 ] && psql "$db" -qAtX -c 'SELECT pg_stat_statements_reset()' >/dev/null
    sleep 1.5 # the statistics collector publishes a backend's counts after ~1 s
    before=$(pg_stats "$db")
  fi
  local load0 pg_cpu0=0
  load0=$(loadavg)
  [ -n "$db" ] && pg_cpu0=$(pg_cpu)

  local start install ids=()
  start=$(date +%s.%N)
  for instance in "${instances[@]}"; do
    ids+=("$("$cloudsim" install --server "$cs" --app "$app" --instance "$instance" --all-permissions)")
  done
  install=${ids[0]}
  local killed="" kill_s=""
  if [ "$mode" = pg2-kill ]; then
    local half
    half=$(awk -v n="$n" -v k="$kill_at" 'BEGIN {printf "%d", n * k}')
    until [ "$(kq "SELECT count(*) FROM kyc_identities")" -ge "$half" ]; do
      sleep 0.5
    done
    local holder
    holder=$(kq "SELECT holder FROM kyc_leases WHERE installed_app_id = '$install' AND unit = 'run'")
    for i in "${!logs[@]}"; do
      if grep -q "event=kyc.pipeline.replica holder=$holder " "${logs[$i]}"; then
        kill -9 "${replicas[$i]}"
        wait "${replicas[$i]}" 2>/dev/null || true
        killed=$i
      fi
    done
    kill_s=$(echo "$(date +%s.%N) - $start" | bc)
    [ -n "$killed" ] || { echo "pg2-kill: no replica holds the run (holder '$holder')" >&2; failed=1; }
    # done: every identity written back, no alert left in flight, on the survivor
    until [ "$(kq "SELECT count(*) FROM kyc_identities WHERE writeback_state = 'done'
        AND alert_state NOT IN ('wanted', 'creating', 'uncertain')")" -ge "$n" ]; do
      sleep 0.5
    done
  else
    for id in "${ids[@]}"; do
      until grep -q "event=kyc.pipeline.run_end installed_app_id=$id" "${logs[@]}"; do
        sleep 0.2
      done
    done
  fi
  local end
  end=$(date +%s.%N)
  local load1
  load1=$(loadavg)
  local kyc_cpu="" cs_cpu
  for i in "${!replicas[@]}"; do
    [ "$i" = "$killed" ] && { kyc_cpu+="(killed) "; continue; }
    kyc_cpu+="$(cpu_s "${replicas[$i]}") "
  done
  cs_cpu=$(cpu_s "$cs_pid")
  [ -n "$db" ] && cs_cpu+=" s, PostgreSQL $(echo "$(pg_cpu) - $pg_cpu0" | bc)"
  local wall
  wall=$(echo "$end - $start" | bc)
  walls[$mode]+="$wall "

  local row rstate fetched screened written alerts errors limited fetch_ms screen_ms write_ms run_ms
  # the runs that finished, summed over the installs (their times overlap when replicas share)
  row=$(kq "SELECT min(state), sum(fetched), sum(screened), sum(written), sum(alerts_created),
    sum(errors), sum(rate_limited), sum(fetch_ms), sum(screen_ms), sum(write_ms),
    max(finished_at) - min(started_at) FROM kyc_runs WHERE state <> 'running'")
  IFS='|' read -r rstate fetched screened written alerts errors limited fetch_ms screen_ms write_ms run_ms <<<"$row"
  local drain
  drain=$(grep -ho "installed_app_id=[^ ]* state=[a-z]* ms=[0-9]* screened=[0-9]* drain_ms=[0-9]*" \
    "${logs[@]}" | tail -n 1 | sed 's/.*drain_ms=//')
  local meta_us page_us
  meta_us=$(grep 'path=/proxy/idt_[^ ]*/metadata' "$dir/cloudsim.log" | grep -o ' us=[0-9]*' |
    cut -d= -f2 | awk '{s+=$1; n++} END {if (n) printf "%.1f", s/n/1000; else print "n/a"}')
  page_us=$(grep 'path=/data/identities' "$dir/cloudsim.log" | grep -o ' us=[0-9]*' |
    cut -d= -f2 | awk '{s+=$1; n++} END {if (n) printf "%.1f", s/n/1000; else print "n/a"}')
  # the outcome, counted on both sides
  local stored in_blnk cloud_alerts twice wanted_alerts screenings
  stored=$(kq "SELECT count(*) FROM kyc_identities WHERE writeback_state = 'done'")
  wanted_alerts=$(kq "SELECT count(*) FROM kyc_identities WHERE alert_state = 'open'")
  screenings=$(kq "SELECT count(*) || ' for ' || count(DISTINCT installed_app_id || identity_id)
    FROM kyc_audit_log WHERE kind = 'screening'")
  in_blnk=$(sqlite3 "$dir/cs.db" "SELECT count(*) FROM core_identities WHERE meta_data LIKE '%\"kyc\"%'")
  cloud_alerts=$(sqlite3 "$dir/cs.db" "SELECT count(*) FROM cloud_alerts")
  twice=$(sqlite3 "$dir/cs.db" "SELECT count(*) FROM (SELECT target_id FROM cloud_alerts
    GROUP BY target_id HAVING count(*) > 1)")

  local takeover=""
  if [ "$mode" != sqlite ]; then
    local from
    from=$(grep -ho 'event=kyc.pipeline.takeover installed_app_id=[^ ]* from=[^ ]*' "${logs[@]}" | head -n 1 |
      sed 's/.*from=//' || true)
    local ran
    ran=$(for l in "${logs[@]}"; do grep -c "event=kyc.pipeline.run_start" "$l" || true; done | tr '\n' ' ')
    takeover="run starts per replica (A B): $ran; takeover from: ${from:-none}"
    [ -n "$kill_s" ] && takeover+="; killed replica $([ "$killed" = 0 ] && echo A || echo B) at $kill_s s"
  fi

  echo
  echo "== $mode (round $round) =="
  cat <<OUT
run:            $rstate; fetched $fetched, screened $screened, written $written, alerts $alerts, errors $errors, 429s $limited (finished runs, summed)
wall:           $wall s (install → $([ "$mode" = pg2-kill ] && echo "all settled" || echo "run end"); first run start to last run end $run_ms ms)
identities/s:   $(echo "scale=0; $n / $wall" | bc)
split:          fetch (page GETs, wall) $fetch_ms ms · screening (CPU) $screen_ms ms · Cloud writes $write_ms ms summed over $threads writers · drain after the walk $drain ms
cpu:            kyc serve $kyc_cpu s, cloudsim $cs_cpu s (seeding excluded) on $(nproc) cores; load average $load0 → $load1
cloudsim:       mean $page_us ms per /data/identities page, $meta_us ms per metadata write (server time)
outcome:        written back in Blnk $in_blnk of $n (kyc: $stored done); alerts in Blnk $cloud_alerts, kyc open $wanted_alerts, created twice $twice; screening audit records $screenings identities
OUT
  [ -n "$takeover" ] && echo "replicas:       $takeover"
  if [ "$in_blnk" != "$n" ] || [ "$stored" != "$n" ] || [ "$twice" != 0 ] || [ "$cloud_alerts" != "$wanted_alerts" ]; then
    echo "LOST OR DUPLICATED WORK in $mode round $round" >&2
    failed=1
  fi
  if [ -n "$db" ]; then
    sleep 1.5
    local after
    after=$(pg_stats "$db")
    read -r -a b <<<"$before"
    read -r -a a <<<"$after"
    awk -v n="$n" -v c=$((a[0] - b[0])) -v i=$((a[1] - b[1])) -v u=$((a[2] - b[2])) -v d=$((a[3] - b[3])) \
      -v w=$((a[4] - b[4])) -v s=$((a[5] - b[5])) -v pgss="$pgss" 'BEGIN {
      printf "postgres:       per identity: %s%.2f commits, %.2f rows inserted, %.2f updated, %.2f deleted, %.1f KB WAL (totals %d / %d / %d / %d, %.0f MB WAL)\n",
        (pgss == 1 ? sprintf("%.1f statements, ", s / n) : ""), c / n, i / n, u / n, d / n, w / n / 1024, c, i, u, d, w / 1048576 }'
    local chain
    if [ "$pgss" = 1 ]; then
      echo "statements:     the most frequent (calls per identity, mean server ms):"
      psql "$db" -qAtX -F' ' -c "SELECT round(calls::numeric / $n, 2), round(mean_exec_time::numeric, 3),
          regexp_replace(left(query, 90), '\s+', ' ', 'g') FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY calls DESC LIMIT 8" | sed 's/^/                /'
      psql "$db" -qAtX -c "SELECT 'server time in statements: ' || round(sum(total_exec_time)::numeric / 1000, 1)
          || ' s' FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
          WHERE datname = current_database())" | sed 's/^/                /'
    fi
    for id in "${ids[@]}"; do
      chain=$("$kyc" audit verify --db "$db" --install "$id" 2>&1 | tail -n 1 || true)
      echo "audit chain:    $chain"
    done
  fi
  stop_all
  [ -n "$db" ] && psql "$("$root/scripts/pg-test-server" url "$pg_dir")" -qAtX \
    -c "DROP DATABASE IF EXISTS \"kyc_${mode//-/_}_$round\" WITH (FORCE)" >/dev/null
  [ -n "${KEEP:-}" ] || rm -f "$dir/cs.db" "$dir/cs.db-wal" "$dir/kyc.db" "$dir/kyc.db-wal"
}

for round in $(seq "$rounds"); do
  for m in "${modes[@]}"; do run_one "$m" "$round"; done
done

echo
echo "== summary: $n identities in $installs install(s), $rounds round(s), modes run alternately; medians =="
base=$(echo ${walls[sqlite]:-} | tr ' ' '\n' | median)
for m in "${modes[@]}"; do
  med=$(echo ${walls[$m]} | tr ' ' '\n' | median)
  ratio=""
  [ "$base" != n/a ] && [ -n "${walls[sqlite]:-}" ] && ratio=$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f× sqlite", a / b}')
  printf "%-9s walls %-28s median %8s s  %s\n" "$m" "${walls[$m]}" "$med" "$ratio"
done
exit $failed
