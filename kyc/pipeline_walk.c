/*
 * pipeline_walk.c — one run's reading side, on the coordinator thread: the paging walk of
 * /data/identities, the change snapshot, removed-identity detection and the reconciliation of
 * uncertain alerts.
 *
 * Design. A run loads the stored snapshot (identity → fields hash, lists key) into a hash map,
 * walks /data/identities page by page (D17′: until an empty page, a short page after a full
 * one or a page of nothing new — never on page × pageSize ≥ total or the size asked for, which a
 * server may cap — deduped by ID, in any order) and checks the new or changed identities
 * (pipeline_screen.c) — after a list change also the unchanged ones whose candidates the changed
 * entries could affect (pipeline_lists.c). Checked identities go in batches of PIPELINE_STORE_BATCH
 * to the committer (pipeline_commit.c), so checking and storing overlap. After a complete walk,
 * every stored identity it did not list is asked for once (GET /data/identities/{id}); a 404 marks
 * it removed, with its audit record, and queues its open alert for resolution.
 *
 * Work units (with unit workers: PostgreSQL by default): the walk does not check what it finds
 * but writes each page's new or changed identities as one unit row (kyc/results_units.h) that
 * the unit workers of every replica check (pipeline_units.c, with pipeline_check_listed: the
 * same check), and waits for the run's units to be finished before the removed-identity pass.
 * Before the snapshot it drops the units earlier runs left, after waiting for those a live
 * worker holds (their results must be in the snapshot). Units a replica that died had done or
 * held make it queue follow-up runs that send the outbox work that replica lost.
 *
 * Before the walk, alerts whose creation outcome is unknown ('uncertain': a timeout or 5xx on
 * create) are looked for in Cloud with alerts:read: ours carry a "KYC:" title; the ones found
 * are adopted, the others become 'wanted' again — but only when the listing proves it complete
 * (GET /alerts may come as {data,total}, a bare array, one object, paged or not). Never
 * re-created blind.
 *
 * Cloud calls: the walk's calls wait for and feed the install's shared pause, and a 401 ends
 * the run (pipeline_install.c); a removed identity's alert resolution goes on the writers' task
 * queue (pipeline_queues.c).
 *
 * State: everything lives in the run's context (struct run_ctx, pipeline_internal.h) — the
 * snapshot, the batch being filled, the uncertain alerts being reconciled — so runs share
 * nothing but the pipeline's lock-guarded counters. All database access goes through the
 * results layer (kyc/results.h) on the coordinator's connection.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>

#include "capp/clock.h"
#include "capp/cloud.h"
#include "capp/err.h"
#include "capp/log.h"
#include "kyc/audit.h"
#include "kyc/pipeline_internal.h"
#include "kyc/quality.h"
#include "kyc/review.h"
#include "kyc/screen/screen.h"

#define PAGE_SIZE      100
#define MAX_PAGE_TRIES 20
#define UNCERTAIN_MAX  10000 /* uncertain alerts reconciled per run; the rest wait for the next */

/* ---- the change snapshot ---- */

struct snap {
    struct results_snapshot_entry e;
    char *tokens;
    int seen;
};

static void snap_free(void *v)
{
    struct snap *s = v;
    if (s)
        free(s->tokens);
    free(s);
}

static int snap_visit(void *ctx, const char *id, const struct results_snapshot_entry *e,
                      const char *tokens)
{
    struct snap *s = calloc(1, sizeof *s);
    if (!s || !(s->tokens = strdup(tokens))) {
        free(s);
        return CAPP_ENOMEM;
    }
    s->e = *e;
    if (pipeline_map_put(ctx, id, s) != 0) {
        snap_free(s);
        return CAPP_ENOMEM;
    }
    return 0;
}

/* ---- checking what the walk lists ---- */

void pipeline_discard_batch(struct run_ctx *r)
{
    if (!r->cur)
        return;
    for (size_t i = 0; i < r->cur->n; i++)
        pipeline_checked_clear(&r->cur->batch[i]);
    free(r->cur);
    r->cur = NULL;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Screening is measured in the coordinator's CPU time (what it costs, not how long the
 * machine made it wait); fetching in wall time (it is mostly waiting for Cloud). */
static int64_t cpu_ms(void)
{
    return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

static int64_t wall_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* ---- detokenized screening (opt-in: the install's screen_tokenized setting) ---- */

static const char *core_field(const char *field)
{
    if (strcmp(field, "first_name") == 0)
        return "FirstName";
    if (strcmp(field, "last_name") == 0)
        return "LastName";
    return "OtherNames";
}

/* Wipes the copy's name fields (plaintext, or still tokens) and releases it. */
static void plain_free(json_t *plain, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(plain, names[i]);
        if (json_is_string(v))
            crypto_wipe((void *)json_string_value(v), json_string_length(v));
    }
    json_decref(plain);
}

/* The field is no longer a token for the rules: its meta_data.tokenized_fields flag goes. */
static void unflag(json_t *plain, const char *field)
{
    json_t *flags = json_object_get(json_object_get(plain, "meta_data"), "tokenized_fields");
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(flags, tmp, key, v)
    {
        if (quality_same_field_name(key, field))
            json_object_del(flags, key);
    }
    for (size_t i = json_array_size(flags); i-- > 0;)
        if (json_string_value(json_array_get(flags, i)) &&
            quality_same_field_name(json_string_value(json_array_get(flags, i)), field))
            json_array_remove(flags, i);
}

/* A copy of the identity with its tokenized names replaced by their plaintext, read one field
 * at a time through Core's documented detokenize route behind the proxy (GET
 * /proxy/identities/{id}/detokenize/{Field}: data:read). It lives only in memory, for the
 * checks; the caller wipes it (plain_free). NULL when a field cannot be read: the identity is
 * then screened as before (pii_tokenized) and tried again next run. */
static json_t *detokenized_copy(struct run_ctx *r, const json_t *item, const char *id,
                                const char *const *names, size_t n)
{
    json_t *plain = json_deep_copy(item);
    for (size_t i = 0; plain && i < n; i++) {
        char path[STORE_ID_CAP + 64];
        snprintf(path, sizeof path, "/proxy/identities/%s/detokenize/%s", id, core_field(names[i]));
        struct cloud_result res = {0};
        int rc;
        for (int tries = 0;; tries++) {
            if (pipeline_before_call(r->p, r->job, r->gen) != 0) {
                rc = CAPP_ESHUTDOWN;
                break;
            }
            rc = cloud_get(r->client, &r->inst->ci, path, NULL, &res);
            if (rc == CAPP_EUNAUTH && tries + 1 < MAX_PAGE_TRIES &&
                pipeline_key_refused(r->p, r->job, &res)) {
                cloud_result_free(&res);
                continue;
            }
            if (rc == 0 || !pipeline_retryable(&res) || tries + 1 >= MAX_PAGE_TRIES)
                break;
            pipeline_note_trouble(r->p, r->job, &res);
            cloud_result_free(&res);
        }
        if (rc == CAPP_EUNAUTH)
            pipeline_key_invalid(r->p, r->job);
        else if (rc == 0)
            pipeline_note_ok(r->p, r->job);
        json_t *value = json_object_get(res.body, "value");
        int ok = rc == 0 && json_is_string(value);
        if (ok) {
            json_object_set_new(plain, names[i],
                                json_stringn(json_string_value(value), json_string_length(value)));
            unflag(plain, names[i]);
        }
        if (json_is_string(value)) /* the response's copy of the plaintext */
            crypto_wipe((void *)json_string_value(value), json_string_length(value));
        cloud_result_free(&res);
        if (!ok) {
            log_info("kyc.pipeline.detokenize_failed", "installed_app_id", r->job->id,
                     "identity_id", id, "field", core_field(names[i]), "error",
                     capp_errcode(rc ? rc : CAPP_EPARSE), NULL);
            plain_free(plain, names, i);
            return NULL;
        }
    }
    return plain;
}

/* The identity's change hash for this run into c (identity_id, fields_hash): its screened
 * fields, the install's selection of lists and topics, and whether its tokenized names are
 * screened detokenized (names/n_names: those names; raw_hash: the hash without that). -1 when
 * it has no usable ID (skipped: nothing can track it). */
static int run_hash(struct run_ctx *r, const json_t *item, struct pipeline_checked *c,
                    char raw_hash[CRYPTO_SHA256_HEX_BYTES], const char *names[3], size_t *n_names)
{
    if (pipeline_identity_hash(item, c->identity_id, c->fields_hash) != 0)
        return -1;
    /* Tokenized names screened detokenized count as a change of their own, so turning the
     * setting on or off re-screens exactly the identities it concerns. */
    if (r->selection && r->selection->key[0]) {
        /* the install's choice of lists and topics is part of what was screened: changing it
         * re-screens every identity it concerns (all of them) */
        char mixed[CRYPTO_SHA256_HEX_BYTES + sizeof r->selection->key + 8];
        snprintf(mixed, sizeof mixed, "%s:sel:%s", c->fields_hash, r->selection->key);
        crypto_sha256_hex(mixed, strlen(mixed), c->fields_hash);
    }
    *n_names = r->detokenize ? quality_tokenized_names(item, names) : 0;
    memcpy(raw_hash, c->fields_hash, CRYPTO_SHA256_HEX_BYTES);
    if (*n_names) {
        char mixed[CRYPTO_SHA256_HEX_BYTES + 16];
        snprintf(mixed, sizeof mixed, "%s:detokenized", raw_hash);
        crypto_sha256_hex(mixed, strlen(mixed), c->fields_hash);
    }
    return 0;
}

int pipeline_check_listed(struct run_ctx *r, json_t *item)
{
    struct pipeline *p = r->p;
    if (!r->cur && !(r->cur = calloc(1, sizeof *r->cur)))
        return CAPP_ENOMEM;
    r->cur->r = r;
    struct pipeline_checked *c = &r->cur->batch[r->cur->n];
    memset(c, 0, sizeof *c);
    const char *names[3];
    size_t n_names = 0;
    char raw_hash[CRYPTO_SHA256_HEX_BYTES];
    if (run_hash(r, item, c, raw_hash, names, &n_names) != 0)
        return 0;
    if (r->taken_over) {
        /* a unit another worker held: what it stored (same hashes) is not stored twice */
        struct results_snapshot_entry e;
        int got = results_snapshot_get(r->db, r->job->id, c->identity_id, &e);
        if (got != 0 && got != CAPP_ENOTFOUND)
            return got;
        if (got == 0 && !e.removed && strcmp(e.fields_hash, c->fields_hash) == 0 &&
            strcmp(e.lists_key, p->lists.key) == 0)
            return 0;
    }
    json_t *plain = n_names ? detokenized_copy(r, item, c->identity_id, names, n_names) : NULL;
    if (n_names && !plain) /* screened as tokenized now: the next run tries again */
        memcpy(c->fields_hash, raw_hash, sizeof raw_hash);
    int64_t t0 = cpu_ms();
    int rc = pipeline_check_identity(p->cfg.engine, item, plain, p->today, &r->fp, r->selection, c);
    int64_t spent = cpu_ms() - t0;
    if (plain)
        plain_free(plain, names, n_names);
    r->checked++;
    r->check_ms += spent;
    if (rc)
        r->check_errors++;
    if (!r->unit_worker) { /* a unit worker's tallies go to its unit's row */
        pthread_mutex_lock(&p->lock);
        r->job->run.screen_ms += spent;
        r->job->run.screened++;
        if (rc)
            r->job->run.errors++;
        pthread_mutex_unlock(&p->lock);
    }
    if (rc) {
        pipeline_checked_clear(c);
        return 0;
    }
    if (++r->cur->n == PIPELINE_STORE_BATCH)
        return pipeline_store_submit(r);
    return 0;
}

static int handle_identity(struct run_ctx *r, json_t *item)
{
    struct pipeline *p = r->p;
    struct pipeline_checked c;
    const char *names[3];
    size_t n_names = 0;
    char raw_hash[CRYPTO_SHA256_HEX_BYTES];
    if (run_hash(r, item, &c, raw_hash, names, &n_names) != 0)
        return 0; /* an identity without a usable ID cannot be tracked: skipped */
    struct snap *s = pipeline_map_get(&r->snapshot, c.identity_id);
    if (s) {
        if (s->seen)
            return 0; /* D17 dedupe */
        s->seen = 1;
    }
    if (s && !s->e.removed && strcmp(s->e.fields_hash, c.fields_hash) == 0) {
        int same_lists = strcmp(s->e.lists_key, p->lists.key) == 0;
        int unaffected = !same_lists && p->lists.previous[0] &&
                         strcmp(s->e.lists_key, p->lists.previous) == 0 &&
                         strcmp(s->tokens, PIPELINE_TOKENS_DETOKENIZED) != 0 &&
                         !pipeline_lists_affects(&p->lists, s->tokens);
        if (same_lists || unaffected) {
            pthread_mutex_lock(&p->lock);
            r->job->run.unchanged++;
            pthread_mutex_unlock(&p->lock);
            return 0;
        }
    }
    if (r->units) /* checked by a unit worker, here or on another replica */
        return json_array_append(r->unit_items, item) == 0 ? 0 : CAPP_ENOMEM;
    return pipeline_check_listed(r, item);
}

/* ---- work units ---- */

#define UNIT_WAIT_MS 50 /* how often the walker looks at its units' progress */

/* The run's progress from its units' rows: what the workers (of every replica) checked. */
static int units_progress(struct run_ctx *r, struct results_units_progress *pr)
{
    int rc = results_units_progress(r->db, r->job->id, r->run_key, pr);
    if (rc == 0) {
        pthread_mutex_lock(&r->p->lock);
        r->job->run.screened = pr->screened;
        r->job->run.errors = pr->errors + pr->failed;
        r->job->run.screen_ms = pr->screen_ms;
        pthread_mutex_unlock(&r->p->lock);
    }
    return rc;
}

/* Writes the identities of this page that need checking as one unit row (one INSERT) and wakes
 * this replica's idle workers. */
static int flush_unit(struct run_ctx *r)
{
    if (!json_array_size(r->unit_items))
        return 0;
    char *text = json_dumps(r->unit_items, JSON_COMPACT);
    if (!text)
        return CAPP_ENOMEM;
    int rc = results_unit_add(r->db, r->job->id, r->run_key, ++r->unit_no, r->p->holder,
                              r->p->lists.key, text);
    crypto_wipe(text, strlen(text)); /* customer PII */
    free(text);
    json_array_clear(r->unit_items);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->p->lock);
    pthread_cond_broadcast(&r->p->units_wake);
    pthread_mutex_unlock(&r->p->lock);
    if (r->unit_no % 10 == 0) {
        struct results_units_progress pr;
        units_progress(r, &pr);
    }
    return 0;
}

/* Waits UNIT_WAIT_MS (less when stopping wakes units_wake); 0 while the run may go on (the
 * install is live, the server not stopping), else CAPP_ESHUTDOWN. */
static int units_pause(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    pthread_mutex_lock(&p->lock);
    pipeline_wait_until(p, &p->units_wake, r->job, r->gen, clock_now_ms() + UNIT_WAIT_MS);
    int live = pipeline_job_live(r->job, r->gen) && !p->stopping;
    pthread_mutex_unlock(&p->lock);
    return live ? 0 : CAPP_ESHUTDOWN;
}

/* Before the snapshot: drops the units earlier runs of the install left (a run that failed, or
 * whose walker died), after the ones a live worker still holds are finished — their stores
 * must be in the snapshot, or this run would check those identities again. */
static int units_begin(struct run_ctx *r)
{
    int64_t left = 0;
    int rc;
    while ((rc = results_units_forget_others(r->db, r->job->id, r->run_key, clock_now_ms(),
                                             &left)) == 0 &&
           left > 0 && (rc = units_pause(r)) == 0)
        ;
    return rc;
}

/* After the walk: waits until every unit of the run is finished (by a worker of any replica; a
 * unit whose worker died is claimed again when its lease expires). */
static int units_wait(struct run_ctx *r)
{
    struct results_units_progress pr;
    int rc;
    while ((rc = units_progress(r, &pr)) == 0 && pr.finished < pr.units &&
           (rc = units_pause(r)) == 0)
        ;
    int64_t orphaned = 0;
    if (rc == 0 && pr.units > 0 &&
        results_units_orphaned(r->db, r->job->id, r->run_key, r->p->holder, clock_now_ms(),
                               &orphaned) == 0 &&
        orphaned > 0) {
        /* a replica that did units died or stopped: the outbox work its writers had queued is
         * pending in the database; two runs after this one send it and reconcile its alerts */
        pthread_mutex_lock(&r->p->lock);
        r->job->follow_ups = 2;
        pthread_mutex_unlock(&r->p->lock);
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)orphaned);
        log_info("kyc.pipeline.units_orphaned", "installed_app_id", r->job->id, "units", n,
                 "effect", "follow-up runs send the outbox work a lost replica left", NULL);
    }
    if (rc == 0 && pr.units > 0) {
        char units[24], failed[24];
        snprintf(units, sizeof units, "%lld", (long long)pr.units);
        snprintf(failed, sizeof failed, "%lld", (long long)pr.failed);
        log_info("kyc.pipeline.units_finished", "installed_app_id", r->job->id, "units", units,
                 "failed", failed, NULL);
    }
    return rc;
}

/* ---- paging ---- */

/* How a walk ended. */
struct walk_end {
    int complete; /* ended by the D17′ rule (cloud_page_is_last), not a failure or the page cap */
    int single;   /* a page came as one bare object: it lists one item, not necessarily all */
    long unique;  /* distinct IDs seen */
    long total;   /* Cloud's last "total", -1 when it gave none */
};

static char seen_mark; /* the value of the walk's seen-ID map: only presence counts */

/* Pages a GET walk with the pipeline's retries; fn once per distinct ID (D17′: items in any
 * order, deduped by id_field; items without one are skipped, as nothing can track them). The
 * walk never trusts page × pageSize ≥ total nor the page size it asked for: it ends on an empty
 * page, a page shorter than the one before it, or a page with nothing new (cloud_page_is_last). */
static int walk(struct run_ctx *r, const char *path, const char *id_field,
                int (*fn)(struct run_ctx *, json_t *), int count_fetch, struct walk_end *end)
{
    struct pipeline *p = r->p;
    struct pipeline_map seen = {0};
    *end = (struct walk_end){.total = -1};
    long prev_len = -1;
    int rc = 0;
    for (long page = 1; page <= CLOUD_PAGE_MAX_PAGES; page++) {
        char page_text[24], size_text[24];
        snprintf(page_text, sizeof page_text, "%ld", page);
        snprintf(size_text, sizeof size_text, "%d", PAGE_SIZE);
        const char *query[] = {"page", page_text, "pageSize", size_text, NULL};
        struct cloud_result res;
        for (int tries = 0;; tries++) {
            if (pipeline_before_call(p, r->job, r->gen) != 0) {
                pipeline_map_clear(&seen, NULL);
                return CAPP_ESHUTDOWN;
            }
            int64_t t0 = wall_ms();
            rc = cloud_get(r->client, &r->inst->ci, path, query, &res);
            if (count_fetch) {
                pthread_mutex_lock(&p->lock);
                r->job->run.fetch_ms += wall_ms() - t0;
                pthread_mutex_unlock(&p->lock);
            }
            if (rc == CAPP_EUNAUTH && tries + 1 < MAX_PAGE_TRIES &&
                pipeline_key_refused(p, r->job, &res)) {
                cloud_result_free(&res);
                continue; /* D27: a new install's key may not be active yet */
            }
            if (rc == 0 || !pipeline_retryable(&res) || tries + 1 >= MAX_PAGE_TRIES)
                break;
            pipeline_note_trouble(p, r->job, &res);
            cloud_result_free(&res);
        }
        if (rc == CAPP_EUNAUTH)
            pipeline_key_invalid(p, r->job);
        if (rc) {
            cloud_result_free(&res);
            break;
        }
        pipeline_note_ok(p, r->job);
        enum cloud_list_shape shape;
        long total = -1;
        json_t *data = cloud_list_items(res.body, id_field, &shape, &total);
        cloud_result_free(&res);
        if (!data) {
            log_warn("kyc.pipeline.not_a_list", "installed_app_id", r->job->id, "path", path, NULL);
            rc = CAPP_EPARSE;
            break;
        }
        if (shape == CLOUD_LIST_SINGLE)
            end->single = 1;
        if (total >= 0)
            end->total = total;
        size_t n = json_array_size(data);
        if (count_fetch) {
            pthread_mutex_lock(&p->lock);
            r->job->run.fetched += (long long)n;
            r->job->total_reported = end->total;
            pthread_mutex_unlock(&p->lock);
        }
        long fresh = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_t *item = json_array_get(data, i);
            const char *id = json_string_value(json_object_get(item, id_field));
            if (!id || !*id || pipeline_map_get(&seen, id))
                continue;
            rc = pipeline_map_put(&seen, id, &seen_mark);
            if (rc == 0) {
                fresh++;
                end->unique++;
                rc = fn(r, item);
            }
        }
        json_decref(data);
        if (rc == 0 && count_fetch && r->units)
            rc = flush_unit(r); /* one unit per page */
        if (rc)
            break;
        if (cloud_page_is_last(prev_len, (long)n, fresh)) {
            end->complete = 1;
            break;
        }
        prev_len = (long)n;
    }
    pipeline_map_clear(&seen, NULL);
    return rc;
}

/* ---- uncertain alerts ---- */

/* 1 for an alert that is closed (resolved by us or in Cloud): an uncertain creation is never
 * adopted as an older, closed alert of the same identity. */
static int alert_closed(const json_t *alert)
{
    const char *status = json_string_value(json_object_get(alert, "status"));
    return status && (strcasecmp(status, "RESOLVED") == 0 ||
                      strcasecmp(status, PIPELINE_ALERT_CLEARED_STATUS) == 0);
}

static int reconcile_alert(struct run_ctx *r, json_t *alert)
{
    const char *anomaly = json_string_value(json_object_get(alert, "anomaly_id"));
    const char *title = json_string_value(json_object_get(alert, "title"));
    json_t *affected = json_object_get(alert, "affected_identities");
    if (!anomaly || !title || strncmp(title, "KYC:", 4) != 0 || !json_is_array(affected) ||
        alert_closed(alert))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(affected, i, v)
    {
        const char *id = json_string_value(v);
        if (!id)
            continue;
        char *found = pipeline_map_get(r->uncertain, id);
        if (found && !*found) {
            char anomaly_id[STORE_ID_CAP];
            snprintf(anomaly_id, sizeof anomaly_id, "%s", anomaly);
            /* 'uncertain' → 'open' with the alert Cloud has */
            results_alert_adopt(r->db, r->job->id, id, anomaly_id);
            *found = 1;
        }
    }
    return 0;
}

void pipeline_reconcile_uncertain(struct run_ctx *r)
{
    if (!r->inst->can_alert_read)
        return;
    /* ~1.3 MB: on the heap, for this run only */
    char(*ids)[STORE_ID_CAP] = malloc(UNCERTAIN_MAX * sizeof *ids);
    size_t n = 0;
    if (!ids || results_uncertain_alerts(r->db, r->job->id, ids, UNCERTAIN_MAX, &n) != 0 ||
        n == 0) {
        free(ids);
        return;
    }
    struct pipeline_map map = {0};
    char *found = calloc(n, 1);
    for (size_t i = 0; found && i < n; i++)
        pipeline_map_put(&map, ids[i], &found[i]);
    r->uncertain = &map;
    struct walk_end end;
    int rc = found ? walk(r, "/alerts", "anomaly_id", reconcile_alert, 0, &end) : CAPP_ENOMEM;
    r->uncertain = NULL;
    /* D17′: an alert is proven absent only by a listing that is complete: the walk reached its
     * end, no page was a lone object (which lists one alert, not all), and it saw as many
     * alerts as Cloud's total says there are (when it gives one). Otherwise the uncertain ones
     * stay uncertain: creating one again could duplicate it. */
    int proven =
        rc == 0 && end.complete && !end.single && (end.total < 0 || end.unique >= end.total);
    if (proven) {
        size_t missing = 0; /* the ids Cloud does not have, moved to the front */
        for (size_t i = 0; i < n; i++)
            if (!found[i] && missing++ != i)
                memcpy(ids[missing - 1], ids[i], sizeof ids[i]);
        results_alerts_not_found(r->db, r->job->id, (const char(*)[STORE_ID_CAP])ids, missing);
    } else if (rc == 0) {
        char unique[24], total[24];
        snprintf(unique, sizeof unique, "%ld", end.unique);
        snprintf(total, sizeof total, "%ld", end.total);
        log_warn("kyc.pipeline.alerts_listing_incomplete", "installed_app_id", r->job->id, "listed",
                 unique, "total", total, "effect",
                 "uncertain alerts stay uncertain until a complete listing", NULL);
    }
    pipeline_map_clear(&map, NULL);
    free(found);
    free(ids);
}

/* ---- the list_load record ---- */

/* The install's list_load audit record, the first time it is screened against this
 * generation (lists are global: each install's chain records the load it was screened with). */
static int record_list_load(struct pipeline *p, results_db *db, struct audit_writer *aw,
                            const char *installed_app_id)
{
    if (!p->lists.loaded)
        return 0;
    int rc = results_begin(db);
    if (rc)
        return rc;
    rc = results_list_load_claim(db, installed_app_id, p->lists.key, clock_now_ms());
    if (rc == 1) {
        json_t *payload =
            json_pack("{s:s, s:s, s:O, s:I, s:I, s:s}", "lists_key", p->lists.key, "previous_key",
                      p->lists.previous, "lists", p->lists.lists, "entries",
                      (json_int_t)p->lists.n_entries, "changed_tokens",
                      (json_int_t)p->lists.n_changed, "engine_version", SCREEN_ENGINE_VERSION);
        rc = payload ? audit_writer_append(aw, installed_app_id, "system", AUDIT_LIST_LOAD, NULL,
                                           payload, NULL)
                     : CAPP_ENOMEM;
        json_decref(payload);
    }
    if (rc == 0)
        rc = results_commit(db);
    if (rc) {
        results_rollback(db);
        log_error("kyc.pipeline.list_load_unrecorded", "installed_app_id", installed_app_id,
                  "error", capp_errcode(rc), NULL);
    }
    return rc;
}

/* ---- removed identities ---- */

/* Asks Blnk about one identity the walk did not list: 1 gone (404), 0 still there (the list
 * moved under the walk's pages), < 0 a failure that ends the check for this run. */
static int confirm_gone(struct run_ctx *r, const char *identity_id)
{
    char path[STORE_ID_CAP + 32];
    snprintf(path, sizeof path, "/data/identities/%s", identity_id);
    for (int tries = 0;; tries++) {
        if (pipeline_before_call(r->p, r->job, r->gen) != 0)
            return CAPP_ESHUTDOWN;
        struct cloud_result res;
        int rc = cloud_get(r->client, &r->inst->ci, path, NULL, &res);
        if (rc == CAPP_EUNAUTH && tries + 1 < MAX_PAGE_TRIES &&
            pipeline_key_refused(r->p, r->job, &res)) {
            cloud_result_free(&res);
            continue;
        }
        int again = rc != 0 && rc != CAPP_ENOTFOUND && pipeline_retryable(&res) &&
                    tries + 1 < MAX_PAGE_TRIES;
        if (again)
            pipeline_note_trouble(r->p, r->job, &res);
        else if (rc == 0 || rc == CAPP_ENOTFOUND)
            pipeline_note_ok(r->p, r->job);
        cloud_result_free(&res);
        if (rc == CAPP_EUNAUTH)
            pipeline_key_invalid(r->p, r->job);
        if (!again)
            return rc == CAPP_ENOTFOUND ? 1 : rc;
    }
}

/* After a complete walk: every stored identity it did not list that Blnk confirms gone (404 on
 * GET /data/identities/{id}) is marked removed with an "identity_removed" audit record, in one
 * transaction per PIPELINE_STORE_BATCH, and its open alert is queued for resolution. Returns how
 * many were marked. */
static long detect_removed(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    long marked = 0;
    const struct pipeline_map *m = &r->snapshot;
    char(*gone)[STORE_ID_CAP] = malloc(PIPELINE_STORE_BATCH * sizeof *gone);
    if (!gone)
        return 0;
    size_t i = 0;
    int stop = 0;
    while (!stop && i < m->cap) {
        size_t n = 0;
        for (; i < m->cap && n < PIPELINE_STORE_BATCH; i++) {
            const struct snap *s = m->slots[i].key ? m->slots[i].value : NULL;
            if (!s || s->seen || s->e.removed)
                continue;
            int rc = confirm_gone(r, m->slots[i].key);
            if (rc < 0) {
                stop = 1;
                break;
            }
            if (rc == 1)
                snprintf(gone[n++], STORE_ID_CAP, "%s", m->slots[i].key);
        }
        if (n == 0)
            continue;
        struct results_outbox_item items[PIPELINE_STORE_BATCH];
        struct audit_entry entries[PIPELINE_STORE_BATCH];
        json_t *payloads[PIPELINE_STORE_BATCH] = {0};
        size_t n_items = 0, n_entries = 0;
        int rc = results_begin(r->db);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            char status[RESULTS_STATUS_CAP] = "";
            struct results_outbox_item *it = &items[n_items];
            rc = results_mark_removed(r->db, r->job->id, gone[k], clock_now_ms(), status,
                                      sizeof status, it);
            if (rc == CAPP_ENOTFOUND) { /* removed meanwhile: nothing to record */
                rc = 0;
                continue;
            }
            if (rc)
                break;
            if (it->alert_resolve)
                n_items++;
            else
                results_outbox_item_clear(it);
            payloads[n_entries] = json_pack("{s:s, s:s}", "previous_status", status, "confirmed_by",
                                            "GET /data/identities/{id}: 404 after a complete walk");
            if (!payloads[n_entries]) {
                rc = CAPP_ENOMEM;
                break;
            }
            entries[n_entries] = (struct audit_entry){.kind = AUDIT_IDENTITY_REMOVED,
                                                      .identity_id = gone[k],
                                                      .payload = payloads[n_entries]};
            n_entries++;
        }
        if (rc == 0)
            rc = audit_append_many(r->audit, r->job->id, "system", entries, n_entries, NULL);
        if (rc == 0)
            rc = results_commit(r->db);
        for (size_t k = 0; k < n_entries; k++)
            json_decref(payloads[k]);
        if (rc) {
            results_rollback(r->db);
            log_error("kyc.pipeline.removed_unrecorded", "installed_app_id", r->job->id, "error",
                      capp_errcode(rc), NULL);
            for (size_t k = 0; k < n_items; k++)
                results_outbox_item_clear(&items[k]);
            break;
        }
        marked += (long)n_entries;
        pipeline_enqueue_items(p, r->job, r->gen, r->inst, items, n_items, 0);
        for (size_t k = 0; k < n_items; k++)
            results_outbox_item_clear(&items[k]);
    }
    free(gone);
    return marked;
}

/* ---- the run's walk ---- */

int pipeline_run_settings(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    struct job *j = r->job;
    r->fp = (struct pipeline_fp){
        .db = r->db, .installed_app_id = j->id, .entry_hashes = p->lists.entry_hashes};
    struct review_settings settings;
    int settings_rc = review_settings_get(r->db, j->id, &settings);
    r->detokenize = r->inst->can_read && settings_rc == 0 && settings.screen_tokenized;
    int rc = settings_rc;
    if (rc == 0 && !(r->selection = malloc(sizeof *r->selection)))
        rc = CAPP_ENOMEM;
    if (rc == 0) {
        /* CAPP_ETOOBIG: more lists or topics loaded than a selection holds; then everything
         * is screened, whatever the setting */
        rc = pipeline_selection_make(p->cfg.engine, &settings, r->selection);
        if (rc == CAPP_ETOOBIG) {
            r->selection->n_sources = r->selection->n_topics = 0;
            r->selection->key[0] = '\0';
            if (!r->unit_worker) /* once a run, not once a unit */
                log_info("kyc.pipeline.selection_truncated", "installed_app_id", j->id, NULL);
            rc = 0;
        }
    }
    return rc;
}

void pipeline_run_settings_clear(struct run_ctx *r)
{
    free(r->selection);
    r->selection = NULL;
}

int pipeline_walk_identities(struct run_ctx *r)
{
    struct pipeline *p = r->p;
    struct job *j = r->job;
    int rc = pipeline_run_settings(r);
    if (rc == 0)
        rc = record_list_load(p, r->db, r->audit, j->id);
    /* work units: the walk writes what needs checking as units that this replica's and the
     * others' unit workers check (pipeline_units.c); else it checks them itself */
    pthread_mutex_lock(&p->lock);
    r->units = p->unit_workers_up > 0;
    long long started = (long long)j->run.started_at_ms;
    pthread_mutex_unlock(&p->lock);
    if (r->units) {
        snprintf(r->run_key, sizeof r->run_key, "%s:%lld", p->holder, started);
        r->unit_no = 0;
        if (!(r->unit_items = json_array()))
            rc = rc ? rc : CAPP_ENOMEM;
        if (rc == 0)
            rc = units_begin(r);
    }
    if (rc == 0)
        rc = results_snapshot_each(r->db, j->id, snap_visit, &r->snapshot);
    struct walk_end end = {0};
    if (rc == 0)
        rc = walk(r, "/data/identities", "identity_id", handle_identity, 1, &end);
    r->walk_complete = rc == 0 && end.complete;
    if (rc == 0 && r->units)
        rc = flush_unit(r);
    if (rc == 0 && r->units)
        rc = units_wait(r);
    if (rc == 0)
        rc = pipeline_store_submit(r);
    pipeline_discard_batch(r); /* what a failed walk left unsubmitted */
    json_decref(r->unit_items);
    r->unit_items = NULL;
    int stored = pipeline_store_wait(r);
    if (rc == 0)
        rc = stored;
    if (rc == 0 && r->walk_complete) {
        long removed = detect_removed(r);
        if (removed > 0) {
            char n_text[24];
            snprintf(n_text, sizeof n_text, "%ld", removed);
            log_info("kyc.pipeline.removed", "installed_app_id", j->id, "identities", n_text, NULL);
        }
    }
    if (rc == 0 && p->lists.previous[0])
        results_advance_lists_key(r->db, j->id, p->lists.previous, p->lists.key);
    pipeline_map_clear(&r->snapshot, snap_free);
    pipeline_run_settings_clear(r);
    return rc;
}
