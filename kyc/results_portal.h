/*
 * results_portal.h — the results store as the review portal reads it (kyc/portal_*.c,
 * kyc/review.c, the pipeline's progress): the queue with its filters, one identity, counts, the
 * score histogram, runs and outbox counts. Read-only; every query is scoped by install.
 */
#ifndef KYC_RESULTS_PORTAL_H
#define KYC_RESULTS_PORTAL_H

#include "kyc/results.h"

struct results_filter {
    const char *status; /* NULL/"": any; one status */
    const char *risk;   /* NULL/"": any; low|medium|high */
    const char *reason; /* NULL/"": any; a reason code [a-z_]{1,32} */
    const char *name;   /* NULL/"": any; case-insensitive substring of the display name */
    const char *sort;   /* "score" (default), "updated", "name", "status" */
    const char *order;  /* "asc" | "desc"; NULL: desc for score/updated, asc for name/status */
    int page;           /* from 1 */
    int page_size;      /* 1..RESULTS_PAGE_SIZE_MAX, 0: 50 */
};

/* {"items":[{identity_id,name,identity_type,status,risk,score,reasons,screened_at,
 * updated_at,writeback,alert}], "total", "page", "page_size"}. CAPP_EINVAL names a bad filter
 * in *why (static string). */
int results_list(results_db *db, const char *installed_app_id, const struct results_filter *f,
                 json_t **out, const char **why);
/* One identity: the list fields plus "identity" (the stored results_identity_fields object, {}
 * when none), "matches" (with explanations), "findings", "suppressed"
 * (matches dropped as remembered false positives: [{entry_id, entry_hash, score, band}]),
 * "considered" (every candidate the engine considered, as the matches are, kept also when
 * clear: "discounted" marks one whose name alone reached the review floor), "lists",
 * "engine_version", "computed_status", "decided_by", "decided_at", "anomaly_id", "check_id".
 * CAPP_ENOTFOUND when absent for this install. */
int results_get(results_db *db, const char *installed_app_id, const char *identity_id,
                json_t **out);
/* {"clear":n,"needs_review":n,"hit":n,"approved":n,"rejected":n,"error":n,"total":n} */
int results_counts(results_db *db, const char *installed_app_id, json_t **out);
/* {"buckets":[{"from":0.0,"to":0.05,"count":n},...]} over RESULTS_HIST_BUCKETS equal buckets. */
int results_score_histogram(results_db *db, const char *installed_app_id, json_t **out);
/* The newest `limit` runs, newest first: [{run_id,trigger,state,started_at,finished_at,
 * fetched,screened,unchanged,written,alerts_created,alerts_resolved,errors,rate_limited,
 * fetch_ms,screen_ms,write_ms,message}]. */
int results_runs(results_db *db, const char *installed_app_id, int limit, json_t **out);
/* Outbox counts: {"writeback_pending","writeback_failed","alerts_wanted","alerts_open",
 * "alerts_uncertain","alerts_failed"}. */
int results_outbox_counts(results_db *db, const char *installed_app_id, json_t **out);

/* The content hash of a list entry in the current generation (kyc_list_entries) into out;
 * CAPP_ENOTFOUND when the entry is not in it. */
int results_list_entry_hash(results_db *db, const char *entry_id, char out[RESULTS_HASH_CAP]);

#endif
