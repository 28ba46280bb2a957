#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pgpool_stats::core {

namespace {

constexpr int64_t kSecond = 1000 * 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// Geometry of a chart, in the SVG's units (it scales with the page).
constexpr int kPlotLeft = 46;
constexpr int kPlotWidth = kReportColumns;
constexpr int kPlotRight = kPlotLeft + kPlotWidth;
constexpr int kPlotTop = 10;
constexpr int kPlotHeight = 180;
constexpr int kPlotBottom = kPlotTop + kPlotHeight;
constexpr int kLaneTop = kPlotBottom + 5;  // the marks of refusals and reaps
constexpr int kLaneHeight = 12;
constexpr int kSvgWidth = kPlotRight + 14;

// One colour per meaning, each used for nothing else (the TAP test finds
// them in a screenshot).
constexpr const char* kSeriesColour[kReportSeries] = {"#1565c0", "#ef6c00", "#8e24aa"};
constexpr const char* kSeriesName[kReportSeries] = {"connections", "active", "idle in transaction"};
// Drawn widest first, so a line that coincides with another still shows
// around it; idle in transaction is dashed.
constexpr const char* kSeriesStroke[kReportSeries] = {"stroke-width='3.2'", "stroke-width='1.6'",
                                                      "stroke-width='1.6' stroke-dasharray='5 3'"};
constexpr const char* kBudgetColour = "#c62828";
constexpr const char* kReservedColour = "#2e7d32";
constexpr const char* kCapacityColour = "#37474f";
constexpr const char* kPeakColour = "#111111";
constexpr const char* kRefusedColour = "#d50000";
constexpr const char* kWouldRejectColour = "#ff8a80";
constexpr const char* kReapColour = "#4a148c";
constexpr const char* kGridColour = "#e4e4e4";
constexpr const char* kStackColour[kReportStacked] = {"#4e79a7", "#f28e2b", "#59a14f",
                                                      "#e15759", "#76b7b2", "#edc948"};
constexpr const char* kRestColour = "#b9b0ab";

constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

size_t copy_out(const std::string& text, char* out, size_t out_size) {
    if (out_size > 0) {
        const size_t n = std::min(out_size - 1, text.size());
        std::memcpy(out, text.data(), n);
        out[n] = '\0';
    }
    return text.size();
}

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
// For short pieces only (cut at 512 bytes): names go through escaped().
void printf_to(std::string& out, const char* format, ...) {
    char piece[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(piece, sizeof piece, format, args);
    va_end(args);
    out += piece;
}

std::string duration(int64_t us) {
    char text[64];
    duration_text(us, text, sizeof text);
    return text;
}

std::string label(int64_t t, int64_t offset, int64_t step) {
    char text[64];
    time_label(t, offset, step, text, sizeof text);
    return text;
}

// "2026-12-01 11:13:03"
std::string stamp(int64_t t, int64_t offset) {
    const CivilTime c = civil_time(t + offset);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day,
                  c.hour, c.minute, c.second);
    return text;
}

std::string rate_text(double per_second) {
    char text[32];
    std::snprintf(text, sizeof text, per_second < 10 ? "%.2f" : "%.0f", per_second);
    return text;
}

std::string seconds_text(double seconds) {
    if (seconds < 0) return "–";
    char text[32];
    if (seconds < 1)  // a churning service's sessions last milliseconds
        std::snprintf(text, sizeof text, "%.0f ms", seconds * 1000);
    else
        std::snprintf(text, sizeof text, seconds < 10 ? "%.2f s" : "%.0f s", seconds);
    return text;
}

// The time and value scales of one chart.
struct Frame {
    int64_t from, to;
    int32_t axis_top;
    double x(int64_t t) const {
        const double share = static_cast<double>(t - from) / static_cast<double>(to - from);
        return kPlotLeft + std::clamp(share, 0.0, 1.0) * kPlotWidth;
    }
    double y(double v) const { return kPlotBottom - v * kPlotHeight / axis_top; }
};

// Gridlines, value labels, time ticks and their labels; the lane for marks
// when `lane`.
void axes(std::string& out, const Frame& f, const ReportInput& in, bool lane) {
    const int32_t step = value_step(f.axis_top, kReportValueTicks);
    printf_to(out, "<g class='grid' stroke='%s' shape-rendering='crispEdges'>", kGridColour);
    for (int32_t v = step; v <= f.axis_top; v += step)
        printf_to(out, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f'/>", kPlotLeft, kPlotRight,
                  std::round(f.y(v)) + 0.5, std::round(f.y(v)) + 0.5);
    const int64_t tstep = time_step(f.to - f.from, kReportTimeTicks);
    std::vector<int64_t> ticks;
    for (int64_t t =
             (floor_div(f.from + in.utc_offset_us - 1, tstep) + 1) * tstep - in.utc_offset_us;
         t <= f.to; t += tstep)
        ticks.push_back(t);
    for (const int64_t t : ticks)
        printf_to(out, "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d'/>", std::round(f.x(t)) + 0.5,
                  std::round(f.x(t)) + 0.5, kPlotTop, kPlotBottom);
    out += "</g>";
    printf_to(out,
              "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#9e9e9e' "
              "shape-rendering='crispEdges'/>",
              kPlotLeft, kPlotTop, kPlotWidth, kPlotHeight);
    out += "<g class='ticks' font-size='11' fill='#555'>";
    for (int32_t v = 0; v <= f.axis_top; v += step)
        printf_to(out, "<text x='%d' y='%.1f' text-anchor='end'>%d</text>", kPlotLeft - 6,
                  f.y(v) + 4, v);
    const int label_y = (lane ? kLaneTop + kLaneHeight : kPlotBottom) + 15;
    for (const int64_t t : ticks) {
        const double x = f.x(t);
        const char* anchor = x < kPlotLeft + 24 ? "start" : x > kPlotRight - 24 ? "end" : "middle";
        printf_to(out,
                  "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#9e9e9e'/>"
                  "<text class='time' x='%.1f' y='%d' text-anchor='%s'>",
                  std::round(x) + 0.5, std::round(x) + 0.5, kPlotBottom, kPlotBottom + 4, x,
                  label_y, anchor);
        out += label(t, in.utc_offset_us, tstep);
        out += "</text>";
    }
    out += "</g>";
    if (lane)
        printf_to(out,
                  "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#d0d0d0' "
                  "shape-rendering='crispEdges'/>",
                  kPlotLeft, kPlotRight, kLaneTop + kLaneHeight + 0.5,
                  kLaneTop + kLaneHeight + 0.5);
}

// Steps through per-column values: "H x V y" for every change, from the
// left edge to the right (reversed: right to left). Values are rounded to a
// tenth of a pixel so that equal runs are one segment.
void steps(std::string& out, const std::vector<double>& ys, bool reversed) {
    const int n = static_cast<int>(ys.size());
    const auto q = [&](int c) { return std::lround(ys[c] * 10); };
    if (!reversed) {
        for (int c = 1; c < n; ++c)
            if (q(c) != q(c - 1)) printf_to(out, "H%dV%.1f", kPlotLeft + c, q(c) / 10.0);
        printf_to(out, "H%d", kPlotLeft + n);
    } else {
        for (int c = n - 2; c >= 0; --c)
            if (q(c) != q(c + 1)) printf_to(out, "H%dV%.1f", kPlotLeft + c + 1, q(c) / 10.0);
        printf_to(out, "H%d", kPlotLeft);
    }
}

// The area between two per-column edges (upper above lower), as one path.
void area(std::string& out, const std::vector<double>& upper, const std::vector<double>& lower,
          const char* attributes) {
    out += "<path ";
    out += attributes;
    printf_to(out, " d='M%d,%.1f", kPlotLeft, std::lround(upper[0] * 10) / 10.0);
    steps(out, upper, false);
    printf_to(out, "V%.1f", std::lround(lower.back() * 10) / 10.0);
    steps(out, lower, true);
    out += "Z'/>";
}

void step_line(std::string& out, const std::vector<double>& ys, const char* attributes) {
    out += "<path ";
    out += attributes;
    printf_to(out, " fill='none' d='M%d,%.1f", kPlotLeft, std::lround(ys[0] * 10) / 10.0);
    steps(out, ys, false);
    out += "'/>";
}

// A horizontal level with its label above it at the right (below it when
// `below`), the label haloed so that lines behind it do not cross it.
void level(std::string& out, const Frame& f, int32_t value, const char* colour, const char* what,
           bool below) {
    const double y = f.y(value);
    printf_to(out,
              "<line class='level' x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='%s' "
              "stroke-width='1.5' stroke-dasharray='7 4'/>"
              "<text x='%d' y='%.1f' font-size='11' fill='%s' text-anchor='end' "
              "paint-order='stroke' stroke='#fff' stroke-width='3'>%s %d</text>",
              kPlotLeft, kPlotRight, y, y, colour, kPlotRight - 4, below ? y + 12 : y - 4, colour,
              what, value);
}

// A stretch of the time axis to mark, with what it counts.
struct Span {
    double x0, x1;
    int64_t t0, t1;
    int64_t count;
};

// Spans that touch (within a pixel) drawn as one.
std::vector<Span> merged(std::vector<Span> spans) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.x0 < b.x0; });
    std::vector<Span> out;
    for (const Span& s : spans) {
        if (!out.empty() && s.x0 <= out.back().x1 + 1) {
            Span& m = out.back();
            m.x1 = std::max(m.x1, s.x1);
            m.t1 = std::max(m.t1, s.t1);
            m.count += s.count;
        } else {
            out.push_back(s);
        }
    }
    return out;
}

void span_marks(std::string& out, const std::vector<Span>& spans, const ReportInput& in,
                const char* cls, const char* colour, const char* what) {
    for (const Span& s : merged(spans)) {
        double x0 = s.x0, x1 = s.x1;
        if (x1 - x0 < 3) {  // wide enough to be seen
            const double mid = (x0 + x1) / 2;
            x0 = std::max<double>(kPlotLeft, mid - 1.5);
            x1 = x0 + 3;
        }
        printf_to(out,
                  "<rect class='%s' x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>",
                  cls, x0, kLaneTop, x1 - x0, kLaneHeight, colour);
        if (s.count > 0) printf_to(out, "%lld ", static_cast<long long>(s.count));
        out += what;
        out += ", ";
        out += stamp(s.t0, in.utc_offset_us);
        out += " to ";
        out += label(s.t1, in.utc_offset_us, 1);
        out += "</title></rect>";
    }
}

const char* finding_class(int bit) {
    return (1u << bit) == kFindingInsufficientData ? "finding muted" : "finding";
}

void findings(std::string& out, uint32_t bits) {
    bool any = false;
    for (int bit = 0; bit < kFindings; ++bit) {
        if (!(bits & (1u << bit))) continue;
        printf_to(out, "<span class='%s'>%s</span>", finding_class(bit), finding_name(bit));
        any = true;
    }
    if (!any) out += "<span class='finding ok'>no findings</span>";
}

std::string budget_text(const ReportApplication& a) {
    if (!a.has_budget) return "none";
    std::string text = a.max_connections >= 0 ? std::to_string(a.max_connections) : "no cap";
    if (a.reserved_connections > 0)
        text += " (" + std::to_string(a.reserved_connections) + " reserved)";
    return text;
}

bool monitored(const ReportApplication& a) {
    return a.has_budget && a.mode == BudgetMode::kMonitor;
}

const char* kStyle =
    "*{box-sizing:border-box}"
    "body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:0;padding:24px;color:#212121;"
    "background:#f4f5f7;font-size:14px;line-height:1.4}"
    "main{max-width:1240px;margin:0 auto}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0}"
    "h3{font-size:13px;margin:12px 0 4px;color:#555;text-transform:uppercase;letter-spacing:.04em}"
    ".meta{color:#555;font-size:13px;margin-bottom:14px}.meta b{color:#212121}"
    ".figures-row{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:18px}"
    ".figure{background:#fff;border:1px solid #dcdfe4;border-radius:6px;padding:8px 14px;"
    "min-width:120px}"
    ".figure b{display:block;font-size:20px}.figure span{font-size:12px;color:#555}"
    ".card{background:#fff;border:1px solid #dcdfe4;border-radius:6px;padding:14px 16px;"
    "margin-bottom:16px}"
    ".card>h2{margin-bottom:8px}"
    ".scroll{overflow-x:auto}"
    "table.summary{border-collapse:collapse;width:100%;font-size:13px;white-space:nowrap}"
    ".summary th{background:#eef1f5;font-weight:600;padding:4px 7px;border-bottom:1px solid "
    "#cfd5dd;text-align:left;white-space:normal;vertical-align:bottom}"
    ".summary th.n,.summary td.n{text-align:right}"
    ".summary td{padding:4px 7px;border-bottom:1px solid #eceef1}"
    ".summary td.findings{white-space:normal;min-width:150px}"
    ".summary td.findings .finding{margin:1px 0}"
    ".summary tbody tr:nth-child(even){background:#fafbfc}"
    ".summary tbody tr{background:#fff}"
    ".summary .name{position:sticky;left:0;background:inherit}"
    ".summary th.name{background:#eef1f5}"
    ".caption{color:#555;font-size:12px;margin:6px 0 0}"
    "td.bad{color:#b71c1c;font-weight:700}td.warn{color:#a84300;font-weight:700}"
    "a{color:#0d47a1;text-decoration:none}a:hover{text-decoration:underline}"
    ".app .head{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-bottom:8px}"
    ".app .head h2{margin-right:6px}"
    ".body{display:flex;flex-wrap:wrap;gap:8px 24px}"
    ".chart{flex:1 1 560px;min-width:0;max-width:700px}"
    ".chart svg{display:block;width:100%;height:auto}"
    ".side{flex:1 1 300px;font-size:13px}"
    ".side table{border-collapse:collapse;width:100%}"
    ".side td{padding:3px 8px 3px 0;border-bottom:1px solid #f0f0f0;vertical-align:top}"
    ".side td:first-child{white-space:nowrap;color:#444}.side td.v{font-weight:700}"
    ".side .why{color:#555}"
    ".side table.stack{width:auto;min-width:260px}"
    ".side table.stack th{text-align:left;font-weight:600;color:#555;padding:3px 8px 3px 0}"
    ".side .n{text-align:right}"
    ".finding{display:inline-block;background:#fde2c8;color:#8a3b00;border-radius:10px;"
    "padding:1px 8px;font-size:12px}"
    ".finding.ok{background:#dff3df;color:#1d5e1d}.finding.muted{background:#eceff1;color:#455a64}"
    ".mode{display:inline-block;border:1px solid #90a4ae;color:#37474f;border-radius:4px;"
    "padding:0 6px;font-size:12px}.mode.monitor{border-color:#ef6c00;color:#a84300}"
    ".legend{font-size:12px;color:#444;margin-top:4px;display:flex;flex-wrap:wrap;gap:2px 14px}"
    ".legend span{white-space:nowrap}"
    ".sw{display:inline-block;width:18px;vertical-align:middle;margin-right:5px}"
    ".sw.box{height:10px}.sw.dia{width:8px;height:8px;transform:rotate(45deg);margin:0 7px 0 5px}"
    ".ref{font-size:11px;vertical-align:super;margin-left:2px}"
    ".notes{font-size:13px;color:#333}.notes li{margin-bottom:6px}"
    // A phone shows a chart at about half its size: larger text keeps it legible.
    "@media (max-width:700px){body{padding:10px;font-size:13px}.card{padding:10px}"
    ".chart{flex-basis:100%}.side{flex-basis:100%}h1{font-size:19px}"
    ".figure{flex:1 1 100px;padding:6px 10px}.figure b{font-size:17px}"
    ".chart svg text{font-size:17px}"
    ".side table.rec tr{display:block;border-bottom:1px solid #f0f0f0;padding:3px 0}"
    ".side table.rec td{display:block;border:0;padding:0}}";

// A legend entry: a swatch drawn with CSS (no SVG, so charts are the only SVG).
void swatch(std::string& out, const char* style, const char* text) {
    printf_to(out, "<span><i class='sw' style='%s'></i>%s</span>", style, text);
}

// Chart of one application: bands and mean lines of its series, its budget
// and reservation, and a lane of marks under the plot.
// `number` makes the ids of the chart's hatch patterns unique in the page.
void application_chart(std::string& out, const ReportInput& in, const ReportApplication& a,
                       int number) {
    std::vector<ReportColumn> cols[kReportSeries];
    double top = 1;
    for (int s = 0; s < kReportSeries; ++s) {
        cols[s].resize(kReportColumns);
        band_columns(a.points, a.n_points, s, in.from_us, in.to_us, cols[s].data(), kReportColumns);
        for (const ReportColumn& c : cols[s]) top = std::max(top, c.max);
    }
    const bool capped = a.has_budget && a.max_connections >= 0;
    if (capped) top = std::max<double>(top, a.max_connections);
    top = std::max<double>(top, a.reserved_connections);
    const Frame f{in.from_us, in.to_us,
                  value_axis_top(static_cast<int32_t>(std::ceil(top)), kReportValueTicks)};

    printf_to(out,
              "<svg class='chart' viewBox='0 0 %d %d' width='%d' role='img' "
              "data-window='%lld %lld' data-plot='%d %d'>",
              kSvgWidth, kLaneTop + kLaneHeight + 20, kSvgWidth, static_cast<long long>(in.from_us),
              static_cast<long long>(in.to_us), kPlotLeft, kPlotWidth);
    out += "<title>";
    escaped(out, a.name);
    out += ": connections, active and idle in transaction over the window</title>";
    axes(out, f, in, true);

    // Bands first, then mean lines widest first, then levels on top, so that
    // lines flat at the budget and at each other all stay visible. The
    // connections' band is a light fill; the others are hatched, so that
    // bands over each other stay apart instead of mixing into one tint.
    bool band[kReportSeries] = {};
    std::vector<double> hi(kReportColumns), lo(kReportColumns), mean(kReportColumns);
    for (int s = 0; s < kReportSeries; ++s) {
        for (int c = 0; c < kReportColumns; ++c) {
            hi[c] = f.y(cols[s][c].max);
            lo[c] = f.y(cols[s][c].min);
            band[s] = band[s] || cols[s][c].max - cols[s][c].min > 1e-9;
        }
        if (!band[s]) continue;
        char attributes[160];
        if (s == kSeriesConnections) {
            std::snprintf(attributes, sizeof attributes,
                          "class='band' fill='%s' fill-opacity='0.18'", kSeriesColour[s]);
        } else {
            printf_to(out,
                      "<defs><pattern id='hatch-%d-%d' patternUnits='userSpaceOnUse' width='5' "
                      "height='5' patternTransform='rotate(%d)'><line x1='0' y1='0' x2='0' "
                      "y2='5' stroke='%s' stroke-width='1.3' stroke-opacity='0.6'/></pattern>"
                      "</defs>",
                      number, s, s == kSeriesActive ? 45 : -45, kSeriesColour[s]);
            std::snprintf(attributes, sizeof attributes,
                          "class='band' data-series='%s' fill='url(#hatch-%d-%d)'", kSeriesName[s],
                          number, s);
        }
        area(out, hi, lo, attributes);
    }
    bool drawn[kReportSeries] = {};
    for (int s = 0; s < kReportSeries; ++s) {
        bool any = s == kSeriesConnections;
        for (int c = 0; c < kReportColumns; ++c) {
            mean[c] = f.y(cols[s][c].mean);
            any = any || cols[s][c].max > 0;
        }
        if (!any) continue;  // no idle in transaction: no line hiding the others at 0
        drawn[s] = true;
        char attributes[160];
        std::snprintf(attributes, sizeof attributes,
                      "class='mean' stroke='%s' %s stroke-linejoin='round'", kSeriesColour[s],
                      kSeriesStroke[s]);
        step_line(out, mean, attributes);
    }
    if (capped) level(out, f, a.max_connections, kBudgetColour, "budget", false);
    if (a.reserved_connections > 0) {
        const bool close =
            capped && std::abs(f.y(a.reserved_connections) - f.y(a.max_connections)) < 14;
        level(out, f, a.reserved_connections, kReservedColour, "reserved", close);
    }

    // Marks: refusals and would-be refusals over the interval of the row
    // that counted them (one sample, or a whole roll-up: when within it is
    // not known); reaps at their instant.
    std::vector<Span> refused, would;
    for (int32_t k = 0; k < a.n_points; ++k) {
        const ReportPoint& p = a.points[k];
        if (p.end_us <= in.from_us || p.start_us >= in.to_us) continue;
        const Span s{f.x(p.start_us), f.x(p.end_us), std::max(p.start_us, in.from_us),
                     std::min(p.end_us, in.to_us), p.rejected};
        if (p.rejected > 0) refused.push_back(s);
        if (p.would_reject > 0) would.push_back(Span{s.x0, s.x1, s.t0, s.t1, p.would_reject});
    }
    span_marks(out, would, in, "mark-would", kWouldRejectColour,
               "logins let through that enforce mode would refuse");
    span_marks(out, refused, in, "mark-refused", kRefusedColour, "logins refused");
    int reaps = 0, would_reaps = 0;
    for (int32_t k = 0; k < a.n_reaps; ++k) {
        const ReportReap& r = a.reaps[k];
        if (r.at_us < in.from_us || r.at_us > in.to_us) continue;
        const double x = f.x(r.at_us);
        const int cy = kLaneTop + kLaneHeight / 2;
        printf_to(out,
                  "<path class='mark-reap' d='M%.1f,%dl5,5l-5,5l-5,-5z' fill='%s' stroke='%s' "
                  "stroke-width='1.5'><title>",
                  x, cy - 5, r.would ? "#fff" : kReapColour, kReapColour);
        out += r.would ? "would terminate, " : "terminated, ";
        out += stamp(r.at_us, in.utc_offset_us);
        out += "</title></path>";
        (r.would ? would_reaps : reaps)++;
    }
    out += "</svg><div class='legend'>";
    for (int s = 0; s < kReportSeries; ++s) {
        if (!drawn[s]) continue;
        char style[96];
        std::snprintf(style, sizeof style, "border-top:%s %s %s", s == 0 ? "3px" : "2px",
                      s == kSeriesIdleInTransaction ? "dashed" : "solid", kSeriesColour[s]);
        swatch(out, style, kSeriesName[s]);
    }
    if (band[kSeriesConnections])
        swatch(out, "height:10px;background:rgba(21,101,192,.18)",
               "range within a row<a class='ref' href='#note-chart'>1</a>");
    if (band[kSeriesActive])
        swatch(out,
               "height:10px;background:repeating-linear-gradient(-45deg,rgba(239,108,0,.6) 0 "
               "1.3px,transparent 1.3px 3.5px)",
               "active range");
    if (band[kSeriesIdleInTransaction])
        swatch(out,
               "height:10px;background:repeating-linear-gradient(45deg,rgba(142,36,170,.6) 0 "
               "1.3px,transparent 1.3px 3.5px)",
               "idle in transaction range");
    if (capped) swatch(out, "border-top:2px dashed #c62828", "budget");
    if (a.reserved_connections > 0) swatch(out, "border-top:2px dashed #2e7d32", "reserved");
    if (!refused.empty()) swatch(out, "height:10px;width:6px;background:#d50000", "refused");
    if (!would.empty())
        swatch(out, "height:10px;width:6px;background:#ff8a80",
               "would be refused<a class='ref' href='#note-marks'>2</a>");
    if (reaps > 0)
        printf_to(out, "<span><i class='sw dia' style='background:%s'></i>reaped</span>",
                  kReapColour);
    if (would_reaps > 0)
        printf_to(out,
                  "<span><i class='sw dia' style='border:1.5px solid %s'></i>would reap</span>",
                  kReapColour);
    out += "</div>";
}

// One row of the recommendation's table: setting, value, the figures that
// made it, and the note that explains the rule once.
void why_row(std::string& out, const char* setting, const std::string& value,
             const std::string& because, const char* note, int number) {
    printf_to(out, "<tr><td>%s</td><td><b>", setting);
    out += value;
    out += "</b> <span class='why'>";
    out += because;
    printf_to(out, "<a class='ref' href='#%s'>%d</a></span></td></tr>", note, number);
}

// The notes' numbers, in the order the notes section lists them.
enum Note : int {
    kNoteChart = 1,
    kNoteMarks,
    kNoteCounters,
    kNoteStack,
    kNoteInsufficient,
    kNoteMax,
    kNoteCensored,
    kNoteReserved,
    kNotePool,
    kNoteInstances,
    kNoteIdle,
};

std::string fixed(double value, int decimals) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

void application_side(std::string& out, const ReportInput& in, const ReportApplication& a,
                      const ReportSummary& s) {
    const Recommendation& r = a.recommendation;
    out += "<div class='side'><table>";
    const auto row = [&](const char* what, const std::string& value, const char* cls) {
        printf_to(out, "<tr><td>%s</td><td class='v %s'>", what, cls);
        out += value;
        out += "</td></tr>";
    };
    std::string budget = budget_text(a);
    if (a.has_budget) budget += std::string(", ") + mode_name(a.mode);
    row("budget now", budget, "");
    row("connections now", std::to_string(a.connections_now), "");
    row("peak in the window",
        std::to_string(s.peak_connections) + " connections, " + std::to_string(s.peak_active) +
            " active",
        "");
    row("refused logins", std::to_string(a.rejected), a.rejected > 0 ? "bad" : "");
    row("would be refused", std::to_string(a.would_reject), a.would_reject > 0 ? "warn" : "");
    std::string reaped = std::to_string(a.reaped) + " terminated";
    if (s.would_reaps > 0) reaped += ", " + std::to_string(s.would_reaps) + " would be";
    row("reaped sessions", reaped, a.reaped > 0 ? "warn" : "");
    row("logins",
        rate_text(a.connects_per_second) + " per second; sessions last " +
            seconds_text(a.avg_session_seconds),
        "");
    out += "</table><h3>Recommendation</h3><table class='rec'>";
    const double target = std::clamp(in.target_utilization, 0.05, 1.0);
    if (r.findings & kFindingInsufficientData)
        why_row(out, "evidence", "too little",
                duration(static_cast<int64_t>(r.observed_seconds * kSecond)) + " and " +
                    std::to_string(r.ticks) + " samples so far",
                "note-insufficient", kNoteInsufficient);
    why_row(out, "max_connections", std::to_string(r.max_connections),
            "p99 active " + fixed(r.p99_active, 1) + " at " + fixed(target * 100, 0) + " %, peak " +
                std::to_string(r.peak_active) + " active",
            "note-max", kNoteMax);
    if (r.censored_by > 0)
        why_row(out, "censored", "+" + std::to_string(r.censored_by),
                std::to_string(r.rejected) + " refused in the window, up to " +
                    std::to_string(r.censored_by) + " at once, over a peak of " +
                    std::to_string(r.peak_connections),
                "note-censored", kNoteCensored);
    why_row(out, "reserved_connections", std::to_string(r.reserved_connections),
            r.has_reservation ? "p95 active " + fixed(r.p95_active, 1)
                              : std::string("its budget has none"),
            "note-reserved", kNoteReserved);
    why_row(out, "pool_size + max_overflow",
            std::to_string(r.pool_size) + " + " + std::to_string(r.max_overflow),
            "per instance, " + std::to_string(r.instances) + " instance" +
                (r.instances == 1 ? "" : "s") + "; pool_timeout " +
                std::to_string(r.pool_timeout_seconds) + " s",
            "note-pool", kNotePool);
    if (r.instances > r.max_connections)
        why_row(out, "instances", "do not fit",
                std::to_string(r.instances) + " instances, " + std::to_string(r.max_connections) +
                    " connections",
                "note-instances", kNoteInstances);
    if (r.idle_in_transaction_timeout_seconds >= 0)
        why_row(out, "idle_in_transaction_timeout",
                std::to_string(r.idle_in_transaction_timeout_seconds) + " s",
                std::to_string(r.idle_episodes.count) + " episode" +
                    (r.idle_episodes.count == 1 ? "" : "s") + ", the longest " +
                    fixed(r.idle_episodes.longest_us / 1e6, 1) + " s",
                "note-idle", kNoteIdle);
    else
        why_row(out, "idle_in_transaction_timeout", "none",
                fixed(r.idle_in_transaction_share * 100, 0) + " % of connection time, no episode",
                "note-idle", kNoteIdle);
    out += "</table></div>";
}

void summary_table(std::string& out, const ReportInput& in,
                   const std::vector<ReportSummary>& summaries) {
    out +=
        "<section class='card'><h2>Applications</h2><div class='scroll'>"
        "<table class='summary'>";
    const int32_t listed = std::min(in.listed, in.n_applications);
    out +=
        "<thead><tr><th rowspan='2' class='name'>application</th>"
        "<th rowspan='2'>budget</th><th colspan='3' class='n'>connections</th>"
        "<th colspan='3' class='n'>since reset</th><th rowspan='2' class='n'>logins per second</th>"
        "<th rowspan='2' class='n'>avg session</th>"
        "<th rowspan='2'>findings</th><th rowspan='2' class='n'>recommended</th></tr><tr>"
        "<th class='n'>now</th><th class='n'>peak</th><th class='n'>peak active</th>"
        "<th class='n'>refused</th><th class='n'>would be refused</th><th class='n'>reaped</th>"
        "</tr></thead><tbody>";
    for (int32_t k = 0; k < listed; ++k) {
        const ReportApplication& a = in.applications[k];
        const ReportSummary& s = summaries[k];
        const Recommendation& r = a.recommendation;
        out += "<tr data-app='";
        escaped(out, a.name);
        out += "'><td class='name'>";
        if (k < in.charted) printf_to(out, "<a href='#app-%d'>", k + 1);
        escaped(out, a.name);
        if (k < in.charted) out += "</a>";
        out += "</td><td class='budget'>";
        out += budget_text(a);
        if (monitored(a)) out += " <span class='mode monitor'>monitor</span>";
        printf_to(out,
                  "</td><td class='n now'>%d</td><td class='n peak'>%d</td>"
                  "<td class='n active'>%d</td><td class='n refused%s'>%lld</td>"
                  "<td class='n would%s'>%lld</td><td class='n reaped%s'>%lld",
                  a.connections_now, s.peak_connections, s.peak_active,
                  a.rejected > 0 ? " bad" : "", static_cast<long long>(a.rejected),
                  a.would_reject > 0 ? " warn" : "", static_cast<long long>(a.would_reject),
                  a.reaped > 0 ? " warn" : "", static_cast<long long>(a.reaped));
        if (s.would_reaps > 0) printf_to(out, " <small>+%d would</small>", s.would_reaps);
        out += "</td><td class='n rate'>";
        out += rate_text(a.connects_per_second);
        out += "</td><td class='n session'>";
        out += seconds_text(a.avg_session_seconds);
        out += "</td><td class='findings'>";
        findings(out, r.findings);
        printf_to(out, "</td><td class='n recommended'>%d", r.max_connections);
        if (r.reserved_connections > 0) printf_to(out, " (%d reserved)", r.reserved_connections);
        out += "</td></tr>";
    }
    if (in.n_applications == 0)
        out += "<tr><td colspan='12'>No application has been seen yet.</td></tr>";
    out +=
        "</tbody></table></div><p class='caption'>Budgeted applications first, then by peak. "
        "Peaks over the window covered; counters since each application's last reset";
    if (listed < in.n_applications)
        printf_to(out, "; %d more applications are not listed (pgpool_stats.applications has them)",
                  in.n_applications - listed);
    out += ".<a class='ref' href='#note-counters'>3</a></p></section>";
}

// The server: every application's mean connections stacked (the largest
// kReportStacked by name, the others as "the rest"), the highest total, and
// the capacity.
void server_chart(std::string& out, const ReportInput& in,
                  const std::vector<ReportSummary>& summaries) {
    std::vector<int32_t> order(in.n_applications);
    for (int32_t k = 0; k < in.n_applications; ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) {
        if (summaries[x].mean_connections != summaries[y].mean_connections)
            return summaries[x].mean_connections > summaries[y].mean_connections;
        return summaries[x].peak_connections > summaries[y].peak_connections;
    });
    int32_t named = 0;
    while (named < std::min<int32_t>(kReportStacked, in.n_applications) &&
           summaries[order[named]].peak_connections > 0)
        ++named;

    std::vector<std::vector<double>> means;  // per stacked series, per column
    std::vector<ReportColumn> cols(kReportColumns);
    const auto add_means = [&](const ReportPoint* p, int32_t n, std::vector<double>& into) {
        band_columns(p, n, kSeriesConnections, in.from_us, in.to_us, cols.data(), kReportColumns);
        for (int c = 0; c < kReportColumns; ++c) into[c] += cols[c].mean;
    };
    for (int32_t i = 0; i < named; ++i) {
        means.emplace_back(kReportColumns, 0.0);
        const ReportApplication& a = in.applications[order[i]];
        add_means(a.points, a.n_points, means.back());
    }
    std::vector<double> rest(kReportColumns, 0.0);
    bool any_rest = false;
    for (int32_t i = named; i < in.n_applications; ++i) {
        const ReportApplication& a = in.applications[order[i]];
        add_means(a.points, a.n_points, rest);
        any_rest = any_rest || summaries[order[i]].peak_connections > 0;
    }
    if (in.n_other_points > 0) {
        add_means(in.other_points, in.n_other_points, rest);
        any_rest = true;
    }

    // The highest total: rows of one interval summed over the applications
    // (every sample of a tick shares its time, every roll-up its interval).
    // Exact for samples; for roll-ups the sum of maxima, an upper bound.
    struct Row {
        int64_t start, end;
        int32_t max;
    };
    std::vector<Row> rows;
    const auto add_rows = [&](const ReportPoint* p, int32_t n) {
        for (int32_t k = 0; k < n; ++k)
            if (p[k].end_us > in.from_us && p[k].start_us < in.to_us)
                rows.push_back(Row{p[k].start_us, p[k].end_us, p[k].gauge[kSeriesConnections].max});
    };
    for (int32_t k = 0; k < in.n_applications; ++k)
        add_rows(in.applications[k].points, in.applications[k].n_points);
    add_rows(in.other_points, in.n_other_points);
    std::sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) {
        return x.start != y.start ? x.start < y.start : x.end < y.end;
    });
    std::vector<double> peak(kReportColumns, 0.0);
    const double column_us = static_cast<double>(in.to_us - in.from_us) / kReportColumns;
    int32_t peak_total = 0;
    for (size_t k = 0; k < rows.size();) {
        size_t j = k;
        int32_t sum = 0;
        for (; j < rows.size() && rows[j].start == rows[k].start && rows[j].end == rows[k].end; ++j)
            sum += rows[j].max;
        const int first = std::clamp(
            static_cast<int>((std::max(rows[k].start, in.from_us) - in.from_us) / column_us), 0,
            kReportColumns - 1);
        const int last =
            std::clamp(static_cast<int>(
                           std::ceil((std::min(rows[k].end, in.to_us) - in.from_us) / column_us)) -
                           1,
                       first, kReportColumns - 1);
        for (int c = first; c <= last; ++c) peak[c] = std::max(peak[c], static_cast<double>(sum));
        peak_total = std::max(peak_total, sum);
        k = j;
    }

    const Frame f{in.from_us, in.to_us,
                  value_axis_top(std::max({1, in.capacity, peak_total}), kReportValueTicks)};
    out += "<section class='card server'><h2>Server: connections against capacity</h2>";
    printf_to(out,
              "<div class='meta'>Highest total in the window <b>%d</b> of a capacity of "
              "<b>%d</b>; stacked: each application's mean connections.<a class='ref' "
              "href='#note-stack'>4</a></div>",
              peak_total, in.capacity);
    out += "<div class='body'><div class='chart'>";
    printf_to(out,
              "<svg class='chart' viewBox='0 0 %d %d' width='%d' role='img' "
              "data-window='%lld %lld' data-plot='%d %d'><title>Connections of every application "
              "stacked, against the server's capacity</title>",
              kSvgWidth, kPlotBottom + 20, kSvgWidth, static_cast<long long>(in.from_us),
              static_cast<long long>(in.to_us), kPlotLeft, kPlotWidth);
    axes(out, f, in, false);
    std::vector<double> below(kReportColumns, 0.0), above(kReportColumns), lo(kReportColumns),
        hi(kReportColumns);
    const auto stack = [&](const std::vector<double>& series, const char* colour,
                           const char* name) {
        for (int c = 0; c < kReportColumns; ++c) {
            above[c] = below[c] + series[c];
            lo[c] = f.y(below[c]);
            hi[c] = f.y(above[c]);
        }
        std::string attributes = "class='stack' fill='";
        attributes += colour;
        attributes += "' data-series='";
        escaped(attributes, name);
        attributes += "'";
        area(out, hi, lo, attributes.c_str());
        below = above;
    };
    for (int32_t i = 0; i < named; ++i)
        stack(means[i], kStackColour[i], in.applications[order[i]].name);
    if (any_rest) stack(rest, kRestColour, "the rest");
    for (int c = 0; c < kReportColumns; ++c) hi[c] = f.y(peak[c]);
    char attributes[96];
    std::snprintf(attributes, sizeof attributes, "class='peak' stroke='%s' stroke-width='1.2'",
                  kPeakColour);
    step_line(out, hi, attributes);
    level(out, f, in.capacity, kCapacityColour, "capacity", false);
    out += "</svg><div class='legend'>";
    swatch(out, "border-top:1.5px solid #111", "highest total");
    swatch(out, "border-top:2px dashed #37474f", "capacity");
    out +=
        "</div></div><div class='side'><table class='stack'><tr><th></th><th>stacked</th>"
        "<th class='n'>mean</th><th class='n'>peak</th></tr>";
    const auto stack_row = [&](const char* colour, const char* name, double mean_connections,
                               int32_t peak_connections) {
        printf_to(out, "<tr><td><i class='sw box' style='background:%s'></i></td><td>", colour);
        escaped(out, name);
        printf_to(out, "</td><td class='n'>%.1f</td><td class='n'>", mean_connections);
        out += peak_connections >= 0 ? std::to_string(peak_connections) : "–";
        out += "</td></tr>";
    };
    for (int32_t i = 0; i < named; ++i)
        stack_row(kStackColour[i], in.applications[order[i]].name,
                  summaries[order[i]].mean_connections, summaries[order[i]].peak_connections);
    if (any_rest) {
        double sum = 0;
        for (const double v : rest) sum += v;
        char name[64];
        std::snprintf(name, sizeof name, "the rest (%d)",
                      in.n_applications - named + (in.n_other_points > 0 ? 1 : 0));
        stack_row(kRestColour, name, sum / kReportColumns, -1);
    }
    out += "</table></div></div></section>";
}

void notes(std::string& out, const ReportInput& in) {
    const double target = std::clamp(in.target_utilization, 0.05, 1.0) * 100;
    out += "<section class='card notes'><h2>Notes</h2><ol>";
    out +=
        "<li id='note-chart'>Charts draw each history row over the interval it covers. A fine "
        "sample is one reading, drawn over its sample interval; a roll-up (a minute, an hour) "
        "summarizes its samples and is drawn as what it is: a shaded band from its lowest to its "
        "highest reading and a line at its mean. Where one pixel column holds several rows, the "
        "band spans their lowest to highest and the line is their mean. An application without a "
        "row had nothing to report then: zero.</li>";
    out +=
        "<li id='note-marks'>Under each chart: <b>refused</b> logins over the interval of the row "
        "that counted them (a sample, or the whole minute or hour of a roll-up); <b>would be "
        "refused</b> likewise: logins a monitor budget (or pgpool_stats.enforce off) let through "
        "that enforce mode would have refused; <b>reaped</b> sessions at the moment the reaper "
        "ended them "
        "(hollow: it would have, in monitor mode). Hover a mark for its count and time.</li>";
    out +=
        "<li id='note-counters'>Refused, would be refused and reaped count since the "
        "application's last reset, as pgpool_stats.applications does; peaks are over the window "
        "covered. Logins per second is the recent rate (about the last minute); the average "
        "session is over every session that has ended.</li>";
    out +=
        "<li id='note-stack'>The server chart stacks each application's mean connections per "
        "pixel column, so the top of the stack is the mean total. The line is the highest total: "
        "exact where fine samples exist; where only roll-ups do, the sum of each application's "
        "highest, which is at most that high.</li>";
    printf_to(
        out,
        "<li id='note-insufficient'>Insufficient data: until an application has been observed "
        "for %.0f s and %d samples (since the later of the window's start, the oldest "
        "history row and its last reset or first login), keep your own settings.</li>",
        kMinObservedSeconds, kMinTicks);
    printf_to(out,
              "<li id='note-max'>max_connections: the 99th percentile of concurrently active "
              "sessions at %.0f %% target utilization, never below the peak used at once nor one "
              "per instance.</li>",
              target);
    out +=
        "<li id='note-censored'>A starved application's demand is censored by its budget: the "
        "budget grows by the most logins refused or waiting at once, over its peak of "
        "connections.</li>";
    out +=
        "<li id='note-reserved'>reserved_connections: sized to what the application needed 95 % "
        "of the time, only for a budget that already has a reservation; whether an application "
        "must never be refused is its owner's decision.</li>";
    out +=
        "<li id='note-pool'>pool_size and max_overflow per instance: the instances share the "
        "budget; the steady pool_size covers the 95th percentile at the target utilization, "
        "max_overflow the rest of each instance's share. pool_timeout: a request waits at most "
        "that long for a pooled connection.</li>";
    out +=
        "<li id='note-instances'>More instances than connections do not fit: run fewer instances "
        "or put a pooler such as PgBouncer in front.</li>";
    printf_to(out,
              "<li id='note-idle'>idle_in_transaction_timeout: recommended (%d s) only after "
              "episodes of a session idle in a transaction for %.0f s or more across consecutive "
              "samples; otherwise the share of connection time idle in a transaction is in short "
              "moments, which real code has between its statements.</li>",
              kIdleInTransactionTimeoutSeconds, kIdleEpisodeMicros / 1e6);
    out += "</ol></section>";
}

}  // namespace

void band_columns(const ReportPoint* points, int32_t n, int series, int64_t from_us, int64_t to_us,
                  ReportColumn* out, int columns) {
    if (columns <= 0) return;
    std::fill(out, out + columns, ReportColumn{0, 0, 0});
    if (to_us <= from_us || series < 0 || series >= kReportSeries) return;
    const double column_us = static_cast<double>(to_us - from_us) / columns;
    // Per column: time covered by rows, time-weighted sum of means, lowest.
    std::vector<double> covered(columns, 0.0), weighted(columns, 0.0);
    std::vector<double> lowest(columns, 0.0);
    std::vector<bool> seen(columns, false);
    for (int32_t k = 0; k < n; ++k) {
        const ReportPoint& p = points[k];
        if (p.end_us <= from_us || p.start_us >= to_us || p.end_us <= p.start_us) continue;
        const ReportGauge& g = p.gauge[series];
        const double start = static_cast<double>(std::max(p.start_us, from_us) - from_us);
        const double end = static_cast<double>(std::min(p.end_us, to_us) - from_us);
        const int first = std::clamp(static_cast<int>(start / column_us), 0, columns - 1);
        const int last =
            std::clamp(static_cast<int>(std::ceil(end / column_us)) - 1, first, columns - 1);
        for (int c = first; c <= last; ++c) {
            const double overlap =
                std::min(end, (c + 1) * column_us) - std::max(start, c * column_us);
            if (overlap <= 0) continue;
            covered[c] += overlap;
            weighted[c] += overlap * g.mean;
            lowest[c] = seen[c] ? std::min<double>(lowest[c], g.min) : g.min;
            out[c].max = std::max<double>(out[c].max, g.max);
            seen[c] = true;
        }
    }
    for (int c = 0; c < columns; ++c) {
        if (!seen[c]) continue;
        // Time without a row is time at zero; a sliver between two samples
        // (their ticks drift by milliseconds) is not.
        out[c].min = covered[c] >= kReportCoverage * column_us ? lowest[c] : 0;
        out[c].mean = weighted[c] / std::max(covered[c], column_us);
    }
}

int64_t time_step(int64_t span_us, int max_ticks) noexcept {
    static constexpr int64_t kSteps[] = {
        kSecond,     2 * kSecond, 5 * kSecond,  10 * kSecond, 15 * kSecond, 30 * kSecond, kMinute,
        2 * kMinute, 5 * kMinute, 10 * kMinute, 15 * kMinute, 30 * kMinute, kHour,        2 * kHour,
        3 * kHour,   6 * kHour,   12 * kHour,   kDay,         2 * kDay,     7 * kDay};
    max_ticks = std::max(1, max_ticks);
    for (const int64_t step : kSteps)
        if (span_us <= step * max_ticks) return step;
    int64_t step = 7 * kDay;
    while (span_us > step * max_ticks) step *= 2;
    return step;
}

int32_t value_step(int32_t top, int max_ticks) noexcept {
    max_ticks = std::max(1, max_ticks);
    top = std::max(1, top);
    for (int64_t power = 1;; power *= 10)
        for (const int64_t m : {1, 2, 5})
            if ((top + m * power - 1) / (m * power) <= max_ticks)
                return static_cast<int32_t>(m * power);
}

int32_t value_axis_top(int32_t top, int max_ticks) noexcept {
    top = std::max(1, top);
    // Room above the highest line, so that a line at the top is not the frame.
    const int32_t room = top + std::max(1, top / 10);
    const int32_t step = value_step(room, max_ticks);
    return (room + step - 1) / step * step;
}

CivilTime civil_time(int64_t local_us) noexcept {
    const int64_t seconds = floor_div(local_us, kSecond);
    const int64_t days = floor_div(seconds, 86400);
    const int64_t in_day = seconds - days * 86400;
    // Count from 2000-03-01: years then end with February, whose leap day
    // is the year's last day. 146097 days make 400 Gregorian years.
    const int64_t z = days - 60;
    const int64_t era = floor_div(z, 146097);
    const int64_t day_of_era = z - era * 146097;
    const int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const int64_t month_from_march = (5 * day_of_year + 2) / 153;
    CivilTime c;
    c.day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    c.month = static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    c.year = static_cast<int>(2000 + era * 400 + year_of_era + (c.month <= 2 ? 1 : 0));
    c.hour = static_cast<int>(in_day / 3600);
    c.minute = static_cast<int>(in_day / 60 % 60);
    c.second = static_cast<int>(in_day % 60);
    return c;
}

size_t duration_text(int64_t us, char* out, size_t out_size) {
    const int64_t total = (std::max<int64_t>(0, us) + kSecond / 2) / kSecond;
    static constexpr struct {
        int64_t seconds;
        const char* unit;
    } kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
    char text[64] = "under 1 s";
    for (int u = 0; u < 4; ++u) {
        if (total < kUnits[u].seconds) continue;
        const int64_t big = total / kUnits[u].seconds;
        const int64_t small = u < 3 ? total % kUnits[u].seconds / kUnits[u + 1].seconds : 0;
        if (small > 0)
            std::snprintf(text, sizeof text, "%lld %s %lld %s", static_cast<long long>(big),
                          kUnits[u].unit, static_cast<long long>(small), kUnits[u + 1].unit);
        else
            std::snprintf(text, sizeof text, "%lld %s", static_cast<long long>(big),
                          kUnits[u].unit);
        break;
    }
    return copy_out(text, out, out_size);
}

size_t covered_sentence(int64_t asked_us, int64_t from_us, int64_t to_us, char* out,
                        size_t out_size) {
    const int64_t covered = std::max<int64_t>(0, to_us - from_us);
    std::string text = "asked " + duration(asked_us) + ", history covers ";
    // Within a second of what was asked is all of it (the clock moved).
    if (covered + kSecond >= asked_us)
        text += "all of it";
    else if (covered < kSecond)
        text = "asked " + duration(asked_us) + ", history holds nothing yet";
    else
        text += "the last " + duration(covered);
    return copy_out(text, out, out_size);
}

size_t time_label(int64_t t_us, int64_t utc_offset_us, int64_t step_us, char* out,
                  size_t out_size) {
    const CivilTime c = civil_time(t_us + utc_offset_us);
    char text[32];
    const bool midnight = c.hour == 0 && c.minute == 0 && c.second == 0;
    if (step_us >= kDay || (midnight && step_us >= kMinute))
        std::snprintf(text, sizeof text, "%s %d", kMonths[c.month - 1], c.day);
    else if (step_us < kMinute)
        std::snprintf(text, sizeof text, "%02d:%02d:%02d", c.hour, c.minute, c.second);
    else
        std::snprintf(text, sizeof text, "%02d:%02d", c.hour, c.minute);
    return copy_out(text, out, out_size);
}

ReportSummary summarize(const ReportApplication& a, int64_t from_us, int64_t to_us) noexcept {
    ReportSummary s{};
    double weighted = 0;
    for (int32_t k = 0; k < a.n_points; ++k) {
        const ReportPoint& p = a.points[k];
        if (p.end_us <= from_us || p.start_us >= to_us) continue;
        s.peak_connections = std::max(s.peak_connections, p.gauge[kSeriesConnections].max);
        s.peak_active = std::max(s.peak_active, p.gauge[kSeriesActive].max);
        s.refused += p.rejected;
        weighted += p.gauge[kSeriesConnections].mean *
                    static_cast<double>(std::min(p.end_us, to_us) - std::max(p.start_us, from_us));
    }
    if (to_us > from_us) s.mean_connections = weighted / static_cast<double>(to_us - from_us);
    for (int32_t k = 0; k < a.n_reaps; ++k)
        if (a.reaps[k].at_us >= from_us && a.reaps[k].at_us <= to_us)
            (a.reaps[k].would ? s.would_reaps : s.reaps)++;
    return s;
}

size_t render_report(const ReportInput& in, char* out, size_t out_size) {
    std::vector<ReportSummary> summaries(std::max(0, in.n_applications));
    for (int32_t k = 0; k < in.n_applications; ++k)
        summaries[k] = summarize(in.applications[k], in.from_us, in.to_us);

    std::string html;
    html +=
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>pgpool_stats report</title><style>";
    html += kStyle;
    html += "</style></head><body><main><h1>pgpool_stats: connection budgets</h1>";
    html += "<div class='meta'><b>";
    html += stamp(in.from_us, in.utc_offset_us);
    html += "</b> to <b>";
    html += stamp(in.to_us, in.utc_offset_us);
    html += "</b> (";
    escaped(html, in.zone ? in.zone : "");
    if (in.utc_offset_us != 0) {
        const int64_t minutes = std::abs(in.utc_offset_us) / kMinute;
        printf_to(html, ", UTC%c%02d:%02d", in.utc_offset_us < 0 ? '-' : '+',
                  static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
    }
    html += "): <span class='covered'>";
    char covered[160];
    covered_sentence(in.asked_us, in.from_us, in.to_us, covered, sizeof covered);
    html += covered;
    html += "</span>.</div><div class='figures-row'>";
    const auto figure = [&](int32_t value, const char* label) {
        printf_to(html, "<div class='figure'><b>%d</b><span>%s</span></div>", value, label);
    };
    figure(in.capacity, "capacity (slots)");
    figure(in.connections, "connections now");
    figure(in.reserved_total, "reserved");
    figure(in.budget_total, "sum of budgets");
    figure(in.n_applications, "applications");
    html += "</div>";
    summary_table(html, in, summaries);
    if (in.to_us > in.from_us) server_chart(html, in, summaries);
    const int32_t charted = std::min(in.charted, in.n_applications);
    for (int32_t k = 0; k < charted && in.to_us > in.from_us; ++k) {
        const ReportApplication& a = in.applications[k];
        printf_to(html, "<section class='card app' id='app-%d'><div class='head'><h2>", k + 1);
        escaped(html, a.name);
        html += "</h2>";
        if (a.has_budget)
            printf_to(html, "<span class='mode %s'>%s</span>", mode_name(a.mode),
                      mode_name(a.mode));
        findings(html, a.recommendation.findings);
        html += "</div><div class='body'><div class='chart'>";
        application_chart(html, in, a, k + 1);
        html += "</div>";
        application_side(html, in, a, summaries[k]);
        html += "</div></section>";
    }
    notes(html, in);
    html += "</main></body></html>\n";
    return copy_out(html, out, out_size);
}

}  // namespace pgpool_stats::core
