#!/usr/bin/env bash
# Installs what building, testing and demonstrating pgpool_stats needs on
# Debian 12. Idempotent: installs only what is missing.
set -euo pipefail

PACKAGES=(
    build-essential          # make, g++
    postgresql-15            # the server, pgbench
    postgresql-server-dev-15 # PGXS, server headers, pg_regress, PostgreSQL::Test::Cluster
    libkrb5-dev              # libpq-be.h includes the GSSAPI header
    libipc-run-perl          # TAP tests
    libgtest-dev             # unit tests of the core
    python3-asyncpg          # the real client that drives login storms (sees SQLSTATEs of refused logins)
    prometheus               # promtool: checks metrics(), the exporter's page, the alert rules and the dashboard's queries
    python3-yaml             # reads the alert rules and promtool's test files in the TAP tests
    python3-psycopg2         # the SQLAlchemy example's driver
    python3-sqlalchemy       # the example that sizes its QueuePool from pool_config()
    python3-psycopg-pool     # pool_config()'s psycopg_pool arguments, checked by the real library
    pgbouncer                # pool_config()'s PgBouncer snippet, loaded by a real PgBouncer
    prometheus-postgres-exporter  # the exporter our queries file is tested with
    chromium                 # renders report() headless in the tests
    python3-pil              # counts the colours of its screenshots (test/clients/png_colors.py)
    fonts-dejavu-core        # the report's font
    debhelper                # builds the Debian package (tools/test.sh package)
    postgresql-server-dev-all  # pg_buildext, for the Debian package
    lintian                  # checks the Debian package (tools/test.sh package)
    autopkgtest              # runs its autopkgtest (debian/tests) on this machine
    default-jdk-headless     # a real JVM for the JDBC and HikariCP tests
    libpostgresql-jdbc-java  # pgjdbc, the PostgreSQL JDBC driver
    libhikaricp-java         # HikariCP, built from pool_config()'s properties
    libslf4j-java            # HikariCP's logging API and a simple binding
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "Installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
