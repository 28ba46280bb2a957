#include "sql_boundary.hpp"

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

}  // namespace pgpool_stats
