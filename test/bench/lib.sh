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
