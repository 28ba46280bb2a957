#!/usr/bin/env bash
# Login throughput with and without pgpool_stats, measured side by side.
#
# Three identical throwaway clusters: one with pgpool_stats preloaded and a
# budget on the benchmark's application, two without ("without" and
# "control"). pgbench -C (a new login for every transaction, a non-superuser
# role, SELECT 1) runs against each in turn, in a rotating order, ROUNDS
# times. The script prints each round and the medians of with/without and of
# control/without: the second is the noise floor of this machine, an A/A
# comparison that should be 1.0. Timing on shared machines is noisy: only the
# ratios mean something, and only next to the control.
#
#   test/bench/login_overhead.sh [ROUNDS=11] [SECONDS_PER_RUN=4] [CLIENTS=2]
# Needs the extension built and installed (tools/test.sh or make install).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/lib.sh
source test/bench/lib.sh

rounds=${1:-11}
seconds=${2:-4}
clients=${3:-2}
scratch=$(make_scratch_dir bench)
trap 'stop_clusters with without control; rm -rf "$scratch"' EXIT

start_cluster with 55491 "max_connections = 100
shared_preload_libraries = 'pgpool_stats'"
start_cluster without 55492 "max_connections = 100"
start_cluster control 55493 "max_connections = 100"
for port in 55491 55492 55493; do psql -X -q -h "$scratch" -p "$port" -U postgres -c "CREATE ROLE bench LOGIN"; done
psql -X -q -h "$scratch" -p 55491 -U postgres \
    -c "CREATE EXTENSION pgpool_stats" -c "SELECT pgpool_stats.set_budget('bench', 50)" >/dev/null
echo 'SELECT 1;' > "$scratch/select1.sql"

tps() {  # port
    PGAPPNAME=bench pgbench -n -C -c "$clients" -j "$clients" -T "$seconds" -f "$scratch/select1.sql" \
        -h "$scratch" -p "$1" -U bench postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

echo "pgbench -C, $clients clients, ${seconds}s per run, $rounds rounds: with pgpool_stats, without, control (also without)"
ratios=() controls=()
ports=(55491 55492 55493)
for ((r = 1; r <= rounds; r++)); do
    # Rotate the order, so drift of the machine favours none of them.
    declare -A got=()
    for ((k = 0; k < 3; k++)); do
        port=${ports[$(((r + k) % 3))]}
        got[$port]=$(tps "$port")
    done
    w=${got[55491]} wo=${got[55492]} ctl=${got[55493]}
    ratio=$(ratio "$w" "$wo")
    control=$(ratio "$ctl" "$wo")
    ratios+=("$ratio") controls+=("$control")
    printf 'round %2d: with %7.1f, without %7.1f, control %7.1f logins/s; with/without %s, control/without %s\n' \
        "$r" "$w" "$wo" "$ctl" "$ratio" "$control"
    unset got
done
admitted=$(psql -X -At -h "$scratch" -p 55491 -U postgres \
    -c "SELECT admitted FROM pgpool_stats.applications WHERE application_name = 'bench'")
echo "logins admitted through pgpool_stats: $admitted"
echo "median login throughput ratio with / without pgpool_stats: $(median "${ratios[@]}")"
echo "median login throughput ratio control / without (noise floor, A/A): $(median "${controls[@]}")"
