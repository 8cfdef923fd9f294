/*
 * hash.h — FNV-1a, 64-bit: the one non-cryptographic string hash of the project, for hash
 * tables (capp's install cache, the pipeline's maps, cloudsim's cursors) and for values derived
 * from a string that must never change. Not for anything an attacker may choose to collide where
 * that would hurt (crypto.h has SHA-256).
 *
 * The prime and HASH_FNV1A_OFFSET are FNV's own (http://www.isthe.com/chongo/tech/comp/fnv/), so
 * hash_fnv1a() is the published FNV-1a 64; the tests check the reference vectors.
 *
 * HASH_FNV1A_OFFSET_SHORT is the offset basis with its last decimal digit missing, as the
 * seeder and the pipeline's maps were first written. It stays where its values outlive the
 * process: the seeder derives each instance's random seed from it (the seeded data of a seed and
 * an instance must be the same in every version), and the pipeline's map order decides the order
 * of persisted list-change tokens and removal records. New code uses HASH_FNV1A_OFFSET.
 */
#ifndef CAPP_HASH_H
#define CAPP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_OFFSET       14695981039346656037ULL /* 0xcbf29ce484222325 */
#define HASH_FNV1A_OFFSET_SHORT 1469598103934665603ULL  /* see above: for stable old values */

/* Continues hash h over n bytes at data: the hash of a then b is
 * hash_fnv1a_add(hash_fnv1a(a, na), b, nb). */
uint64_t hash_fnv1a_add(uint64_t h, const void *data, size_t n);
/* The same over a NUL-terminated string (without the NUL). */
uint64_t hash_fnv1a_add_str(uint64_t h, const char *s);
/* From HASH_FNV1A_OFFSET: the published FNV-1a 64. */
uint64_t hash_fnv1a(const void *data, size_t n);
uint64_t hash_fnv1a_str(const char *s);

#endif
