#include "sql_boundary.hpp"

#include "shell.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/timestamp.h"
}

#include <exception>

namespace pgpool_stats {

Datum call_guarded(SqlFunctionBody body, FunctionCallInfo fcinfo, const char* sql_name) {
    // Static: filling it allocates nothing, so it cannot fail inside the catch.
    static char message[512];
    try {
        return body(fcinfo);
    } catch (const std::exception& e) {
        strlcpy(message, e.what(), sizeof message);
    } catch (...) {
        strlcpy(message, "unknown C++ exception", sizeof message);
    }
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("pgpool_stats: internal error in %s: %s", sql_name, message)));
    pg_unreachable();
}

int64 interval_micros(const Interval* iv) {
    const __int128 days = static_cast<__int128>(iv->month) * DAYS_PER_MONTH + iv->day;
    const __int128 micros = days * USECS_PER_DAY + iv->time;
    if (micros > PG_INT64_MAX) return PG_INT64_MAX;
    if (micros < PG_INT64_MIN) return PG_INT64_MIN;
    return static_cast<int64>(micros);
}

Datum micros_interval(int64 micros) {
    Interval* iv = static_cast<Interval*>(palloc0(sizeof(Interval)));
    iv->time = micros;
    return IntervalPGetDatum(iv);
}

ReturnSetInfo* begin_rows(FunctionCallInfo fcinfo, int columns) {
    require_shared_memory();
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    if (rsinfo->setDesc->natts != columns)
        ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                        errmsg("pgpool_stats: function returns %d columns, the SQL declares %d",
                               columns, rsinfo->setDesc->natts),
                        errhint("The installed SQL does not match the library; run ALTER EXTENSION "
                                "pgpool_stats UPDATE.")));
    return rsinfo;
}

}  // namespace pgpool_stats
