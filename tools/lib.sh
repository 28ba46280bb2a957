# Shared by the tools/ scripts: paths of the PostgreSQL toolchain, and how to
# run a test cluster (initdb and postgres refuse to run as root).
#
# PG_CONFIG picks the server: Debian's 15 by default, or a private build of
# another major (tools/build_postgres.sh prints their pg_config paths).

SYSTEM_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_CONFIG=${PG_CONFIG:-$SYSTEM_PG_CONFIG}
[[ -x $PG_CONFIG ]] || { echo "PG_CONFIG=$PG_CONFIG is not an executable pg_config" >&2; exit 1; }
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

# Builds with warnings as errors and installs into the server's directories
# (a private prefix we can write needs no sudo). Extra make variables (e.g.
# PGPOOL_STATS_PERTURB_STATUS_SIZE=1) come as arguments.
build_and_install() {
    local sudo=""
    [[ $(id -u) -eq 0 || -w $("$PG_CONFIG" --pkglibdir) ]] || sudo="sudo"
    # Objects compiled for another major, or with other flags, must not be
    # linked in: start from clean when either changed since the last build.
    local stamp=.build-stamp want="$PG_CONFIG $*"
    if [[ $(cat "$stamp" 2>/dev/null) != "$want" ]]; then
        make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
    fi
    make -s PG_CONFIG="$PG_CONFIG" WERROR=1 "$@" >/dev/null || return 1
    echo "$want" >"$stamp"
    $sudo make -s PG_CONFIG="$PG_CONFIG" "$@" install >/dev/null
}
