# Shared by the benchmark scripts: throwaway clusters in $scratch, and the
# arithmetic of ratios. Source after tools/lib.sh, with $scratch set.

# start_cluster NAME PORT EXTRA-CONF: initdb and start a cluster listening only
# on a socket in $scratch.
start_cluster() {
    as_cluster_owner initdb -D "$scratch/$1" -A trust -U postgres >/dev/null
    as_cluster_owner bash -c "cat >> '$scratch/$1/postgresql.conf'" <<CONF
port = $2
listen_addresses = ''
unix_socket_directories = '$scratch'
shared_buffers = 128MB
fsync = off
$3
CONF
    as_cluster_owner pg_ctl -D "$scratch/$1" -l "$scratch/$1.log" -w start >/dev/null
}

# stop_clusters NAME...: immediate stop, for traps.
stop_clusters() {
    for c in "$@"; do as_cluster_owner pg_ctl -D "$scratch/$c" -m immediate stop >/dev/null 2>&1 || true; done
}

median() {
    printf '%s\n' "$@" | sort -n |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# login_rounds WITH WITHOUT CONTROL ROUNDS SECONDS CLIENTS: pgbench -C (a
# login per transaction, role "bench", application "bench", SELECT 1)
# against the three ports in a rotating order, so drift of the machine
# favours none of them. Prints each round, then sets $login_ratio (median
# with/without) and $login_control (median control/without: the A/A noise).
login_rounds() {
    local with=$1 without=$2 control=$3 rounds=$4 seconds=$5 clients=$6
    echo 'SELECT 1;' >"$scratch/select1.sql"
    local ratios=() controls=() ports=("$with" "$without" "$control") r k port
    for ((r = 1; r <= rounds; r++)); do
        declare -A got=()
        for ((k = 0; k < 3; k++)); do
            port=${ports[$(((r + k) % 3))]}
            got[$port]=$(PGAPPNAME=bench pgbench -n -C -c "$clients" -j "$clients" -T "$seconds" \
                -f "$scratch/select1.sql" -h "$scratch" -p "$port" -U bench postgres 2>/dev/null |
                sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
        done
        local w=${got[$with]} wo=${got[$without]} ctl=${got[$control]}
        ratios+=("$(ratio "$w" "$wo")") controls+=("$(ratio "$ctl" "$wo")")
        printf 'round %2d: with %7.1f, without %7.1f, control %7.1f logins/s; with/without %s, control/without %s\n' \
            "$r" "$w" "$wo" "$ctl" "${ratios[-1]}" "${controls[-1]}"
        unset got
    done
    login_ratio=$(median "${ratios[@]}")
    login_control=$(median "${controls[@]}")
}

# worker_cpu_share PORT SECONDS: the % of one core the pgpool_stats worker of
# that cluster used over SECONDS, from /proc (utime + stime).
worker_cpu_share() {
    local pid t0 t1 hz
    pid=$(psql -X -At -h "$scratch" -p "$1" -U postgres -c \
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgpool_stats'")
    hz=$(getconf CLK_TCK)
    t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    sleep "$2"
    t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", (b - a) / hz / s * 100 }'
}
