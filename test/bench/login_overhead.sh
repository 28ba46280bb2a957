#!/usr/bin/env bash
# Login throughput with and without pgpool_stats, measured side by side.
#
# Two identical throwaway clusters, one with pgpool_stats preloaded and a
# budget on the benchmark's application, one without. pgbench -C (a new login
# for every transaction, a non-superuser role, SELECT 1) runs against each in
# turn, ROUNDS times; the script prints each round's ratio and the median.
# Timing on shared machines is noisy: only the ratio means something.
#
#   test/bench/login_overhead.sh [ROUNDS=7] [SECONDS_PER_RUN=5] [CLIENTS=4]
# Needs the extension built and installed (tools/test.sh or make install).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/lib.sh

rounds=${1:-7}
seconds=${2:-5}
clients=${3:-4}
scratch=$(make_scratch_dir bench)
trap 'for c in with without; do as_cluster_owner pg_ctl -D "$scratch/$c" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$scratch"' EXIT

start_cluster() {  # name port extra-conf
    as_cluster_owner initdb -D "$scratch/$1" -A trust -U postgres >/dev/null
    as_cluster_owner bash -c "cat >> '$scratch/$1/postgresql.conf'" <<CONF
port = $2
listen_addresses = ''
unix_socket_directories = '$scratch'
max_connections = 100
shared_buffers = 128MB
fsync = off
$3
CONF
    as_cluster_owner pg_ctl -D "$scratch/$1" -l "$scratch/$1.log" -w start >/dev/null
    psql -X -q -h "$scratch" -p "$2" -U postgres -c "CREATE ROLE bench LOGIN"
}
start_cluster with 55491 "shared_preload_libraries = 'pgpool_stats'"
start_cluster without 55492 ""
psql -X -q -h "$scratch" -p 55491 -U postgres \
    -c "CREATE EXTENSION pgpool_stats" -c "SELECT pgpool_stats.set_budget('bench', 50)" >/dev/null
echo 'SELECT 1;' > "$scratch/select1.sql"

tps() {  # port
    PGAPPNAME=bench pgbench -n -C -c "$clients" -j "$clients" -T "$seconds" -f "$scratch/select1.sql" \
        -h "$scratch" -p "$1" -U bench postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

echo "pgbench -C, $clients clients, ${seconds}s per run, $rounds rounds, with vs without pgpool_stats"
ratios=()
for ((r = 1; r <= rounds; r++)); do
    # Alternate which goes first, so drift of the machine favours neither.
    if ((r % 2)); then w=$(tps 55491); wo=$(tps 55492); else wo=$(tps 55492); w=$(tps 55491); fi
    ratio=$(awk -v a="$w" -v b="$wo" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio")
    printf 'round %d: with %8.1f logins/s, without %8.1f logins/s, ratio %s\n' "$r" "$w" "$wo" "$ratio"
done
admitted=$(psql -X -At -h "$scratch" -p 55491 -U postgres \
    -c "SELECT admitted FROM pgpool_stats.applications WHERE application_name = 'bench'")
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "logins admitted through pgpool_stats: $admitted"
echo "median login throughput ratio (with / without): $median"
