/*
 * launch_tokens.h — the in-memory launch-token table of the SQLite store (store_sqlite.c): where
 * a launch token minted by the portal generator waits, at most 60 s, for its one redemption.
 *
 * A store whose database one process owns keeps launch tokens here instead of in SQLite: they
 * are valid 60 s and single-use, so losing them in a crash costs a relaunch, and the portal
 * generator inserts one per launch, which must not cost a B-tree write and a commit (store.h).
 *
 * Keyed by the SHA-256 of the token (hex in the store_launch, 32 raw bytes inside); the token
 * itself is never passed in. Sharded by hash, each shard behind its own mutex with two
 * generations: new tokens go to the current one; the older one is dropped whole when the current
 * one is generation_ms old or has used its half of the shard's share of max_bytes. A token is
 * therefore kept at least generation_ms (choose twice the TTL, so an expired token still reads
 * as expired) unless launches arrive faster than max_bytes can hold: then the oldest unredeemed
 * tokens are dropped first: the arenas never exceed max_bytes (the bucket indexes add about 16
 * bytes a token). Expiry itself is the caller's check on expires_at_ms. max_bytes must give
 * each shard generation at least one 64 KiB arena chunk (2 MiB in all).
 *
 * Threads: every call from any thread; a table is freed once, when nobody uses it.
 */
#ifndef CAPP_LAUNCH_TOKENS_H
#define CAPP_LAUNCH_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h" /* struct store_launch */

struct launch_tokens;
int launch_tokens_new(size_t max_bytes, int64_t generation_ms, struct launch_tokens **out);
void launch_tokens_free(struct launch_tokens *t); /* NULL-safe */
/* CAPP_EEXIST when the hash is already held, CAPP_EINVAL for a malformed hash or field. */
int launch_tokens_put(struct launch_tokens *t, const struct store_launch *launch, int64_t now_ms);
/* Removes and returns the token: a second take of the same hash is CAPP_ENOTFOUND. */
int launch_tokens_take(struct launch_tokens *t, const char *token_hash, struct store_launch *out);
void launch_tokens_revoke_install(struct launch_tokens *t, const char *installed_app_id);
/* Drops generations that are due, so an idle table gives its memory back. */
void launch_tokens_rotate(struct launch_tokens *t, int64_t now_ms);
/* Bytes held (arenas and indexes), for tests and the bench. */
size_t launch_tokens_bytes(struct launch_tokens *t);

#endif
