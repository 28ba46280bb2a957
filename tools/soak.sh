#!/usr/bin/env bash
# A long soak on demand: the mixed load of test/tap/t/016_soak.pl (storms,
# churn through more names than the table holds, leaks and reaping, budget
# changes, pg_terminate_backend rounds) for SECONDS (default 1800), then the
# same checks as in CI: zero ledger drift, no crash, the worker's memory
# flat, every refusal and reap accounted for.
#
#   bash tools/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
PGPOOL_STATS_SOAK_SECONDS=${1:-1800} TAP_FILES=test/tap/t/016_soak.pl PROVE_FLAGS=-v \
    exec bash tools/test.sh tap
