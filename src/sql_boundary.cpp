#include "sql_boundary.hpp"

#include "shared_memory.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <exception>

namespace pgpool_stats {

Datum call_guarded(SqlFunctionBody body, FunctionCallInfo fcinfo, const char* sql_name) {
    // Static: filling it allocates nothing, so it cannot fail inside the catch.
    static char message[512];
    // Every function of ours reads shared memory: one check, at the border.
    require_shared_memory();
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

Row::Row(ReturnSetInfo* rsinfo)
    : rsinfo_(rsinfo),
      values_(static_cast<Datum*>(palloc(sizeof(Datum) * rsinfo->setDesc->natts))),
      nulls_(static_cast<bool*>(palloc(sizeof(bool) * rsinfo->setDesc->natts))),
      columns_(rsinfo->setDesc->natts),
      n_(0) {}

Row& Row::add_or_null(bool is_null, Datum value) {
    if (n_ >= columns_)
        ereport(ERROR,
                (errcode(ERRCODE_INTERNAL_ERROR),
                 errmsg("pgpool_stats: a row has more values than its %d columns", columns_)));
    nulls_[n_] = is_null;
    values_[n_++] = is_null ? (Datum)0 : value;
    return *this;
}

void Row::emit() {
    if (n_ != columns_)
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("pgpool_stats: a row has %d values for %d columns", n_, columns_)));
    tuplestore_putvalues(rsinfo_->setResult, rsinfo_->setDesc, values_, nulls_);
    n_ = 0;
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
