#!/usr/bin/env bash
# Runs every test suite of pgpool_stats: the core's unit tests (GoogleTest,
# ASan + UBSan), pg_regress on a temporary instance, and the TAP tests on real
# clusters. Installs what is missing, builds with warnings as errors, installs.
#
#   tools/test.sh             everything
#   tools/test.sh unit tap    only those suites (unit, regress, tap, package)
#
# TAP_FILES picks TAP files (default test/tap/t/*.pl); PGPOOL_STATS_SOAK_SECONDS
# and PGPOOL_STATS_FUZZ_SECONDS size the soak (180) and fuzz (20) runs, and
# PGPOOL_STATS_FUZZ_SEED replays a fuzz run. tools/soak.sh runs a long soak.
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

suites=("$@")
((${#suites[@]})) || suites=(unit regress tap package)

bash tools/deps.sh || exit 1
build_and_install || { echo "build failed"; exit 1; }
scratch=$(make_scratch_dir test)
echo "Scratch folder (logs, clusters): $scratch"

run_unit() {
    make -s WERROR=1 unit
}

run_regress() {
    local out="$scratch/regress"
    as_cluster_owner mkdir -p "$out"
    as_cluster_owner "$PGXS_DIR/src/test/regress/pg_regress" \
        --temp-instance="$out/instance" --temp-config=test/pg_regress.conf \
        --inputdir=. --outputdir="$out" --bindir="$PG_BINDIR" \
        --dbname=contrib_regression $(sed -n 's/^REGRESS *= *//p' Makefile)
    local rc=$?
    if ((rc != 0)); then
        echo "---- regression.diffs ----"; cat "$out/regression.diffs" 2>/dev/null
        echo "---- server log (tail) ----"; tail -n 50 "$out"/log/postmaster.log 2>/dev/null
    fi
    return $rc
}

run_tap() {
    local out="$scratch/tap"
    as_cluster_owner mkdir -p "$out"
    as_cluster_owner env TESTDIR="$out" PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
        PGPOOL_STATS_ROOT="$PWD" \
        ${PGPOOL_STATS_SOAK_SECONDS:+PGPOOL_STATS_SOAK_SECONDS=$PGPOOL_STATS_SOAK_SECONDS} \
        ${PGPOOL_STATS_FUZZ_SECONDS:+PGPOOL_STATS_FUZZ_SECONDS=$PGPOOL_STATS_FUZZ_SECONDS} \
        ${PGPOOL_STATS_FUZZ_SEED:+PGPOOL_STATS_FUZZ_SEED=$PGPOOL_STATS_FUZZ_SEED} \
        prove -I "$PGXS_DIR/src/test/perl" -I test/tap/lib ${PROVE_FLAGS:-} ${TAP_FILES:-test/tap/t/*.pl}
    local rc=$?
    if ((rc != 0)); then
        for log in "$out"/tmp_check/log/*.log; do
            [[ -f $log ]] || continue
            echo "---- $log (tail) ----"; tail -n 40 "$log"
        done
    fi
    return $rc
}

# The Debian package (debian/), built from the committed tree (git archive
# HEAD) in the scratch folder; it must hold the library and the SQL files.
run_package() {
    local out="$scratch/package" src="$scratch/package/pgpool-stats-1.0.0"
    mkdir -p "$src"
    git archive --format=tar HEAD | tar -x -C "$src" || return 1
    if ! (cd "$src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1); then
        tail -n 40 "$out/build.log"; return 1
    fi
    local deb
    deb=$(ls "$out"/postgresql-15-pgpool-stats_*_*.deb | grep -v dbgsym)
    echo "built $(basename "$deb")"
    local listing
    listing=$(dpkg -c "$deb")
    local f missing=0
    for f in usr/lib/postgresql/15/lib/pgpool_stats.so \
             usr/share/postgresql/15/extension/pgpool_stats.control \
             usr/share/postgresql/15/extension/pgpool_stats--1.0.sql \
             usr/share/postgresql/15/extension/pgpool_stats--1.1.sql \
             usr/share/postgresql/15/extension/pgpool_stats--1.0--1.1.sql; do
        if grep -q "\./$f\$" <<<"$listing"; then echo "  contains /$f"; else echo "  MISSING /$f"; missing=1; fi
    done
    return $missing
}

passed=0 failed=0 failed_names=()
for suite in "${suites[@]}"; do
    echo "==== $suite ===="
    if "run_$suite"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failed_names+=("$suite")
    fi
done

((failed)) && echo "Failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
((failed == 0))
