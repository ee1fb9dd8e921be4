/*
 * sx_hash.h : the hash every in-memory table of sx uses (FNV-1a over bytes)
 * and a finaliser that spreads its bits (splitmix64's), for tables indexed
 * by the low bits and for split assignment by item id.
 */
#ifndef SX_HASH_H
#define SX_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a's offset basis: the h to start from. */
#define SX_FNV_BASIS 1469598103934665603ULL

/*! sx_fnv1a() : h extended with the n bytes at p. */
static inline uint64_t sx_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

/*! sx_mix64() : z with its bits mixed (a bijection). */
static inline uint64_t sx_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
