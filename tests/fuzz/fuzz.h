/*
 * fuzz.h : what the fuzz targets share.
 *
 * Each tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput() for one
 * reader of untrusted bytes. `make fuzz` links it with libFuzzer (clang,
 * -fsanitize=fuzzer,address,undefined); the test build links it with
 * replay.c (any compiler), which feeds it the checked-in corpus and the
 * regression inputs, so that a crash once fixed stays fixed.
 *
 * A target checks properties, not only the absence of crashes: a property
 * that does not hold prints what and where, then aborts, which libFuzzer and
 * the replay both count as a failure (FUZZ_ASSERT).
 */
#ifndef SX_FUZZ_H
#define SX_FUZZ_H

#include <jv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*! FUZZ_ASSERT() : aborts with the condition and a printf-style message
 *  when `cond` is false. */
#define FUZZ_ASSERT(cond, ...)                                                            \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/*! fuzz_memfd() : an anonymous file holding p[0..n), named by a path that
 *  open(2) accepts ("/proc/self/fd/N", in `path`), for the readers that
 *  take a path. @return its descriptor (the caller closes it), or -1. */
int fuzz_memfd(const void *p, size_t n, char *path, size_t pathlen);

/*! fuzz_tmpdir() : a private directory (under TMPDIR, else /tmp), created
 *  once and removed with everything in it at exit. @return its path. */
const char *fuzz_tmpdir(void);

/*! fuzz_write_file() : creates (or replaces) `path` with p[0..n).
 *  @return 0, or -1. */
int fuzz_write_file(const char *path, const void *p, size_t n);

/*! fuzz_jv_text() : libjq's compact text of `v` (borrowed), malloc'ed, for
 *  comparing values (NaN and null print alike: both are null in JSON).
 *  "<invalid>" for an invalid jv. */
char *fuzz_jv_text(jv v);

/*! fuzz_show() : at most the first 200 bytes of p[0..n), printable (other
 *  bytes as \xHH), for a message; in a static buffer. */
const char *fuzz_show(const void *p, size_t n);

/*! fuzz_split() : the next part of data[0..size) up to the line `sep`
 *  (e.g. "--"), for targets that take several files in one input.
 *  @return the part's length; *next is set past the separator line, or to
 *          NULL after the last part. */
size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **next);

#endif
