#include "sx_bloom.h"
#include "sx_hash.h"

#include <stdint.h>
#include <stdlib.h>

#define PROBES 7

struct sx_bloom {
    uint64_t *bits;
    uint64_t mask;   /* bits - 1 */
    size_t bytes;
};

sx_bloom *sx_bloom_new(size_t bytes)
{
    if (!bytes) {
        const char *env = getenv("SX_BLOOM_BYTES");
        char *end;
        unsigned long long v = env ? strtoull(env, &end, 10) : 0;
        bytes = env && *env && !*end && v >= 8 ? (size_t)v : SX_BLOOM_DEFAULT_BYTES;
    }
    size_t p = 8;
    while (p * 2 <= bytes && p * 2 != 0)
        p *= 2;
    sx_bloom *b = calloc(1, sizeof *b);
    if (!b || !(b->bits = calloc(p / 8, sizeof *b->bits))) {
        free(b);
        return NULL;
    }
    b->bytes = p;
    b->mask = (uint64_t)p * 8 - 1;
    return b;
}

void sx_bloom_free(sx_bloom *b)
{
    if (!b)
        return;
    free(b->bits);
    free(b);
}

/* Two independent hashes; the probes are h1 + i*h2 (double hashing). */
static void hashes(const char *s, size_t n, uint64_t *h1, uint64_t *h2)
{
    uint64_t h = sx_fnv1a(SX_FNV_BASIS, s, n);
    *h1 = sx_mix64(h);
    *h2 = sx_mix64(h ^ 0x9e3779b97f4a7c15ULL) | 1;
}

void sx_bloom_add(sx_bloom *b, const char *s, size_t n)
{
    uint64_t h1, h2;
    hashes(s, n, &h1, &h2);
    for (int i = 0; i < PROBES; i++, h1 += h2)
        b->bits[(h1 & b->mask) >> 6] |= 1ULL << (h1 & 63);
}

int sx_bloom_maybe(const sx_bloom *b, const char *s, size_t n)
{
    uint64_t h1, h2;
    hashes(s, n, &h1, &h2);
    for (int i = 0; i < PROBES; i++, h1 += h2)
        if (!(b->bits[(h1 & b->mask) >> 6] & (1ULL << (h1 & 63))))
            return 0;
    return 1;
}

size_t sx_bloom_bytes(const sx_bloom *b) { return b->bytes; }
