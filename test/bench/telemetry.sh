#!/usr/bin/env bash
# Telemetry costs, measured side by side in one run (ratios, never absolute
# times: timing on shared machines is noisy).
#
#  1. With 1,000 connections held across 20 applications:
#     SELECT * FROM pgpool_stats.applications against the equivalent
#     pg_stat_activity aggregate (count per application and state), each by
#     pgbench on one persistent connection, ROUNDS interleaved rounds.
#  2. The worker's CPU over 30 s at sample_interval = 100ms, from /proc: with
#     nothing for the reaper to examine, then with every application's
#     sessions under idle timeouts (examined at every sample, none due).
#  2b. The reaper's lateness: 20 sessions idle in a transaction under a 1 s
#     timeout; idle_for at termination minus the timeout.
#  3. Steady-state query throughput, pgbench -S on persistent connections,
#     with and without pgpool_stats (plus an A/A control without it).
#
#   test/bench/telemetry.sh [ROUNDS=5] [SECONDS_PER_RUN=5]
# Needs the extension built and installed (tools/test.sh or make install).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/lib.sh
source test/bench/lib.sh

rounds=${1:-5}
seconds=${2:-5}
scratch=$(make_scratch_dir telemetry)
holders=()
cleanup() {
    for h in "${holders[@]}"; do kill "$h" 2>/dev/null || true; done
    stop_clusters with without control
    rm -rf "$scratch"
}
trap cleanup EXIT

tps_of() {  # port script-file [pgbench options...]
    local port=$1 file=$2; shift 2
    pgbench -n -T "$seconds" -f "$file" "$@" -h "$scratch" -p "$port" -U postgres postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

echo "== 1. applications view vs pg_stat_activity aggregate, 1,000 connections in 20 applications"
start_cluster with 55591 "shared_preload_libraries = 'pgpool_stats'
max_connections = 1100
pgpool_stats.sample_interval = '100ms'"
psql -X -q -h "$scratch" -p 55591 -U postgres -c "CREATE EXTENSION pgpool_stats"
for a in $(seq 1 20); do
    /usr/bin/python3 test/clients/storm.py --host "$scratch" --port 55591 --user postgres \
        --app "service$a" --count 50 --hold 100000 >/dev/null 2>&1 &
    holders+=($!)
done
for _ in $(seq 1 120); do
    n=$(psql -X -At -h "$scratch" -p 55591 -U postgres -c \
        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'service%'")
    ((n >= 1000)) && break
    sleep 1
done
echo "connections held: $n"
echo 'SELECT * FROM pgpool_stats.applications;' > "$scratch/ours.sql"
echo 'SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2;' > "$scratch/theirs.sql"
# What bounds the view: a query's own cost (SELECT 1) and a one-row view of
# ours that reads no session (capacity) are measured beside it, so the share
# of the pass over the sessions is visible.
echo 'SELECT * FROM pgpool_stats.capacity;' > "$scratch/floor.sql"
echo 'SELECT 1;' > "$scratch/select1.sql"
view_ratios=() floor_ratios=()
for ((r = 1; r <= rounds; r++)); do
    ours=$(tps_of 55591 "$scratch/ours.sql")
    theirs=$(tps_of 55591 "$scratch/theirs.sql")
    floor=$(tps_of 55591 "$scratch/floor.sql")
    select1=$(tps_of 55591 "$scratch/select1.sql")
    view_ratios+=("$(ratio "$ours" "$theirs")")
    floor_ratios+=("$(ratio "$ours" "$floor")")
    printf 'round %d: applications %8.1f q/s, pg_stat_activity aggregate %8.1f q/s, ratio %s; capacity view %8.1f q/s, SELECT 1 %8.1f q/s\n' \
        "$r" "$ours" "$theirs" "${view_ratios[-1]}" "$floor" "$select1"
done

echo "== 2. the worker's CPU with 1,000 connections, sample_interval = 100ms, 30 s each"
cpu_share=$(worker_cpu_share 55591 30)
echo "worker CPU, nothing to reap: $cpu_share % of one core"
for a in $(seq 1 20); do
    psql -X -q -h "$scratch" -p 55591 -U postgres -c "SELECT pgpool_stats.set_budget('service$a', 100,
        idle_in_transaction_timeout => '1 hour', idle_session_timeout => '1 hour')" >/dev/null
done
reap_cpu_share=$(worker_cpu_share 55591 30)
echo "worker CPU, reaper examining every session at every sample: $reap_cpu_share % of one core"

echo "== 2b. deadline to termination: 20 sessions idle in a transaction, 1 s timeout"
psql -X -q -h "$scratch" -p 55591 -U postgres -c "CREATE ROLE leaker LOGIN" \
    -c "SELECT pgpool_stats.set_budget('leak', 100, idle_in_transaction_timeout => '1 second')" >/dev/null
/usr/bin/python3 - "$scratch" <<'PY'
import asyncio, sys
import asyncpg
async def main():
    conns = [await asyncpg.connect(host=sys.argv[1], port=55591, user="leaker", database="postgres",
                                   server_settings={"application_name": "leak"}) for _ in range(20)]
    for c in conns:
        await c.execute("BEGIN; SELECT 1")
    await asyncio.sleep(4)  # the reaper ends them; closing what is left is not needed
asyncio.run(main())
PY
late=$(psql -X -At -h "$scratch" -p 55591 -U postgres -c "
    SELECT count(*) || ' terminated; late by mean ' ||
           round(avg(extract(epoch FROM idle_for) * 1000 - 1000)) || ' ms, max ' ||
           round(max(extract(epoch FROM idle_for) * 1000 - 1000)) || ' ms'
    FROM pgpool_stats.reaped WHERE application_name = 'leak' AND action = 'terminated'")
echo "reaper at 100ms sampling: $late"
for h in "${holders[@]}"; do kill "$h" 2>/dev/null || true; done
holders=()

echo "== 3. pgbench -S (persistent connections) with / without pgpool_stats"
as_cluster_owner pg_ctl -D "$scratch/with" -m fast stop >/dev/null
as_cluster_owner sed -i 's/^max_connections = 1100$/max_connections = 100/' "$scratch/with/postgresql.conf"
as_cluster_owner pg_ctl -D "$scratch/with" -l "$scratch/with.log" -w start >/dev/null
start_cluster without 55592 ""
start_cluster control 55593 ""
for port in 55591 55592 55593; do
    pgbench -q -i -s 10 -h "$scratch" -p "$port" -U postgres postgres >/dev/null 2>&1
done
select_ratios=() control_ratios=()
ports=(55591 55592 55593)
for ((r = 1; r <= rounds; r++)); do
    declare -A got=()
    for ((k = 0; k < 3; k++)); do
        port=${ports[$(((r + k) % 3))]}
        got[$port]=$(PGAPPNAME=bench pgbench -n -S -c 2 -j 2 -T "$seconds" -h "$scratch" -p "$port" \
            -U postgres postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    done
    select_ratios+=("$(ratio "${got[55591]}" "${got[55592]}")")
    control_ratios+=("$(ratio "${got[55593]}" "${got[55592]}")")
    printf 'round %d: with %9.1f, without %9.1f, control %9.1f tps; with/without %s, control/without %s\n' \
        "$r" "${got[55591]}" "${got[55592]}" "${got[55593]}" "${select_ratios[-1]}" "${control_ratios[-1]}"
    unset got
done

echo
echo "median applications view / pg_stat_activity aggregate throughput at 1,000 connections: $(median "${view_ratios[@]}")"
echo "median applications view / capacity view (one row, no session read) throughput: $(median "${floor_ratios[@]}")"
echo "worker CPU at 1,000 connections, 100ms sampling: $cpu_share % of one core (nothing to reap)"
echo "worker CPU with the reaper examining all 1,000 sessions every sample: $reap_cpu_share % of one core"
echo "reaper, deadline to termination at 100ms sampling: $late"
echo "median pgbench -S throughput with / without pgpool_stats: $(median "${select_ratios[@]}")"
echo "median pgbench -S throughput control / without (noise floor, A/A): $(median "${control_ratios[@]}")"
