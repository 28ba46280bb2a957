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
echo "pgbench -C, $clients clients, ${seconds}s per run, $rounds rounds: with pgpool_stats, without, control (also without)"
login_rounds 55491 55492 55493 "$rounds" "$seconds" "$clients"
admitted=$(psql -X -At -h "$scratch" -p 55491 -U postgres \
    -c "SELECT admitted FROM pgpool_stats.applications WHERE application_name = 'bench'")
echo "logins admitted through pgpool_stats: $admitted"
echo "median login throughput ratio with / without pgpool_stats: $login_ratio"
echo "median login throughput ratio control / without (noise floor, A/A): $login_control"
