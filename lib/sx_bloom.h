/*
 * sx_bloom.h : a set of strings in a fixed number of bytes (a Bloom filter),
 * for the sets of paths sx-save would otherwise keep one entry a file for
 * (duplicate paths, the rollback's paths already dealt with).
 *
 * sx_bloom_maybe() never says no for a string that was added; it may say yes
 * for one that was not (a false positive). A caller treats a yes as a
 * candidate only and checks it against the truth (the file system, the
 * manifest on disk) before acting on it: the filter saves the check for the
 * strings it has never seen, which are nearly all of them.
 *
 * Cost: m bits (8 per byte of the budget), k = 7 bit probes a string. With n
 * strings in it a lookup of a new string says yes with probability about
 * (1 - e^(-7n/m))^7: with the default 16 MiB (2^27 bits) 0.0018 at ten
 * million strings, 2e-7 at one million. The memory is the budget whatever n
 * (pages are touched as bits are set).
 *
 * SX_BLOOM_BYTES in the environment overrides the default budget (at least
 * 8): the tests shrink it to make false positives certain.
 */
#ifndef SX_BLOOM_H
#define SX_BLOOM_H

#include <stddef.h>

#define SX_BLOOM_DEFAULT_BYTES ((size_t)16 << 20)

typedef struct sx_bloom sx_bloom;

/*! sx_bloom_new() : an empty filter of `bytes` (rounded down to a power of
 *  two; 0: the default, or SX_BLOOM_BYTES). @return it, or NULL when out
 *  of memory. */
sx_bloom *sx_bloom_new(size_t bytes);

/*! sx_bloom_free() : NULL is accepted. */
void sx_bloom_free(sx_bloom *b);

/*! sx_bloom_add() : adds the n bytes at s. */
void sx_bloom_add(sx_bloom *b, const char *s, size_t n);

/*! sx_bloom_maybe() : 0 when the n bytes at s were never added; 1 when they
 *  were, or by chance (see above). */
int sx_bloom_maybe(const sx_bloom *b, const char *s, size_t n);

/*! sx_bloom_bytes() : the filter's size. */
size_t sx_bloom_bytes(const sx_bloom *b);

#endif
