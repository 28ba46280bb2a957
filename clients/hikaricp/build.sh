#!/usr/bin/env bash
# Builds the HikariCP follower with Debian's jars (no Maven, no network):
#   clients/hikaricp/build.sh [OUT_DIR]      (default: clients/hikaricp/build)
# writes OUT_DIR/pgpool-stats-follow-hikaricp.jar. Java 8 bytecode, like HikariCP 2.
# Packages: default-jdk-headless libhikaricp-java libpostgresql-jdbc-java libslf4j-java.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
jars=/usr/share/java
classpath=$jars/HikariCP.jar:$jars/postgresql.jar:$jars/slf4j-api.jar
mkdir -p "$out/classes"
javac -Xlint:all -Xlint:-options -Werror --release 8 -cp "$classpath" -d "$out/classes" \
    $(find "$here/src" -name '*.java')
jar cf "$out/pgpool-stats-follow-hikaricp.jar" -C "$out/classes" .
echo "$out/pgpool-stats-follow-hikaricp.jar"
