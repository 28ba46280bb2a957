// The one border between SQL-callable functions and C++.
//
// Every SQL-callable symbol is declared with PGPOOL_STATS_SQL_FUNCTION, which
// emits a tiny extern "C" shim that first checks that the library was
// preloaded (one ERROR and hint for every function), then runs the C++ body
// inside a catch-all. A C++ exception never reaches PostgreSQL: its message
// is copied into a static buffer inside the catch, and ereport runs only
// after the catch has ended, so no exception object is alive during the
// longjmp.
//
// The body itself follows the shell's rule (shell.hpp): it may ereport, so it
// holds no C++ object with a destructor.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
}

namespace pgpool_stats {

using SqlFunctionBody = Datum (*)(FunctionCallInfo);

Datum call_guarded(SqlFunctionBody body, FunctionCallInfo fcinfo, const char* sql_name);

// The start of every set-returning function: a tuplestore, and the SQL
// declaration agreeing with the library on columns. (call_guarded has
// already checked that shared memory is there.)
ReturnSetInfo* begin_rows(FunctionCallInfo fcinfo, int columns);

// One result row of a set-returning function, its values counted as they
// are added: a row with more or fewer values than the columns begin_rows()
// checked is an ERROR on every build (an Assert fires only on servers built
// with assertions, not Debian's). Trivially destructible, as the shell's
// rule asks; emit() puts the row and starts the next one.
class Row {
public:
    explicit Row(ReturnSetInfo* rsinfo);
    Row& add(Datum value) { return add_or_null(false, value); }
    // NULL when is_null (value is then ignored).
    Row& add_or_null(bool is_null, Datum value);
    void emit();

private:
    ReturnSetInfo* rsinfo_;
    Datum* values_;
    bool* nulls_;
    int columns_;
    int n_;
};

// An interval as microseconds, a month counted as 30 days as PostgreSQL's
// own interval comparisons do; saturated at the int64 range, so an absurd
// interval ('100000000 years') reads as huge instead of wrapping around.
int64 interval_micros(const Interval* iv);

// Microseconds as an interval datum (time part only, as pg_stat views show
// durations).
Datum micros_interval(int64 micros);

}  // namespace pgpool_stats

#define PGPOOL_STATS_SQL_FUNCTION(symbol)                                  \
    extern "C" {                                                           \
    PG_FUNCTION_INFO_V1(symbol);                                           \
    }                                                                      \
    static Datum symbol##_body(FunctionCallInfo fcinfo);                   \
    extern "C" Datum symbol(PG_FUNCTION_ARGS) {                            \
        return pgpool_stats::call_guarded(symbol##_body, fcinfo, #symbol); \
    }                                                                      \
    static Datum symbol##_body(FunctionCallInfo fcinfo)
