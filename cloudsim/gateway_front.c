/*
 * gateway_front.c — the gateway front door (cs_gateway_begin, cloudsim.h): Bearer key → principal,
 * instance binding, scopes, rate limit, audit. Order and codes follow spec D12/D14/D16.
 *
 * Keys are found by their 8-character prefix (indexed, not secret) and then confirmed by
 * comparing SHA-256 digests in constant time, so neither the lookup nor the comparison leaks
 * how much of a guessed key was right. The presented key is never logged or stored.
 *
 * With --key-activation-delay-ms (D27) a key answers 401 until its install is active (the
 * app's install 2xx arrived) and that delay has passed since, as a platform that activates
 * keys late would.
 *
 * The rate limiter is a token bucket per key (capacity = the per-second rate, at least 1),
 * kept in memory under one mutex; it forgets nothing until CS_MAX_RATE_KEYS keys were seen,
 * after which the stalest bucket is reused.
 */
#include "cloudsim/platform.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capp/crypto.h"
#include "capp/db.h"
#include "capp/err.h"
#include "capp/log.h"
#include "cloudsim/core_stmt.h"

struct cs_rate_entry {
    char key_hash[CRYPTO_SHA256_HEX_BYTES];
    double tokens;
    int64_t last_ms;
};

enum lookup_result { KEY_UNKNOWN, KEY_REVOKED, KEY_INACTIVE, KEY_LIVE, KEY_ERROR };

static enum lookup_result lookup_key(struct cloudsim *cs, const char *key, size_t key_len,
                                     struct cs_principal *who, char hash[CRYPTO_SHA256_HEX_BYTES])
{
    crypto_sha256_hex(key, key_len, hash);
    if (key_len <= CS_KEY_PREFIX_LEN)
        return KEY_UNKNOWN;
    char prefix[CS_KEY_PREFIX_LEN + 1];
    memcpy(prefix, key, CS_KEY_PREFIX_LEN);
    prefix[CS_KEY_PREFIX_LEN] = '\0';
    sqlite3 *db = cs_db(cs);
    sqlite3_stmt *stmt = NULL;
    /* Every gateway call comes through here: the statement is cached per thread. */
    if (!db || core_stmt_get(db,
                             "SELECT k.key_hash, k.revoked_at IS NOT NULL, i.installed_app_id,"
                             " i.app_id, i.organization_id, i.instance_id, i.scopes,"
                             " k.api_key_prefix, i.status,"
                             " (julianday('now') - julianday(i.updated_at)) * 86400000.0"
                             " FROM api_keys k"
                             " JOIN installs i ON i.installed_app_id = k.installed_app_id"
                             " WHERE k.api_key_prefix = ?",
                             &stmt) != 0)
        return KEY_ERROR;
    db_bind_text(stmt, 1, prefix);
    enum lookup_result result = KEY_UNKNOWN;
    int row;
    while ((row = db_step_row(stmt)) == 1) {
        const unsigned char *stored = sqlite3_column_text(stmt, 0);
        if (!stored || strlen((const char *)stored) != CRYPTO_SHA256_HEX_BYTES - 1 ||
            !crypto_equal(stored, hash, CRYPTO_SHA256_HEX_BYTES - 1))
            continue;
        result = sqlite3_column_int(stmt, 1) ? KEY_REVOKED : KEY_LIVE;
        /* D27: a platform that activates the key only once the app's install 2xx is in */
        const char *status = (const char *)sqlite3_column_text(stmt, 8);
        if (result == KEY_LIVE && cs->config.key_activation &&
            (!status || strcmp(status, "active") != 0 ||
             sqlite3_column_double(stmt, 9) < (double)cs->config.key_activation_delay_ms))
            result = KEY_INACTIVE;
        db_column_copy(stmt, 2, who->installed_app_id, sizeof who->installed_app_id);
        db_column_copy(stmt, 3, who->app_id, sizeof who->app_id);
        db_column_copy(stmt, 4, who->organization_id, sizeof who->organization_id);
        db_column_copy(stmt, 5, who->instance_id, sizeof who->instance_id);
        who->scopes = (unsigned)sqlite3_column_int(stmt, 6);
        db_column_copy(stmt, 7, who->api_key_prefix, sizeof who->api_key_prefix);
        break;
    }
    if (row < 0)
        result = KEY_ERROR;
    core_stmt_put(stmt);
    return result;
}

long cs_max_page_size(const struct cloudsim *cs)
{
    return cs->config.max_page_size;
}

enum cs_alerts_list cs_alerts_list_mode(const struct cloudsim *cs)
{
    return cs->config.alerts_list;
}

/* 0 when a token was taken; otherwise the whole seconds until one is available (>= 1). */
static long rate_take(struct cloudsim *cs, const char *key_hash)
{
    double rate = cs->config.rate_limit_per_second;
    if (rate <= 0)
        return 0;
    double capacity = rate < 1 ? 1 : rate;
    int64_t now = cs_now_ms();
    long wait = 0;
    pthread_mutex_lock(&cs->rate_lock);
    if (!cs->rate_entries)
        cs->rate_entries = calloc(CS_MAX_RATE_KEYS, sizeof *cs->rate_entries);
    struct cs_rate_entry *e = NULL, *stalest = NULL;
    for (size_t i = 0; cs->rate_entries && i < cs->rate_count; i++) {
        if (strcmp(cs->rate_entries[i].key_hash, key_hash) == 0) {
            e = &cs->rate_entries[i];
            break;
        }
        if (!stalest || cs->rate_entries[i].last_ms < stalest->last_ms)
            stalest = &cs->rate_entries[i];
    }
    if (!e && cs->rate_entries) {
        e = cs->rate_count < CS_MAX_RATE_KEYS ? &cs->rate_entries[cs->rate_count++] : stalest;
        snprintf(e->key_hash, sizeof e->key_hash, "%s", key_hash);
        e->tokens = capacity;
        e->last_ms = now;
    }
    if (e) {
        e->tokens += (double)(now - e->last_ms) / 1000.0 * rate;
        if (e->tokens > capacity)
            e->tokens = capacity;
        e->last_ms = now;
        if (e->tokens >= 1.0) {
            e->tokens -= 1.0;
        } else {
            wait = (long)ceil((1.0 - e->tokens) / rate);
            if (wait < 1)
                wait = 1;
        }
    }
    pthread_mutex_unlock(&cs->rate_lock);
    return wait;
}

static int refuse(struct cloudsim *cs, struct http_request *req, const struct cs_principal *who,
                  unsigned status, const char *code, const char *message)
{
    http_respond_error(req, status, code, "%s", message);
    cs_audit(cs, who, http_method(req), http_path(req), status);
    log_info("cloudsim.gateway_refused", "req", http_request_id(req), "code", code,
             "installed_app_id", who->installed_app_id, "api_key_prefix", who->api_key_prefix,
             NULL);
    return -1;
}

int cs_gateway_begin(struct cloudsim *cs, struct http_request *req, unsigned required_scope,
                     int instance_required, struct cs_principal *who)
{
    memset(who, 0, sizeof *who);
    const char *auth = http_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return refuse(cs, req, who, 401, "missing_api_key",
                      "an Authorization: Bearer <api_key> header is required");
    const char *key = auth + 7;
    while (*key == ' ')
        key++;
    size_t key_len = strlen(key);
    if (key_len == 0 || key_len > CAPP_MAX_API_KEY_BYTES)
        return refuse(cs, req, who, 401, "invalid_api_key", "the API key is not valid");
    char hash[CRYPTO_SHA256_HEX_BYTES];
    switch (lookup_key(cs, key, key_len, who, hash)) {
    case KEY_ERROR:
        http_respond_error(req, 500, "internal_error", "the key store is unavailable");
        return -1;
    case KEY_UNKNOWN:
        memset(who, 0, sizeof *who);
        return refuse(cs, req, who, 401, "invalid_api_key", "the API key is not valid");
    case KEY_REVOKED:
        return refuse(cs, req, who, 401, "revoked_api_key", "the API key has been revoked");
    case KEY_INACTIVE:
        return refuse(cs, req, who, 401, "inactive_api_key", "the API key is not active yet");
    case KEY_LIVE:
        break;
    }
    const char *instance = http_query(req, "instance_id");
    if (instance_required && (!instance || !*instance))
        return refuse(cs, req, who, 400, "missing_instance_id",
                      "the instance_id query parameter is required");
    if (instance && strcmp(instance, who->instance_id) != 0)
        return refuse(cs, req, who, 403, "instance_mismatch",
                      "this API key is not valid for that instance_id");
    for (unsigned bit = 1; bit <= CS_SCOPE_ALERTS_WRITE; bit <<= 1) {
        if ((required_scope & bit) && !(who->scopes & bit)) {
            char message[128];
            snprintf(message, sizeof message, "this install was not granted the %s permission",
                     cs_scope_name(bit));
            return refuse(cs, req, who, 403, "missing_scope", message);
        }
    }
    long wait = rate_take(cs, hash);
    if (wait > 0) {
        char seconds[24];
        snprintf(seconds, sizeof seconds, "%ld", wait);
        http_add_header(req, "Retry-After", seconds);
        return refuse(cs, req, who, 429, "rate_limited",
                      "too many requests for this API key; retry later");
    }
    return 0;
}
