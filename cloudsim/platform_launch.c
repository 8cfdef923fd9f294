/*
 * Launch (spec §2.3, §6, D8, D22): POST the portal generator, validate its answer, hand the
 * portal_url to the dashboard iframe.
 *
 * A launch fails, with a code naming the first broken rule, when the generator: is unreachable
 * or slower than --portal-timeout-ms (portal_timeout, portal_unreachable); answers non-2xx
 * (portal_http_status); answers something other than a JSON object (portal_not_json); has no
 * string portal_url (portal_url_missing); gives a relative or non-http(s) URL
 * (portal_url_not_absolute); gives plain http off loopback (portal_url_insecure); puts the
 * install's API key in the URL (portal_url_contains_api_key); or serves a page whose
 * Content-Security-Policy frame-ancestors does not admit the dashboard's origin
 * (portal_frame_ancestors, portal_page_unreachable).
 *
 * The frame-ancestors check must not spend the launch token (it is single-use, spec D10), so it
 * fetches the portal URL without its query string: the app sends its CSP on every portal HTML
 * page, including the one that refuses a missing token (spec §7). It is a raw libcurl call,
 * because capp's httpc does not expose response headers.
 *
 * The key check needs no plaintext: every "blnk_" + 43 characters in the URL (raw and
 * percent-decoded) is hashed and compared with the install's stored key hashes.
 */
#include "cloudsim/platform.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/buf.h"
#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/httpc.h"
#include "capp/json.h"
#include "capp/log.h"
#include "cloudsim/platform_url.h"

#define API_KEY_TEXT_LEN 48 /* "blnk_" + 43 */

static void fail(struct cs_outcome *out, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct cs_outcome *out, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->status = status;
    out->result = json_error_bodyv(code, fmt, ap);
    va_end(ap);
}

static int key_hash_matches(sqlite3 *db, const char *installed_app_id, const char *candidate)
{
    char hash[CRYPTO_SHA256_HEX_BYTES];
    crypto_sha256_hex(candidate, API_KEY_TEXT_LEN, hash);
    sqlite3_stmt *stmt = NULL;
    if (db_prepare(db, "SELECT key_hash FROM api_keys WHERE installed_app_id=?", &stmt) != 0)
        return 0;
    db_bind_text(stmt, 1, installed_app_id);
    int match = 0;
    while (db_step_row(stmt) == 1) {
        const unsigned char *stored = sqlite3_column_text(stmt, 0);
        if (stored && strlen((const char *)stored) == CRYPTO_SHA256_HEX_BYTES - 1)
            match |= crypto_equal(stored, hash, CRYPTO_SHA256_HEX_BYTES - 1);
    }
    sqlite3_finalize(stmt);
    return match;
}

static int text_contains_key(sqlite3 *db, const char *installed_app_id, const char *text)
{
    for (const char *p = strstr(text, "blnk_"); p; p = strstr(p + 1, "blnk_"))
        if (strlen(p) >= API_KEY_TEXT_LEN && key_hash_matches(db, installed_app_id, p))
            return 1;
    return 0;
}

static int url_contains_key(sqlite3 *db, const char *installed_app_id, const char *url)
{
    if (text_contains_key(db, installed_app_id, url))
        return 1;
    int found = 0;
    char *decoded = curl_easy_unescape(NULL, url, 0, NULL);
    if (decoded) {
        found = text_contains_key(db, installed_app_id, decoded);
        curl_free(decoded);
    }
    return found;
}

struct csp_capture {
    struct buf csp;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct csp_capture *c = userp;
    size_t n = size * nmemb;
    static const char name[] = "content-security-policy:";
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
        buf_reset(&c->csp); /* a new response (after 1xx) */
    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vl = n - (sizeof name - 1);
        while (vl && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        /* A policy too long to hold whole is not judged on a part: abort (the page then counts
         * as unreachable, as httpc.c treats an over-long body). */
        if ((c->csp.len && buf_append(&c->csp, ",", 1)) || buf_append(&c->csp, v, vl))
            return 0;
    }
    return n;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *userp)
{
    return size * nmemb;
}

/* GETs url and returns its joined Content-Security-Policy values (caller frees) or NULL. */
static char *fetch_csp(const char *url, long timeout_ms)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    struct csp_capture c;
    buf_init(&c.csp, 16 * 1024);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "cloudsim (local Blnk Cloud)");
    CURLcode cc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (cc != CURLE_OK) {
        buf_free(&c.csp);
        return NULL;
    }
    if (!c.csp.data)
        return strdup("");
    return buf_steal(&c.csp);
}

/* Applies spec D8 to the generator's answer; 0 with *portal_url set (borrowed from body_json)
 * or an error already written to out. */
static int validate_answer(struct cloudsim *cs, sqlite3 *db, const char *installed_app_id,
                           const struct httpc_response *resp, json_t **body_json,
                           const char **portal_url, struct cs_outcome *out)
{
    if (resp->status < 200 || resp->status >= 300) {
        fail(out, 502, "portal_http_status", "the portal generator answered HTTP %ld, not 2xx",
             resp->status);
        return -1;
    }
    json_error_t jerr;
    *body_json =
        json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(*body_json)) {
        fail(out, 502, "portal_not_json", "the portal generator's answer is not a JSON object");
        return -1;
    }
    *portal_url = json_string_value(json_object_get(*body_json, "portal_url"));
    if (!*portal_url || !**portal_url) {
        fail(out, 502, "portal_url_missing", "the answer has no string field portal_url");
        return -1;
    }
    struct cs_url page;
    if (cs_url_parse(*portal_url, &page) != 0) {
        fail(out, 502, "portal_url_not_absolute", "portal_url is not an absolute http(s) URL");
        return -1;
    }
    if (!cs_url_secure_enough(&page)) {
        fail(out, 502, "portal_url_insecure",
             "portal_url must use https (http is accepted only on loopback)");
        return -1;
    }
    if (url_contains_key(db, installed_app_id, *portal_url)) {
        fail(out, 502, "portal_url_contains_api_key",
             "portal_url contains the install's API key; keys must never reach the browser");
        return -1;
    }
    if (!cs->config.frame_check)
        return 0;
    struct cs_url dashboard;
    if (cs_url_parse(cs->config.public_url, &dashboard) != 0) {
        fail(out, 500, "internal_error", "the dashboard URL is not configured");
        return -1;
    }
    char *csp = fetch_csp(page.without_query, cs->config.portal_timeout_ms);
    if (!csp) {
        fail(out, 502, "portal_page_unreachable", "the portal page %s could not be fetched",
             page.without_query);
        return -1;
    }
    int allowed = cs_frame_ancestors_allow(csp, &page, &dashboard);
    free(csp);
    if (!allowed) {
        fail(out, 502, "portal_frame_ancestors",
             "the portal page's Content-Security-Policy frame-ancestors does not allow the "
             "dashboard origin %s",
             dashboard.origin);
        return -1;
    }
    return 0;
}

static int user_may_launch(const char *launch_access, const char *user_id)
{
    json_t *list = json_loads(launch_access, 0, NULL);
    int allowed = !json_is_array(list) || json_array_size(list) == 0; /* D22: unset = everyone */
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), user_id) == 0)
            allowed = 1;
    }
    json_decref(list);
    return allowed;
}

void cs_launch(struct cloudsim *cs, const char *installed_app_id, const char *given_user,
               struct cs_outcome *out)
{
    struct cs_install_row row;
    struct cs_app_row app;
    char user_id[CS_ID_BYTES];
    sqlite3 *db = cs_db(cs);
    out->result = NULL;
    int rc = db ? cs_load_install(cs, installed_app_id, &row) : CAPP_EDB;
    if (rc == CAPP_ENOTFOUND) {
        fail(out, 404, "unknown_install", "no such install: %s", installed_app_id);
        return;
    }
    if (rc == 0)
        rc = cs_load_app(cs, row.app_id, &app);
    if (rc == 0) {
        rc = cs_resolve_member(cs, "users", "user_id", row.organization_id, given_user, user_id);
        if (rc == CAPP_ENOTFOUND) {
            fail(out, 403, "unknown_user", "user %s is not a member of the install's organization",
                 given_user ? given_user : "(none)");
            return;
        }
    }
    if (rc) {
        fail(out, 500, "internal_error", "the store is unavailable");
        return;
    }
    if (strcmp(row.status, "active") != 0) {
        fail(out, 409, "install_not_active", "install %s is %s, not active", installed_app_id,
             row.status);
        return;
    }
    if (!user_may_launch(app.launch_access, user_id)) {
        fail(out, 403, "launch_access_denied", "user %s is not in the app's launch access list",
             user_id);
        return;
    }
    json_t *payload =
        json_pack("{s:s, s:s}", "installed_app_id", installed_app_id, "app_id", row.app_id);
    if (payload && cs->config.mode == CS_MODE_V1)
        json_object_set_new(payload, "organization_id", json_string(row.organization_id));
    if (payload)
        json_object_set_new(payload, "instance_id", json_string(row.instance_id));
    if (payload && cs->config.mode == CS_MODE_V1)
        json_object_set_new(payload, "user_id", json_string(user_id));
    char *payload_text = payload ? json_to_string(payload) : NULL;
    json_decref(payload);
    struct httpc *client = NULL;
    if (!payload_text || httpc_new(&client) != 0) {
        free(payload_text);
        fail(out, 500, "internal_error", "out of memory");
        return;
    }
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json",
                                          "User-Agent: cloudsim (local Blnk Cloud)", NULL};
    struct httpc_request request = {.method = "POST",
                                    .url = app.portal_generator_url,
                                    .body = payload_text,
                                    .body_len = strlen(payload_text),
                                    .headers = headers,
                                    .connect_timeout_ms = cs->config.portal_timeout_ms,
                                    .total_timeout_ms = cs->config.portal_timeout_ms,
                                    .max_response = 64 * 1024};
    struct httpc_response resp = {0};
    rc = httpc_perform(client, &request, &resp);
    json_t *body = NULL;
    const char *portal_url = NULL;
    if (rc == CAPP_ETIMEOUT)
        fail(out, 504, "portal_timeout", "the portal generator did not answer within %ld ms",
             cs->config.portal_timeout_ms);
    else if (rc != 0)
        fail(out, 502, "portal_unreachable", "the portal generator could not be reached");
    else if (validate_answer(cs, db, installed_app_id, &resp, &body, &portal_url, out) == 0) {
        out->status = 200;
        out->result =
            json_pack("{s:s, s:s, s:s, s:s}", "portal_url", portal_url, "installed_app_id",
                      installed_app_id, "user_id", user_id, "app_name", app.display_name);
    }
    const char *code =
        out->status == 200 ? "ok" : json_string_value(json_object_get(out->result, "code"));
    cs_record_delivery(cs, installed_app_id, "launch", 1, app.portal_generator_url, resp.status,
                       code ? code : "error", resp.elapsed_ms);
    cs_audit_event(cs, "user", out->status == 200 ? "launch.succeeded" : "launch.failed",
                   installed_app_id, row.api_key_prefix, code ? code : "");
    log_info("cloudsim.launch", "installed_app_id", installed_app_id, "user_id", user_id, "outcome",
             code ? code : "error", NULL);
    json_decref(body);
    httpc_response_free(&resp);
    httpc_free(client);
    free(payload_text);
}
