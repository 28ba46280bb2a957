#!/usr/bin/env bash
# Runs every test suite of pgpool_stats: the core's unit tests (GoogleTest,
# ASan + UBSan), pg_regress on a temporary instance, the TAP tests on real
# clusters, the Debian package, and the fallback of the backend status array
# (status_size); then the same server suites on every other supported major.
# Installs what is missing, builds with warnings as errors, installs.
#
#   tools/test.sh             everything: all suites on Debian's 15, then
#                             regress, tap and status_size on 16, 17 and 18
#                             with assertions (the matrix, below)
#   tools/test.sh unit tap    only those suites (unit, regress, tap, package,
#                             status_size), on one server
#   tools/test.sh --fast      the developer's loop: unit, regress, tap and
#                             status_size on one server, without the slow
#                             parts (SLOW_TAP below, the package, the matrix);
#                             the summary lists them as not run. With suites
#                             named, it only leaves SLOW_TAP out of tap
#   PG_CONFIG=/var/cache/pgpool_stats/postgresql-17.11-.../bin/pg_config tools/test.sh
#                             against that server only (tools/build_postgres.sh
#                             builds 16, 17, 18 and prints their pg_config);
#                             the package suite is for Debian's 15 only
#
# The matrix builds the other majors with tools/build_postgres.sh (once per
# tarball: cached by checksum outside the work tree) at low priority while
# 15's suites run. PGPOOL_STATS_MAJORS picks them (default "16 17 18-cassert":
# 18 runs with PostgreSQL's assertions on, which checks more than a plain 18;
# "18" is also known). On them TAP runs every file but those named in
# PGPOOL_STATS_MATRIX_TAP_SKIP (default: SLOW_TAP and CLIENT_TAP), to keep CI
# under its hour.
# Without the PostgreSQL sources the matrix is reported as not run (never as
# passed), saying where to get them.
#
# status_size installs a build that attaches to the backend status array
# with a wrong size, runs TAP 028 on it, and reinstalls the normal build; on
# the system's 15 that replaces the installed library meanwhile.
#
# TAP_FILES picks TAP files (default test/tap/t/*.pl); PGPOOL_STATS_SOAK_SECONDS
# and PGPOOL_STATS_FUZZ_SECONDS size the soak (180) and fuzz (20) runs, and
# PGPOOL_STATS_FUZZ_SEED replays a fuzz run. tools/soak.sh runs a long soak.
set -uo pipefail
cd "$(dirname "$0")/.."
explicit_server=${PG_CONFIG:+1}
source tools/lib.sh

# The slow TAP files, by name without .pl: the soak (3 minutes of mixed load;
# it checks long-running stability rather than a major's API) and the report
# rendered in Chromium (which does not depend on the server). --fast leaves
# them out, and so does the matrix.
SLOW_TAP="016_soak 022_report"
# TAP files that test a client's side (the pool followers with their real
# libraries, PgBouncer's loading of pool_config() snippets, promtool on the
# rules and the dashboard, make installcheck's own instance): they run on
# Debian's 15 only, not again on each other major, to keep CI under its hour.
# What they need of the server (NOTIFY announcements, pool_config()) is
# tested on every major by 034_announcements and the regress suite.
CLIENT_TAP="035_follow_psycopg_pool 036_follow_sqlalchemy_asyncpg 037_follow_pgbouncer 038_follow_hikaricp
039_follow_hikaricp_standby 040_pgbouncer_two_apps 041_alert_rules 042_dashboard 044_installcheck"

fast=0 suites=()
for arg in "$@"; do
    if [[ $arg == --fast ]]; then fast=1; else suites+=("$arg"); fi
done
matrix=0
# What --fast leaves out, for the summary: never counted as passed.
skipped=() skipped_tap=()
if ((${#suites[@]} == 0)); then
    suites=(unit regress tap status_size)
    # The Debian package builds for Debian's server only.
    if [[ $PG_CONFIG == "$SYSTEM_PG_CONFIG" ]]; then
        if ((fast)); then skipped+=(package); else suites+=(package); fi
    fi
    if [[ -z $explicit_server ]]; then
        if ((fast)); then
            read -r -a fast_majors <<<"${PGPOOL_STATS_MAJORS-16 17 18-cassert}"
            skipped+=("${fast_majors[@]/#/PostgreSQL-}")
        else
            matrix=1
        fi
    fi
fi
# TAP files but those of SKIP (names without .pl), as a TAP_FILES value.
tap_files_without() {
    local f files=() skip
    skip=" $(tr -s ' \n' '  ' <<<"$1") "
    for f in test/tap/t/*.pl; do
        [[ $skip == *" $(basename "$f" .pl) "* ]] || files+=("$f")
    done
    echo "${files[*]}"
}
# An explicit TAP_FILES is run as given.
if ((fast)) && [[ -z ${TAP_FILES:-} && " ${suites[*]} " == *" tap "* ]]; then
    TAP_FILES=$(tap_files_without "$SLOW_TAP")
    read -r -a skipped_tap <<<"$SLOW_TAP"
fi

bash tools/deps.sh || exit 1
build_and_install || { echo "build failed"; exit 1; }
scratch=$(make_scratch_dir test)
echo "Scratch folder (logs, clusters): $scratch"
echo "Server: $("$PG_CONFIG" --version) ($PG_CONFIG)"
if ((fast)); then
    fast_not_run=("${skipped[@]}" "${skipped_tap[@]/#/TAP-}")
    echo "--fast: not running ${fast_not_run[*]}"
fi

run_unit() {
    make -s WERROR=1 unit
}

# `make installcheck`: pg_regress in a temporary instance of its own with the
# library preloaded (the Makefile), results in the scratch folder.
run_regress() {
    local out="$scratch/regress"
    as_cluster_owner mkdir -p "$out"
    as_cluster_owner make -s PG_CONFIG="$PG_CONFIG" REGRESS_DIR="$out" installcheck
    local rc=$?
    if ((rc != 0)); then
        echo "---- regression.diffs ----"; cat "$out/regression.diffs" 2>/dev/null
        echo "---- server log (tail) ----"; tail -n 50 "$out"/log/postmaster.log 2>/dev/null
    fi
    return $rc
}

run_tap() {
    local out="$scratch/${TAP_OUT:-tap}"
    as_cluster_owner mkdir -p "$out"
    # 15 reads TESTDIR; 16+ TESTDATADIR and TESTLOGDIR (same layout).
    as_cluster_owner env TESTDIR="$out" TESTDATADIR="$out/tmp_check" TESTLOGDIR="$out/tmp_check/log" \
        PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" \
        PGPOOL_STATS_ROOT="$PWD" \
        ${PGPOOL_STATS_PERTURBED_BUILD:+PGPOOL_STATS_PERTURBED_BUILD=$PGPOOL_STATS_PERTURBED_BUILD} \
        ${PGPOOL_STATS_SOAK_SECONDS:+PGPOOL_STATS_SOAK_SECONDS=$PGPOOL_STATS_SOAK_SECONDS} \
        ${PGPOOL_STATS_FUZZ_SECONDS:+PGPOOL_STATS_FUZZ_SECONDS=$PGPOOL_STATS_FUZZ_SECONDS} \
        ${PGPOOL_STATS_FUZZ_SEED:+PGPOOL_STATS_FUZZ_SEED=$PGPOOL_STATS_FUZZ_SEED} \
        prove -I "$PGXS_DIR/src/test/perl" -I test/tap/lib ${PROVE_FLAGS:-} ${TAP_FILES:-test/tap/t/*.pl} \
        2>&1 | tee "$scratch/${TAP_OUT:-tap}.prove"
    local rc=${PIPESTATUS[0]}
    if ((rc != 0)); then
        # The logs of the failed files (their nodes' and regress_log_*), or
        # all of them when prove did not get as far as naming any.
        local failed_files
        failed_files=$(sed -n '/^Test Summary Report/,$p' "$scratch/${TAP_OUT:-tap}.prove" |
            grep -oE '[0-9]{3}_[A-Za-z0-9_]+\.pl' | sed 's/\.pl$//' | sort -u)
        for log in "$out"/tmp_check/log/*; do
            [[ -f $log ]] || continue
            local name=${log##*/} keep=${failed_files:+0}
            for f in $failed_files; do
                [[ $name == "$f"* || $name == "regress_log_$f" ]] && keep=1
            done
            ((${keep:-1})) || continue
            echo "---- $log (tail) ----"; tail -n 40 "$log"
        done
        # Again after the logs, so that a tail of CI's output still names
        # the failed files and their failed checks.
        echo "---- what failed (prove) ----"
        grep -E '^#   (Failed test|at )|Dubious|Failed [0-9]+/' "$scratch/${TAP_OUT:-tap}.prove"
        sed -n '/^Test Summary Report/,$p' "$scratch/${TAP_OUT:-tap}.prove"
    fi
    return $rc
}

# The fallback when the backend status array cannot be attached: TAP 028 on
# a build that asks for a wrong size; then the normal build again.
run_status_size() {
    build_and_install PGPOOL_STATS_PERTURB_STATUS_SIZE=1 || { echo "perturbed build failed"; return 1; }
    TAP_OUT=status_size TAP_FILES=test/tap/t/028_status_size_fallback.pl \
        PGPOOL_STATS_PERTURBED_BUILD=1 run_tap
    local rc=$?
    build_and_install || { echo "reinstalling the normal build failed"; return 1; }
    return $rc
}

# The Debian package (debian/), built from the committed tree (git archive
# HEAD) in the scratch folder, source and binary, at the changelog's version
# (the upstream tarball is the tree without debian/). Checks: the library and
# the SQL files; every file of integrations/, examples/ and clients/ (when the
# tree has them) in /usr/share/doc/<package>/, uncompressed and as committed;
# the documentation; lintian clean at every level but for the accepted tags
# below (each with its reason; docs/operations.md);
# the autopkgtest (debian/tests), which installs the package on this machine:
# it is removed afterwards and the source build installed again, so the
# other suites test the source build.
run_package() {
    local version upstream
    version=$(dpkg-parsechangelog -S Version) || return 1
    upstream=${version%-*}
    local out="$scratch/package" src="$scratch/package/pgpool-stats-$upstream"
    mkdir -p "$src"
    git archive --format=tar HEAD | tar -x -C "$src" || return 1
    git archive --format=tar --prefix="pgpool-stats-$upstream/" HEAD -- . ':!debian' \
        | gzip -n >"$out/pgpool-stats_$upstream.orig.tar.gz" || return 1
    if ! (cd "$src" && dpkg-buildpackage -us -uc >"$out/build.log" 2>&1); then
        tail -n 40 "$out/build.log"; return 1
    fi
    local deb="$out/postgresql-15-pgpool-stats_${version}_$(dpkg --print-architecture).deb"
    [[ -f $deb ]] || { echo "no $deb"; ls "$out"; return 1; }
    echo "built $(basename "$deb") and the source package"
    local listing doc=usr/share/doc/postgresql-15-pgpool-stats
    listing=$(dpkg -c "$deb")
    local f missing=0
    local expected=(usr/lib/postgresql/15/lib/pgpool_stats.so
        usr/share/postgresql/15/extension/pgpool_stats.control
        usr/share/postgresql/15/extension/pgpool_stats--1.0.sql
        usr/share/postgresql/15/extension/pgpool_stats--1.1.sql
        usr/share/postgresql/15/extension/pgpool_stats--1.0--1.1.sql)
    # What the committed trees hold, but their .gitignore files (not shipped).
    local shipped
    shipped=$(git ls-tree -r --name-only HEAD -- integrations clients | grep -v '/\.gitignore$')
    for f in $shipped; do expected+=("$doc/$f"); done
    for f in $(git ls-tree -r --name-only HEAD -- examples | grep -v '/\.gitignore$'); do
        expected+=("$doc/examples/${f#examples/}")
    done
    for f in "${expected[@]}"; do
        if grep -q "\./$f\$" <<<"$listing"; then echo "  contains /$f"; else echo "  MISSING /$f"; missing=1; fi
    done
    # The documentation, compressed or not (dh_compress decides by size).
    for f in README.md $(cd docs && ls ./*.md); do
        f=$doc/${f#./}
        if grep -qE "\./$f(\.gz)?\$" <<<"$listing"; then echo "  contains /$f"; else echo "  MISSING /$f"; missing=1; fi
    done
    # What programs read by path is the committed file, byte for byte.
    local unpacked="$out/unpacked"
    dpkg -x "$deb" "$unpacked" || return 1
    for f in $shipped; do
        cmp -s "$src/$f" "$unpacked/$doc/$f" || { echo "  /$doc/$f differs from $f"; missing=1; }
    done
    ((missing)) && return 1

    # Every tag lintian reports, at every level (--pedantic --display-info), fails
    # the suite unless accepted here; docs/operations.md says why each is.
    local accepted=(
        no-homepage-field            # the project has no web page to name
        debian-watch-file-is-missing # nor an upstream download URL to watch
        repeated-path-segment        # /usr/lib/postgresql/15/lib: PostgreSQL's own layout
    )
    local lint
    lint=$(lintian --pedantic --display-info --fail-on none "$out"/pgpool-stats_"${version}"_*.changes 2>&1) \
        || { echo "$lint"; echo "lintian failed to run"; return 1; }
    echo "lintian:"
    local line tag unaccepted=0
    while IFS= read -r line; do
        [[ $line =~ ^[EWIPXCO]:\ [^:]+:\ ([^ ]+) ]] || continue
        tag=${BASH_REMATCH[1]}
        if [[ " ${accepted[*]} " == *" $tag "* ]]; then
            echo "  accepted: $line"
        else
            echo "  $line"; unaccepted=1
        fi
    done <<<"$lint"
    ((unaccepted)) && { echo "lintian: tags beyond the accepted ones"; return 1; }

    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "autopkgtest (installs the package; log: $out/autopkgtest.log)"
    $sudo autopkgtest "$out"/pgpool-stats_"${version}"_*.changes -- null >"$out/autopkgtest.log" 2>&1
    local rc=$?
    sed -n '/^autopkgtest .*: @@@* summary/,$p' "$out/autopkgtest.log" | sed -n '2,/^autopkgtest /p' | grep -v '^autopkgtest '
    ((rc == 0)) || tail -n 60 "$out/autopkgtest.log"
    # Back to the source build, whatever happened.
    $sudo dpkg -r postgresql-15-pgpool-stats >"$out/remove.log" 2>&1 || { cat "$out/remove.log"; rc=1; }
    build_and_install || { echo "reinstalling the source build failed"; rc=1; }
    return $rc
}

# The other majors, built in the background while 15's suites run.
majors=()
if ((matrix)); then
    read -r -a majors <<<"${PGPOOL_STATS_MAJORS-16 17 18-cassert}"
    if ((${#majors[@]})); then
        build_log="$scratch/build_postgres.log"
        echo "Building PostgreSQL ${majors[*]} in the background (log: $build_log)"
        nice -n 19 bash tools/build_postgres.sh "${majors[@]}" >"$build_log" 2>&1 &
        build_pid=$!
    fi
fi

passed=0 failed=0 failed_names=() not_run=()
for suite in "${suites[@]}"; do
    echo "==== $suite ===="
    started=$SECONDS
    if "run_$suite"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failed_names+=("$suite")
    fi
    echo "---- $suite: $((SECONDS - started)) s"
done

# Each other major in a child run of regress, tap (without the files above)
# and status_size against its private build.
if ((${#majors[@]})); then
    echo "==== building PostgreSQL ${majors[*]} ===="
    started=$SECONDS
    wait "$build_pid"
    echo "---- waited $((SECONDS - started)) s for the builds"
    cat "$build_log"
    skip=${PGPOOL_STATS_MATRIX_TAP_SKIP-$SLOW_TAP $CLIENT_TAP}
    tap_files=$(tap_files_without "$skip")
    for major in "${majors[@]}"; do
        if ! pg_config=$(bash tools/build_postgres.sh --pg-config "$major" 2>/dev/null); then
            if grep -q "no PostgreSQL sources" "$build_log"; then
                not_run+=("$major")
            else
                failed=$((failed + 1)); failed_names+=("build-$major")
            fi
            continue
        fi
        echo "==== PostgreSQL $major: regress tap status_size (TAP without: $skip) ===="
        started=$SECONDS
        if PG_CONFIG=$pg_config TAP_FILES="$tap_files" bash tools/test.sh regress tap status_size; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1)); failed_names+=("PostgreSQL-$major")
        fi
        echo "---- PostgreSQL $major: $((SECONDS - started)) s"
    done
    # Leave the work tree built for, and installed into, Debian's 15.
    build_and_install || { failed=$((failed + 1)); failed_names+=("reinstall-15"); }
fi

((failed)) && echo "Failed suites: ${failed_names[*]}"
((${#not_run[@]})) && echo "NOT RUN (no PostgreSQL sources; $build_log says where to get them): PostgreSQL ${not_run[*]}"
((${#skipped[@]})) && echo "NOT RUN (--fast): ${skipped[*]}"
((${#skipped_tap[@]})) && echo "NOT RUN (--fast): TAP ${skipped_tap[*]} (the tap suite ran without them)"
echo "suites: $passed passed${skipped_tap:+ (tap without ${skipped_tap[*]})}, $failed failed," \
    "$((${#not_run[@]} + ${#skipped[@]})) not run"
((failed == 0))
