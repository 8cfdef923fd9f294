/*
 * core_alerts.h — Cloud-native alerts and custom alert statuses (spec §8.5, D14, D15).
 *
 * Alerts belong to one organization and one instance (the calling key's); custom statuses to
 * one organization. Errors fill a struct core_error with Cloud's status and a project code
 * (the gateway answers {"error","code"}): 400 bad input, 404 unknown alert/target/status,
 * 409 key taken or status in use. JSON results are new references the caller owns.
 */
#ifndef CLOUDSIM_CORE_ALERTS_H
#define CLOUDSIM_CORE_ALERTS_H

#include <jansson.h>
#include <sqlite3.h>

#include "cloudsim/core.h"

#define CS_ALERT_MAX_TITLE       500
#define CS_ALERT_MAX_DESCRIPTION 10000
#define CS_ALERT_MAX_STATUS_NAME 100

/* The built-in status keys. */
extern const char *const cs_alert_builtin_statuses[3];
/* D28: without_resolved 1 models organizations that have no RESOLVED status (setting it is
 * refused as unknown, the listing leaves it out). Process-wide configuration: set once before
 * serving (cloudsim serve --without-resolved-status). */
void cs_alert_configure(int without_resolved);
/* The allowed colours, NULL-terminated. */
extern const char *const cs_alert_allowed_colours[];

/* POST /alerts/flag/{target_id}: type from the ID prefix (idt_ Identity, bln_ Balance,
 * txn_ Transaction), the target must exist in the instance. title may be NULL. */
int cs_alert_create(sqlite3 *db, const char *organization_id, const char *instance_id,
                    const char *target_id, const char *title, const char *description, json_t **out,
                    struct core_error *err);
/* PUT /alerts/flag/{anomaly_id}: any of title, description, status may be NULL. status must be
 * built-in or one of the organization's custom keys (case-insensitive). */
int cs_alert_update(sqlite3 *db, const char *organization_id, const char *instance_id,
                    const char *anomaly_id, const char *title, const char *description,
                    const char *status, json_t **out, struct core_error *err);
int cs_alert_get(sqlite3 *db, const char *organization_id, const char *instance_id,
                 const char *anomaly_id, json_t **out, struct core_error *err);
/* Newest first; *data a JSON array, *total the count. */
int cs_alert_list(sqlite3 *db, const char *organization_id, const char *instance_id,
                  long long limit, long long offset, json_t **data, long long *total);

/* {"data":[...],"allowed_colours":[...]}: the built-in statuses (not deletable, listed first
 * with the organization's ID and the epoch as their times), then the custom ones. */
int cs_alert_status_list(sqlite3 *db, const char *organization_id, json_t **out);
/* key NULL or "": derived from name ("Pending Review" → PENDING_REVIEW). */
int cs_alert_status_create(sqlite3 *db, const char *organization_id, const char *name,
                           const char *colour, const char *key, json_t **out,
                           struct core_error *err);
int cs_alert_status_update(sqlite3 *db, const char *organization_id, const char *key,
                           const char *name, const char *colour, json_t **out,
                           struct core_error *err);
int cs_alert_status_delete(sqlite3 *db, const char *organization_id, const char *key,
                           struct core_error *err);
/* "Pending Review" → "PENDING_REVIEW" into out (cap bytes); 0 or CAPP_EINVAL when empty. */
int cs_alert_status_key(const char *name, char *out, size_t cap);

#endif
