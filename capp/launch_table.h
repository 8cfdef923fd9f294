/*
 * launch_table.h — unredeemed launch tokens held in memory by the SQLite store.
 *
 * A launch token lives 60 s and is redeemed once, so it need not survive a restart (Cloud mints
 * a fresh portal URL per launch). Keyed by the token's SHA-256 hex; thread-safe; bounded by
 * CAPP_MAX_LIVE_LAUNCH_TOKENS (expired entries are swept before refusing with CAPP_EBUSY).
 */
#ifndef CAPP_LAUNCH_TABLE_H
#define CAPP_LAUNCH_TABLE_H

#include <stdint.h>

#include "store.h"

struct launch_table;

int launch_table_new(struct launch_table **out);
void launch_table_free(struct launch_table *t);
int launch_table_put(struct launch_table *t, const struct store_launch *launch, int64_t now_ms);
int launch_table_take(struct launch_table *t, const char *token_hash, struct store_launch *out);
/* Drops every token of one install (uninstall). */
void launch_table_revoke_install(struct launch_table *t, const char *installed_app_id);
void launch_table_purge(struct launch_table *t, int64_t now_ms);

#endif
