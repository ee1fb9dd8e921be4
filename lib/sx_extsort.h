/*
 * sx_extsort.h : sorting more records than memory holds, and a sorted table
 * on disk to look keys up in.
 *
 * A sorter takes records (byte strings) in any order and hands them back in
 * order. It keeps up to a fixed budget of bytes in memory; beyond that it
 * sorts what it holds into a run in a temporary file (unlinked at once, in
 * $TMPDIR or /tmp) and merges the runs at the end, so memory stays flat
 * however many records go through it. A sort that fits in memory never
 * touches the disk.
 *
 * Records are compared as sx_extsort_cmp() says: a record begins with a key
 * (a 32-bit length in host order, then its bytes) and an 8-byte big-endian
 * sequence number; records are ordered by key length, then key bytes, then
 * sequence number. Bytes after those are carried along.
 *
 * A table (sx_kvtab) is a temporary file of key -> 64-bit value rows written
 * in that order, with a sparse index (a key every 32 KiB) in memory and a
 * few blocks cached: a lookup reads at most one block, and lookups in key
 * order read each block once.
 *
 * The library never prints and never exits: -1 or NULL with errno set.
 */
#ifndef SX_EXTSORT_H
#define SX_EXTSORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sx_extsort sx_extsort;
typedef struct sx_kvtab sx_kvtab;

/*! sx_extsort_tmpfile() : an unlinked temporary file in $TMPDIR (else
 *  /tmp), open for reading and writing. @return it, or NULL (errno set). */
FILE *sx_extsort_tmpfile(void);

/*! sx_extsort_cmp() : the order of records described above. */
int sx_extsort_cmp(const void *a, size_t an, const void *b, size_t bn);

/*! sx_extsort_new() : a sorter that holds up to `mem` bytes of records in
 *  memory (at least 64 KiB is used). @return it, or NULL (errno set). */
sx_extsort *sx_extsort_new(size_t mem);

/*! sx_extsort_add() : adds a record (copied). Before sx_extsort_done().
 *  @return 0, or -1 (errno set: out of memory, a temporary file failed). */
int sx_extsort_add(sx_extsort *s, const void *rec, size_t n);

/*! sx_extsort_done() : no more records: sorts, and frees the memory of the
 *  records held. @return 0, or -1 (errno set). */
int sx_extsort_done(sx_extsort *s);

/*! sx_extsort_next() : after sx_extsort_done(), the next record in order.
 *  @rec, @n  valid until the next call.
 *  @return 1 with a record, 0 at the end, -1 on a read error (errno set). */
int sx_extsort_next(sx_extsort *s, const void **rec, size_t *n);

/*! sx_extsort_count() : records added. */
uint64_t sx_extsort_count(const sx_extsort *s);

/*! sx_extsort_free() : frees and closes its files; NULL is accepted. */
void sx_extsort_free(sx_extsort *s);

/*! sx_kvtab_new() : an empty table. @return it, or NULL (errno set). */
sx_kvtab *sx_kvtab_new(void);

/*! sx_kvtab_put() : appends a row; keys must come in strictly increasing
 *  order (length, then bytes). @return 0, or -1 (errno set). */
int sx_kvtab_put(sx_kvtab *t, const void *key, size_t kl, uint64_t value);

/*! sx_kvtab_done() : no more rows; lookups may begin. @return 0, or -1. */
int sx_kvtab_done(sx_kvtab *t);

/*! sx_kvtab_get() : looks `key` up.
 *  @return 1 with *value set, 0 when absent, -1 on a read error. */
int sx_kvtab_get(sx_kvtab *t, const void *key, size_t kl, uint64_t *value);

/*! sx_kvtab_free() : frees and closes its file; NULL is accepted. */
void sx_kvtab_free(sx_kvtab *t);

#endif
