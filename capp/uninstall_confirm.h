/*
 * uninstall_confirm.h — an uninstall destroys the install's key only once Blnk Cloud confirms it
 * (spec D1').
 *
 * Lifecycle callbacks carry no signature, so anyone who learns an installed_app_id can POST an
 * uninstall for it. The store therefore applies an uninstall in two steps: at once, the install
 * turns inactive and its portal sessions, launch tokens and jobs end (nothing more can be done
 * in its name); its sealed key is kept, "pending confirmation". This worker then asks Cloud
 * whether the key still works (cloud_probe_key: a cheap call every key may make):
 *
 *   - 401: Cloud revoked the key, so the uninstall was real: the key is destroyed
 *     (store_uninstall_resolve CONFIRMED). Under V1 Cloud revokes before it notifies, so the
 *     first probe confirms; under V2 it revokes right after the app's 2xx, so one of the next;
 *   - the key still works when the window (10 minutes from the uninstall) has passed: the
 *     uninstall was forged. The install is restored (active, key kept; the store calls the
 *     install hook so its jobs resume), a log line says so and the forged hook (an audit record
 *     in the app) is called;
 *   - no conclusive answer (Cloud unreachable, 5xx): nothing is decided on no evidence; probing
 *     goes on at the longest backoff after the window until Cloud answers.
 *
 * Probes back off from backoff_ms, doubling up to backoff_max_ms, with one probe at the end of
 * the window. Pending confirmations are in the store, so a restart resumes them
 * (uninstall_confirm_start reads them back).
 *
 * Replicas: an uninstall may reach any replica sharing the database, and that replica may die
 * before it is settled. So besides its own wakes every worker re-reads the store's pending
 * uninstalls every rescan_ms (one listing query, plus one row read per pending uninstall) and
 * probes them all: every replica probes every pending uninstall. Probing twice is harmless:
 * store_uninstall_resolve names the pending uninstall (its pending_since), so only the first
 * resolution matches and the others get CAPP_ENOTFOUND; the key is destroyed, or the install
 * restored and the forged hook called, once across the cluster.
 *
 * Threads: one worker thread owns the Cloud client (STYLE rule 7). uninstall_confirm_wake may be
 * called from any thread (the lifecycle handler, on the store's writer thread). The forged hook
 * runs on the worker thread; setting it waits for a call in progress, so a program can clear it
 * before it frees what the hook uses.
 */
#ifndef CAPP_UNINSTALL_CONFIRM_H
#define CAPP_UNINSTALL_CONFIRM_H

#include <jansson.h>
#include <stdint.h>

struct store;
struct seal_keyring;
struct uninstall_confirm;

#define UNINSTALL_CONFIRM_WINDOW_MS      (10 * 60 * 1000LL)
#define UNINSTALL_CONFIRM_BACKOFF_MS     1000LL
#define UNINSTALL_CONFIRM_BACKOFF_MAX_MS 60000LL
#define UNINSTALL_CONFIRM_RESCAN_MS      30000LL

/* An uninstall of installed_app_id turned out forged and the install was restored. detail
 * (borrowed) is {"event":"uninstall_forged","action":"install_restored","uninstall_received_at",
 * "window_seconds","probes","last_status"}. */
typedef void (*uninstall_forged_fn)(void *ctx, const char *installed_app_id, const json_t *detail);

struct uninstall_confirm_config {
    struct store *store;                /* borrowed; must outlive the worker */
    const struct seal_keyring *keyring; /* borrowed; opens the kept key for a probe */
    int64_t window_ms;                  /* 0: UNINSTALL_CONFIRM_WINDOW_MS */
    int64_t backoff_ms;                 /* first wait; 0: UNINSTALL_CONFIRM_BACKOFF_MS */
    int64_t backoff_max_ms;             /* 0: UNINSTALL_CONFIRM_BACKOFF_MAX_MS (never below
                                           backoff_ms) */
    int64_t rescan_ms;                  /* re-read the store's pending uninstalls this often (those
                                           another replica received); 0:
                                           UNINSTALL_CONFIRM_RESCAN_MS */
};

/* CAPP_EINVAL for a negative duration or a missing store or keyring. Nothing runs until start. */
int uninstall_confirm_new(const struct uninstall_confirm_config *config,
                          struct uninstall_confirm **out);
/* fn may be NULL (no hook). Waits for a hook call in progress. */
void uninstall_confirm_set_forged_hook(struct uninstall_confirm *u, uninstall_forged_fn fn,
                                       void *ctx);
/* Starts the worker against Cloud at cloud_url (NULL: CLOUD_DEFAULT_BASE_URL; copied) and
 * resumes every pending confirmation in the store. */
int uninstall_confirm_start(struct uninstall_confirm *u, const char *cloud_url);
/* An uninstall was applied: read the pending ones again and probe the new one now. NULL-safe. */
void uninstall_confirm_wake(struct uninstall_confirm *u);
/* Stops the worker (an answer in flight is awaited, at most the Cloud timeout) and frees it.
 * Pending confirmations stay in the store. NULL-safe. */
void uninstall_confirm_free(struct uninstall_confirm *u);

#endif
