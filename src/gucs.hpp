// The GUCs of pgpool_stats (defined in pgpool_stats.cpp, documented in
// README.md and docs/sql-reference.md).
#pragma once

namespace pgpool_stats {

extern char* guc_database;
extern int guc_max_applications;
extern bool guc_enforce;
extern bool guc_exempt_superusers;
extern int guc_sample_interval_ms;
extern int guc_history_samples;
extern int guc_history_minutes;
extern int guc_history_hours;
extern bool guc_save;
extern bool guc_reap;

}  // namespace pgpool_stats
