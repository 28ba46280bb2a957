#!/usr/bin/env bash
# Runs every test suite of pgpool_stats: the core's unit tests (GoogleTest,
# ASan + UBSan), pg_regress on a temporary instance, and the TAP tests on real
# clusters. Installs what is missing, builds with warnings as errors, installs.
#
#   tools/test.sh             everything
#   tools/test.sh unit tap    only those suites (unit, regress, tap)
#
# TAP_FILES picks TAP files (default test/tap/t/*.pl); PGPOOL_STATS_SOAK_SECONDS
# and PGPOOL_STATS_FUZZ_SECONDS size the soak (90) and fuzz (20) runs, and
# PGPOOL_STATS_FUZZ_SEED replays a fuzz run. tools/soak.sh runs a long soak.
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/lib.sh

suites=("$@")
((${#suites[@]})) || suites=(unit regress tap)

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
