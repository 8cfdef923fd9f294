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

static int y_axis(struct buf *b, long long max, const char *scale)
{
    int rc = 0;
    double plot = HGT - BOTTOM - TOP;
    for (int k = 0; k <= 2; k++) {
        double frac = k / 2.0;
        double y = HGT - BOTTOM - plot * frac;
        long long v = strcmp(scale, "sqrt") == 0 ? (long long)llround(max * frac * frac)
                                                 : (long long)llround(max * frac);
        rc |= html_raw_trusted(b, "<line class=\"grid\" x1=\"");
        rc |= html_textf(b, "%.1f", LEFT);
        rc |= html_raw_trusted(b, "\" x2=\"");
        rc |= html_textf(b, "%.1f", W);
        rc |= html_raw_trusted(b, "\" y1=\"");
        rc |= html_textf(b, "%.1f", y);
        rc |= html_raw_trusted(b, "\" y2=\"");
        rc |= html_textf(b, "%.1f", y);
        rc |= html_raw_trusted(b, "\"></line><text class=\"axis\" text-anchor=\"end\" x=\"");
        rc |= html_textf(b, "%.1f", LEFT - 4);
        rc |= html_raw_trusted(b, "\" y=\"");
        rc |= html_textf(b, "%.1f", y + 3);
        rc |= html_raw_trusted(b, "\">");
        rc |= html_textf(b, "%lld", v);
        rc |= html_raw_trusted(b, "</text>");
    }
    return rc;
}

static int bar(struct buf *b, const char *cls, double x, double w, double h, const char *title)
{
    int rc = 0;
    rc |= html_raw_trusted(b, "<rect class=\"");
    rc |= html_text(b, cls);
    rc |= html_raw_trusted(b, "\" x=\"");
    rc |= html_textf(b, "%.1f", x);
    rc |= html_raw_trusted(b, "\" y=\"");
    rc |= html_textf(b, "%.1f", HGT - BOTTOM - h);
    rc |= html_raw_trusted(b, "\" width=\"");
    rc |= html_textf(b, "%.1f", w);
    rc |= html_raw_trusted(b, "\" height=\"");
    rc |= html_textf(b, "%.1f", h);
    rc |= html_raw_trusted(b, "\" rx=\"2\"><title>");
    rc |= html_text(b, title);
    rc |= html_raw_trusted(b, "</title></rect>");
    return rc;
}

static int x_label(struct buf *b, double x, const char *text)
{
    int rc = 0;
    /* the last label ends at the edge instead of being cut off by it */
    rc |= html_raw_trusted(b, x > W - 20 ? "<text class=\"axis\" text-anchor=\"end\" x=\""
                                         : "<text class=\"axis\" text-anchor=\"middle\" x=\"");
    rc |= html_textf(b, "%.1f", x);
    rc |= html_raw_trusted(b, "\" y=\"");
    rc |= html_textf(b, "%.1f", HGT - 6);
    rc |= html_raw_trusted(b, "\">");
    rc |= html_text(b, text);
    rc |= html_raw_trusted(b, "</text>");
    return rc;
}

int kyc_portal_chart_histogram(struct buf *out, const json_t *histogram)
{
    int rc = 0;
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
    rc |= html_raw_trusted(
        out, "<figure class=\"chart\"><svg viewBox=\"0 0 480 170\" role=\"img\" "
             "aria-labelledby=\"hist-desc\" focusable=\"false\"><desc id=\"hist-desc\">");
    rc |=
        html_textf(out,
                   "Histogram of %lld screening scores in %zu buckets from 0 to 1; %lld at 0.80 or "
                   "above. Bar heights use a square-root scale.",
                   total, n, flagged);
    rc |= html_raw_trusted(out, "</desc>");
    rc |= y_axis(out, max, "sqrt");
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
        rc |= bar(out, band_class(from), LEFT + slot * (double)i + 1, slot - 2, h, title);
    }
    for (int k = 0; k <= 4; k++) {
        char t[8];
        snprintf(t, sizeof t, "%.2f", k / 4.0);
        rc |= x_label(out, LEFT + plot_w * k / 4.0, t);
    }
    rc |= html_raw_trusted(
        out, "</svg><figcaption><span class=\"key clear\"></span>below 0.80 "
             "<span class=\"key review\"></span>review band "
             "<span class=\"key hit\"></span>hit band (0.95+)</figcaption>"
             "<details><summary>Show as a table</summary><table class=\"data compact\">"
             "<caption>Scores per bucket</caption><thead><tr><th scope=\"col\">Score"
             "</th><th scope=\"col\" class=\"num\">Identities</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const json_t *bk = json_array_get(buckets, i);
        rc |= html_raw_trusted(out, "<tr><td>");
        rc |= html_textf(out, "%.2f–%.2f", json_number_value(json_object_get(bk, "from")),
                         json_number_value(json_object_get(bk, "to")));
        rc |= html_raw_trusted(out, "</td><td class=\"num\">");
        rc |= html_textf(out, "%lld", (long long)json_integer_value(json_object_get(bk, "count")));
        rc |= html_raw_trusted(out, "</td></tr>");
    }
    rc |= html_raw_trusted(out, "</tbody></table></details></figure>");
    return rc;
}

int kyc_portal_chart_runs(struct buf *out, const json_t *runs)
{
    int rc = 0;
    size_t n = json_array_size(runs); /* newest first */
    long long max = 1;
    for (size_t i = 0; i < n; i++) {
        long long c = json_integer_value(json_object_get(json_array_get(runs, i), "screened"));
        max = c > max ? c : max;
    }
    rc |= html_raw_trusted(
        out, "<figure class=\"chart\"><svg viewBox=\"0 0 480 170\" role=\"img\" "
             "aria-labelledby=\"runs-desc\" focusable=\"false\"><desc id=\"runs-desc\">");
    rc |=
        html_textf(out, "Identities screened in each of the last %zu runs, oldest on the left.", n);
    rc |= html_raw_trusted(out, "</desc>");
    rc |= y_axis(out, max, "linear");
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
        rc |= bar(out, "bar run", LEFT + slot * (double)k + 2, slot - 4, h, title);
        if (k == 0 || k + 1 == n) {
            char day[8];
            snprintf(day, sizeof day, "%.5s", started && strlen(started) >= 10 ? started + 5 : "");
            rc |= x_label(out, LEFT + slot * ((double)k + 0.5), day);
        }
    }
    if (n == 0)
        rc |=
            html_raw_trusted(out, "<text class=\"axis\" x=\"240\" y=\"80\" text-anchor=\"middle\">"
                                  "No run yet</text>");
    rc |= html_raw_trusted(out,
                           "</svg><details><summary>Show as a table</summary>"
                           "<table class=\"data compact\"><caption>Recent runs, newest first"
                           "</caption><thead><tr><th scope=\"col\">Started</th><th scope=\"col\">"
                           "Trigger</th><th scope=\"col\" class=\"num\">Screened</th>"
                           "<th scope=\"col\" class=\"num\">Unchanged</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        const char *started = json_string_value(json_object_get(r, "started_at"));
        rc |= html_raw_trusted(out, "<tr><td>");
        rc |= html_textf(out, "%.16s", started ? started : "");
        rc |= html_raw_trusted(out, "</td><td>");
        rc |= html_text(out, json_string_value(json_object_get(r, "trigger")) ?: "");
        rc |= html_raw_trusted(out, "</td><td class=\"num\">");
        rc |=
            html_textf(out, "%lld", (long long)json_integer_value(json_object_get(r, "screened")));
        rc |= html_raw_trusted(out, "</td><td class=\"num\">");
        rc |=
            html_textf(out, "%lld", (long long)json_integer_value(json_object_get(r, "unchanged")));
        rc |= html_raw_trusted(out, "</td></tr>");
    }
    rc |= html_raw_trusted(out, "</tbody></table></details></figure>");
    return rc;
}
