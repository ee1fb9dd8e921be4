/*
 * sx_roots.h : the local files sx may read: only those under a
 * directory the user named (sx-save --allow-src DIR, or the dataset that
 * sx-fetch --dir read, carried in the stream's `meta` record as
 * `src_roots`).
 *
 * A `src` record is untrusted data: a hostile backend or dataset would
 * otherwise have /etc/shadow or /proc/self/environ (the access token) copied
 * into the export. A path is opened beneath its root with openat2()
 * RESOLVE_BENEATH: a symbolic link may be followed only while it stays
 * under the root, never out of it; what is opened must be a regular file,
 * never anything under /proc, /sys or /dev.
 *
 * The library never prints; refusals come back as static messages.
 */
#ifndef SX_ROOTS_H
#define SX_ROOTS_H

#include <stddef.h>
#include <sys/stat.h>

typedef struct sx_roots sx_roots;

/*! sx_roots_new() : no root yet. @return it, or NULL when out of memory. */
sx_roots *sx_roots_new(void);

/*! sx_roots_free() : NULL is accepted. */
void sx_roots_free(sx_roots *r);

/*! sx_roots_add() : allows the files under the directory `dir` (resolved
 *  now; a root already known is not added twice).
 *  @return 0, or -1 with *why a static message: not a directory, or one of
 *          /proc, /sys, /dev. */
int sx_roots_add(sx_roots *r, const char *dir, const char **why);

/*! sx_roots_count() : roots added. */
size_t sx_roots_count(const sx_roots *r);

/* The rule a path outside every root breaks (*why of sx_roots_open(), this
 * very pointer): the caller says what would let it in, which differs
 * between a converter and sx-save. */
extern const char sx_roots_outside[]; /* "not under a directory sx may read" */

/*! sx_roots_open() : opens the absolute `path` for reading when it is a
 *  regular file beneath a root (links followed only while they stay
 *  beneath it).
 *  @st     receives its fstat().
 *  @return a descriptor (the caller closes it), or -1 with *why a static
 *          message naming the rule broken (errno set when the file itself
 *          could not be opened). */
int sx_roots_open(const sx_roots *r, const char *path, struct stat *st, const char **why);

#endif
