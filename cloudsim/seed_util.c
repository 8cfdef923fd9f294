/*
 * seed_util.c — the seeder's primitives, shared by the generator (seed.c) and the planting of
 * list names (seed_plant.c): the splitmix64 stream every choice comes from, a bounded UTF-8-safe
 * copy, and a date of birth for an age range on the fixed reference date (never the clock).
 */
#include <stdio.h>
#include <string.h>

#include "seed_internal.h"

/* ---- PRNG ---- */

uint64_t seed_rng_next(struct seed_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t seed_rng_below(struct seed_rng *r, uint64_t n)
{
    return n ? seed_rng_next(r) % n : 0;
}

double seed_rng_unit(struct seed_rng *r)
{
    return (double)(seed_rng_next(r) >> 11) / 9007199254740992.0;
}

/* Bounded copy that never cuts a UTF-8 sequence in half. */
void seed_set(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memmove(dst, src, n);
    dst[n] = '\0';
}

void seed_random_dob(struct seed_rng *r, char out[11], int min_age, int max_age)
{
    int year =
        SEED_REFERENCE_YEAR - min_age - (int)seed_rng_below(r, (uint64_t)(max_age - min_age));
    int month = 1 + (int)seed_rng_below(r, 12);
    int day = 1 + (int)seed_rng_below(r, 28);
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", year, month, day);
    seed_set(out, 11, tmp);
}
