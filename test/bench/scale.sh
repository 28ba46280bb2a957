#!/usr/bin/env bash
# Scale (issue 14): what a large application table costs the worker and the
# logins. For each configuration, a cluster with pgpool_stats and 60,000
# budgets (one INSERT into pgpool_stats.budget, max_applications = 65536)
# is measured side by side with two clusters without it (the second an A/A
# control):
#   fast:     sample_interval = 10ms
#   defaults: sample_interval at its default (1s)
# Printed per configuration: the worker's CPU with nothing connected (% of one
# core over CPU_SECONDS, from /proc), then login throughput with / without
# (pgbench -C, rotating order, ROUNDS rounds of SECONDS_PER_RUN) next to the
# control. Timing on shared machines is noisy: read each ratio next to its
# control; no test asserts these numbers.
#
#   test/bench/scale.sh [ROUNDS=7] [SECONDS_PER_RUN=4] [CPU_SECONDS=20] [BUDGETS=60000]
# Needs the extension built and installed (tools/test.sh or make install).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/lib.sh
source test/bench/lib.sh

rounds=${1:-7}
seconds=${2:-4}
cpu_seconds=${3:-20}
budgets=${4:-60000}
scratch=$(make_scratch_dir bench)
trap 'stop_clusters with without control; rm -rf "$scratch"' EXIT

start_cluster without 55692 "max_connections = 100"
start_cluster control 55693 "max_connections = 100"

summary=()
for config in fast defaults; do
    interval=""
    [[ $config == fast ]] && interval="pgpool_stats.sample_interval = '10ms'"
    stop_clusters with
    rm -rf "$scratch/with"
    start_cluster with 55691 "max_connections = 100
shared_preload_libraries = 'pgpool_stats'
pgpool_stats.max_applications = 65536
$interval"
    for port in 55691 55692 55693; do
        psql -X -q -h "$scratch" -p "$port" -U postgres -c "DO \$\$BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench') THEN CREATE ROLE bench LOGIN; END IF;
        END\$\$"
    done
    psql -X -q -h "$scratch" -p 55691 -U postgres -c "CREATE EXTENSION pgpool_stats" -c "
        INSERT INTO pgpool_stats.budget (application_name, max_connections)
        SELECT 'app' || g, 10 FROM generate_series(1, $budgets - 1) g" \
        -c "SELECT pgpool_stats.set_budget('bench', 50)" >/dev/null
    # Until the worker holds every budget.
    for _ in $(seq 1 60); do
        n=$(psql -X -At -h "$scratch" -p 55691 -U postgres -c \
            "SELECT count(*) FROM pgpool_stats.applications WHERE max_connections IS NOT NULL")
        ((n >= budgets)) && break
        sleep 1
    done
    echo "== $config: $n budgets, ${interval:-sample_interval at its default}"
    cpu=$(worker_cpu_share 55691 "$cpu_seconds")
    echo "worker CPU, nothing connected: $cpu % of one core (over ${cpu_seconds}s)"
    echo "pgbench -C, 2 clients, ${seconds}s per run, $rounds rounds: with pgpool_stats, without, control (also without)"
    login_rounds 55691 55692 55693 "$rounds" "$seconds" 2
    echo "median login throughput ratio with / without: $login_ratio (control / without: $login_control)"
    summary+=("$config: worker $cpu % of a core; logins with / without $login_ratio (A/A control $login_control)")
done

echo "== summary ($budgets budgets, max_applications 65536)"
printf '%s\n' "${summary[@]}"
