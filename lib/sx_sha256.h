/*
 * sx_sha256.h : SHA-256 (FIPS 180-4), streamed: init, update any number of
 * times, final. Written for sx from the standard's description; used by
 * sx-save to record and check the digest of every file it writes.
 */
#ifndef SX_SHA256_H
#define SX_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;          /* bytes hashed so far */
    unsigned char buf[64]; /* partial block */
    size_t nbuf;
} sx_sha256;

/*! sx_sha256_init() : starts a new digest. */
void sx_sha256_init(sx_sha256 *c);

/*! sx_sha256_update() : hashes `n` more bytes. */
void sx_sha256_update(sx_sha256 *c, const void *p, size_t n);

/*! sx_sha256_final() : pads, writes the 32-byte digest to `out`. The
 *  context must be initialised again before reuse. */
void sx_sha256_final(sx_sha256 *c, unsigned char out[32]);

/*! sx_sha256_hex() : sx_sha256_final() as 64 lower-case hex digits and a NUL. */
void sx_sha256_hex(sx_sha256 *c, char out[65]);

#endif
