#include "hash.h"

#define FNV1A_PRIME 0x100000001b3ULL

uint64_t hash_fnv1a_add(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV1A_PRIME;
    return h;
}

uint64_t hash_fnv1a_add_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV1A_PRIME;
    return h;
}

uint64_t hash_fnv1a(const void *data, size_t n)
{
    return hash_fnv1a_add(HASH_FNV1A_OFFSET, data, n);
}

uint64_t hash_fnv1a_str(const char *s)
{
    return hash_fnv1a_add_str(HASH_FNV1A_OFFSET, s);
}
