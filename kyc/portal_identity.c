/*
 * portal_identity.c — one identity (GET /portal?view=identity&id=ID), where the reviewer
 * decides. Top to bottom: the head (name, status and risk badges, score, dossier export, the
 * next identity to review), the pending decision waiting for a second reviewer, the facts of the
 * result, the decision form, the identity's own fields beside the checks and reasons, each
 * sanctions match beside its list entry, the candidates considered and discounted (what the
 * engine weighed and cleared, with name score, qualifiers and final score), and the audit
 * history.
 *
 * A match shows both names with every word whose normalised form (screen_normalize, the
 * engine's own) was paired by the scorer wrapped in <mark class="exact|fuzzy">, then the token
 * alignment and the qualifier breakdown that explain the score, and either the false-positive
 * form or the standing false positive (kept only while the list entry's hash is unchanged).
 * Forms carry data-api hooks that app.js submits with the CSRF token; nothing here writes.
 * Drawn in the frame of portal_frame.c; see portal_pages.c for how the view is chosen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capp/err.h"
#include "capp/html.h"
#include "capp/http.h"
#include "capp/json.h"
#include "kyc/audit.h"
#include "kyc/portal_internal.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

/* 1 when word (as written) normalises to a token found in tokens[] (with similarity sims[]);
 * *exact says whether that pair was exact. */
static int word_matches(const char *word, size_t len, const char *const *tokens, const double *sims,
                        size_t n, int *exact)
{
    struct screen_tokens t;
    if (len == 0 || screen_normalize(word, len, 0, &t) != 0)
        return 0;
    for (uint32_t k = 0; k < t.count; k++) {
        const char *tok = t.text + t.off[k];
        for (size_t i = 0; i < n; i++) {
            if (tokens[i] && strcmp(tokens[i], tok) == 0) {
                *exact = sims[i] >= 0.999;
                return 1;
            }
        }
    }
    return 0;
}

/* Writes name with every word whose normalised form is a paired token wrapped in <mark>. */
static int highlighted(struct buf *b, const char *name, const json_t *alignment, const char *side)
{
    int rc = 0;
    const char *tokens[SCREEN_MAX_PAIRS];
    double sims[SCREEN_MAX_PAIRS];
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(alignment, i, p)
    {
        const char *q = json_string_value(json_object_get(p, "query"));
        const char *l = json_string_value(json_object_get(p, "list"));
        if (!q || !l || n == SCREEN_MAX_PAIRS)
            continue;
        tokens[n] = strcmp(side, "query") == 0 ? q : l;
        sims[n++] = json_number_value(json_object_get(p, "similarity"));
    }
    const char *s = name;
    while (*s) {
        size_t sp = strspn(s, " \t,;/()-");
        if (sp) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(sp < 63 ? sp : 63), s);
            rc |= html_text(b, tmp);
            s += sp;
            continue;
        }
        size_t w = strcspn(s, " \t,;/()-");
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)(w < 255 ? w : 255), s);
        int exact = 0;
        if (word_matches(word, strlen(word), tokens, sims, n, &exact)) {
            rc |= html_raw_trusted(b, exact ? "<mark class=\"exact\">" : "<mark class=\"fuzzy\">");
            rc |= html_text(b, word);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, word);
        }
        s += w;
    }
    return rc;
}

static const json_t *false_positive_of(const json_t *fps, const char *entry_id)
{
    size_t i;
    json_t *fp;
    json_array_foreach(fps, i,
                       fp) if (strcmp(kyc_portal_str(fp, "entry_id"), entry_id) == 0) return fp;
    return NULL;
}

static int note_field(struct buf *b, const char *id, const char *label)
{
    return html_tpl(b,
                    "<div class=\"field\"><label for=\"{}\">{}</label><textarea id=\"{}\" "
                    "name=\"note\" required maxlength=\"2000\" rows=\"2\"></textarea></div>",
                    id, label, id, NULL);
}

static int match_panel(struct buf *b, const json_t *ident, const json_t *m, size_t index,
                       const json_t *fps, const char *current_hash)
{
    int rc = 0;
    const json_t *align = json_object_get(m, "alignment");
    const char *entry_id = kyc_portal_str(m, "entry_id");
    const json_t *fp = false_positive_of(fps, entry_id);
    int fp_current =
        fp && current_hash && strcmp(kyc_portal_str(fp, "entry_hash"), current_hash) == 0;
    char hid[32];
    snprintf(hid, sizeof hid, "h-match-%zu", index + 1);
    rc |= html_raw_trusted(b, "<article class=\"panel match\" aria-labelledby=\"");
    rc |= html_text(b, hid);
    rc |= html_raw_trusted(b, "\"><header class=\"match-head\"><h3 id=\"");
    rc |= html_text(b, hid);
    rc |= html_raw_trusted(b, "\">");
    rc |= html_textf(b, "Match %zu: %s", index + 1, kyc_portal_str(m, "name"));
    rc |= html_raw_trusted(b, "</h3><div class=\"score-line\"><span class=\"score\">");
    rc |= html_textf(b, "%.2f", json_number_value(json_object_get(m, "score")));
    rc |= html_raw_trusted(b, "</span>");
    rc |= kyc_portal_badge(b, strcmp(kyc_portal_str(m, "band"), "review") == 0
                                  ? "needs_review"
                                  : kyc_portal_str(m, "band"));
    if (fp_current)
        rc |= html_raw_trusted(b, "<span class=\"badge s-clear\">False positive</span>");
    rc |= html_raw_trusted(b, "</div></header>");
    rc |= html_raw_trusted(
        b, "<table class=\"side\"><caption>The identity beside the list entry</caption><thead><tr>"
           "<th scope=\"col\"><span class=\"sr-only\">Field</span></th><th scope=\"col\">Identity"
           "</th><th scope=\"col\">List entry</th></tr></thead><tbody><tr><th scope=\"row\">Name"
           "</th><td class=\"name\">");
    rc |= highlighted(b, kyc_portal_str(ident, "name"), align, "query");
    rc |= html_raw_trusted(b, "</td><td class=\"name\">");
    rc |= highlighted(b, kyc_portal_str(m, "matched_name"), align, "list");
    if (strcmp(kyc_portal_str(m, "matched_name"), kyc_portal_str(m, "name")) != 0) {
        rc |= html_raw_trusted(b, "<div class=\"muted small\">");
        rc |= html_text(b, kyc_portal_str(m, "name_kind"));
        rc |= html_raw_trusted(b, " of ");
        rc |= html_text(b, kyc_portal_str(m, "name"));
        rc |= html_raw_trusted(b, "</div>");
    }
    rc |= html_raw_trusted(b, "</td></tr><tr><th scope=\"row\">Type</th><td>");
    rc |= html_text(b, kyc_portal_str(ident, "identity_type"));
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, kyc_portal_str(m, "type"));
    rc |= html_raw_trusted(
        b, "</td></tr><tr><th scope=\"row\">Source</th><td class=\"muted\">—</td><td>");
    rc |= html_text(b, kyc_portal_str(m, "source"));
    rc |= html_raw_trusted(b, " <code>");
    rc |= html_text(b, entry_id);
    rc |= html_raw_trusted(
        b, "</code></td></tr><tr><th scope=\"row\">Programs</th><td class=\"muted\">—</td><td>");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(m, "programs"), i, v)
    {
        rc |= html_raw_trusted(b, "<span class=\"tag\">");
        rc |= html_text(b, json_string_value(v) ? json_string_value(v) : "");
        rc |= html_raw_trusted(b, "</span> ");
    }
    rc |= html_raw_trusted(b, "</td></tr></tbody></table>");
    rc |= html_raw_trusted(
        b, "<div class=\"grid2 tight\"><table class=\"data compact\"><caption>Token alignment "
           "(name score ");
    rc |= html_textf(b, "%.2f", json_number_value(json_object_get(m, "name_score")));
    rc |= html_raw_trusted(
        b, ")</caption><thead><tr><th scope=\"col\">Identity token</th><th scope=\"col\">List token"
           "</th><th scope=\"col\" class=\"num\">Similarity</th><th scope=\"col\" class=\"num\">"
           "Weight</th></tr></thead><tbody>");
    json_array_foreach(align, i, v)
    {
        const char *q = json_string_value(json_object_get(v, "query"));
        const char *l = json_string_value(json_object_get(v, "list"));
        double sim = json_number_value(json_object_get(v, "similarity"));
        rc |= html_raw_trusted(b, "<tr><td>");
        if (q && l) {
            rc |= html_raw_trusted(b, sim >= 0.999 ? "<mark class=\"exact\">"
                                                   : "<mark class=\"fuzzy\">");
            rc |= html_text(b, q);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, q ? q : "—");
        }
        rc |= html_raw_trusted(b, "</td><td>");
        if (q && l) {
            rc |= html_raw_trusted(b, sim >= 0.999 ? "<mark class=\"exact\">"
                                                   : "<mark class=\"fuzzy\">");
            rc |= html_text(b, l);
            rc |= html_raw_trusted(b, "</mark>");
        } else {
            rc |= html_text(b, l ? l : "—");
        }
        rc |= html_raw_trusted(b, "</td><td class=\"num\">");
        rc |= html_textf(b, "%.2f", sim);
        rc |= html_raw_trusted(b, "</td><td class=\"num\">");
        rc |= html_textf(b, "%.2f", json_number_value(json_object_get(v, "weight")));
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    rc |= html_raw_trusted(
        b, "</tbody></table><table class=\"data compact\"><caption>Qualifiers</caption><thead><tr>"
           "<th scope=\"col\">Rule</th><th scope=\"col\" class=\"num\">Effect</th>"
           "<th scope=\"col\">Detail</th></tr></thead><tbody>");
    json_array_foreach(json_object_get(m, "qualifiers"), i, v)
    {
        double d = json_number_value(json_object_get(v, "delta"));
        rc |= html_raw_trusted(b, "<tr><td>");
        rc |= html_text(b, kyc_portal_str(v, "rule"));
        rc |= html_raw_trusted(b, d < 0 ? "</td><td class=\"num neg\">"
                                        : "</td><td class=\"num pos\">");
        rc |= html_textf(b, "%+.2f", d);
        rc |= html_raw_trusted(b, "</td><td>");
        rc |= html_text(b, kyc_portal_str(v, "detail"));
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    if (json_array_size(json_object_get(m, "qualifiers")) == 0)
        rc |= html_raw_trusted(
            b, "<tr><td colspan=\"3\" class=\"empty\">No qualifier applied (name only).</td></tr>");
    rc |= html_raw_trusted(b, "</tbody></table></div>");
    if (fp_current) {
        rc |= html_raw_trusted(b, "<p class=\"fp-note\">Marked a false positive by ");
        rc |= html_text(b, kyc_portal_str(fp, "marked_by"));
        rc |= html_raw_trusted(b, " on ");
        rc |= kyc_portal_when(b, kyc_portal_str(fp, "marked_at"));
        rc |= html_raw_trusted(b, ": &ldquo;");
        rc |= html_text(b, kyc_portal_str(fp, "note"));
        rc |= html_raw_trusted(
            b, "&rdquo;. It will not be raised again unless the list entry changes.</p>");
    } else {
        if (fp)
            rc |= html_raw_trusted(
                b, "<p class=\"fp-note warn\">This match was marked a false positive, but the list "
                   "entry has changed since: review it again.</p>");
        char nid[48];
        snprintf(nid, sizeof nid, "fp-note-%zu", index + 1);
        rc |= html_raw_trusted(
            b, "<form class=\"inline-form\" data-api=\"/portal/api/false-positives\">"
               "<input type=\"hidden\" name=\"identity_id\" value=\"");
        rc |= html_text(b, kyc_portal_str(ident, "identity_id"));
        rc |= html_raw_trusted(b, "\"><input type=\"hidden\" name=\"entry_id\" value=\"");
        rc |= html_text(b, entry_id);
        rc |= html_raw_trusted(b, "\">");
        rc |= note_field(b, nid, "Why is this not the same person or organization?");
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn secondary\">Mark false positive</button>"
               "<p class=\"form-status\" role=\"alert\"></p></form>");
    }
    rc |= html_raw_trusted(b, "</article>");
    return rc;
}

/* "Considered and discounted": every candidate the engine considered that was not raised (its
 * final score below the review floor), with the name score, each qualifier and the final
 * score, so a clear result still says why an exact list name was cleared. */
static int considered_section(struct buf *b, const json_t *considered)
{
    int rc = html_raw_trusted(
        b, "<section class=\"panel flush\" aria-labelledby=\"h-considered\"><table "
           "class=\"data\" id=\"considered\"><caption id=\"h-considered\">Considered and "
           "discounted</caption><thead><tr><th scope=\"col\">List entry</th><th scope=\"col\">"
           "Source</th><th scope=\"col\" class=\"num\">Name score</th><th scope=\"col\">"
           "Qualifiers</th><th scope=\"col\" class=\"num\">Final score</th></tr></thead><tbody>");
    size_t i, k, rows = 0;
    json_t *c, *q;
    json_array_foreach(considered, i, c)
    {
        if (strcmp(kyc_portal_str(c, "band"), "clear") != 0)
            continue; /* raised: shown above as a match */
        char name_score[16], score[16];
        snprintf(name_score, sizeof name_score, "%.2f",
                 json_number_value(json_object_get(c, "name_score")));
        snprintf(score, sizeof score, "%.2f", json_number_value(json_object_get(c, "score")));
        rc |= html_tpl(b, "<tr><td>{} <code>{}</code>", kyc_portal_str(c, "name"),
                       kyc_portal_str(c, "entry_id"), NULL);
        if (json_is_true(json_object_get(c, "discounted")))
            rc |= html_raw_trusted(b, " <span class=\"tag\">discounted</span>");
        rc |= html_tpl(b, "</td><td>{}</td><td class=\"num\">{}</td><td>",
                       kyc_portal_str(c, "source"), name_score, NULL);
        json_array_foreach(json_object_get(c, "qualifiers"), k, q)
        {
            char delta[16];
            snprintf(delta, sizeof delta, "%+.2f", json_number_value(json_object_get(q, "delta")));
            rc |= html_tpl(b,
                           "<div><span class=\"tag\">{}</span> {} <span class=\"muted\">{}"
                           "</span></div>",
                           kyc_portal_str(q, "rule"), delta, kyc_portal_str(q, "detail"), NULL);
        }
        if (json_array_size(json_object_get(c, "qualifiers")) == 0)
            rc |= html_raw_trusted(b, "<span class=\"muted\">none (name only)</span>");
        rc |= html_tpl(b, "</td><td class=\"num\">{}</td></tr>", score, NULL);
        rows++;
    }
    if (rows == 0)
        rc |= html_raw_trusted(b, "<tr><td colspan=\"5\" class=\"empty\">No other candidate "
                                  "was considered.</td></tr>");
    return rc | html_raw_trusted(b, "</tbody></table></section>");
}

struct history_ctx {
    struct buf *b;
    int rows;
};

static int history_row(const struct audit_record *r, void *ctx)
{
    int rc = 0;
    struct history_ctx *h = ctx;
    struct buf *b = h->b;
    json_t *p = json_loads(r->payload, 0, NULL);
    rc |= html_raw_trusted(b, "<tr><td>");
    rc |= kyc_portal_when(b, r->ts);
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, r->actor);
    rc |= html_raw_trusted(b, "</td><td>");
    rc |= html_text(b, r->kind);
    rc |= html_raw_trusted(b, "</td><td>");
    if (strcmp(r->kind, "status_change") == 0) {
        rc |= html_textf(b, "%s → %s", kyc_portal_status_label(kyc_portal_str(p, "from")),
                         kyc_portal_status_label(kyc_portal_str(p, "to")));
    } else if (strcmp(r->kind, "decision") == 0) {
        rc |= html_textf(b, "%s (%s)", kyc_portal_str(p, "action"),
                         *kyc_portal_str(p, "state") ? kyc_portal_str(p, "state") : "recorded");
        if (*kyc_portal_str(p, "entry_id"))
            rc |= html_textf(b, " %s", kyc_portal_str(p, "entry_id"));
        if (*kyc_portal_str(p, "note")) {
            rc |= html_raw_trusted(b, "<div class=\"note\">");
            rc |= html_text(b, kyc_portal_str(p, "note"));
            rc |= html_raw_trusted(b, "</div>");
        }
    } else {
        char *text = json_to_string_flags(p, JSON_COMPACT | JSON_SORT_KEYS);
        rc |= html_raw_trusted(b, "<code class=\"small\">");
        rc |= html_text(b, text ? text : "");
        rc |= html_raw_trusted(b, "</code>");
        free(text);
    }
    rc |= html_raw_trusted(b, "</td><td><code class=\"small\" title=\"record hash\">");
    rc |= html_textf(b, "#%lld %.12s", (long long)r->seq, r->hash);
    rc |= html_raw_trusted(b, "</code></td></tr>");
    json_decref(p);
    h->rows++;
    return rc;
}

static int fact(struct buf *b, const char *label, const char *value)
{
    return html_tpl(b, "<div><dt>{}</dt><dd>{}</dd></div>", label, value && *value ? value : "—",
                    NULL);
}

/* 1 when the stored identity fields mark key as a token (never shown: not detokenized). */
static int field_tokenized(const json_t *fields, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(fields, "tokenized"), i, v)
    {
        if (json_string_value(v) && strcmp(json_string_value(v), key) == 0)
            return 1;
    }
    return strncmp(kyc_portal_str(fields, key), "FPT:", 4) == 0;
}

/* The identity's own fields as stored with its result (results_identity_fields). */
static int identity_data(struct buf *b, const json_t *fields)
{
    int rc = 0;
    static const char *const rows[][2] = {
        {"identity_type", "Identity type"},
        {"dob", "Date of birth"},
        {"nationality", "Nationality"},
        {"country", "Country"},
        {"street", "Street"},
        {"city", "City"},
        {"state", "State"},
        {"post_code", "Post code"},
        {"email_address", "Email"},
        {"phone_number", "Phone"},
        {"created_at", "Created in Blnk"},
    };
    rc |= html_raw_trusted(
        b, "<section class=\"panel flush\" aria-labelledby=\"h-identity-data\"><table "
           "class=\"data\" id=\"identity-data\"><caption id=\"h-identity-data\">Identity data"
           "</caption><tbody>");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *v = kyc_portal_str(fields, rows[i][0]);
        rc |= html_raw_trusted(b, "<tr><th scope=\"row\">");
        rc |= html_text(b, rows[i][1]);
        rc |= html_raw_trusted(b, "</th><td data-field=\"");
        rc |= html_text(b, rows[i][0]);
        rc |= html_raw_trusted(b, "\">");
        if (field_tokenized(fields, rows[i][0]))
            rc |= html_raw_trusted(b, "<span class=\"tag\">tokenized</span>");
        else
            rc |= html_text(b, *v ? v : "—");
        rc |= html_raw_trusted(b, "</td></tr>");
    }
    rc |= html_raw_trusted(b, "</tbody></table></section>");
    return rc;
}

static int pending_panel(struct buf *b, const struct capp_portal_context *pc, const json_t *pending)
{
    int rc = 0;
    char path[96];
    json_int_t id = json_integer_value(json_object_get(pending, "decision_id"));
    int own = kyc_portal_signed_in_as(pc, kyc_portal_str(pending, "maker"));
    rc |= html_raw_trusted(
        b, "<section class=\"panel pending\" aria-labelledby=\"h-pending\" id=\"pending\">"
           "<h2 id=\"h-pending\">Waiting for a second reviewer</h2><p>");
    rc |= html_textf(b, "%s proposed to %s this identity on ", kyc_portal_str(pending, "maker"),
                     kyc_portal_str(pending, "action"));
    rc |= kyc_portal_when(b, kyc_portal_str(pending, "made_at"));
    rc |= html_raw_trusted(b, ":</p><blockquote>");
    rc |= html_text(b, kyc_portal_str(pending, "maker_note"));
    rc |= html_raw_trusted(b, "</blockquote>");
    if (own)
        rc |= html_raw_trusted(
            b, "<p class=\"muted\">You proposed this decision: a different reviewer must confirm "
               "it. You can withdraw it.</p>");
    snprintf(path, sizeof path, "/portal/api/decisions/%lld/", (long long)id);
    rc |= html_raw_trusted(b, "<form data-api=\"");
    rc |= html_text(b, path);
    rc |= html_raw_trusted(b, "\" data-action-path>");
    rc |= note_field(b, "pending-note", own ? "Note (why you withdraw it)" : "Note (required)");
    rc |= html_raw_trusted(b, "<div class=\"button-row\">");
    if (!own)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn\" name=\"op\" value=\"confirm\" "
               "data-confirm-button>Confirm</button>");
    rc |= html_raw_trusted(
        b, "<button type=\"submit\" class=\"btn secondary\" name=\"op\" value=\"cancel\">");
    rc |= html_text(b, own ? "Withdraw" : "Decline");
    rc |= html_raw_trusted(
        b, "</button></div><p class=\"form-status\" role=\"alert\"></p></form></section>");
    return rc;
}

static int decision_panel(struct buf *b, const json_t *ident, int four_eyes_on,
                          const json_t *pending)
{
    int rc = 0;
    const char *status = kyc_portal_str(ident, "status");
    int decided = strcmp(status, RESULTS_APPROVED) == 0 || strcmp(status, RESULTS_REJECTED) == 0;
    rc |= html_raw_trusted(
        b, "<section class=\"panel\" aria-labelledby=\"h-decide\"><h2 id=\"h-decide\">Decision"
           "</h2>");
    if (*kyc_portal_str(ident, "removed_at")) {
        rc |= html_raw_trusted(
            b, "<p class=\"muted\" data-removed>This identity was deleted in Blnk (noticed ");
        rc |= kyc_portal_when(b, kyc_portal_str(ident, "removed_at"));
        rc |= html_raw_trusted(
            b, "). Its result and history are kept for the record; it can no longer be decided."
               "</p></section>");
        return rc;
    }
    if (pending) {
        rc |= html_raw_trusted(
            b, "<p class=\"muted\">A decision is waiting for a second reviewer (above).</p>"
               "</section>");
        return rc;
    }
    rc |= html_raw_trusted(b, "<form id=\"decision-form\" data-api=\"/portal/api/decisions\">"
                              "<input type=\"hidden\" name=\"identity_id\" value=\"");
    rc |= html_text(b, kyc_portal_str(ident, "identity_id"));
    rc |= html_raw_trusted(b, "\">");
    rc |= note_field(b, "decision-note", "Note (required)");
    rc |= html_raw_trusted(b, "<div class=\"button-row\">");
    if (strcmp(status, RESULTS_APPROVED) != 0)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn ok\" name=\"action\" value=\"approve\" "
               "aria-keyshortcuts=\"a\">Approve <kbd>A</kbd></button>");
    if (strcmp(status, RESULTS_REJECTED) != 0)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn danger\" name=\"action\" value=\"reject\" "
               "aria-keyshortcuts=\"r\">Reject <kbd>R</kbd></button>");
    if (decided)
        rc |= html_raw_trusted(
            b, "<button type=\"submit\" class=\"btn secondary\" name=\"action\" value=\"reopen\">"
               "Reopen</button>");
    rc |= html_raw_trusted(
        b, "</div><p class=\"form-status\" role=\"alert\"></p></form><p class=\"muted small\">");
    if (four_eyes_on)
        rc |= html_raw_trusted(
            b, "Four-eyes review is on: rejections, and approvals of a hit or a score of 0.80 or "
               "more, wait for a second reviewer.");
    else
        rc |= html_raw_trusted(b, "Four-eyes review is off: every decision applies at once.");
    rc |= html_raw_trusted(
        b,
        " Keys: <kbd>A</kbd> approve, <kbd>R</kbd> reject, <kbd>N</kbd> next identity, "
        "<kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit the note, <kbd>Esc</kbd> cancel.</p></section>");
    return rc;
}

/* The next identity to review: the top of hit, then needs_review, other than this one. */
static void next_identity(results_db *db, const char *install, const char *current, char *out,
                          size_t cap)
{
    out[0] = 0;
    const char *order[] = {RESULTS_HIT, RESULTS_NEEDS_REVIEW};
    for (size_t k = 0; k < 2 && !out[0]; k++) {
        struct results_filter f = {.status = order[k], .page = 1, .page_size = 2};
        json_t *list = NULL;
        const char *why;
        if (results_list(db, install, &f, &list, &why) != 0)
            continue;
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(list, "items"), i, it)
        {
            if (strcmp(kyc_portal_str(it, "identity_id"), current) != 0) {
                snprintf(out, cap, "%s", kyc_portal_str(it, "identity_id"));
                break;
            }
        }
        json_decref(list);
    }
}

void kyc_portal_identity(struct capp_portal_context *pc, const struct kyc_portal *kp,
                         results_db *db)
{
    const char *install = pc->install.installed_app_id;
    const char *id = http_query(pc->req, "id");
    if (!id || !json_is_valid_id(id, CAPP_MAX_ID_BYTES)) {
        kyc_portal_error_page(pc, kp, 400, "Invalid identity",
                              "The identity id in the address is not valid.");
        return;
    }
    json_t *ident = NULL, *pending = NULL, *fps = NULL;
    struct review_settings s = {.four_eyes = 1};
    int read = results_get(db, install, id, &ident);
    if (read == CAPP_ENOTFOUND) {
        kyc_portal_error_page(pc, kp, 404, "Identity not found",
                              "No screened identity with that id exists for this install.");
        return;
    }
    if (read == 0)
        read = review_pending(db, install, id, &pending);
    if (read == 0)
        read = review_false_positives(db, install, id, &fps);
    if (read == 0)
        read = review_settings_get(db, install, &s);
    if (read) {
        json_decref(ident);
        json_decref(pending);
        json_decref(fps);
        kyc_portal_error_page(pc, kp, 500, "Identity unavailable",
                              "The identity could not be read. Try again.");
        return;
    }
    char next[STORE_ID_CAP];
    next_identity(db, install, id, next, sizeof next);
    struct buf b;
    buf_init(&b, kp->page_max_bytes);
    const char *name = *kyc_portal_str(ident, "name") ? kyc_portal_str(ident, "name") : id;
    int rc = kyc_portal_page_open(&b, pc, "KYC review — identity", "queue");
    rc |= html_raw_trusted(
        &b, "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/portal?view=queue\">Queue"
            "</a> / <span aria-current=\"page\">");
    rc |= html_text(&b, name);
    rc |= html_raw_trusted(&b, "</span></nav><div class=\"page-head\"><div><h1>");
    rc |= html_text(&b, name);
    rc |= html_raw_trusted(&b, "</h1><div class=\"head-badges\">");
    rc |= kyc_portal_badge(&b, kyc_portal_str(ident, "status"));
    rc |= kyc_portal_risk_badge(&b, kyc_portal_str(ident, "risk"));
    rc |= html_raw_trusted(&b, "<span class=\"score\">Score ");
    rc |= html_textf(&b, "%.2f", json_number_value(json_object_get(ident, "score")));
    rc |= html_raw_trusted(
        &b, "</span></div></div><div class=\"actions\"><a class=\"btn secondary\" download "
            "href=\"/portal/api/identities/");
    rc |= html_text(&b, id);
    rc |= html_raw_trusted(&b, "/dossier\">Export dossier</a>");
    if (next[0]) {
        rc |= html_raw_trusted(
            &b, "<a class=\"btn secondary\" id=\"next-identity\" aria-keyshortcuts=\"n\" href=\"");
        rc |= kyc_portal_identity_href(&b, next);
        rc |= html_raw_trusted(&b, "\">Next <kbd>N</kbd></a>");
    }
    rc |= html_raw_trusted(&b, "</div></div>");
    if (pending)
        rc |= pending_panel(&b, pc, pending);
    rc |= html_raw_trusted(
        &b,
        "<div class=\"grid2 identity-top\"><section class=\"panel\" aria-labelledby=\"h-facts\">"
        "<h2 id=\"h-facts\">Identity</h2><dl class=\"facts-grid\">");
    rc |= fact(&b, "Identity ID", id);
    rc |= fact(&b, "Type", kyc_portal_str(ident, "identity_type"));
    rc |= fact(&b, "Status", kyc_portal_status_label(kyc_portal_str(ident, "status")));
    rc |= fact(&b, "Computed by screening",
               kyc_portal_status_label(kyc_portal_str(ident, "computed_status")));
    rc |= fact(&b, "Risk", kyc_portal_str(ident, "risk"));
    rc |= fact(&b, "Screening", kyc_portal_str(ident, "screening"));
    rc |= fact(&b, "Decided by", kyc_portal_str(ident, "decided_by"));
    rc |= fact(&b, "Engine", kyc_portal_str(ident, "engine_version"));
    rc |= fact(&b, "Write-back", kyc_portal_str(ident, "writeback"));
    rc |= fact(&b, "Alert", kyc_portal_str(ident, "alert"));
    if (*kyc_portal_str(ident, "removed_at")) {
        rc |= html_raw_trusted(&b, "<div><dt>Deleted in Blnk</dt><dd>");
        rc |= kyc_portal_when(&b, kyc_portal_str(ident, "removed_at"));
        rc |= html_raw_trusted(&b, "</dd></div>");
    }
    rc |= html_raw_trusted(&b, "<div><dt>Screened</dt><dd>");
    rc |= kyc_portal_when(&b, kyc_portal_str(ident, "screened_at"));
    rc |= html_raw_trusted(&b, "</dd></div></dl></section>");
    rc |= decision_panel(&b, ident, s.four_eyes, pending);
    rc |= html_raw_trusted(&b, "</div>");
    /* the identity's own fields beside the checks */
    rc |= html_raw_trusted(&b, "<div class=\"grid2\">");
    rc |= identity_data(&b, json_object_get(ident, "identity"));
    /* checks */
    rc |= html_raw_trusted(
        &b, "<section class=\"panel flush\" aria-labelledby=\"h-checks\"><table class=\"data\">"
            "<caption id=\"h-checks\">Checks and reasons</caption><thead><tr><th scope=\"col\">"
            "Reason</th><th scope=\"col\">Field</th><th scope=\"col\">Detail</th></tr></thead>"
            "<tbody>");
    size_t i;
    json_t *v;
    json_t *reasons = json_object_get(ident, "reasons");
    json_array_foreach(json_object_get(ident, "findings"), i, v)
    {
        rc |= html_raw_trusted(&b, "<tr><td><span class=\"tag\">");
        rc |= html_text(&b, kyc_portal_str(v, "reason"));
        rc |= html_raw_trusted(&b, "</span></td><td>");
        rc |= html_text(&b, kyc_portal_str(v, "field"));
        rc |= html_raw_trusted(&b, "</td><td>");
        rc |= html_text(&b, kyc_portal_str(v, "detail"));
        rc |= html_raw_trusted(&b, "</td></tr>");
    }
    json_array_foreach(reasons, i, v)
    {
        const char *r = json_string_value(v) ? json_string_value(v) : "";
        int pep = strcmp(r, "pep_match") == 0;
        if (strcmp(r, "sanctions_match") != 0 && strcmp(r, "screening_error") != 0 && !pep)
            continue;
        rc |= html_raw_trusted(&b, "<tr><td><span class=\"tag\">");
        rc |= html_text(&b, pep ? "PEP" : r);
        rc |= html_raw_trusted(&b, "</span></td><td>name</td><td>");
        rc |= html_text(&b, pep ? "Politically exposed person: the name scored in the review "
                                  "band against a PEP list entry (below). Not a sanctions hit."
                            : strcmp(r, "sanctions_match") == 0
                                ? "The name scored in the review or hit band "
                                  "against a sanctions list entry (below)."
                                : "Screening failed; the identity is re-screened "
                                  "on the next run.");
        rc |= html_raw_trusted(&b, "</td></tr>");
    }
    if (json_array_size(json_object_get(ident, "findings")) == 0 && json_array_size(reasons) == 0)
        rc |= html_raw_trusted(
            &b, "<tr><td colspan=\"3\" class=\"empty\">Every check passed.</td></tr>");
    rc |= html_raw_trusted(&b, "</tbody></table></section></div>");
    /* matches */
    json_t *matches = json_object_get(ident, "matches");
    rc |= html_raw_trusted(
        &b, "<section aria-labelledby=\"h-matches\"><h2 id=\"h-matches\">Sanctions matches</h2>");
    if (json_array_size(matches) == 0)
        rc |= html_raw_trusted(
            &b, "<p class=\"panel muted\">No candidate from the sanctions lists.</p>");
    json_array_foreach(matches, i, v)
    {
        char hash[65];
        const char *h =
            review_list_entry_hash(db, kyc_portal_str(v, "entry_id"), hash) == 0 ? hash : NULL;
        rc |= match_panel(&b, ident, v, i, fps, h);
    }
    rc |= html_raw_trusted(&b, "</section>");
    rc |= considered_section(&b, json_object_get(ident, "considered"));
    /* history */
    rc |= html_raw_trusted(
        &b, "<section class=\"panel flush\" aria-labelledby=\"h-history\"><table class=\"data\" "
            "id=\"history\"><caption id=\"h-history\">History (audit trail)</caption><thead><tr>"
            "<th scope=\"col\">When</th><th scope=\"col\">Who</th><th scope=\"col\">What</th>"
            "<th scope=\"col\">Detail</th><th scope=\"col\">Record</th></tr></thead><tbody>");
    struct history_ctx hc = {.b = &b};
    audit_history(sql_sqlite_handle(db), install, id, history_row,
                  &hc); /* stops early once the page failed */
    if (hc.rows == 0)
        rc |= html_raw_trusted(
            &b, "<tr><td colspan=\"5\" class=\"empty\">No audit records yet.</td></tr>");
    rc |= html_raw_trusted(&b, "</tbody></table></section>");
    rc |= kyc_portal_page_close(&b, pc);
    kyc_portal_send(pc, 200, &b, rc);
    json_decref(ident);
    json_decref(pending);
    json_decref(fps);
}
