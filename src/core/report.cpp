#include "report.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pgpool_stats::core {

namespace {

constexpr int kChartWidth = kReportColumns;
constexpr int kChartHeight = 180;
constexpr int kMarginLeft = 40, kMarginBottom = 22, kMarginTop = 8;

void escaped(std::string& out, const char* text) {
    for (const char* c = text; *c; ++c) {
        switch (*c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += *c;
        }
    }
}

void printf_to(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
// For short pieces only (cut at 512 bytes).
void printf_to(std::string& out, const char* format, ...) {
    char piece[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(piece, sizeof piece, format, args);
    va_end(args);
    out += piece;
}

const char kStyle[] =
    "body{font-family:'DejaVu Sans',sans-serif;margin:24px;color:#222;background:#fafafa}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}"
    ".meta{color:#555;font-size:13px;margin-bottom:16px}"
    ".summary{display:flex;gap:12px;margin-bottom:20px}"
    ".figure{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px}"
    ".figure b{display:block;font-size:20px}.figure span{font-size:12px;color:#555}"
    ".app{display:flex;gap:20px;background:#fff;border:1px solid #ddd;border-radius:6px;"
    "padding:14px;margin-bottom:16px}"
    ".side{font-size:13px;min-width:300px;max-width:420px}"
    ".side table{border-collapse:collapse;margin-bottom:8px}"
    ".side td{padding:2px 10px 2px 0}.side td:last-child{font-weight:bold}"
    ".finding{display:inline-block;background:#fde2c8;color:#8a3b00;border-radius:10px;"
    "padding:2px 8px;margin:0 4px 4px 0;font-size:12px}"
    ".ok{background:#dff3df;color:#1d5e1d}"
    ".rationale{color:#444;font-size:12px;line-height:1.4}"
    ".legend{font-size:12px;color:#444;margin-top:4px}"
    ".legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin:0 4px 0 "
    "10px}";

// A polyline through bucket values, as steps, scaled to the chart.
std::string polyline(const int32_t* values, double y_scale) {
    std::string points;
    for (int x = 0; x < kChartWidth; ++x) {
        const double y = kMarginTop + kChartHeight - values[x] * y_scale;
        printf_to(points, "%d,%.1f %d,%.1f ", kMarginLeft + x, y, kMarginLeft + x + 1, y);
    }
    return points;
}

void chart(std::string& out, const ReportInput& in, const ReportApplication& a) {
    std::vector<int32_t> connections(kChartWidth), active(kChartWidth);
    bucket_points(a.points, a.n_points, in.from_us, in.to_us, connections.data(), active.data(),
                  kChartWidth);
    int32_t top = std::max(1, *std::max_element(connections.begin(), connections.end()));
    if (a.has_budget && a.max_connections >= 0) top = std::max(top, a.max_connections);
    top = std::max(top, a.reserved_connections);
    top = std::max(top, a.recommendation.max_connections);
    const int32_t axis_max = top + std::max(1, top / 10);
    const double y_scale = static_cast<double>(kChartHeight) / axis_max;
    const int width = kMarginLeft + kChartWidth + 10;
    const int height = kMarginTop + kChartHeight + kMarginBottom;

    printf_to(out, "<svg width='%d' height='%d' role='img'>", width, height);
    printf_to(out,
              "<rect x='%d' y='%d' width='%d' height='%d' fill='#fff' stroke='#ccc'/>"
              "<text x='%d' y='%d' font-size='11' text-anchor='end'>%d</text>"
              "<text x='%d' y='%d' font-size='11' text-anchor='end'>0</text>",
              kMarginLeft, kMarginTop, kChartWidth, kChartHeight, kMarginLeft - 4, kMarginTop + 10,
              axis_max, kMarginLeft - 4, kMarginTop + kChartHeight);
    const auto level = [&](int32_t value, const char* colour, const char* label) {
        const double y = kMarginTop + kChartHeight - value * y_scale;
        printf_to(out,
                  "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='1.5' "
                  "stroke-dasharray='6 4'/><text x='%d' y='%.1f' font-size='11' fill='%s' "
                  "text-anchor='end'>%s %d</text>",
                  kMarginLeft, kMarginLeft + kChartWidth, y, y, colour,
                  kMarginLeft + kChartWidth - 4, y - 3, colour, label, value);
    };
    if (a.has_budget && a.max_connections >= 0) level(a.max_connections, "#c62828", "budget");
    if (a.reserved_connections > 0) level(a.reserved_connections, "#2e7d32", "reserved");
    // The point lists are long: appended whole, never through printf_to's buffer.
    out += "<polyline fill='none' stroke='#1565c0' stroke-width='1.5' points='";
    out += polyline(connections.data(), y_scale);
    out += "'/><polyline fill='none' stroke='#ef6c00' stroke-width='1.5' points='";
    out += polyline(active.data(), y_scale);
    out += "'/>";
    printf_to(out, "<text x='%d' y='%d' font-size='11'>", kMarginLeft, height - 6);
    escaped(out, in.from_label);
    printf_to(out, "</text><text x='%d' y='%d' font-size='11' text-anchor='end'>",
              kMarginLeft + kChartWidth, height - 6);
    escaped(out, in.to_label);
    out += "</text></svg>";
    out +=
        "<div class='legend'><i style='background:#1565c0'></i>connections"
        "<i style='background:#ef6c00'></i>active<i style='background:#c62828'></i>budget"
        "<i style='background:#2e7d32'></i>reserved</div>";
}

void side(std::string& out, const ReportApplication& a) {
    const Recommendation& r = a.recommendation;
    out += "<div class='side'><div>";
    bool any = false;
    for (int bit = 0; bit < kFindings; ++bit) {
        if (!(r.findings & (1u << bit))) continue;
        out += "<span class='finding'>";
        out += finding_name(bit);
        out += "</span>";
        any = true;
    }
    if (!any) out += "<span class='finding ok'>no findings</span>";
    out += "</div><table>";
    const auto row = [&](const char* what, const std::string& value) {
        out += "<tr><td>";
        out += what;
        out += "</td><td>";
        out += value;
        out += "</td></tr>";
    };
    std::string budget = "none";
    if (a.has_budget) {
        budget = a.max_connections >= 0 ? std::to_string(a.max_connections) : "no cap";
        budget += " (" + std::to_string(a.reserved_connections) + " reserved, ";
        budget += mode_name(a.mode);
        budget += ")";
    }
    row("budget now", budget);
    row("connections now", std::to_string(a.connections_now));
    row("peak connections / active",
        std::to_string(r.peak_connections) + " / " + std::to_string(r.peak_active));
    row("refused logins", std::to_string(a.rejected));
    row("recommended budget", std::to_string(r.max_connections) + " (" +
                                  std::to_string(r.reserved_connections) + " reserved)");
    row("per instance", "pool_size " + std::to_string(r.pool_size) + ", max_overflow " +
                            std::to_string(r.max_overflow) + " x " + std::to_string(r.instances) +
                            " instance(s)");
    out += "</table><div class='rationale'>";
    escaped(out, a.rationale);
    out += "</div></div>";
}

}  // namespace

void bucket_points(const ReportPoint* points, int32_t n, int64_t from_us, int64_t to_us,
                   int32_t* connections, int32_t* active, int columns) noexcept {
    std::fill(connections, connections + columns, 0);
    std::fill(active, active + columns, 0);
    if (to_us <= from_us || columns <= 0) return;
    const double span = static_cast<double>(to_us - from_us);
    for (int32_t k = 0; k < n; ++k) {
        const ReportPoint& p = points[k];
        if (p.end_us <= from_us || p.start_us >= to_us) continue;
        int first = static_cast<int>((std::max(p.start_us, from_us) - from_us) / span * columns);
        int last = static_cast<int>((std::min(p.end_us, to_us) - from_us) / span * columns);
        first = std::clamp(first, 0, columns - 1);
        last = std::clamp(last, first, columns - 1);
        for (int c = first; c <= last; ++c) {
            connections[c] = std::max(connections[c], p.connections);
            active[c] = std::max(active[c], p.active);
        }
    }
}

size_t render_report(const ReportInput& in, char* out, size_t out_size) {
    std::string html;
    html +=
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>pgpool_stats report</title><style>";
    html += kStyle;
    html += "</style></head><body><h1>pgpool_stats: connection budgets</h1><div class='meta'>";
    html += "From ";
    escaped(html, in.from_label);
    html += " to ";
    escaped(html, in.to_label);
    html += "; generated ";
    escaped(html, in.generated_label);
    html += ".</div><div class='summary'>";
    const auto figure = [&](int32_t value, const char* label) {
        printf_to(html, "<div class='figure'><b>%d</b><span>%s</span></div>", value, label);
    };
    figure(in.capacity, "capacity (slots)");
    figure(in.connections, "connections now");
    figure(in.reserved_total, "reserved");
    figure(in.budget_total, "sum of budgets");
    html += "</div>";
    if (in.n_applications == 0) html += "<p>No application has been seen yet.</p>";
    for (int32_t k = 0; k < in.n_applications; ++k) {
        const ReportApplication& a = in.applications[k];
        html += "<section class='app'><div><h2>";
        escaped(html, a.name);
        html += "</h2>";
        chart(html, in, a);
        html += "</div>";
        side(html, a);
        html += "</section>";
    }
    html += "</body></html>\n";
    if (out_size > 0) {
        const size_t n = std::min(out_size - 1, html.size());
        std::memcpy(out, html.data(), n);
        out[n] = '\0';
    }
    return html.size();
}

}  // namespace pgpool_stats::core
