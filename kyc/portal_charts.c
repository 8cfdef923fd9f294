/*
 * portal_charts.c — the overview's two charts as inline SVG built on the server (no chart
 * library, no script): the score distribution (RESULTS_HIST_BUCKETS bars coloured by band) and
 * the identities screened per run. Each chart is a <figure> whose SVG has role="img" and a text
 * summary, every bar a <title> for pointer users, and a <details> table with the same numbers
 * for keyboard and screen-reader users. Colours come from CSS classes (the CSP forbids inline
 * style attributes).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "capp/html.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"

#define W      480.0 /* viewBox width */
#define HGT    170.0 /* viewBox height */
#define LEFT   34.0  /* room for the y labels */
#define BOTTOM 22.0  /* room for the x labels */
#define TOP    8.0

static const char *band_class(double from)
{
    if (from >= 0.95 - 1e-9)
        return "bar hit";
    if (from >= REVIEW_FOUR_EYES_SCORE - 1e-9)
        return "bar review";
    return "bar clear";
}

static void y_axis(struct buf *b, long long max, const char *scale)
{
    double plot = HGT - BOTTOM - TOP;
    for (int k = 0; k <= 2; k++) {
        double frac = k / 2.0;
        double y = HGT - BOTTOM - plot * frac;
        long long v = strcmp(scale, "sqrt") == 0 ? (long long)llround(max * frac * frac)
                                                 : (long long)llround(max * frac);
        html_raw_markup(b, "<line class=\"grid\" x1=\"");
        html_textf(b, "%.1f", LEFT);
        html_raw_markup(b, "\" x2=\"");
        html_textf(b, "%.1f", W);
        html_raw_markup(b, "\" y1=\"");
        html_textf(b, "%.1f", y);
        html_raw_markup(b, "\" y2=\"");
        html_textf(b, "%.1f", y);
        html_raw_markup(b, "\"></line><text class=\"axis\" text-anchor=\"end\" x=\"");
        html_textf(b, "%.1f", LEFT - 4);
        html_raw_markup(b, "\" y=\"");
        html_textf(b, "%.1f", y + 3);
        html_raw_markup(b, "\">");
        html_textf(b, "%lld", v);
        html_raw_markup(b, "</text>");
    }
}

static void bar(struct buf *b, const char *cls, double x, double w, double h, const char *title)
{
    html_raw_markup(b, "<rect class=\"");
    html_text(b, cls);
    html_raw_markup(b, "\" x=\"");
    html_textf(b, "%.1f", x);
    html_raw_markup(b, "\" y=\"");
    html_textf(b, "%.1f", HGT - BOTTOM - h);
    html_raw_markup(b, "\" width=\"");
    html_textf(b, "%.1f", w);
    html_raw_markup(b, "\" height=\"");
    html_textf(b, "%.1f", h);
    html_raw_markup(b, "\" rx=\"2\"><title>");
    html_text(b, title);
    html_raw_markup(b, "</title></rect>");
}

static void x_label(struct buf *b, double x, const char *text)
{
    /* the last label ends at the edge instead of being cut off by it */
    html_raw_markup(b, x > W - 20 ? "<text class=\"axis\" text-anchor=\"end\" x=\""
                                  : "<text class=\"axis\" text-anchor=\"middle\" x=\"");
    html_textf(b, "%.1f", x);
    html_raw_markup(b, "\" y=\"");
    html_textf(b, "%.1f", HGT - 6);
    html_raw_markup(b, "\">");
    html_text(b, text);
    html_raw_markup(b, "</text>");
}

int kyc_portal_chart_histogram(struct buf *out, const json_t *histogram)
{
    const json_t *buckets = json_object_get(histogram, "buckets");
    size_t n = json_array_size(buckets);
    long long max = 1, total = 0, flagged = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *bk = json_array_get(buckets, i);
        long long c = json_integer_value(json_object_get(bk, "count"));
        double from = json_number_value(json_object_get(bk, "from"));
        max = c > max ? c : max;
        total += c;
        if (from >= REVIEW_FOUR_EYES_SCORE - 1e-9)
            flagged += c;
    }
    html_raw_markup(out,
                    "<figure class=\"chart\"><svg viewBox=\"0 0 480 170\" role=\"img\" "
                    "aria-labelledby=\"hist-desc\" focusable=\"false\"><desc id=\"hist-desc\">");
    html_textf(out,
               "Histogram of %lld screening scores in %zu buckets from 0 to 1; %lld at 0.80 or "
               "above. Bar heights use a square-root scale.",
               total, n, flagged);
    html_raw_markup(out, "</desc>");
    y_axis(out, max, "sqrt");
    double plot_w = W - LEFT, plot_h = HGT - BOTTOM - TOP;
    double slot = n ? plot_w / (double)n : plot_w;
    for (size_t i = 0; i < n; i++) {
        const json_t *bk = json_array_get(buckets, i);
        long long c = json_integer_value(json_object_get(bk, "count"));
        double from = json_number_value(json_object_get(bk, "from"));
        double to = json_number_value(json_object_get(bk, "to"));
        double h = c > 0 ? fmax(1.5, plot_h * sqrt((double)c / (double)max)) : 0;
        char title[96];
        snprintf(title, sizeof title, "%.2f–%.2f: %lld", from, to, c);
        bar(out, band_class(from), LEFT + slot * (double)i + 1, slot - 2, h, title);
    }
    for (int k = 0; k <= 4; k++) {
        char t[8];
        snprintf(t, sizeof t, "%.2f", k / 4.0);
        x_label(out, LEFT + plot_w * k / 4.0, t);
    }
    html_raw_markup(out,
                    "</svg><figcaption><span class=\"key clear\"></span>below 0.80 "
                    "<span class=\"key review\"></span>review band "
                    "<span class=\"key hit\"></span>hit band (0.95+)</figcaption>"
                    "<details><summary>Show as a table</summary><table class=\"data compact\">"
                    "<caption>Scores per bucket</caption><thead><tr><th scope=\"col\">Score"
                    "</th><th scope=\"col\" class=\"num\">Identities</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const json_t *bk = json_array_get(buckets, i);
        html_raw_markup(out, "<tr><td>");
        html_textf(out, "%.2f–%.2f", json_number_value(json_object_get(bk, "from")),
                   json_number_value(json_object_get(bk, "to")));
        html_raw_markup(out, "</td><td class=\"num\">");
        html_textf(out, "%lld", (long long)json_integer_value(json_object_get(bk, "count")));
        html_raw_markup(out, "</td></tr>");
    }
    return html_raw_markup(out, "</tbody></table></details></figure>");
}

int kyc_portal_chart_runs(struct buf *out, const json_t *runs)
{
    size_t n = json_array_size(runs); /* newest first */
    long long max = 1;
    for (size_t i = 0; i < n; i++) {
        long long c = json_integer_value(json_object_get(json_array_get(runs, i), "screened"));
        max = c > max ? c : max;
    }
    html_raw_markup(out,
                    "<figure class=\"chart\"><svg viewBox=\"0 0 480 170\" role=\"img\" "
                    "aria-labelledby=\"runs-desc\" focusable=\"false\"><desc id=\"runs-desc\">");
    html_textf(out, "Identities screened in each of the last %zu runs, oldest on the left.", n);
    html_raw_markup(out, "</desc>");
    y_axis(out, max, "linear");
    double plot_w = W - LEFT, plot_h = HGT - BOTTOM - TOP;
    double slot = plot_w / (double)PORTAL_RUNS_CHARTED;
    for (size_t k = 0; k < n; k++) {
        const json_t *r = json_array_get(runs, n - 1 - k);
        long long c = json_integer_value(json_object_get(r, "screened"));
        const char *started = json_string_value(json_object_get(r, "started_at"));
        const char *trigger = json_string_value(json_object_get(r, "trigger"));
        char title[160];
        snprintf(title, sizeof title, "%.16s UTC, %s run: %lld screened, %lld unchanged",
                 started ? started : "", trigger ? trigger : "", c,
                 (long long)json_integer_value(json_object_get(r, "unchanged")));
        double h = c > 0 ? fmax(1.5, plot_h * (double)c / (double)max) : 0;
        bar(out, "bar run", LEFT + slot * (double)k + 2, slot - 4, h, title);
        if (k == 0 || k + 1 == n) {
            char day[8];
            snprintf(day, sizeof day, "%.5s", started && strlen(started) >= 10 ? started + 5 : "");
            x_label(out, LEFT + slot * ((double)k + 0.5), day);
        }
    }
    if (n == 0)
        html_raw_markup(out, "<text class=\"axis\" x=\"240\" y=\"80\" text-anchor=\"middle\">"
                             "No run yet</text>");
    html_raw_markup(out, "</svg><details><summary>Show as a table</summary>"
                         "<table class=\"data compact\"><caption>Recent runs, newest first"
                         "</caption><thead><tr><th scope=\"col\">Started</th><th scope=\"col\">"
                         "Trigger</th><th scope=\"col\" class=\"num\">Screened</th>"
                         "<th scope=\"col\" class=\"num\">Unchanged</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        const char *started = json_string_value(json_object_get(r, "started_at"));
        html_raw_markup(out, "<tr><td>");
        html_textf(out, "%.16s", started ? started : "");
        html_raw_markup(out, "</td><td>");
        html_text(out, json_string_value(json_object_get(r, "trigger")) ?: "");
        html_raw_markup(out, "</td><td class=\"num\">");
        html_textf(out, "%lld", (long long)json_integer_value(json_object_get(r, "screened")));
        html_raw_markup(out, "</td><td class=\"num\">");
        html_textf(out, "%lld", (long long)json_integer_value(json_object_get(r, "unchanged")));
        html_raw_markup(out, "</td></tr>");
    }
    return html_raw_markup(out, "</tbody></table></details></figure>");
}
