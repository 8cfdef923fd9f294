/*
 * portal_overview.c — the portal's default view (GET /portal): counts per status (each a link
 * into the queue), the score histogram and the identities screened per run (portal_charts.c),
 * the last run with its live progress (refreshed by app.js through data-run and data-progress
 * hooks), the review policy form (four-eyes) and the CSV export. Drawn in the frame of
 * portal_frame.c; see portal_pages.c for how the view is chosen.
 */
#include <stdio.h>

#include "capp/assert.h"
#include "capp/html.h"
#include "kyc/pipeline.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"

/* The review policy's choice of lists and topics: a checkbox for each loaded list (by source)
 * and topic, checked unless the install excluded it (app.js sends the checked values of a
 * data-many name as a list). Nothing when no lists are loaded. */
static int choice_boxes(struct buf *b, const char *legend, const char *name, const char *id_prefix,
                        const struct review_selection *loaded,
                        const struct review_selection *excluded)
{
    if (!loaded->n)
        return 0;
    int rc = html_tpl(b, "<fieldset class=\"choices\"><legend>{}</legend>", legend, NULL);
    for (size_t i = 0; i < loaded->n; i++) {
        const char *v = loaded->names[i];
        rc |= html_tpl(b,
                       "<div class=\"check\"><input type=\"checkbox\" data-many id=\"{}-{}\" "
                       "name=\"{}\" value=\"{}\"",
                       id_prefix, v, name, v, NULL);
        rc |= html_raw_trusted(b, review_selection_has(excluded, v) ? ">" : " checked>");
        rc |= html_tpl(b, "<label for=\"{}-{}\"><code>{}</code></label></div>", id_prefix, v, v,
                       NULL);
    }
    return rc | html_raw_trusted(b, "</fieldset>");
}

static int screened_against(struct buf *b, const struct kyc_portal *kp,
                            const struct review_settings *s)
{
    struct review_selection lists, topics;
    (void)pipeline_screen_catalog(kp->pipeline, &lists, &topics);
    int rc = choice_boxes(b, "Lists screened against", "screen_lists", "list", &lists,
                          &s->lists_excluded);
    rc |= choice_boxes(b, "Topics screened against", "screen_topics", "topic", &topics,
                       &s->topics_excluded);
    if (lists.n)
        rc |= html_raw_trusted(
            b, "<p class=\"muted\" id=\"screened-against-help\">An entry is screened when its "
               "list is checked and one of its topics is (<code>sanction</code> for lists "
               "without topics, <code>role.pep</code> for politically exposed persons). A list "
               "loaded later is screened until it is unchecked. Changing the choice re-screens "
               "every identity on the next run.</p>");
    return rc;
}

static int count_cards(struct buf *b, const json_t *counts)
{
    int rc = html_raw_trusted(b, "<section aria-labelledby=\"h-status\"><h2 id=\"h-status\">"
                                 "Identities by status</h2><ul class=\"cards\">");
    for (size_t i = 0; kyc_portal_statuses[i][0]; i++) {
        const char *code = kyc_portal_statuses[i][0], *label = kyc_portal_statuses[i][1];
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(counts, code)));
        rc |= html_tpl(b,
                       "<li><a class=\"card s-{}\" href=\"/portal?view=queue&amp;status={}\">"
                       "<span class=\"card-label\">{}</span>"
                       "<span class=\"card-value\" data-count=\"{}\">{}</span></a></li>",
                       code, code, label, code, n, NULL);
    }
    rc |= html_raw_trusted(b, "</ul><p class=\"muted\">");
    rc |= html_textf(b, "%lld identities screened in total.",
                     (long long)json_integer_value(json_object_get(counts, "total")));
    json_int_t removed = json_integer_value(json_object_get(counts, "removed"));
    if (removed > 0)
        rc |= html_textf(b,
                         " %lld deleted in Blnk since they were screened: kept for the record, "
                         "not in the queue.",
                         (long long)removed);
    rc |= html_raw_trusted(b, "</p></section>");
    return rc;
}

static int run_facts(struct buf *b, const json_t *run)
{
    static const char *const nums[][2] = {
        {"fetched", "Fetched"},
        {"screened", "Screened"},
        {"unchanged", "Unchanged"},
        {"written", "Written back"},
        {"alerts_created", "Alerts raised"},
        {"errors", "Errors"},
    };
    int rc = html_tpl(b,
                      "<dl class=\"facts-grid\" id=\"run-facts\"><div><dt>State</dt>"
                      "<dd data-run=\"state\">{}</dd></div><div><dt>Trigger</dt>"
                      "<dd data-run=\"trigger\">{}</dd></div><div><dt>Started</dt>"
                      "<dd data-run=\"started_at\">",
                      run ? kyc_portal_str(run, "state") : "no run yet",
                      run ? kyc_portal_str(run, "trigger") : "—", NULL);
    rc |= kyc_portal_when(b, run ? kyc_portal_str(run, "started_at") : NULL);
    rc |= html_raw_trusted(b, "</dd></div>");
    for (size_t i = 0; i < COUNTOF(nums); i++) {
        char n[32];
        snprintf(n, sizeof n, "%lld",
                 run ? (long long)json_integer_value(json_object_get(run, nums[i][0])) : 0LL);
        rc |= html_tpl(b, "<div><dt>{}</dt><dd data-run=\"{}\">{}</dd></div>", nums[i][1],
                       nums[i][0], n, NULL);
    }
    rc |= html_raw_trusted(b, "</dl>");
    return rc;
}

void kyc_portal_overview(struct capp_portal_context *pc, const struct kyc_portal *kp,
                         results_db *db)
{
    const char *install = pc->install.installed_app_id;
    json_t *counts = NULL, *hist = NULL, *runs = NULL;
    struct review_settings s = {.four_eyes = 1};
    int read = results_counts(db, install, &counts);
    if (read == 0)
        read = results_score_histogram(db, install, &hist);
    if (read == 0)
        read = results_runs(db, install, PORTAL_RUNS_CHARTED, &runs);
    if (read == 0)
        read = review_settings_get(db, install, &s);
    if (read) {
        json_decref(counts);
        json_decref(hist);
        json_decref(runs);
        kyc_portal_error_page(pc, kp, 500, "Overview unavailable",
                              "The results could not be read. Try again.");
        return;
    }
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    int rc = kyc_portal_page_open(&b, pc, "KYC review — overview", "overview");
    rc |= html_raw_trusted(
        &b, "<div class=\"page-head\"><h1>Overview</h1><div class=\"actions\">"
            "<button type=\"button\" class=\"btn\" data-run-now>Screen now</button>"
            "<a class=\"btn secondary\" href=\"/portal/api/export.csv\" download>Export CSV</a>"
            "</div></div>");
    rc |= count_cards(&b, counts);
    rc |= html_raw_trusted(&b, "<div class=\"grid2\"><section class=\"panel\" "
                               "aria-labelledby=\"h-hist\"><h2 id=\"h-hist\">Score distribution"
                               "</h2>");
    rc |= kyc_portal_chart_histogram(&b, hist);
    rc |= html_raw_trusted(&b, "</section><section class=\"panel\" aria-labelledby=\"h-runs\">"
                               "<h2 id=\"h-runs\">Identities screened per run</h2>");
    rc |= kyc_portal_chart_runs(&b, runs);
    rc |= html_raw_trusted(&b, "</section></div>");
    rc |= html_raw_trusted(&b, "<div class=\"grid2\"><section class=\"panel\" "
                               "aria-labelledby=\"h-run\"><h2 id=\"h-run\">Last run</h2>"
                               "<div data-progress>");
    rc |= run_facts(&b, json_array_get(runs, 0));
    rc |= html_raw_trusted(&b, "<ul class=\"notices\" data-notices></ul></div></section>");
    rc |= html_raw_trusted(
        &b, "<section class=\"panel\" aria-labelledby=\"h-policy\"><h2 id=\"h-policy\">"
            "Review policy</h2><form data-api=\"/portal/api/settings\" data-method=\"PUT\">"
            "<div class=\"check\"><input type=\"checkbox\" id=\"four-eyes\" name=\"four_eyes\"");
    rc |= html_raw_trusted(&b, s.four_eyes ? " checked>" : ">");
    rc |= html_raw_trusted(
        &b, "<label for=\"four-eyes\">Four-eyes review</label></div><p class=\"muted\" "
            "id=\"four-eyes-help\">When on, every rejection and every approval of a hit (or of a "
            "score of 0.80 or more) needs a second, different reviewer to confirm it.</p>"
            "<div class=\"check\"><input type=\"checkbox\" id=\"screen-tokenized\" "
            "name=\"screen_tokenized\"");
    rc |= html_raw_trusted(&b, s.screen_tokenized ? " checked>" : ">");
    rc |= html_raw_trusted(
        &b, "<label for=\"screen-tokenized\">Screen tokenized names</label></div><p "
            "class=\"muted\" id=\"screen-tokenized-help\">When on (and the install has "
            "<code>data:read</code>), names stored tokenized in Blnk are detokenized through "
            "Cloud for screening only: the plain names are screened in memory and never stored "
            "or logged. Off: they go to review unscreened.</p>");
    rc |= screened_against(&b, kp, &s);
    rc |=
        html_raw_trusted(&b, "<button type=\"submit\" class=\"btn secondary\">Save policy</button>"
                             "<p class=\"form-status\" role=\"alert\"></p></form></section></div>");
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, 200, &b, rc);
    json_decref(counts);
    json_decref(hist);
    json_decref(runs);
}
