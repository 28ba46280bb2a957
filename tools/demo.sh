#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds and
# installs pgpool_stats, then shows it at work on a throwaway cluster (no
# existing server needed) and removes the cluster again.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

bash tools/deps.sh
build_and_install
dir=$(make_scratch_dir demo)
port=55432
cleanup() {
    as_cluster_owner pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

as_cluster_owner initdb -D "$dir/data" -A trust -U postgres >/dev/null
as_cluster_owner bash -c "cat >> '$dir/data/postgresql.conf'" <<CONF
shared_preload_libraries = 'pgpool_stats'
max_connections = 20
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
CONF
as_cluster_owner pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null

sql() { psql -X -h "$dir" -p "$port" -U postgres "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A throwaway PostgreSQL 15 with shared_preload_libraries = 'pgpool_stats' (max_connections = 20)"
sql -q -c "CREATE ROLE shop LOGIN" -c "CREATE EXTENSION pgpool_stats"
sql -c "SELECT application_name, max_connections, reserved_connections, mode
        FROM pgpool_stats.set_budget('checkout', 8, reserved_connections => 6)
        UNION ALL
        SELECT application_name, max_connections, reserved_connections, mode
        FROM pgpool_stats.set_budget('reports', 3)"

say "Two checkout instances connect (2 sessions each); the reports job opens 5 sessions, over its budget of 3"
for i in 1 2 3 4; do
    PGAPPNAME=checkout psql -X -h "$dir" -p "$port" -U shop postgres -qc "SELECT pg_sleep(4)" >/dev/null &
done
for i in 1 2 3 4 5; do
    PGAPPNAME=reports psql -X -h "$dir" -p "$port" -U shop postgres -qc "SELECT pg_sleep(4)" 2>&1 >/dev/null |
        sed 's/^/  reports: /' &
    sleep 0.2
done
sleep 1

say "What the server sees (pgpool_stats.applications)"
sql -c "SELECT application_name, connections, active, idle, max_connections AS budget, reserved_connections AS reserved,
               round(utilization::numeric, 2) AS utilization, peak_connections AS peak, admitted, rejected,
               last_rejected_at IS NOT NULL AS was_rejected
        FROM pgpool_stats.applications ORDER BY application_name"

say "The server's slots (pgpool_stats.capacity): checkout's unused reserved slots are kept free for it"
sql -x -c "SELECT * FROM pgpool_stats.capacity"
wait
say "Sessions ended; the ledger is back to the demo's own session"
sql -c "SELECT application_name, connections, peak_connections AS peak, admitted, rejected,
               round(avg_session_seconds::numeric, 1) AS avg_session_s
        FROM pgpool_stats.applications ORDER BY application_name"
say "What the server saw, as SQLAlchemy settings for the two checkout instances (pgpool_stats.pool_config)"
sql -XAtq -c "SELECT pgpool_stats.pool_config('checkout', 'sqlalchemy', instances => 2)"
sql -XAtq -c "SELECT pgpool_stats.report('1 hour')" > "$dir/report.html"
say "And as an HTML report ($(wc -c < "$dir/report.html") bytes; kept as ./pgpool_stats-demo-report.html)"
cp "$dir/report.html" ./pgpool_stats-demo-report.html
say "Done; the throwaway cluster is removed. Next: the SQL in five minutes, in README.md."
