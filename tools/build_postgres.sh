#!/usr/bin/env bash
# Builds the PostgreSQL majors that Debian 12 does not package (16, 17, 18, and
# 18 with assertions) from the tarballs in ../shared/pg-sources, each into its
# own private prefix in a cache folder outside the work tree, so that
# `make PG_CONFIG=...` and `PG_CONFIG=... tools/test.sh` can run against them.
#
#   tools/build_postgres.sh                  build what is missing, print the pg_configs
#   tools/build_postgres.sh 17 18-cassert    only those
#   tools/build_postgres.sh --print [...]    print "<name> <pg_config>" of built entries, build nothing
#   tools/build_postgres.sh --pg-config 17   print that entry's pg_config path only (fails if not built)
#
# Layout: $PGPOOL_STATS_PG_CACHE (default /var/cache/pgpool_stats) holds
# postgresql-<version>-<first 16 hex of the tarball's sha256>[-cassert]/, a
# prefix with bin/pg_config, the PGXS tree, pg_regress and the Perl TAP
# modules. Keyed by the checksum, a machine builds each tarball once; the stamp
# file .pgpool_stats-built is written last, so a half-built prefix is rebuilt.
# PGPOOL_STATS_PG_SOURCES overrides where the tarballs are (default
# ../shared/pg-sources relative to the repository root, or
# /work/shared/pg-sources when that is absent).
#
# Run as a user who can write the cache (root in CI; otherwise sudo creates it
# for you). The tree is left world-readable: test clusters run as `postgres`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# The sources: PGPOOL_STATS_PG_SOURCES, else ../shared/pg-sources beside the
# clone, else the workplace's /work/shared/pg-sources (a clone made elsewhere,
# as CI makes it).
sources=${PGPOOL_STATS_PG_SOURCES:-}
if [[ -z $sources ]]; then
    sources=$root/../shared/pg-sources
    [[ -f $sources/SHA256SUMS || ! -f /work/shared/pg-sources/SHA256SUMS ]] || sources=/work/shared/pg-sources
fi
cache=${PGPOOL_STATS_PG_CACHE:-/var/cache/pgpool_stats}
jobs=${PGPOOL_STATS_BUILD_JOBS:-$(nproc)}

# name -> tarball. 18 is also built with --enable-cassert --enable-debug, so
# our Assert()s and PostgreSQL's own run somewhere (Debian's server has none).
declare -A tarball=(
    [16]=postgresql-16.2.tar.xz
    [17]=postgresql-17.11.tar.bz2
    [18]=postgresql-18.6.tar.bz2
    [18-cassert]=postgresql-18.6.tar.bz2
)
all=(16 17 18 18-cassert)

mode=build
case ${1:-} in
    --print) mode=print; shift ;;
    --pg-config) mode=pg_config; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
esac
names=("$@")
((${#names[@]})) || names=("${all[@]}")
for n in "${names[@]}"; do
    [[ -n ${tarball[$n]:-} ]] || { echo "unknown major '$n' (known: ${all[*]})" >&2; exit 2; }
done

if [[ ! -f $sources/SHA256SUMS ]]; then
    cat >&2 <<EOF
build_postgres.sh: no PostgreSQL sources at $sources (no SHA256SUMS there).
Put the upstream tarballs and a SHA256SUMS file listing them in that folder,
or point PGPOOL_STATS_PG_SOURCES at one. Expected files: ${tarball[16]}, ${tarball[17]}, ${tarball[18]}.
Debian's source packages give 17 and 18: add to a private sources list
    deb-src http://deb.debian.org/debian trixie main
    deb-src http://deb.debian.org/debian unstable main
then 'apt-get update && apt-get source --download-only postgresql-17 postgresql-18'
and use their postgresql-1x_*.orig.tar.bz2 (rename to the names above or adjust
this script). No Debian suite has a source package of 16: take 16.x from
https://www.postgresql.org/ftp/source/ .
EOF
    exit 1
fi

# The checksum SHA256SUMS promises for a tarball (empty if not listed).
listed_sum() {
    awk -v f="$1" '$2 == f || $2 == "*" f { print $1 }' "$sources/SHA256SUMS"
}

# The cache entry (prefix) of a name, from the listed checksum.
prefix_of() {
    local n=$1 file=${tarball[$1]} sum version
    sum=$(listed_sum "$file")
    [[ -n $sum ]] || { echo "build_postgres.sh: $file is not listed in $sources/SHA256SUMS" >&2; return 1; }
    version=${file#postgresql-}; version=${version%%.tar.*}
    echo "$cache/postgresql-$version-${sum:0:16}${n#"${n%-cassert}"}"
}

if [[ $mode != build ]]; then
    rc=0
    for n in "${names[@]}"; do
        p=$(prefix_of "$n")
        if [[ -f $p/.pgpool_stats-built ]]; then
            if [[ $mode == print ]]; then echo "$n $p/bin/pg_config"; else echo "$p/bin/pg_config"; fi
        else
            echo "build_postgres.sh: $n is not built ($p); run tools/build_postgres.sh $n" >&2; rc=1
        fi
    done
    exit $rc
fi

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

# Parser generators: the tarballs carry no generated gram.c/scan.c.
if ! command -v bison >/dev/null || ! command -v flex >/dev/null; then
    echo "Installing bison and flex"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends bison flex >/dev/null
fi

if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w $cache ]]; then
    $sudo mkdir -p "$cache"
    $sudo chown "$(id -u):$(id -g)" "$cache"
fi
chmod 755 "$cache"

build_one() {
    local n=$1 file=${tarball[$1]} prefix sum actual work start
    prefix=$(prefix_of "$n")
    [[ -f $prefix/.pgpool_stats-built ]] && { echo "$n: cached in $prefix"; return 0; }

    sum=$(listed_sum "$file")
    actual=$(sha256sum "$sources/$file" | cut -d' ' -f1)
    if [[ $actual != "$sum" ]]; then
        echo "build_postgres.sh: $sources/$file has sha256 $actual, SHA256SUMS says $sum" >&2
        return 1
    fi

    local flags=(--prefix="$prefix" --without-icu --without-readline --without-zlib --enable-tap-tests)
    [[ $n == *-cassert ]] && flags+=(--enable-cassert --enable-debug)

    start=$SECONDS
    rm -rf "$prefix"   # a half-built prefix from an interrupted run
    work=$(mktemp -d "$cache/build-$n.XXXXXX")
    echo "$n: building $file into $prefix (log: $work/build.log)"
    (
        set -e
        cd "$work"
        tar -xf "$sources/$file"
        cd postgresql-*/
        ./configure "${flags[@]}"
        make -j"$jobs"
        # make install also installs pg_regress and (with --enable-tap-tests)
        # PostgreSQL::Test::* under lib/pgxs/src/test/.
        make install
    ) >"$work/build.log" 2>&1 || {
        echo "$n: build failed; last lines of $work/build.log:" >&2
        tail -n 30 "$work/build.log" >&2
        return 1
    }
    chmod -R a+rX "$prefix"
    echo "built $(date -u +%FT%TZ) from $file sha256 $sum in $((SECONDS - start)) s" >"$prefix/.pgpool_stats-built"
    rm -rf "$work"
    echo "$n: built in $((SECONDS - start)) s"
}

for n in "${names[@]}"; do
    # One build of an entry at a time, even from concurrent runs.
    exec 9>"$cache/.lock-$n"
    flock 9
    build_one "$n"
    exec 9>&-
done

for n in "${names[@]}"; do
    echo "$n $(prefix_of "$n")/bin/pg_config"
done
