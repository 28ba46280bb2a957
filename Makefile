# pgpool_stats: PGXS build of the extension, plus the core's unit tests.
#
#   make && sudo make install        the extension (pg_config on PATH picks the server)
#   make unit                        GoogleTest of the core, with ASan + UBSan
#   make installcheck                pg_regress against the installed extension, in a
#                                    temporary instance of its own (not as root)
#   make format                      clang-format every C++ file
#   make WERROR=1                    warnings are errors (CI does this)
#   make PG_CONFIG=/path/to/pg_config   build for that server (15 to 18; see
#                                    tools/build_postgres.sh for private 16-18 builds)
#   make PGPOOL_STATS_PERTURB_STATUS_SIZE=1   test build only: attach to the backend
#                                    status array with a wrong size (TAP 028)
#
# The whole test suite (unit, pg_regress, TAP) runs with tools/test.

EXTENSION   = pgpool_stats
MODULE_big  = pgpool_stats
DATA        = sql/pgpool_stats--1.0.sql sql/pgpool_stats--1.0--1.1.sql sql/pgpool_stats--1.1.sql
PGFILEDESC  = "pgpool_stats - connection budgets per application"

CORE_OBJS   = src/core/admission.o src/core/ledger.o src/core/census.o src/core/history.o \
              src/core/prometheus.o src/core/dump.o src/core/reaper.o src/core/recommender.o \
              src/core/pool_config.o src/core/report.o src/core/wait_queue.o \
              src/core/announcement.o
SHELL_OBJS  = src/pgpool_stats.o src/shared_memory.o src/admission_hook.o src/budget_sync.o \
              src/backend_states.o src/dump_file.o src/worker.o src/views.o src/sql_boundary.o \
              src/reaper.o src/observed.o src/recommendations.o src/report.o
OBJS        = $(SHELL_OBJS) $(CORE_OBJS)

# pg_regress suites. `make installcheck` runs them against the INSTALLED
# extension in a temporary instance of its own (pg_regress --temp-instance,
# the library preloaded by test/pg_regress.conf), never against the server
# PGHOST/PGPORT point to: the suite writes budgets and calls reset(), which
# on a live server would wipe its counters and stats_reset. initdb refuses
# root, so it runs as an ordinary user who can write REGRESS_DIR (results,
# diffs, the instance and its log).
REGRESS      = budgets privileges privilege_matrix recommendations hostile stored_names
REGRESS_DIR ?= test/regress
REGRESS_OPTS = --temp-instance=$(REGRESS_DIR)/instance --temp-config=test/pg_regress.conf \
               --outputdir=$(REGRESS_DIR)

# No LLVM bitcode: nothing of ours runs inside JIT-compiled expressions, and
# PGXS would compile our C++ with clang and its own flags, not ours.
override with_llvm = no

PG_CONFIG ?= pg_config
WARNINGS   = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-register
# The library's version, for PG_MODULE_MAGIC_EXT (18+): the control file's.
PGPOOL_STATS_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" pgpool_stats.control)
PG_CXXFLAGS = -std=c++17 -fno-rtti -Isrc $(WARNINGS) $(if $(WERROR),-Werror) \
              -DPGPOOL_STATS_VERSION='"$(PGPOOL_STATS_VERSION)"' \
              $(if $(PGPOOL_STATS_PERTURB_STATUS_SIZE),-DPGPOOL_STATS_PERTURB_STATUS_SIZE)
SHLIB_LINK  = -lstdc++

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The core must not see PostgreSQL: compile it without the server's include path.
CORE_CXXFLAGS = -std=c++17 -O2 -D_FORTIFY_SOURCE=2 -g -fPIC -Isrc $(WARNINGS) $(if $(WERROR),-Werror)
src/core/%.o: src/core/%.cpp src/core/*.hpp
	$(CXX) $(CORE_CXXFLAGS) -c -o $@ $<

$(SHELL_OBJS): src/*.hpp src/core/*.hpp

# Before pg_regress runs: as root, say why not and what to run instead.
.PHONY: installcheck-not-root
installcheck: installcheck-not-root
installcheck-not-root:
	@if [ "$$(id -u)" = 0 ]; then \
		echo "make installcheck: initdb refuses root, and the suite runs in a temporary instance of its own" >&2; \
		echo "(it never uses the server PGHOST/PGPORT point to). Run it as an ordinary user who can write" >&2; \
		echo "$(REGRESS_DIR), e.g. runuser -u postgres -- make installcheck REGRESS_DIR=/tmp/pgpool_stats-regress," >&2; \
		echo "or bash tools/test.sh regress." >&2; \
		exit 1; \
	fi

# ---------------------------------------------------------------------------
# Unit tests of the core: GoogleTest, sanitizers on.
UNIT_DIR     = test/unit
UNIT_BIN     = $(UNIT_DIR)/core_tests
UNIT_SRCS    = $(wildcard $(UNIT_DIR)/*_test.cpp) $(CORE_OBJS:.o=.cpp)
SANITIZE     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(UNIT_BIN): $(UNIT_SRCS) src/core/*.hpp
	$(CXX) -std=c++17 -O1 -g -Isrc $(WARNINGS) $(if $(WERROR),-Werror) $(SANITIZE) \
		-o $@ $(UNIT_SRCS) -lgtest -lgtest_main -pthread

.PHONY: unit format
unit: $(UNIT_BIN)
	$(UNIT_BIN)

format:
	clang-format -i src/*.cpp src/*.hpp src/core/*.cpp src/core/*.hpp test/unit/*.cpp test/unit/*.hpp

EXTRA_CLEAN = $(UNIT_BIN) test/regress/results test/regress/regression.diffs test/regress/regression.out \
              test/regress/instance test/regress/log
