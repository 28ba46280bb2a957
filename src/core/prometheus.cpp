#include "prometheus.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pgpool_stats::core {

namespace {

// One application's series, or the "(other)" aggregate.
struct Series {
    std::string label;              // escaped
    const ApplicationEntry* entry;  // null for the aggregate
    Census census;
    int64_t connections, peak_connections, peak_active, admission_waiting;
    int64_t admitted, rejected, would_reject, reaped;
    double connects_per_second;
};

// The gauges: what is true now, so summing whoever is outside the top
// applications at this scrape is right.
void add_gauges(Series& s, const ApplicationEntry& e, const Census& c, int64_t now) {
    s.connections += e.connections;
    s.peak_connections += e.peak_connections;
    // As the view: the sampler's peak, or what is active now if more.
    s.peak_active += std::max<int64_t>(e.peak_active, c.active);
    s.admission_waiting += e.admission_waiting;
    s.connects_per_second += connects_per_second(e, now);
    s.census.active += c.active;
    s.census.idle += c.idle;
    s.census.idle_in_transaction += c.idle_in_transaction;
    s.census.waiting += c.waiting;
    s.census.instances += c.instances;
}

void add_counters(Series& s, const ApplicationEntry& e) {
    s.admitted += e.admitted;
    s.rejected += e.rejected;
    s.would_reject += e.would_reject;
    s.reaped += e.reaped;
}

class Writer {
public:
    void family(const char* name, const char* type, const char* help) {
        text_ += "# HELP pgpool_stats_";
        text_ += name;
        text_ += ' ';
        text_ += help;
        text_ += "\n# TYPE pgpool_stats_";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }
    void sample(const char* name, const std::string& labels, double value) {
        char number[64];
        std::snprintf(number, sizeof number, "%.17g", value);
        text_ += "pgpool_stats_";
        text_ += name;
        if (!labels.empty()) {
            text_ += '{';
            text_ += labels;
            text_ += '}';
        }
        text_ += ' ';
        text_ += number;
        text_ += '\n';
    }
    const std::string& text() const { return text_; }

private:
    std::string text_;
};

std::string app_label(const Series& s) {
    return "application_name=\"" + s.label + "\"";
}

// A budget's series also say its mode (enforce or monitor).
std::string budget_label(const Series& s) {
    return app_label(s) + ",mode=\"" + mode_name(s.entry->budget.mode) + "\"";
}

}  // namespace

void escape_label_value(const char* value, char* out, size_t out_size) noexcept {
    size_t n = 0;
    auto put = [&](char c) {
        if (n + 1 < out_size) out[n] = c;
        ++n;
    };
    for (const char* p = value; *p; ++p) {
        if (*p == '\\' || *p == '"') {
            put('\\');
            put(*p);
        } else if (*p == '\n') {
            put('\\');
            put('n');
        } else {
            put(*p);
        }
    }
    if (out_size > 0) out[std::min(n, out_size - 1)] = '\0';
}

size_t render_metrics(const MetricsInput& in, char* out, size_t out_size) {
    // The applications with a budget or a refusal, would-be refusal or reap
    // since their reset come first (what the counter alerts are about, and a
    // refused application may have few connections), then those with the
    // most connections (then the most logins): the top get their own series;
    // "(other)" gets the rest's gauges. Its counters are the ledger's
    // overflow row's alone: who is outside the top changes from one scrape to
    // the next, and a sum of their counters would go back (a reset to
    // Prometheus) and jump forward, firing increase() alerts for nothing.
    auto watched = [](const ApplicationEntry& e) {
        return e.has_budget || e.rejected > 0 || e.would_reject > 0 || e.reaped > 0;
    };
    std::vector<int32_t> order;
    for (int32_t k = 0; k < in.n; ++k)
        if (std::strcmp(in.entries[k].name, kOtherName) != 0) order.push_back(k);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        const ApplicationEntry &ea = in.entries[a], &eb = in.entries[b];
        if (watched(ea) != watched(eb)) return watched(ea);
        if (ea.connections != eb.connections) return ea.connections > eb.connections;
        if (ea.admitted != eb.admitted) return ea.admitted > eb.admitted;
        return std::strcmp(ea.name, eb.name) < 0;
    });
    std::vector<Series> series;
    Series other{};
    other.label = kOtherName;
    bool other_used = false;
    for (size_t r = 0; r < order.size(); ++r) {
        const ApplicationEntry& e = in.entries[order[r]];
        const Census& c = in.census[order[r]];
        if (static_cast<int32_t>(r) < kTopApplications) {
            Series s{};
            char escaped[4 * kNameBytes];
            escape_label_value(e.name, escaped, sizeof escaped);
            s.label = escaped;
            s.entry = &e;
            add_gauges(s, e, c, in.now);
            add_counters(s, e);
            series.push_back(s);
        } else {
            add_gauges(other, e, c, in.now);
            other_used = true;
        }
    }
    for (int32_t k = 0; k < in.n; ++k)
        if (std::strcmp(in.entries[k].name, kOtherName) == 0) {
            add_gauges(other, in.entries[k], in.census[k], in.now);
            add_counters(other, in.entries[k]);
            other_used = true;
        }
    if (other_used) series.push_back(other);

    // The vocabulary (docs/metrics.md), shared with the exporter's queries
    // file: per application pgpool_stats_<figure>, per budget
    // pgpool_stats_budget_<figure>, for the server pgpool_stats_capacity_<figure>;
    // the label is application_name, `_total` ends exactly the counters.
    Writer w;
    struct PerApplication {
        const char* name;
        const char* type;
        const char* help;
        double (*value)(const Series&);
    };
    const PerApplication per_app[] = {
        {"connections", "gauge", "Counted sessions of the application now",
         [](const Series& s) { return double(s.connections); }},
        {"active", "gauge", "Sessions running a statement now",
         [](const Series& s) { return double(s.census.active); }},
        {"idle", "gauge", "Sessions idle outside a transaction now",
         [](const Series& s) { return double(s.census.idle); }},
        {"idle_in_transaction", "gauge", "Sessions idle inside a transaction now (also aborted)",
         [](const Series& s) { return double(s.census.idle_in_transaction); }},
        {"waiting", "gauge", "Active sessions blocked on a heavyweight lock now",
         [](const Series& s) { return double(s.census.waiting); }},
        {"admission_waiting", "gauge", "Logins waiting for a slot of the budget now",
         [](const Series& s) { return double(s.admission_waiting); }},
        {"instances", "gauge", "Distinct client addresses connected now",
         [](const Series& s) { return double(s.census.instances); }},
        {"peak_connections", "gauge", "Most sessions at once since the statistics were reset",
         [](const Series& s) { return double(s.peak_connections); }},
        {"peak_active", "gauge", "Most active sessions at once since the statistics were reset",
         [](const Series& s) { return double(s.peak_active); }},
        {"connects_per_second", "gauge", "Logins per second over about the last minute",
         [](const Series& s) { return s.connects_per_second; }},
        {"admitted_total", "counter", "Logins admitted",
         [](const Series& s) { return double(s.admitted); }},
        {"rejected_total", "counter", "Logins refused by the budget",
         [](const Series& s) { return double(s.rejected); }},
        {"would_reject_total", "counter", "Logins a monitor budget or enforce = off let through",
         [](const Series& s) { return double(s.would_reject); }},
        {"reaped_total", "counter", "Sessions terminated by the reaper",
         [](const Series& s) { return double(s.reaped); }},
    };
    for (const PerApplication& g : per_app) {
        w.family(g.name, g.type, g.help);
        for (const Series& s : series) w.sample(g.name, app_label(s), g.value(s));
    }
    // Budgets: only for applications that have one; the cap and the
    // utilization only where there is a cap (and, for the ratio, not 0).
    w.family("budget_max_connections", "gauge", "Cap of the application's budget");
    for (const Series& s : series)
        if (s.entry && s.entry->has_budget && s.entry->budget.capped())
            w.sample("budget_max_connections", budget_label(s), s.entry->budget.max_connections);
    w.family("budget_reserved_connections", "gauge", "Slots reserved for the application");
    for (const Series& s : series)
        if (s.entry && s.entry->has_budget)
            w.sample("budget_reserved_connections", budget_label(s),
                     s.entry->budget.reserved_connections);
    w.family("budget_utilization_ratio", "gauge", "Connections divided by the budget's cap");
    for (const Series& s : series)
        if (s.entry && s.entry->has_budget && s.entry->budget.capped() &&
            s.entry->budget.max_connections > 0)
            w.sample("budget_utilization_ratio", budget_label(s),
                     double(s.connections) / s.entry->budget.max_connections);

    const CapacityFigures& c = in.capacity;
    const struct {
        const char* name;
        const char* help;
        double value;
    } server[] = {
        {"capacity_max_connections", "The server's max_connections", double(in.max_connections)},
        {"capacity_superuser_reserved_connections", "The server's superuser_reserved_connections",
         double(in.superuser_reserved_connections)},
        {"capacity_slots", "Slots ordinary sessions can ever get (the capacity)",
         double(c.capacity)},
        {"capacity_connections", "Counted sessions of every application now",
         double(c.connections)},
        {"capacity_reserved_connections", "Slots reserved by all budgets together",
         double(c.reserved_total)},
        {"capacity_reserved_unused", "Reserved slots not in use now", double(c.reserved_unused)},
        {"capacity_free_unreserved", "Free slots any application may take now",
         double(c.free_unreserved)},
        {"capacity_budgeted_connections", "Sum of the caps of all budgets", double(c.budget_total)},
        {"capacity_overcommit", "How far the caps exceed the capacity (0 when they fit)",
         double(c.overcommit())},
        {"capacity_reserved_over_capacity",
         "How far the reservations exceed the capacity (0 when they fit)",
         double(c.reserved_over_capacity())},
        {"capacity_applications_tracked", "Applications in the shared table",
         double(c.applications_tracked)},
        {"capacity_applications_max", "Size of the shared table of applications",
         double(c.applications_max)},
    };
    for (const auto& g : server) {
        w.family(g.name, "gauge", g.help);
        w.sample(g.name, std::string(), g.value);
    }

    const std::string& text = w.text();
    if (out_size > 0) {
        size_t n = std::min(text.size(), out_size - 1);
        std::memcpy(out, text.data(), n);
        out[n] = '\0';
    }
    return text.size();
}

}  // namespace pgpool_stats::core
