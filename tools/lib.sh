# Shared by the tools/ scripts: paths of the PostgreSQL 15 toolchain, and how
# to run a test cluster (initdb and postgres refuse to run as root).

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BINDIR=$("$PG_CONFIG" --bindir)
PGXS_DIR=$("$PG_CONFIG" --pkglibdir)/pgxs
export PATH="$PG_BINDIR:$PATH"

# Runs a command as the OS user that owns test clusters: postgres when we are
# root, ourselves otherwise.
as_cluster_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- env PATH="$PATH" "$@"
    else
        "$@"
    fi
}

# A scratch folder the cluster owner can write.
make_scratch_dir() {
    local dir
    dir=$(mktemp -d "/tmp/pgpool_stats-$1.XXXXXX")
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    chmod 755 "$dir"
    echo "$dir"
}

# Builds with warnings as errors and installs into the server's directories.
build_and_install() {
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    make -s PG_CONFIG="$PG_CONFIG" WERROR=1 >/dev/null
    $sudo make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}
